/* SPDX-License-Identifier: MIT */
/*
 * Randomized check suite for daemon/gpu/va_space: fixed-seed runs of
 * 10^5 map, unmap, abort and failed-allocation operations over a VA
 * space of 16 or 64 pages, so that requests overlap, split and hit the
 * limit all the time, mirrored in a brute-force model (page -> mapping,
 * obj, offset, flags, priv). Before each commit the steps must unmap
 * exactly the mapped pages of the request, once each, and keep exactly
 * the rest of every old mapping; after it the space must equal the
 * model; after an error or an abort, nothing may have changed.
 */
#include <check.h>
#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
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

/* ---- the model ---- */

#define MAX_PAGES	64

/* What page p shows, and through which mapping struct. */
struct mpage {
	struct va_mapping *m;		/* NULL: unmapped */
	void *obj;
	uint64_t off;			/* bytes, of this page */
	uint32_t flags;
	void *priv;
};

static struct mpage model[MAX_PAGES];
static uint64_t rng_state;

static uint64_t rnd(void)
{
	/* xorshift64*: fixed seed, same sequence everywhere */
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return rng_state * UINT64_C(0x2545f4914f6cdd1d);
}

/* The space equals the model, page by page and mapping by mapping. */
static void check_model(const struct va_space *s, uint64_t npages)
{
	const struct va_mapping *m;
	uint64_t next_free = 0, pages = 0, mapped = 0;
	size_t count = 0;

	va_for_each_mapping(m, s, 0, s->va_limit) {
		uint64_t sp0 = m->node.start / PG, ep = (m->node.last + 1) / PG;

		REQUIRE(m->node.start % PG == 0 && (m->node.last + 1) % PG == 0,
			"unaligned mapping");
		REQUIRE(m->node.start >= next_free, "overlap at page %" PRIu64, sp0);
		REQUIRE(ep <= npages, "mapping past the limit");
		REQUIRE(m->offset % PG == 0, "unaligned offset");
		for (uint64_t p = sp0; p < ep; p++) {
			const struct mpage *mp = &model[p];

			REQUIRE(mp->m == m, "page %" PRIu64 ": wrong mapping", p);
			REQUIRE(mp->obj == m->obj && mp->flags == m->flags &&
				mp->priv == m->priv,
				"page %" PRIu64 ": wrong obj/flags/priv", p);
			REQUIRE(mp->off == m->offset + (p - sp0) * PG,
				"page %" PRIu64 ": wrong offset", p);
		}
		pages += ep - sp0;
		next_free = m->node.last + 1;
		count++;
	}
	for (uint64_t p = 0; p < npages; p++)
		mapped += model[p].m != NULL;
	REQUIRE(pages == mapped, "space maps %" PRIu64 " pages, model %" PRIu64,
		pages, mapped);
	REQUIRE(s->mapped_bytes == pages * PG, "mapped_bytes off");
	REQUIRE(va_space_count(s) == count, "count off");
	for (int i = 0; i < 4; i++) {
		uint64_t p = rnd() % npages;

		REQUIRE(va_find(s, P(p) + rnd() % PG) == model[p].m,
			"va_find(page %" PRIu64 ") disagrees", p);
	}
}

/* A kept piece of @old over pages [s, e): same content, new struct. */
static void check_piece(const struct va_mapping *piece,
			const struct va_mapping *old, uint64_t s, uint64_t e)
{
	REQUIRE(piece && piece != old, "missing piece");
	REQUIRE(piece->node.start == P(s) && piece->node.last == P(e) - 1,
		"piece range");
	REQUIRE(piece->obj == old->obj && piece->flags == old->flags &&
		piece->priv == old->priv, "piece content");
	REQUIRE(piece->offset == old->offset + (P(s) - old->node.start),
		"piece offset");
}

/*
 * Before the commit: the steps name each mapping meeting [s, e) once,
 * in address order, unmap exactly the mapped pages of [s, e), keep
 * exactly the rest of each old mapping, and end with the MAP if any.
 */
static void check_plan(const struct va_plan *p, uint64_t s, uint64_t e,
		       const struct mpage *req, uint64_t npages)
{
	uint8_t covered[MAX_PAGES] = { 0 };
	uint64_t prev_start = 0;
	size_t nold = 0;

	for (size_t i = 0; i < p->nsteps; i++) {
		const struct va_step *st = &p->steps[i];
		const struct va_mapping *old = st->old;
		uint64_t os, oe;

		if (st->kind == VA_STEP_MAP) {
			const struct va_mapping *m = st->map;

			REQUIRE(req && i == p->nsteps - 1, "stray MAP step");
			REQUIRE(m && !old && !st->prev && !st->next, "MAP fields");
			REQUIRE(m->node.start == P(s) && m->node.last == P(e) - 1 &&
				st->unmap_start == P(s) && st->unmap_last == P(e) - 1,
				"MAP range");
			REQUIRE(m->obj == req->obj && m->offset == req->off &&
				m->flags == req->flags, "MAP content");
			continue;
		}
		REQUIRE(old && !st->map, "old step fields");
		os = old->node.start / PG;
		oe = (old->node.last + 1) / PG;
		REQUIRE(nold == 0 || old->node.start > prev_start, "order");
		prev_start = old->node.start;
		nold++;
		REQUIRE(model[os].m == old, "old is not in the space");
		REQUIRE(st->unmap_start == P(os > s ? os : s) &&
			st->unmap_last == P(oe < e ? oe : e) - 1, "unmap range");
		for (uint64_t q = st->unmap_start / PG; q <= st->unmap_last / PG; q++)
			covered[q]++;
		if (os < s)
			check_piece(st->prev, old, os, s);
		else
			REQUIRE(!st->prev, "unexpected prev");
		if (oe > e)
			check_piece(st->next, old, e, oe);
		else
			REQUIRE(!st->next, "unexpected next");
		REQUIRE(st->kind == (st->prev || st->next ? VA_STEP_REMAP :
				     VA_STEP_UNMAP), "step kind");
	}
	REQUIRE(p->nsteps == nold + (req != NULL), "step count");
	for (uint64_t q = 0; q < npages; q++) {
		int want = q >= s && q < e && model[q].m;

		REQUIRE(covered[q] == want, "page %" PRIu64 " unmapped %d times, "
			"want %d", q, covered[q], want);
	}
}

