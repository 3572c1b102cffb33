/* SPDX-License-Identifier: MIT */
/*
 * Check suite for daemon/gpu/va_space: init and argument errors with
 * their exact errno, every split case of the DOC (map into a hole, over
 * one mapping, its middle, head and tail, across several; unmap of the
 * middle, head, tail, whole, several and holes) with the exact resulting
 * mappings and the exact steps reported, abort and allocation failure
 * leaving the space unchanged, a stale plan's commit, the edges of the
 * VA limit, lookups and the drop callbacks. The randomized runs against
 * a page-array model are in va_space_stress_test.c.
 */
#include <check.h>
#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gpu/va_space.h"

#define PG		VA_PAGE_SIZE
#define P(n)		((uint64_t)(n) * PG)

/* ck_assert marks a point per call, slow in hot loops; pay only on failure. */
#define REQUIRE(cond, ...)					\
	do {							\
		if (!(cond))					\
			ck_abort_msg(__VA_ARGS__);		\
	} while (0)

static char objs[4];
#define A	((void *)&objs[0])
#define B	((void *)&objs[1])
#define C	((void *)&objs[2])
#define D	((void *)&objs[3])

/* ---- allocator with failure injection and a live count ---- */

static long alloc_budget = -1;	/* allocations left before failing; -1: no limit */
static long live_allocs;

static void *t_zalloc(size_t size, void *arg)
{
	if (alloc_budget == 0)
		return NULL;
	if (alloc_budget > 0)
		alloc_budget--;
	live_allocs++;
	return calloc(1, size);
}

static void t_free(void *p, void *arg)
{
	live_allocs--;
	free(p);
}

static const struct va_space_ops t_ops = { t_zalloc, t_free };

static struct va_space sp;

static void space_setup(void)
{
	alloc_budget = -1;
	live_allocs = 0;
	ck_assert_int_eq(va_space_init(&sp, 20, &t_ops, NULL), 0);
}

static void space_teardown(void)
{
	va_space_fini(&sp, NULL, NULL);
	ck_assert_int_eq(live_allocs, 0);
}

/* ---- expected mappings and steps, in pages, half-open like the DOC ---- */

struct xmap {
	uint64_t s, e;		/* [s, e) pages; e == 0: no mapping */
	void *obj;
	uint64_t off;		/* pages */
};

struct xstep {
	enum va_step_kind kind;
	struct xmap old;	/* REMAP, UNMAP */
	uint64_t us, ue;	/* unmap range [us, ue), pages */
	struct xmap prev, next;	/* REMAP */
	struct xmap map;	/* MAP */
};

static void check_map(const struct va_mapping *m, const struct xmap *x,
		      const char *what)
{
	if (!x->e) {
		ck_assert_msg(!m, "%s: expected no mapping", what);
		return;
	}
	ck_assert_msg(m, "%s: expected [%" PRIu64 ",%" PRIu64 ")", what,
		      x->s, x->e);
	ck_assert_uint_eq(m->node.start, P(x->s));
	ck_assert_uint_eq(m->node.last, P(x->e) - 1);
	ck_assert_ptr_eq(m->obj, x->obj);
	ck_assert_uint_eq(m->offset, P(x->off));
}

/* The space holds exactly @n mappings, equal to @x in address order. */
static void check_space(const struct va_space *s, const struct xmap *x,
			size_t n)
{
	const struct va_mapping *m;
	uint64_t bytes = 0;
	size_t i = 0;

	va_for_each_mapping(m, s, 0, s->va_limit) {
		ck_assert_uint_lt(i, n);
		check_map(m, &x[i], "space");
		bytes += P(x[i].e - x[i].s);
		i++;
	}
	ck_assert_uint_eq(i, n);
	ck_assert_uint_eq(va_space_count(s), n);
	ck_assert_uint_eq(s->mapped_bytes, bytes);
}

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
		check_map(st->old, &x[i].old, "old");
		check_map(st->prev, &x[i].prev, "prev");
		check_map(st->next, &x[i].next, "next");
		check_map(st->map, &x[i].map, "map");
	}
}

