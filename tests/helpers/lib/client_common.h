/* SPDX-License-Identifier: MIT */
/*
 * What the client programs of the gpu, lifecycle and memsafety suites
 * share (tests/helpers/gpu_*.c, lifecycle_client.c, memsafety_client.c):
 * real libugpu clients that those suites run as
 * `PROGRAM SCENARIO DEVICE [ARG]` (tests/lib/client_harness.c), one
 * scenario per run. Each check prints one line, `ok <check>` or
 * `not ok <check>: <detail>`; lines starting with `#` are notes, and
 * protocol lines (`ready`, ...) tell the test where a scenario is. The
 * program exits 1 if any check failed, 2 for bad usage. Here: the
 * reporting, the clock and bounded waits, a client whose host memory at
 * VA_HOST holds a control page and batch slots, its jobs, and main().
 * Nothing asserts on time: every wait is for a state, bounded by a
 * generous limit. Syncobjs and the raw ioctls that use them are in
 * client_sync.h.
 */
#ifndef UGPU_TESTS_HELPERS_CLIENT_COMMON_H
#define UGPU_TESTS_HELPERS_CLIENT_COMMON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "libclient/ugpu.h"

#define PAGE		4096ull
#define SEC		1000000000ll
#define WAIT_NS		(20 * SEC)	/* a job that should end: generous */
#define POLL_MS		10000		/* a state we wait for from the CPU */
#define MAGIC		0x600dcafeu	/* a value no job writes by chance */

/* GPU VAs. The host area holds the control page and the batches. */
#define VA_HOST		0x00100000ull
#define VA_BO		0x01000000ull
#define VA_BO2		0x02000000ull
#define VA_UP		0x04000000ull
#define VA_UP2		0x08000000ull
#define VA_BIG		0x10000000ull
#define VA_BIG2		0x20000000ull

#define HOST_BYTES	(16 * PAGE)
#define SLOT_BYTES	256u			/* one batch */
#define NSLOTS		((HOST_BYTES - PAGE) / SLOT_BYTES)
#define VA_CTL		VA_HOST			/* control dwords, page 0 */
#define VA_SLOT(i)	(VA_HOST + PAGE + (uint64_t)(i) * SLOT_BYTES)

/* Control dwords (index into the control page). */
#define CTL_SEM		0		/* jobs wait for it to become 1 */
#define CTL_STARTED	16		/* jobs say they are past their start */
#define CTL_OUT		64		/* results */

extern int cc_nfail;		/* checks failed so far */

/* ---- reporting -------------------------------------------------------- */

/**
 * cc_expect - print one check's line, count it if it failed
 * @good:  did the check pass
 * @check: its name
 * @fmt:   printf format of what happened, for a failure
 *
 * Return: @good.
 */
