// SPDX-License-Identifier: MIT
/*
 * The va_space suites' fixture (va_space_fixture.h): the space under
 * test, an allocator with failure injection and a live count, and the
 * checks of mappings against what a test expects.
 */
#include <check.h>
#include <inttypes.h>
#include <stdlib.h>

#include "tests/lib/va_space_fixture.h"

struct va_fixture VS = { .alloc_budget = -1 };

void *vs_zalloc(size_t size, void *arg)
{
	if (VS.alloc_budget == 0)
		return NULL;
	if (VS.alloc_budget > 0)
		VS.alloc_budget--;
	VS.live_allocs++;
	return calloc(1, size);
}

static void vs_free(void *p, void *arg)
{
	VS.live_allocs--;
	free(p);
}

static const struct va_space_ops vs_ops = { vs_zalloc, vs_free };

void vs_setup(void)
{
	VS.alloc_budget = -1;
	VS.live_allocs = 0;
	ck_assert_int_eq(va_space_init(&VS.sp, 20, &vs_ops, NULL), 0);
}

void vs_teardown(void)
{
	va_space_fini(&VS.sp, NULL, NULL);
	ck_assert_int_eq(VS.live_allocs, 0);
}

void vs_check_map(const struct va_mapping *m, const struct xmap *x,
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

void vs_check_space(const struct va_space *s, const struct xmap *x,
		    size_t n)
{
	const struct va_mapping *m;
	uint64_t bytes = 0;
	size_t i = 0;

	va_for_each_mapping(m, s, 0, s->va_limit) {
		ck_assert_uint_lt(i, n);
		vs_check_map(m, &x[i], "space");
		bytes += P(x[i].e - x[i].s);
		i++;
	}
	ck_assert_uint_eq(i, n);
	ck_assert_uint_eq(va_space_count(s), n);
	ck_assert_uint_eq(s->mapped_bytes, bytes);
}

void vs_map_now(uint64_t s, uint64_t e, void *obj, uint64_t off)
{
	struct va_plan p;

	ck_assert_int_eq(va_plan_map(&VS.sp, P(s), P(e - s), obj, P(off), 0, &p), 0);
	va_plan_commit(&VS.sp, &p);
	va_plan_fini(&p, NULL, NULL);
}