static void map_now(uint64_t s, uint64_t e, void *obj, uint64_t off)
{
	struct va_plan p;

	ck_assert_int_eq(va_plan_map(&sp, P(s), P(e - s), obj, P(off), 0, &p), 0);
	va_plan_commit(&sp, &p);
	va_plan_fini(&p, NULL, NULL);
}

/* Plan (map if @obj, else unmap) [s, e), check steps, commit, check space. */
static void run_case(uint64_t s, uint64_t e, void *obj, uint64_t off,
		     const struct xstep *xs, size_t nxs,
		     const struct xmap *xm, size_t nxm)
{
	struct va_plan p;
	int err;

	if (obj)
		err = va_plan_map(&sp, P(s), P(e - s), obj, P(off), 0, &p);
	else
		err = va_plan_unmap(&sp, P(s), P(e - s), &p);
	ck_assert_int_eq(err, 0);
	check_steps(&p, xs, nxs);
	va_plan_commit(&sp, &p);
	ck_assert_int_eq(p.state, VA_PLAN_COMMITTED);
	check_space(&sp, xm, nxm);
	va_plan_fini(&p, NULL, NULL);
	ck_assert_int_eq(p.state, VA_PLAN_EMPTY);
}

#define N(a) (sizeof(a) / sizeof((a)[0]))
#define CASE(s, e, obj, off, steps, maps)				\
	run_case(s, e, obj, off, steps, N(steps), maps, N(maps))

/* ---- init ---- */

START_TEST(init_ok)
{
	static const unsigned int bits[] = { VA_BITS_MIN, 48, VA_BITS_MAX };
	struct va_space s;

	for (size_t i = 0; i < N(bits); i++) {
		ck_assert_int_eq(va_space_init(&s, bits[i], NULL, NULL), 0);
		ck_assert_uint_eq(s.va_limit, UINT64_C(1) << bits[i]);
		ck_assert_uint_eq(va_space_count(&s), 0);
		ck_assert_uint_eq(s.mapped_bytes, 0);
		va_space_fini(&s, NULL, NULL);
	}
}
END_TEST

START_TEST(init_errors)
{
	static const struct va_space_ops half = { t_zalloc, NULL };
	struct va_space s;

	ck_assert_int_eq(va_space_init(NULL, 48, NULL, NULL), -EINVAL);
	ck_assert_int_eq(va_space_init(&s, VA_BITS_MIN - 1, NULL, NULL), -EINVAL);
	ck_assert_int_eq(va_space_init(&s, VA_BITS_MAX + 1, NULL, NULL), -EINVAL);
	ck_assert_int_eq(va_space_init(&s, 0, NULL, NULL), -EINVAL);
	ck_assert_int_eq(va_space_init(&s, 48, &half, NULL), -EINVAL);
}
END_TEST

/* ---- argument errors ---- */

static void expect_map_err(uint64_t va, uint64_t size, uint64_t off, int err)
{
	struct va_plan p;

	memset(&p, 0xa5, sizeof(p));
	ck_assert_int_eq(va_plan_map(&sp, va, size, A, off, 0, &p), err);
	ck_assert_int_eq(p.state, VA_PLAN_EMPTY);
	ck_assert_ptr_null(p.steps);
}

static void expect_unmap_err(uint64_t va, uint64_t size, int err)
{
	struct va_plan p;

	memset(&p, 0xa5, sizeof(p));
	ck_assert_int_eq(va_plan_unmap(&sp, va, size, &p), err);
	ck_assert_int_eq(p.state, VA_PLAN_EMPTY);
	ck_assert_ptr_null(p.steps);
}

