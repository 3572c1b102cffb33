// SPDX-License-Identifier: MIT
/*
 * api_userptr: a real libugpu client for tests/integration/api_test.c,
 * the semantics of userptr bindings: GPU stores into malloc'd memory
 * (userptr-store), MAP_FIXED and mremap over a bound range (invalidate),
 * madvise DONTNEED and REMOVE (dontneed), exec after munmap
 * (sync-unmap), munmap while a job runs (unmap-running), READONLY and
 * read-only memory (readonly), unbinding part of a mapping
 * (partial-unbind), a map over mappings (replace), and exec racing a
 * storm of invalidations (storm). Usage and the line protocol are those
 * of tests/helpers/lib/api_common.h.
 */
#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "libclient/ugpu.h"
#include "tests/helpers/lib/api_common.h"
#include "uapi/ugpu.h"

/* ---- scenarios: userptr semantics ------------------------------------- */

/* STORE_DWORD and FILL into malloc'd memory. */
static void scn_userptr_store(int argc, char **argv)
{
	struct ctx *c = &api_ctx;
	const uint64_t len = 64 * KiB;
	struct batch b;
	uint8_t *p = NULL;

	if (!api_ctx_open(c))
		return;
	if (!api_report(posix_memalign((void **)&p, PAGE, len) == 0, "malloc", "ENOMEM"))
		return;
	memset(p, 0, len);
	if (api_expect("bind", api_bind_up(c, DATA_VA, p, len, 0), 0)) {
		api_begin(c, &b, 0);
		ugpu_cmd_store_dword(&b.cb, DATA_VA, 0xc0ffee);
		ugpu_cmd_store_dword(&b.cb, DATA_VA + PAGE + 4, 0xc0ffee);
		ugpu_cmd_store_dword(&b.cb, DATA_VA + len - 4, 0xc0ffee);
		ugpu_cmd_fill(&b.cb, DATA_VA + 2 * PAGE, 2 * PAGE, 0x5a5a5a5a);
		api_expect("exec", api_run(c, &b), 0);
		api_check_dw("store_first", p, 0xc0ffee);
		api_check_dw("store_page1", p + PAGE + 4, 0xc0ffee);
		api_check_dw("store_last", p + len - 4, 0xc0ffee);
		api_check_bytes("fill", p + 2 * PAGE, 2 * PAGE, 0x5a);
		api_check_bytes("untouched_below", p + 4, PAGE - 4, 0);
		api_check_bytes("untouched_above", p + 4 * PAGE, len - 4 * PAGE - 4, 0);
		/* CPU writes are what the GPU reads. */
		memset(p + 8 * PAGE, 0x17, PAGE);
		api_expect("gpu_reads_cpu_writes",
			   api_gpu_copy(c, DATA_VA + 9 * PAGE, DATA_VA + 8 * PAGE, PAGE), 0);
		api_check_bytes("copy_visible", p + 9 * PAGE, PAGE, 0x17);
		api_expect("unbind", api_unbind(c, DATA_VA, len), 0);
	}
	free(p);
	api_ctx_close(c);
}

/*
 * mremap moves the memory away: the binding stays with the old (now
 * empty) range, so the GPU faults and the moved pages are not written;
 * new memory mapped at the old address is what the GPU then reaches.
 */
static void invalidate_mremap(struct ctx *c)
{
	uint8_t *p = api_map_anon(2 * PAGE), *dst = api_map_anon(2 * PAGE), *moved;
	struct batch b;

	if (!api_report(p && dst, "mremap.map", "mmap"))
		return;
	memset(p, 0x61, 2 * PAGE);
	if (!api_expect("mremap.bind", api_bind_up(c, DATA_VA, p, 2 * PAGE, 0), 0))
		return;
	api_expect("mremap.exec_before", api_gpu_store(c, DATA_VA, 0x62), 0);
	moved = mremap(p, 2 * PAGE, 2 * PAGE, MREMAP_MAYMOVE | MREMAP_FIXED, dst);
	if (api_report(moved == dst, "mremap.move", "mremap failed")) {
		ugpu_cmd_store_dword(api_begin(c, &b, 0), DATA_VA + 4, 0xbad);
		api_run_fault(c, &b, "mremap.old_range_faults");
		api_check_dw("mremap.moved_kept_gpu_write", moved, 0x62);
		api_check_bytes("mremap.moved_untouched", moved + 4, 2 * PAGE - 4, 0x61);
		if (api_report(api_remap_anon(p, 2 * PAGE), "mremap.remap_old", "mmap")) {
			api_expect("mremap.exec_new", api_gpu_store(c, DATA_VA + PAGE, 0x63), 0);
			api_check_dw("mremap.new_memory_written", p + PAGE, 0x63);
			api_check_bytes("mremap.moved_still_untouched", moved + 4, 2 * PAGE - 4,
					0x61);
		}
	}
	api_expect("mremap.unbind", api_unbind(c, DATA_VA, 2 * PAGE), 0);
	munmap(p, 2 * PAGE);
	munmap(dst, 2 * PAGE);
}

