// SPDX-License-Identifier: MIT
/*
 * hw_client: the client side of check-hw, run inside the guest against
 * ugpud on the edu backend through its FUSE mount. It binds a BO, shared
 * memory (ugpu_host_alloc: zero copy through the IOMMU) and private
 * memory (bounced by the backend), runs small jobs whose every byte moves
 * through edu's DMA engine, checks the data from the CPU, and then
 * changes its address space under a binding: munmap makes the next job
 * fault (-EFAULT), MAP_FIXED over the range makes it see the new memory.
 * Jobs are tiny on purpose: each page a job touches costs four edu DMAs
 * of 100 ms under TCG. Usage: `hw_client <device> <config>`; one `ok` /
 * `not ok` line per check, `#` lines are notes; exit 1 on any failure.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "libclient/ugpu.h"

#define PAGE		4096ull
#define WAIT_NS		(60ll * 1000 * 1000 * 1000)
#define VA_BO		0x100000ull	/* page 0: batches, page 1: data */
#define VA_SHARED	0x200000ull
#define VA_PRIV		0x300000ull
#define VA_RO		0x400000ull

static struct ugpu *dev;
static uint32_t vm, bo;
static int failures;
static uint32_t batch_off;	/* next batch slot in BO page 0 */

static void result(int ok, const char *name, const char *fmt, ...)
{
	va_list ap;

	if (ok) {
		printf("ok %s\n", name);
	} else {
		failures++;
		printf("not ok %s: ", name);
		va_start(ap, fmt);
		vprintf(fmt, ap);
		va_end(ap);
		printf("\n");
	}
	fflush(stdout);
}

#define CHECK(cond, name, ...) result(!!(cond), name, __VA_ARGS__)

/* Runs the commands @build writes, from a fresh 256-byte slot of BO page 0. */
static int run(void (*build)(struct ugpu_cmdbuf *, void *), void *arg)
{
	uint32_t words[64];
	struct ugpu_cmdbuf cb;
	uint64_t fence;
	int ret;

	ugpu_cmd_init(&cb, words, sizeof(words));
	build(&cb, arg);
	if (ugpu_cmd_end(&cb))
		return -ENOSPC;
	if (batch_off + 256 > PAGE)
		batch_off = 0;
	ret = ugpu_bo_pwrite(dev, bo, batch_off, words, cb.len * 4);
	if (ret)
		return ret;
	ret = ugpu_exec(dev, vm, 0, VA_BO + batch_off, cb.len * 4, &fence);
	batch_off += 256;
	if (ret)
		return ret;
	return ugpu_wait(dev, fence, WAIT_NS);
}

static void b_bo(struct ugpu_cmdbuf *cb, void *arg)
{
	ugpu_cmd_store_dword(cb, VA_BO + PAGE, 0xdeadbeef);
	ugpu_cmd_fill(cb, VA_BO + PAGE + 64, 40, 0xa1b2c3d4);
	ugpu_cmd_copy(cb, VA_BO + PAGE + 512, VA_BO + PAGE + 64, 40);
}

static void b_shared(struct ugpu_cmdbuf *cb, void *arg)
{
	ugpu_cmd_fill(cb, VA_SHARED + 16, 100, 0x01020304);
	ugpu_cmd_copy(cb, VA_BO + PAGE + 1024, VA_SHARED, 16);
}

static void b_priv_out(struct ugpu_cmdbuf *cb, void *arg)
{
	ugpu_cmd_store_dword(cb, VA_PRIV + 8, 0x600dcafe);
	ugpu_cmd_copy(cb, VA_PRIV + 100, VA_BO + PAGE + 64, 40);
	ugpu_cmd_copy(cb, VA_BO + PAGE + 2048, VA_PRIV + 200, 8);
}

static void b_store(struct ugpu_cmdbuf *cb, void *arg)
{
	ugpu_cmd_store_dword(cb, *(uint64_t *)arg, 0x12345678);
}

static void b_checksum(struct ugpu_cmdbuf *cb, void *arg)
{
	ugpu_cmd_checksum(cb, VA_BO + PAGE + 3000, VA_BO + PAGE + 3008, 9);
}

static int setup(const char *path)
{
	struct ugpu_info info;
	int ret;

	ret = ugpu_open(path, &dev);
	CHECK(!ret, "client: open the daemon's card0", "ret %d", ret);
	if (ret)
		return ret;
	ret = ugpu_query(dev, &info);
	CHECK(!ret && !strcmp(info.backend, "edu") && (info.features & UGPU_FEATURE_USERPTR),
	      "client: query says backend edu with userptr", "ret %d backend '%s'", ret,
	      ret ? "" : info.backend);
	ret = ugpu_vm_create(dev, 0, &vm);
	if (!ret)
		ret = ugpu_bo_create(dev, 2 * PAGE, 0, &bo);
	if (!ret)
		ret = ugpu_vm_bind_bo(dev, vm, VA_BO, bo, 0, 2 * PAGE, 0);
	CHECK(!ret, "client: VM, BO bound", "ret %d", ret);
	return ret;
}

