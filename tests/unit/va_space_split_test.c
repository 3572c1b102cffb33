/* SPDX-License-Identifier: MIT */
/*
 * Check suite for daemon/gpu/va_space, the split cases of its DOC: map
 * into a hole, over one mapping, its middle, head and tail, across
 * several; unmap of the middle, head, tail, whole, several and holes.
 * Each case asserts the exact steps the plan reports and, once it is
 * committed, the exact resulting mappings (tests/lib/va_space_fixture.c).
 */
#include <check.h>

#include "gpu/va_space.h"
#include "tests/lib/suite.h"
#include "tests/lib/va_space_fixture.h"

/* ---- expected steps, in pages, half-open like the DOC ---- */

struct xstep {
	enum va_step_kind kind;
	struct xmap old;	/* REMAP, UNMAP */
	uint64_t us, ue;	/* unmap range [us, ue), pages */
	struct xmap prev, next;	/* REMAP */
	struct xmap map;	/* MAP */
};

static void check_steps(const struct va_plan *p, const struct xstep *x,
			size_t n)
{
	ck_assert_int_eq(p->state, VA_PLAN_PENDING);
	ck_assert_uint_eq(p->nsteps, n);
	for (size_t i = 0; i < n; i++) {
		const struct va_step *st = &p->steps[i];

		ck_assert_int_eq(st->kind, x[i].kind);
		ck_assert_uint_eq(st->unmap_start, P(x[i].kind == VA_STEP_MAP ?
						     x[i].map.s : x[i].us));
		ck_assert_uint_eq(st->unmap_last, P(x[i].kind == VA_STEP_MAP ?
						    x[i].map.e : x[i].ue) - 1);
		vs_check_map(st->old, &x[i].old, "old");
		vs_check_map(st->prev, &x[i].prev, "prev");
		vs_check_map(st->next, &x[i].next, "next");
		vs_check_map(st->map, &x[i].map, "map");
	}
}

/* Plan (map if @obj, else unmap) [s, e), check steps, commit, check space. */
static void run_case(uint64_t s, uint64_t e, void *obj, uint64_t off,
		     const struct xstep *xs, size_t nxs,
		     const struct xmap *xm, size_t nxm)
{
	struct va_plan p;
	int err;

	if (obj)
		err = va_plan_map(&VS.sp, P(s), P(e - s), obj, P(off), 0, &p);
	else
		err = va_plan_unmap(&VS.sp, P(s), P(e - s), &p);
	ck_assert_int_eq(err, 0);
	check_steps(&p, xs, nxs);
	va_plan_commit(&VS.sp, &p);
	ck_assert_int_eq(p.state, VA_PLAN_COMMITTED);
	vs_check_space(&VS.sp, xm, nxm);
	va_plan_fini(&p, NULL, NULL);
	ck_assert_int_eq(p.state, VA_PLAN_EMPTY);
}

#define CASE(s, e, obj, off, steps, maps)				\
	run_case(s, e, obj, off, steps, N(steps), maps, N(maps))

/* ---- map cases, as drawn in the DOC ---- */

START_TEST(map_empty)
{
	CASE(0, 2, B, 0,
	     ((struct xstep[]){ { VA_STEP_MAP, .map = { 0, 2, B, 0 } } }),
	     ((struct xmap[]){ { 0, 2, B, 0 } }));
	/* into the hole between two mappings */
	vs_map_now(5, 6, C, 0);
	CASE(2, 5, D, 9,
	     ((struct xstep[]){ { VA_STEP_MAP, .map = { 2, 5, D, 9 } } }),
	     ((struct xmap[]){ { 0, 2, B, 0 }, { 2, 5, D, 9 }, { 5, 6, C, 0 } }));
}
END_TEST

START_TEST(map_exact)
{
	vs_map_now(0, 2, A, 0);
	CASE(0, 2, B, 0,
	     ((struct xstep[]){
		     { VA_STEP_UNMAP, .old = { 0, 2, A, 0 }, .us = 0, .ue = 2 },
		     { VA_STEP_MAP, .map = { 0, 2, B, 0 } } }),
	     ((struct xmap[]){ { 0, 2, B, 0 } }));
}
END_TEST

START_TEST(map_identical)
{
	/* No shortcut: the same (range, obj, offset) still replaces. */
	vs_map_now(0, 2, A, 3);
	CASE(0, 2, A, 3,
	     ((struct xstep[]){
		     { VA_STEP_UNMAP, .old = { 0, 2, A, 3 }, .us = 0, .ue = 2 },
		     { VA_STEP_MAP, .map = { 0, 2, A, 3 } } }),
	     ((struct xmap[]){ { 0, 2, A, 3 } }));
}
END_TEST

