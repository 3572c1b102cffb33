/* SPDX-License-Identifier: MIT */
/*
 * What the api_* client programs share (tests/helpers/api_errors.c,
 * api_userptr.c, api_memory.c, api_objects.c, api_lifetime.c): real
 * libugpu clients that tests/integration/api_test.c runs, one scenario of
 * API.md each, chosen by argv[1], against the device named by argv[2]:
 * `api_<group> SCENARIO DEVICE [ARGS...]`. Each check prints one line,
 * "ok <scenario>.<check>" or "not ok <scenario>.<check>: <what
 * happened>"; the last line is "done <scenario>" and the exit status is
 * non-zero if any check failed. Scenarios that need the test to act in
 * between print "ready ..." and then read one line ("go") from stdin.
 * Errors are asserted exactly as API.md's table gives them; where the
 * contract allows two values both are accepted and nothing else.
 * Here: the reporting, memory checks, a client with a VM and batch
 * memory (struct ctx) and the programs' main().
 */
#ifndef UGPU_TESTS_HELPERS_API_COMMON_H
#define UGPU_TESTS_HELPERS_API_COMMON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "libclient/ugpu.h"
#include "uapi/ugpu.h"

#define PAGE		4096ull
#define KiB		(1ull << 10)
#define MiB		(1ull << 20)
#define SLOT_BYTES	(16 * KiB)		/* one batch */
#define NSLOTS		8
#define BATCH_BYTES	(SLOT_BYTES * NSLOTS)
#define HOST_BYTES	(BATCH_BYTES + PAGE)	/* batches + a scratch page */
#define BATCH_VA	(1ull << 32)
#define SCRATCH_VA	(BATCH_VA + BATCH_BYTES)
#define DATA_VA		(1ull << 36)
#define DATA2_VA	(1ull << 37)
#define BO_VA		(1ull << 38)
#define MIS_VA		(1ull << 39)
#define BIG_VA		(1ull << 40)
#define WAIT_NS		(20ll * 1000000000ll)
#define ENG_RENDER	0
#define ENG_COPY	1

/* Dwords of the scratch page. */
enum { S_SEM, S_SEM2, S_RES, S_RES2, S_CRC = 8 };

extern const char *api_path;	/* the device */
extern const char *api_scn;	/* the scenario, prefix of every check */
extern int api_fail;		/* checks failed so far */

/* ---- reporting -------------------------------------------------------- */

/**
 * api_errname - "-ENOENT" for -ENOENT, the number for r >= 0
 * @r: a return value
 *
 * Return: one of four rotating buffers, enough for one report.
 */
const char *api_errname(int r);

/**
 * api_report - print one check's line, count it if it failed
 * @pass: did the check pass
 * @name: the check, after "<scenario>."
 * @fmt:  printf format of what happened, for a failure
 *
 * Return: @pass.
 */