/* MAP_FIXED over a bound range: the next exec uses the new memory. */
static void scn_invalidate(int argc, char **argv)
{
	struct ctx *c = &api_ctx;
	uint8_t *p, *a, *alias;
	int fd;

	if (!api_ctx_open(c))
		return;
	/* Private memory replaced by private memory. */
	p = api_map_anon(4 * PAGE);
	memset(p, 0, 4 * PAGE);
	if (api_expect("private.bind", api_bind_up(c, DATA_VA, p, 4 * PAGE, 0), 0)) {
		api_expect("private.exec_before", api_gpu_store(c, DATA_VA, 1), 0);
		api_check_dw("private.before_visible", p, 1);
		if (api_report(api_remap_anon(p, 4 * PAGE), "private.remap", "mmap")) {
			CHECK(api_rd32(p) == 0, "private.new_memory_is_fresh");
			api_expect("private.exec_after", api_gpu_store(c, DATA_VA + 4, 2), 0);
			api_check_dw("private.after_in_new_memory", p + 4, 2);
			api_check_dw("private.old_value_not_resurrected", p, 0);
		}
		/* Again: every invalidation, not only the first. */
		if (api_report(api_remap_anon(p, 4 * PAGE), "private.remap2", "mmap")) {
			api_expect("private.exec_after2",
				   api_gpu_fill(c, DATA_VA, 4 * PAGE, 0x33333333), 0);
			api_check_bytes("private.after2_in_new_memory", p, 4 * PAGE, 0x33);
		}
		/* Only one page in the middle replaced. */
		if (api_report(api_remap_anon(p + PAGE, PAGE), "partial.remap", "mmap")) {
			api_expect("partial.exec", api_gpu_fill(c, DATA_VA, 4 * PAGE, 0x44444444),
				   0);
			api_check_bytes("partial.all_pages", p, 4 * PAGE, 0x44);
		}
		api_expect("private.unbind", api_unbind(c, DATA_VA, 4 * PAGE), 0);
	}
	munmap(p, 4 * PAGE);

	/* Shared memory replaced: the old pages (seen through an alias) stay. */
	fd = memfd_create("api-inval", MFD_CLOEXEC);
	if (!api_report(fd >= 0 && ftruncate(fd, 4 * PAGE) == 0, "shared.memfd", "memfd"))
		goto out;
	a = mmap(NULL, 4 * PAGE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	alias = mmap(NULL, 4 * PAGE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	close(fd);
	if (!api_report(a != MAP_FAILED && alias != MAP_FAILED, "shared.map", "mmap"))
		goto out;
	if (api_expect("shared.bind", api_bind_up(c, DATA_VA, a, 4 * PAGE, 0), 0)) {
		api_expect("shared.exec_before", api_gpu_store(c, DATA_VA, 0x11), 0);
		api_check_dw("shared.before_in_alias", alias, 0x11);
		if (api_report(api_remap_anon(a, 4 * PAGE), "shared.remap", "mmap")) {
			memset(a, 0x77, 4 * PAGE);
			api_expect("shared.exec_after", api_gpu_store(c, DATA_VA, 0x22), 0);
			api_check_dw("shared.after_in_new_memory", a, 0x22);
			api_check_dw("shared.old_pages_untouched", alias, 0x11);
			api_check_bytes("shared.new_rest_untouched", a + 4, 4 * PAGE - 4, 0x77);
		}
		api_expect("shared.unbind", api_unbind(c, DATA_VA, 4 * PAGE), 0);
	}
	munmap(a, 4 * PAGE);
	munmap(alias, 4 * PAGE);
	invalidate_mremap(c);
out:
	api_ctx_close(c);
}

/* madvise(DONTNEED) of a private range: the GPU then sees zeroes. */
static void scn_dontneed(int argc, char **argv)
{
	struct ctx *c = &api_ctx;
	uint32_t bo;
	uint8_t *p;

	if (!api_ctx_open(c) || !api_make_bo(c, 2 * PAGE, 0xee, BO_VA, &bo))
		return;
	p = api_map_anon(2 * PAGE);
	memset(p, 0xaa, 2 * PAGE);
	if (api_expect("bind", api_bind_up(c, DATA_VA, p, 2 * PAGE, 0), 0)) {
		api_expect("copy_before", api_gpu_copy(c, BO_VA, DATA_VA, 2 * PAGE), 0);
		api_check_bo(c, "before_sees_data", bo, 0, 2 * PAGE, 0xaa);
		api_expect("madvise", madvise(p, 2 * PAGE, MADV_DONTNEED) ? -errno : 0, 0);
		api_check_bytes("cpu_sees_zeroes", p, 2 * PAGE, 0);
		api_expect("copy_after", api_gpu_copy(c, BO_VA, DATA_VA, 2 * PAGE), 0);
		api_check_bo(c, "gpu_sees_zeroes", bo, 0, 2 * PAGE, 0);

		/* GPU-written data dropped the same way. */
		api_expect("gpu_fill", api_gpu_fill(c, DATA_VA, 2 * PAGE, 0x5b5b5b5b), 0);
		api_check_bytes("gpu_fill_visible", p, 2 * PAGE, 0x5b);
		api_expect("madvise2", madvise(p + PAGE, PAGE, MADV_DONTNEED) ? -errno : 0, 0);
		api_expect("copy_after2", api_gpu_copy(c, BO_VA, DATA_VA, 2 * PAGE), 0);
		api_check_bo(c, "gpu_sees_kept_page", bo, 0, PAGE, 0x5b);
		api_check_bo(c, "gpu_sees_dropped_page_zero", bo, PAGE, PAGE, 0);
		api_expect("unbind", api_unbind(c, DATA_VA, 2 * PAGE), 0);
	}
	munmap(p, 2 * PAGE);

	/* Shared memory: DONTNEED drops only the mapping, the data stays (as the CPU sees). */
	p = ugpu_host_alloc(c->dev, 2 * PAGE);
	if (api_report(p != NULL, "shared.alloc", "NULL")) {
		memset(p, 0xab, 2 * PAGE);
		if (api_expect("shared.bind", api_bind_up(c, DATA_VA, p, 2 * PAGE, 0), 0)) {
			api_expect("shared.copy_before", api_gpu_copy(c, BO_VA, DATA_VA, 2 * PAGE),
				   0);
			api_expect("shared.madvise",
				   madvise(p, 2 * PAGE, MADV_DONTNEED) ? -errno : 0, 0);
			api_check_bytes("shared.cpu_keeps_data", p, 2 * PAGE, 0xab);
			api_expect("shared.copy_after", api_gpu_copy(c, BO_VA, DATA_VA, 2 * PAGE),
				   0);
			api_check_bo(c, "shared.gpu_keeps_data", bo, 0, 2 * PAGE, 0xab);
			/* MADV_REMOVE punches the file: zeroes for both. */
			api_expect("shared.remove",
				   madvise(p + PAGE, PAGE, MADV_REMOVE) ? -errno : 0, 0);
			api_check_bytes("shared.remove_cpu_zero", p + PAGE, PAGE, 0);
			api_expect("shared.copy_after_remove",
				   api_gpu_copy(c, BO_VA, DATA_VA, 2 * PAGE), 0);
			api_check_bo(c, "shared.remove_gpu_kept", bo, 0, PAGE, 0xab);
			api_check_bo(c, "shared.remove_gpu_zero", bo, PAGE, PAGE, 0);
			api_expect("shared.gpu_write_after_remove",
				   api_gpu_store(c, DATA_VA + PAGE, 0xc0ffee), 0);
			api_check_dw("shared.gpu_write_visible", p + PAGE, 0xc0ffee);
			api_expect("shared.unbind", api_unbind(c, DATA_VA, 2 * PAGE), 0);
		}
		ugpu_host_free(c->dev, p, 2 * PAGE);
	}
	api_expect("teardown.unbind_bo", api_unbind(c, BO_VA, 2 * PAGE), 0);
	api_expect("teardown.bo_destroy", ugpu_bo_destroy(c->dev, bo), 0);
	api_ctx_close(c);
}

/* Exec after munmap of a bound range: -EFAULT, nothing written anywhere. */
static void sync_unmap_case(struct ctx *c, const char *name, bool fault_first, uint8_t *q,
			    uint32_t bo)
{
	struct batch b;

	api_begin(c, &b, 0);
	if (fault_first)
		ugpu_cmd_store_dword(&b.cb, DATA_VA + 4, 0xbad);
	ugpu_cmd_store_dword(&b.cb, DATA2_VA, 0xbad);
	ugpu_cmd_fill(&b.cb, BO_VA, PAGE, 0xbadbad);
	ugpu_cmd_store_dword(&b.cb, api_scr_va(S_RES), 0xbad);
	if (!fault_first)
		ugpu_cmd_store_dword(&b.cb, DATA_VA + 4, 0xbad);
	api_run_fault(c, &b, api_nm("%s.efault", name));
	api_check_bytes(api_nm("%s.other_userptr_intact", name), q, PAGE, 0x5e);
	api_check_bo(c, api_nm("%s.bo_intact", name), bo, 0, PAGE, 0x5e);
	api_check_dw(api_nm("%s.host_memory_intact", name), api_scr(c, S_RES), 0);
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
	if (!api_report(fd >= 0 && ftruncate(fd, 2 * PAGE) == 0, "shared.memfd", "memfd"))
		return;
	a = mmap(NULL, 2 * PAGE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	alias = mmap(NULL, 2 * PAGE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	close(fd);
	if (!api_report(a != MAP_FAILED && alias != MAP_FAILED, "shared.map", "mmap"))
		return;
	memset(alias, 0x5e, 2 * PAGE);
	if (api_expect("shared.bind", api_bind_up(c, DATA_VA, a, 2 * PAGE, 0), 0)) {
		api_expect("shared.copy_before",
			   api_gpu_copy(c, api_scr_va(S_RES2), DATA_VA + 4, 4), 0);
		api_check_dw("shared.before_visible", api_scr(c, S_RES2), 0x5e5e5e5e);
		munmap(a, 2 * PAGE);
		ugpu_cmd_store_dword(api_begin(c, &b, 0), DATA_VA + 4, 0xbad);
		ugpu_cmd_fill(&b.cb, DATA_VA + PAGE, PAGE, 0xbad);
		api_run_fault(c, &b, "shared.efault");
		api_check_bytes("shared.file_pages_untouched", alias, 2 * PAGE, 0x5e);
		api_expect("shared.unbind_dead", api_unbind(c, DATA_VA, 2 * PAGE), 0);
	}
	munmap(alias, 2 * PAGE);
}

static void scn_sync_unmap(int argc, char **argv)
{
	struct ctx *c = &api_ctx;
	uint8_t *p, *q;
	uint32_t bo;

	if (!api_ctx_open(c) || !api_make_bo(c, PAGE, 0x5e, BO_VA, &bo))
		return;
	p = api_map_anon(2 * PAGE);
	q = api_map_anon(PAGE);
	memset(p, 0, 2 * PAGE);
	memset(q, 0x5e, PAGE);
	if (!api_expect("bind", api_bind_up(c, DATA_VA, p, 2 * PAGE, 0), 0) ||
	    !api_expect("bind_other", api_bind_up(c, DATA2_VA, q, PAGE, 0), 0))
		goto out;
	api_expect("exec_before", api_gpu_store(c, DATA_VA, 0xc0ffee), 0);
	api_check_dw("before_visible", p, 0xc0ffee);
	munmap(p, 2 * PAGE);
	sync_unmap_case(c, "fault_first", true, q, bo);
	sync_unmap_case(c, "fault_last", false, q, bo);
	/* The dead range unbound, the VM works again. */
	api_expect("unbind_dead", api_unbind(c, DATA_VA, 2 * PAGE), 0);
	sync_unmap_shared(c);
	api_expect("exec_after_unbind", api_gpu_store(c, DATA2_VA + 8, 0xc0ffee), 0);
	api_check_dw("after_unbind_visible", q + 8, 0xc0ffee);
	api_expect("unbind_other", api_unbind(c, DATA2_VA, PAGE), 0);
out:
	munmap(q, PAGE);
	api_expect("teardown.unbind_bo", api_unbind(c, BO_VA, PAGE), 0);
	api_expect("teardown.bo_destroy", ugpu_bo_destroy(c->dev, bo), 0);
	api_ctx_close(c);
}

/* Submit @b and require exec to accept it and the job to fault. */
static void job_fault(struct ctx *c, struct batch *b, const char *name)
{
	uint64_t fence;
	int r = api_submit(c, b, ENG_RENDER, &fence);

	if (api_expect(api_nm("%s.exec", name), r, 0))
		api_expect(api_nm("%s.job_efault", name), ugpu_wait(c->dev, fence, WAIT_NS),
			   -EFAULT);
}

/* READONLY: GPU writes fault (job error), memory unchanged; reads work. */
static void scn_readonly(int argc, char **argv)
{
	struct ctx *c = &api_ctx;
	struct batch b;
	uint8_t *p, *r;
	uint32_t bo, bo2;
	int ret;

	if (!api_ctx_open(c) || !api_make_bo(c, 2 * PAGE, 0, BO_VA, &bo))
		return;
	p = api_map_anon(2 * PAGE);
	memset(p, 0x3c, 2 * PAGE);
	if (api_expect("bind", api_bind_up(c, DATA_VA, p, 2 * PAGE, UGPU_BIND_READONLY), 0)) {
		ugpu_cmd_store_dword(api_begin(c, &b, 0), DATA_VA + PAGE, 0xbad);
		job_fault(c, &b, "store");
		api_check_bytes("store.unchanged", p, 2 * PAGE, 0x3c);
		ugpu_cmd_fill(api_begin(c, &b, 0), DATA_VA, 2 * PAGE, 0xbad);
		job_fault(c, &b, "fill");
		api_check_bytes("fill.unchanged", p, 2 * PAGE, 0x3c);
		ugpu_cmd_copy(api_begin(c, &b, 0), DATA_VA, BO_VA, PAGE);
		job_fault(c, &b, "copy_into");
		api_check_bytes("copy_into.unchanged", p, 2 * PAGE, 0x3c);
		api_expect("read", api_gpu_copy(c, BO_VA, DATA_VA, 2 * PAGE), 0);
		api_check_bo(c, "read_visible", bo, 0, 2 * PAGE, 0x3c);
		api_expect("unbind", api_unbind(c, DATA_VA, 2 * PAGE), 0);
	}
	/* A BO bound read-only. */
	if (api_make_bo(c, PAGE, 0x21, 0, &bo2) &&
	    api_expect("bo.bind",
		       ugpu_vm_bind_bo(c->dev, c->vm, DATA_VA, bo2, 0, PAGE,
				       UGPU_BIND_READONLY), 0)) {
		ugpu_cmd_store_dword(api_begin(c, &b, 0), DATA_VA, 0xbad);
		job_fault(c, &b, "bo.store");
		api_check_bo(c, "bo.unchanged", bo2, 0, PAGE, 0x21);
		api_expect("bo.unbind", api_unbind(c, DATA_VA, PAGE), 0);
		api_expect("bo.destroy", ugpu_bo_destroy(c->dev, bo2), 0);
	}
	/* Memory the client made read-only: GPU writes fault even without the flag. */
	r = api_map_anon(PAGE);
	memset(r, 0x4d, PAGE);
	mprotect(r, PAGE, PROT_READ);
	ret = api_bind_up(c, DATA2_VA, r, PAGE, 0);
	if (ret == -EFAULT) {
		api_report(true, "cpu_readonly.write_bind_refused", "-");
	} else if (api_expect("cpu_readonly.bind", ret, 0)) {
		ugpu_cmd_store_dword(api_begin(c, &b, 0), DATA2_VA, 0xbad);
		api_run_fault(c, &b, "cpu_readonly.store_efault");
		api_expect("cpu_readonly.unbind", api_unbind(c, DATA2_VA, PAGE), 0);
	}
	api_check_bytes("cpu_readonly.unchanged", r, PAGE, 0x4d);
	if (api_expect("cpu_readonly.readonly_probe_bind",
		       api_bind_up(c, DATA2_VA, r, PAGE,
				   UGPU_BIND_READONLY | UGPU_BIND_PROBE), 0)) {
		api_expect("cpu_readonly.read", api_gpu_copy(c, BO_VA, DATA2_VA, PAGE), 0);
		api_check_bo(c, "cpu_readonly.read_visible", bo, 0, PAGE, 0x4d);
		api_expect("cpu_readonly.unbind2", api_unbind(c, DATA2_VA, PAGE), 0);
	}
	munmap(p, 2 * PAGE);
	munmap(r, PAGE);
	api_expect("teardown.unbind_bo", api_unbind(c, BO_VA, 2 * PAGE), 0);
	api_expect("teardown.bo_destroy", ugpu_bo_destroy(c->dev, bo), 0);
	api_ctx_close(c);
}

/* Unbind of the middle splits the mapping; rebind fills the hole. */
static void scn_partial_unbind(int argc, char **argv)
{
	struct ctx *c = &api_ctx;
	struct batch b;
	uint8_t *p, *q;

	if (!api_ctx_open(c))
		return;
	p = api_map_anon(4 * PAGE);
	q = api_map_anon(2 * PAGE);
	memset(p, 0, 4 * PAGE);
	memset(q, 0, 2 * PAGE);
	if (!api_expect("bind", api_bind_up(c, DATA_VA, p, 4 * PAGE, 0), 0))
		goto out;
	api_expect("unbind_middle", api_unbind(c, DATA_VA + PAGE, 2 * PAGE), 0);
	api_expect("store_head", api_gpu_store(c, DATA_VA + 4, 0xc0ffee), 0);
	api_expect("store_tail", api_gpu_store(c, DATA_VA + 3 * PAGE + 4, 0xc0ffee), 0);
	api_check_dw("head_visible", p + 4, 0xc0ffee);
	api_check_dw("tail_visible", p + 3 * PAGE + 4, 0xc0ffee);
	ugpu_cmd_store_dword(api_begin(c, &b, 0), DATA_VA + PAGE + 4, 0xbad);
	api_run_fault(c, &b, "store_hole_faults");
	ugpu_cmd_store_dword(api_begin(c, &b, 0), DATA_VA + 3 * PAGE - 4, 0xbad);
	api_run_fault(c, &b, "store_hole_end_faults");
	api_check_bytes("hole_memory_untouched", p + PAGE, 2 * PAGE, 0);

	/* Rebind the hole to other memory. */
	if (api_expect("rebind_other", api_bind_up(c, DATA_VA + PAGE, q, 2 * PAGE, 0), 0)) {
		api_expect("fill_all", api_gpu_fill(c, DATA_VA, 4 * PAGE, 0x11111111), 0);
		api_check_bytes("fill_head", p, PAGE, 0x11);
		api_check_bytes("fill_tail", p + 3 * PAGE, PAGE, 0x11);
		api_check_bytes("fill_other", q, 2 * PAGE, 0x11);
		api_check_bytes("fill_not_in_old_middle", p + PAGE, 2 * PAGE, 0);
	}
	/* And back to the original pages. */
	if (api_expect("rebind_same", api_bind_up(c, DATA_VA + PAGE, p + PAGE, 2 * PAGE, 0), 0)) {
		api_expect("fill_all2", api_gpu_fill(c, DATA_VA, 4 * PAGE, 0x22222222), 0);
		api_check_bytes("fill2_all_original", p, 4 * PAGE, 0x22);
		api_check_bytes("fill2_not_in_other", q, 2 * PAGE, 0x11);
	}
	/* Unbind of the head only, then of everything. */
	api_expect("unbind_head", api_unbind(c, DATA_VA, PAGE), 0);
	ugpu_cmd_store_dword(api_begin(c, &b, 0), DATA_VA, 0xbad);
	api_run_fault(c, &b, "store_unbound_head_faults");
	api_expect("store_rest", api_gpu_store(c, DATA_VA + PAGE, 0x33), 0);
	api_check_dw("rest_visible", p + PAGE, 0x33);
	api_expect("unbind_all", api_unbind(c, DATA_VA, 4 * PAGE), 0);
	ugpu_cmd_store_dword(api_begin(c, &b, 0), DATA_VA + 2 * PAGE, 0xbad);
	api_run_fault(c, &b, "store_after_unbind_all_faults");
	api_check_dw("after_unbind_all_untouched", p + 2 * PAGE, 0x22222222);
out:
	munmap(p, 4 * PAGE);
	munmap(q, 2 * PAGE);
	api_ctx_close(c);
}

/* A map over an existing mapping replaces the overlapped part. */
static void scn_replace(int argc, char **argv)
{
	struct ctx *c = &api_ctx;
	uint8_t *a, *b2, *d;
	uint32_t bo;

	if (!api_ctx_open(c) || !api_make_bo(c, PAGE, 0, 0, &bo))
		return;
	a = api_map_anon(4 * PAGE);
	b2 = api_map_anon(2 * PAGE);
	d = api_map_anon(4 * PAGE);
	memset(a, 0, 4 * PAGE);
	memset(b2, 0, 2 * PAGE);
	memset(d, 0, 4 * PAGE);
	if (!api_expect("bind_a", api_bind_up(c, DATA_VA, a, 4 * PAGE, 0), 0))
		goto out;
	api_expect("bind_b_over_middle", api_bind_up(c, DATA_VA + PAGE, b2, 2 * PAGE, 0), 0);
	api_expect("fill1", api_gpu_fill(c, DATA_VA, 4 * PAGE, 0x22222222), 0);
	api_check_bytes("a_head", a, PAGE, 0x22);
	api_check_bytes("a_tail", a + 3 * PAGE, PAGE, 0x22);
	api_check_bytes("a_middle_replaced", a + PAGE, 2 * PAGE, 0);
	api_check_bytes("b", b2, 2 * PAGE, 0x22);

	api_expect("bind_bo_over_tail",
		   ugpu_vm_bind_bo(c->dev, c->vm, DATA_VA + 3 * PAGE, bo, 0, PAGE, 0), 0);
	api_expect("fill2", api_gpu_fill(c, DATA_VA, 4 * PAGE, 0x33333333), 0);
	api_check_bo(c, "bo_filled", bo, 0, PAGE, 0x33);
	api_check_bytes("a_tail_replaced", a + 3 * PAGE, PAGE, 0x22);
	api_check_bytes("a_head2", a, PAGE, 0x33);
	api_check_bytes("b2", b2, 2 * PAGE, 0x33);

	/* Same range again, then one mapping over all three pieces. */
	api_expect("bind_same_range", api_bind_up(c, DATA_VA + PAGE, b2, 2 * PAGE, 0), 0);
	api_expect("bind_d_over_all", api_bind_up(c, DATA_VA, d, 4 * PAGE, 0), 0);
	api_expect("fill3", api_gpu_fill(c, DATA_VA, 4 * PAGE, 0x44444444), 0);
	api_check_bytes("d", d, 4 * PAGE, 0x44);
	api_check_bytes("a_head_replaced", a, PAGE, 0x33);
	api_check_bytes("b_replaced", b2, 2 * PAGE, 0x33);
	api_check_bo(c, "bo_replaced", bo, 0, PAGE, 0x33);
	/* A straddling map: half over d, half into unmapped VA. */
	api_expect("bind_straddle", api_bind_up(c, DATA_VA + 3 * PAGE, a, 2 * PAGE, 0), 0);
	api_expect("fill4", api_gpu_fill(c, DATA_VA + 3 * PAGE, 2 * PAGE, 0x55555555), 0);
	api_check_bytes("straddle", a, 2 * PAGE, 0x55);
	api_check_bytes("d_tail_replaced", d + 3 * PAGE, PAGE, 0x44);
	api_expect("unbind", api_unbind(c, DATA_VA, 5 * PAGE), 0);
out:
	munmap(a, 4 * PAGE);
	munmap(b2, 2 * PAGE);
	munmap(d, 4 * PAGE);
	api_expect("teardown.bo_destroy", ugpu_bo_destroy(c->dev, bo), 0);
	api_ctx_close(c);
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

	r->ok = munmap(r->p, PAGE) == 0 && api_remap_anon(r->p, PAGE);
	if (r->ok)
		memset(r->p, 0x5e, PAGE);
	__atomic_store_n(&r->done, 1, __ATOMIC_SEQ_CST);
	return NULL;
}

static void scn_unmap_running(int argc, char **argv)
{
	struct ctx *c = &api_ctx;
	struct remapper rm = { 0 };
	pthread_t th;
	uint64_t fence;
	int i, ret;
	bool first;

	if (!api_ctx_open(c))
		return;
	rm.p = api_map_anon(PAGE);
	memset(rm.p, 0, PAGE);
	if (!api_expect("bind", api_bind_up(c, DATA_VA, rm.p, PAGE, 0), 0) ||
	    !api_expect("warm", api_gpu_store(c, DATA_VA, 1), 0) ||
	    !api_expect("exec_blocked",
			api_submit_blocked(c, 1, ENG_RENDER, S_SEM, DATA_VA + 8, 0xbad, &fence), 0))
		return;
	if (!api_report(pthread_create(&th, NULL, remap_thread, &rm) == 0, "thread", "failed"))
		return;
	/* munmap may wait for the job (as xe's notifier does); release it anyway after 1 s. */
	for (i = 0; i < 1000 && !__atomic_load_n(&rm.done, __ATOMIC_SEQ_CST); i++)
		usleep(1000);
	first = __atomic_load_n(&rm.done, __ATOMIC_SEQ_CST);
	api_sem_set(c, S_SEM, 1);
	pthread_join(th, NULL);
	api_report(rm.ok, "remap", "munmap/mmap failed");
	ret = ugpu_wait(c->dev, fence, WAIT_NS);
	if (first)
		api_expect("job_faults", ret, -EFAULT);
	else
		api_report(ret == 0 || ret == -EFAULT || ret == -EIO, "job_ends", "%s",
			   api_errname(ret));
	api_check_bytes("reused_memory_untouched", rm.p, PAGE, 0x5e);
	api_expect("unbind", api_unbind(c, DATA_VA, PAGE), 0);
	munmap(rm.p, PAGE);
	api_ctx_close(c);
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
		} else if (!api_remap_anon(st->p, 4 * PAGE)) {
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
	struct ctx *c = &api_ctx;
	int last_other = 0;
	pthread_t th;

	if (!api_ctx_open(c))
		return;
	st.p = api_map_anon(4 * PAGE);
	memset(st.p, 0, 4 * PAGE);
	if (!api_expect("bind", api_bind_up(c, DATA_VA, st.p, 4 * PAGE, 0), 0) ||
	    !api_report(pthread_create(&th, NULL, storm_thread, &st) == 0, "thread", "failed"))
		return;
	for (i = 0; i < iters; i++) {
		struct batch b;
		uint64_t fence;
		int r;

		ugpu_cmd_fill(api_begin(c, &b, 0), DATA_VA, 4 * PAGE, 0x99999999);
		r = api_submit(c, &b, i & 1, &fence);
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
	api_report(st.ok, "remaps_worked", "mmap/madvise failed");
	api_report(eagain == 0, "never_eagain", "%u of %u execs gave -EAGAIN", eagain, iters);
	api_report(other == 0, "only_0_or_efault", "%u gave other errors, last %s", other,
		   api_errname(last_other));
	api_report(done > 0, "some_completed", "none of %u completed (%u faults, %u remaps)", iters,
		   faults, st.remaps);
	printf("info storm: %u done, %u faulted, %u remaps\n", done, faults, st.remaps);
	/* Settled: the next exec reaches the memory that is there now. */
	api_expect("after_storm", api_gpu_fill(c, DATA_VA, 4 * PAGE, 0x12121212), 0);
	api_check_bytes("after_storm_visible", st.p, 4 * PAGE, 0x12);
	api_expect("unbind", api_unbind(c, DATA_VA, 4 * PAGE), 0);
	munmap(st.p, 4 * PAGE);
	api_ctx_close(c);
}

/* ---- main --------------------------------------------------------------- */

static const struct api_scenario scenarios[] = {
	{ "userptr-store", scn_userptr_store },
	{ "invalidate", scn_invalidate },
	{ "dontneed", scn_dontneed },
	{ "sync-unmap", scn_sync_unmap },
	{ "unmap-running", scn_unmap_running },
	{ "readonly", scn_readonly },
	{ "partial-unbind", scn_partial_unbind },
	{ "replace", scn_replace },
	{ "storm", scn_storm },
};

int main(int argc, char **argv)
{
	return api_main(argc, argv, scenarios, sizeof(scenarios) / sizeof(scenarios[0]));
}
