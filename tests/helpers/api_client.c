// SPDX-License-Identifier: MIT
/*
 * api_client: a real libugpu client for tests/integration/api_test.c.
 * It links libugpu and runs one scenario of API.md, chosen by argv[1],
 * against the device named by argv[2]: `api_client SCENARIO DEVICE
 * [ARGS...]`. Each check
 * prints one line, "ok <scenario>.<check>" or "not ok <scenario>.<check>:
 * <what happened>"; the last line is "done <scenario>" and the exit status
 * is non-zero if any check failed. Scenarios that need the test to act in
 * between print "ready ..." and then read one line ("go") from stdin.
 * Errors are asserted exactly as API.md's table gives them; where the
 * contract allows two values both are accepted and nothing else.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

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

static const char *g_path;	/* the device */
static const char *g_scn;	/* the scenario, prefix of every check */
static int g_fail;

/* ---- reporting -------------------------------------------------------- */

static const char *errname(int r)
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

__attribute__((format(printf, 3, 4)))
static bool report(bool pass, const char *name, const char *fmt, ...)
{
	va_list ap;

	if (pass) {
		printf("ok %s.%s\n", g_scn, name);
		return true;
	}
	g_fail++;
	printf("not ok %s.%s: ", g_scn, name);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
	return false;
}

#define CHECK(cond, name) report(!!(cond), name, "%s (line %d)", #cond, __LINE__)

static bool expect(const char *name, int got, int want)
{
	return report(got == want, name, "got %s, want %s", errname(got), errname(want));
}

static bool expect2(const char *name, int got, int a, int b)
{
	return report(got == a || got == b, name, "got %s, want %s or %s", errname(got),
		      errname(a), errname(b));
}

static bool expect_quota(const char *name, int got)
{
	return expect2(name, got, -ENOSPC, -EDQUOT);
}

static bool expect_gone(const char *name, int got)
{
	return expect2(name, got, -ENODEV, -ENOTCONN);
}

/* A check name built with printf; four rotate, enough for one call. */
__attribute__((format(printf, 1, 2)))
static const char *nm(const char *fmt, ...)
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

static bool wait_go(void)
{
	char line[64];

	printf("ready\n");
	return fgets(line, sizeof(line), stdin) && !strncmp(line, "go", 2);
}

/* ---- memory ----------------------------------------------------------- */

static void *map_anon(uint64_t len)
{
	void *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	return p == MAP_FAILED ? NULL : p;
}

/* Fresh private anonymous memory at exactly @addr (replacing what is there). */
static bool remap_anon(void *addr, uint64_t len)
{
	void *p = mmap(addr, len, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);

	return p == addr;
}

static uint32_t rd32(const void *p)
{
	return *(const volatile uint32_t *)p;
}

/* First offset in [p, p + len) whose byte is not @v, or -1. */
static long long find_not_byte(const void *p, uint64_t len, uint8_t v)
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

static bool check_bytes(const char *name, const void *p, uint64_t len, uint8_t v)
{
	long long at = find_not_byte(p, len, v);

	return report(at < 0, name, "byte at +%lld is 0x%02x, want 0x%02x", at,
		      at < 0 ? 0 : ((const uint8_t *)p)[at], v);
}

static bool check_dws(const char *name, const void *p, uint64_t len, uint32_t v)
{
	long long at = find_not_dw(p, len, v);

	return report(at < 0, name, "dword at +%lld is 0x%08x, want 0x%08x", at,
		      at < 0 ? 0 : rd32((const uint8_t *)p + at), v);
}

static bool check_dw(const char *name, const void *p, uint32_t v)
{
	uint32_t got = rd32(p);

	return report(got == v, name, "dword 0x%08x, want 0x%08x", got, v);
}

/* ---- CRC32C, as the CHECKSUM command computes it ---------------------- */

static uint32_t crc_table[256];

static void crc_init(void)
{
	uint32_t i, k, c;

	for (i = 0; i < 256; i++) {
		for (c = i, k = 0; k < 8; k++)
			c = c & 1 ? (c >> 1) ^ 0x82f63b78u : c >> 1;
		crc_table[i] = c;
	}
}

#if defined(__x86_64__)
__attribute__((target("sse4.2")))
static uint32_t crc_hw(uint32_t crc, const uint8_t *p, uint64_t n)
{
	uint64_t c = crc, v;

	for (; n >= 8; n -= 8, p += 8) {
		memcpy(&v, p, 8);
		c = __builtin_ia32_crc32di(c, v);
	}
	for (; n; n--)
		c = __builtin_ia32_crc32qi((uint32_t)c, *p++);
	return (uint32_t)c;
}
#endif

static uint32_t crc32c(const void *buf, uint64_t n)
{
	const uint8_t *p = buf;
	uint32_t crc = 0xffffffffu;

#if defined(__x86_64__)
	if (__builtin_cpu_supports("sse4.2"))
		return crc_hw(crc, p, n) ^ 0xffffffffu;
#endif
	while (n--)
		crc = crc_table[(crc ^ *p++) & 0xff] ^ (crc >> 8);
	return crc ^ 0xffffffffu;
}

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

/* Static, so a client that exits with everything open is not a "leak". */
static struct ctx C;

struct batch {
	struct ugpu_cmdbuf cb;
	uint64_t va;
};

static uint32_t *scr(struct ctx *c, unsigned int idx)
{
	return (uint32_t *)(c->host + BATCH_BYTES) + idx;
}

static uint64_t scr_va(unsigned int idx)
{
	return SCRATCH_VA + idx * 4ull;
}

static void sem_set(struct ctx *c, unsigned int idx, uint32_t v)
{
	__atomic_store_n(scr(c, idx), v, __ATOMIC_SEQ_CST);
}

static bool ctx_open(struct ctx *c)
{
	memset(c, 0, sizeof(*c));
	if (!expect("setup.open", ugpu_open(g_path, &c->dev), 0))
		return false;
	if (!expect("setup.query", ugpu_query(c->dev, &c->info), 0))
		return false;
	if (!expect("setup.vm_create", ugpu_vm_create(c->dev, 0, &c->vm), 0))
		return false;
	c->host = ugpu_host_alloc(c->dev, HOST_BYTES);
	if (!report(c->host != NULL, "setup.host_alloc", "NULL"))
		return false;
	memset(c->host, 0, HOST_BYTES);
	return expect("setup.bind_batch",
		      ugpu_vm_bind_userptr(c->dev, c->vm, BATCH_VA, c->host, HOST_BYTES, 0), 0);
}

static void ctx_close(struct ctx *c)
{
	expect("teardown.unbind_batch", ugpu_vm_unbind(c->dev, c->vm, BATCH_VA, HOST_BYTES), 0);
	ugpu_host_free(c->dev, c->host, HOST_BYTES);
	expect("teardown.vm_destroy", ugpu_vm_destroy(c->dev, c->vm), 0);
	ugpu_close(c->dev);
	memset(c, 0, sizeof(*c));
}

static uint64_t va_top(struct ctx *c)
{
	return c->info.va_bits >= 64 ? UINT64_MAX : 1ull << c->info.va_bits;
}

static struct ugpu_cmdbuf *begin(struct ctx *c, struct batch *b, unsigned int slot)
{
	ugpu_cmd_init(&b->cb, c->host + slot * SLOT_BYTES, SLOT_BYTES);
	b->va = BATCH_VA + slot * SLOT_BYTES;
	return &b->cb;
}

static int submit(struct ctx *c, struct batch *b, uint32_t engine, uint64_t *fence)
{
	int r = ugpu_cmd_end(&b->cb);

	if (r)
		return r;
	return ugpu_exec(c->dev, c->vm, engine, b->va, b->cb.len * 4, fence);
}

/* Submit on @engine and wait: exec's error, else the job's. */
static int run_on(struct ctx *c, struct batch *b, uint32_t engine)
{
	uint64_t fence;
	int r = submit(c, b, engine, &fence);

	return r ? r : ugpu_wait(c->dev, fence, WAIT_NS);
}

static int run(struct ctx *c, struct batch *b)
{
	return run_on(c, b, ENG_RENDER);
}

/* A GPU page fault: -EFAULT from ugpu_exec, or from ugpu_wait. */
static bool run_fault(struct ctx *c, struct batch *b, const char *name)
{
	return expect(name, run(c, b), -EFAULT);
}

/* Store one dword through the GPU and wait. */
static int gpu_store(struct ctx *c, uint64_t va, uint32_t v)
{
	struct batch b;

	ugpu_cmd_store_dword(begin(c, &b, 0), va, v);
	return run(c, &b);
}

static int gpu_fill(struct ctx *c, uint64_t va, uint64_t size, uint32_t v)
{
	struct batch b;

	ugpu_cmd_fill(begin(c, &b, 0), va, size, v);
	return run(c, &b);
}

static int gpu_copy(struct ctx *c, uint64_t dst, uint64_t src, uint64_t size)
{
	struct batch b;

	ugpu_cmd_copy(begin(c, &b, 0), dst, src, size);
	return run(c, &b);
}

static int bind_up(struct ctx *c, uint64_t va, const void *p, uint64_t size, uint32_t flags)
{
	return ugpu_vm_bind_userptr(c->dev, c->vm, va, p, size, flags);
}

static int unbind(struct ctx *c, uint64_t va, uint64_t size)
{
	return ugpu_vm_unbind(c->dev, c->vm, va, size);
}

/* A BO of @size bytes of @byte, bound at @va (unless @va is 0). */
static bool make_bo(struct ctx *c, uint64_t size, uint8_t byte, uint64_t va, uint32_t *bo)
{
	uint8_t *tmp = malloc(size);
	bool ok;

	if (!tmp)
		return report(false, "setup.bo_malloc", "ENOMEM");
	memset(tmp, byte, size);
	ok = expect("setup.bo_create", ugpu_bo_create(c->dev, size, 0, bo), 0) &&
	     expect("setup.bo_pwrite", ugpu_bo_pwrite(c->dev, *bo, 0, tmp, size), 0) &&
	     (!va || expect("setup.bo_bind", ugpu_vm_bind_bo(c->dev, c->vm, va, *bo, 0, size, 0), 0));
	free(tmp);
	return ok;
}

static bool check_bo(struct ctx *c, const char *name, uint32_t bo, uint64_t off, uint64_t len,
		     uint8_t byte)
{
	uint8_t *tmp = malloc(len);
	int r;
	bool ok;

	if (!tmp)
		return report(false, name, "ENOMEM");
	r = ugpu_bo_pread(c->dev, bo, off, tmp, len);
	ok = r ? expect(name, r, 0) : check_bytes(name, tmp, len, byte);
	free(tmp);
	return ok;
}

/* ---- scenarios: the error table ---------------------------------------- */

static void scn_query(int argc, char **argv)
{
	struct ugpu_info in;
	struct ugpu *dev;

	if (!expect("open", ugpu_open(g_path, &dev), 0))
		return;
	memset(&in, 0xff, sizeof(in));
	if (expect("query", ugpu_query(dev, &in), 0)) {
		report(!strcmp(in.backend, "sim"), "backend", "\"%.16s\"", in.backend);
		report(in.num_engines >= 2, "num_engines", "%u", in.num_engines);
		report(in.va_bits >= 32 && in.va_bits <= 64, "va_bits", "%" PRIu64, in.va_bits);
		report(in.features & UGPU_FEATURE_USERPTR, "features_userptr",
		       "features 0x%" PRIx64, in.features);
		report(in.abi_version == UGPU_ABI_VERSION, "abi_version", "%u", in.abi_version);
	}
	ugpu_close(dev);
}

static void errors_bind_bo(struct ctx *c, uint32_t bo)
{
	uint64_t top = va_top(c), over = ~(PAGE - 1);
#define BB(va, off, size, flags) ugpu_vm_bind_bo(c->dev, c->vm, va, bo, off, size, flags)

	expect("bind_bo.unknown_flag", BB(DATA_VA, 0, PAGE, 1u << 7), -EINVAL);
	expect("bind_bo.unknown_flag_high", BB(DATA_VA, 0, PAGE, 1u << 31), -EINVAL);
	expect("bind_bo.size0", BB(DATA_VA, 0, 0, 0), -EINVAL);
	expect("bind_bo.unaligned_va", BB(DATA_VA + 2048, 0, PAGE, 0), -EINVAL);
	expect("bind_bo.unaligned_offset", BB(DATA_VA, 2048, PAGE, 0), -EINVAL);
	expect("bind_bo.unaligned_size", BB(DATA_VA, 0, 6000, 0), -EINVAL);
	expect("bind_bo.va_at_top", BB(top, 0, PAGE, 0), -EINVAL);
	expect("bind_bo.va_past_top", BB(top - PAGE, 0, 2 * PAGE, 0), -EINVAL);
	expect("bind_bo.va_far", BB(1ull << 63, 0, PAGE, 0), -EINVAL);
	expect2("bind_bo.va_overflow", BB(over, 0, 2 * PAGE, 0), -EINVAL, -EOVERFLOW);
#undef BB
}