START_TEST(map_middle)
{
	vs_map_now(0, 4, A, 0);
	CASE(1, 3, B, 0,
	     ((struct xstep[]){
		     { VA_STEP_REMAP, .old = { 0, 4, A, 0 }, .us = 1, .ue = 3,
		       .prev = { 0, 1, A, 0 }, .next = { 3, 4, A, 3 } },
		     { VA_STEP_MAP, .map = { 1, 3, B, 0 } } }),
	     ((struct xmap[]){ { 0, 1, A, 0 }, { 1, 3, B, 0 }, { 3, 4, A, 3 } }));
}
END_TEST

START_TEST(map_head)
{
	vs_map_now(0, 4, A, 0);
	CASE(0, 2, B, 0,
	     ((struct xstep[]){
		     { VA_STEP_REMAP, .old = { 0, 4, A, 0 }, .us = 0, .ue = 2,
		       .next = { 2, 4, A, 2 } },
		     { VA_STEP_MAP, .map = { 0, 2, B, 0 } } }),
	     ((struct xmap[]){ { 0, 2, B, 0 }, { 2, 4, A, 2 } }));
}
END_TEST

START_TEST(map_tail)
{
	vs_map_now(0, 4, A, 0);
	CASE(2, 4, B, 0,
	     ((struct xstep[]){
		     { VA_STEP_REMAP, .old = { 0, 4, A, 0 }, .us = 2, .ue = 4,
		       .prev = { 0, 2, A, 0 } },
		     { VA_STEP_MAP, .map = { 2, 4, B, 0 } } }),
	     ((struct xmap[]){ { 0, 2, A, 0 }, { 2, 4, B, 0 } }));
}
END_TEST

START_TEST(map_across)
{
	vs_map_now(0, 2, A, 0);
	vs_map_now(2, 3, C, 7);
	vs_map_now(4, 6, D, 0);
	CASE(1, 5, B, 0,
	     ((struct xstep[]){
		     { VA_STEP_REMAP, .old = { 0, 2, A, 0 }, .us = 1, .ue = 2,
		       .prev = { 0, 1, A, 0 } },
		     { VA_STEP_UNMAP, .old = { 2, 3, C, 7 }, .us = 2, .ue = 3 },
		     { VA_STEP_REMAP, .old = { 4, 6, D, 0 }, .us = 4, .ue = 5,
		       .next = { 5, 6, D, 1 } },
		     { VA_STEP_MAP, .map = { 1, 5, B, 0 } } }),
	     ((struct xmap[]){ { 0, 1, A, 0 }, { 1, 5, B, 0 }, { 5, 6, D, 1 } }));
}
END_TEST

START_TEST(map_across_whole_ends)
{
	/* First and last covered whole: all UNMAP, no pieces. */
	vs_map_now(1, 2, A, 0);
	vs_map_now(2, 4, C, 0);
	vs_map_now(4, 5, D, 0);
	CASE(0, 6, B, 0,
	     ((struct xstep[]){
		     { VA_STEP_UNMAP, .old = { 1, 2, A, 0 }, .us = 1, .ue = 2 },
		     { VA_STEP_UNMAP, .old = { 2, 4, C, 0 }, .us = 2, .ue = 4 },
		     { VA_STEP_UNMAP, .old = { 4, 5, D, 0 }, .us = 4, .ue = 5 },
		     { VA_STEP_MAP, .map = { 0, 6, B, 0 } } }),
	     ((struct xmap[]){ { 0, 6, B, 0 } }));
}
END_TEST

START_TEST(map_no_merge)
{
	/* b@0 [0,2) and b@2 [2,4) continue each other and stay two. */
	vs_map_now(0, 2, B, 0);
	CASE(2, 4, B, 2,
	     ((struct xstep[]){ { VA_STEP_MAP, .map = { 2, 4, B, 2 } } }),
	     ((struct xmap[]){ { 0, 2, B, 0 }, { 2, 4, B, 2 } }));
}
END_TEST

START_TEST(remap_keeps_flags_priv)
{
	struct va_plan p;
	int tag;

	ck_assert_int_eq(va_plan_map(&VS.sp, 0, P(4), A, 0, 0x5, &p), 0);
	p.steps[0].map->priv = &tag;
	va_plan_commit(&VS.sp, &p);
	va_plan_fini(&p, NULL, NULL);

	ck_assert_int_eq(va_plan_map(&VS.sp, P(1), P(2), B, 0, 0x9, &p), 0);
	ck_assert_uint_eq(p.steps[0].prev->flags, 0x5);
	ck_assert_ptr_eq(p.steps[0].prev->priv, &tag);
	ck_assert_uint_eq(p.steps[0].next->flags, 0x5);
	ck_assert_ptr_eq(p.steps[0].next->priv, &tag);
	ck_assert_uint_eq(p.steps[1].map->flags, 0x9);
	ck_assert_ptr_null(p.steps[1].map->priv);
	va_plan_commit(&VS.sp, &p);
	va_plan_fini(&p, NULL, NULL);
	ck_assert_uint_eq(va_find(&VS.sp, P(1))->flags, 0x9);
	ck_assert_uint_eq(va_find(&VS.sp, P(3))->flags, 0x5);
}
END_TEST

