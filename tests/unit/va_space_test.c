/* SPDX-License-Identifier: MIT */
/*
 * Check suite for daemon/gpu/va_space: init and argument errors with
 * their exact errno, abort and allocation failure leaving the space
 * unchanged, a stale plan's commit, the edges of the VA limit, lookups
 * and the drop callbacks. Every split case of the DOC is in
 * va_space_split_test.c, the randomized runs against a page-array model
 * in va_space_stress_test.c; the fixture is tests/lib/va_space_fixture.c.
 */
#include <check.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gpu/va_space.h"
#include "tests/lib/suite.h"
#include "tests/lib/va_space_fixture.h"

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
	static const struct va_space_ops half = { vs_zalloc, NULL };
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
	ck_assert_int_eq(va_plan_map(&VS.sp, va, size, A, off, 0, &p), err);
	ck_assert_int_eq(p.state, VA_PLAN_EMPTY);
	ck_assert_ptr_null(p.steps);
}

static void expect_unmap_err(uint64_t va, uint64_t size, int err)
{
	struct va_plan p;

	memset(&p, 0xa5, sizeof(p));
	ck_assert_int_eq(va_plan_unmap(&VS.sp, va, size, &p), err);
	ck_assert_int_eq(p.state, VA_PLAN_EMPTY);
	ck_assert_ptr_null(p.steps);
}

START_TEST(map_errors)
{
	struct va_plan p;

	vs_map_now(0, 2, A, 0);
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
	expect_map_err(VS.sp.va_limit, PG, 0, -EINVAL);
	expect_map_err(VS.sp.va_limit - PG, P(2), 0, -EINVAL);
	expect_map_err(0, VS.sp.va_limit + PG, 0, -EINVAL);
	/* va + size reaching exactly 2^64 does not wrap, but is out of range */
	expect_map_err(UINT64_MAX - PG + 1, PG, 0, -EINVAL);
	ck_assert_int_eq(va_plan_map(NULL, 0, PG, A, 0, 0, &p), -EINVAL);
	ck_assert_int_eq(p.state, VA_PLAN_EMPTY);
	ck_assert_int_eq(va_plan_map(&VS.sp, 0, PG, A, 0, 0, NULL), -EINVAL);
	/* an object range ending exactly at 2^64 is fine */
	ck_assert_int_eq(va_plan_map(&VS.sp, 0, PG, A, UINT64_MAX - PG + 1, 0,
				     &p), 0);
	va_plan_abort(&p);
	vs_check_space(&VS.sp, (struct xmap[]){ { 0, 2, A, 0 } }, 1);
	ck_assert_uint_eq(VS.sp.seq, 1);
}
END_TEST

START_TEST(unmap_errors)
{
	struct va_plan p;

	vs_map_now(0, 2, A, 0);
	expect_unmap_err(0, 0, -EINVAL);
	expect_unmap_err(1, PG, -EINVAL);
	expect_unmap_err(0, PG + 1, -EINVAL);
	expect_unmap_err(UINT64_MAX - PG + 1, P(2), -EOVERFLOW);
	expect_unmap_err(VS.sp.va_limit, PG, -EINVAL);
	expect_unmap_err(VS.sp.va_limit - PG, P(2), -EINVAL);
	ck_assert_int_eq(va_plan_unmap(NULL, 0, PG, &p), -EINVAL);
	ck_assert_int_eq(p.state, VA_PLAN_EMPTY);
	ck_assert_int_eq(va_plan_unmap(&VS.sp, 0, PG, NULL), -EINVAL);
	vs_check_space(&VS.sp, (struct xmap[]){ { 0, 2, A, 0 } }, 1);
	ck_assert_uint_eq(VS.sp.seq, 1);
}
END_TEST

/* ---- abort and allocation failure ---- */

/* a@0 [0,2), c@7 [2,3), d@0 [4,6): the across case of the DOC */
static void setup_across(struct va_mapping *olds[3])
{
	vs_map_now(0, 2, A, 0);
	vs_map_now(2, 3, C, 7);
	vs_map_now(4, 6, D, 0);
	olds[0] = va_find(&VS.sp, P(0));
	olds[1] = va_find(&VS.sp, P(2));
	olds[2] = va_find(&VS.sp, P(4));
}

static void check_across_unchanged(struct va_mapping *olds[3], uint64_t seq)
{
	vs_check_space(&VS.sp, (struct xmap[]){ { 0, 2, A, 0 }, { 2, 3, C, 7 },
					  { 4, 6, D, 0 } }, 3);
	ck_assert_ptr_eq(va_find(&VS.sp, P(1)), olds[0]);
	ck_assert_ptr_eq(va_find(&VS.sp, P(2)), olds[1]);
	ck_assert_ptr_eq(va_find(&VS.sp, P(5)), olds[2]);
	ck_assert_uint_eq(VS.sp.seq, seq);
	ck_assert_int_eq(VS.live_allocs, 3);
}