START_TEST(map_errors)
{
	struct va_plan p;

	map_now(0, 2, A, 0);
	expect_map_err(0, 0, 0, -EINVAL);
	expect_map_err(1, PG, 0, -EINVAL);
	expect_map_err(PG - 1, PG, 0, -EINVAL);
	expect_map_err(0, PG + 1, 0, -EINVAL);
	expect_map_err(0, PG - 1, 0, -EINVAL);
	expect_map_err(0, PG, 1, -EINVAL);
	expect_map_err(0, PG, PG / 2, -EINVAL);
	expect_map_err(UINT64_MAX - PG + 1, P(2), 0, -EOVERFLOW);
	expect_map_err(P(4), UINT64_MAX - PG + 1, 0, -EOVERFLOW);
	expect_map_err(0, P(2), UINT64_MAX - PG + 1, -EOVERFLOW);
	expect_map_err(sp.va_limit, PG, 0, -EINVAL);
	expect_map_err(sp.va_limit - PG, P(2), 0, -EINVAL);
	expect_map_err(0, sp.va_limit + PG, 0, -EINVAL);
	/* va + size reaching exactly 2^64 does not wrap, but is out of range */
	expect_map_err(UINT64_MAX - PG + 1, PG, 0, -EINVAL);
	ck_assert_int_eq(va_plan_map(NULL, 0, PG, A, 0, 0, &p), -EINVAL);
	ck_assert_int_eq(p.state, VA_PLAN_EMPTY);
	ck_assert_int_eq(va_plan_map(&sp, 0, PG, A, 0, 0, NULL), -EINVAL);
	/* an object range ending exactly at 2^64 is fine */
	ck_assert_int_eq(va_plan_map(&sp, 0, PG, A, UINT64_MAX - PG + 1, 0,
				     &p), 0);
	va_plan_abort(&p);
	check_space(&sp, (struct xmap[]){ { 0, 2, A, 0 } }, 1);
	ck_assert_uint_eq(sp.seq, 1);
}
END_TEST

START_TEST(unmap_errors)
{
	struct va_plan p;

	map_now(0, 2, A, 0);
	expect_unmap_err(0, 0, -EINVAL);
	expect_unmap_err(1, PG, -EINVAL);
	expect_unmap_err(0, PG + 1, -EINVAL);
	expect_unmap_err(UINT64_MAX - PG + 1, P(2), -EOVERFLOW);
	expect_unmap_err(sp.va_limit, PG, -EINVAL);
	expect_unmap_err(sp.va_limit - PG, P(2), -EINVAL);
	ck_assert_int_eq(va_plan_unmap(NULL, 0, PG, &p), -EINVAL);
	ck_assert_int_eq(p.state, VA_PLAN_EMPTY);
	ck_assert_int_eq(va_plan_unmap(&sp, 0, PG, NULL), -EINVAL);
	check_space(&sp, (struct xmap[]){ { 0, 2, A, 0 } }, 1);
	ck_assert_uint_eq(sp.seq, 1);
}
END_TEST

/* ---- map cases, as drawn in the DOC ---- */

START_TEST(map_empty)
{
	CASE(0, 2, B, 0,
	     ((struct xstep[]){ { VA_STEP_MAP, .map = { 0, 2, B, 0 } } }),
	     ((struct xmap[]){ { 0, 2, B, 0 } }));
	/* into the hole between two mappings */
	map_now(5, 6, C, 0);
	CASE(2, 5, D, 9,
	     ((struct xstep[]){ { VA_STEP_MAP, .map = { 2, 5, D, 9 } } }),
	     ((struct xmap[]){ { 0, 2, B, 0 }, { 2, 5, D, 9 }, { 5, 6, C, 0 } }));
}
END_TEST

START_TEST(map_exact)
{
	map_now(0, 2, A, 0);
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
	map_now(0, 2, A, 3);
	CASE(0, 2, A, 3,
	     ((struct xstep[]){
		     { VA_STEP_UNMAP, .old = { 0, 2, A, 3 }, .us = 0, .ue = 2 },
		     { VA_STEP_MAP, .map = { 0, 2, A, 3 } } }),
	     ((struct xmap[]){ { 0, 2, A, 3 } }));
}
END_TEST