/* ---- unmap cases ---- */

START_TEST(unmap_middle)
{
	vs_map_now(0, 4, A, 0);
	CASE(1, 3, NULL, 0,
	     ((struct xstep[]){
		     { VA_STEP_REMAP, .old = { 0, 4, A, 0 }, .us = 1, .ue = 3,
		       .prev = { 0, 1, A, 0 }, .next = { 3, 4, A, 3 } } }),
	     ((struct xmap[]){ { 0, 1, A, 0 }, { 3, 4, A, 3 } }));
}
END_TEST

START_TEST(unmap_head)
{
	vs_map_now(0, 4, A, 0);
	CASE(0, 1, NULL, 0,
	     ((struct xstep[]){
		     { VA_STEP_REMAP, .old = { 0, 4, A, 0 }, .us = 0, .ue = 1,
		       .next = { 1, 4, A, 1 } } }),
	     ((struct xmap[]){ { 1, 4, A, 1 } }));
}
END_TEST

START_TEST(unmap_tail)
{
	vs_map_now(0, 4, A, 0);
	CASE(3, 4, NULL, 0,
	     ((struct xstep[]){
		     { VA_STEP_REMAP, .old = { 0, 4, A, 0 }, .us = 3, .ue = 4,
		       .prev = { 0, 3, A, 0 } } }),
	     ((struct xmap[]){ { 0, 3, A, 0 } }));
}
END_TEST

START_TEST(unmap_whole)
{
	vs_map_now(0, 4, A, 0);
	run_case(0, 4, NULL, 0,
		 (struct xstep[]){
			 { VA_STEP_UNMAP, .old = { 0, 4, A, 0 }, .us = 0, .ue = 4 } },
		 1, NULL, 0);
}
END_TEST

START_TEST(unmap_several)
{
	vs_map_now(0, 2, A, 0);
	vs_map_now(3, 4, C, 4);
	vs_map_now(5, 8, D, 0);
	CASE(1, 6, NULL, 0,
	     ((struct xstep[]){
		     { VA_STEP_REMAP, .old = { 0, 2, A, 0 }, .us = 1, .ue = 2,
		       .prev = { 0, 1, A, 0 } },
		     { VA_STEP_UNMAP, .old = { 3, 4, C, 4 }, .us = 3, .ue = 4 },
		     { VA_STEP_REMAP, .old = { 5, 8, D, 0 }, .us = 5, .ue = 6,
		       .next = { 6, 8, D, 1 } } }),
	     ((struct xmap[]){ { 0, 1, A, 0 }, { 6, 8, D, 1 } }));
}
END_TEST

START_TEST(unmap_hole)
{
	struct va_plan p;

	/* of nothing at all, then of the hole between two mappings */
	ck_assert_int_eq(va_plan_unmap(&VS.sp, 0, P(4), &p), 0);
	ck_assert_int_eq(p.state, VA_PLAN_PENDING);
	ck_assert_uint_eq(p.nsteps, 0);
	va_plan_commit(&VS.sp, &p);
	va_plan_fini(&p, NULL, NULL);

	vs_map_now(0, 1, A, 0);
	vs_map_now(3, 4, C, 0);
	ck_assert_int_eq(va_plan_unmap(&VS.sp, P(1), P(2), &p), 0);
	ck_assert_uint_eq(p.nsteps, 0);
	va_plan_commit(&VS.sp, &p);
	va_plan_fini(&p, NULL, NULL);
	vs_check_space(&VS.sp, (struct xmap[]){ { 0, 1, A, 0 }, { 3, 4, C, 0 } }, 2);
}
END_TEST

static Suite *va_space_split_suite(void)
{
	Suite *s = suite_create("va_space_split");
	TCase *tc;

	tc = tu_tcase(s, "map", 5, vs_setup, vs_teardown);
	tcase_add_test(tc, map_empty);
	tcase_add_test(tc, map_exact);
	tcase_add_test(tc, map_identical);
	tcase_add_test(tc, map_middle);
	tcase_add_test(tc, map_head);
	tcase_add_test(tc, map_tail);
	tcase_add_test(tc, map_across);
	tcase_add_test(tc, map_across_whole_ends);
	tcase_add_test(tc, map_no_merge);
	tcase_add_test(tc, remap_keeps_flags_priv);

	tc = tu_tcase(s, "unmap", 5, vs_setup, vs_teardown);
	tcase_add_test(tc, unmap_middle);
	tcase_add_test(tc, unmap_head);
	tcase_add_test(tc, unmap_tail);
	tcase_add_test(tc, unmap_whole);
	tcase_add_test(tc, unmap_several);
	tcase_add_test(tc, unmap_hole);

	return s;
}

int main(void)
{
	return tu_run_suite(va_space_split_suite());
}
