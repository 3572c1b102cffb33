// SPDX-License-Identifier: MIT
/*
 * api_errors: a real libugpu client for tests/integration/api_test.c,
 * API.md's error table: every -EINVAL row and -ENOENT for destroyed ids
 * (errors), one client's ids seen by another in the same process
 * (two-clients) and in another process (hold, foreign), PROBE finding
 * holes at the bind or lazily at exec (probe), a forked child using its
 * parent's device (fork), and every quota (quota). Usage and the line
 * protocol are those of tests/helpers/lib/api_common.h.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "libclient/ugpu.h"
#include "tests/helpers/lib/api_common.h"
#include "uapi/ugpu.h"

static void errors_bind_bo(struct ctx *c, uint32_t bo)
{
	uint64_t top = api_va_top(c), over = ~(PAGE - 1);
#define BB(va, off, size, flags) ugpu_vm_bind_bo(c->dev, c->vm, va, bo, off, size, flags)

	api_expect("bind_bo.unknown_flag", BB(DATA_VA, 0, PAGE, 1u << 7), -EINVAL);
	api_expect("bind_bo.unknown_flag_high", BB(DATA_VA, 0, PAGE, 1u << 31), -EINVAL);
	api_expect("bind_bo.size0", BB(DATA_VA, 0, 0, 0), -EINVAL);
	api_expect("bind_bo.unaligned_va", BB(DATA_VA + 2048, 0, PAGE, 0), -EINVAL);
	api_expect("bind_bo.unaligned_offset", BB(DATA_VA, 2048, PAGE, 0), -EINVAL);
	api_expect("bind_bo.unaligned_size", BB(DATA_VA, 0, 6000, 0), -EINVAL);
	api_expect("bind_bo.va_at_top", BB(top, 0, PAGE, 0), -EINVAL);
	api_expect("bind_bo.va_past_top", BB(top - PAGE, 0, 2 * PAGE, 0), -EINVAL);
	api_expect("bind_bo.va_far", BB(1ull << 63, 0, PAGE, 0), -EINVAL);
	api_expect2("bind_bo.va_overflow", BB(over, 0, 2 * PAGE, 0), -EINVAL, -EOVERFLOW);
#undef BB
}

static void errors_bind_userptr(struct ctx *c, uint8_t *buf)
{
	uint64_t top = api_va_top(c), over = ~(PAGE - 1);
	void *wrap = (void *)(uintptr_t)over;
#define BU(va, ptr, size, flags) ugpu_vm_bind_userptr(c->dev, c->vm, va, ptr, size, flags)

	api_expect("bind_userptr.unknown_flag", BU(DATA_VA, buf, PAGE, 1u << 7), -EINVAL);
	api_expect("bind_userptr.unknown_flag_high", BU(DATA_VA, buf, PAGE, 1u << 31), -EINVAL);
	api_expect("bind_userptr.size0", BU(DATA_VA, buf, 0, 0), -EINVAL);
	api_expect("bind_userptr.unaligned_ptr", BU(DATA_VA, buf + 64, PAGE, 0), -EINVAL);
	api_expect("bind_userptr.unaligned_va", BU(DATA_VA + 64, buf, PAGE, 0), -EINVAL);
	api_expect("bind_userptr.unaligned_size", BU(DATA_VA, buf, 6000, 0), -EINVAL);
	api_expect("bind_userptr.va_at_top", BU(top, buf, PAGE, 0), -EINVAL);
	api_expect("bind_userptr.va_past_top", BU(top - PAGE, buf, 2 * PAGE, 0), -EINVAL);
	api_expect("bind_userptr.va_far", BU(1ull << 63, buf, PAGE, 0), -EINVAL);
	api_expect2("bind_userptr.va_overflow", BU(over, buf, 2 * PAGE, 0), -EINVAL, -EOVERFLOW);
	api_expect2("bind_userptr.ptr_overflow", BU(DATA_VA, wrap, 2 * PAGE, 0), -EINVAL,
		    -EOVERFLOW);
#undef BU
}

static void errors_unbind(struct ctx *c)
{
	uint64_t top = api_va_top(c), over = ~(PAGE - 1);

	api_expect("unbind.size0", api_unbind(c, DATA_VA, 0), -EINVAL);
	api_expect("unbind.unaligned_va", api_unbind(c, DATA_VA + 64, PAGE), -EINVAL);
	api_expect("unbind.unaligned_size", api_unbind(c, DATA_VA, 6000), -EINVAL);
	api_expect("unbind.va_at_top", api_unbind(c, top, PAGE), -EINVAL);
	api_expect("unbind.va_past_top", api_unbind(c, top - PAGE, 2 * PAGE), -EINVAL);
	api_expect2("unbind.va_overflow", api_unbind(c, over, 2 * PAGE), -EINVAL, -EOVERFLOW);
}

static void errors_enoent(struct ctx *c, uint8_t *buf)
{
	struct ugpu *d = c->dev;
	uint32_t vm2, bo, bo2;
	uint8_t tmp[64] = { 0 };
	uint64_t fence;

	if (!api_expect("setup.vm2", ugpu_vm_create(d, 0, &vm2), 0) ||
	    !api_expect("setup.bo", ugpu_bo_create(d, 16 * PAGE, 0, &bo), 0))
		return;
	api_expect("vm_destroy", ugpu_vm_destroy(d, vm2), 0);
	api_expect("vm_destroy.twice", ugpu_vm_destroy(d, vm2), -ENOENT);
	api_expect("bind_bo.destroyed_vm", ugpu_vm_bind_bo(d, vm2, DATA_VA, bo, 0, PAGE, 0),
		   -ENOENT);
	api_expect("bind_userptr.destroyed_vm", ugpu_vm_bind_userptr(d, vm2, DATA_VA, buf, PAGE, 0),
		   -ENOENT);
	api_expect("unbind.destroyed_vm", ugpu_vm_unbind(d, vm2, DATA_VA, PAGE), -ENOENT);
	api_expect("exec.destroyed_vm", ugpu_exec(d, vm2, ENG_RENDER, BATCH_VA, 4, &fence),
		   -ENOENT);
	api_expect("vm_destroy.never_created", ugpu_vm_destroy(d, 0x7fff1234), -ENOENT);
	api_expect("exec.never_created_vm",
		   ugpu_exec(d, 0x7fff1234, ENG_RENDER, BATCH_VA, 4, &fence), -ENOENT);

	if (!api_expect("setup.bo2", ugpu_bo_create(d, PAGE, 0, &bo2), 0))
		return;
	api_expect("bo_destroy", ugpu_bo_destroy(d, bo2), 0);
	api_expect("bo_destroy.twice", ugpu_bo_destroy(d, bo2), -ENOENT);
	api_expect("bo_pread.destroyed", ugpu_bo_pread(d, bo2, 0, tmp, sizeof(tmp)), -ENOENT);
	api_expect("bo_pwrite.destroyed", ugpu_bo_pwrite(d, bo2, 0, tmp, sizeof(tmp)), -ENOENT);
	api_expect("bind_bo.destroyed_bo", ugpu_vm_bind_bo(d, c->vm, BO_VA, bo2, 0, PAGE, 0),
		   -ENOENT);
	api_expect("bo_pread.never_created", ugpu_bo_pread(d, 0x7fff1234, 0, tmp, sizeof(tmp)),
		   -ENOENT);
	api_expect("bo_destroy.never_created", ugpu_bo_destroy(d, 0x7fff1234), -ENOENT);
	api_expect("teardown.bo_destroy", ugpu_bo_destroy(d, bo), 0);
}

/* Every -EINVAL row of the table, and -ENOENT for destroyed ids. */
static void scn_errors(int argc, char **argv)
{
	struct ctx *c = &api_ctx;
	uint8_t *buf;
	uint32_t v, bo;

	if (!api_ctx_open(c))
		return;
	buf = api_map_anon(16 * PAGE);
	if (!api_report(buf != NULL, "setup.map", "mmap failed"))
		return;
	api_expect("vm_create.unknown_flag", ugpu_vm_create(c->dev, 1u << 31, &v), -EINVAL);
	api_expect("bo_create.size0", ugpu_bo_create(c->dev, 0, 0, &v), -EINVAL);
	api_expect("bo_create.unaligned_size", ugpu_bo_create(c->dev, 6000, 0, &v), -EINVAL);
	api_expect("bo_create.unknown_flag", ugpu_bo_create(c->dev, PAGE, 1u << 31, &v), -EINVAL);
	if (api_expect("setup.bo_create", ugpu_bo_create(c->dev, 16 * PAGE, 0, &bo), 0)) {
		errors_bind_bo(c, bo);
		api_expect("teardown.bo_destroy", ugpu_bo_destroy(c->dev, bo), 0);
	}
	errors_bind_userptr(c, buf);
	errors_unbind(c);
	/* None of the rejected binds may have mapped anything. */
	{
		struct batch b;

		ugpu_cmd_store_dword(api_begin(c, &b, 0), DATA_VA, 1);
		api_run_fault(c, &b, "rejected_binds_mapped_nothing");
	}
	errors_enoent(c, buf);
	munmap(buf, 16 * PAGE);
	api_ctx_close(c);
}

