// SPDX-License-Identifier: MIT
/*
 * api_memory: a real libugpu client for tests/integration/api_test.c,
 * the memory a client may give the GPU: bindings up to 256 MiB checked
 * by CHECKSUM against the CPU (big), GPU and CPU addresses misaligned to
 * each other (misaligned), ugpu_host_alloc memory (host-alloc), mprotect
 * after the bind (protect), every kind of backing and aliases across VMs
 * (backing), shared and private file mappings (backing-file), and
 * batches in each kind of memory (batch-memory). Usage and the line
 * protocol are those of tests/helpers/lib/api_common.h.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "libclient/ugpu.h"
#include "tests/helpers/lib/api_common.h"
#include "uapi/ugpu.h"

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

/* ---- scenarios: memory ------------------------------------------------ */

/* FILL + CHECKSUM over a big binding, checked against the CPU. */
static void big_case(struct ctx *c, const char *name, uint8_t *p, uint64_t size, uint32_t pat)
{
	struct batch b;
	uint32_t want;

	if (!api_expect(api_nm("%s.bind", name), api_bind_up(c, BIG_VA, p, size, 0), 0))
		return;
	api_begin(c, &b, 0);
	ugpu_cmd_fill(&b.cb, BIG_VA, size, pat);
	ugpu_cmd_store_dword(&b.cb, BIG_VA + size / 2 + 12, 0xc0ffee);
	ugpu_cmd_checksum(&b.cb, api_scr_va(S_CRC), BIG_VA, size);
	api_expect(api_nm("%s.exec", name), api_run(c, &b), 0);
	api_report(api_rd32(p + size / 2 + 12) == 0xc0ffee, api_nm("%s.store", name), "0x%08x",
		   api_rd32(p + size / 2 + 12));
	want = crc32c(p, size);
	*(uint32_t *)(p + size / 2 + 12) = pat;
	api_check_dws(api_nm("%s.fill", name), p, size, pat);
	api_report(*api_scr(c, S_CRC) == want, api_nm("%s.checksum", name),
		   "gpu 0x%08x, cpu 0x%08x",
		   *api_scr(c, S_CRC), want);
	api_expect(api_nm("%s.unbind", name), api_unbind(c, BIG_VA, size), 0);
}

static void scn_big(int argc, char **argv)
{
	static const unsigned int sizes_mib[] = { 2, 16, 64, 256 };
	unsigned int max_mib = argc >= 4 ? (unsigned int)atoi(argv[3]) : 256;
	struct ctx *c = &api_ctx;
	unsigned int i;
	uint8_t *p;

	crc_init();
	api_report(crc32c("123456789", 9) == 0xe3069283u, "crc_self_test", "0x%08x",
		   crc32c("123456789", 9));
	if (!api_ctx_open(c))
		return;
	for (i = 0; i < sizeof(sizes_mib) / sizeof(sizes_mib[0]) && sizes_mib[i] <= max_mib; i++) {
		uint64_t size = sizes_mib[i] * MiB;

		p = api_map_anon(size);
		if (!api_report(p != NULL, api_nm("%uM.map", sizes_mib[i]), "mmap"))
			continue;
		memset(p, 0xa5, size);	/* real pages */
		big_case(c, api_nm("%uM", sizes_mib[i]), p, size, 0x01010101u * (i + 1));
		munmap(p, size);
	}
	p = ugpu_host_alloc(c->dev, 64 * MiB);
	if (api_report(p != NULL, "host64M.alloc", "NULL")) {
		memset(p, 0xa5, 64 * MiB);
		big_case(c, "host64M", p, 64 * MiB, 0x5eed5eed);
		ugpu_host_free(c->dev, p, 64 * MiB);
	}
	api_ctx_close(c);
}

