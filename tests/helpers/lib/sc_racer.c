// SPDX-License-Identifier: MIT
/*
 * The racer thread of stress_client (stress_common.h): per stripe, it
 * replaces, unmaps, moves and zaps the lanes' pages (MAP_FIXED private or
 * memfd, munmap + re-map, mremap out/in/shrink, madvise DONTNEED/FREE),
 * stamping each call on the logical clock. Before and after each op on a
 * write lane it scans the job tags there against those stamps; for a read
 * lane it records each page's generations for the submitters' checks.
 */
#include <inttypes.h>
#include <pthread.h>
#include <sched.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "tests/helpers/lib/stress_common.h"

/* ---- write lanes: the racer's scans -------------------------------------- */

/*
 * Page @pg of write lane @ln: every job tag in it must belong to a job
 * whose exec returned after @c_inval (the call that made this memory),
 * or, right after the call (SCAN_WINDOW/KEPT), it is counted as a write
 * that landed during the call, which the contract allows for a remap.
 */
void sc_scan_w(struct sc_stripe *s, struct sc_lane *ln, unsigned int pg, int mode,
		   uint64_t c_inval)
{
	const volatile uint32_t *p = (const volatile uint32_t *)(ln->addr + pg * PAGE);
	unsigned int window = 0;
	struct sc_rec r;

	sc_add(&sc_fig.scanned, 1);
	for (uint32_t i = 0; i < DW; i++) {
		uint32_t v = p[i];

		if (!sc_is_tag(v))
			continue;
		sc_add(&sc_fig.tags, 1);
		if (!sc_rec_get(v, &r)) {
			sc_add(&sc_fig.unknown, 1);
			continue;
		}
		if (r.r && r.ret)
			sc_finding(V_FAILED, "stripe %u lane %u page %u dword %u: tag %u, whose exec "
				"returned %d", s->idx, ln->idx, pg, i, v, r.ret);
		if (!r.r || r.r > c_inval)
			continue;
		if (mode == SCAN_CHECK || mode == SCAN_EXACT) {
			sc_finding(mode == SCAN_EXACT ? V_EXACT : V_LATE,
				"stripe %u lane %u page %u dword %u: tag %u (exec s=%" PRIu64
				" r=%" PRIu64 ") in memory made by the call at %" PRIu64 " (%s%s)",
				s->idx, ln->idx, pg, i, v, r.s, r.r, c_inval,
				mode == SCAN_CHECK ? "scan before " : "right after ", s->op);
			return;
		}
		window++;
	}
	if (window)
		sc_add(mode == SCAN_WINDOW ? &sc_fig.window : &sc_fig.kept, 1);
}

static void ver_bump(struct sc_lane *ln) { __atomic_add_fetch(&ln->ver, 1, __ATOMIC_SEQ_CST); }

/*
 * After an op on pages [p0, p0 + n): scan, refill with a fresh marker,
 * note the call that made this memory and (@newshm) what backs it now.
 * @oldshm: what backed each page before; a page the device reached
 * through a daemon mapping of a memfd has no window: exact.
 */
static void w_after(struct sc_stripe *s, struct sc_lane *ln, unsigned int p0, unsigned int n,
		    int mode, uint64_t c, const int64_t *oldshm, const int64_t *newshm)
{
	for (unsigned int i = p0; i < p0 + n; i++) {
		struct sc_page_st *pg = &ln->pg[i];

		bool host = oldshm[i] >= 0 && s->sealed;

		sc_scan_w(s, ln, i, mode == SCAN_WINDOW && host ? SCAN_EXACT : mode, c);
		sc_fill32(ln->addr + i * PAGE, MARK_BIT | (s->next_mark++ & 0x3fffffffu), PAGE);
		if (newshm)
			pg->shm = newshm[i - p0];
		pg->c_inval = c;
	}
}

/* The memory of [p0, p0 + n) left the range: poison what stays observable. */
static void w_retire(struct sc_stripe *s, struct sc_lane *ln, unsigned int p0, unsigned int n)
{
	for (unsigned int i = p0; i < p0 + n; i++) {
		sc_retire(s, ln->pg[i].shm, -1);
		ln->pg[i].shm = -1;
	}
}