/* Two clients in one process: each one's ids are -ENOENT to the other. */
static void scn_two_clients(int argc, char **argv)
{
	struct ctx *a = &api_ctx;
	struct ugpu *b;
	uint8_t *buf, tmp[256];
	uint32_t bo_a, vm_b;
	uint64_t fence;

	if (!api_ctx_open(a) || !api_make_bo(a, PAGE, 0x42, 0, &bo_a))
		return;
	if (!api_expect("open_b", ugpu_open(api_path, &b), 0))
		return;
	buf = api_map_anon(PAGE);
	memset(tmp, 0x99, sizeof(tmp));
	/* B owns nothing yet, so no id of A can be one of B's own. */
	api_expect("vm_destroy.other_client", ugpu_vm_destroy(b, a->vm), -ENOENT);
	api_expect("bind_userptr.other_client_vm",
		   ugpu_vm_bind_userptr(b, a->vm, DATA_VA, buf, PAGE, 0), -ENOENT);
	api_expect("bind_bo.other_client_vm", ugpu_vm_bind_bo(b, a->vm, BO_VA, bo_a, 0, PAGE, 0),
		   -ENOENT);
	api_expect("unbind.other_client_vm", ugpu_vm_unbind(b, a->vm, BATCH_VA, PAGE), -ENOENT);
	api_expect("exec.other_client_vm", ugpu_exec(b, a->vm, ENG_RENDER, BATCH_VA, 4, &fence),
		   -ENOENT);
	api_expect("bo_pread.other_client", ugpu_bo_pread(b, bo_a, 0, tmp, sizeof(tmp)), -ENOENT);
	api_expect("bo_pwrite.other_client", ugpu_bo_pwrite(b, bo_a, 0, tmp, sizeof(tmp)), -ENOENT);
	api_expect("bo_destroy.other_client", ugpu_bo_destroy(b, bo_a), -ENOENT);
	if (api_expect("vm_create_b", ugpu_vm_create(b, 0, &vm_b), 0)) {
		api_expect("bind_bo.other_client_bo",
			   ugpu_vm_bind_bo(b, vm_b, BO_VA, bo_a, 0, PAGE, 0), -ENOENT);
		api_expect("vm_destroy_b", ugpu_vm_destroy(b, vm_b), 0);
	}
	/* A's objects are untouched. */
	api_check_bo(a, "a_bo_intact", bo_a, 0, PAGE, 0x42);
	api_expect("a_vm_works", api_gpu_store(a, api_scr_va(S_RES), 0xa11ce), 0);
	api_check_dw("a_vm_store_visible", api_scr(a, S_RES), 0xa11ce);
	ugpu_close(b);
	api_expect("teardown.bo_destroy", ugpu_bo_destroy(a->dev, bo_a), 0);
	munmap(buf, PAGE);
	api_ctx_close(a);
}