START_TEST(map_middle)
{
	map_now(0, 4, A, 0);
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
	map_now(0, 4, A, 0);
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
	map_now(0, 4, A, 0);
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
	map_now(0, 2, A, 0);
	map_now(2, 3, C, 7);
	map_now(4, 6, D, 0);
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
	map_now(1, 2, A, 0);
	map_now(2, 4, C, 0);
	map_now(4, 5, D, 0);
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
	map_now(0, 2, B, 0);
	CASE(2, 4, B, 2,
	     ((struct xstep[]){ { VA_STEP_MAP, .map = { 2, 4, B, 2 } } }),
	     ((struct xmap[]){ { 0, 2, B, 0 }, { 2, 4, B, 2 } }));
}
END_TEST

START_TEST(remap_keeps_flags_priv)
{
	struct va_plan p;
	int tag;

	ck_assert_int_eq(va_plan_map(&sp, 0, P(4), A, 0, 0x5, &p), 0);
	p.steps[0].map->priv = &tag;
	va_plan_commit(&sp, &p);
	va_plan_fini(&p, NULL, NULL);

	ck_assert_int_eq(va_plan_map(&sp, P(1), P(2), B, 0, 0x9, &p), 0);
	ck_assert_uint_eq(p.steps[0].prev->flags, 0x5);
	ck_assert_ptr_eq(p.steps[0].prev->priv, &tag);
	ck_assert_uint_eq(p.steps[0].next->flags, 0x5);
	ck_assert_ptr_eq(p.steps[0].next->priv, &tag);
	ck_assert_uint_eq(p.steps[1].map->flags, 0x9);
	ck_assert_ptr_null(p.steps[1].map->priv);
	va_plan_commit(&sp, &p);
	va_plan_fini(&p, NULL, NULL);
	ck_assert_uint_eq(va_find(&sp, P(1))->flags, 0x9);
	ck_assert_uint_eq(va_find(&sp, P(3))->flags, 0x5);
}
END_TEST

/* ---- unmap cases ---- */

START_TEST(unmap_middle)
{
	map_now(0, 4, A, 0);
	CASE(1, 3, NULL, 0,
	     ((struct xstep[]){
		     { VA_STEP_REMAP, .old = { 0, 4, A, 0 }, .us = 1, .ue = 3,
		       .prev = { 0, 1, A, 0 }, .next = { 3, 4, A, 3 } } }),
	     ((struct xmap[]){ { 0, 1, A, 0 }, { 3, 4, A, 3 } }));
}
END_TEST

START_TEST(unmap_head)
{
	map_now(0, 4, A, 0);
	CASE(0, 1, NULL, 0,
	     ((struct xstep[]){
		     { VA_STEP_REMAP, .old = { 0, 4, A, 0 }, .us = 0, .ue = 1,
		       .next = { 1, 4, A, 1 } } }),
	     ((struct xmap[]){ { 1, 4, A, 1 } }));
}
END_TEST

START_TEST(unmap_tail)
{
	map_now(0, 4, A, 0);
	CASE(3, 4, NULL, 0,
	     ((struct xstep[]){
		     { VA_STEP_REMAP, .old = { 0, 4, A, 0 }, .us = 3, .ue = 4,
		       .prev = { 0, 3, A, 0 } } }),
	     ((struct xmap[]){ { 0, 3, A, 0 } }));
}
END_TEST

START_TEST(unmap_whole)
{
	map_now(0, 4, A, 0);
	run_case(0, 4, NULL, 0,
		 (struct xstep[]){
			 { VA_STEP_UNMAP, .old = { 0, 4, A, 0 }, .us = 0, .ue = 4 } },
		 1, NULL, 0);
}
END_TEST

START_TEST(unmap_several)
{
	map_now(0, 2, A, 0);
	map_now(3, 4, C, 4);
	map_now(5, 8, D, 0);
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
	ck_assert_int_eq(va_plan_unmap(&sp, 0, P(4), &p), 0);
	ck_assert_int_eq(p.state, VA_PLAN_PENDING);
	ck_assert_uint_eq(p.nsteps, 0);
	va_plan_commit(&sp, &p);
	va_plan_fini(&p, NULL, NULL);

	map_now(0, 1, A, 0);
	map_now(3, 4, C, 0);
	ck_assert_int_eq(va_plan_unmap(&sp, P(1), P(2), &p), 0);
	ck_assert_uint_eq(p.nsteps, 0);
	va_plan_commit(&sp, &p);
	va_plan_fini(&p, NULL, NULL);
	check_space(&sp, (struct xmap[]){ { 0, 1, A, 0 }, { 3, 4, C, 0 } }, 2);
}
END_TEST