bool api_report(bool pass, const char *name, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

#define CHECK(cond, name) api_report(!!(cond), name, "%s (line %d)", #cond, __LINE__)

/**
 * api_expect - check that a call returned @want
 * @name: the check
 * @got:  what it returned
 * @want: what it must return
 *
 * Return: whether it did.
 */
bool api_expect(const char *name, int got, int want);

/**
 * api_expect2 - check that a call returned @a or @b (API.md allows either)
 * @name: the check
 * @got:  what it returned
 * @a:    one allowed value
 * @b:    the other
 *
 * Return: whether it did.
 */
bool api_expect2(const char *name, int got, int a, int b);

/**
 * api_expect_quota - check for a quota error: -ENOSPC or -EDQUOT
 * @name: the check
 * @got:  what the call returned
 */
bool api_expect_quota(const char *name, int got);

/**
 * api_expect_gone - check for "the daemon is gone": -ENODEV or -ENOTCONN
 * @name: the check
 * @got:  what the call returned
 */
bool api_expect_gone(const char *name, int got);

/**
 * api_nm - a check name built with printf
 * @fmt: printf format
 *
 * Return: one of four rotating buffers, enough for one call.
 */
const char *api_nm(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/**
 * api_wait_go - print "ready" and wait for the test's "go" line
 *
 * Return: true if "go" came.
 */
bool api_wait_go(void);

/* ---- memory ----------------------------------------------------------- */

/**
 * api_map_anon - private anonymous read-write memory
 * @len: bytes
 *
 * Return: the memory, or NULL.
 */
void *api_map_anon(uint64_t len);

/**
 * api_remap_anon - fresh private anonymous memory at exactly @addr
 * @addr: where (what is there is replaced)
 * @len:  bytes
 *
 * Return: true if mapped there.
 */
bool api_remap_anon(void *addr, uint64_t len);

/**
 * api_rd32 - the dword at @p, read once (volatile)
 * @p: the address
 */
uint32_t api_rd32(const void *p);

/**
 * api_find_not_byte - first offset in [@p, @p + @len) whose byte is not @v
 * @p:   the memory
 * @len: bytes
 * @v:   the byte
 *
 * Return: the offset, or -1.
 */
long long api_find_not_byte(const void *p, uint64_t len, uint8_t v);

/* Check that every byte, every dword, or the one dword at @p is @v. */
bool api_check_bytes(const char *name, const void *p, uint64_t len, uint8_t v);
bool api_check_dws(const char *name, const void *p, uint64_t len, uint32_t v);
bool api_check_dw(const char *name, const void *p, uint32_t v);

/* ---- a client with a VM and batch memory ------------------------------ */

/*
 * One open device, one VM, and host memory (ugpu_host_alloc) bound at
 * BATCH_VA: NSLOTS batch slots and a scratch page for semaphores and
 * results at SCRATCH_VA.
 */
struct ctx {
	struct ugpu *dev;
	uint32_t vm;
	uint8_t *host;
	struct ugpu_info info;
};

/* Global, so a client that exits with everything open is not a "leak". */
extern struct ctx api_ctx;

struct batch {
	struct ugpu_cmdbuf cb;
	uint64_t va;
};

/* Dword @idx of the scratch page: its CPU address, its GPU address. */
uint32_t *api_scr(struct ctx *c, unsigned int idx);
uint64_t api_scr_va(unsigned int idx);

/**
 * api_sem_set - store @v in scratch dword @idx, sequentially consistent
 * @c:   the client
 * @idx: the dword
 * @v:   the value
 */
void api_sem_set(struct ctx *c, unsigned int idx, uint32_t v);

/**
 * api_ctx_open - open the device, query it, create the VM, bind batch memory
 * @c: the client (zeroed first)
 *
 * Each step is a "setup.*" check. Return: true if all worked.
 */
bool api_ctx_open(struct ctx *c);

/**
 * api_ctx_close - undo api_ctx_open(), checking unbind and VM destroy
 * @c: the client
 */
void api_ctx_close(struct ctx *c);

/**
 * api_va_top - the first GPU address past the VM (2^va_bits)
 * @c: the client
 */
uint64_t api_va_top(struct ctx *c);

/**
 * api_begin - start a batch in slot @slot of the batch memory
 * @c:    the client
 * @b:    the batch
 * @slot: 0 .. NSLOTS - 1
 *
 * Return: the command buffer to encode into.
 */
struct ugpu_cmdbuf *api_begin(struct ctx *c, struct batch *b, unsigned int slot);

/**
 * api_submit - end @b and submit it on @engine
 * @c:      the client
 * @b:      the batch
 * @engine: ENG_RENDER or ENG_COPY
 * @fence:  receives the job's fence
 *
 * Return: the encoder's or ugpu_exec()'s error.
 */
int api_submit(struct ctx *c, struct batch *b, uint32_t engine, uint64_t *fence);

/**
 * api_run_on - submit @b on @engine and wait for it
 * @c:      the client
 * @b:      the batch
 * @engine: the engine
 *
 * Return: exec's error, else the job's.
 */
int api_run_on(struct ctx *c, struct batch *b, uint32_t engine);

/**
 * api_run - api_run_on() ENG_RENDER
 * @c: the client
 * @b: the batch
 */
int api_run(struct ctx *c, struct batch *b);

/**
 * api_run_fault - run @b and check for a GPU page fault (-EFAULT from exec or wait)
 * @c:    the client
 * @b:    the batch
 * @name: the check
 */
bool api_run_fault(struct ctx *c, struct batch *b, const char *name);

/* One command through the GPU, waited for: store a dword, fill, copy. */
int api_gpu_store(struct ctx *c, uint64_t va, uint32_t v);
int api_gpu_fill(struct ctx *c, uint64_t va, uint64_t size, uint32_t v);
int api_gpu_copy(struct ctx *c, uint64_t dst, uint64_t src, uint64_t size);

/* ugpu_vm_bind_userptr() and ugpu_vm_unbind() in @c's VM. */
int api_bind_up(struct ctx *c, uint64_t va, const void *p, uint64_t size, uint32_t flags);
int api_unbind(struct ctx *c, uint64_t va, uint64_t size);

/**
 * api_make_bo - a BO of @size bytes of @byte, bound at @va (unless @va is 0)
 * @c:    the client
 * @size: bytes
 * @byte: its content
 * @va:   where to bind it, or 0
 * @bo:   receives its handle
 *
 * Each step is a "setup.*" check. Return: true if all worked.
 */
bool api_make_bo(struct ctx *c, uint64_t size, uint8_t byte, uint64_t va, uint32_t *bo);

/**
 * api_check_bo - check that bytes [@off, @off + @len) of @bo are all @byte
 * @c:    the client
 * @name: the check
 * @bo:   the BO
 * @off:  offset
 * @len:  bytes
 * @byte: the value
 */
bool api_check_bo(struct ctx *c, const char *name, uint32_t bo, uint64_t off, uint64_t len,
		  uint8_t byte);

/**
 * api_submit_blocked - submit a job that waits for scratch dword @sem == 1, then stores
 * @c:        the client
 * @slot:     batch slot
 * @engine:   the engine
 * @sem:      scratch dword it waits on (the CPU writes it later)
 * @store_va: where it then stores @v
 * @v:        the value
 * @fence:    receives the job's fence
 *
 * Return: as api_submit().
 */
int api_submit_blocked(struct ctx *c, unsigned int slot, uint32_t engine, unsigned int sem,
		       uint64_t store_va, uint32_t v, uint64_t *fence);

/* ---- main ------------------------------------------------------------- */

struct api_scenario {
	const char *name;
	void (*fn)(int argc, char **argv);
};

/**
 * api_main - a program's main(): run the scenario argv[1] of @table on argv[2]
 * @argc:  main()'s
 * @argv:  main()'s
 * @table: the program's scenarios
 * @n:     how many
 *
 * Prints "done <scenario>" after it. Return: 0 if every check passed, 1 if
 * one failed, 2 for bad usage or an unknown scenario.
 */
int api_main(int argc, char **argv, const struct api_scenario *table, size_t n);

#endif
