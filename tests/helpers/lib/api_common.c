// SPDX-License-Identifier: MIT
/*
 * What the api_* client programs share (api_common.h): reporting each
 * check as a line, checks of memory contents, a client with a VM and
 * batch memory and the jobs it runs, and main().
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "tests/helpers/lib/api_common.h"

const char *api_path;
const char *api_scn;
int api_fail;

/* ---- reporting -------------------------------------------------------- */

const char *api_errname(int r)
{
	static char buf[4][64];
	static int i;
	char *b = buf[i++ & 3];

	if (r >= 0)
		snprintf(b, 64, "%d", r);
	else
		snprintf(b, 64, "-%s", strerrorname_np(-r) ? strerrorname_np(-r) : "?");
	return b;
}

bool api_report(bool pass, const char *name, const char *fmt, ...)
{
	va_list ap;

	if (pass) {
		printf("ok %s.%s\n", api_scn, name);
		return true;
	}
	api_fail++;
	printf("not ok %s.%s: ", api_scn, name);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
	return false;
}

bool api_expect(const char *name, int got, int want)
{
	return api_report(got == want, name, "got %s, want %s", api_errname(got),
			  api_errname(want));
}

bool api_expect2(const char *name, int got, int a, int b)
{
	return api_report(got == a || got == b, name, "got %s, want %s or %s", api_errname(got),
			  api_errname(a), api_errname(b));
}

bool api_expect_quota(const char *name, int got)
{
	return api_expect2(name, got, -ENOSPC, -EDQUOT);
}

bool api_expect_gone(const char *name, int got)
{
	return api_expect2(name, got, -ENODEV, -ENOTCONN);
}

/* A check name built with printf; four rotate, enough for one call. */
const char *api_nm(const char *fmt, ...)
{
	static char buf[4][128];
	static int i;
	char *b = buf[i++ & 3];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(b, 128, fmt, ap);
	va_end(ap);
	return b;
}

bool api_wait_go(void)
{
	char line[64];

	printf("ready\n");
	return fgets(line, sizeof(line), stdin) && !strncmp(line, "go", 2);
}

/* ---- memory ----------------------------------------------------------- */

void *api_map_anon(uint64_t len)
{
	void *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	return p == MAP_FAILED ? NULL : p;
}

/* Fresh private anonymous memory at exactly @addr (replacing what is there). */
bool api_remap_anon(void *addr, uint64_t len)
{
	void *p = mmap(addr, len, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);

	return p == addr;
}

uint32_t api_rd32(const void *p)
{
	return *(const volatile uint32_t *)p;
}

/* First offset in [p, p + len) whose byte is not @v, or -1. */
long long api_find_not_byte(const void *p, uint64_t len, uint8_t v)
{
	const uint8_t *b = p;
	uint64_t i;

	for (i = 0; i < len; i++)
		if (b[i] != v)
			return (long long)i;
	return -1;
}

static long long find_not_dw(const void *p, uint64_t len, uint32_t v)
{
	const uint32_t *d = p;
	uint64_t i;

	for (i = 0; i < len / 4; i++)
		if (d[i] != v)
			return (long long)i * 4;
	return -1;
}

bool api_check_bytes(const char *name, const void *p, uint64_t len, uint8_t v)
{
	long long at = api_find_not_byte(p, len, v);

	return api_report(at < 0, name, "byte at +%lld is 0x%02x, want 0x%02x", at,
			  at < 0 ? 0 : ((const uint8_t *)p)[at], v);
}

bool api_check_dws(const char *name, const void *p, uint64_t len, uint32_t v)
{
	long long at = find_not_dw(p, len, v);

	return api_report(at < 0, name, "dword at +%lld is 0x%08x, want 0x%08x", at,
			  at < 0 ? 0 : api_rd32((const uint8_t *)p + at), v);
}

bool api_check_dw(const char *name, const void *p, uint32_t v)
{
	uint32_t got = api_rd32(p);

	return api_report(got == v, name, "dword 0x%08x, want 0x%08x", got, v);
}

/* ---- a client with a VM and batch memory ------------------------------ */

struct ctx api_ctx;

uint32_t *api_scr(struct ctx *c, unsigned int idx)
{
	return (uint32_t *)(c->host + BATCH_BYTES) + idx;
}

uint64_t api_scr_va(unsigned int idx)
{
	return SCRATCH_VA + idx * 4ull;
}

void api_sem_set(struct ctx *c, unsigned int idx, uint32_t v)
{
	__atomic_store_n(api_scr(c, idx), v, __ATOMIC_SEQ_CST);
}

bool api_ctx_open(struct ctx *c)
{
	memset(c, 0, sizeof(*c));
	if (!api_expect("setup.open", ugpu_open(api_path, &c->dev), 0))
		return false;
	if (!api_expect("setup.query", ugpu_query(c->dev, &c->info), 0))
		return false;
	if (!api_expect("setup.vm_create", ugpu_vm_create(c->dev, 0, &c->vm), 0))
		return false;
	c->host = ugpu_host_alloc(c->dev, HOST_BYTES);
	if (!api_report(c->host != NULL, "setup.host_alloc", "NULL"))
		return false;
	memset(c->host, 0, HOST_BYTES);
	return api_expect("setup.bind_batch",
			  ugpu_vm_bind_userptr(c->dev, c->vm, BATCH_VA, c->host, HOST_BYTES, 0), 0);
}

