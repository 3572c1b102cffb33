// SPDX-License-Identifier: MIT
/*
 * The bookkeeping of stress_client (stress_common.h): the names of the
 * findings and mm ops, the figures, findings and the stop flags, the
 * start line, the logical clock every job and mm call is stamped on, the
 * job records the scans look tags up in, and CRC32C (the device's
 * CHECKSUM, slicing by 8) for checking read jobs' checksums.
 */
#include <errno.h>
#include <sched.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "tests/helpers/lib/stress_common.h"

const char *const sc_vname[NV] = {
	"exec-status", "job-status", "exact-late-write", "late-write", "old-memory-write",
	"read-origin", "checksum", "landing", "failed-exec-wrote", "guard", "stamp",
	"clean-after-storm", "harness",
};
const char *const sc_vwhat[NV] = {
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
const char *const sc_opname[NOPS] = {
	"mmap_fixed_private", "mmap_fixed_memfd", "munmap_remap", "madv_dontneed",
	"madv_free", "mremap_out", "mremap_in", "mremap_shrink",
};

/* ---- figures and findings ------------------------------------------------ */

struct sc_figures sc_fig;

int sc_fatal;
int sc_stop;
int sc_start;

void sc_finding(int v, const char *fmt, ...)
{
	char buf[512];
	va_list ap;

	if (__atomic_add_fetch(&sc_fig.viol[v], 1, __ATOMIC_RELAXED) > NOTE_MAX)
		return;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	printf("# %s: %s\n", sc_vname[v], buf);
}

void sc_harness_fail(const char *what)
{
	sc_finding(V_HARNESS, "%s: %s", what, strerror(errno));
	__atomic_store_n(&sc_fatal, 1, __ATOMIC_RELEASE);
	__atomic_store_n(&sc_stop, 1, __ATOMIC_RELEASE);
}

/* ---- the logical clock and the job records -------------------------------- */

static uint64_t sc_clk;
uint32_t sc_last_tag;

uint64_t sc_tick(void) { return __atomic_add_fetch(&sc_clk, 1, __ATOMIC_SEQ_CST); }

struct sc_rec *sc_ring;

void sc_rec_begin(uint32_t j, uint64_t s)
{
	struct sc_rec *e = &sc_ring[j % RING];

	__atomic_store_n(&e->tag, 0, __ATOMIC_RELAXED);
	__atomic_thread_fence(__ATOMIC_RELEASE);
	__atomic_store_n(&e->s, s, __ATOMIC_RELAXED);
	__atomic_store_n(&e->r, 0, __ATOMIC_RELAXED);
	__atomic_store_n(&e->ret, 0, __ATOMIC_RELAXED);
	__atomic_store_n(&e->tag, j, __ATOMIC_RELEASE);
}

void sc_rec_end(uint32_t j, uint64_t r, int ret)
{
	struct sc_rec *e = &sc_ring[j % RING];

	__atomic_store_n(&e->ret, ret, __ATOMIC_RELAXED);
	__atomic_store_n(&e->r, r, __ATOMIC_RELEASE);
}

bool sc_rec_get(uint32_t j, struct sc_rec *out)
{
	struct sc_rec *e = &sc_ring[j % RING];
	uint32_t t1 = __atomic_load_n(&e->tag, __ATOMIC_ACQUIRE);

	out->r = __atomic_load_n(&e->r, __ATOMIC_ACQUIRE);
	out->s = __atomic_load_n(&e->s, __ATOMIC_RELAXED);
	out->ret = __atomic_load_n(&e->ret, __ATOMIC_RELAXED);
	__atomic_thread_fence(__ATOMIC_ACQUIRE);
	return t1 == j && __atomic_load_n(&e->tag, __ATOMIC_RELAXED) == j;
}

/* ---- CRC32C (the device's CHECKSUM), slicing by 8 ------------------------- */

static uint32_t crc_tab[8][256];

void sc_crc_init(void)
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
uint32_t sc_crc_update(uint32_t c, const void *buf, size_t n)
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

/* ---- the start line ------------------------------------------------------- */

void sc_wait_start(void)
{
	while (!__atomic_load_n(&sc_start, __ATOMIC_ACQUIRE))
		sched_yield();
}
