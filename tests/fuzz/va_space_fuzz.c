// SPDX-License-Identifier: MIT
/*
 * libFuzzer harness of the VM_BIND split/merge engine (daemon/gpu/va_space.c)
 * against a brute-force page model, the fuzz-driven sibling of
 * tests/unit/va_space_stress_test.c. The input picks a space of 16 to 256
 * pages, then a program of MAP, UNMAP, edge-case requests (raw 64-bit
 * va/size/offset: unaligned, empty, wrapping, past the limit) and lookups,
 * with aborts and allocation failures injected. Every error code is
 * predicted by an independent reading of the header's contract; before a
 * commit the plan must unmap exactly the mapped pages of the request, once
 * each, and keep exactly the rest of each old mapping; after every op the
 * space must equal the model page by page (obj, offset, flags, priv),
 * va_find and va_for_each_mapping must agree with it, and the allocator
 * must hold exactly one block per mapping. Input format in DOC below.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdint.h>

#include "fuzz.h"
#include "gpu/va_space.h"

/*
 * DOC: Input
 *
 *   byte 0: npages = 16 << (b % 5)          (va_bits 16..20)
 *   then ops, at most MAX_OPS, each:
 *     u8 kind   0 MAP, 1 UNMAP (small page numbers), 2 EDGE (raw u64s,
 *               MAP or UNMAP), 3 LOOKUP
 *     u8 ctl    bit0 abort the plan instead of committing, bit1 inject
 *               an allocation failure after (ctl >> 2) & 3 allocations,
 *               bit4 map a NULL obj (sparse)
 *     MAP/UNMAP: u16 start page, u16 pages, u8 obj, u16 offset page,
 *                u8 flags
 *     EDGE:      u8 map?, u64 va, u64 size, u64 offset, u8 flags
 *     LOOKUP:    u64 va, u64 size (both also reduced mod the space)
 */

#define PG		VA_PAGE_SIZE
#define P(n)		((uint64_t)(n) * PG)
#define MAX_PAGES	256
#define MAX_OPS		256

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

/* ---- the model: what each page shows, and through which struct ---- */

struct mpage {
	struct va_mapping *m;		/* NULL: unmapped */
	void *obj;
	uint64_t off;			/* bytes, of this page */
	uint32_t flags;
	void *priv;
};

static struct mpage model[MAX_PAGES];
static uint64_t npages;

static void check_model(const struct va_space *s)
{
	const struct va_mapping *m;
	uint64_t next_free = 0, pages = 0, mapped = 0;
	size_t count = 0;

	va_for_each_mapping(m, s, 0, s->va_limit) {
		uint64_t sp = m->node.start / PG, ep = (m->node.last + 1) / PG;

		FUZZ_REQUIRE(m->node.start % PG == 0 && (m->node.last + 1) % PG == 0,
			     "unaligned mapping");
		FUZZ_REQUIRE(m->node.start >= next_free || count == 0,
			     "overlap or disorder at page %" PRIu64, sp);
		FUZZ_REQUIRE(ep <= npages, "mapping past the limit");
		FUZZ_REQUIRE(m->offset % PG == 0, "unaligned offset");
		for (uint64_t p = sp; p < ep; p++) {
			const struct mpage *mp = &model[p];

			FUZZ_REQUIRE(mp->m == m, "page %" PRIu64 ": wrong mapping", p);
			FUZZ_REQUIRE(mp->obj == m->obj && mp->flags == m->flags &&
				     mp->priv == m->priv,
				     "page %" PRIu64 ": wrong obj/flags/priv", p);
			FUZZ_REQUIRE(mp->off == m->offset + (p - sp) * PG,
				     "page %" PRIu64 ": wrong offset", p);
		}
		pages += ep - sp;
		next_free = m->node.last + 1;
		count++;
	}
	for (uint64_t p = 0; p < npages; p++) {
		mapped += model[p].m != NULL;
		FUZZ_REQUIRE(va_find(s, P(p)) == model[p].m &&
			     va_find(s, P(p) + PG - 1) == model[p].m,
			     "va_find(page %" PRIu64 ") disagrees", p);
	}
	FUZZ_REQUIRE(va_find(s, s->va_limit) == NULL && va_find(s, UINT64_MAX) == NULL,
		     "va_find past the limit");
	FUZZ_REQUIRE(pages == mapped, "space maps %" PRIu64 " pages, model %" PRIu64,
		     pages, mapped);
	FUZZ_REQUIRE(s->mapped_bytes == pages * PG, "mapped_bytes %" PRIu64 ", want %" PRIu64,
		     s->mapped_bytes, pages * PG);
	FUZZ_REQUIRE(va_space_count(s) == count, "count off");
	FUZZ_REQUIRE((size_t)live_allocs == count, "%ld allocations live for %zu mappings",
		     live_allocs, count);
}