void api_ctx_close(struct ctx *c)
{
	api_expect("teardown.unbind_batch", ugpu_vm_unbind(c->dev, c->vm, BATCH_VA, HOST_BYTES), 0);
	ugpu_host_free(c->dev, c->host, HOST_BYTES);
	api_expect("teardown.vm_destroy", ugpu_vm_destroy(c->dev, c->vm), 0);
	ugpu_close(c->dev);
	memset(c, 0, sizeof(*c));
}

uint64_t api_va_top(struct ctx *c)
{
	return c->info.va_bits >= 64 ? UINT64_MAX : 1ull << c->info.va_bits;
}

struct ugpu_cmdbuf *api_begin(struct ctx *c, struct batch *b, unsigned int slot)
{
	ugpu_cmd_init(&b->cb, c->host + slot * SLOT_BYTES, SLOT_BYTES);
	b->va = BATCH_VA + slot * SLOT_BYTES;
	return &b->cb;
}

int api_submit(struct ctx *c, struct batch *b, uint32_t engine, uint64_t *fence)
{
	int r = ugpu_cmd_end(&b->cb);

	if (r)
		return r;
	return ugpu_exec(c->dev, c->vm, engine, b->va, b->cb.len * 4, fence);
}

/* Submit on @engine and wait: exec's error, else the job's. */
int api_run_on(struct ctx *c, struct batch *b, uint32_t engine)
{
	uint64_t fence;
	int r = api_submit(c, b, engine, &fence);

	return r ? r : ugpu_wait(c->dev, fence, WAIT_NS);
}

int api_run(struct ctx *c, struct batch *b)
{
	return api_run_on(c, b, ENG_RENDER);
}

/* A GPU page fault: -EFAULT from ugpu_exec, or from ugpu_wait. */
bool api_run_fault(struct ctx *c, struct batch *b, const char *name)
{
	return api_expect(name, api_run(c, b), -EFAULT);
}

/* Store one dword through the GPU and wait. */
int api_gpu_store(struct ctx *c, uint64_t va, uint32_t v)
{
	struct batch b;

	ugpu_cmd_store_dword(api_begin(c, &b, 0), va, v);
	return api_run(c, &b);
}

int api_gpu_fill(struct ctx *c, uint64_t va, uint64_t size, uint32_t v)
{
	struct batch b;

	ugpu_cmd_fill(api_begin(c, &b, 0), va, size, v);
	return api_run(c, &b);
}

int api_gpu_copy(struct ctx *c, uint64_t dst, uint64_t src, uint64_t size)
{
	struct batch b;

	ugpu_cmd_copy(api_begin(c, &b, 0), dst, src, size);
	return api_run(c, &b);
}

int api_bind_up(struct ctx *c, uint64_t va, const void *p, uint64_t size, uint32_t flags)
{
	return ugpu_vm_bind_userptr(c->dev, c->vm, va, p, size, flags);
}

int api_unbind(struct ctx *c, uint64_t va, uint64_t size)
{
	return ugpu_vm_unbind(c->dev, c->vm, va, size);
}

/* A BO of @size bytes of @byte, bound at @va (unless @va is 0). */
bool api_make_bo(struct ctx *c, uint64_t size, uint8_t byte, uint64_t va, uint32_t *bo)
{
	uint8_t *tmp = malloc(size);
	bool ok;

	if (!tmp)
		return api_report(false, "setup.bo_malloc", "ENOMEM");
	memset(tmp, byte, size);
	ok = api_expect("setup.bo_create", ugpu_bo_create(c->dev, size, 0, bo), 0) &&
	     api_expect("setup.bo_pwrite", ugpu_bo_pwrite(c->dev, *bo, 0, tmp, size), 0) &&
	     (!va || api_expect("setup.bo_bind",
				ugpu_vm_bind_bo(c->dev, c->vm, va, *bo, 0, size, 0), 0));
	free(tmp);
	return ok;
}

bool api_check_bo(struct ctx *c, const char *name, uint32_t bo, uint64_t off, uint64_t len,
		  uint8_t byte)
{
	uint8_t *tmp = malloc(len);
	int r;
	bool ok;

	if (!tmp)
		return api_report(false, name, "ENOMEM");
	r = ugpu_bo_pread(c->dev, bo, off, tmp, len);
	ok = r ? api_expect(name, r, 0) : api_check_bytes(name, tmp, len, byte);
	free(tmp);
	return ok;
}

/* A job blocked on a semaphore the CPU writes later. */
int api_submit_blocked(struct ctx *c, unsigned int slot, uint32_t engine, unsigned int sem,
		       uint64_t store_va, uint32_t v, uint64_t *fence)
{
	struct batch b;

	api_begin(c, &b, slot);
	ugpu_cmd_semaphore_wait(&b.cb, api_scr_va(sem), UGPU_SEM_EQ, 1);
	ugpu_cmd_store_dword(&b.cb, store_va, v);
	return api_submit(c, &b, engine, fence);
}
/* ---- main --------------------------------------------------------------- */

int api_main(int argc, char **argv, const struct api_scenario *table, size_t n)
{
	size_t i;

	setvbuf(stdout, NULL, _IOLBF, 0);
	if (argc < 3) {
		fprintf(stderr, "usage: %s SCENARIO DEVICE [ARGS...]\n",
			program_invocation_short_name);
		return 2;
	}
	api_scn = argv[1];
	api_path = argv[2];
	for (i = 0; i < n; i++) {
		if (strcmp(table[i].name, argv[1]))
			continue;
		table[i].fn(argc, argv);
		printf("done %s\n", api_scn);
		return api_fail ? 1 : 0;
	}
	fprintf(stderr, "%s: unknown scenario %s\n", program_invocation_short_name, argv[1]);
	return 2;
}
