/* SPDX-License-Identifier: MIT */
/*
 * The shared state of stress_client (tests/helpers/stress_client.c), the
 * race storm's client process: its sizes and address layout, what a dword
 * of lane memory may hold, the stripes with their lanes, read-page
 * generations and retired memory, the figures and findings, the logical
 * clock with its job records, and the functions the parts share. The
 * parts: sc_core.c (findings, clock, job records, CRC32C), sc_memory.c
 * (lane memory and retired pages), sc_racer.c (the racer thread's mm
 * calls and scans) and sc_submit.c (the submitter threads and the checks
 * of their jobs). Every exported name starts with sc_; the macros and
 * enumerators below are for the files that include this header only.
 */
#ifndef UGPU_TESTS_HELPERS_STRESS_COMMON_H
#define UGPU_TESTS_HELPERS_STRESS_COMMON_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/mman.h>

#include "libclient/ugpu.h"

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

static inline bool sc_is_tag(uint32_t v) { return v && v <= TAG_MAX; }
static inline uint32_t sc_r_val(uint32_t g, uint32_t i) { return R_BIT | (g & 0xfffffu) << 10 | i; }


enum { V_EXEC, V_WAIT, V_EXACT, V_LATE, V_OLDMEM, V_READ, V_CRC, V_LANDING, V_FAILED,
       V_GUARD, V_STAMP, V_CLEAN, V_HARNESS, NV };
enum { OP_FIXED_ANON, OP_FIXED_SHM, OP_HOLE, OP_DONTNEED, OP_FREE, OP_OUT, OP_IN,
       OP_SHRINK, NOPS };
extern const char *const sc_vname[NV];	/* name of each finding kind */
extern const char *const sc_vwhat[NV];	/* what its check states */
extern const char *const sc_opname[NOPS];

/* ---- figures and findings ------------------------------------------------ */

struct sc_figures {
	uint64_t jobs, exec_ok, exec_fault, job_ok, job_fault, bulk, column, reads;
	uint64_t ops[NOPS], window, kept, scanned, tags, unknown;
	uint64_t reads_checked, read_unknown, crc_checked, crc_unchecked;
	uint64_t landed, landing_skipped, retired;
	uint64_t viol[NV];
};

extern struct sc_figures sc_fig;
extern int sc_fatal;		/* stop the storm: state no longer trusted */
extern int sc_stop;
extern int sc_start;		/* set once every thread exists */

static inline void sc_add(uint64_t *c, uint64_t n) { __atomic_add_fetch(c, n, __ATOMIC_RELAXED); }
static inline uint64_t sc_get(const uint64_t *c) { return __atomic_load_n(c, __ATOMIC_RELAXED); }
static inline bool sc_stopped(void) { return __atomic_load_n(&sc_stop, __ATOMIC_ACQUIRE); }