static void check_piece(const struct va_mapping *piece, const struct va_mapping *old,
			uint64_t s, uint64_t e)
{
	FUZZ_REQUIRE(piece && piece != old, "missing piece");
	FUZZ_REQUIRE(piece->node.start == P(s) && piece->node.last == P(e) - 1,
		     "piece range");
	FUZZ_REQUIRE(piece->obj == old->obj && piece->flags == old->flags &&
		     piece->priv == old->priv, "piece content");
	FUZZ_REQUIRE(piece->offset == old->offset + (P(s) - old->node.start),
		     "piece offset");
}

/* The plan for pages [s, e) before its commit; @req is the MAP or NULL. */
static void check_plan(const struct va_plan *p, uint64_t s, uint64_t e,
		       const struct mpage *req)
{
	uint8_t covered[MAX_PAGES] = { 0 };
	uint64_t prev_start = 0;
	size_t nold = 0;

	FUZZ_REQUIRE(p->state == VA_PLAN_PENDING, "plan not pending");
	FUZZ_REQUIRE(p->start == P(s) && p->last == P(e) - 1, "plan range");
	for (size_t i = 0; i < p->nsteps; i++) {
		const struct va_step *st = &p->steps[i];
		const struct va_mapping *old = st->old;
		uint64_t os, oe;

		if (st->kind == VA_STEP_MAP) {
			const struct va_mapping *m = st->map;

			FUZZ_REQUIRE(req && i == p->nsteps - 1, "stray MAP step");
			FUZZ_REQUIRE(m && !old && !st->prev && !st->next, "MAP fields");
			FUZZ_REQUIRE(m->node.start == P(s) && m->node.last == P(e) - 1 &&
				     st->unmap_start == P(s) && st->unmap_last == P(e) - 1,
				     "MAP range");
			FUZZ_REQUIRE(m->obj == req->obj && m->offset == req->off &&
				     m->flags == req->flags, "MAP content");
			continue;
		}
		FUZZ_REQUIRE(old && !st->map, "old step fields");
		os = old->node.start / PG;
		oe = (old->node.last + 1) / PG;
		FUZZ_REQUIRE(nold == 0 || old->node.start > prev_start, "step order");
		prev_start = old->node.start;
		nold++;
		FUZZ_REQUIRE(os < npages && model[os].m == old, "old is not in the space");
		FUZZ_REQUIRE(st->unmap_start == P(os > s ? os : s) &&
			     st->unmap_last == P(oe < e ? oe : e) - 1, "unmap range");
		for (uint64_t q = st->unmap_start / PG; q <= st->unmap_last / PG; q++)
			covered[q]++;
		if (os < s)
			check_piece(st->prev, old, os, s);
		else
			FUZZ_REQUIRE(!st->prev, "unexpected prev");
		if (oe > e)
			check_piece(st->next, old, e, oe);
		else
			FUZZ_REQUIRE(!st->next, "unexpected next");
		FUZZ_REQUIRE(st->kind == (st->prev || st->next ? VA_STEP_REMAP : VA_STEP_UNMAP),
			     "step kind");
	}
	FUZZ_REQUIRE(p->nsteps == nold + (req != NULL), "step count");
	for (uint64_t q = 0; q < npages; q++) {
		int want = q >= s && q < e && model[q].m;

		FUZZ_REQUIRE(covered[q] == want, "page %" PRIu64 " unmapped %d times, want %d",
			     q, covered[q], want);
	}
}