/* ---- abort and allocation failure ---- */

/* a@0 [0,2), c@7 [2,3), d@0 [4,6): the across case of the DOC */
static void setup_across(struct va_mapping *olds[3])
{
	map_now(0, 2, A, 0);
	map_now(2, 3, C, 7);
	map_now(4, 6, D, 0);
	olds[0] = va_find(&sp, P(0));
	olds[1] = va_find(&sp, P(2));
	olds[2] = va_find(&sp, P(4));
}

static void check_across_unchanged(struct va_mapping *olds[3], uint64_t seq)
{
	check_space(&sp, (struct xmap[]){ { 0, 2, A, 0 }, { 2, 3, C, 7 },
					  { 4, 6, D, 0 } }, 3);
	ck_assert_ptr_eq(va_find(&sp, P(1)), olds[0]);
	ck_assert_ptr_eq(va_find(&sp, P(2)), olds[1]);
	ck_assert_ptr_eq(va_find(&sp, P(5)), olds[2]);
	ck_assert_uint_eq(sp.seq, seq);
	ck_assert_int_eq(live_allocs, 3);
}

START_TEST(abort_unchanged)
{
	struct va_mapping *olds[3];
	struct va_plan p = VA_PLAN_INIT;

	va_plan_abort(&p);		/* empty: nothing to do */
	va_plan_fini(&p, NULL, NULL);
	setup_across(olds);

	ck_assert_int_eq(va_plan_map(&sp, P(1), P(4), B, 0, 0, &p), 0);
	ck_assert_uint_eq(p.nsteps, 4);
	va_plan_abort(&p);
	ck_assert_int_eq(p.state, VA_PLAN_EMPTY);
	check_across_unchanged(olds, 3);

	ck_assert_int_eq(va_plan_unmap(&sp, P(1), P(4), &p), 0);
	va_plan_abort(&p);
	va_plan_abort(&p);		/* twice is harmless */
	check_across_unchanged(olds, 3);

	/* fini of a pending plan aborts it */
	ck_assert_int_eq(va_plan_map(&sp, P(0), P(6), B, 0, 0, &p), 0);
	va_plan_fini(&p, NULL, NULL);
	ck_assert_int_eq(p.state, VA_PLAN_EMPTY);
	check_across_unchanged(olds, 3);
}
END_TEST

START_TEST(enomem_unchanged)
{
	struct va_mapping *olds[3];
	struct va_plan p;

	setup_across(olds);
	/* map [1,5) needs the step array, prev, next and the new mapping */
	for (long budget = 0; budget < 4; budget++) {
		alloc_budget = budget;
		ck_assert_int_eq(va_plan_map(&sp, P(1), P(4), B, 0, 0, &p),
				 -ENOMEM);
		ck_assert_int_eq(p.state, VA_PLAN_EMPTY);
		check_across_unchanged(olds, 3);
	}
	/* unmap [1,5) needs the step array, prev and next */
	for (long budget = 0; budget < 3; budget++) {
		alloc_budget = budget;
		ck_assert_int_eq(va_plan_unmap(&sp, P(1), P(4), &p), -ENOMEM);
		ck_assert_int_eq(p.state, VA_PLAN_EMPTY);
		check_across_unchanged(olds, 3);
	}
	alloc_budget = 4;
	ck_assert_int_eq(va_plan_map(&sp, P(1), P(4), B, 0, 0, &p), 0);
	ck_assert_int_eq(alloc_budget, 0);
	alloc_budget = -1;
	va_plan_commit(&sp, &p);
	va_plan_fini(&p, NULL, NULL);
	check_space(&sp, (struct xmap[]){ { 0, 1, A, 0 }, { 1, 5, B, 0 },
					  { 5, 6, D, 1 } }, 3);
	ck_assert_int_eq(live_allocs, 3);
}
END_TEST