/* Client A of two processes: print its ids, keep them until told. */
static void scn_hold(int argc, char **argv)
{
	struct ctx *c = &api_ctx;
	uint32_t bo;
	char line[64];

	if (!api_ctx_open(c) || !api_make_bo(c, PAGE, 0x42, 0, &bo))
		return;
	printf("ids %u %u\n", c->vm, bo);
	if (!fgets(line, sizeof(line), stdin))
		return;
	api_check_bo(c, "bo_intact", bo, 0, PAGE, 0x42);
	api_expect("vm_works", api_gpu_store(c, api_scr_va(S_RES), 0xa11ce), 0);
	api_check_dw("vm_store_visible", api_scr(c, S_RES), 0xa11ce);
	api_expect("teardown.bo_destroy", ugpu_bo_destroy(c->dev, bo), 0);
	api_ctx_close(c);
}

/* Client B of two processes: A's VM and BO ids (argv[3], argv[4]). */
static void scn_foreign(int argc, char **argv)
{
	struct ugpu *d;
	uint32_t vm, bo, own;
	uint8_t *buf, tmp[256] = { 0 };
	uint64_t fence;

	if (!api_report(argc >= 5, "args", "need VM BO"))
		return;
	vm = (uint32_t)strtoul(argv[3], NULL, 0);
	bo = (uint32_t)strtoul(argv[4], NULL, 0);
	if (!api_expect("open", ugpu_open(api_path, &d), 0))
		return;
	buf = api_map_anon(PAGE);
	api_expect("vm_destroy", ugpu_vm_destroy(d, vm), -ENOENT);
	api_expect("bind_userptr", ugpu_vm_bind_userptr(d, vm, DATA_VA, buf, PAGE, 0), -ENOENT);
	api_expect("bind_bo", ugpu_vm_bind_bo(d, vm, BO_VA, bo, 0, PAGE, 0), -ENOENT);
	api_expect("unbind", ugpu_vm_unbind(d, vm, BATCH_VA, PAGE), -ENOENT);
	api_expect("exec", ugpu_exec(d, vm, ENG_RENDER, BATCH_VA, 4, &fence), -ENOENT);
	api_expect("bo_pread", ugpu_bo_pread(d, bo, 0, tmp, sizeof(tmp)), -ENOENT);
	api_expect("bo_pwrite", ugpu_bo_pwrite(d, bo, 0, tmp, sizeof(tmp)), -ENOENT);
	api_expect("bo_destroy", ugpu_bo_destroy(d, bo), -ENOENT);
	if (api_expect("vm_create", ugpu_vm_create(d, 0, &own), 0)) {
		api_expect("bind_bo.own_vm", ugpu_vm_bind_bo(d, own, BO_VA, bo, 0, PAGE, 0),
			   -ENOENT);
		api_expect("teardown.vm_destroy", ugpu_vm_destroy(d, own), 0);
	}
	munmap(buf, PAGE);
	ugpu_close(d);
}