/* After the commit: apply the plan to the model. */
static void apply_plan(const struct va_plan *p, uint64_t s, uint64_t e)
{
	for (size_t i = 0; i < p->nsteps; i++) {
		const struct va_step *st = &p->steps[i];

		for (int k = 0; k < 2; k++) {
			struct va_mapping *piece = k ? st->next : st->prev;

			if (!piece)
				continue;
			for (uint64_t q = piece->node.start / PG;
			     q <= piece->node.last / PG; q++)
				model[q].m = piece;
		}
	}
	for (uint64_t q = s; q < e; q++)
		model[q] = (struct mpage){ 0 };
	if (p->nsteps && p->steps[p->nsteps - 1].kind == VA_STEP_MAP) {
		struct va_mapping *m = p->steps[p->nsteps - 1].map;

		for (uint64_t q = s; q < e; q++)
			model[q] = (struct mpage){ m, m->obj,
				m->offset + P(q - s), m->flags, m->priv };
	}
}

static void count_drop(struct va_mapping *m, void *arg)
{
	(*(size_t *)arg)++;
}

static void run_random(unsigned int va_bits, uint64_t seed, long ops)
{
	uint64_t npages = (UINT64_C(1) << va_bits) / PG;
	struct va_space s;

	ck_assert_uint_le(npages, MAX_PAGES);
	rng_state = seed;
	memset(model, 0, sizeof(model));
	alloc_budget = -1;
	live_allocs = 0;
	ck_assert_int_eq(va_space_init(&s, va_bits, &t_ops, NULL), 0);

	for (long i = 0; i < ops; i++) {
		uint64_t r = rnd(), seq = s.seq, start, len;
		struct mpage req = { NULL, (r & 7) < 7 ? &objs[r >> 3 & 3] : NULL,
				     P(r >> 5 & 15), (uint32_t)(r >> 9 & 3),
				     NULL };
		bool is_map = (r >> 11) % 100 < 55;
		long live = live_allocs;
		size_t dropped = 0, nold;
		struct va_plan p;
		int err;

		start = rnd() % npages;
		/* mostly short ranges, some to the end, a few past it */
		if (r >> 20 & 7)
			len = 1 + rnd() % 8;
		else
			len = npages - start + (rnd() % 16 == 0);
		if (start + len > npages && (r >> 23 & 3))
			len = npages - start;
		if (r % 17 == 0)
			alloc_budget = (long)(rnd() % 4);

		if (is_map)
			err = va_plan_map(&s, P(start), P(len), req.obj, req.off,
					  req.flags, &p);
		else
			err = va_plan_unmap(&s, P(start), P(len), &p);
		alloc_budget = -1;

		if (start + len > npages) {
			REQUIRE(err == -EINVAL, "op %ld: past the limit gave %d", i, err);
		} else if (err) {
			REQUIRE(err == -ENOMEM, "op %ld: error %d", i, err);
		}
		if (err) {
			REQUIRE(p.state == VA_PLAN_EMPTY && live_allocs == live,
				"op %ld: failed plan left state", i);
			check_model(&s, npages);
			continue;
		}
		check_plan(&p, start, start + len, is_map ? &req : NULL, npages);
		if (rnd() % 10 == 0) {
			va_plan_abort(&p);
			REQUIRE(live_allocs == live && s.seq == seq,
				"op %ld: abort leaked or changed", i);
			check_model(&s, npages);
			continue;
		}
		if (is_map)
			p.steps[p.nsteps - 1].map->priv = (void *)(uintptr_t)(i + 1);
		nold = p.nsteps - is_map;
		va_plan_commit(&s, &p);
		apply_plan(&p, start, start + len);
		check_model(&s, npages);
		va_plan_fini(&p, count_drop, &dropped);
		REQUIRE(dropped == nold, "op %ld: %zu olds dropped, want %zu",
			i, dropped, nold);
		REQUIRE((size_t)live_allocs == va_space_count(&s),
			"op %ld: %ld allocations live for %zu mappings", i,
			live_allocs, va_space_count(&s));
	}
	va_space_fini(&s, NULL, NULL);
	ck_assert_int_eq(live_allocs, 0);
}

START_TEST(random_dense)
{
	run_random(VA_PAGE_SHIFT + 4, 0x7a5eed01, 100000);
}
END_TEST

START_TEST(random_wider)
{
	run_random(VA_PAGE_SHIFT + 6, 0x7a5eed02, 100000);
}
END_TEST

static Suite *va_space_stress_suite(void)
{
	Suite *s = suite_create("va_space_stress");
	TCase *tc;

	tc = tcase_create("random");
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, random_dense);
	tcase_add_test(tc, random_wider);
	suite_add_tcase(s, tc);

	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(va_space_stress_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed != 0;
}