START_TEST(stale_plan_asserts)
{
	struct va_plan p1, p2;

	ck_assert_int_eq(va_plan_map(&sp, 0, PG, A, 0, 0, &p1), 0);
	ck_assert_int_eq(va_plan_map(&sp, 0, PG, B, 0, 0, &p2), 0);
	va_plan_commit(&sp, &p1);
	ck_assert_ptr_nonnull(freopen("/dev/null", "w", stderr));
	va_plan_commit(&sp, &p2);	/* computed before p1's commit */
}
END_TEST

/* ---- edges of the VA limit ---- */

START_TEST(limit_edges)
{
	uint64_t lim = sp.va_limit;
	struct va_plan p;

	ck_assert_int_eq(va_plan_map(&sp, lim - P(2), P(2), A, 0, 0, &p), 0);
	va_plan_commit(&sp, &p);
	va_plan_fini(&p, NULL, NULL);
	ck_assert_ptr_nonnull(va_find(&sp, lim - 1));
	ck_assert_uint_eq(va_find(&sp, lim - 1)->node.last, lim - 1);
	ck_assert_ptr_null(va_find(&sp, lim));
	expect_map_err(lim - PG, P(2), 0, -EINVAL);
	expect_map_err(lim, PG, 0, -EINVAL);
	expect_unmap_err(lim - PG, P(2), -EINVAL);

	/* unmap the last page: a remap keeping the page below it */
	ck_assert_int_eq(va_plan_unmap(&sp, lim - PG, PG, &p), 0);
	ck_assert_uint_eq(p.nsteps, 1);
	ck_assert_int_eq(p.steps[0].kind, VA_STEP_REMAP);
	ck_assert_uint_eq(p.steps[0].unmap_last, lim - 1);
	ck_assert_uint_eq(p.steps[0].prev->node.last, lim - PG - 1);
	ck_assert_ptr_null(p.steps[0].next);
	va_plan_commit(&sp, &p);
	va_plan_fini(&p, NULL, NULL);
	ck_assert_uint_eq(sp.mapped_bytes, PG);

	/* the whole space in one mapping */
	ck_assert_int_eq(va_plan_map(&sp, 0, lim, B, 0, 0, &p), 0);
	va_plan_commit(&sp, &p);
	va_plan_fini(&p, NULL, NULL);
	ck_assert_uint_eq(sp.mapped_bytes, lim);
	ck_assert_uint_eq(va_space_count(&sp), 1);
}
END_TEST

START_TEST(limit_smallest_largest)
{
	static const unsigned int bits[] = { VA_BITS_MIN, VA_BITS_MAX };
	struct va_space s;
	struct va_plan p;

	for (size_t i = 0; i < N(bits); i++) {
		uint64_t lim = UINT64_C(1) << bits[i];

		ck_assert_int_eq(va_space_init(&s, bits[i], NULL, NULL), 0);
		ck_assert_int_eq(va_plan_map(&s, lim - PG, P(2), A, 0, 0, &p),
				 -EINVAL);
		ck_assert_int_eq(va_plan_map(&s, lim - PG, PG, A, 0, 0, &p), 0);
		va_plan_commit(&s, &p);
		va_plan_fini(&p, NULL, NULL);
		ck_assert_int_eq(va_plan_map(&s, 0, lim, B, 0, 0, &p), 0);
		ck_assert_uint_eq(p.nsteps, 2);
		va_plan_commit(&s, &p);
		va_plan_fini(&p, NULL, NULL);
		ck_assert_uint_eq(s.mapped_bytes, lim);
		ck_assert_ptr_eq(va_find(&s, lim - 1)->obj, B);
		ck_assert_ptr_null(va_find(&s, lim));
		va_space_fini(&s, NULL, NULL);
		ck_assert_uint_eq(s.mapped_bytes, 0);
		ck_assert_uint_eq(va_space_count(&s), 0);
	}
}
END_TEST