/* PROBE: -EFAULT at the bind for any unmapped page; lazily, at exec. */
static void scn_probe(int argc, char **argv)
{
	struct ctx *c = &api_ctx;
	struct batch b;
	uint8_t *p;

	if (!api_ctx_open(c))
		return;
	p = api_map_anon(4 * PAGE);
	memset(p, 0, 4 * PAGE);
	munmap(p + 2 * PAGE, PAGE);
	api_expect("hole", api_bind_up(c, DATA_VA, p, 4 * PAGE, UGPU_BIND_PROBE), -EFAULT);
	api_expect("hole_last_page", api_bind_up(c, DATA_VA, p + PAGE, 2 * PAGE, UGPU_BIND_PROBE),
		   -EFAULT);
	api_expect("all_unmapped", api_bind_up(c, DATA_VA, p + 2 * PAGE, PAGE, UGPU_BIND_PROBE),
		   -EFAULT);
	api_expect("hole_readonly", api_bind_up(c, DATA_VA, p, 4 * PAGE,
					 UGPU_BIND_PROBE | UGPU_BIND_READONLY), -EFAULT);
	ugpu_cmd_store_dword(api_begin(c, &b, 0), DATA_VA, 1);
	api_run_fault(c, &b, "failed_probe_mapped_nothing");
	CHECK(api_rd32(p) == 0, "failed_probe_wrote_nothing");

	if (api_expect("mapped", api_bind_up(c, DATA_VA, p, 2 * PAGE, UGPU_BIND_PROBE), 0)) {
		api_expect("mapped.exec", api_gpu_store(c, DATA_VA + PAGE + 4, 0xc0ffee), 0);
		api_check_dw("mapped.visible", p + PAGE + 4, 0xc0ffee);
		api_expect("mapped.unbind", api_unbind(c, DATA_VA, 2 * PAGE), 0);
	}
	/* Without PROBE the hole is found when a job needs it. */
	if (api_expect("lazy.bind_over_hole", api_bind_up(c, DATA_VA, p, 4 * PAGE, 0), 0)) {
		ugpu_cmd_store_dword(api_begin(c, &b, 0), DATA_VA + 2 * PAGE, 0xbad);
		api_run_fault(c, &b, "lazy.exec_into_hole");
		if (api_report(api_remap_anon(p + 2 * PAGE, PAGE), "lazy.remap", "mmap")) {
			api_expect("lazy.exec_after_remap",
				   api_gpu_store(c, DATA_VA + 2 * PAGE + 8, 0xc0ffee), 0);
			api_check_dw("lazy.after_remap_visible", p + 2 * PAGE + 8, 0xc0ffee);
		}
		api_expect("lazy.unbind", api_unbind(c, DATA_VA, 4 * PAGE), 0);
	}
	munmap(p, 4 * PAGE);
	api_ctx_close(c);
}