START_TEST(abort_unchanged)
{
	struct va_mapping *olds[3];
	struct va_plan p = VA_PLAN_INIT;

	va_plan_abort(&p);		/* empty: nothing to do */
	va_plan_fini(&p, NULL, NULL);
	setup_across(olds);

	ck_assert_int_eq(va_plan_map(&VS.sp, P(1), P(4), B, 0, 0, &p), 0);
	ck_assert_uint_eq(p.nsteps, 4);
	va_plan_abort(&p);
	ck_assert_int_eq(p.state, VA_PLAN_EMPTY);
	check_across_unchanged(olds, 3);

	ck_assert_int_eq(va_plan_unmap(&VS.sp, P(1), P(4), &p), 0);
	va_plan_abort(&p);
	va_plan_abort(&p);		/* twice is harmless */
	check_across_unchanged(olds, 3);

	/* fini of a pending plan aborts it */
	ck_assert_int_eq(va_plan_map(&VS.sp, P(0), P(6), B, 0, 0, &p), 0);
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
		VS.alloc_budget = budget;
		ck_assert_int_eq(va_plan_map(&VS.sp, P(1), P(4), B, 0, 0, &p),
				 -ENOMEM);
		ck_assert_int_eq(p.state, VA_PLAN_EMPTY);
		check_across_unchanged(olds, 3);
	}
	/* unmap [1,5) needs the step array, prev and next */
	for (long budget = 0; budget < 3; budget++) {
		VS.alloc_budget = budget;
		ck_assert_int_eq(va_plan_unmap(&VS.sp, P(1), P(4), &p), -ENOMEM);
		ck_assert_int_eq(p.state, VA_PLAN_EMPTY);
		check_across_unchanged(olds, 3);
	}
	VS.alloc_budget = 4;
	ck_assert_int_eq(va_plan_map(&VS.sp, P(1), P(4), B, 0, 0, &p), 0);
	ck_assert_int_eq(VS.alloc_budget, 0);
	VS.alloc_budget = -1;
	va_plan_commit(&VS.sp, &p);
	va_plan_fini(&p, NULL, NULL);
	vs_check_space(&VS.sp, (struct xmap[]){ { 0, 1, A, 0 }, { 1, 5, B, 0 },
					  { 5, 6, D, 1 } }, 3);
	ck_assert_int_eq(VS.live_allocs, 3);
}
END_TEST

START_TEST(stale_plan_asserts)
{
	struct va_plan p1, p2;

	ck_assert_int_eq(va_plan_map(&VS.sp, 0, PG, A, 0, 0, &p1), 0);
	ck_assert_int_eq(va_plan_map(&VS.sp, 0, PG, B, 0, 0, &p2), 0);
	va_plan_commit(&VS.sp, &p1);
	ck_assert_ptr_nonnull(freopen("/dev/null", "w", stderr));
	va_plan_commit(&VS.sp, &p2);	/* computed before p1's commit */
}
END_TEST

/* ---- edges of the VA limit ---- */

START_TEST(limit_edges)
{
	uint64_t lim = VS.sp.va_limit;
	struct va_plan p;

	ck_assert_int_eq(va_plan_map(&VS.sp, lim - P(2), P(2), A, 0, 0, &p), 0);
	va_plan_commit(&VS.sp, &p);
	va_plan_fini(&p, NULL, NULL);
	ck_assert_ptr_nonnull(va_find(&VS.sp, lim - 1));
	ck_assert_uint_eq(va_find(&VS.sp, lim - 1)->node.last, lim - 1);
	ck_assert_ptr_null(va_find(&VS.sp, lim));
	expect_map_err(lim - PG, P(2), 0, -EINVAL);
	expect_map_err(lim, PG, 0, -EINVAL);
	expect_unmap_err(lim - PG, P(2), -EINVAL);

	/* unmap the last page: a remap keeping the page below it */
	ck_assert_int_eq(va_plan_unmap(&VS.sp, lim - PG, PG, &p), 0);
	ck_assert_uint_eq(p.nsteps, 1);
	ck_assert_int_eq(p.steps[0].kind, VA_STEP_REMAP);
	ck_assert_uint_eq(p.steps[0].unmap_last, lim - 1);
	ck_assert_uint_eq(p.steps[0].prev->node.last, lim - PG - 1);
	ck_assert_ptr_null(p.steps[0].next);
	va_plan_commit(&VS.sp, &p);
	va_plan_fini(&p, NULL, NULL);
	ck_assert_uint_eq(VS.sp.mapped_bytes, PG);

	/* the whole space in one mapping */
	ck_assert_int_eq(va_plan_map(&VS.sp, 0, lim, B, 0, 0, &p), 0);
	va_plan_commit(&VS.sp, &p);
	va_plan_fini(&p, NULL, NULL);
	ck_assert_uint_eq(VS.sp.mapped_bytes, lim);
	ck_assert_uint_eq(va_space_count(&VS.sp), 1);
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
	vs_map_now(0, 2, A, 0);
	vs_map_now(3, 4, C, 0);
	ck_assert_ptr_eq(va_find(&VS.sp, 0)->obj, A);
	ck_assert_ptr_eq(va_find(&VS.sp, P(2) - 1)->obj, A);
	ck_assert_ptr_null(va_find(&VS.sp, P(2)));
	ck_assert_ptr_eq(va_find(&VS.sp, P(3) + 123)->obj, C);
	ck_assert_ptr_null(va_find(&VS.sp, P(4)));
	ck_assert_ptr_null(va_find(&VS.sp, UINT64_MAX));
	ck_assert_ptr_null(va_find(NULL, 0));
}
END_TEST