/* ---- lookups ---- */

START_TEST(find)
{
	map_now(0, 2, A, 0);
	map_now(3, 4, C, 0);
	ck_assert_ptr_eq(va_find(&sp, 0)->obj, A);
	ck_assert_ptr_eq(va_find(&sp, P(2) - 1)->obj, A);
	ck_assert_ptr_null(va_find(&sp, P(2)));
	ck_assert_ptr_eq(va_find(&sp, P(3) + 123)->obj, C);
	ck_assert_ptr_null(va_find(&sp, P(4)));
	ck_assert_ptr_null(va_find(&sp, UINT64_MAX));
	ck_assert_ptr_null(va_find(NULL, 0));
}
END_TEST

START_TEST(iterate)
{
	struct va_mapping *m;
	void *seen[4];
	size_t n = 0;

	map_now(0, 2, A, 0);
	map_now(3, 4, C, 0);
	map_now(6, 7, D, 0);
	va_for_each_mapping(m, &sp, P(1), P(5)) {
		ck_assert_uint_lt(n, N(seen));
		seen[n++] = m->obj;
	}
	ck_assert_uint_eq(n, 2);
	ck_assert_ptr_eq(seen[0], A);
	ck_assert_ptr_eq(seen[1], C);
	ck_assert_ptr_null(va_iter_first(&sp, P(2), PG));
	ck_assert_ptr_null(va_iter_first(&sp, P(4), P(2)));
	ck_assert_ptr_eq(va_iter_first(&sp, P(2) - 1, 1)->obj, A);
	ck_assert_ptr_null(va_iter_first(&sp, 0, 0));
	ck_assert_ptr_null(va_iter_first(&sp, P(1), UINT64_MAX));
	ck_assert_ptr_null(va_iter_first(NULL, 0, PG));
	ck_assert_ptr_null(va_iter_next(NULL, 0, PG));
	m = va_iter_first(&sp, 0, P(7));
	ck_assert_ptr_null(va_iter_next(m, 0, 0));
}
END_TEST

/* ---- teardown and the drop callbacks ---- */

struct drop_log {
	struct va_mapping *m[8];
	size_t n;
};

static void log_drop(struct va_mapping *m, void *arg)
{
	struct drop_log *log = arg;

	ck_assert_uint_lt(log->n, N(log->m));
	log->m[log->n++] = m;
}

START_TEST(space_fini_drops_all)
{
	struct drop_log log = { .n = 0 };
	struct va_mapping *want[3];

	map_now(4, 6, D, 0);
	map_now(0, 2, A, 0);
	map_now(2, 3, C, 0);
	want[0] = va_find(&sp, P(0));
	want[1] = va_find(&sp, P(2));
	want[2] = va_find(&sp, P(4));
	va_space_fini(&sp, log_drop, &log);
	ck_assert_uint_eq(log.n, 3);
	for (size_t i = 0; i < 3; i++)
		ck_assert_ptr_eq(log.m[i], want[i]);
	ck_assert_int_eq(live_allocs, 0);
	ck_assert_uint_eq(sp.mapped_bytes, 0);
	ck_assert_uint_eq(va_space_count(&sp), 0);
}
END_TEST

START_TEST(plan_fini_drops_olds)
{
	struct drop_log log = { .n = 0 };
	struct va_mapping *a, *c;
	struct va_plan p;

	map_now(0, 4, A, 0);
	map_now(4, 6, C, 0);
	a = va_find(&sp, 0);
	c = va_find(&sp, P(4));
	ck_assert_int_eq(va_plan_map(&sp, P(2), P(3), B, 0, 0, &p), 0);
	va_plan_commit(&sp, &p);
	ck_assert_int_eq(live_allocs, 6);	/* olds a, c; a's prev, b, c's next; steps */
	ck_assert_ptr_eq(p.steps[0].old, a);	/* still readable after commit */
	ck_assert_ptr_eq(p.steps[1].old->obj, C);
	va_plan_fini(&p, log_drop, &log);
	ck_assert_uint_eq(log.n, 2);
	ck_assert_ptr_eq(log.m[0], a);
	ck_assert_ptr_eq(log.m[1], c);
	ck_assert_int_eq(live_allocs, 3);
}
END_TEST