static void apply_plan(const struct va_plan *p, uint64_t s, uint64_t e)
{
	for (size_t i = 0; i < p->nsteps; i++) {
		const struct va_step *st = &p->steps[i];

		for (int k = 0; k < 2; k++) {
			struct va_mapping *piece = k ? st->next : st->prev;

			if (!piece)
				continue;
			for (uint64_t q = piece->node.start / PG; q <= piece->node.last / PG; q++)
				model[q].m = piece;
		}
	}
	for (uint64_t q = s; q < e; q++)
		model[q] = (struct mpage){ 0 };
	if (p->nsteps && p->steps[p->nsteps - 1].kind == VA_STEP_MAP) {
		struct va_mapping *m = p->steps[p->nsteps - 1].map;

		for (uint64_t q = s; q < e; q++)
			model[q] = (struct mpage){ m, m->obj, m->offset + P(q - s), m->flags,
						   m->priv };
	}
}

static void count_drop(struct va_mapping *m, void *arg)
{
	(*(size_t *)arg)++;
}

/* The contract of va_plan_map/unmap, read independently of the code. */
static int expected_err(const struct va_space *s, bool map, uint64_t va, uint64_t size,
			uint64_t offset)
{
	if (map && offset % PG)
		return -EINVAL;
	if (size == 0 || va % PG || size % PG)
		return -EINVAL;
	if (va > UINT64_MAX - (size - 1))
		return -EOVERFLOW;
	if (va + (size - 1) >= s->va_limit)
		return -EINVAL;
	if (map && offset > UINT64_MAX - (size - 1))
		return -EOVERFLOW;
	return 0;
}

static uint64_t edge_value(uint8_t pick, uint64_t raw, const struct va_space *s)
{
	switch (pick % 8) {
	case 0: return 0;
	case 1: return PG;
	case 2: return s->va_limit - PG;
	case 3: return s->va_limit;
	case 4: return UINT64_MAX - PG + 1;
	case 5: return UINT64_MAX;
	case 6: return raw & ~(PG - 1);
	default: return raw;
	}
}

static void do_lookup(const struct va_space *s, uint64_t va, uint64_t size)
{
	const struct va_mapping *m, *want = NULL;
	uint64_t last = va + size - 1;
	bool wraps = size == 0 || va > UINT64_MAX - (size - 1);

	m = va_iter_first(s, va, size);
	if (wraps) {
		FUZZ_REQUIRE(m == NULL, "iteration over an empty or wrapping range");
		return;
	}
	/* Walk the model's distinct mappings meeting [va, last] in order. */
	for (uint64_t p = va / PG; p < npages && P(p) <= last; p++) {
		if (!model[p].m || model[p].m == want)
			continue;
		want = model[p].m;
		FUZZ_REQUIRE(m == want, "iteration of [%#" PRIx64 ", %#" PRIx64 "] disagrees",
			     va, last);
		m = va_iter_next(m, va, size);
	}
	FUZZ_REQUIRE(m == NULL, "iteration returns an extra mapping");
}