/* Count a finding of kind @v; print the details of the first NOTE_MAX. */
void sc_finding(int v, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* The racer's own call @what failed (errno): a finding, and stop the storm. */
void sc_harness_fail(const char *what);
/* Spin until sc_start is set. */
void sc_wait_start(void);

/* ---- the logical clock and the job records -------------------------------- */

/* One job: s before its exec call, r after it returned (0: not yet). */
struct sc_rec {
	uint32_t tag;		/* seqlock: 0 while being rewritten */
	int32_t ret;		/* the exec's result */
	uint64_t s, r;
};

extern struct sc_rec *sc_ring;	/* RING records, allocated by main */
extern uint32_t sc_last_tag;

uint64_t sc_tick(void);
void sc_rec_begin(uint32_t j, uint64_t s);
void sc_rec_end(uint32_t j, uint64_t r, int ret);
/* The record of tag @j, if still kept. r == 0: its exec has not returned. */
bool sc_rec_get(uint32_t j, struct sc_rec *out);

/* CRC32C (the device's CHECKSUM). Raw state: start with ~0, CRC = state ^ ~0. */
void sc_crc_init(void);
uint32_t sc_crc_update(uint32_t c, const void *buf, size_t n);

/* ---- stripes: lanes, generations, retired memory -------------------------- */

enum { H_GEN, H_ZERO, H_HOLE };

/* One generation of a read page: what it held from call ci to call end dr. */
struct sc_hent {
	uint32_t g;
	uint8_t kind;		/* H_* */
	bool exact;		/* jobs committed before c_inval never see it */
	uint64_t ci, c_inval, dr;	/* dr: UINT64_MAX while current */
};

struct sc_page_st {
	int64_t shm;		/* memfd offset backing it, or -1: private */
	uint64_t c_inval;	/* write page: call start of the op that made it */
	struct sc_hent h[HIST];	/* read page: s->lock */
	uint32_t hn;
};

struct sc_lane {
	bool rd;
	unsigned int idx;
	uint8_t *addr;
	uint32_t ver;		/* odd while the racer changes the lane */
	struct sc_page_st pg[LP];
};

struct sc_retired {
	int64_t shm;		/* memfd offset, or -1 */
	int park;		/* park slot holding it, or -1 */
	uint32_t poison;
};

struct sc_stripe {
	unsigned int idx;
	bool shm_only;		/* memfd memory only: the VM has no DMA port */
	bool sealed;		/* memfd sealed: the daemon maps it (zero copy) */
	const char *op;		/* the racer's current op, for findings */
	struct ugpu *dev;
	uint32_t vm;
	unsigned int engines;
	uint8_t *host, *region, *park, *stage;
	struct sc_lane ln[NL];
	int memfd;
	int64_t freeoff[SHM_PAGES];
	unsigned int nfree;
	struct sc_retired ret[NRET];
	unsigned int rhead, rcount;
	bool park_used[NPARK];
	pthread_mutex_t lock;	/* the read pages' generations */
	uint32_t next_gen, next_mark, rnd;
	uint32_t tmp[DW];	/* racer scratch page */
};

static inline uint32_t sc_rnd(uint32_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 17;
	*s ^= *s << 5;
	return *s;
}

uint8_t *sc_lane_addr(struct sc_stripe *s, unsigned int l);
uint8_t *sc_park_addr(struct sc_stripe *s, int k);
void sc_fill32(void *p, uint32_t v, size_t bytes);
void sc_fill_gen(uint32_t *p, uint32_t g);
int64_t sc_shm_alloc(struct sc_stripe *s);
void sc_shm_free(struct sc_stripe *s, int64_t off);
bool sc_map_fixed(void *a, size_t len, int64_t shm, int fd, bool noreplace);
bool sc_reserve(void *a, size_t len);
/* Check and drop the oldest retired page. */
void sc_retired_pop(struct sc_stripe *s);
/* Page [shm or park] left the range: poison it now, check it later. */
void sc_retire(struct sc_stripe *s, int64_t shm, int park);
/* A free park slot (checking retired pages to free one), or -1. */
int sc_park_get(struct sc_stripe *s);
void sc_check_guards(struct sc_stripe *s);

/* ---- the racer ------------------------------------------------------------ */

enum { SCAN_CHECK, SCAN_EXACT, SCAN_WINDOW, SCAN_KEPT };

/* Check the job tags in page @pg of write lane @ln against @c_inval. */
void sc_scan_w(struct sc_stripe *s, struct sc_lane *ln, unsigned int pg, int mode,
	       uint64_t c_inval);
/* The racer thread of stripe @arg. */
void *sc_racer_main(void *arg);

/* ---- submitters ----------------------------------------------------------- */

struct sc_sub {
	struct sc_stripe *s;
	unsigned int t;
	uint32_t rnd;
	pthread_t thr;
	uint8_t *batch, *result;
	uint32_t *stamp;		/* [0] stamp, [1] checksum */
	uint64_t va_batch, va_result, va_stamp;
};

struct sc_jt {
	uint32_t tag;
	uint64_t s, r, w;
	int ret, st;
};

/*
 * Run a job of @kind (0 bulk, 1 column, 2 read) on lane @l: -errno if
 * its batch could not be built, 0 if its exec or wait failed (counted),
 * 1 if it ended 0 or -EFAULT.
 */
int sc_run_job(struct sc_sub *u, unsigned int kind, unsigned int l, struct sc_jt *j);
/* Check what read job @j copied and checksummed of read lane @ln. */
void sc_check_read(struct sc_sub *u, struct sc_lane *ln, const struct sc_jt *j);
/* A submitter thread (@arg: its struct sc_sub). */
void *sc_sub_main(void *arg);

#endif