static void test_bo(void)
{
	uint8_t d[4096];
	int ret;

	ret = run(b_bo, NULL);
	if (!ret)
		ret = ugpu_bo_pread(dev, bo, PAGE, d, sizeof(d));
	CHECK(!ret && *(uint32_t *)d == 0xdeadbeef && *(uint32_t *)(d + 64) == 0xa1b2c3d4 &&
	      *(uint32_t *)(d + 100) == 0xa1b2c3d4 && !memcmp(d + 512, d + 64, 40) &&
	      d[104] == 0,
	      "client: BO store/fill/copy through edu DMA, data verified", "ret %d dword 0x%x",
	      ret, *(uint32_t *)d);

	/* CRC32C of "123456789" is 0xe3069283 (uapi/ugpu_isa.h). */
	ret = ugpu_bo_pwrite(dev, bo, PAGE + 3008, "123456789", 9);
	if (!ret)
		ret = run(b_checksum, NULL);
	if (!ret)
		ret = ugpu_bo_pread(dev, bo, PAGE + 3000, d, 4);
	CHECK(!ret && *(uint32_t *)d == 0xe3069283, "client: CHECKSUM reads through edu DMA",
	      "ret %d crc 0x%x", ret, *(uint32_t *)d);
}

static void test_shared(void)
{
	uint8_t *m = ugpu_host_alloc(dev, PAGE), d[16];
	int ret;

	if (!m) {
		result(0, "client: shared memory (ugpu_host_alloc)", "allocation failed");
		return;
	}
	memcpy(m, "shared-in-data!", 16);
	ret = ugpu_vm_bind_userptr(dev, vm, VA_SHARED, m, PAGE, 0);
	if (!ret)
		ret = run(b_shared, NULL);
	if (!ret)
		ret = ugpu_bo_pread(dev, bo, PAGE + 1024, d, 16);
	CHECK(!ret && *(uint32_t *)(m + 16) == 0x01020304 && *(uint32_t *)(m + 112) == 0x01020304 &&
	      m[116] == 0 && !memcmp(d, "shared-in-data!", 16),
	      "client: shared userptr read and written zero-copy", "ret %d", ret);
	ugpu_vm_unbind(dev, vm, VA_SHARED, PAGE);
	ugpu_host_free(dev, m, PAGE);
}

static void test_private(void)
{
	uint8_t *m = mmap(NULL, PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	uint8_t d[8];
	uint64_t va;
	void *again;
	int ret;

	memset(m, 0, PAGE);
	memcpy(m + 200, "private!", 8);
	m[300] = 0x42;
	ret = ugpu_vm_bind_userptr(dev, vm, VA_PRIV, m, PAGE, UGPU_BIND_PROBE);
	CHECK(!ret, "client: bind private userptr", "ret %d", ret);
	if (ret)
		return;
	ret = run(b_priv_out, NULL);
	if (!ret)
		ret = ugpu_bo_pread(dev, bo, PAGE + 2048, d, 8);
	CHECK(!ret && *(uint32_t *)(m + 8) == 0x600dcafe &&
	      *(uint32_t *)(m + 100) == 0xa1b2c3d4 && !memcmp(d, "private!", 8) && m[300] == 0x42,
	      "client: private userptr bounced in and out, untouched bytes kept",
	      "ret %d dword 0x%x", ret, *(uint32_t *)(m + 8));

	/* Invalidation: munmap -> the next job faults. */
	munmap(m, PAGE);
	va = VA_PRIV + 16;
	ret = run(b_store, &va);
	CHECK(ret == -EFAULT, "client: after munmap the job faults (-EFAULT)", "ret %d", ret);

	/* MAP_FIXED new memory at the same address -> the job writes the new pages. */
	again = mmap(m, PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED,
		     -1, 0);
	if (again != m) {
		result(0, "client: MAP_FIXED remap is seen by the next job", "mmap failed");
		return;
	}
	m[300] = 0x24;
	ret = run(b_store, &va);
	CHECK(!ret && *(uint32_t *)(m + 16) == 0x12345678 && m[300] == 0x24 &&
	      *(uint32_t *)(m + 8) == 0,
	      "client: MAP_FIXED remap is seen by the next job", "ret %d dword 0x%x", ret,
	      *(uint32_t *)(m + 16));
	ugpu_vm_unbind(dev, vm, VA_PRIV, PAGE);
	munmap(m, PAGE);
}

static void test_readonly(void)
{
	uint8_t *m = mmap(NULL, PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	uint64_t va = VA_RO + 4;
	int ret;

	memset(m, 0, PAGE);
	ret = ugpu_vm_bind_userptr(dev, vm, VA_RO, m, PAGE, UGPU_BIND_READONLY);
	if (!ret)
		ret = run(b_store, &va);
	CHECK(ret == -EFAULT && *(uint32_t *)(m + 4) == 0,
	      "client: GPU write to a read-only userptr faults", "ret %d", ret);
	ugpu_vm_unbind(dev, vm, VA_RO, PAGE);
	munmap(m, PAGE);
}

int main(int argc, char **argv)
{
	struct timespec t0, t1;

	if (argc < 2) {
		fprintf(stderr, "usage: hw_client <device> [config]\n");
		return 2;
	}
	clock_gettime(CLOCK_MONOTONIC, &t0);
	if (setup(argv[1]) == 0) {
		test_bo();
		test_shared();
		test_private();
		test_readonly();
		ugpu_vm_destroy(dev, vm);
		ugpu_bo_destroy(dev, bo);
	}
	ugpu_close(dev);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	printf("# hw_client: %d failures in %.1f s\n", failures,
	       (double)(t1.tv_sec - t0.tv_sec) + (t1.tv_nsec - t0.tv_nsec) / 1e9);
	return failures ? 1 : 0;
}