/*
 * A forked child uses the parent's open device: userptr calls -EFAULT.
 * While the child lives, the parent's private pages are copy-on-write;
 * the GPU must follow the parent's copy and never write the child's.
 */
static void scn_fork(int argc, char **argv)
{
	struct ctx *c = &api_ctx;
	int to_child[2], to_parent[2], status;
	uint8_t *p, *q;
	char ch = 0;
	pid_t pid;

	if (!api_ctx_open(c))
		return;
	p = api_map_anon(4 * PAGE);
	q = api_map_anon(4 * PAGE);
	memset(p, 0, 4 * PAGE);
	memset(q, 0, 4 * PAGE);
	api_expect("parent.bind", api_bind_up(c, DATA_VA, p, 4 * PAGE, 0), 0);
	api_expect("parent.exec_before", api_gpu_store(c, DATA_VA, 0x1), 0);
	if (!api_report(pipe(to_child) == 0 && pipe(to_parent) == 0, "pipe", "failed"))
		return;
	fflush(stdout);
	pid = fork();
	if (pid == 0) {
		api_scn = "fork.child";
		api_fail = 0;
		api_expect("bind_userptr", api_bind_up(c, DATA2_VA, q, 4 * PAGE, 0), -EFAULT);
		api_expect("bind_userptr_probe",
			   api_bind_up(c, DATA2_VA, q, 4 * PAGE, UGPU_BIND_PROBE), -EFAULT);
		api_expect("bind_userptr_readonly",
			   api_bind_up(c, DATA2_VA, q, PAGE, UGPU_BIND_READONLY), -EFAULT);
		api_expect("bind_userptr_parents_range", api_bind_up(c, DATA2_VA, p, PAGE, 0),
			   -EFAULT);
		fflush(stdout);
		/* Let the parent write through the GPU while we hold the COW pages. */
		if (write(to_parent[1], "c", 1) != 1 || read(to_child[0], &ch, 1) != 1)
			api_fail++;
		api_check_dw("own_copy_not_gpu_written", p + 8, 0);
		api_check_dw("own_copy_not_cpu_written", p + 16, 0);
		api_check_dw("own_copy_kept_old_value", p, 0x1);
		fflush(stdout);
		_exit(api_fail ? 1 : 0);
	}
	if (!api_report(pid > 0, "fork", "fork failed"))
		return;
	api_report(read(to_parent[0], &ch, 1) == 1, "child_checked", "no word from the child");
	/* Break COW on one page by a CPU write, leave the others shared. */
	*(volatile uint32_t *)(p + 16) = 0x77;
	api_expect("parent.exec_cow", api_gpu_store(c, DATA_VA + 8, 0xc0ffee), 0);
	api_check_dw("parent.cow_visible", p + 8, 0xc0ffee);
	api_expect("parent.exec_cow_shared_page", api_gpu_store(c, DATA_VA + 2 * PAGE, 0xc0ffee),
		   0);
	api_check_dw("parent.cow_shared_page_visible", p + 2 * PAGE, 0xc0ffee);
	api_report(write(to_child[1], "p", 1) == 1, "release_child", "write");
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	api_report(WIFEXITED(status) && WEXITSTATUS(status) == 0, "child_status", "0x%x", status);
	/* The parent's client is unaffected. */
	api_expect("parent.exec", api_gpu_store(c, DATA_VA + 12, 0xc0ffee), 0);
	api_check_dw("parent.visible", p + 12, 0xc0ffee);
	api_expect("parent.bind_after", api_bind_up(c, DATA2_VA, q, 4 * PAGE, 0), 0);
	api_expect("parent.unbind", api_unbind(c, DATA_VA, 4 * PAGE), 0);
	api_expect("parent.unbind2", api_unbind(c, DATA2_VA, 4 * PAGE), 0);
	close(to_child[0]);
	close(to_child[1]);
	close(to_parent[0]);
	close(to_parent[1]);
	munmap(p, 4 * PAGE);
	munmap(q, 4 * PAGE);
	api_ctx_close(c);
}

