// SPDX-License-Identifier: MIT
/*
 * stress_client: the race storm's client process (tests/stress/race_stress.c
 * runs it; RELIABILITY.md states what it proves). Usage:
 * `stress_client <device> <seconds> <seed>`. Three stripes, each a client
 * (one open) with one VM whose userptr lanes live in this process: a racer
 * thread replaces, unmaps, moves and zaps the lanes' pages (MAP_FIXED
 * private or memfd, munmap + re-map, mremap out/in/shrink, madvise
 * DONTNEED/FREE) while two submitter threads store into write lanes and
 * copy and checksum read lanes. The last stripe maps only memfd memory,
 * so its VM has no DMA port and the device reaches it through daemon
 * mappings only. Every write carries its job's tag, every read-lane page
 * carries a generation number in every dword, and every job and mm call
 * is stamped on one logical clock (before the call, after it returns):
 * the checks below compare tags and generations against those stamps, so
 * nothing depends on timing. Prints `ok <check>` / `not ok <check>:
 * detail`, `# figure <name> <value>` lines, exits 1 on any failure.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include "libclient/ugpu.h"
#include "uapi/ugpu.h"

#ifndef MAP_FIXED_NOREPLACE
#define MAP_FIXED_NOREPLACE 0x100000
#endif

#define PAGE		4096u
#define DW		(PAGE / 4)
#define LP		4u		/* pages per lane */
#define NW		3u		/* write lanes: 0 bulk, the others by column */
#define NR		2u		/* read lanes */
#define NL		(NW + NR)
#define NSUB		2u		/* submitters per stripe */
#define NSTRIPE		3u		/* the last one: memfd memory only */
#define COL_DW		(DW / 4)	/* a submitter's column of each page */
#define REPS		8u		/* FILL rounds of a column job */
#define NPARK		32u		/* pages moved out by mremap, kept to check */
#define NRET		64u		/* retired pages checked later */
#define SHM_PAGES	256u
#define HIST		32u		/* generations kept per read page */
#define RING		(1u << 20)	/* job records */
#define WAIT_NS		(60ll * 1000000000ll)
#define NOTE_MAX	3		/* details printed per kind of finding */

/* Host area of a submitter: batch (2 pages), result (LP), stamp (1). */
#define SUB_PAGES	(2u + LP + 1u)
#define HOST_PAGES	(NSUB * SUB_PAGES)
#define VA_HOST		0x100000ull
#define VA_LANE(l)	(0x10000000ull + (uint64_t)(l) * 0x100000ull)
/* Region of a stripe: guard, lane, guard, ..., lane, guard, park, stage. */
#define REGION_PAGES	(1u + NL * (LP + 1u) + NPARK + 1u)

/* What a dword holds: its top two bits say whose it is. */
#define TAG_MAX		0x3fffffffu	/* 1..TAG_MAX: a job's tag */
#define R_BIT		0x40000000u	/* a read page's generation content */
#define MARK_BIT	0x80000000u	/* the racer's fill of a new page */
#define POISON_BIT	0xc0000000u	/* memory that left the range */
#define UNWRITTEN	0xeeeeeeeeu	/* result not written by the job */
#define GUARD		0xa5a5a5a5u

static inline bool is_tag(uint32_t v) { return v && v <= TAG_MAX; }
static inline uint32_t r_val(uint32_t g, uint32_t i) { return R_BIT | (g & 0xfffffu) << 10 | i; }

enum { V_EXEC, V_WAIT, V_EXACT, V_LATE, V_OLDMEM, V_READ, V_CRC, V_LANDING, V_FAILED,
       V_GUARD, V_STAMP, V_CLEAN, V_HARNESS, NV };
static const char *const vname[NV] = {
	"exec-status", "job-status", "exact-late-write", "late-write", "old-memory-write",
	"read-origin", "checksum", "landing", "failed-exec-wrote", "guard", "stamp",
	"clean-after-storm", "harness",
};
static const char *const vwhat[NV] = {
	"every exec returned 0 or -EFAULT",
	"every job ended 0 or -EFAULT",
	"no job committed before an exact invalidation wrote the memory after it",
	"no job committed before a remap wrote the new memory after the call returned",
	"memory that left a bound range was never written after the call returned",
	"every dword a job read was the page's content at some point of the job's life",
	"every completed checksum matches page contents of the job's life",
	"every completed job's writes landed (no op during its life)",
	"a job whose exec failed wrote nothing",
	"memory around the lanes was never written",
	"completed jobs ran to their end, faulted ones did not",
	"a clean job after the storm completes with the right data",
	"the racer's own mm calls worked",
};

enum { OP_FIXED_ANON, OP_FIXED_SHM, OP_HOLE, OP_DONTNEED, OP_FREE, OP_OUT, OP_IN,
       OP_SHRINK, NOPS };
static const char *const opname[NOPS] = {
	"mmap_fixed_private", "mmap_fixed_memfd", "munmap_remap", "madv_dontneed",
	"madv_free", "mremap_out", "mremap_in", "mremap_shrink",
};

/* ---- figures and findings ------------------------------------------------ */

static struct {
	uint64_t jobs, exec_ok, exec_fault, job_ok, job_fault, bulk, column, reads;
	uint64_t ops[NOPS], window, kept, scanned, tags, unknown;
	uint64_t reads_checked, read_unknown, crc_checked, crc_unchecked;
	uint64_t landed, landing_skipped, retired;
	uint64_t viol[NV];
} F;

static int fatal;		/* stop the storm: state no longer trusted */
static int stop;

static void add(uint64_t *c, uint64_t n) { __atomic_add_fetch(c, n, __ATOMIC_RELAXED); }
static uint64_t get(const uint64_t *c) { return __atomic_load_n(c, __ATOMIC_RELAXED); }