static void errors_bind_userptr(struct ctx *c, uint8_t *buf)
{
	uint64_t top = va_top(c), over = ~(PAGE - 1);
	void *wrap = (void *)(uintptr_t)over;
#define BU(va, ptr, size, flags) ugpu_vm_bind_userptr(c->dev, c->vm, va, ptr, size, flags)

	expect("bind_userptr.unknown_flag", BU(DATA_VA, buf, PAGE, 1u << 7), -EINVAL);
	expect("bind_userptr.unknown_flag_high", BU(DATA_VA, buf, PAGE, 1u << 31), -EINVAL);
	expect("bind_userptr.size0", BU(DATA_VA, buf, 0, 0), -EINVAL);
	expect("bind_userptr.unaligned_ptr", BU(DATA_VA, buf + 64, PAGE, 0), -EINVAL);
	expect("bind_userptr.unaligned_va", BU(DATA_VA + 64, buf, PAGE, 0), -EINVAL);
	expect("bind_userptr.unaligned_size", BU(DATA_VA, buf, 6000, 0), -EINVAL);
	expect("bind_userptr.va_at_top", BU(top, buf, PAGE, 0), -EINVAL);
	expect("bind_userptr.va_past_top", BU(top - PAGE, buf, 2 * PAGE, 0), -EINVAL);
	expect("bind_userptr.va_far", BU(1ull << 63, buf, PAGE, 0), -EINVAL);
	expect2("bind_userptr.va_overflow", BU(over, buf, 2 * PAGE, 0), -EINVAL, -EOVERFLOW);
	expect2("bind_userptr.ptr_overflow", BU(DATA_VA, wrap, 2 * PAGE, 0), -EINVAL, -EOVERFLOW);
#undef BU
}

static void errors_unbind(struct ctx *c)
{
	uint64_t top = va_top(c), over = ~(PAGE - 1);

	expect("unbind.size0", unbind(c, DATA_VA, 0), -EINVAL);
	expect("unbind.unaligned_va", unbind(c, DATA_VA + 64, PAGE), -EINVAL);
	expect("unbind.unaligned_size", unbind(c, DATA_VA, 6000), -EINVAL);
	expect("unbind.va_at_top", unbind(c, top, PAGE), -EINVAL);
	expect("unbind.va_past_top", unbind(c, top - PAGE, 2 * PAGE), -EINVAL);
	expect2("unbind.va_overflow", unbind(c, over, 2 * PAGE), -EINVAL, -EOVERFLOW);
}

static void errors_enoent(struct ctx *c, uint8_t *buf)
{
	struct ugpu *d = c->dev;
	uint32_t vm2, bo, bo2;
	uint8_t tmp[64] = { 0 };
	uint64_t fence;

	if (!expect("setup.vm2", ugpu_vm_create(d, 0, &vm2), 0) ||
	    !expect("setup.bo", ugpu_bo_create(d, 16 * PAGE, 0, &bo), 0))
		return;
	expect("vm_destroy", ugpu_vm_destroy(d, vm2), 0);
	expect("vm_destroy.twice", ugpu_vm_destroy(d, vm2), -ENOENT);
	expect("bind_bo.destroyed_vm", ugpu_vm_bind_bo(d, vm2, DATA_VA, bo, 0, PAGE, 0), -ENOENT);
	expect("bind_userptr.destroyed_vm", ugpu_vm_bind_userptr(d, vm2, DATA_VA, buf, PAGE, 0), -ENOENT);
	expect("unbind.destroyed_vm", ugpu_vm_unbind(d, vm2, DATA_VA, PAGE), -ENOENT);
	expect("exec.destroyed_vm", ugpu_exec(d, vm2, ENG_RENDER, BATCH_VA, 4, &fence), -ENOENT);
	expect("vm_destroy.never_created", ugpu_vm_destroy(d, 0x7fff1234), -ENOENT);
	expect("exec.never_created_vm",
	       ugpu_exec(d, 0x7fff1234, ENG_RENDER, BATCH_VA, 4, &fence), -ENOENT);

	if (!expect("setup.bo2", ugpu_bo_create(d, PAGE, 0, &bo2), 0))
		return;
	expect("bo_destroy", ugpu_bo_destroy(d, bo2), 0);
	expect("bo_destroy.twice", ugpu_bo_destroy(d, bo2), -ENOENT);
	expect("bo_pread.destroyed", ugpu_bo_pread(d, bo2, 0, tmp, sizeof(tmp)), -ENOENT);
	expect("bo_pwrite.destroyed", ugpu_bo_pwrite(d, bo2, 0, tmp, sizeof(tmp)), -ENOENT);
	expect("bind_bo.destroyed_bo", ugpu_vm_bind_bo(d, c->vm, BO_VA, bo2, 0, PAGE, 0), -ENOENT);
	expect("bo_pread.never_created", ugpu_bo_pread(d, 0x7fff1234, 0, tmp, sizeof(tmp)), -ENOENT);
	expect("bo_destroy.never_created", ugpu_bo_destroy(d, 0x7fff1234), -ENOENT);
	expect("teardown.bo_destroy", ugpu_bo_destroy(d, bo), 0);
}

/* Every -EINVAL row of the table, and -ENOENT for destroyed ids. */
static void scn_errors(int argc, char **argv)
{
	struct ctx *c = &C;
	uint8_t *buf;
	uint32_t v, bo;

	if (!ctx_open(c))
		return;
	buf = map_anon(16 * PAGE);
	if (!report(buf != NULL, "setup.map", "mmap failed"))
		return;
	expect("vm_create.unknown_flag", ugpu_vm_create(c->dev, 1u << 31, &v), -EINVAL);
	expect("bo_create.size0", ugpu_bo_create(c->dev, 0, 0, &v), -EINVAL);
	expect("bo_create.unaligned_size", ugpu_bo_create(c->dev, 6000, 0, &v), -EINVAL);
	expect("bo_create.unknown_flag", ugpu_bo_create(c->dev, PAGE, 1u << 31, &v), -EINVAL);
	if (expect("setup.bo_create", ugpu_bo_create(c->dev, 16 * PAGE, 0, &bo), 0)) {
		errors_bind_bo(c, bo);
		expect("teardown.bo_destroy", ugpu_bo_destroy(c->dev, bo), 0);
	}
	errors_bind_userptr(c, buf);
	errors_unbind(c);
	/* None of the rejected binds may have mapped anything. */
	{
		struct batch b;

		ugpu_cmd_store_dword(begin(c, &b, 0), DATA_VA, 1);
		run_fault(c, &b, "rejected_binds_mapped_nothing");
	}
	errors_enoent(c, buf);
	munmap(buf, 16 * PAGE);
	ctx_close(c);
}

/* Two clients in one process: each one's ids are -ENOENT to the other. */
static void scn_two_clients(int argc, char **argv)
{
	struct ctx *a = &C;
	struct ugpu *b;
	uint8_t *buf, tmp[256];
	uint32_t bo_a, vm_b;
	uint64_t fence;

	if (!ctx_open(a) || !make_bo(a, PAGE, 0x42, 0, &bo_a))
		return;
	if (!expect("open_b", ugpu_open(g_path, &b), 0))
		return;
	buf = map_anon(PAGE);
	memset(tmp, 0x99, sizeof(tmp));
	/* B owns nothing yet, so no id of A can be one of B's own. */
	expect("vm_destroy.other_client", ugpu_vm_destroy(b, a->vm), -ENOENT);
	expect("bind_userptr.other_client_vm",
	       ugpu_vm_bind_userptr(b, a->vm, DATA_VA, buf, PAGE, 0), -ENOENT);
	expect("bind_bo.other_client_vm", ugpu_vm_bind_bo(b, a->vm, BO_VA, bo_a, 0, PAGE, 0), -ENOENT);
	expect("unbind.other_client_vm", ugpu_vm_unbind(b, a->vm, BATCH_VA, PAGE), -ENOENT);
	expect("exec.other_client_vm", ugpu_exec(b, a->vm, ENG_RENDER, BATCH_VA, 4, &fence), -ENOENT);
	expect("bo_pread.other_client", ugpu_bo_pread(b, bo_a, 0, tmp, sizeof(tmp)), -ENOENT);
	expect("bo_pwrite.other_client", ugpu_bo_pwrite(b, bo_a, 0, tmp, sizeof(tmp)), -ENOENT);
	expect("bo_destroy.other_client", ugpu_bo_destroy(b, bo_a), -ENOENT);
	if (expect("vm_create_b", ugpu_vm_create(b, 0, &vm_b), 0)) {
		expect("bind_bo.other_client_bo", ugpu_vm_bind_bo(b, vm_b, BO_VA, bo_a, 0, PAGE, 0), -ENOENT);
		expect("vm_destroy_b", ugpu_vm_destroy(b, vm_b), 0);
	}
	/* A's objects are untouched. */
	check_bo(a, "a_bo_intact", bo_a, 0, PAGE, 0x42);
	expect("a_vm_works", gpu_store(a, scr_va(S_RES), 0xa11ce), 0);
	check_dw("a_vm_store_visible", scr(a, S_RES), 0xa11ce);
	ugpu_close(b);
	expect("teardown.bo_destroy", ugpu_bo_destroy(a->dev, bo_a), 0);
	munmap(buf, PAGE);
	ctx_close(a);
}

/* Client A of two processes: print its ids, keep them until told. */
static void scn_hold(int argc, char **argv)
{
	struct ctx *c = &C;
	uint32_t bo;
	char line[64];

	if (!ctx_open(c) || !make_bo(c, PAGE, 0x42, 0, &bo))
		return;
	printf("ids %u %u\n", c->vm, bo);
	if (!fgets(line, sizeof(line), stdin))
		return;
	check_bo(c, "bo_intact", bo, 0, PAGE, 0x42);
	expect("vm_works", gpu_store(c, scr_va(S_RES), 0xa11ce), 0);
	check_dw("vm_store_visible", scr(c, S_RES), 0xa11ce);
	expect("teardown.bo_destroy", ugpu_bo_destroy(c->dev, bo), 0);
	ctx_close(c);
}

/* Client B of two processes: A's VM and BO ids (argv[3], argv[4]). */
static void scn_foreign(int argc, char **argv)
{
	struct ugpu *d;
	uint32_t vm, bo, own;
	uint8_t *buf, tmp[256] = { 0 };
	uint64_t fence;

	if (!report(argc >= 5, "args", "need VM BO"))
		return;
	vm = (uint32_t)strtoul(argv[3], NULL, 0);
	bo = (uint32_t)strtoul(argv[4], NULL, 0);
	if (!expect("open", ugpu_open(g_path, &d), 0))
		return;
	buf = map_anon(PAGE);
	expect("vm_destroy", ugpu_vm_destroy(d, vm), -ENOENT);
	expect("bind_userptr", ugpu_vm_bind_userptr(d, vm, DATA_VA, buf, PAGE, 0), -ENOENT);
	expect("bind_bo", ugpu_vm_bind_bo(d, vm, BO_VA, bo, 0, PAGE, 0), -ENOENT);
	expect("unbind", ugpu_vm_unbind(d, vm, BATCH_VA, PAGE), -ENOENT);
	expect("exec", ugpu_exec(d, vm, ENG_RENDER, BATCH_VA, 4, &fence), -ENOENT);
	expect("bo_pread", ugpu_bo_pread(d, bo, 0, tmp, sizeof(tmp)), -ENOENT);
	expect("bo_pwrite", ugpu_bo_pwrite(d, bo, 0, tmp, sizeof(tmp)), -ENOENT);
	expect("bo_destroy", ugpu_bo_destroy(d, bo), -ENOENT);
	if (expect("vm_create", ugpu_vm_create(d, 0, &own), 0)) {
		expect("bind_bo.own_vm", ugpu_vm_bind_bo(d, own, BO_VA, bo, 0, PAGE, 0), -ENOENT);
		expect("teardown.vm_destroy", ugpu_vm_destroy(d, own), 0);
	}
	munmap(buf, PAGE);
	ugpu_close(d);
}

/* PROBE: -EFAULT at the bind for any unmapped page; lazily, at exec. */
static void scn_probe(int argc, char **argv)
{
	struct ctx *c = &C;
	struct batch b;
	uint8_t *p;

	if (!ctx_open(c))
		return;
	p = map_anon(4 * PAGE);
	memset(p, 0, 4 * PAGE);
	munmap(p + 2 * PAGE, PAGE);
	expect("hole", bind_up(c, DATA_VA, p, 4 * PAGE, UGPU_BIND_PROBE), -EFAULT);
	expect("hole_last_page", bind_up(c, DATA_VA, p + PAGE, 2 * PAGE, UGPU_BIND_PROBE), -EFAULT);
	expect("all_unmapped", bind_up(c, DATA_VA, p + 2 * PAGE, PAGE, UGPU_BIND_PROBE), -EFAULT);
	expect("hole_readonly", bind_up(c, DATA_VA, p, 4 * PAGE,
					 UGPU_BIND_PROBE | UGPU_BIND_READONLY), -EFAULT);
	ugpu_cmd_store_dword(begin(c, &b, 0), DATA_VA, 1);
	run_fault(c, &b, "failed_probe_mapped_nothing");
	CHECK(rd32(p) == 0, "failed_probe_wrote_nothing");

	if (expect("mapped", bind_up(c, DATA_VA, p, 2 * PAGE, UGPU_BIND_PROBE), 0)) {
		expect("mapped.exec", gpu_store(c, DATA_VA + PAGE + 4, 0xc0ffee), 0);
		check_dw("mapped.visible", p + PAGE + 4, 0xc0ffee);
		expect("mapped.unbind", unbind(c, DATA_VA, 2 * PAGE), 0);
	}
	/* Without PROBE the hole is found when a job needs it. */
	if (expect("lazy.bind_over_hole", bind_up(c, DATA_VA, p, 4 * PAGE, 0), 0)) {
		ugpu_cmd_store_dword(begin(c, &b, 0), DATA_VA + 2 * PAGE, 0xbad);
		run_fault(c, &b, "lazy.exec_into_hole");
		if (report(remap_anon(p + 2 * PAGE, PAGE), "lazy.remap", "mmap")) {
			expect("lazy.exec_after_remap", gpu_store(c, DATA_VA + 2 * PAGE + 8, 0xc0ffee), 0);
			check_dw("lazy.after_remap_visible", p + 2 * PAGE + 8, 0xc0ffee);
		}
		expect("lazy.unbind", unbind(c, DATA_VA, 4 * PAGE), 0);
	}
	munmap(p, 4 * PAGE);
	ctx_close(c);
}