/* ---- scenarios: quotas ------------------------------------------------- */

struct quota { uint64_t vms, bos, userptrs, bound, bo_bytes, inflight; };

static void quota_vms(struct ctx *c, const struct quota *q)
{
	uint32_t vm[16], extra;
	struct ugpu *other;
	uint64_t i, n = 0;

	for (i = 1; i < q->vms && n < 16; i++)
		if (api_expect(api_nm("vms.create%" PRIu64, i), ugpu_vm_create(c->dev, 0, &vm[n]),
			       0))
			n++;
	api_expect_quota("vms.over", ugpu_vm_create(c->dev, 0, &extra));
	if (api_expect("vms.other_client_open", ugpu_open(api_path, &other), 0)) {
		api_expect("vms.other_client_own_quota", ugpu_vm_create(other, 0, &extra), 0);
		ugpu_close(other);
	}
	if (n && api_expect("vms.destroy_one", ugpu_vm_destroy(c->dev, vm[--n]), 0) &&
	    api_expect("vms.create_after_destroy", ugpu_vm_create(c->dev, 0, &vm[n]), 0))
		n++;
	while (n)
		api_expect("vms.teardown", ugpu_vm_destroy(c->dev, vm[--n]), 0);
}

static void quota_bos(struct ctx *c, const struct quota *q)
{
	uint32_t bo[16], extra;
	uint64_t i, n = 0;

	for (i = 0; i < q->bos && n < 16; i++)
		if (api_expect(api_nm("bos.create%" PRIu64, i),
			       ugpu_bo_create(c->dev, 16 * PAGE, 0, &bo[n]), 0))
			n++;
	api_expect_quota("bos.over_count", ugpu_bo_create(c->dev, PAGE, 0, &extra));
	while (n > 1)
		api_expect("bos.destroy", ugpu_bo_destroy(c->dev, bo[--n]), 0);
	/* One 64 KiB BO left: its bytes count against max-bo-bytes. */
	api_expect_quota("bos.over_bytes",
			 ugpu_bo_create(c->dev, q->bo_bytes - 16 * PAGE + PAGE, 0, &extra));
	api_expect_quota("bos.over_bytes_alone",
			 ugpu_bo_create(c->dev, q->bo_bytes + PAGE, 0, &extra));
	if (api_expect("bos.up_to_bytes",
		       ugpu_bo_create(c->dev, q->bo_bytes - 16 * PAGE, 0, &extra), 0))
		api_expect("bos.destroy_big", ugpu_bo_destroy(c->dev, extra), 0);
	while (n)
		api_expect("bos.destroy", ugpu_bo_destroy(c->dev, bo[--n]), 0);
}

static void quota_userptrs(struct ctx *c, const struct quota *q)
{
	uint8_t *p = api_map_anon(32 * PAGE);
	uint64_t i, n;

	/* The batch memory is one userptr already. */
	for (n = 0, i = 1; i < q->userptrs && n < 16; i++, n++)
		api_expect(api_nm("userptrs.bind%" PRIu64, i),
			   api_bind_up(c, DATA_VA + n * 2 * PAGE, p + n * 2 * PAGE, PAGE, 0), 0);
	api_expect_quota("userptrs.over",
			 api_bind_up(c, DATA_VA + n * 2 * PAGE, p + n * 2 * PAGE, PAGE, 0));
	if (n) {
		api_expect("userptrs.unbind_one", api_unbind(c, DATA_VA, PAGE), 0);
		api_expect("userptrs.bind_after_unbind", api_bind_up(c, DATA_VA, p, PAGE, 0), 0);
	}
	for (i = 0; i < n; i++)
		api_expect("userptrs.teardown", api_unbind(c, DATA_VA + i * 2 * PAGE, PAGE), 0);
	munmap(p, 32 * PAGE);
}