START_TEST(libc_allocator)
{
	struct va_space s;
	struct va_plan p;

	ck_assert_int_eq(va_space_init(&s, 30, NULL, NULL), 0);
	for (int i = 0; i < 8; i++) {
		ck_assert_int_eq(va_plan_map(&s, P(i * 3), P(5), A, 0, 0, &p), 0);
		va_plan_commit(&s, &p);
		va_plan_fini(&p, NULL, NULL);
	}
	ck_assert_int_eq(va_plan_unmap(&s, P(4), P(9), &p), 0);
	va_plan_abort(&p);
	ck_assert_int_eq(va_plan_unmap(&s, P(4), P(9), &p), 0);
	va_plan_commit(&s, &p);
	va_plan_fini(&p, NULL, NULL);
	va_space_fini(&s, NULL, NULL);
}
END_TEST

static Suite *va_space_suite(void)
{
	Suite *s = suite_create("va_space");
	const char *fork = getenv("CK_FORK");
	TCase *tc;

	tc = tcase_create("init");
	tcase_set_timeout(tc, 5);
	tcase_add_test(tc, init_ok);
	tcase_add_test(tc, init_errors);
	suite_add_tcase(s, tc);

	tc = tcase_create("args");
	tcase_set_timeout(tc, 5);
	tcase_add_checked_fixture(tc, space_setup, space_teardown);
	tcase_add_test(tc, map_errors);
	tcase_add_test(tc, unmap_errors);
	suite_add_tcase(s, tc);

	tc = tcase_create("map");
	tcase_set_timeout(tc, 5);
	tcase_add_checked_fixture(tc, space_setup, space_teardown);
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
	suite_add_tcase(s, tc);

	tc = tcase_create("unmap");
	tcase_set_timeout(tc, 5);
	tcase_add_checked_fixture(tc, space_setup, space_teardown);
	tcase_add_test(tc, unmap_middle);
	tcase_add_test(tc, unmap_head);
	tcase_add_test(tc, unmap_tail);
	tcase_add_test(tc, unmap_whole);
	tcase_add_test(tc, unmap_several);
	tcase_add_test(tc, unmap_hole);
	suite_add_tcase(s, tc);

	tc = tcase_create("abort");
	tcase_set_timeout(tc, 5);
	tcase_add_checked_fixture(tc, space_setup, space_teardown);
	tcase_add_test(tc, abort_unchanged);
	tcase_add_test(tc, enomem_unchanged);
	/* an assert kills the process: only meaningful in a forked child */
	if (!fork || strcmp(fork, "no") != 0)
		tcase_add_test_raise_signal(tc, stale_plan_asserts, SIGABRT);
	suite_add_tcase(s, tc);

	tc = tcase_create("limit");
	tcase_set_timeout(tc, 5);
	tcase_add_checked_fixture(tc, space_setup, space_teardown);
	tcase_add_test(tc, limit_edges);
	tcase_add_test(tc, limit_smallest_largest);
	suite_add_tcase(s, tc);

	tc = tcase_create("lookup");
	tcase_set_timeout(tc, 5);
	tcase_add_checked_fixture(tc, space_setup, space_teardown);
	tcase_add_test(tc, find);
	tcase_add_test(tc, iterate);
	suite_add_tcase(s, tc);

	tc = tcase_create("teardown");
	tcase_set_timeout(tc, 5);
	tcase_add_checked_fixture(tc, space_setup, space_teardown);
	tcase_add_test(tc, space_fini_drops_all);
	tcase_add_test(tc, plan_fini_drops_olds);
	tcase_add_test(tc, libc_allocator);
	suite_add_tcase(s, tc);

	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(va_space_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed != 0;
}