/*
 * A forked child uses the parent's open device: userptr calls -EFAULT.
 * While the child lives, the parent's private pages are copy-on-write;
 * the GPU must follow the parent's copy and never write the child's.
 */
static void scn_fork(int argc, char **argv)
{
	struct ctx *c = &C;
	int to_child[2], to_parent[2], status;
	uint8_t *p, *q;
	char ch = 0;
	pid_t pid;

	if (!ctx_open(c))
		return;
	p = map_anon(4 * PAGE);
	q = map_anon(4 * PAGE);
	memset(p, 0, 4 * PAGE);
	memset(q, 0, 4 * PAGE);
	expect("parent.bind", bind_up(c, DATA_VA, p, 4 * PAGE, 0), 0);
	expect("parent.exec_before", gpu_store(c, DATA_VA, 0x1), 0);
	if (!report(pipe(to_child) == 0 && pipe(to_parent) == 0, "pipe", "failed"))
		return;
	fflush(stdout);
	pid = fork();
	if (pid == 0) {
		g_scn = "fork.child";
		g_fail = 0;
		expect("bind_userptr", bind_up(c, DATA2_VA, q, 4 * PAGE, 0), -EFAULT);
		expect("bind_userptr_probe", bind_up(c, DATA2_VA, q, 4 * PAGE, UGPU_BIND_PROBE), -EFAULT);
		expect("bind_userptr_readonly", bind_up(c, DATA2_VA, q, PAGE, UGPU_BIND_READONLY), -EFAULT);
		expect("bind_userptr_parents_range", bind_up(c, DATA2_VA, p, PAGE, 0), -EFAULT);
		fflush(stdout);
		/* Let the parent write through the GPU while we hold the COW pages. */
		if (write(to_parent[1], "c", 1) != 1 || read(to_child[0], &ch, 1) != 1)
			g_fail++;
		check_dw("own_copy_not_gpu_written", p + 8, 0);
		check_dw("own_copy_not_cpu_written", p + 16, 0);
		check_dw("own_copy_kept_old_value", p, 0x1);
		fflush(stdout);
		_exit(g_fail ? 1 : 0);
	}
	if (!report(pid > 0, "fork", "fork failed"))
		return;
	report(read(to_parent[0], &ch, 1) == 1, "child_checked", "no word from the child");
	/* Break COW on one page by a CPU write, leave the others shared. */
	*(volatile uint32_t *)(p + 16) = 0x77;
	expect("parent.exec_cow", gpu_store(c, DATA_VA + 8, 0xc0ffee), 0);
	check_dw("parent.cow_visible", p + 8, 0xc0ffee);
	expect("parent.exec_cow_shared_page", gpu_store(c, DATA_VA + 2 * PAGE, 0xc0ffee), 0);
	check_dw("parent.cow_shared_page_visible", p + 2 * PAGE, 0xc0ffee);
	report(write(to_child[1], "p", 1) == 1, "release_child", "write");
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	report(WIFEXITED(status) && WEXITSTATUS(status) == 0, "child_status", "0x%x", status);
	/* The parent's client is unaffected. */
	expect("parent.exec", gpu_store(c, DATA_VA + 12, 0xc0ffee), 0);
	check_dw("parent.visible", p + 12, 0xc0ffee);
	expect("parent.bind_after", bind_up(c, DATA2_VA, q, 4 * PAGE, 0), 0);
	expect("parent.unbind", unbind(c, DATA_VA, 4 * PAGE), 0);
	expect("parent.unbind2", unbind(c, DATA2_VA, 4 * PAGE), 0);
	close(to_child[0]);
	close(to_child[1]);
	close(to_parent[0]);
	close(to_parent[1]);
	munmap(p, 4 * PAGE);
	munmap(q, 4 * PAGE);
	ctx_close(c);
}

/* ---- scenarios: userptr semantics ------------------------------------- */

/* STORE_DWORD and FILL into malloc'd memory. */
static void scn_userptr_store(int argc, char **argv)
{
	struct ctx *c = &C;
	const uint64_t len = 64 * KiB;
	struct batch b;
	uint8_t *p = NULL;

	if (!ctx_open(c))
		return;
	if (!report(posix_memalign((void **)&p, PAGE, len) == 0, "malloc", "ENOMEM"))
		return;
	memset(p, 0, len);
	if (expect("bind", bind_up(c, DATA_VA, p, len, 0), 0)) {
		begin(c, &b, 0);
		ugpu_cmd_store_dword(&b.cb, DATA_VA, 0xc0ffee);
		ugpu_cmd_store_dword(&b.cb, DATA_VA + PAGE + 4, 0xc0ffee);
		ugpu_cmd_store_dword(&b.cb, DATA_VA + len - 4, 0xc0ffee);
		ugpu_cmd_fill(&b.cb, DATA_VA + 2 * PAGE, 2 * PAGE, 0x5a5a5a5a);
		expect("exec", run(c, &b), 0);
		check_dw("store_first", p, 0xc0ffee);
		check_dw("store_page1", p + PAGE + 4, 0xc0ffee);
		check_dw("store_last", p + len - 4, 0xc0ffee);
		check_bytes("fill", p + 2 * PAGE, 2 * PAGE, 0x5a);
		check_bytes("untouched_below", p + 4, PAGE - 4, 0);
		check_bytes("untouched_above", p + 4 * PAGE, len - 4 * PAGE - 4, 0);
		/* CPU writes are what the GPU reads. */
		memset(p + 8 * PAGE, 0x17, PAGE);
		expect("gpu_reads_cpu_writes", gpu_copy(c, DATA_VA + 9 * PAGE, DATA_VA + 8 * PAGE, PAGE), 0);
		check_bytes("copy_visible", p + 9 * PAGE, PAGE, 0x17);
		expect("unbind", unbind(c, DATA_VA, len), 0);
	}
	free(p);
	ctx_close(c);
}

/*
 * mremap moves the memory away: the binding stays with the old (now
 * empty) range, so the GPU faults and the moved pages are not written;
 * new memory mapped at the old address is what the GPU then reaches.
 */
static void invalidate_mremap(struct ctx *c)
{
	uint8_t *p = map_anon(2 * PAGE), *dst = map_anon(2 * PAGE), *moved;
	struct batch b;

	if (!report(p && dst, "mremap.map", "mmap"))
		return;
	memset(p, 0x61, 2 * PAGE);
	if (!expect("mremap.bind", bind_up(c, DATA_VA, p, 2 * PAGE, 0), 0))
		return;
	expect("mremap.exec_before", gpu_store(c, DATA_VA, 0x62), 0);
	moved = mremap(p, 2 * PAGE, 2 * PAGE, MREMAP_MAYMOVE | MREMAP_FIXED, dst);
	if (report(moved == dst, "mremap.move", "mremap failed")) {
		ugpu_cmd_store_dword(begin(c, &b, 0), DATA_VA + 4, 0xbad);
		run_fault(c, &b, "mremap.old_range_faults");
		check_dw("mremap.moved_kept_gpu_write", moved, 0x62);
		check_bytes("mremap.moved_untouched", moved + 4, 2 * PAGE - 4, 0x61);
		if (report(remap_anon(p, 2 * PAGE), "mremap.remap_old", "mmap")) {
			expect("mremap.exec_new", gpu_store(c, DATA_VA + PAGE, 0x63), 0);
			check_dw("mremap.new_memory_written", p + PAGE, 0x63);
			check_bytes("mremap.moved_still_untouched", moved + 4, 2 * PAGE - 4, 0x61);
		}
	}
	expect("mremap.unbind", unbind(c, DATA_VA, 2 * PAGE), 0);
	munmap(p, 2 * PAGE);
	munmap(dst, 2 * PAGE);
}