static void finding(int v, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void finding(int v, const char *fmt, ...)
{
	char buf[512];
	va_list ap;

	if (__atomic_add_fetch(&F.viol[v], 1, __ATOMIC_RELAXED) > NOTE_MAX)
		return;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	printf("# %s: %s\n", vname[v], buf);
}

static void harness_fail(const char *what)
{
	finding(V_HARNESS, "%s: %s", what, strerror(errno));
	__atomic_store_n(&fatal, 1, __ATOMIC_RELEASE);
	__atomic_store_n(&stop, 1, __ATOMIC_RELEASE);
}

static bool stopped(void) { return __atomic_load_n(&stop, __ATOMIC_ACQUIRE); }

/* ---- the logical clock and the job records -------------------------------- */

static uint64_t clk;
static uint32_t last_tag;

static uint64_t tick(void) { return __atomic_add_fetch(&clk, 1, __ATOMIC_SEQ_CST); }

/* One job: s before its exec call, r after it returned (0: not yet). */
struct rec {
	uint32_t tag;		/* seqlock: 0 while being rewritten */
	int32_t ret;		/* the exec's result */
	uint64_t s, r;
};
static struct rec *ring;

static void rec_begin(uint32_t j, uint64_t s)
{
	struct rec *e = &ring[j % RING];

	__atomic_store_n(&e->tag, 0, __ATOMIC_RELAXED);
	__atomic_thread_fence(__ATOMIC_RELEASE);
	__atomic_store_n(&e->s, s, __ATOMIC_RELAXED);
	__atomic_store_n(&e->r, 0, __ATOMIC_RELAXED);
	__atomic_store_n(&e->ret, 0, __ATOMIC_RELAXED);
	__atomic_store_n(&e->tag, j, __ATOMIC_RELEASE);
}

static void rec_end(uint32_t j, uint64_t r, int ret)
{
	struct rec *e = &ring[j % RING];

	__atomic_store_n(&e->ret, ret, __ATOMIC_RELAXED);
	__atomic_store_n(&e->r, r, __ATOMIC_RELEASE);
}

/* The record of tag @j, if still kept. r == 0: its exec has not returned. */
static bool rec_get(uint32_t j, struct rec *out)
{
	struct rec *e = &ring[j % RING];
	uint32_t t1 = __atomic_load_n(&e->tag, __ATOMIC_ACQUIRE);

	out->r = __atomic_load_n(&e->r, __ATOMIC_ACQUIRE);
	out->s = __atomic_load_n(&e->s, __ATOMIC_RELAXED);
	out->ret = __atomic_load_n(&e->ret, __ATOMIC_RELAXED);
	__atomic_thread_fence(__ATOMIC_ACQUIRE);
	return t1 == j && __atomic_load_n(&e->tag, __ATOMIC_RELAXED) == j;
}

/* ---- CRC32C (the device's CHECKSUM), slicing by 8 ------------------------- */

static uint32_t crc_tab[8][256];

static void crc_init(void)
{
	for (uint32_t i = 0; i < 256; i++) {
		uint32_t c = i;

		for (int k = 0; k < 8; k++)
			c = c & 1 ? (c >> 1) ^ 0x82f63b78u : c >> 1;
		crc_tab[0][i] = c;
	}
	for (uint32_t i = 0; i < 256; i++)
		for (int t = 1; t < 8; t++)
			crc_tab[t][i] = (crc_tab[t - 1][i] >> 8) ^ crc_tab[0][crc_tab[t - 1][i] & 0xff];
}

/* Raw state in and out: start with ~0, the CRC is the final state ^ ~0. */
static uint32_t crc_update(uint32_t c, const void *buf, size_t n)
{
	const uint8_t *p = buf;

	for (; n >= 8; p += 8, n -= 8) {
		uint64_t v;

		memcpy(&v, p, 8);
		v ^= c;
		c = crc_tab[7][v & 0xff] ^ crc_tab[6][(v >> 8) & 0xff] ^
		    crc_tab[5][(v >> 16) & 0xff] ^ crc_tab[4][(v >> 24) & 0xff] ^
		    crc_tab[3][(v >> 32) & 0xff] ^ crc_tab[2][(v >> 40) & 0xff] ^
		    crc_tab[1][(v >> 48) & 0xff] ^ crc_tab[0][v >> 56];
	}
	while (n--)
		c = (c >> 8) ^ crc_tab[0][(c ^ *p++) & 0xff];
	return c;
}

/* ---- stripes: lanes, generations, retired memory -------------------------- */

enum { H_GEN, H_ZERO, H_HOLE };

/* One generation of a read page: what it held from call ci to call end dr. */
struct hent {
	uint32_t g;
	uint8_t kind;		/* H_* */
	bool exact;		/* jobs committed before c_inval never see it */
	uint64_t ci, c_inval, dr;	/* dr: UINT64_MAX while current */
};

struct page_st {
	int64_t shm;		/* memfd offset backing it, or -1: private */
	uint64_t c_inval;	/* write page: call start of the op that made it */
	struct hent h[HIST];	/* read page: s->lock */
	uint32_t hn;
};

struct lane {
	bool rd;
	unsigned int idx;
	uint8_t *addr;
	uint32_t ver;		/* odd while the racer changes the lane */
	struct page_st pg[LP];
};

struct retired {
	int64_t shm;		/* memfd offset, or -1 */
	int park;		/* park slot holding it, or -1 */
	uint32_t poison;
};

struct stripe {
	unsigned int idx;
	bool shm_only;		/* memfd memory only: the VM has no DMA port */
	bool sealed;		/* memfd sealed: the daemon maps it (zero copy) */
	const char *op;		/* the racer's current op, for findings */
	struct ugpu *dev;
	uint32_t vm;
	unsigned int engines;
	uint8_t *host, *region, *park, *stage;
	struct lane ln[NL];
	int memfd;
	int64_t freeoff[SHM_PAGES];
	unsigned int nfree;
	struct retired ret[NRET];
	unsigned int rhead, rcount;
	bool park_used[NPARK];
	pthread_mutex_t lock;	/* the read pages' generations */
	uint32_t next_gen, next_mark, rnd;
	uint32_t tmp[DW];	/* racer scratch page */
};

static struct stripe S[NSTRIPE];

static uint32_t rnd(uint32_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 17;
	*s ^= *s << 5;
	return *s;
}

static uint8_t *lane_addr(struct stripe *s, unsigned int l)
{
	return s->region + (1 + (size_t)l * (LP + 1)) * PAGE;
}

static uint8_t *park_addr(struct stripe *s, int k) { return s->park + (size_t)k * PAGE; }

static void fill32(void *p, uint32_t v, size_t bytes)
{
	uint32_t *d = p;

	for (size_t i = 0; i < bytes / 4; i++)
		d[i] = v;
}

static void fill_gen(uint32_t *p, uint32_t g)
{
	for (uint32_t i = 0; i < DW; i++)
		p[i] = r_val(g, i);
}

static int64_t shm_alloc(struct stripe *s)
{
	return s->nfree ? s->freeoff[--s->nfree] : -1;
}

static void shm_free(struct stripe *s, int64_t off)
{
	if (off >= 0)
		s->freeoff[s->nfree++] = off;
}

static bool map_fixed(void *a, size_t len, int64_t shm, int fd, bool noreplace)
{
	int fl = (noreplace ? MAP_FIXED_NOREPLACE : MAP_FIXED) |
		 (shm >= 0 ? MAP_SHARED : MAP_PRIVATE | MAP_ANONYMOUS);
	void *p = mmap(a, len, PROT_READ | PROT_WRITE, fl, shm >= 0 ? fd : -1,
		       shm >= 0 ? (off_t)shm : 0);

	if (p != MAP_FAILED && p != a) {
		munmap(p, len);
		errno = EEXIST;
		return false;
	}
	return p != MAP_FAILED;
}

static bool reserve(void *a, size_t len)
{
	return mmap(a, len, PROT_NONE, MAP_FIXED | MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE,
		    -1, 0) == a;
}

/* ---- retired memory: poisoned after it left, checked later ---------------- */

/* Is the retired page still all poison? Return -1 (harness), 0 (dirty), 1. */
static int retired_check(struct stripe *s, const struct retired *r)
{
	const uint32_t *p = s->tmp;

	if (r->park >= 0)
		p = (const uint32_t *)park_addr(s, r->park);
	else if (pread(s->memfd, s->tmp, PAGE, r->shm) != PAGE)
		return -1;
	for (uint32_t i = 0; i < DW; i++) {
		if (p[i] != r->poison) {
			finding(V_OLDMEM, "stripe %u: %s page %" PRId64 "/park %d dword %u is %#x "
				"(%s), poisoned with %#x after the call that removed it returned",
				s->idx, r->shm >= 0 ? "memfd" : "private", r->shm, r->park, i, p[i],
				is_tag(p[i]) ? "a job's tag" : "not a tag", r->poison);
			return 0;
		}
	}
	add(&F.retired, 1);
	return 1;
}

static void retired_pop(struct stripe *s)
{
	struct retired *r = &s->ret[s->rhead];
	int clean = retired_check(s, r);

	if (clean < 0)
		harness_fail("pread memfd");
	if (r->park >= 0) {
		if (!reserve(park_addr(s, r->park), PAGE))
			harness_fail("re-reserve park slot");
		s->park_used[r->park] = false;
	}
	/* A page something wrote late is not used again: one report per write. */
	if (clean > 0)
		shm_free(s, r->shm);
	s->rhead = (s->rhead + 1) % NRET;
	s->rcount--;
}

/* Page [shm or park] left the range: poison it now, check it later. */
static void retire(struct stripe *s, int64_t shm, int park)
{
	struct retired *r;
	uint32_t poison = POISON_BIT | (s->next_mark++ & 0x3fffffffu);

	if (shm < 0 && park < 0)
		return;		/* private memory that is gone */
	if (s->rcount == NRET)
		retired_pop(s);
	if (park >= 0) {
		fill32(park_addr(s, park), poison, PAGE);
	} else {
		fill32(s->tmp, poison, PAGE);
		if (pwrite(s->memfd, s->tmp, PAGE, shm) != PAGE)
			harness_fail("pwrite poison");
	}
	r = &s->ret[(s->rhead + s->rcount++) % NRET];
	*r = (struct retired){ .shm = shm, .park = park, .poison = poison };
}

static int park_get(struct stripe *s)
{
	for (;;) {
		for (int k = 0; k < (int)NPARK; k++)
			if (!s->park_used[k]) {
				s->park_used[k] = true;
				return k;
			}
		if (!s->rcount)
			return -1;
		retired_pop(s);
	}
}

/* ---- write lanes: the racer's scans -------------------------------------- */

enum { SCAN_CHECK, SCAN_EXACT, SCAN_WINDOW, SCAN_KEPT };

/*
 * Page @pg of write lane @ln: every job tag in it must belong to a job
 * whose exec returned after @c_inval (the call that made this memory),
 * or, right after the call (SCAN_WINDOW/KEPT), it is counted as a write
 * that landed during the call, which the contract allows for a remap.
 */
static void scan_w(struct stripe *s, struct lane *ln, unsigned int pg, int mode,
		   uint64_t c_inval)
{
	const volatile uint32_t *p = (const volatile uint32_t *)(ln->addr + pg * PAGE);
	unsigned int window = 0;
	struct rec r;

	add(&F.scanned, 1);
	for (uint32_t i = 0; i < DW; i++) {
		uint32_t v = p[i];

		if (!is_tag(v))
			continue;
		add(&F.tags, 1);
		if (!rec_get(v, &r)) {
			add(&F.unknown, 1);
			continue;
		}
		if (r.r && r.ret)
			finding(V_FAILED, "stripe %u lane %u page %u dword %u: tag %u, whose exec "
				"returned %d", s->idx, ln->idx, pg, i, v, r.ret);
		if (!r.r || r.r > c_inval)
			continue;
		if (mode == SCAN_CHECK || mode == SCAN_EXACT) {
			finding(mode == SCAN_EXACT ? V_EXACT : V_LATE,
				"stripe %u lane %u page %u dword %u: tag %u (exec s=%" PRIu64
				" r=%" PRIu64 ") in memory made by the call at %" PRIu64 " (%s%s)",
				s->idx, ln->idx, pg, i, v, r.s, r.r, c_inval,
				mode == SCAN_CHECK ? "scan before " : "right after ", s->op);
			return;
		}
		window++;
	}
	if (window)
		add(mode == SCAN_WINDOW ? &F.window : &F.kept, 1);
}

static void ver_bump(struct lane *ln) { __atomic_add_fetch(&ln->ver, 1, __ATOMIC_SEQ_CST); }

/*
 * After an op on pages [p0, p0 + n): scan, refill with a fresh marker,
 * note the call that made this memory and (@newshm) what backs it now.
 * @oldshm: what backed each page before; a page the device reached
 * through a daemon mapping of a memfd has no window: exact.
 */
static void w_after(struct stripe *s, struct lane *ln, unsigned int p0, unsigned int n,
		    int mode, uint64_t c, const int64_t *oldshm, const int64_t *newshm)
{
	for (unsigned int i = p0; i < p0 + n; i++) {
		struct page_st *pg = &ln->pg[i];

		bool host = oldshm[i] >= 0 && s->sealed;

		scan_w(s, ln, i, mode == SCAN_WINDOW && host ? SCAN_EXACT : mode, c);
		fill32(ln->addr + i * PAGE, MARK_BIT | (s->next_mark++ & 0x3fffffffu), PAGE);
		if (newshm)
			pg->shm = newshm[i - p0];
		pg->c_inval = c;
	}
}

/* The memory of [p0, p0 + n) left the range: poison what stays observable. */
static void w_retire(struct stripe *s, struct lane *ln, unsigned int p0, unsigned int n)
{
	for (unsigned int i = p0; i < p0 + n; i++) {
		retire(s, ln->pg[i].shm, -1);
		ln->pg[i].shm = -1;
	}
}

/* New memory for [a, a + n pages): one private mapping, or memfd pages. */
static bool refill(struct stripe *s, uint8_t *a, unsigned int n, bool shm, int64_t *out)
{
	if (!shm) {
		for (unsigned int i = 0; i < n; i++)
			out[i] = -1;
		return map_fixed(a, n * PAGE, -1, -1, true);
	}
	for (unsigned int i = 0; i < n; i++) {
		out[i] = shm_alloc(s);
		if (out[i] < 0 || !map_fixed(a + i * PAGE, PAGE, out[i], s->memfd, true))
			return false;
	}
	return true;
}

static void yield_some(uint32_t *seed)
{
	for (uint32_t i = rnd(seed) % 8; i; i--)
		sched_yield();
}

/* A page of new content at stage slot, then moved over @a: returns its memfd offset. */
static bool stage_move(struct stripe *s, uint8_t *a, bool shm, uint32_t g, int64_t *off,
		       uint64_t *c, uint64_t *d, void (*before)(void *), void *arg)
{
	*off = shm ? shm_alloc(s) : -1;
	if (shm && *off < 0)
		return false;
	if (!map_fixed(s->stage, PAGE, *off, s->memfd, false)) {
		harness_fail("map stage");
		return false;
	}
	if (g)
		fill_gen((uint32_t *)s->stage, g);
	else
		fill32(s->stage, MARK_BIT | (s->next_mark++ & 0x3fffffffu), PAGE);
	if (before)
		before(arg);
	*c = tick();
	if (mremap(s->stage, PAGE, PAGE, MREMAP_MAYMOVE | MREMAP_FIXED, a) != a) {
		harness_fail("mremap stage in");
		return false;
	}
	*d = tick();
	if (!reserve(s->stage, PAGE))
		harness_fail("re-reserve stage");
	return true;
}

static unsigned int pick_w_op(struct stripe *s, struct lane *ln, unsigned int *p0,
			      unsigned int *n)
{
	static const unsigned int mixed[] = { OP_FIXED_ANON, OP_FIXED_SHM, OP_HOLE, OP_DONTNEED,
					      OP_FREE, OP_OUT, OP_IN, OP_SHRINK };
	static const unsigned int shm[] = { OP_FIXED_SHM, OP_HOLE, OP_DONTNEED, OP_OUT, OP_IN,
					    OP_SHRINK };
	unsigned int op = s->shm_only ? shm[rnd(&s->rnd) % 6] : mixed[rnd(&s->rnd) % 8];

	*p0 = 0;
	*n = LP;
	if (op == OP_FIXED_SHM || op == OP_OUT || op == OP_IN || (rnd(&s->rnd) & 1)) {
		*p0 = rnd(&s->rnd) % LP;
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

static void op_w(struct stripe *s, struct lane *ln)
{
	unsigned int p0, n, op = pick_w_op(s, ln, &p0, &n);
	uint8_t *a = ln->addr + p0 * PAGE;
	int64_t old[LP], shm[LP], off;
	bool to_shm = s->shm_only || (rnd(&s->rnd) & 1);
	uint64_t c, c2, d;
	int park;

	for (unsigned int i = 0; i < LP; i++)
		old[i] = ln->pg[i].shm;
	s->op = opname[op];
	for (unsigned int i = p0; i < p0 + n; i++)
		scan_w(s, ln, i, SCAN_CHECK, ln->pg[i].c_inval);
	ver_bump(ln);
	switch (op) {
	case OP_FIXED_ANON:
	case OP_FIXED_SHM:
		off = op == OP_FIXED_SHM ? shm_alloc(s) : -1;
		if (op == OP_FIXED_SHM && off < 0)
			goto out;
		for (unsigned int i = 0; i < n; i++)
			shm[i] = -1;
		shm[0] = off;
		c = tick();
		if (!map_fixed(a, n * PAGE, off, s->memfd, false))
			return harness_fail("mmap MAP_FIXED over a lane");
		w_retire(s, ln, p0, n);
		w_after(s, ln, p0, n, SCAN_WINDOW, c, old, shm);
		break;
	case OP_HOLE:
	case OP_SHRINK:
		if (op == OP_HOLE ? munmap(a, n * PAGE) :
		    mremap(ln->addr, LP * PAGE, (LP - 1) * PAGE, 0) != ln->addr)
			return harness_fail(op == OP_HOLE ? "munmap a lane" : "mremap shrink");
		w_retire(s, ln, p0, n);
		yield_some(&s->rnd);
		c2 = tick();
		if (!refill(s, a, n, to_shm, shm))
			return harness_fail("re-map a hole");
		/* Nothing committed before the re-map can reach it: exact. */
		w_after(s, ln, p0, n, SCAN_EXACT, c2, old, shm);
		break;
	case OP_DONTNEED:
	case OP_FREE:
		c = tick();
		if (madvise(a, n * PAGE, op == OP_FREE ? MADV_FREE : MADV_DONTNEED))
			return harness_fail("madvise");
		/* Private DONTNEED (REMOVE) is exact; memfd keeps its pages, FREE may. */
		for (unsigned int i = p0; i < p0 + n; i++)
			w_after(s, ln, i, 1, op == OP_DONTNEED && old[i] < 0 ? SCAN_EXACT :
				SCAN_KEPT, c, old, NULL);
		break;
	case OP_OUT:
		park = park_get(s);
		if (park < 0)
			goto out;
		if (mremap(a, PAGE, PAGE, MREMAP_MAYMOVE | MREMAP_FIXED, park_addr(s, park)) !=
		    park_addr(s, park))
			return harness_fail("mremap out");
		retire(s, old[p0], park);
		ln->pg[p0].shm = -1;
		yield_some(&s->rnd);
		c2 = tick();
		if (!refill(s, a, 1, to_shm, shm))
			return harness_fail("re-map after mremap out");
		w_after(s, ln, p0, 1, SCAN_EXACT, c2, old, shm);
		break;
	case OP_IN:
		if (!stage_move(s, a, to_shm, 0, &off, &c, &d, NULL, NULL))
			goto out;
		w_retire(s, ln, p0, 1);
		w_after(s, ln, p0, 1, SCAN_WINDOW, c, old, &off);
		break;
	}
	add(&F.ops[op], 1);
out:
	ver_bump(ln);
}

/* ---- read lanes: generations ---------------------------------------------- */

/* Start generation @e of page @pg (s->lock): the current one ends later. */
static unsigned int hist_push(struct stripe *s, struct page_st *pg, struct hent e)
{
	unsigned int i;

	pthread_mutex_lock(&s->lock);
	e.ci = tick();
	if (!e.c_inval)
		e.c_inval = e.ci;
	e.dr = UINT64_MAX;
	i = pg->hn++;
	pg->h[i % HIST] = e;
	pthread_mutex_unlock(&s->lock);
	return i;
}

static void hist_end(struct stripe *s, struct page_st *pg, unsigned int i, uint64_t d)
{
	pthread_mutex_lock(&s->lock);
	if (pg->hn > i && pg->hn - i <= HIST)
		pg->h[i % HIST].dr = d;
	pthread_mutex_unlock(&s->lock);
}

struct in_arg {
	struct stripe *s;
	struct page_st *pg;
	uint32_t g;
	bool exact;
	uint64_t c_inval;
	unsigned int idx;
};

static void in_push(void *arg)
{
	struct in_arg *ia = arg;

	ia->idx = hist_push(ia->s, ia->pg, (struct hent){ .g = ia->g, .kind = H_GEN,
						  .exact = ia->exact, .c_inval = ia->c_inval });
}

/* Page @pg is a hole since the call at @c: fill it with a new generation. */
static void r_refill(struct stripe *s, struct lane *ln, unsigned int p, bool to_shm)
{
	struct page_st *pg = &ln->pg[p];
	uint8_t *a = ln->addr + p * PAGE;
	struct in_arg ia = { .s = s, .pg = pg, .g = ++s->next_gen, .exact = true };
	int64_t off;
	uint64_t c, d;

	if (to_shm) {
		off = shm_alloc(s);
		if (off < 0)
			return harness_fail("no memfd page left");
		fill_gen(s->tmp, ia.g);
		if (pwrite(s->memfd, s->tmp, PAGE, off) != PAGE)
			return harness_fail("pwrite generation");
		in_push(&ia);
		if (!map_fixed(a, PAGE, off, s->memfd, true))
			return harness_fail("map a generation into a hole");
		d = tick();
	} else if (!stage_move(s, a, false, ia.g, &off, &c, &d, in_push, &ia)) {
		return;
	}
	hist_end(s, pg, ia.idx - 1, d);		/* the hole */
	pg->shm = off;
}

static void op_r(struct stripe *s, struct lane *ln)
{
	unsigned int p = rnd(&s->rnd) % LP, op = rnd(&s->rnd) % 5, i = 0;
	struct page_st *pg = &ln->pg[p];
	uint8_t *a = ln->addr + p * PAGE;
	bool to_shm = s->shm_only || (rnd(&s->rnd) & 1);
	/* Memory the daemon mapped itself: no job committed before sees the new. */
	struct in_arg ia = { .s = s, .pg = pg, .exact = pg->shm >= 0 && s->sealed };
	int64_t off, old = pg->shm;
	uint64_t c, d;
	int park;

	ver_bump(ln);
	switch (op) {
	case 0:	/* OP_FIXED_SHM: a memfd page that already holds the generation */
		ia.g = ++s->next_gen;
		off = shm_alloc(s);
		if (off < 0)
			break;
		fill_gen(s->tmp, ia.g);
		if (pwrite(s->memfd, s->tmp, PAGE, off) != PAGE)
			return harness_fail("pwrite generation");
		in_push(&ia);
		if (!map_fixed(a, PAGE, off, s->memfd, false))
			return harness_fail("mmap MAP_FIXED memfd over a read page");
		hist_end(s, pg, ia.idx - 1, tick());
		retire(s, old, -1);
		pg->shm = off;
		add(&F.ops[OP_FIXED_SHM], 1);
		break;
	case 1:	/* OP_IN: a prepared page moved over it */
		ia.g = ++s->next_gen;
		if (!stage_move(s, a, to_shm, ia.g, &off, &c, &d, in_push, &ia))
			break;
		hist_end(s, pg, ia.idx - 1, d);
		retire(s, old, -1);
		pg->shm = off;
		add(&F.ops[OP_IN], 1);
		break;
	case 2:	/* OP_DONTNEED: private pages read as zero, exactly */
		if (old < 0)
			i = hist_push(s, pg, (struct hent){ .kind = H_ZERO, .exact = true });
		if (madvise(a, PAGE, MADV_DONTNEED))
			return harness_fail("madvise read page");
		if (old < 0)
			hist_end(s, pg, i - 1, tick());
		add(&F.ops[OP_DONTNEED], 1);
		break;
	case 3:	/* OP_HOLE */
	case 4:	/* OP_OUT */
		park = op == 4 ? park_get(s) : -1;
		if (op == 4 && park < 0)
			break;
		i = hist_push(s, pg, (struct hent){ .kind = H_HOLE });
		if (op == 3 ? munmap(a, PAGE) :
		    mremap(a, PAGE, PAGE, MREMAP_MAYMOVE | MREMAP_FIXED, park_addr(s, park)) !=
		    park_addr(s, park))
			return harness_fail(op == 3 ? "munmap read page" : "mremap read page out");
		hist_end(s, pg, i - 1, tick());
		if (op == 3)
			retire(s, old, -1);
		else
			retire(s, old, park);
		pg->shm = -1;
		yield_some(&s->rnd);
		r_refill(s, ln, p, to_shm);
		add(&F.ops[op == 3 ? OP_HOLE : OP_OUT], 1);
		break;
	}
	ver_bump(ln);
}

static void check_guards(struct stripe *s)
{
	for (unsigned int l = 0; l <= NL; l++) {
		const uint32_t *g = (const uint32_t *)(s->region + (size_t)l * (LP + 1) * PAGE);

		for (uint32_t i = 0; i < DW; i++)
			if (g[i] != GUARD) {
				finding(V_GUARD, "stripe %u guard page %u dword %u is %#x", s->idx, l,
					i, g[i]);
				break;
			}
	}
}

static int start;

static void wait_start(void)
{
	while (!__atomic_load_n(&start, __ATOMIC_ACQUIRE))
		sched_yield();
}

static void *racer_main(void *arg)
{
	struct stripe *s = arg;
	unsigned int n = 0;

	wait_start();
	while (!stopped()) {
		struct lane *ln = &s->ln[rnd(&s->rnd) % NL];

		if (ln->rd)
			op_r(s, ln);
		else
			op_w(s, ln);
		if (++n % 64 == 0)
			check_guards(s);
		if (rnd(&s->rnd) % 2 == 0) {
			struct timespec t = { 0, (long)(rnd(&s->rnd) % 400) * 1000 };

			nanosleep(&t, NULL);
		}
	}
	return NULL;
}

/* ---- submitters ---------------------------------------------------------- */

struct sub {
	struct stripe *s;
	unsigned int t;
	uint32_t rnd;
	pthread_t thr;
	uint8_t *batch, *result;
	uint32_t *stamp;		/* [0] stamp, [1] checksum */
	uint64_t va_batch, va_result, va_stamp;
};

struct jt {
	uint32_t tag;
	uint64_t s, r, w;
	int ret, st;
};

/* Options of one page for a job's life: generation numbers, 0 = zero page. */
struct poss {
	unsigned int n;
	bool trunc;
	uint32_t g[8];
	bool zero[8];
};

static void possible(struct stripe *s, struct lane *ln, const struct jt *j, struct poss *out)
{
	pthread_mutex_lock(&s->lock);
	for (unsigned int p = 0; p < LP; p++) {
		const struct page_st *pg = &ln->pg[p];
		struct poss *o = &out[p];
		unsigned int k = pg->hn, kept = pg->hn < HIST ? pg->hn : HIST;

		o->n = 0;
		o->trunc = false;
		for (; kept--; k--) {
			const struct hent *e = &pg->h[(k - 1) % HIST];

			if (e->dr <= j->s)
				break;		/* this one and older ended before the job */
			if (!kept && pg->hn > HIST)
				o->trunc = true;
			if (e->ci >= j->w || e->kind == H_HOLE || (e->exact && j->r < e->c_inval))
				continue;
			if (o->n < 8) {
				o->g[o->n] = e->g;
				o->zero[o->n++] = e->kind == H_ZERO;
			} else {
				o->trunc = true;
			}
		}
	}
	pthread_mutex_unlock(&s->lock);
}

static bool matches(const struct poss *o, uint32_t v, uint32_t i, unsigned int *which)
{
	for (unsigned int k = 0; k < o->n; k++)
		if (o->zero[k] ? v == 0 : v == r_val(o->g[k], i)) {
			*which = k;
			return true;
		}
	return false;
}

/* Does some choice of one option per page give @want? Depth-first. */
static bool crc_search(const struct poss *o, unsigned int p, uint32_t c, uint32_t want,
		       unsigned int *budget)
{
	uint32_t page[DW];

	if (p == LP)
		return (c ^ 0xffffffffu) == want;
	for (unsigned int k = 0; k < o[p].n; k++) {
		if (!*budget)
			return false;
		(*budget)--;
		if (o[p].zero[k])
			memset(page, 0, PAGE);
		else
			fill_gen(page, o[p].g[k]);
		if (crc_search(o, p + 1, crc_update(c, page, PAGE), want, budget))
			return true;
	}
	return false;
}

static void check_read(struct sub *u, struct lane *ln, const struct jt *j)
{
	const uint32_t *res = (const uint32_t *)u->result;
	struct poss o[LP];
	unsigned int budget = 256, which;
	bool bad = false;

	possible(u->s, ln, j, o);
	for (unsigned int p = 0; p < LP && !bad; p++) {
		for (uint32_t i = 0; i < DW; i++) {
			uint32_t v = res[p * DW + i];

			if (v == UNWRITTEN && j->st)
				continue;
			if (matches(&o[p], v, i, &which)) {
				if (which) {	/* try this one first for the checksum */
					uint32_t g = o[p].g[which];
					bool z = o[p].zero[which];

					o[p].g[which] = o[p].g[0], o[p].zero[which] = o[p].zero[0];
					o[p].g[0] = g, o[p].zero[0] = z;
				}
				continue;
			}
			if (o[p].trunc) {
				add(&F.read_unknown, 1);
				continue;
			}
			finding(V_READ, "stripe %u lane %u page %u dword %u: job %u (status %d, "
				"s=%" PRIu64 " r=%" PRIu64 " w=%" PRIu64 ") read %#x; %u options, "
				"first %#x", u->s->idx, ln->idx, p, i, j->tag, j->st, j->s, j->r,
				j->w, v, o[p].n, o[p].n ? (o[p].zero[0] ? 0 : r_val(o[p].g[0], i)) : 0);
			bad = true;
			break;
		}
	}
	add(&F.reads_checked, 1);
	if (j->st)
		return;
	if (crc_search(o, 0, 0xffffffffu, u->stamp[1], &budget)) {
		add(&F.crc_checked, 1);
	} else if (!budget || o[0].trunc || o[1].trunc || o[2].trunc || o[3].trunc) {
		add(&F.crc_unchecked, 1);
	} else {
		finding(V_CRC, "stripe %u lane %u: job %u checksum %#x matches no contents "
			"the lane had during the job (options %u/%u/%u/%u)", u->s->idx, ln->idx,
			j->tag, u->stamp[1], o[0].n, o[1].n, o[2].n, o[3].n);
	}
}

/* Read our own lane memory without faulting if the racer unmapped it. */
static bool self_read(void *dst, const void *src, size_t len)
{
	struct iovec l = { dst, len }, r = { (void *)src, len };

	return process_vm_readv(getpid(), &l, 1, &r, 1, 0) == (ssize_t)len;
}

static void check_landing(struct sub *u, struct lane *ln, const struct jt *j, uint32_t v1)
{
	uint32_t col[COL_DW];
	bool ok = true;

	for (unsigned int p = 0; p < LP && ok; p++) {
		if (!self_read(col, ln->addr + p * PAGE + u->t * COL_DW * 4, sizeof(col))) {
			ok = false;
			break;
		}
		for (unsigned int i = 0; i < COL_DW; i++)
			if (col[i] != j->tag) {
				if (__atomic_load_n(&ln->ver, __ATOMIC_SEQ_CST) != v1)
					break;
				finding(V_LANDING, "stripe %u lane %u page %u column dword %u is %#x "
					"after job %u completed, no op on the lane meanwhile", u->s->idx,
					ln->idx, p, i, col[i], j->tag);
				return;
			}
	}
	if (ok && __atomic_load_n(&ln->ver, __ATOMIC_SEQ_CST) == v1)
		add(&F.landed, 1);
	else
		add(&F.landing_skipped, 1);
}

/* Build the batch of a job of @kind on lane @l with tag @tag. */
static int build(struct sub *u, unsigned int kind, unsigned int l, uint32_t tag)
{
	struct ugpu_cmdbuf cb;

	ugpu_cmd_init(&cb, u->batch, 2 * PAGE);
	if (kind == 0) {
		for (unsigned int k = 0; k < 4; k++)
			ugpu_cmd_fill(&cb, VA_LANE(l), LP * PAGE, tag);
	} else if (kind == 1) {
		for (unsigned int k = 0; k < REPS; k++)
			for (unsigned int p = 0; p < LP; p++)
				ugpu_cmd_fill(&cb, VA_LANE(l) + p * PAGE + u->t * COL_DW * 4,
					      COL_DW * 4, tag);
		for (unsigned int p = 0; p < LP; p++)
			for (unsigned int k = 0; k < 4; k++)
				ugpu_cmd_store_dword(&cb, VA_LANE(l) + p * PAGE +
						     (u->t * COL_DW + rnd(&u->rnd) % COL_DW) * 4, tag);
	} else {
		ugpu_cmd_copy(&cb, u->va_result, VA_LANE(l), LP * PAGE);
		ugpu_cmd_checksum(&cb, u->va_stamp + 4, VA_LANE(l), LP * PAGE);
	}
	ugpu_cmd_store_dword(&cb, u->va_stamp, tag);
	return ugpu_cmd_end(&cb) ? -ENOSPC : (int)cb.len * 4;
}

static int run_job(struct sub *u, unsigned int kind, unsigned int l, struct jt *j)
{
	struct stripe *s = u->s;
	uint64_t fence;
	int len;

	j->tag = __atomic_add_fetch(&last_tag, 1, __ATOMIC_RELAXED);
	len = build(u, kind, l, j->tag);
	if (len < 0)
		return len;
	u->stamp[0] = 0;
	u->stamp[1] = UNWRITTEN;
	if (kind == 2)
		fill32(u->result, UNWRITTEN, LP * PAGE);
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	j->s = tick();
	rec_begin(j->tag, j->s);
	j->ret = ugpu_exec(s->dev, s->vm, rnd(&u->rnd) % s->engines, u->va_batch, len, &fence);
	j->r = tick();
	rec_end(j->tag, j->r, j->ret);
	add(&F.jobs, 1);
	if (j->ret) {
		struct timespec t = { 0, (long)(50 + rnd(&u->rnd) % 500) * 1000 };

		/* A hole somewhere in the VM: let the racer fill it. */
		nanosleep(&t, NULL);
		add(j->ret == -EFAULT ? &F.exec_fault : &F.viol[V_EXEC], 1);
		if (j->ret != -EFAULT && get(&F.viol[V_EXEC]) <= NOTE_MAX)
			printf("# %s: job %u: %d (%s)\n", vname[V_EXEC], j->tag, j->ret,
			       strerror(-j->ret));
		return 0;
	}
	add(&F.exec_ok, 1);
	j->st = ugpu_wait(s->dev, fence, WAIT_NS);
	j->w = tick();
	if (j->st && j->st != -EFAULT) {
		finding(V_WAIT, "stripe %u job %u ended %d (%s)", s->idx, j->tag, j->st,
			strerror(-j->st));
		if (j->st == -ETIME)
			__atomic_store_n(&stop, 1, __ATOMIC_RELEASE);
		return 0;
	}
	add(j->st ? &F.job_fault : &F.job_ok, 1);
	if ((u->stamp[0] == j->tag) != (j->st == 0))
		finding(V_STAMP, "stripe %u job %u status %d but its last store %s", s->idx,
			j->tag, j->st, j->st ? "landed" : "is missing");
	return 1;
}

static void *sub_main(void *arg)
{
	struct sub *u = arg;
	struct stripe *s = u->s;

	wait_start();
	while (!stopped()) {
		unsigned int r = rnd(&u->rnd) % 10;
		unsigned int kind = r < 3 ? 0 : r < 6 ? 1 : 2;
		unsigned int l = kind == 0 ? 0 : kind == 1 ? 1 + rnd(&u->rnd) % (NW - 1) :
				 NW + rnd(&u->rnd) % NR;
		struct lane *ln = &s->ln[l];
		uint32_t v1 = __atomic_load_n(&ln->ver, __ATOMIC_SEQ_CST);
		struct jt j = { 0 };
		int ret = run_job(u, kind, l, &j);

		if (ret < 0) {
			errno = -ret;
			harness_fail("build a batch");
		}
		if (ret <= 0)
			continue;
		add(kind == 0 ? &F.bulk : kind == 1 ? &F.column : &F.reads, 1);
		if (kind == 2)
			check_read(u, ln, &j);
		else if (kind == 1 && !j.st && !(v1 & 1))
			check_landing(u, ln, &j, v1);
	}
	return NULL;
}

/* ---- setup, the end, main ------------------------------------------------ */

static bool lane_setup(struct stripe *s, unsigned int l)
{
	struct lane *ln = &s->ln[l];
	bool shm = s->shm_only || l == 1 || l == NW + 1;

	ln->idx = l;
	ln->rd = l >= NW;
	ln->addr = lane_addr(s, l);
	for (unsigned int p = 0; p < LP; p++) {
		struct page_st *pg = &ln->pg[p];
		uint8_t *a = ln->addr + p * PAGE;
		uint32_t g = ++s->next_gen;

		pg->shm = shm ? shm_alloc(s) : -1;
		if (!map_fixed(a, PAGE, pg->shm, s->memfd, false))
			return false;
		if (ln->rd) {
			fill_gen((uint32_t *)a, g);
			pg->h[0] = (struct hent){ .g = g, .kind = H_GEN, .dr = UINT64_MAX };
			pg->hn = 1;
		} else {
			fill32(a, MARK_BIT | s->next_mark++, PAGE);
		}
	}
	return ugpu_vm_bind_userptr(s->dev, s->vm, VA_LANE(l), ln->addr, LP * PAGE, 0) == 0;
}

static int stripe_setup(struct stripe *s, unsigned int idx, const char *dev, uint32_t seed)
{
	struct ugpu_info info;
	int ret;

	s->idx = idx;
	s->shm_only = idx == NSTRIPE - 1;
	s->sealed = idx != 1;
	s->rnd = seed * 2654435761u + idx + 1;
	pthread_mutex_init(&s->lock, NULL);
	ret = ugpu_open(dev, &s->dev);
	if (!ret)
		ret = ugpu_query(s->dev, &info);
	if (!ret)
		ret = ugpu_vm_create(s->dev, 0, &s->vm);
	if (ret)
		return ret;
	s->engines = info.num_engines;
	s->host = ugpu_host_alloc(s->dev, HOST_PAGES * PAGE);
	s->memfd = memfd_create("stress", MFD_CLOEXEC | MFD_ALLOW_SEALING);
	s->region = mmap(NULL, REGION_PAGES * PAGE, PROT_NONE,
			 MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (!s->host || s->memfd < 0 || s->region == MAP_FAILED ||
	    ftruncate(s->memfd, SHM_PAGES * PAGE) ||
	    (s->sealed && fcntl(s->memfd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW)))
		return -errno;
	memset(s->host, 0, HOST_PAGES * PAGE);
	ret = ugpu_vm_bind_userptr(s->dev, s->vm, VA_HOST, s->host, HOST_PAGES * PAGE, 0);
	if (ret)
		return ret;
	for (unsigned int i = 0; i < SHM_PAGES; i++)
		s->freeoff[s->nfree++] = (int64_t)(SHM_PAGES - 1 - i) * PAGE;
	s->park = s->region + (1 + NL * (LP + 1)) * PAGE;
	s->stage = s->park + NPARK * PAGE;
	for (unsigned int l = 0; l <= NL; l++) {
		uint8_t *g = s->region + (size_t)l * (LP + 1) * PAGE;

		if (!map_fixed(g, PAGE, -1, -1, false))
			return -errno;
		fill32(g, GUARD, PAGE);
	}
	for (unsigned int l = 0; l < NL; l++)
		if (!lane_setup(s, l))
			return errno ? -errno : -EIO;
	return 0;
}

/* One clean job per lane kind on settled memory: exact results. */
static void clean_run(struct stripe *s, struct sub *u)
{
	struct jt j = { 0 };
	uint32_t page[DW];

	if (run_job(u, 0, 0, &j) <= 0 || j.st) {
		finding(V_CLEAN, "stripe %u: bulk job exec %d status %d", s->idx, j.ret, j.st);
		return;
	}
	for (unsigned int p = 0; p < LP; p++) {
		memcpy(page, s->ln[0].addr + p * PAGE, PAGE);
		for (uint32_t i = 0; i < DW; i++)
			if (page[i] != j.tag) {
				finding(V_CLEAN, "stripe %u: lane 0 page %u dword %u is %#x, not %#x",
					s->idx, p, i, page[i], j.tag);
				return;
			}
	}
	for (unsigned int l = NW; l < NL; l++) {
		uint64_t before = get(&F.viol[V_READ]) + get(&F.viol[V_CRC]);

		if (run_job(u, 2, l, &j) <= 0 || j.st) {
			finding(V_CLEAN, "stripe %u: read job exec %d status %d", s->idx, j.ret,
				j.st);
			return;
		}
		check_read(u, &s->ln[l], &j);
		if (get(&F.viol[V_READ]) + get(&F.viol[V_CRC]) != before)
			finding(V_CLEAN, "stripe %u: read lane %u gave wrong data", s->idx, l);
	}
}

static void finish_stripe(struct stripe *s, struct sub *u)
{
	for (unsigned int l = 0; l < NW; l++)
		for (unsigned int p = 0; p < LP; p++)
			scan_w(s, &s->ln[l], p, SCAN_CHECK, s->ln[l].pg[p].c_inval);
	while (s->rcount)
		retired_pop(s);
	check_guards(s);
	if (!__atomic_load_n(&fatal, __ATOMIC_ACQUIRE))
		clean_run(s, u);
}

static void print_figures(double secs)
{
	struct ugpu_stats st = { 0 };
	uint64_t ops = 0;

	for (int i = 0; i < NOPS; i++) {
		ops += get(&F.ops[i]);
		printf("# figure op_%s %" PRIu64 "\n", opname[i], get(&F.ops[i]));
	}
	printf("# figure seconds %.1f\n# figure mm_ops %" PRIu64 "\n", secs, ops);
	printf("# figure jobs %" PRIu64 "\n# figure exec_ok %" PRIu64 "\n"
	       "# figure exec_efault %" PRIu64 "\n# figure job_ok %" PRIu64 "\n"
	       "# figure job_efault %" PRIu64 "\n", get(&F.jobs), get(&F.exec_ok),
	       get(&F.exec_fault), get(&F.job_ok), get(&F.job_fault));
	printf("# figure jobs_bulk %" PRIu64 "\n# figure jobs_column %" PRIu64 "\n"
	       "# figure jobs_read %" PRIu64 "\n", get(&F.bulk), get(&F.column), get(&F.reads));
	printf("# figure window_writes %" PRIu64 "\n# figure kept_writes %" PRIu64 "\n",
	       get(&F.window), get(&F.kept));
	printf("# figure pages_scanned %" PRIu64 "\n# figure tags_checked %" PRIu64 "\n"
	       "# figure tags_unknown %" PRIu64 "\n", get(&F.scanned), get(&F.tags),
	       get(&F.unknown));
	printf("# figure reads_checked %" PRIu64 "\n# figure read_dwords_unknown %" PRIu64 "\n"
	       "# figure checksums_checked %" PRIu64 "\n# figure checksums_unchecked %" PRIu64
	       "\n", get(&F.reads_checked), get(&F.read_unknown), get(&F.crc_checked),
	       get(&F.crc_unchecked));
	printf("# figure landings_checked %" PRIu64 "\n# figure landings_skipped %" PRIu64 "\n"
	       "# figure retired_pages_checked %" PRIu64 "\n", get(&F.landed),
	       get(&F.landing_skipped), get(&F.retired));
	if (ioctl(ugpu_fd(S[0].dev), UGPU_IOCTL_STATS, &st) == 0)
		printf("# figure daemon_invalidations %llu\n# figure daemon_exec_retries %llu\n",
		       (unsigned long long)st.invalidations, (unsigned long long)st.exec_retries);
}

static double now_s(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec + t.tv_nsec / 1e9;
}

static void storm(double secs)
{
	pthread_t racers[NSTRIPE];
	static struct sub subs[NSTRIPE][NSUB];
	double t0 = now_s(), next = t0 + 10;

	for (unsigned int i = 0; i < NSTRIPE; i++) {
		for (unsigned int t = 0; t < NSUB; t++) {
			struct sub *u = &subs[i][t];
			size_t off = (size_t)t * SUB_PAGES * PAGE;

			*u = (struct sub){ .s = &S[i], .t = t, .rnd = S[i].rnd ^ (0x9e3779b9u * (t + 1)) };
			u->batch = S[i].host + off;
			u->result = u->batch + 2 * PAGE;
			u->stamp = (uint32_t *)(u->result + LP * PAGE);
			u->va_batch = VA_HOST + off;
			u->va_result = u->va_batch + 2 * PAGE;
			u->va_stamp = u->va_result + LP * PAGE;
			if (pthread_create(&u->thr, NULL, sub_main, u))
				return harness_fail("pthread_create");
		}
		if (pthread_create(&racers[i], NULL, racer_main, &S[i]))
			return harness_fail("pthread_create");
	}
	__atomic_store_n(&start, 1, __ATOMIC_RELEASE);
	while (!stopped() && now_s() - t0 < secs) {
		struct timespec t = { 0, 50 * 1000000 };

		nanosleep(&t, NULL);
		if (now_s() >= next) {
			printf("# progress %.0f s: %" PRIu64 " jobs, %" PRIu64 " ok, %" PRIu64
			       " faulted\n", now_s() - t0, get(&F.jobs), get(&F.job_ok),
			       get(&F.job_fault) + get(&F.exec_fault));
			next += 10;
		}
	}
	__atomic_store_n(&stop, 1, __ATOMIC_RELEASE);
	for (unsigned int i = 0; i < NSTRIPE; i++) {
		pthread_join(racers[i], NULL);
		for (unsigned int t = 0; t < NSUB; t++)
			pthread_join(subs[i][t].thr, NULL);
	}
	for (unsigned int i = 0; i < NSTRIPE; i++)
		finish_stripe(&S[i], &subs[i][0]);
	print_figures(now_s() - t0);
}

int main(int argc, char **argv)
{
	static const uint8_t digits[] = "123456789";
	int nfail = 0, ret;

	setvbuf(stdout, NULL, _IOLBF, 0);
	signal(SIGPIPE, SIG_IGN);
	if (argc != 4) {
		fprintf(stderr, "usage: stress_client <device> <seconds> <seed>\n");
		return 2;
	}
	crc_init();
	if ((crc_update(0xffffffffu, digits, 9) ^ 0xffffffffu) != 0xe3069283u) {
		printf("not ok crc32c self-test\n");
		return 1;
	}
	ring = calloc(RING, sizeof(*ring));
	if (!ring)
		return 2;
	for (unsigned int i = 0; i < NSTRIPE; i++) {
		ret = stripe_setup(&S[i], i, argv[1], (uint32_t)strtoul(argv[3], NULL, 0));
		if (ret) {
			printf("not ok setup of stripe %u: %s\n", i, strerror(-ret));
			return 1;
		}
	}
	printf("ok setup: %u stripes, %u lanes of %u pages each\n", NSTRIPE, NL, LP);
	storm(strtod(argv[2], NULL));
	for (int v = 0; v < NV; v++) {
		if (get(&F.viol[v])) {
			nfail++;
			printf("not ok %s: %s: %" PRIu64 " findings\n", vname[v], vwhat[v],
			       get(&F.viol[v]));
		} else {
			printf("ok %s: %s\n", vname[v], vwhat[v]);
		}
	}
	if (!get(&F.job_ok) || !get(&F.reads_checked) || !get(&F.landed)) {
		nfail++;
		printf("not ok the storm did work: %" PRIu64 " jobs ok, %" PRIu64
		       " reads checked, %" PRIu64 " landings checked\n", get(&F.job_ok),
		       get(&F.reads_checked), get(&F.landed));
	}
	for (unsigned int i = 0; i < NSTRIPE; i++)
		ugpu_close(S[i].dev);
	return nfail ? 1 : 0;
}