/* New memory for [a, a + n pages): one private mapping, or memfd pages. */
static bool refill(struct sc_stripe *s, uint8_t *a, unsigned int n, bool shm, int64_t *out)
{
	if (!shm) {
		for (unsigned int i = 0; i < n; i++)
			out[i] = -1;
		return sc_map_fixed(a, n * PAGE, -1, -1, true);
	}
	for (unsigned int i = 0; i < n; i++) {
		out[i] = sc_shm_alloc(s);
		if (out[i] < 0 || !sc_map_fixed(a + i * PAGE, PAGE, out[i], s->memfd, true))
			return false;
	}
	return true;
}

static void yield_some(uint32_t *seed)
{
	for (uint32_t i = sc_rnd(seed) % 8; i; i--)
		sched_yield();
}

/* A page of new content at stage slot, then moved over @a: returns its memfd offset. */
static bool stage_move(struct sc_stripe *s, uint8_t *a, bool shm, uint32_t g, int64_t *off,
		       uint64_t *c, uint64_t *d, void (*before)(void *), void *arg)
{
	*off = shm ? sc_shm_alloc(s) : -1;
	if (shm && *off < 0)
		return false;
	if (!sc_map_fixed(s->stage, PAGE, *off, s->memfd, false)) {
		sc_harness_fail("map stage");
		return false;
	}
	if (g)
		sc_fill_gen((uint32_t *)s->stage, g);
	else
		sc_fill32(s->stage, MARK_BIT | (s->next_mark++ & 0x3fffffffu), PAGE);
	if (before)
		before(arg);
	*c = sc_tick();
	if (mremap(s->stage, PAGE, PAGE, MREMAP_MAYMOVE | MREMAP_FIXED, a) != a) {
		sc_harness_fail("mremap stage in");
		return false;
	}
	*d = sc_tick();
	if (!sc_reserve(s->stage, PAGE))
		sc_harness_fail("re-reserve stage");
	return true;
}

static unsigned int pick_w_op(struct sc_stripe *s, struct sc_lane *ln, unsigned int *p0,
			      unsigned int *n)
{
	static const unsigned int mixed[] = { OP_FIXED_ANON, OP_FIXED_SHM, OP_HOLE, OP_DONTNEED,
					      OP_FREE, OP_OUT, OP_IN, OP_SHRINK };
	static const unsigned int shm[] = { OP_FIXED_SHM, OP_HOLE, OP_DONTNEED, OP_OUT, OP_IN,
					    OP_SHRINK };
	unsigned int op = s->shm_only ? shm[sc_rnd(&s->rnd) % 6] : mixed[sc_rnd(&s->rnd) % 8];

	*p0 = 0;
	*n = LP;
	if (op == OP_FIXED_SHM || op == OP_OUT || op == OP_IN || (sc_rnd(&s->rnd) & 1)) {
		*p0 = sc_rnd(&s->rnd) % LP;
		*n = 1;
	}
	if (op == OP_SHRINK) {
		*p0 = LP - 1;
		*n = 1;
	}
	for (unsigned int i = *p0; op == OP_FREE && i < *p0 + *n; i++)
		if (ln->pg[i].shm >= 0)
			op = OP_DONTNEED;	/* MADV_FREE is for private memory */
	return op;
}