/* One MAP or UNMAP request, with its plan checked, aborted or committed. */
static void do_request(struct va_space *s, bool map, uint64_t va, uint64_t size,
		       const struct mpage *req, uint8_t ctl, long opno)
{
	long live = live_allocs;
	uint64_t seq = s->seq, sp, ep;
	size_t dropped = 0, nold;
	struct va_plan p;
	int want, err;

	want = expected_err(s, map, va, size, req->off);
	if (ctl & 2)
		alloc_budget = (ctl >> 2) & 3;
	if (map)
		err = va_plan_map(s, va, size, req->obj, req->off, req->flags, &p);
	else
		err = va_plan_unmap(s, va, size, &p);
	alloc_budget = -1;

	if (want || err) {
		FUZZ_REQUIRE(err == want || (!want && err == -ENOMEM && (ctl & 2)),
			     "op %ld: %s va %#" PRIx64 " size %#" PRIx64 " offset %#" PRIx64
			     " gave %d, want %d", opno, map ? "map" : "unmap", va, size,
			     req->off, err, want);
		FUZZ_REQUIRE(p.state == VA_PLAN_EMPTY && live_allocs == live && s->seq == seq,
			     "op %ld: a failed plan left state behind", opno);
		check_model(s);
		return;
	}
	sp = va / PG;
	ep = sp + size / PG;
	check_plan(&p, sp, ep, map ? req : NULL);
	if (ctl & 1) {
		va_plan_abort(&p);
		FUZZ_REQUIRE(p.state == VA_PLAN_EMPTY && live_allocs == live && s->seq == seq,
			     "op %ld: abort leaked or changed the space", opno);
		check_model(s);
		return;
	}
	if (map)
		p.steps[p.nsteps - 1].map->priv = (void *)(uintptr_t)(opno + 1);
	nold = p.nsteps - map;
	va_plan_commit(s, &p);
	FUZZ_REQUIRE(s->seq == seq + 1 && p.state == VA_PLAN_COMMITTED, "op %ld: commit", opno);
	apply_plan(&p, sp, ep);
	va_plan_fini(&p, count_drop, &dropped);
	FUZZ_REQUIRE(dropped == nold, "op %ld: %zu olds dropped, want %zu", opno, dropped, nold);
	FUZZ_REQUIRE(p.state == VA_PLAN_EMPTY, "op %ld: fini left the plan", opno);
	check_model(s);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_in in = { data, size };
	struct va_space s;
	size_t dropped = 0, count;

	npages = (uint64_t)16 << (fuzz_u8(&in) % 5);
	memset(model, 0, sizeof(model));
	alloc_budget = -1;
	live_allocs = 0;
	FUZZ_REQUIRE(va_space_init(&s, __builtin_ctzll(npages * PG), &t_ops, NULL) == 0,
		     "init");
	FUZZ_REQUIRE(s.va_limit == P(npages), "va_limit");

	for (long op = 0; op < MAX_OPS && fuzz_left(&in); op++) {
		uint8_t kind = fuzz_u8(&in) % 4, ctl = fuzz_u8(&in);
		struct mpage req = { 0 };
		uint64_t va, len;

		if (kind == 3) {
			uint64_t a = fuzz_u64(&in), b = fuzz_u64(&in);

			do_lookup(&s, (a & 1) ? a : a % (P(npages) + PG),
				  (b & 1) ? b : b % (P(npages) + PG));
			continue;
		}
		if (kind == 2) {
			bool map = fuzz_u8(&in) & 1;
			uint64_t rva = fuzz_u64(&in), rsize = fuzz_u64(&in);
			uint64_t roff = fuzz_u64(&in);

			req.flags = fuzz_u8(&in);
			req.obj = (ctl & 16) ? NULL : &objs[rva & 3];
			va = edge_value((uint8_t)(rva >> 3), rva, &s);
			len = edge_value((uint8_t)(rsize >> 3), rsize, &s);
			req.off = edge_value((uint8_t)(roff >> 3), roff, &s);
			do_request(&s, map, va, len, &req, ctl, op);
			continue;
		}
		va = P(fuzz_u16(&in) % (npages + 1));
		len = P(fuzz_u16(&in) % (npages + 2));
		req.obj = (ctl & 16) ? NULL : &objs[fuzz_u8(&in) & 3];
		req.off = P(fuzz_u16(&in));
		req.flags = fuzz_u8(&in);
		do_request(&s, kind == 0, va, len, &req, ctl, op);
	}

	count = va_space_count(&s);
	va_space_fini(&s, count_drop, &dropped);
	FUZZ_REQUIRE(dropped == count, "fini dropped %zu of %zu mappings", dropped, count);
	FUZZ_REQUIRE(live_allocs == 0 && s.mapped_bytes == 0 && va_space_count(&s) == 0,
		     "fini left %ld allocations", live_allocs);
	return 0;
}