static void quota_bound(struct ctx *c, const struct quota *q)
{
	uint64_t half = (q->bound / 2) & ~(PAGE - 1), bo_size = 16 * PAGE;
	uint8_t *p = api_map_anon(q->bound + PAGE);
	uint32_t bo;

	/* HOST_BYTES are bound already. */
	api_expect_quota("bound.over", api_bind_up(c, DATA_VA, p, q->bound, 0));
	if (!api_expect("bound.half", api_bind_up(c, DATA_VA, p, half, 0), 0))
		goto out;
	if (api_expect("bound.bo_create", ugpu_bo_create(c->dev, bo_size, 0, &bo), 0)) {
		api_expect("bound.bo_bind",
			   ugpu_vm_bind_bo(c->dev, c->vm, BO_VA, bo, 0, bo_size, 0), 0);
		/* HOST_BYTES + half + BO + half > bound: the BO counts too. */
		api_expect_quota("bound.bo_counts", api_bind_up(c, DATA2_VA, p, half, 0));
		api_expect("bound.unbind_half", api_unbind(c, DATA_VA, half), 0);
		api_expect("bound.released", api_bind_up(c, DATA2_VA, p, half, 0), 0);
		api_expect("bound.teardown_unbind", api_unbind(c, DATA2_VA, half), 0);
		api_expect("bound.bo_unbind", api_unbind(c, BO_VA, bo_size), 0);
		api_expect("bound.bo_destroy", ugpu_bo_destroy(c->dev, bo), 0);
	} else {
		api_unbind(c, DATA_VA, half);
	}
out:
	munmap(p, q->bound + PAGE);
}

static void quota_inflight(struct ctx *c, const struct quota *q)
{
	uint64_t fence[8], extra, i, n = 0;
	struct batch b;

	api_sem_set(c, S_SEM, 0);
	for (i = 0; i < q->inflight && n < 7; i++)
		if (api_expect(api_nm("inflight.exec%" PRIu64, i),
			       api_submit_blocked(c, 1 + (unsigned int)n, (uint32_t)(i & 1), S_SEM,
						  api_scr_va(S_RES), 1, &fence[n]), 0))
			n++;
	ugpu_cmd_store_dword(api_begin(c, &b, 0), api_scr_va(S_RES2), 0x3);
	api_expect_quota("inflight.over", api_submit(c, &b, ENG_RENDER, &extra));
	api_sem_set(c, S_SEM, 1);
	for (i = 0; i < n; i++)
		api_expect("inflight.wait", ugpu_wait(c->dev, fence[i], WAIT_NS), 0);
	api_expect("inflight.exec_after", api_gpu_store(c, api_scr_va(S_RES2), 0x4), 0);
	api_check_dw("inflight.after_visible", api_scr(c, S_RES2), 0x4);
}

/* argv[3..8]: the daemon's max-vms, -bos, -userptrs, -bound-bytes, -bo-bytes, -inflight. */
static void scn_quota(int argc, char **argv)
{
	struct ctx *c = &api_ctx;
	struct quota q;

	if (!api_report(argc >= 9, "args", "need 6 limits"))
		return;
	q.vms = strtoull(argv[3], NULL, 0);
	q.bos = strtoull(argv[4], NULL, 0);
	q.userptrs = strtoull(argv[5], NULL, 0);
	q.bound = strtoull(argv[6], NULL, 0);
	q.bo_bytes = strtoull(argv[7], NULL, 0);
	q.inflight = strtoull(argv[8], NULL, 0);
	if (!api_ctx_open(c))
		return;
	quota_vms(c, &q);
	quota_bos(c, &q);
	quota_userptrs(c, &q);
	quota_bound(c, &q);
	quota_inflight(c, &q);
	api_ctx_close(c);
}

/* ---- main --------------------------------------------------------------- */

static const struct api_scenario scenarios[] = {
	{ "errors", scn_errors },
	{ "two-clients", scn_two_clients },
	{ "hold", scn_hold },
	{ "foreign", scn_foreign },
	{ "probe", scn_probe },
	{ "fork", scn_fork },
	{ "quota", scn_quota },
};

int main(int argc, char **argv)
{
	return api_main(argc, argv, scenarios, sizeof(scenarios) / sizeof(scenarios[0]));
}