static void op_w(struct sc_stripe *s, struct sc_lane *ln)
{
	unsigned int p0, n, op = pick_w_op(s, ln, &p0, &n);
	uint8_t *a = ln->addr + p0 * PAGE;
	int64_t old[LP], shm[LP], off;
	bool to_shm = s->shm_only || (sc_rnd(&s->rnd) & 1);
	uint64_t c, c2, d;
	int park;

	for (unsigned int i = 0; i < LP; i++)
		old[i] = ln->pg[i].shm;
	s->op = sc_opname[op];
	for (unsigned int i = p0; i < p0 + n; i++)
		sc_scan_w(s, ln, i, SCAN_CHECK, ln->pg[i].c_inval);
	ver_bump(ln);
	switch (op) {
	case OP_FIXED_ANON:
	case OP_FIXED_SHM:
		off = op == OP_FIXED_SHM ? sc_shm_alloc(s) : -1;
		if (op == OP_FIXED_SHM && off < 0)
			goto out;
		for (unsigned int i = 0; i < n; i++)
			shm[i] = -1;
		shm[0] = off;
		c = sc_tick();
		if (!sc_map_fixed(a, n * PAGE, off, s->memfd, false))
			return sc_harness_fail("mmap MAP_FIXED over a lane");
		w_retire(s, ln, p0, n);
		w_after(s, ln, p0, n, SCAN_WINDOW, c, old, shm);
		break;
	case OP_HOLE:
	case OP_SHRINK:
		if (op == OP_HOLE ? munmap(a, n * PAGE) :
		    mremap(ln->addr, LP * PAGE, (LP - 1) * PAGE, 0) != ln->addr)
			return sc_harness_fail(op == OP_HOLE ? "munmap a lane" : "mremap shrink");
		w_retire(s, ln, p0, n);
		yield_some(&s->rnd);
		c2 = sc_tick();
		if (!refill(s, a, n, to_shm, shm))
			return sc_harness_fail("re-map a hole");
		/* Nothing committed before the re-map can reach it: exact. */
		w_after(s, ln, p0, n, SCAN_EXACT, c2, old, shm);
		break;
	case OP_DONTNEED:
	case OP_FREE:
		c = sc_tick();
		if (madvise(a, n * PAGE, op == OP_FREE ? MADV_FREE : MADV_DONTNEED))
			return sc_harness_fail("madvise");
		/* Private DONTNEED (REMOVE) is exact; memfd keeps its pages, FREE may. */
		for (unsigned int i = p0; i < p0 + n; i++)
			w_after(s, ln, i, 1, op == OP_DONTNEED && old[i] < 0 ? SCAN_EXACT :
				SCAN_KEPT, c, old, NULL);
		break;
	case OP_OUT:
		park = sc_park_get(s);
		if (park < 0)
			goto out;
		if (mremap(a, PAGE, PAGE, MREMAP_MAYMOVE | MREMAP_FIXED, sc_park_addr(s, park)) !=
		    sc_park_addr(s, park))
			return sc_harness_fail("mremap out");
		sc_retire(s, old[p0], park);
		ln->pg[p0].shm = -1;
		yield_some(&s->rnd);
		c2 = sc_tick();
		if (!refill(s, a, 1, to_shm, shm))
			return sc_harness_fail("re-map after mremap out");
		w_after(s, ln, p0, 1, SCAN_EXACT, c2, old, shm);
		break;
	case OP_IN:
		if (!stage_move(s, a, to_shm, 0, &off, &c, &d, NULL, NULL))
			goto out;
		w_retire(s, ln, p0, 1);
		w_after(s, ln, p0, 1, SCAN_WINDOW, c, old, &off);
		break;
	}
	sc_add(&sc_fig.ops[op], 1);
out:
	ver_bump(ln);
}

/* ---- read lanes: generations ---------------------------------------------- */

/* Start generation @e of page @pg (s->lock): the current one ends later. */
static unsigned int hist_push(struct sc_stripe *s, struct sc_page_st *pg, struct sc_hent e)
{
	unsigned int i;

	pthread_mutex_lock(&s->lock);
	e.ci = sc_tick();
	if (!e.c_inval)
		e.c_inval = e.ci;
	e.dr = UINT64_MAX;
	i = pg->hn++;
	pg->h[i % HIST] = e;
	pthread_mutex_unlock(&s->lock);
	return i;
}

static void hist_end(struct sc_stripe *s, struct sc_page_st *pg, unsigned int i, uint64_t d)
{
	pthread_mutex_lock(&s->lock);
	if (pg->hn > i && pg->hn - i <= HIST)
		pg->h[i % HIST].dr = d;
	pthread_mutex_unlock(&s->lock);
}

struct sc_in_arg {
	struct sc_stripe *s;
	struct sc_page_st *pg;
	uint32_t g;
	bool exact;
	uint64_t c_inval;
	unsigned int idx;
};

static void in_push(void *arg)
{
	struct sc_in_arg *ia = arg;

	ia->idx = hist_push(ia->s, ia->pg, (struct sc_hent){ .g = ia->g, .kind = H_GEN,
						  .exact = ia->exact, .c_inval = ia->c_inval });
}

/* Page @pg is a hole since the call at @c: fill it with a new generation. */
static void r_refill(struct sc_stripe *s, struct sc_lane *ln, unsigned int p, bool to_shm)
{
	struct sc_page_st *pg = &ln->pg[p];
	uint8_t *a = ln->addr + p * PAGE;
	struct sc_in_arg ia = { .s = s, .pg = pg, .g = ++s->next_gen, .exact = true };
	int64_t off;
	uint64_t c, d;

	if (to_shm) {
		off = sc_shm_alloc(s);
		if (off < 0)
			return sc_harness_fail("no memfd page left");
		sc_fill_gen(s->tmp, ia.g);
		if (pwrite(s->memfd, s->tmp, PAGE, off) != PAGE)
			return sc_harness_fail("pwrite generation");
		in_push(&ia);
		if (!sc_map_fixed(a, PAGE, off, s->memfd, true))
			return sc_harness_fail("map a generation into a hole");
		d = sc_tick();
	} else if (!stage_move(s, a, false, ia.g, &off, &c, &d, in_push, &ia)) {
		return;
	}
	hist_end(s, pg, ia.idx - 1, d);		/* the hole */
	pg->shm = off;
}