START_TEST(iterate)
{
	struct va_mapping *m;
	void *seen[4];
	size_t n = 0;

	vs_map_now(0, 2, A, 0);
	vs_map_now(3, 4, C, 0);
	vs_map_now(6, 7, D, 0);
	va_for_each_mapping(m, &VS.sp, P(1), P(5)) {
		ck_assert_uint_lt(n, N(seen));
		seen[n++] = m->obj;
	}
	ck_assert_uint_eq(n, 2);
	ck_assert_ptr_eq(seen[0], A);
	ck_assert_ptr_eq(seen[1], C);
	ck_assert_ptr_null(va_iter_first(&VS.sp, P(2), PG));
	ck_assert_ptr_null(va_iter_first(&VS.sp, P(4), P(2)));
	ck_assert_ptr_eq(va_iter_first(&VS.sp, P(2) - 1, 1)->obj, A);
	ck_assert_ptr_null(va_iter_first(&VS.sp, 0, 0));
	ck_assert_ptr_null(va_iter_first(&VS.sp, P(1), UINT64_MAX));
	ck_assert_ptr_null(va_iter_first(NULL, 0, PG));
	ck_assert_ptr_null(va_iter_next(NULL, 0, PG));
	m = va_iter_first(&VS.sp, 0, P(7));
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

	vs_map_now(4, 6, D, 0);
	vs_map_now(0, 2, A, 0);
	vs_map_now(2, 3, C, 0);
	want[0] = va_find(&VS.sp, P(0));
	want[1] = va_find(&VS.sp, P(2));
	want[2] = va_find(&VS.sp, P(4));
	va_space_fini(&VS.sp, log_drop, &log);
	ck_assert_uint_eq(log.n, 3);
	for (size_t i = 0; i < 3; i++)
		ck_assert_ptr_eq(log.m[i], want[i]);
	ck_assert_int_eq(VS.live_allocs, 0);
	ck_assert_uint_eq(VS.sp.mapped_bytes, 0);
	ck_assert_uint_eq(va_space_count(&VS.sp), 0);
}
END_TEST

START_TEST(plan_fini_drops_olds)
{
	struct drop_log log = { .n = 0 };
	struct va_mapping *a, *c;
	struct va_plan p;

	vs_map_now(0, 4, A, 0);
	vs_map_now(4, 6, C, 0);
	a = va_find(&VS.sp, 0);
	c = va_find(&VS.sp, P(4));
	ck_assert_int_eq(va_plan_map(&VS.sp, P(2), P(3), B, 0, 0, &p), 0);
	va_plan_commit(&VS.sp, &p);
	ck_assert_int_eq(VS.live_allocs, 6);	/* olds a, c; a's prev, b, c's next; steps */
	ck_assert_ptr_eq(p.steps[0].old, a);	/* still readable after commit */
	ck_assert_ptr_eq(p.steps[1].old->obj, C);
	va_plan_fini(&p, log_drop, &log);
	ck_assert_uint_eq(log.n, 2);
	ck_assert_ptr_eq(log.m[0], a);
	ck_assert_ptr_eq(log.m[1], c);
	ck_assert_int_eq(VS.live_allocs, 3);
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

	tc = tu_tcase(s, "init", 5, NULL, NULL);
	tcase_add_test(tc, init_ok);
	tcase_add_test(tc, init_errors);

	tc = tu_tcase(s, "args", 5, vs_setup, vs_teardown);
	tcase_add_test(tc, map_errors);
	tcase_add_test(tc, unmap_errors);

	tc = tu_tcase(s, "abort", 5, vs_setup, vs_teardown);
	tcase_add_test(tc, abort_unchanged);
	tcase_add_test(tc, enomem_unchanged);
	/* an assert kills the process: only meaningful in a forked child */
	if (!fork || strcmp(fork, "no") != 0)
		tcase_add_test_raise_signal(tc, stale_plan_asserts, SIGABRT);

	tc = tu_tcase(s, "limit", 5, vs_setup, vs_teardown);
	tcase_add_test(tc, limit_edges);
	tcase_add_test(tc, limit_smallest_largest);

	tc = tu_tcase(s, "lookup", 5, vs_setup, vs_teardown);
	tcase_add_test(tc, find);
	tcase_add_test(tc, iterate);

	tc = tu_tcase(s, "teardown", 5, vs_setup, vs_teardown);
	tcase_add_test(tc, space_fini_drops_all);
	tcase_add_test(tc, plan_fini_drops_olds);
	tcase_add_test(tc, libc_allocator);

	return s;
}

int main(void)
{
	return tu_run_suite(va_space_suite());
}