bool cc_expect(bool good, const char *check, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/**
 * cc_ename - strerror() of a negative errno, "success" for 0
 * @ret: a return value
 */
const char *cc_ename(int ret);

/**
 * cc_expect_ret - check that a call returned @want
 * @got:   what it returned
 * @want:  what it must return
 * @check: the check
 */
bool cc_expect_ret(int got, int want, const char *check);

/**
 * cc_expect_quota - check for a quota error: -EDQUOT or -ENOSPC (API.md allows either)
 * @got:   what the call returned
 * @check: the check
 */
bool cc_expect_quota(int got, const char *check);

/**
 * cc_note - print a `#` line (not a check)
 * @fmt: printf format
 */
void cc_note(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* ---- the clock, bounded waits, memory ---------------------------------- */

/* CLOCK_MONOTONIC in milliseconds, in nanoseconds. */
long long cc_now_ms(void);
int64_t cc_now_ns(void);

/**
 * cc_nap - sleep one millisecond (between two looks at a state)
 */
void cc_nap(void);

/**
 * cc_poll_u32 - wait (POLL_MS at most) until the dword at @p equals @want
 * @p:    the dword, written by a job or another thread
 * @want: the value
 *
 * Return: true if it did.
 */
bool cc_poll_u32(volatile uint32_t *p, uint32_t want);

/**
 * cc_in_ioctl - is thread @tid of this process blocked in an ioctl on @fd?
 * @tid: the thread
 * @fd:  the file descriptor, or -1 for any
 */
bool cc_in_ioctl(pid_t tid, int fd);

/**
 * cc_map_anon - private anonymous read-write memory
 * @len: bytes
 *
 * Return: the memory, or NULL.
 */
void *cc_map_anon(size_t len);

/**
 * cc_all_u32 - is every dword of @mem @v?
 * @mem:   the memory
 * @bytes: its size
 * @v:     the value
 * @bad:   NULL, or receives the index of the first dword that is not
 */
bool cc_all_u32(const void *mem, size_t bytes, uint32_t v, size_t *bad);

/**
 * cc_expect_all - check that every dword of @mem is @v; report the first that is not
 * @mem:   the memory
 * @bytes: its size
 * @v:     the value
 * @check: the check
 */
bool cc_expect_all(const void *mem, size_t bytes, uint32_t v, const char *check);

/* ---- a client with a VM, a control page and batch slots ---------------- */

struct cc_ctx {
	struct ugpu *dev;
	uint32_t vm;
	unsigned int engines;
	uint64_t features;
	uint8_t *host;			/* HOST_BYTES at VA_HOST */
	volatile uint32_t *ctl;		/* = host */
};

/**
 * cc_ctx_open - open @path, query it, create a VM, bind HOST_BYTES of host memory at VA_HOST
 * @c:        the client (zeroed first)
 * @path:     the device
 * @vm_flags: for ugpu_vm_create()
 *
 * Return: 0 or -errno (nothing left open).
 */
int cc_ctx_open(struct cc_ctx *c, const char *path, uint32_t vm_flags);

/**
 * cc_ctx_open_ok - cc_ctx_open() as a check, "[@who: ]open, VM, host memory bound"
 * @c:        the client
 * @path:     the device
 * @vm_flags: for ugpu_vm_create()
 * @who:      the check's prefix, or NULL
 */
bool cc_ctx_open_ok(struct cc_ctx *c, const char *path, uint32_t vm_flags, const char *who);

/**
 * cc_ctx_close - close the device (the daemon drops all of it) and free the host memory
 * @c: the client; a no-op if not open
 */
void cc_ctx_close(struct cc_ctx *c);

/**
 * cc_batch - start a batch in slot @slot (VA_SLOT(@slot))
 * @c:    the client
 * @slot: 0 .. NSLOTS - 1
 * @cb:   the command buffer to encode into
 */
void cc_batch(struct cc_ctx *c, unsigned int slot, struct ugpu_cmdbuf *cb);

/**
 * cc_batch_gated - a batch that stores 1 to control dword @started_idx,
 *		    then waits for CTL_SEM >= 1; the caller adds the rest
 * @c:           the client
 * @slot:        its slot
 * @cb:          the command buffer
 * @started_idx: the control dword that says it started
 */
void cc_batch_gated(struct cc_ctx *c, unsigned int slot, struct ugpu_cmdbuf *cb,
		    unsigned int started_idx);

/**
 * cc_ctl_set - store control dword @idx (release: jobs see what came before)
 * @c:   the client
 * @idx: the dword
 * @v:   the value
 */
void cc_ctl_set(struct cc_ctx *c, unsigned int idx, uint32_t v);

/**
 * cc_submit - end the batch in @slot and submit it on @engine
 * @c:      the client
 * @slot:   its slot
 * @cb:     its command buffer
 * @engine: the engine
 * @fence:  receives the job's fence
 *
 * Return: the encoder's or ugpu_exec()'s error.
 */
int cc_submit(struct cc_ctx *c, unsigned int slot, struct ugpu_cmdbuf *cb, uint32_t engine,
	      uint64_t *fence);

/**
 * cc_run_store - one STORE_DWORD job on engine 0, waited for
 * @c:     the client
 * @slot:  its batch slot
 * @va:    where
 * @value: what
 *
 * Return: exec's error, else the job's.
 */
int cc_run_store(struct cc_ctx *c, unsigned int slot, uint64_t va, uint32_t value);

/* ---- main ------------------------------------------------------------- */

struct cc_scenario {
	const char *name;
	void (*fn)(const char *path);	/* runs it on the device at @path */
};

extern const char *cc_arg;	/* the scenario's ARG, or NULL */

/**
 * cc_main - a program's main(): run scenario argv[1] of @table on device argv[2]
 * @argc:  main()'s
 * @argv:  main()'s; argv[3], if any, is cc_arg
 * @table: the program's scenarios
 * @n:     how many
 *
 * Return: 0 if every check passed, 1 if one failed, 2 for bad usage or
 * an unknown scenario.
 */
int cc_main(int argc, char **argv, const struct cc_scenario *table, size_t n);

#endif