static void op_r(struct sc_stripe *s, struct sc_lane *ln)
{
	unsigned int p = sc_rnd(&s->rnd) % LP, op = sc_rnd(&s->rnd) % 5, i = 0;
	struct sc_page_st *pg = &ln->pg[p];
	uint8_t *a = ln->addr + p * PAGE;
	bool to_shm = s->shm_only || (sc_rnd(&s->rnd) & 1);
	/* Memory the daemon mapped itself: no job committed before sees the new. */
	struct sc_in_arg ia = { .s = s, .pg = pg, .exact = pg->shm >= 0 && s->sealed };
	int64_t off, old = pg->shm;
	uint64_t c, d;
	int park;

	ver_bump(ln);
	switch (op) {
	case 0:	/* OP_FIXED_SHM: a memfd page that already holds the generation */
		ia.g = ++s->next_gen;
		off = sc_shm_alloc(s);
		if (off < 0)
			break;
		sc_fill_gen(s->tmp, ia.g);
		if (pwrite(s->memfd, s->tmp, PAGE, off) != PAGE)
			return sc_harness_fail("pwrite generation");
		in_push(&ia);
		if (!sc_map_fixed(a, PAGE, off, s->memfd, false))
			return sc_harness_fail("mmap MAP_FIXED memfd over a read page");
		hist_end(s, pg, ia.idx - 1, sc_tick());
		sc_retire(s, old, -1);
		pg->shm = off;
		sc_add(&sc_fig.ops[OP_FIXED_SHM], 1);
		break;
	case 1:	/* OP_IN: a prepared page moved over it */
		ia.g = ++s->next_gen;
		if (!stage_move(s, a, to_shm, ia.g, &off, &c, &d, in_push, &ia))
			break;
		hist_end(s, pg, ia.idx - 1, d);
		sc_retire(s, old, -1);
		pg->shm = off;
		sc_add(&sc_fig.ops[OP_IN], 1);
		break;
	case 2:	/* OP_DONTNEED: private pages read as zero, exactly */
		if (old < 0)
			i = hist_push(s, pg, (struct sc_hent){ .kind = H_ZERO, .exact = true });
		if (madvise(a, PAGE, MADV_DONTNEED))
			return sc_harness_fail("madvise read page");
		if (old < 0)
			hist_end(s, pg, i - 1, sc_tick());
		sc_add(&sc_fig.ops[OP_DONTNEED], 1);
		break;
	case 3:	/* OP_HOLE */
	case 4:	/* OP_OUT */
		park = op == 4 ? sc_park_get(s) : -1;
		if (op == 4 && park < 0)
			break;
		i = hist_push(s, pg, (struct sc_hent){ .kind = H_HOLE });
		if (op == 3 ? munmap(a, PAGE) :
		    mremap(a, PAGE, PAGE, MREMAP_MAYMOVE | MREMAP_FIXED, sc_park_addr(s, park)) !=
		    sc_park_addr(s, park))
			return sc_harness_fail(op == 3 ? "munmap read page" : "mremap read page out");
		hist_end(s, pg, i - 1, sc_tick());
		if (op == 3)
			sc_retire(s, old, -1);
		else
			sc_retire(s, old, park);
		pg->shm = -1;
		yield_some(&s->rnd);
		r_refill(s, ln, p, to_shm);
		sc_add(&sc_fig.ops[op == 3 ? OP_HOLE : OP_OUT], 1);
		break;
	}
	ver_bump(ln);
}

void *sc_racer_main(void *arg)
{
	struct sc_stripe *s = arg;
	unsigned int n = 0;

	sc_wait_start();
	while (!sc_stopped()) {
		struct sc_lane *ln = &s->ln[sc_rnd(&s->rnd) % NL];

		if (ln->rd)
			op_r(s, ln);
		else
			op_w(s, ln);
		if (++n % 64 == 0)
			sc_check_guards(s);
		if (sc_rnd(&s->rnd) % 2 == 0) {
			struct timespec t = { 0, (long)(sc_rnd(&s->rnd) % 400) * 1000 };

			nanosleep(&t, NULL);
		}
	}
	return NULL;
}