/* Per-page tags: the GPU page at va + i*4K must be the CPU page p + i*4K. */
static void misaligned_case(struct ctx *c, const char *name, uint8_t *p, uint64_t va,
			    uint64_t size, uint32_t bo)
{
	uint64_t pages = size / PAGE, i;
	uint32_t *tmp = malloc(size);
	long long bad = -1;
	struct batch b;

	if (!tmp || !api_expect(api_nm("%s.bind", name), api_bind_up(c, va, p, size, 0), 0))
		goto out;
	for (i = 0; i < pages; i++)
		memset(p + i * PAGE, (int)(i & 0xff), PAGE);
	api_expect(api_nm("%s.copy_out", name), api_gpu_copy(c, BO_VA, va, size), 0);
	if (api_expect(api_nm("%s.pread", name), ugpu_bo_pread(c->dev, bo, 0, tmp, size), 0)) {
		for (i = 0; i < pages && bad < 0; i++)
			if (api_find_not_byte((uint8_t *)tmp + i * PAGE, PAGE, (uint8_t)i) >= 0)
				bad = (long long)i;
		api_report(bad < 0, api_nm("%s.gpu_reads_right_pages", name), "page %lld", bad);
	}
	api_begin(c, &b, 0);
	for (i = 0; i < pages && i < 512; i++)
		ugpu_cmd_store_dword(&b.cb, va + i * PAGE + (i % 1024) * 4,
				     0xa0000000u | (uint32_t)i);
	api_expect(api_nm("%s.stores", name), api_run(c, &b), 0);
	for (i = 0, bad = -1; i < pages && i < 512 && bad < 0; i++)
		if (api_rd32(p + i * PAGE + (i % 1024) * 4) != (0xa0000000u | (uint32_t)i))
			bad = (long long)i;
	api_report(bad < 0, api_nm("%s.gpu_writes_right_pages", name), "page %lld", bad);
	api_expect(api_nm("%s.unbind", name), api_unbind(c, va, size), 0);
out:
	free(tmp);
}

static void scn_misaligned(int argc, char **argv)
{
	const uint64_t two = 2 * MiB;
	struct ctx *c = &api_ctx;
	uint8_t *raw, *p;
	uint32_t bo;

	if (!api_ctx_open(c) || !api_make_bo(c, two, 0, BO_VA, &bo))
		return;
	raw = api_map_anon(3 * two);
	if (!api_report(raw != NULL, "map", "mmap"))
		return;
	p = (uint8_t *)(((uintptr_t)raw + two - 1) & ~(uintptr_t)(two - 1));
	misaligned_case(c, "gpu_va_plus_64k", p, MIS_VA + 64 * KiB, two, bo);
	misaligned_case(c, "cpu_ptr_plus_64k", p + 64 * KiB, MIS_VA, two, bo);
	misaligned_case(c, "both_odd_pages", p + PAGE, MIS_VA + two - 3 * PAGE, MiB + 5 * PAGE, bo);
	misaligned_case(c, "cross_2m_both", p + two - 7 * PAGE, MIS_VA + 2 * two - 9 * PAGE,
			16 * PAGE, bo);
	munmap(raw, 3 * two);
	api_expect("teardown.unbind_bo", api_unbind(c, BO_VA, two), 0);
	api_expect("teardown.bo_destroy", ugpu_bo_destroy(c->dev, bo), 0);
	api_ctx_close(c);
}