/* MAP_FIXED over a bound range: the next exec uses the new memory. */
static void scn_invalidate(int argc, char **argv)
{
	struct ctx *c = &C;
	uint8_t *p, *a, *alias;
	int fd;

	if (!ctx_open(c))
		return;
	/* Private memory replaced by private memory. */
	p = map_anon(4 * PAGE);
	memset(p, 0, 4 * PAGE);
	if (expect("private.bind", bind_up(c, DATA_VA, p, 4 * PAGE, 0), 0)) {
		expect("private.exec_before", gpu_store(c, DATA_VA, 1), 0);
		check_dw("private.before_visible", p, 1);
		if (report(remap_anon(p, 4 * PAGE), "private.remap", "mmap")) {
			CHECK(rd32(p) == 0, "private.new_memory_is_fresh");
			expect("private.exec_after", gpu_store(c, DATA_VA + 4, 2), 0);
			check_dw("private.after_in_new_memory", p + 4, 2);
			check_dw("private.old_value_not_resurrected", p, 0);
		}
		/* Again: every invalidation, not only the first. */
		if (report(remap_anon(p, 4 * PAGE), "private.remap2", "mmap")) {
			expect("private.exec_after2", gpu_fill(c, DATA_VA, 4 * PAGE, 0x33333333), 0);
			check_bytes("private.after2_in_new_memory", p, 4 * PAGE, 0x33);
		}
		/* Only one page in the middle replaced. */
		if (report(remap_anon(p + PAGE, PAGE), "partial.remap", "mmap")) {
			expect("partial.exec", gpu_fill(c, DATA_VA, 4 * PAGE, 0x44444444), 0);
			check_bytes("partial.all_pages", p, 4 * PAGE, 0x44);
		}
		expect("private.unbind", unbind(c, DATA_VA, 4 * PAGE), 0);
	}
	munmap(p, 4 * PAGE);

	/* Shared memory replaced: the old pages (seen through an alias) stay. */
	fd = memfd_create("api-inval", MFD_CLOEXEC);
	if (!report(fd >= 0 && ftruncate(fd, 4 * PAGE) == 0, "shared.memfd", "memfd"))
		goto out;
	a = mmap(NULL, 4 * PAGE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	alias = mmap(NULL, 4 * PAGE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	close(fd);
	if (!report(a != MAP_FAILED && alias != MAP_FAILED, "shared.map", "mmap"))
		goto out;
	if (expect("shared.bind", bind_up(c, DATA_VA, a, 4 * PAGE, 0), 0)) {
		expect("shared.exec_before", gpu_store(c, DATA_VA, 0x11), 0);
		check_dw("shared.before_in_alias", alias, 0x11);
		if (report(remap_anon(a, 4 * PAGE), "shared.remap", "mmap")) {
			memset(a, 0x77, 4 * PAGE);
			expect("shared.exec_after", gpu_store(c, DATA_VA, 0x22), 0);
			check_dw("shared.after_in_new_memory", a, 0x22);
			check_dw("shared.old_pages_untouched", alias, 0x11);
			check_bytes("shared.new_rest_untouched", a + 4, 4 * PAGE - 4, 0x77);
		}
		expect("shared.unbind", unbind(c, DATA_VA, 4 * PAGE), 0);
	}
	munmap(a, 4 * PAGE);
	munmap(alias, 4 * PAGE);
	invalidate_mremap(c);
out:
	ctx_close(c);
}

/* madvise(DONTNEED) of a private range: the GPU then sees zeroes. */
static void scn_dontneed(int argc, char **argv)
{
	struct ctx *c = &C;
	uint32_t bo;
	uint8_t *p;

	if (!ctx_open(c) || !make_bo(c, 2 * PAGE, 0xee, BO_VA, &bo))
		return;
	p = map_anon(2 * PAGE);
	memset(p, 0xaa, 2 * PAGE);
	if (expect("bind", bind_up(c, DATA_VA, p, 2 * PAGE, 0), 0)) {
		expect("copy_before", gpu_copy(c, BO_VA, DATA_VA, 2 * PAGE), 0);
		check_bo(c, "before_sees_data", bo, 0, 2 * PAGE, 0xaa);
		expect("madvise", madvise(p, 2 * PAGE, MADV_DONTNEED) ? -errno : 0, 0);
		check_bytes("cpu_sees_zeroes", p, 2 * PAGE, 0);
		expect("copy_after", gpu_copy(c, BO_VA, DATA_VA, 2 * PAGE), 0);
		check_bo(c, "gpu_sees_zeroes", bo, 0, 2 * PAGE, 0);

		/* GPU-written data dropped the same way. */
		expect("gpu_fill", gpu_fill(c, DATA_VA, 2 * PAGE, 0x5b5b5b5b), 0);
		check_bytes("gpu_fill_visible", p, 2 * PAGE, 0x5b);
		expect("madvise2", madvise(p + PAGE, PAGE, MADV_DONTNEED) ? -errno : 0, 0);
		expect("copy_after2", gpu_copy(c, BO_VA, DATA_VA, 2 * PAGE), 0);
		check_bo(c, "gpu_sees_kept_page", bo, 0, PAGE, 0x5b);
		check_bo(c, "gpu_sees_dropped_page_zero", bo, PAGE, PAGE, 0);
		expect("unbind", unbind(c, DATA_VA, 2 * PAGE), 0);
	}
	munmap(p, 2 * PAGE);

	/* Shared memory: DONTNEED drops only the mapping, the data stays (as the CPU sees). */
	p = ugpu_host_alloc(c->dev, 2 * PAGE);
	if (report(p != NULL, "shared.alloc", "NULL")) {
		memset(p, 0xab, 2 * PAGE);
		if (expect("shared.bind", bind_up(c, DATA_VA, p, 2 * PAGE, 0), 0)) {
			expect("shared.copy_before", gpu_copy(c, BO_VA, DATA_VA, 2 * PAGE), 0);
			expect("shared.madvise", madvise(p, 2 * PAGE, MADV_DONTNEED) ? -errno : 0, 0);
			check_bytes("shared.cpu_keeps_data", p, 2 * PAGE, 0xab);
			expect("shared.copy_after", gpu_copy(c, BO_VA, DATA_VA, 2 * PAGE), 0);
			check_bo(c, "shared.gpu_keeps_data", bo, 0, 2 * PAGE, 0xab);
			/* MADV_REMOVE punches the file: zeroes for both. */
			expect("shared.remove", madvise(p + PAGE, PAGE, MADV_REMOVE) ? -errno : 0, 0);
			check_bytes("shared.remove_cpu_zero", p + PAGE, PAGE, 0);
			expect("shared.copy_after_remove", gpu_copy(c, BO_VA, DATA_VA, 2 * PAGE), 0);
			check_bo(c, "shared.remove_gpu_kept", bo, 0, PAGE, 0xab);
			check_bo(c, "shared.remove_gpu_zero", bo, PAGE, PAGE, 0);
			expect("shared.gpu_write_after_remove", gpu_store(c, DATA_VA + PAGE, 0xc0ffee), 0);
			check_dw("shared.gpu_write_visible", p + PAGE, 0xc0ffee);
			expect("shared.unbind", unbind(c, DATA_VA, 2 * PAGE), 0);
		}
		ugpu_host_free(c->dev, p, 2 * PAGE);
	}
	expect("teardown.unbind_bo", unbind(c, BO_VA, 2 * PAGE), 0);
	expect("teardown.bo_destroy", ugpu_bo_destroy(c->dev, bo), 0);
	ctx_close(c);
}

/* Exec after munmap of a bound range: -EFAULT, nothing written anywhere. */
static void sync_unmap_case(struct ctx *c, const char *name, bool fault_first, uint8_t *q,
			    uint32_t bo)
{
	struct batch b;

	begin(c, &b, 0);
	if (fault_first)
		ugpu_cmd_store_dword(&b.cb, DATA_VA + 4, 0xbad);
	ugpu_cmd_store_dword(&b.cb, DATA2_VA, 0xbad);
	ugpu_cmd_fill(&b.cb, BO_VA, PAGE, 0xbadbad);
	ugpu_cmd_store_dword(&b.cb, scr_va(S_RES), 0xbad);
	if (!fault_first)
		ugpu_cmd_store_dword(&b.cb, DATA_VA + 4, 0xbad);
	run_fault(c, &b, nm("%s.efault", name));
	check_bytes(nm("%s.other_userptr_intact", name), q, PAGE, 0x5e);
	check_bo(c, nm("%s.bo_intact", name), bo, 0, PAGE, 0x5e);
	check_dw(nm("%s.host_memory_intact", name), scr(c, S_RES), 0);
}

/*
 * Shared memory unmapped by the client: its pages live on in the file
 * (seen here through a second mapping), and the GPU must not reach them.
 */
static void sync_unmap_shared(struct ctx *c)
{
	uint8_t *a, *alias;
	struct batch b;
	int fd;

	fd = memfd_create("api-sync-unmap", MFD_CLOEXEC);
	if (!report(fd >= 0 && ftruncate(fd, 2 * PAGE) == 0, "shared.memfd", "memfd"))
		return;
	a = mmap(NULL, 2 * PAGE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	alias = mmap(NULL, 2 * PAGE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	close(fd);
	if (!report(a != MAP_FAILED && alias != MAP_FAILED, "shared.map", "mmap"))
		return;
	memset(alias, 0x5e, 2 * PAGE);
	if (expect("shared.bind", bind_up(c, DATA_VA, a, 2 * PAGE, 0), 0)) {
		expect("shared.copy_before", gpu_copy(c, scr_va(S_RES2), DATA_VA + 4, 4), 0);
		check_dw("shared.before_visible", scr(c, S_RES2), 0x5e5e5e5e);
		munmap(a, 2 * PAGE);
		ugpu_cmd_store_dword(begin(c, &b, 0), DATA_VA + 4, 0xbad);
		ugpu_cmd_fill(&b.cb, DATA_VA + PAGE, PAGE, 0xbad);
		run_fault(c, &b, "shared.efault");
		check_bytes("shared.file_pages_untouched", alias, 2 * PAGE, 0x5e);
		expect("shared.unbind_dead", unbind(c, DATA_VA, 2 * PAGE), 0);
	}
	munmap(alias, 2 * PAGE);
}

static void scn_sync_unmap(int argc, char **argv)
{
	struct ctx *c = &C;
	uint8_t *p, *q;
	uint32_t bo;

	if (!ctx_open(c) || !make_bo(c, PAGE, 0x5e, BO_VA, &bo))
		return;
	p = map_anon(2 * PAGE);
	q = map_anon(PAGE);
	memset(p, 0, 2 * PAGE);
	memset(q, 0x5e, PAGE);
	if (!expect("bind", bind_up(c, DATA_VA, p, 2 * PAGE, 0), 0) ||
	    !expect("bind_other", bind_up(c, DATA2_VA, q, PAGE, 0), 0))
		goto out;
	expect("exec_before", gpu_store(c, DATA_VA, 0xc0ffee), 0);
	check_dw("before_visible", p, 0xc0ffee);
	munmap(p, 2 * PAGE);
	sync_unmap_case(c, "fault_first", true, q, bo);
	sync_unmap_case(c, "fault_last", false, q, bo);
	/* The dead range unbound, the VM works again. */
	expect("unbind_dead", unbind(c, DATA_VA, 2 * PAGE), 0);
	sync_unmap_shared(c);
	expect("exec_after_unbind", gpu_store(c, DATA2_VA + 8, 0xc0ffee), 0);
	check_dw("after_unbind_visible", q + 8, 0xc0ffee);
	expect("unbind_other", unbind(c, DATA2_VA, PAGE), 0);
out:
	munmap(q, PAGE);
	expect("teardown.unbind_bo", unbind(c, BO_VA, PAGE), 0);
	expect("teardown.bo_destroy", ugpu_bo_destroy(c->dev, bo), 0);
	ctx_close(c);
}

/* Submit @b and require exec to accept it and the job to fault. */
static void job_fault(struct ctx *c, struct batch *b, const char *name)
{
	uint64_t fence;
	int r = submit(c, b, ENG_RENDER, &fence);

	if (expect(nm("%s.exec", name), r, 0))
		expect(nm("%s.job_efault", name), ugpu_wait(c->dev, fence, WAIT_NS), -EFAULT);
}

/* READONLY: GPU writes fault (job error), memory unchanged; reads work. */
static void scn_readonly(int argc, char **argv)
{
	struct ctx *c = &C;
	struct batch b;
	uint8_t *p, *r;
	uint32_t bo, bo2;
	int ret;

	if (!ctx_open(c) || !make_bo(c, 2 * PAGE, 0, BO_VA, &bo))
		return;
	p = map_anon(2 * PAGE);
	memset(p, 0x3c, 2 * PAGE);
	if (expect("bind", bind_up(c, DATA_VA, p, 2 * PAGE, UGPU_BIND_READONLY), 0)) {
		ugpu_cmd_store_dword(begin(c, &b, 0), DATA_VA + PAGE, 0xbad);
		job_fault(c, &b, "store");
		check_bytes("store.unchanged", p, 2 * PAGE, 0x3c);
		ugpu_cmd_fill(begin(c, &b, 0), DATA_VA, 2 * PAGE, 0xbad);
		job_fault(c, &b, "fill");
		check_bytes("fill.unchanged", p, 2 * PAGE, 0x3c);
		ugpu_cmd_copy(begin(c, &b, 0), DATA_VA, BO_VA, PAGE);
		job_fault(c, &b, "copy_into");
		check_bytes("copy_into.unchanged", p, 2 * PAGE, 0x3c);
		expect("read", gpu_copy(c, BO_VA, DATA_VA, 2 * PAGE), 0);
		check_bo(c, "read_visible", bo, 0, 2 * PAGE, 0x3c);
		expect("unbind", unbind(c, DATA_VA, 2 * PAGE), 0);
	}
	/* A BO bound read-only. */
	if (make_bo(c, PAGE, 0x21, 0, &bo2) &&
	    expect("bo.bind",
		   ugpu_vm_bind_bo(c->dev, c->vm, DATA_VA, bo2, 0, PAGE, UGPU_BIND_READONLY), 0)) {
		ugpu_cmd_store_dword(begin(c, &b, 0), DATA_VA, 0xbad);
		job_fault(c, &b, "bo.store");
		check_bo(c, "bo.unchanged", bo2, 0, PAGE, 0x21);
		expect("bo.unbind", unbind(c, DATA_VA, PAGE), 0);
		expect("bo.destroy", ugpu_bo_destroy(c->dev, bo2), 0);
	}
	/* Memory the client made read-only: GPU writes fault even without the flag. */
	r = map_anon(PAGE);
	memset(r, 0x4d, PAGE);
	mprotect(r, PAGE, PROT_READ);
	ret = bind_up(c, DATA2_VA, r, PAGE, 0);
	if (ret == -EFAULT) {
		report(true, "cpu_readonly.write_bind_refused", "-");
	} else if (expect("cpu_readonly.bind", ret, 0)) {
		ugpu_cmd_store_dword(begin(c, &b, 0), DATA2_VA, 0xbad);
		run_fault(c, &b, "cpu_readonly.store_efault");
		expect("cpu_readonly.unbind", unbind(c, DATA2_VA, PAGE), 0);
	}
	check_bytes("cpu_readonly.unchanged", r, PAGE, 0x4d);
	if (expect("cpu_readonly.readonly_probe_bind",
		   bind_up(c, DATA2_VA, r, PAGE, UGPU_BIND_READONLY | UGPU_BIND_PROBE), 0)) {
		expect("cpu_readonly.read", gpu_copy(c, BO_VA, DATA2_VA, PAGE), 0);
		check_bo(c, "cpu_readonly.read_visible", bo, 0, PAGE, 0x4d);
		expect("cpu_readonly.unbind2", unbind(c, DATA2_VA, PAGE), 0);
	}
	munmap(p, 2 * PAGE);
	munmap(r, PAGE);
	expect("teardown.unbind_bo", unbind(c, BO_VA, 2 * PAGE), 0);
	expect("teardown.bo_destroy", ugpu_bo_destroy(c->dev, bo), 0);
	ctx_close(c);
}

/* Unbind of the middle splits the mapping; rebind fills the hole. */
static void scn_partial_unbind(int argc, char **argv)
{
	struct ctx *c = &C;
	struct batch b;
	uint8_t *p, *q;

	if (!ctx_open(c))
		return;
	p = map_anon(4 * PAGE);
	q = map_anon(2 * PAGE);
	memset(p, 0, 4 * PAGE);
	memset(q, 0, 2 * PAGE);
	if (!expect("bind", bind_up(c, DATA_VA, p, 4 * PAGE, 0), 0))
		goto out;
	expect("unbind_middle", unbind(c, DATA_VA + PAGE, 2 * PAGE), 0);
	expect("store_head", gpu_store(c, DATA_VA + 4, 0xc0ffee), 0);
	expect("store_tail", gpu_store(c, DATA_VA + 3 * PAGE + 4, 0xc0ffee), 0);
	check_dw("head_visible", p + 4, 0xc0ffee);
	check_dw("tail_visible", p + 3 * PAGE + 4, 0xc0ffee);
	ugpu_cmd_store_dword(begin(c, &b, 0), DATA_VA + PAGE + 4, 0xbad);
	run_fault(c, &b, "store_hole_faults");
	ugpu_cmd_store_dword(begin(c, &b, 0), DATA_VA + 3 * PAGE - 4, 0xbad);
	run_fault(c, &b, "store_hole_end_faults");
	check_bytes("hole_memory_untouched", p + PAGE, 2 * PAGE, 0);

	/* Rebind the hole to other memory. */
	if (expect("rebind_other", bind_up(c, DATA_VA + PAGE, q, 2 * PAGE, 0), 0)) {
		expect("fill_all", gpu_fill(c, DATA_VA, 4 * PAGE, 0x11111111), 0);
		check_bytes("fill_head", p, PAGE, 0x11);
		check_bytes("fill_tail", p + 3 * PAGE, PAGE, 0x11);
		check_bytes("fill_other", q, 2 * PAGE, 0x11);
		check_bytes("fill_not_in_old_middle", p + PAGE, 2 * PAGE, 0);
	}
	/* And back to the original pages. */
	if (expect("rebind_same", bind_up(c, DATA_VA + PAGE, p + PAGE, 2 * PAGE, 0), 0)) {
		expect("fill_all2", gpu_fill(c, DATA_VA, 4 * PAGE, 0x22222222), 0);
		check_bytes("fill2_all_original", p, 4 * PAGE, 0x22);
		check_bytes("fill2_not_in_other", q, 2 * PAGE, 0x11);
	}
	/* Unbind of the head only, then of everything. */
	expect("unbind_head", unbind(c, DATA_VA, PAGE), 0);
	ugpu_cmd_store_dword(begin(c, &b, 0), DATA_VA, 0xbad);
	run_fault(c, &b, "store_unbound_head_faults");
	expect("store_rest", gpu_store(c, DATA_VA + PAGE, 0x33), 0);
	check_dw("rest_visible", p + PAGE, 0x33);
	expect("unbind_all", unbind(c, DATA_VA, 4 * PAGE), 0);
	ugpu_cmd_store_dword(begin(c, &b, 0), DATA_VA + 2 * PAGE, 0xbad);
	run_fault(c, &b, "store_after_unbind_all_faults");
	check_dw("after_unbind_all_untouched", p + 2 * PAGE, 0x22222222);
out:
	munmap(p, 4 * PAGE);
	munmap(q, 2 * PAGE);
	ctx_close(c);
}

/* A map over an existing mapping replaces the overlapped part. */
static void scn_replace(int argc, char **argv)
{
	struct ctx *c = &C;
	uint8_t *a, *b2, *d;
	uint32_t bo;

	if (!ctx_open(c) || !make_bo(c, PAGE, 0, 0, &bo))
		return;
	a = map_anon(4 * PAGE);
	b2 = map_anon(2 * PAGE);
	d = map_anon(4 * PAGE);
	memset(a, 0, 4 * PAGE);
	memset(b2, 0, 2 * PAGE);
	memset(d, 0, 4 * PAGE);
	if (!expect("bind_a", bind_up(c, DATA_VA, a, 4 * PAGE, 0), 0))
		goto out;
	expect("bind_b_over_middle", bind_up(c, DATA_VA + PAGE, b2, 2 * PAGE, 0), 0);
	expect("fill1", gpu_fill(c, DATA_VA, 4 * PAGE, 0x22222222), 0);
	check_bytes("a_head", a, PAGE, 0x22);
	check_bytes("a_tail", a + 3 * PAGE, PAGE, 0x22);
	check_bytes("a_middle_replaced", a + PAGE, 2 * PAGE, 0);
	check_bytes("b", b2, 2 * PAGE, 0x22);

	expect("bind_bo_over_tail", ugpu_vm_bind_bo(c->dev, c->vm, DATA_VA + 3 * PAGE, bo, 0, PAGE, 0), 0);
	expect("fill2", gpu_fill(c, DATA_VA, 4 * PAGE, 0x33333333), 0);
	check_bo(c, "bo_filled", bo, 0, PAGE, 0x33);
	check_bytes("a_tail_replaced", a + 3 * PAGE, PAGE, 0x22);
	check_bytes("a_head2", a, PAGE, 0x33);
	check_bytes("b2", b2, 2 * PAGE, 0x33);

	/* Same range again, then one mapping over all three pieces. */
	expect("bind_same_range", bind_up(c, DATA_VA + PAGE, b2, 2 * PAGE, 0), 0);
	expect("bind_d_over_all", bind_up(c, DATA_VA, d, 4 * PAGE, 0), 0);
	expect("fill3", gpu_fill(c, DATA_VA, 4 * PAGE, 0x44444444), 0);
	check_bytes("d", d, 4 * PAGE, 0x44);
	check_bytes("a_head_replaced", a, PAGE, 0x33);
	check_bytes("b_replaced", b2, 2 * PAGE, 0x33);
	check_bo(c, "bo_replaced", bo, 0, PAGE, 0x33);
	/* A straddling map: half over d, half into unmapped VA. */
	expect("bind_straddle", bind_up(c, DATA_VA + 3 * PAGE, a, 2 * PAGE, 0), 0);
	expect("fill4", gpu_fill(c, DATA_VA + 3 * PAGE, 2 * PAGE, 0x55555555), 0);
	check_bytes("straddle", a, 2 * PAGE, 0x55);
	check_bytes("d_tail_replaced", d + 3 * PAGE, PAGE, 0x44);
	expect("unbind", unbind(c, DATA_VA, 5 * PAGE), 0);
out:
	munmap(a, 4 * PAGE);
	munmap(b2, 2 * PAGE);
	munmap(d, 4 * PAGE);
	expect("teardown.bo_destroy", ugpu_bo_destroy(c->dev, bo), 0);
	ctx_close(c);
}

/* FILL + CHECKSUM over a big binding, checked against the CPU. */
static void big_case(struct ctx *c, const char *name, uint8_t *p, uint64_t size, uint32_t pat)
{
	struct batch b;
	uint32_t want;

	if (!expect(nm("%s.bind", name), bind_up(c, BIG_VA, p, size, 0), 0))
		return;
	begin(c, &b, 0);
	ugpu_cmd_fill(&b.cb, BIG_VA, size, pat);
	ugpu_cmd_store_dword(&b.cb, BIG_VA + size / 2 + 12, 0xc0ffee);
	ugpu_cmd_checksum(&b.cb, scr_va(S_CRC), BIG_VA, size);
	expect(nm("%s.exec", name), run(c, &b), 0);
	report(rd32(p + size / 2 + 12) == 0xc0ffee, nm("%s.store", name), "0x%08x",
	       rd32(p + size / 2 + 12));
	want = crc32c(p, size);
	*(uint32_t *)(p + size / 2 + 12) = pat;
	check_dws(nm("%s.fill", name), p, size, pat);
	report(*scr(c, S_CRC) == want, nm("%s.checksum", name), "gpu 0x%08x, cpu 0x%08x",
	       *scr(c, S_CRC), want);
	expect(nm("%s.unbind", name), unbind(c, BIG_VA, size), 0);
}

static void scn_big(int argc, char **argv)
{
	static const unsigned int sizes_mib[] = { 2, 16, 64, 256 };
	unsigned int max_mib = argc >= 4 ? (unsigned int)atoi(argv[3]) : 256;
	struct ctx *c = &C;
	unsigned int i;
	uint8_t *p;

	crc_init();
	report(crc32c("123456789", 9) == 0xe3069283u, "crc_self_test", "0x%08x",
	       crc32c("123456789", 9));
	if (!ctx_open(c))
		return;
	for (i = 0; i < sizeof(sizes_mib) / sizeof(sizes_mib[0]) && sizes_mib[i] <= max_mib; i++) {
		uint64_t size = sizes_mib[i] * MiB;

		p = map_anon(size);
		if (!report(p != NULL, nm("%uM.map", sizes_mib[i]), "mmap"))
			continue;
		memset(p, 0xa5, size);	/* real pages */
		big_case(c, nm("%uM", sizes_mib[i]), p, size, 0x01010101u * (i + 1));
		munmap(p, size);
	}
	p = ugpu_host_alloc(c->dev, 64 * MiB);
	if (report(p != NULL, "host64M.alloc", "NULL")) {
		memset(p, 0xa5, 64 * MiB);
		big_case(c, "host64M", p, 64 * MiB, 0x5eed5eed);
		ugpu_host_free(c->dev, p, 64 * MiB);
	}
	ctx_close(c);
}

/* Per-page tags: the GPU page at va + i*4K must be the CPU page p + i*4K. */
static void misaligned_case(struct ctx *c, const char *name, uint8_t *p, uint64_t va,
			    uint64_t size, uint32_t bo)
{
	uint64_t pages = size / PAGE, i;
	uint32_t *tmp = malloc(size);
	long long bad = -1;
	struct batch b;

	if (!tmp || !expect(nm("%s.bind", name), bind_up(c, va, p, size, 0), 0))
		goto out;
	for (i = 0; i < pages; i++)
		memset(p + i * PAGE, (int)(i & 0xff), PAGE);
	expect(nm("%s.copy_out", name), gpu_copy(c, BO_VA, va, size), 0);
	if (expect(nm("%s.pread", name), ugpu_bo_pread(c->dev, bo, 0, tmp, size), 0)) {
		for (i = 0; i < pages && bad < 0; i++)
			if (find_not_byte((uint8_t *)tmp + i * PAGE, PAGE, (uint8_t)i) >= 0)
				bad = (long long)i;
		report(bad < 0, nm("%s.gpu_reads_right_pages", name), "page %lld", bad);
	}
	begin(c, &b, 0);
	for (i = 0; i < pages && i < 512; i++)
		ugpu_cmd_store_dword(&b.cb, va + i * PAGE + (i % 1024) * 4, 0xa0000000u | (uint32_t)i);
	expect(nm("%s.stores", name), run(c, &b), 0);
	for (i = 0, bad = -1; i < pages && i < 512 && bad < 0; i++)
		if (rd32(p + i * PAGE + (i % 1024) * 4) != (0xa0000000u | (uint32_t)i))
			bad = (long long)i;
	report(bad < 0, nm("%s.gpu_writes_right_pages", name), "page %lld", bad);
	expect(nm("%s.unbind", name), unbind(c, va, size), 0);
out:
	free(tmp);
}

static void scn_misaligned(int argc, char **argv)
{
	const uint64_t two = 2 * MiB;
	struct ctx *c = &C;
	uint8_t *raw, *p;
	uint32_t bo;

	if (!ctx_open(c) || !make_bo(c, two, 0, BO_VA, &bo))
		return;
	raw = map_anon(3 * two);
	if (!report(raw != NULL, "map", "mmap"))
		return;
	p = (uint8_t *)(((uintptr_t)raw + two - 1) & ~(uintptr_t)(two - 1));
	misaligned_case(c, "gpu_va_plus_64k", p, MIS_VA + 64 * KiB, two, bo);
	misaligned_case(c, "cpu_ptr_plus_64k", p + 64 * KiB, MIS_VA, two, bo);
	misaligned_case(c, "both_odd_pages", p + PAGE, MIS_VA + two - 3 * PAGE, MiB + 5 * PAGE, bo);
	misaligned_case(c, "cross_2m_both", p + two - 7 * PAGE, MIS_VA + 2 * two - 9 * PAGE,
			16 * PAGE, bo);
	munmap(raw, 3 * two);
	expect("teardown.unbind_bo", unbind(c, BO_VA, two), 0);
	expect("teardown.bo_destroy", ugpu_bo_destroy(c->dev, bo), 0);
	ctx_close(c);
}

/* ugpu_host_alloc memory bound as a userptr: zero copy both ways. */
static void scn_host_alloc(int argc, char **argv)
{
	struct ctx *c = &C;
	uint8_t *h;
	uint32_t bo;

	if (!ctx_open(c) || !make_bo(c, PAGE, 0, BO_VA, &bo))
		return;
	h = ugpu_host_alloc(c->dev, MiB);
	if (!report(h != NULL, "alloc", "NULL"))
		return;
	memset(h, 0, MiB);
	if (expect("bind", bind_up(c, DATA_VA, h, MiB, UGPU_BIND_PROBE), 0)) {
		expect("fill", gpu_fill(c, DATA_VA, MiB, 0x77777777), 0);
		check_bytes("fill_visible", h, MiB, 0x77);
		memset(h + 5 * PAGE, 0x1e, PAGE);
		expect("copy", gpu_copy(c, BO_VA, DATA_VA + 5 * PAGE, PAGE), 0);
		check_bo(c, "cpu_write_seen_by_gpu", bo, 0, PAGE, 0x1e);
		expect("store", gpu_store(c, DATA_VA + MiB - 4, 0xc0ffee), 0);
		check_dw("store_visible", h + MiB - 4, 0xc0ffee);
		expect("unbind", unbind(c, DATA_VA, MiB), 0);
	}
	ugpu_host_free(c->dev, h, MiB);
	expect("teardown.unbind_bo", unbind(c, BO_VA, PAGE), 0);
	expect("teardown.bo_destroy", ugpu_bo_destroy(c->dev, bo), 0);
	ctx_close(c);
}

/* Device-local BO: create, pwrite/pread, bind, exec, destroy. */
static void scn_bo(int argc, char **argv)
{
	const uint64_t size = 64 * KiB;
	struct ctx *c = &C;
	uint8_t *tmp, *p;
	uint32_t bo;

	if (!ctx_open(c))
		return;
	tmp = malloc(size);
	p = map_anon(PAGE);
	if (!expect("create", ugpu_bo_create(c->dev, size, 0, &bo), 0))
		return;
	check_bo(c, "initially_zero", bo, 0, size, 0);
	memset(tmp, 0x6b, PAGE);
	expect("pwrite", ugpu_bo_pwrite(c->dev, bo, PAGE, tmp, PAGE), 0);
	check_bo(c, "pread_written", bo, PAGE, PAGE, 0x6b);
	check_bo(c, "pread_rest", bo, 2 * PAGE, PAGE, 0);
	expect("pwrite_unaligned", ugpu_bo_pwrite(c->dev, bo, 3 * PAGE + 3, tmp, 10), 0);
	check_bo(c, "pread_unaligned", bo, 3 * PAGE + 3, 10, 0x6b);
	if (expect("bind", ugpu_vm_bind_bo(c->dev, c->vm, BO_VA, bo, 0, size, 0), 0)) {
		struct batch b;

		begin(c, &b, 0);
		ugpu_cmd_store_dword(&b.cb, BO_VA + 8, 0xc0ffee);
		ugpu_cmd_fill(&b.cb, BO_VA + 4 * PAGE, 4 * PAGE, 0x99999999);
		expect("exec", run(c, &b), 0);
		if (expect("pread_store", ugpu_bo_pread(c->dev, bo, 8, tmp, 4), 0))
			check_dw("store_visible", tmp, 0xc0ffee);
		check_bo(c, "fill_visible", bo, 4 * PAGE, 4 * PAGE, 0x99);
		/* BO to userptr and back. */
		memset(p, 0, PAGE);
		if (expect("bind_userptr", bind_up(c, DATA_VA, p, PAGE, 0), 0)) {
			expect("copy_bo_to_userptr", gpu_copy(c, DATA_VA, BO_VA + PAGE, PAGE), 0);
			check_bytes("copy_bo_to_userptr_visible", p, PAGE, 0x6b);
			memset(p, 0x2f, PAGE);
			expect("copy_userptr_to_bo", gpu_copy(c, BO_VA + 10 * PAGE, DATA_VA, PAGE), 0);
			check_bo(c, "copy_userptr_to_bo_visible", bo, 10 * PAGE, PAGE, 0x2f);
			expect("unbind_userptr", unbind(c, DATA_VA, PAGE), 0);
		}
		/* A BO bound at an offset. */
		expect("bind_offset", ugpu_vm_bind_bo(c->dev, c->vm, DATA2_VA, bo, 4 * PAGE, PAGE, 0), 0);
		expect("copy_from_offset", gpu_copy(c, scr_va(S_RES), DATA2_VA + 4, 4), 0);
		check_dw("offset_maps_right_page", scr(c, S_RES), 0x99999999);
		expect("unbind_offset", unbind(c, DATA2_VA, PAGE), 0);
		expect("unbind", unbind(c, BO_VA, size), 0);
	}
	expect("destroy", ugpu_bo_destroy(c->dev, bo), 0);
	expect("pread_destroyed", ugpu_bo_pread(c->dev, bo, 0, tmp, 4), -ENOENT);
	free(tmp);
	munmap(p, PAGE);
	ctx_close(c);
}

/*
 * mprotect after the bind: the client's protection holds for the GPU too
 * (uapi/ugpu_isa.h: memory that is "protected ... counts the same" as a
 * fault), for private and for shared memory.
 */
static void protect_case(struct ctx *c, const char *name, uint8_t *p, uint32_t bo)
{
	struct batch b;

	memset(p, 0x4e, 2 * PAGE);
	if (!expect(nm("%s.bind", name), bind_up(c, DATA_VA, p, 2 * PAGE, 0), 0))
		return;
	expect(nm("%s.exec_rw", name), gpu_store(c, DATA_VA, 0x4e4e4e4e), 0);
	mprotect(p, 2 * PAGE, PROT_READ);
	ugpu_cmd_store_dword(begin(c, &b, 0), DATA_VA + PAGE, 0xbad);
	run_fault(c, &b, nm("%s.write_readonly_faults", name));
	check_bytes(nm("%s.readonly_unchanged", name), p, 2 * PAGE, 0x4e);
	expect(nm("%s.read_readonly", name), gpu_copy(c, BO_VA, DATA_VA, PAGE), 0);
	check_bo(c, nm("%s.read_readonly_visible", name), bo, 0, PAGE, 0x4e);
	mprotect(p, 2 * PAGE, PROT_NONE);
	ugpu_cmd_copy(begin(c, &b, 0), BO_VA, DATA_VA, PAGE);
	run_fault(c, &b, nm("%s.read_none_faults", name));
	ugpu_cmd_store_dword(begin(c, &b, 0), DATA_VA + 4, 0xbad);
	run_fault(c, &b, nm("%s.write_none_faults", name));
	mprotect(p, 2 * PAGE, PROT_READ | PROT_WRITE);
	check_bytes(nm("%s.none_unchanged", name), p, 2 * PAGE, 0x4e);
	expect(nm("%s.exec_rw_again", name), gpu_store(c, DATA_VA + PAGE + 4, 0xc0ffee), 0);
	check_dw(nm("%s.rw_again_visible", name), p + PAGE + 4, 0xc0ffee);
	expect(nm("%s.unbind", name), unbind(c, DATA_VA, 2 * PAGE), 0);
}

static void scn_protect(int argc, char **argv)
{
	struct ctx *c = &C;
	uint8_t *p;
	uint32_t bo;

	if (!ctx_open(c) || !make_bo(c, PAGE, 0, BO_VA, &bo))
		return;
	p = map_anon(2 * PAGE);
	protect_case(c, "private", p, bo);
	munmap(p, 2 * PAGE);
	p = ugpu_host_alloc(c->dev, 2 * PAGE);
	if (report(p != NULL, "shared.alloc", "NULL"))
		protect_case(c, "shared", p, bo);
	ugpu_host_free(c->dev, p, 2 * PAGE);
	expect("teardown.unbind_bo", unbind(c, BO_VA, PAGE), 0);
	expect("teardown.bo_destroy", ugpu_bo_destroy(c->dev, bo), 0);
	ctx_close(c);
}

/* Read @p through the GPU (check @rd), then write it (check @wr). */
static void backing_case(struct ctx *c, const char *name, uint8_t *p, uint64_t len, uint32_t bo)
{
	memset(p, 0x3a, len);
	if (!expect(nm("%s.bind", name), bind_up(c, DATA_VA, p, len, UGPU_BIND_PROBE), 0))
		return;
	expect(nm("%s.read", name), gpu_copy(c, BO_VA, DATA_VA, len), 0);
	check_bo(c, nm("%s.read_visible", name), bo, 0, len, 0x3a);
	expect(nm("%s.write", name), gpu_fill(c, DATA_VA, len, 0x3b3b3b3b), 0);
	check_bytes(nm("%s.write_visible", name), p, len, 0x3b);
	expect(nm("%s.unbind", name), unbind(c, DATA_VA, len), 0);
}

static uint8_t bss_buf[4 * PAGE] __attribute__((aligned(4096)));

/* Every kind of memory a client may bind; aliases within and across VMs. */
static void scn_backing(int argc, char **argv)
{
	struct ctx *c = &C;
	uint32_t bo, vm2;
	uint8_t *p;

	if (!ctx_open(c) || !make_bo(c, 4 * PAGE, 0, BO_VA, &bo))
		return;
	backing_case(c, "bss", bss_buf, sizeof(bss_buf), bo);

	p = mmap(NULL, 4 * PAGE, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (report(p != MAP_FAILED, "shared_anon.map", "mmap")) {
		backing_case(c, "shared_anon", p, 4 * PAGE, bo);
		munmap(p, 4 * PAGE);
	}
	/* One range at two GPU addresses, and in a second VM. */
	p = map_anon(PAGE);
	memset(p, 0, PAGE);
	if (expect("alias.bind1", bind_up(c, DATA_VA, p, PAGE, 0), 0) &&
	    expect("alias.bind2", bind_up(c, DATA2_VA, p, PAGE, 0), 0)) {
		expect("alias.store1", gpu_store(c, DATA_VA, 0x1111), 0);
		expect("alias.store2", gpu_store(c, DATA2_VA + 4, 0x2222), 0);
		check_dw("alias.visible1", p, 0x1111);
		check_dw("alias.visible2", p + 4, 0x2222);
		if (expect("alias.vm2", ugpu_vm_create(c->dev, 0, &vm2), 0)) {
			uint32_t vm1 = c->vm;

			expect("alias.vm2_bind_batch",
			       ugpu_vm_bind_userptr(c->dev, vm2, BATCH_VA, c->host, HOST_BYTES, 0), 0);
			expect("alias.vm2_bind", ugpu_vm_bind_userptr(c->dev, vm2, MIS_VA, p, PAGE, 0), 0);
			c->vm = vm2;
			expect("alias.vm2_store", gpu_store(c, MIS_VA + 8, 0x3333), 0);
			c->vm = vm1;
			check_dw("alias.vm2_visible", p + 8, 0x3333);
			/* An invalidation reaches every binding of the range. */
			if (report(remap_anon(p, PAGE), "alias.remap", "mmap")) {
				c->vm = vm2;
				expect("alias.vm2_after_remap", gpu_store(c, MIS_VA + 12, 0x4444), 0);
				c->vm = vm1;
				expect("alias.vm1_after_remap", gpu_store(c, DATA2_VA + 16, 0x5555), 0);
				check_dw("alias.vm2_new_memory", p + 12, 0x4444);
				check_dw("alias.vm1_new_memory", p + 16, 0x5555);
			}
			expect("alias.vm2_destroy", ugpu_vm_destroy(c->dev, vm2), 0);
		}
		expect("alias.unbind1", unbind(c, DATA_VA, PAGE), 0);
		expect("alias.unbind2", unbind(c, DATA2_VA, PAGE), 0);
	}
	munmap(p, PAGE);
	expect("teardown.unbind_bo", unbind(c, BO_VA, 4 * PAGE), 0);
	expect("teardown.bo_destroy", ugpu_bo_destroy(c->dev, bo), 0);
	ctx_close(c);
}

static bool file_is(int fd, uint8_t byte, const char *name)
{
	uint8_t buf[4 * PAGE];

	return report(pread(fd, buf, sizeof(buf), 0) == (ssize_t)sizeof(buf) &&
		      find_not_byte(buf, sizeof(buf), byte) < 0, name,
		      "file content is not 0x%02x", byte);
}

/*
 * Mappings of an ordinary file (DESIGN.md section 4: shared file memory
 * is mapped by the daemon, private file memory reached like anonymous
 * memory). $TMPDIR or /tmp, so usually not tmpfs.
 */
static void scn_backing_file(int argc, char **argv)
{
	const char *dir = getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";
	char tmpl[PATH_MAX];
	uint8_t fill[4 * PAGE];
	struct ctx *c = &C;
	uint32_t bo;
	uint8_t *p;
	int fd;

	if (!ctx_open(c) || !make_bo(c, 4 * PAGE, 0, BO_VA, &bo))
		return;
	snprintf(tmpl, sizeof(tmpl), "%s/ugpu-api-file.XXXXXX", dir);
	fd = mkstemp(tmpl);
	if (!report(fd >= 0, "create", "mkstemp %s", tmpl))
		return;
	unlink(tmpl);
	memset(fill, 0x2c, sizeof(fill));
	report(pwrite(fd, fill, sizeof(fill), 0) == (ssize_t)sizeof(fill), "write", "pwrite");

	p = mmap(NULL, 4 * PAGE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (report(p != MAP_FAILED, "shared.map", "mmap")) {
		backing_case(c, "shared", p, 4 * PAGE, bo);
		file_is(fd, 0x3b, "shared.gpu_write_in_file");
		munmap(p, 4 * PAGE);
	}
	report(pwrite(fd, fill, sizeof(fill), 0) == (ssize_t)sizeof(fill), "rewrite", "pwrite");

	p = mmap(NULL, 4 * PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
	if (report(p != MAP_FAILED, "private.map", "mmap")) {
		/* Untouched private file pages read the file. */
		if (expect("private.bind_untouched", bind_up(c, DATA_VA, p, 4 * PAGE, 0), 0)) {
			expect("private.read_file", gpu_copy(c, BO_VA, DATA_VA, 4 * PAGE), 0);
			check_bo(c, "private.read_file_visible", bo, 0, 4 * PAGE, 0x2c);
			expect("private.unbind_untouched", unbind(c, DATA_VA, 4 * PAGE), 0);
		}
		backing_case(c, "private", p, 4 * PAGE, bo);
		file_is(fd, 0x2c, "private.file_unchanged");
		munmap(p, 4 * PAGE);
	}
	close(fd);
	expect("teardown.unbind_bo", unbind(c, BO_VA, 4 * PAGE), 0);
	expect("teardown.bo_destroy", ugpu_bo_destroy(c->dev, bo), 0);
	ctx_close(c);
}

/* Batches in every memory the GPU can reach: host_alloc, a userptr, a BO. */
static void scn_batch_memory(int argc, char **argv)
{
	struct ctx *c = &C;
	struct ugpu_cmdbuf cb;
	uint32_t words[16], bo;
	uint8_t *p;
	uint64_t fence;
	int r;

	if (!ctx_open(c))
		return;
	/* Encoding limits: a command that does not fit is -ENOSPC, and sticks. */
	ugpu_cmd_init(&cb, words, 2 * 4);
	expect("cmd.store_no_room", ugpu_cmd_store_dword(&cb, DATA_VA, 1), -ENOSPC);
	expect("cmd.end_after_overflow", ugpu_cmd_end(&cb), -ENOSPC);
	ugpu_cmd_init(&cb, words, 4 * 4);
	expect("cmd.store_exact", ugpu_cmd_store_dword(&cb, DATA_VA, 1), 0);
	expect("cmd.end_no_room", ugpu_cmd_end(&cb), -ENOSPC);

	/* A batch in private (malloc'd) memory bound as a userptr. */
	p = map_anon(2 * PAGE);
	memset(p, 0, 2 * PAGE);
	ugpu_cmd_init(&cb, p, PAGE);
	ugpu_cmd_store_dword(&cb, scr_va(S_RES), 0xba7c4);
	ugpu_cmd_store_dword(&cb, DATA_VA + PAGE, 0xc0ffee);	/* into itself */
	if (expect("userptr.encode", ugpu_cmd_end(&cb), 0) &&
	    expect("userptr.bind", bind_up(c, DATA_VA, p, 2 * PAGE, 0), 0)) {
		r = ugpu_exec(c->dev, c->vm, ENG_RENDER, DATA_VA, cb.len * 4, &fence);
		if (expect("userptr.exec", r, 0))
			expect("userptr.wait", ugpu_wait(c->dev, fence, WAIT_NS), 0);
		check_dw("userptr.result", scr(c, S_RES), 0xba7c4);
		check_dw("userptr.result_in_own_memory", p + PAGE, 0xc0ffee);
		/* The batch memory replaced: the next exec runs the new batch. */
		if (report(remap_anon(p, PAGE), "userptr.remap", "mmap")) {
			ugpu_cmd_init(&cb, p, PAGE);
			ugpu_cmd_store_dword(&cb, scr_va(S_RES), 0xba7c5);
			ugpu_cmd_end(&cb);
			r = ugpu_exec(c->dev, c->vm, ENG_COPY, DATA_VA, cb.len * 4, &fence);
			if (expect("userptr.exec_new_batch", r, 0))
				expect("userptr.wait_new_batch", ugpu_wait(c->dev, fence, WAIT_NS), 0);
			check_dw("userptr.new_batch_result", scr(c, S_RES), 0xba7c5);
		}
		expect("userptr.unbind", unbind(c, DATA_VA, 2 * PAGE), 0);
	}
	munmap(p, 2 * PAGE);

	/* A batch written into a BO with pwrite. */
	ugpu_cmd_init(&cb, words, sizeof(words));
	ugpu_cmd_store_dword(&cb, scr_va(S_RES2), 0xb0b0);
	if (expect("bo.encode", ugpu_cmd_end(&cb), 0) &&
	    expect("bo.create", ugpu_bo_create(c->dev, PAGE, 0, &bo), 0)) {
		expect("bo.pwrite", ugpu_bo_pwrite(c->dev, bo, 0, words, cb.len * 4), 0);
		expect("bo.bind", ugpu_vm_bind_bo(c->dev, c->vm, BO_VA, bo, 0, PAGE, 0), 0);
		r = ugpu_exec(c->dev, c->vm, ENG_RENDER, BO_VA, cb.len * 4, &fence);
		if (expect("bo.exec", r, 0))
			expect("bo.wait", ugpu_wait(c->dev, fence, WAIT_NS), 0);
		check_dw("bo.result", scr(c, S_RES2), 0xb0b0);
		expect("bo.unbind", unbind(c, BO_VA, PAGE), 0);
		expect("bo.destroy", ugpu_bo_destroy(c->dev, bo), 0);
	}
	ctx_close(c);
}

/*
 * Exec racing invalidations of the memory it uses: the library retries,
 * so ugpu_exec never reports -EAGAIN; a job ends in 0, or in -EFAULT if
 * its pages were taken while it ran, and it never writes the memory that
 * replaced them after its own stores (the new memory only ever holds
 * what the CPU put there or a later job's value).
 */
struct storm {
	uint8_t *p;
	int stop;
	unsigned int remaps;
	bool ok;
};

static void *storm_thread(void *arg)
{
	struct storm *st = arg;

	while (!__atomic_load_n(&st->stop, __ATOMIC_SEQ_CST)) {
		if (st->remaps & 1) {
			if (madvise(st->p, 4 * PAGE, MADV_DONTNEED))
				st->ok = false;
		} else if (!remap_anon(st->p, 4 * PAGE)) {
			st->ok = false;
		}
		st->remaps++;
	}
	return NULL;
}

static void scn_storm(int argc, char **argv)
{
	unsigned int iters = argc >= 4 ? (unsigned int)atoi(argv[3]) : 300;
	struct storm st = { .ok = true };
	unsigned int i, eagain = 0, other = 0, faults = 0, done = 0;
	struct ctx *c = &C;
	int last_other = 0;
	pthread_t th;

	if (!ctx_open(c))
		return;
	st.p = map_anon(4 * PAGE);
	memset(st.p, 0, 4 * PAGE);
	if (!expect("bind", bind_up(c, DATA_VA, st.p, 4 * PAGE, 0), 0) ||
	    !report(pthread_create(&th, NULL, storm_thread, &st) == 0, "thread", "failed"))
		return;
	for (i = 0; i < iters; i++) {
		struct batch b;
		uint64_t fence;
		int r;

		ugpu_cmd_fill(begin(c, &b, 0), DATA_VA, 4 * PAGE, 0x99999999);
		r = submit(c, &b, i & 1, &fence);
		if (!r)
			r = ugpu_wait(c->dev, fence, WAIT_NS);
		if (r == 0)
			done++;
		else if (r == -EFAULT)
			faults++;
		else if (r == -EAGAIN)
			eagain++;
		else
			other++, last_other = r;
	}
	__atomic_store_n(&st.stop, 1, __ATOMIC_SEQ_CST);
	pthread_join(th, NULL);
	report(st.ok, "remaps_worked", "mmap/madvise failed");
	report(eagain == 0, "never_eagain", "%u of %u execs gave -EAGAIN", eagain, iters);
	report(other == 0, "only_0_or_efault", "%u gave other errors, last %s", other,
	       errname(last_other));
	report(done > 0, "some_completed", "none of %u completed (%u faults, %u remaps)", iters,
	       faults, st.remaps);
	printf("info storm: %u done, %u faulted, %u remaps\n", done, faults, st.remaps);
	/* Settled: the next exec reaches the memory that is there now. */
	expect("after_storm", gpu_fill(c, DATA_VA, 4 * PAGE, 0x12121212), 0);
	check_bytes("after_storm_visible", st.p, 4 * PAGE, 0x12);
	expect("unbind", unbind(c, DATA_VA, 4 * PAGE), 0);
	munmap(st.p, 4 * PAGE);
	ctx_close(c);
}

/* ---- scenarios: fences ------------------------------------------------- */

/* A job blocked on a semaphore the CPU writes later. */
static int submit_blocked(struct ctx *c, unsigned int slot, uint32_t engine, unsigned int sem,
			  uint64_t store_va, uint32_t v, uint64_t *fence)
{
	struct batch b;

	begin(c, &b, slot);
	ugpu_cmd_semaphore_wait(&b.cb, scr_va(sem), UGPU_SEM_EQ, 1);
	ugpu_cmd_store_dword(&b.cb, store_va, v);
	return submit(c, &b, engine, fence);
}

static void scn_fence(int argc, char **argv)
{
	struct ctx *c = &C;
	uint64_t f1, f2;
	struct batch b;

	if (!ctx_open(c))
		return;
	if (expect("exec_blocked",
		   submit_blocked(c, 1, ENG_RENDER, S_SEM, scr_va(S_RES), 0xd0e, &f1), 0)) {
		expect("wait_poll_running", ugpu_wait(c->dev, f1, 0), -ETIME);
		expect("wait_short_running", ugpu_wait(c->dev, f1, 20 * 1000 * 1000), -ETIME);
		check_dw("not_run_yet", scr(c, S_RES), 0);
		/* The other engine runs while this one is blocked. */
		ugpu_cmd_store_dword(begin(c, &b, 2), scr_va(S_RES2), 0xe2);
		expect("other_engine", run_on(c, &b, ENG_COPY), 0);
		check_dw("other_engine_visible", scr(c, S_RES2), 0xe2);
		expect("still_running", ugpu_wait(c->dev, f1, 0), -ETIME);
		sem_set(c, S_SEM, 1);
		expect("wait_released", ugpu_wait(c->dev, f1, WAIT_NS), 0);
		check_dw("released_result", scr(c, S_RES), 0xd0e);
		expect("wait_again_poll", ugpu_wait(c->dev, f1, 0), 0);
		expect("wait_again_forever", ugpu_wait(c->dev, f1, -1), 0);
	}
	/* Two jobs queued on one engine complete in order. */
	sem_set(c, S_SEM, 0);
	*scr(c, S_RES) = 0;
	*scr(c, S_RES2) = 0;
	if (expect("queue.first", submit_blocked(c, 3, ENG_COPY, S_SEM, scr_va(S_RES), 1, &f1), 0) &&
	    expect("queue.second", submit_blocked(c, 4, ENG_COPY, S_SEM, scr_va(S_RES2), 2, &f2), 0)) {
		expect("queue.second_waits", ugpu_wait(c->dev, f2, 0), -ETIME);
		sem_set(c, S_SEM, 1);
		expect("queue.wait_second", ugpu_wait(c->dev, f2, WAIT_NS), 0);
		expect("queue.first_done", ugpu_wait(c->dev, f1, 0), 0);
		check_dw("queue.first_result", scr(c, S_RES), 1);
		check_dw("queue.second_result", scr(c, S_RES2), 2);
	}
	ctx_close(c);
}

/* A SEMAPHORE_WAIT never satisfied: -EIO after the hang timeout. */
static void scn_hang(int argc, char **argv)
{
	struct ctx *c = &C;
	uint64_t f1, f2;

	if (!ctx_open(c))
		return;
	if (expect("exec_hang", submit_blocked(c, 1, ENG_RENDER, S_SEM, scr_va(S_RES), 0xbad, &f1), 0)) {
		struct batch b;

		ugpu_cmd_store_dword(begin(c, &b, 2), scr_va(S_RES2), 0x600d);
		expect("exec_behind", submit(c, &b, ENG_RENDER, &f2), 0);
		expect("hang_eio", ugpu_wait(c->dev, f1, WAIT_NS), -EIO);
		check_dw("hang_result_not_written", scr(c, S_RES), 0);
		expect("next_job_runs", ugpu_wait(c->dev, f2, WAIT_NS), 0);
		check_dw("next_job_result", scr(c, S_RES2), 0x600d);
	}
	expect("after_reset", gpu_store(c, scr_va(S_RES2), 0x600e), 0);
	check_dw("after_reset_result", scr(c, S_RES2), 0x600e);
	ctx_close(c);
}

/* ---- scenarios: quotas ------------------------------------------------- */

struct quota { uint64_t vms, bos, userptrs, bound, bo_bytes, inflight; };

static void quota_vms(struct ctx *c, const struct quota *q)
{
	uint32_t vm[16], extra;
	struct ugpu *other;
	uint64_t i, n = 0;

	for (i = 1; i < q->vms && n < 16; i++)
		if (expect(nm("vms.create%" PRIu64, i), ugpu_vm_create(c->dev, 0, &vm[n]), 0))
			n++;
	expect_quota("vms.over", ugpu_vm_create(c->dev, 0, &extra));
	if (expect("vms.other_client_open", ugpu_open(g_path, &other), 0)) {
		expect("vms.other_client_own_quota", ugpu_vm_create(other, 0, &extra), 0);
		ugpu_close(other);
	}
	if (n && expect("vms.destroy_one", ugpu_vm_destroy(c->dev, vm[--n]), 0) &&
	    expect("vms.create_after_destroy", ugpu_vm_create(c->dev, 0, &vm[n]), 0))
		n++;
	while (n)
		expect("vms.teardown", ugpu_vm_destroy(c->dev, vm[--n]), 0);
}

static void quota_bos(struct ctx *c, const struct quota *q)
{
	uint32_t bo[16], extra;
	uint64_t i, n = 0;

	for (i = 0; i < q->bos && n < 16; i++)
		if (expect(nm("bos.create%" PRIu64, i), ugpu_bo_create(c->dev, 16 * PAGE, 0, &bo[n]), 0))
			n++;
	expect_quota("bos.over_count", ugpu_bo_create(c->dev, PAGE, 0, &extra));
	while (n > 1)
		expect("bos.destroy", ugpu_bo_destroy(c->dev, bo[--n]), 0);
	/* One 64 KiB BO left: its bytes count against max-bo-bytes. */
	expect_quota("bos.over_bytes", ugpu_bo_create(c->dev, q->bo_bytes - 16 * PAGE + PAGE, 0, &extra));
	expect_quota("bos.over_bytes_alone", ugpu_bo_create(c->dev, q->bo_bytes + PAGE, 0, &extra));
	if (expect("bos.up_to_bytes", ugpu_bo_create(c->dev, q->bo_bytes - 16 * PAGE, 0, &extra), 0))
		expect("bos.destroy_big", ugpu_bo_destroy(c->dev, extra), 0);
	while (n)
		expect("bos.destroy", ugpu_bo_destroy(c->dev, bo[--n]), 0);
}

static void quota_userptrs(struct ctx *c, const struct quota *q)
{
	uint8_t *p = map_anon(32 * PAGE);
	uint64_t i, n;

	/* The batch memory is one userptr already. */
	for (n = 0, i = 1; i < q->userptrs && n < 16; i++, n++)
		expect(nm("userptrs.bind%" PRIu64, i),
		       bind_up(c, DATA_VA + n * 2 * PAGE, p + n * 2 * PAGE, PAGE, 0), 0);
	expect_quota("userptrs.over", bind_up(c, DATA_VA + n * 2 * PAGE, p + n * 2 * PAGE, PAGE, 0));
	if (n) {
		expect("userptrs.unbind_one", unbind(c, DATA_VA, PAGE), 0);
		expect("userptrs.bind_after_unbind", bind_up(c, DATA_VA, p, PAGE, 0), 0);
	}
	for (i = 0; i < n; i++)
		expect("userptrs.teardown", unbind(c, DATA_VA + i * 2 * PAGE, PAGE), 0);
	munmap(p, 32 * PAGE);
}

static void quota_bound(struct ctx *c, const struct quota *q)
{
	uint64_t half = (q->bound / 2) & ~(PAGE - 1), bo_size = 16 * PAGE;
	uint8_t *p = map_anon(q->bound + PAGE);
	uint32_t bo;

	/* HOST_BYTES are bound already. */
	expect_quota("bound.over", bind_up(c, DATA_VA, p, q->bound, 0));
	if (!expect("bound.half", bind_up(c, DATA_VA, p, half, 0), 0))
		goto out;
	if (expect("bound.bo_create", ugpu_bo_create(c->dev, bo_size, 0, &bo), 0)) {
		expect("bound.bo_bind", ugpu_vm_bind_bo(c->dev, c->vm, BO_VA, bo, 0, bo_size, 0), 0);
		/* HOST_BYTES + half + BO + half > bound: the BO counts too. */
		expect_quota("bound.bo_counts", bind_up(c, DATA2_VA, p, half, 0));
		expect("bound.unbind_half", unbind(c, DATA_VA, half), 0);
		expect("bound.released", bind_up(c, DATA2_VA, p, half, 0), 0);
		expect("bound.teardown_unbind", unbind(c, DATA2_VA, half), 0);
		expect("bound.bo_unbind", unbind(c, BO_VA, bo_size), 0);
		expect("bound.bo_destroy", ugpu_bo_destroy(c->dev, bo), 0);
	} else {
		unbind(c, DATA_VA, half);
	}
out:
	munmap(p, q->bound + PAGE);
}

static void quota_inflight(struct ctx *c, const struct quota *q)
{
	uint64_t fence[8], extra, i, n = 0;
	struct batch b;

	sem_set(c, S_SEM, 0);
	for (i = 0; i < q->inflight && n < 7; i++)
		if (expect(nm("inflight.exec%" PRIu64, i),
			   submit_blocked(c, 1 + (unsigned int)n, (uint32_t)(i & 1), S_SEM,
					  scr_va(S_RES), 1, &fence[n]), 0))
			n++;
	ugpu_cmd_store_dword(begin(c, &b, 0), scr_va(S_RES2), 0x3);
	expect_quota("inflight.over", submit(c, &b, ENG_RENDER, &extra));
	sem_set(c, S_SEM, 1);
	for (i = 0; i < n; i++)
		expect("inflight.wait", ugpu_wait(c->dev, fence[i], WAIT_NS), 0);
	expect("inflight.exec_after", gpu_store(c, scr_va(S_RES2), 0x4), 0);
	check_dw("inflight.after_visible", scr(c, S_RES2), 0x4);
}

/* argv[3..8]: the daemon's max-vms, -bos, -userptrs, -bound-bytes, -bo-bytes, -inflight. */
static void scn_quota(int argc, char **argv)
{
	struct ctx *c = &C;
	struct quota q;

	if (!report(argc >= 9, "args", "need 6 limits"))
		return;
	q.vms = strtoull(argv[3], NULL, 0);
	q.bos = strtoull(argv[4], NULL, 0);
	q.userptrs = strtoull(argv[5], NULL, 0);
	q.bound = strtoull(argv[6], NULL, 0);
	q.bo_bytes = strtoull(argv[7], NULL, 0);
	q.inflight = strtoull(argv[8], NULL, 0);
	if (!ctx_open(c))
		return;
	quota_vms(c, &q);
	quota_bos(c, &q);
	quota_userptrs(c, &q);
	quota_bound(c, &q);
	quota_inflight(c, &q);
	ctx_close(c);
}

/* ---- scenarios: lifetime ----------------------------------------------- */

struct waiter {
	struct ctx *c;
	uint64_t fence;
	int ret;
};

static void *wait_thread(void *arg)
{
	struct waiter *w = arg;

	w->ret = ugpu_wait(w->c->dev, w->fence, -1);
	return NULL;
}

/* The daemon is SIGKILLed between "ready" and "go". */
static void scn_gone(int argc, char **argv)
{
	struct ctx *c = &C;
	struct waiter w = { .c = c, .ret = 1 };
	uint8_t *p, *q, tmp[64] = { 0 };
	uint32_t bo, v;
	uint64_t fence;
	struct timespec ts;
	pthread_t th;
	bool joined;

	if (!ctx_open(c) || !make_bo(c, PAGE, 0, BO_VA, &bo))
		return;
	p = map_anon(4 * PAGE);
	q = map_anon(PAGE);
	memset(p, 0, 4 * PAGE);
	expect("setup.bind", bind_up(c, DATA_VA, p, 4 * PAGE, 0), 0);
	expect("setup.exec", gpu_store(c, DATA_VA, 1), 0);
	expect("setup.exec_blocked", submit_blocked(c, 1, ENG_RENDER, S_SEM, DATA_VA, 2, &w.fence), 0);
	if (!report(pthread_create(&th, NULL, wait_thread, &w) == 0, "setup.thread", "failed"))
		return;
	usleep(100 * 1000);	/* likely parked in the daemon; either way is valid */
	if (!report(wait_go(), "go", "no go"))
		return;
	alarm(20);	/* a hang kills us: the test sees the signal */
	expect_gone("query", ugpu_query(c->dev, &c->info));
	expect_gone("vm_create", ugpu_vm_create(c->dev, 0, &v));
	expect_gone("bo_create", ugpu_bo_create(c->dev, PAGE, 0, &v));
	expect_gone("bo_pread", ugpu_bo_pread(c->dev, bo, 0, tmp, sizeof(tmp)));
	expect_gone("bo_pwrite", ugpu_bo_pwrite(c->dev, bo, 0, tmp, sizeof(tmp)));
	expect_gone("bind_bo", ugpu_vm_bind_bo(c->dev, c->vm, DATA2_VA, bo, 0, PAGE, 0));
	expect_gone("bind_userptr", bind_up(c, DATA2_VA, q, PAGE, 0));
	expect_gone("unbind", unbind(c, DATA_VA, PAGE));
	expect_gone("exec", ugpu_exec(c->dev, c->vm, ENG_RENDER, BATCH_VA, 16, &fence));
	expect_gone("wait_poll", ugpu_wait(c->dev, w.fence, 0));
	expect_gone("wait_timed", ugpu_wait(c->dev, w.fence, 1000 * 1000));
	expect_gone("wait_forever", ugpu_wait(c->dev, w.fence, -1));
	expect_gone("bo_destroy", ugpu_bo_destroy(c->dev, bo));
	expect_gone("vm_destroy", ugpu_vm_destroy(c->dev, c->vm));
	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_sec += 10;
	joined = pthread_timedjoin_np(th, NULL, &ts) == 0;
	if (report(joined, "parked_wait_returns", "ugpu_wait(-1) still blocked after 10 s"))
		expect_gone("parked_wait", w.ret);
	/* munmap of bound ranges must not hang (the daemon held our uffd). */
	expect("munmap_bound", munmap(p, 4 * PAGE) ? -errno : 0, 0);
	ugpu_host_free(c->dev, c->host, HOST_BYTES);
	report(true, "host_free_bound", "-");
	munmap(q, PAGE);
	ugpu_close(c->dev);
	report(true, "close", "-");
	{
		struct ugpu *d2 = NULL;
		int r = ugpu_open(g_path, &d2);

		report(r < 0, "reopen_fails", "ugpu_open gave %s", errname(r));
		if (!r)
			ugpu_close(d2);
	}
	alarm(0);
	memset(c, 0, sizeof(*c));
}

/* Jobs in flight, then exit (argv[3] "exit") or wait to be killed ("hold"). */
static void scn_exit_busy(int argc, char **argv)
{
	struct ctx *c = &C;
	static uint8_t *p;
	uint64_t f1, f2;
	uint32_t bo;
	char line[64];

	if (!ctx_open(c) || !make_bo(c, 16 * PAGE, 0, BO_VA, &bo))
		return;
	if (!report(posix_memalign((void **)&p, PAGE, 16 * PAGE) == 0, "malloc", "ENOMEM"))
		return;
	memset(p, 0, 16 * PAGE);
	expect("bind", bind_up(c, DATA_VA, p, 16 * PAGE, 0), 0);
	expect("exec_render", submit_blocked(c, 1, ENG_RENDER, S_SEM, DATA_VA, 1, &f1), 0);
	expect("exec_copy", submit_blocked(c, 2, ENG_COPY, S_SEM, BO_VA, 2, &f2), 0);
	expect("busy", ugpu_wait(c->dev, f1, 0), -ETIME);
	printf("ready\n");
	fflush(stdout);
	if (argc >= 4 && !strcmp(argv[3], "hold"))
		while (fgets(line, sizeof(line), stdin))
			;
	if (argc >= 4 && !strcmp(argv[3], "close")) {
		/* Close with jobs in flight, and live on: our memory stays ours. */
		alarm(20);
		ugpu_close(c->dev);
		report(true, "close_busy", "-");
		sem_set(c, S_SEM, 1);
		expect("munmap_after_close", munmap(c->host, HOST_BYTES) ? -errno : 0, 0);
		memset(p, 0x71, 16 * PAGE);
		expect("madvise_after_close", madvise(p, 16 * PAGE, MADV_DONTNEED) ? -errno : 0, 0);
		free(p);
		p = NULL;
		alarm(0);
		memset(c, 0, sizeof(*c));
	}
	/* Else exit with the device open, the VM bound and both jobs in flight. */
}

/* A job blocked while its userptr is munmapped and the address re-used. */
struct remapper {
	uint8_t *p;
	int done;
	bool ok;
};

static void *remap_thread(void *arg)
{
	struct remapper *r = arg;

	r->ok = munmap(r->p, PAGE) == 0 && remap_anon(r->p, PAGE);
	if (r->ok)
		memset(r->p, 0x5e, PAGE);
	__atomic_store_n(&r->done, 1, __ATOMIC_SEQ_CST);
	return NULL;
}

static void scn_unmap_running(int argc, char **argv)
{
	struct ctx *c = &C;
	struct remapper rm = { 0 };
	pthread_t th;
	uint64_t fence;
	int i, ret;
	bool first;

	if (!ctx_open(c))
		return;
	rm.p = map_anon(PAGE);
	memset(rm.p, 0, PAGE);
	if (!expect("bind", bind_up(c, DATA_VA, rm.p, PAGE, 0), 0) ||
	    !expect("warm", gpu_store(c, DATA_VA, 1), 0) ||
	    !expect("exec_blocked",
		    submit_blocked(c, 1, ENG_RENDER, S_SEM, DATA_VA + 8, 0xbad, &fence), 0))
		return;
	if (!report(pthread_create(&th, NULL, remap_thread, &rm) == 0, "thread", "failed"))
		return;
	/* munmap may wait for the job (as xe's notifier does); release it anyway after 1 s. */
	for (i = 0; i < 1000 && !__atomic_load_n(&rm.done, __ATOMIC_SEQ_CST); i++)
		usleep(1000);
	first = __atomic_load_n(&rm.done, __ATOMIC_SEQ_CST);
	sem_set(c, S_SEM, 1);
	pthread_join(th, NULL);
	report(rm.ok, "remap", "munmap/mmap failed");
	ret = ugpu_wait(c->dev, fence, WAIT_NS);
	if (first)
		expect("job_faults", ret, -EFAULT);
	else
		report(ret == 0 || ret == -EFAULT || ret == -EIO, "job_ends", "%s", errname(ret));
	check_bytes("reused_memory_untouched", rm.p, PAGE, 0x5e);
	expect("unbind", unbind(c, DATA_VA, PAGE), 0);
	munmap(rm.p, PAGE);
	ctx_close(c);
}

/* ---- main --------------------------------------------------------------- */

static const struct {
	const char *name;
	void (*fn)(int argc, char **argv);
} scenarios[] = {
	{ "query", scn_query },
	{ "errors", scn_errors },
	{ "two-clients", scn_two_clients },
	{ "hold", scn_hold },
	{ "foreign", scn_foreign },
	{ "probe", scn_probe },
	{ "fork", scn_fork },
	{ "userptr-store", scn_userptr_store },
	{ "invalidate", scn_invalidate },
	{ "dontneed", scn_dontneed },
	{ "sync-unmap", scn_sync_unmap },
	{ "readonly", scn_readonly },
	{ "partial-unbind", scn_partial_unbind },
	{ "replace", scn_replace },
	{ "big", scn_big },
	{ "misaligned", scn_misaligned },
	{ "host-alloc", scn_host_alloc },
	{ "bo", scn_bo },
	{ "fence", scn_fence },
	{ "hang", scn_hang },
	{ "quota", scn_quota },
	{ "gone", scn_gone },
	{ "exit-busy", scn_exit_busy },
	{ "unmap-running", scn_unmap_running },
	{ "protect", scn_protect },
	{ "backing", scn_backing },
	{ "backing-file", scn_backing_file },
	{ "batch-memory", scn_batch_memory },
	{ "storm", scn_storm },
};

int main(int argc, char **argv)
{
	size_t i;

	setvbuf(stdout, NULL, _IOLBF, 0);
	if (argc < 3) {
		fprintf(stderr, "usage: api_client SCENARIO DEVICE [ARGS...]\n");
		return 2;
	}
	g_scn = argv[1];
	g_path = argv[2];
	for (i = 0; i < sizeof(scenarios) / sizeof(scenarios[0]); i++) {
		if (strcmp(scenarios[i].name, argv[1]))
			continue;
		scenarios[i].fn(argc, argv);
		printf("done %s\n", g_scn);
		return g_fail ? 1 : 0;
	}
	fprintf(stderr, "api_client: unknown scenario %s\n", argv[1]);
	return 2;
}