/* ugpu_host_alloc memory bound as a userptr: zero copy both ways. */
static void scn_host_alloc(int argc, char **argv)
{
	struct ctx *c = &api_ctx;
	uint8_t *h;
	uint32_t bo;

	if (!api_ctx_open(c) || !api_make_bo(c, PAGE, 0, BO_VA, &bo))
		return;
	h = ugpu_host_alloc(c->dev, MiB);
	if (!api_report(h != NULL, "alloc", "NULL"))
		return;
	memset(h, 0, MiB);
	if (api_expect("bind", api_bind_up(c, DATA_VA, h, MiB, UGPU_BIND_PROBE), 0)) {
		api_expect("fill", api_gpu_fill(c, DATA_VA, MiB, 0x77777777), 0);
		api_check_bytes("fill_visible", h, MiB, 0x77);
		memset(h + 5 * PAGE, 0x1e, PAGE);
		api_expect("copy", api_gpu_copy(c, BO_VA, DATA_VA + 5 * PAGE, PAGE), 0);
		api_check_bo(c, "cpu_write_seen_by_gpu", bo, 0, PAGE, 0x1e);
		api_expect("store", api_gpu_store(c, DATA_VA + MiB - 4, 0xc0ffee), 0);
		api_check_dw("store_visible", h + MiB - 4, 0xc0ffee);
		api_expect("unbind", api_unbind(c, DATA_VA, MiB), 0);
	}
	ugpu_host_free(c->dev, h, MiB);
	api_expect("teardown.unbind_bo", api_unbind(c, BO_VA, PAGE), 0);
	api_expect("teardown.bo_destroy", ugpu_bo_destroy(c->dev, bo), 0);
	api_ctx_close(c);
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
	if (!api_expect(api_nm("%s.bind", name), api_bind_up(c, DATA_VA, p, 2 * PAGE, 0), 0))
		return;
	api_expect(api_nm("%s.exec_rw", name), api_gpu_store(c, DATA_VA, 0x4e4e4e4e), 0);
	mprotect(p, 2 * PAGE, PROT_READ);
	ugpu_cmd_store_dword(api_begin(c, &b, 0), DATA_VA + PAGE, 0xbad);
	api_run_fault(c, &b, api_nm("%s.write_readonly_faults", name));
	api_check_bytes(api_nm("%s.readonly_unchanged", name), p, 2 * PAGE, 0x4e);
	api_expect(api_nm("%s.read_readonly", name), api_gpu_copy(c, BO_VA, DATA_VA, PAGE), 0);
	api_check_bo(c, api_nm("%s.read_readonly_visible", name), bo, 0, PAGE, 0x4e);
	mprotect(p, 2 * PAGE, PROT_NONE);
	ugpu_cmd_copy(api_begin(c, &b, 0), BO_VA, DATA_VA, PAGE);
	api_run_fault(c, &b, api_nm("%s.read_none_faults", name));
	ugpu_cmd_store_dword(api_begin(c, &b, 0), DATA_VA + 4, 0xbad);
	api_run_fault(c, &b, api_nm("%s.write_none_faults", name));
	mprotect(p, 2 * PAGE, PROT_READ | PROT_WRITE);
	api_check_bytes(api_nm("%s.none_unchanged", name), p, 2 * PAGE, 0x4e);
	api_expect(api_nm("%s.exec_rw_again", name), api_gpu_store(c, DATA_VA + PAGE + 4, 0xc0ffee),
		   0);
	api_check_dw(api_nm("%s.rw_again_visible", name), p + PAGE + 4, 0xc0ffee);
	api_expect(api_nm("%s.unbind", name), api_unbind(c, DATA_VA, 2 * PAGE), 0);
}

static void scn_protect(int argc, char **argv)
{
	struct ctx *c = &api_ctx;
	uint8_t *p;
	uint32_t bo;

	if (!api_ctx_open(c) || !api_make_bo(c, PAGE, 0, BO_VA, &bo))
		return;
	p = api_map_anon(2 * PAGE);
	protect_case(c, "private", p, bo);
	munmap(p, 2 * PAGE);
	p = ugpu_host_alloc(c->dev, 2 * PAGE);
	if (api_report(p != NULL, "shared.alloc", "NULL"))
		protect_case(c, "shared", p, bo);
	ugpu_host_free(c->dev, p, 2 * PAGE);
	api_expect("teardown.unbind_bo", api_unbind(c, BO_VA, PAGE), 0);
	api_expect("teardown.bo_destroy", ugpu_bo_destroy(c->dev, bo), 0);
	api_ctx_close(c);
}

/* Read @p through the GPU (check @rd), then write it (check @wr). */
static void backing_case(struct ctx *c, const char *name, uint8_t *p, uint64_t len, uint32_t bo)
{
	memset(p, 0x3a, len);
	if (!api_expect(api_nm("%s.bind", name), api_bind_up(c, DATA_VA, p, len, UGPU_BIND_PROBE),
			0))
		return;
	api_expect(api_nm("%s.read", name), api_gpu_copy(c, BO_VA, DATA_VA, len), 0);
	api_check_bo(c, api_nm("%s.read_visible", name), bo, 0, len, 0x3a);
	api_expect(api_nm("%s.write", name), api_gpu_fill(c, DATA_VA, len, 0x3b3b3b3b), 0);
	api_check_bytes(api_nm("%s.write_visible", name), p, len, 0x3b);
	api_expect(api_nm("%s.unbind", name), api_unbind(c, DATA_VA, len), 0);
}

static uint8_t bss_buf[4 * PAGE] __attribute__((aligned(4096)));

/* Every kind of memory a client may bind; aliases within and across VMs. */
static void scn_backing(int argc, char **argv)
{
	struct ctx *c = &api_ctx;
	uint32_t bo, vm2;
	uint8_t *p;

	if (!api_ctx_open(c) || !api_make_bo(c, 4 * PAGE, 0, BO_VA, &bo))
		return;
	backing_case(c, "bss", bss_buf, sizeof(bss_buf), bo);

	p = mmap(NULL, 4 * PAGE, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (api_report(p != MAP_FAILED, "shared_anon.map", "mmap")) {
		backing_case(c, "shared_anon", p, 4 * PAGE, bo);
		munmap(p, 4 * PAGE);
	}
	/* One range at two GPU addresses, and in a second VM. */
	p = api_map_anon(PAGE);
	memset(p, 0, PAGE);
	if (api_expect("alias.bind1", api_bind_up(c, DATA_VA, p, PAGE, 0), 0) &&
	    api_expect("alias.bind2", api_bind_up(c, DATA2_VA, p, PAGE, 0), 0)) {
		api_expect("alias.store1", api_gpu_store(c, DATA_VA, 0x1111), 0);
		api_expect("alias.store2", api_gpu_store(c, DATA2_VA + 4, 0x2222), 0);
		api_check_dw("alias.visible1", p, 0x1111);
		api_check_dw("alias.visible2", p + 4, 0x2222);
		if (api_expect("alias.vm2", ugpu_vm_create(c->dev, 0, &vm2), 0)) {
			uint32_t vm1 = c->vm;

			api_expect("alias.vm2_bind_batch",
				   ugpu_vm_bind_userptr(c->dev, vm2, BATCH_VA, c->host, HOST_BYTES,
							0), 0);
			api_expect("alias.vm2_bind",
				   ugpu_vm_bind_userptr(c->dev, vm2, MIS_VA, p, PAGE, 0), 0);
			c->vm = vm2;
			api_expect("alias.vm2_store", api_gpu_store(c, MIS_VA + 8, 0x3333), 0);
			c->vm = vm1;
			api_check_dw("alias.vm2_visible", p + 8, 0x3333);
			/* An invalidation reaches every binding of the range. */
			if (api_report(api_remap_anon(p, PAGE), "alias.remap", "mmap")) {
				c->vm = vm2;
				api_expect("alias.vm2_after_remap",
					   api_gpu_store(c, MIS_VA + 12, 0x4444), 0);
				c->vm = vm1;
				api_expect("alias.vm1_after_remap",
					   api_gpu_store(c, DATA2_VA + 16, 0x5555), 0);
				api_check_dw("alias.vm2_new_memory", p + 12, 0x4444);
				api_check_dw("alias.vm1_new_memory", p + 16, 0x5555);
			}
			api_expect("alias.vm2_destroy", ugpu_vm_destroy(c->dev, vm2), 0);
		}
		api_expect("alias.unbind1", api_unbind(c, DATA_VA, PAGE), 0);
		api_expect("alias.unbind2", api_unbind(c, DATA2_VA, PAGE), 0);
	}
	munmap(p, PAGE);
	api_expect("teardown.unbind_bo", api_unbind(c, BO_VA, 4 * PAGE), 0);
	api_expect("teardown.bo_destroy", ugpu_bo_destroy(c->dev, bo), 0);
	api_ctx_close(c);
}

static bool file_is(int fd, uint8_t byte, const char *name)
{
	uint8_t buf[4 * PAGE];

	return api_report(pread(fd, buf, sizeof(buf), 0) == (ssize_t)sizeof(buf) &&
			  api_find_not_byte(buf, sizeof(buf), byte) < 0, name,
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
	struct ctx *c = &api_ctx;
	uint32_t bo;
	uint8_t *p;
	int fd;

	if (!api_ctx_open(c) || !api_make_bo(c, 4 * PAGE, 0, BO_VA, &bo))
		return;
	snprintf(tmpl, sizeof(tmpl), "%s/ugpu-api-file.XXXXXX", dir);
	fd = mkstemp(tmpl);
	if (!api_report(fd >= 0, "create", "mkstemp %s", tmpl))
		return;
	unlink(tmpl);
	memset(fill, 0x2c, sizeof(fill));
	api_report(pwrite(fd, fill, sizeof(fill), 0) == (ssize_t)sizeof(fill), "write", "pwrite");

	p = mmap(NULL, 4 * PAGE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (api_report(p != MAP_FAILED, "shared.map", "mmap")) {
		backing_case(c, "shared", p, 4 * PAGE, bo);
		file_is(fd, 0x3b, "shared.gpu_write_in_file");
		munmap(p, 4 * PAGE);
	}
	api_report(pwrite(fd, fill, sizeof(fill), 0) == (ssize_t)sizeof(fill), "rewrite", "pwrite");

	p = mmap(NULL, 4 * PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
	if (api_report(p != MAP_FAILED, "private.map", "mmap")) {
		/* Untouched private file pages read the file. */
		if (api_expect("private.bind_untouched", api_bind_up(c, DATA_VA, p, 4 * PAGE, 0),
			       0)) {
			api_expect("private.read_file", api_gpu_copy(c, BO_VA, DATA_VA, 4 * PAGE),
				   0);
			api_check_bo(c, "private.read_file_visible", bo, 0, 4 * PAGE, 0x2c);
			api_expect("private.unbind_untouched", api_unbind(c, DATA_VA, 4 * PAGE), 0);
		}
		backing_case(c, "private", p, 4 * PAGE, bo);
		file_is(fd, 0x2c, "private.file_unchanged");
		munmap(p, 4 * PAGE);
	}
	close(fd);
	api_expect("teardown.unbind_bo", api_unbind(c, BO_VA, 4 * PAGE), 0);
	api_expect("teardown.bo_destroy", ugpu_bo_destroy(c->dev, bo), 0);
	api_ctx_close(c);
}

/* Batches in every memory the GPU can reach: host_alloc, a userptr, a BO. */
static void scn_batch_memory(int argc, char **argv)
{
	struct ctx *c = &api_ctx;
	struct ugpu_cmdbuf cb;
	uint32_t words[16], bo;
	uint8_t *p;
	uint64_t fence;
	int r;

	if (!api_ctx_open(c))
		return;
	/* Encoding limits: a command that does not fit is -ENOSPC, and sticks. */
	ugpu_cmd_init(&cb, words, 2 * 4);
	api_expect("cmd.store_no_room", ugpu_cmd_store_dword(&cb, DATA_VA, 1), -ENOSPC);
	api_expect("cmd.end_after_overflow", ugpu_cmd_end(&cb), -ENOSPC);
	ugpu_cmd_init(&cb, words, 4 * 4);
	api_expect("cmd.store_exact", ugpu_cmd_store_dword(&cb, DATA_VA, 1), 0);
	api_expect("cmd.end_no_room", ugpu_cmd_end(&cb), -ENOSPC);

	/* A batch in private (malloc'd) memory bound as a userptr. */
	p = api_map_anon(2 * PAGE);
	memset(p, 0, 2 * PAGE);
	ugpu_cmd_init(&cb, p, PAGE);
	ugpu_cmd_store_dword(&cb, api_scr_va(S_RES), 0xba7c4);
	ugpu_cmd_store_dword(&cb, DATA_VA + PAGE, 0xc0ffee);	/* into itself */
	if (api_expect("userptr.encode", ugpu_cmd_end(&cb), 0) &&
	    api_expect("userptr.bind", api_bind_up(c, DATA_VA, p, 2 * PAGE, 0), 0)) {
		r = ugpu_exec(c->dev, c->vm, ENG_RENDER, DATA_VA, cb.len * 4, &fence);
		if (api_expect("userptr.exec", r, 0))
			api_expect("userptr.wait", ugpu_wait(c->dev, fence, WAIT_NS), 0);
		api_check_dw("userptr.result", api_scr(c, S_RES), 0xba7c4);
		api_check_dw("userptr.result_in_own_memory", p + PAGE, 0xc0ffee);
		/* The batch memory replaced: the next exec runs the new batch. */
		if (api_report(api_remap_anon(p, PAGE), "userptr.remap", "mmap")) {
			ugpu_cmd_init(&cb, p, PAGE);
			ugpu_cmd_store_dword(&cb, api_scr_va(S_RES), 0xba7c5);
			ugpu_cmd_end(&cb);
			r = ugpu_exec(c->dev, c->vm, ENG_COPY, DATA_VA, cb.len * 4, &fence);
			if (api_expect("userptr.exec_new_batch", r, 0))
				api_expect("userptr.wait_new_batch",
					   ugpu_wait(c->dev, fence, WAIT_NS), 0);
			api_check_dw("userptr.new_batch_result", api_scr(c, S_RES), 0xba7c5);
		}
		api_expect("userptr.unbind", api_unbind(c, DATA_VA, 2 * PAGE), 0);
	}
	munmap(p, 2 * PAGE);

	/* A batch written into a BO with pwrite. */
	ugpu_cmd_init(&cb, words, sizeof(words));
	ugpu_cmd_store_dword(&cb, api_scr_va(S_RES2), 0xb0b0);
	if (api_expect("bo.encode", ugpu_cmd_end(&cb), 0) &&
	    api_expect("bo.create", ugpu_bo_create(c->dev, PAGE, 0, &bo), 0)) {
		api_expect("bo.pwrite", ugpu_bo_pwrite(c->dev, bo, 0, words, cb.len * 4), 0);
		api_expect("bo.bind", ugpu_vm_bind_bo(c->dev, c->vm, BO_VA, bo, 0, PAGE, 0), 0);
		r = ugpu_exec(c->dev, c->vm, ENG_RENDER, BO_VA, cb.len * 4, &fence);
		if (api_expect("bo.exec", r, 0))
			api_expect("bo.wait", ugpu_wait(c->dev, fence, WAIT_NS), 0);
		api_check_dw("bo.result", api_scr(c, S_RES2), 0xb0b0);
		api_expect("bo.unbind", api_unbind(c, BO_VA, PAGE), 0);
		api_expect("bo.destroy", ugpu_bo_destroy(c->dev, bo), 0);
	}
	api_ctx_close(c);
}

/* ---- main --------------------------------------------------------------- */

static const struct api_scenario scenarios[] = {
	{ "big", scn_big },
	{ "misaligned", scn_misaligned },
	{ "host-alloc", scn_host_alloc },
	{ "protect", scn_protect },
	{ "backing", scn_backing },
	{ "backing-file", scn_backing_file },
	{ "batch-memory", scn_batch_memory },
};

int main(int argc, char **argv)
{
	return api_main(argc, argv, scenarios, sizeof(scenarios) / sizeof(scenarios[0]));
}
