// SPDX-License-Identifier: MIT
/*
 * api_objects: a real libugpu client for tests/integration/api_test.c,
 * the objects, query and fences: QUERY's answers (query), device-local
 * BOs through pwrite/pread, binds and jobs (bo), fences of blocked and
 * queued jobs (fence), and a job that never ends (hang). Usage and the
 * line protocol are those of tests/helpers/lib/api_common.h.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "libclient/ugpu.h"
#include "tests/helpers/lib/api_common.h"
#include "uapi/ugpu.h"

/* ---- scenarios: query and objects -------------------------------------- */

static void scn_query(int argc, char **argv)
{
	struct ugpu_info in;
	struct ugpu *dev;

	if (!api_expect("open", ugpu_open(api_path, &dev), 0))
		return;
	memset(&in, 0xff, sizeof(in));
	if (api_expect("query", ugpu_query(dev, &in), 0)) {
		api_report(!strcmp(in.backend, "sim"), "backend", "\"%.16s\"", in.backend);
		api_report(in.num_engines >= 2, "num_engines", "%u", in.num_engines);
		api_report(in.va_bits >= 32 && in.va_bits <= 64, "va_bits", "%" PRIu64, in.va_bits);
		api_report(in.features & UGPU_FEATURE_USERPTR, "features_userptr",
			   "features 0x%" PRIx64, in.features);
		api_report(in.abi_version == UGPU_ABI_VERSION, "abi_version", "%u", in.abi_version);
	}
	ugpu_close(dev);
}

/* Device-local BO: create, pwrite/pread, bind, exec, destroy. */
static void scn_bo(int argc, char **argv)
{
	const uint64_t size = 64 * KiB;
	struct ctx *c = &api_ctx;
	uint8_t *tmp, *p;
	uint32_t bo;

	if (!api_ctx_open(c))
		return;
	tmp = malloc(size);
	p = api_map_anon(PAGE);
	if (!api_expect("create", ugpu_bo_create(c->dev, size, 0, &bo), 0))
		return;
	api_check_bo(c, "initially_zero", bo, 0, size, 0);
	memset(tmp, 0x6b, PAGE);
	api_expect("pwrite", ugpu_bo_pwrite(c->dev, bo, PAGE, tmp, PAGE), 0);
	api_check_bo(c, "pread_written", bo, PAGE, PAGE, 0x6b);
	api_check_bo(c, "pread_rest", bo, 2 * PAGE, PAGE, 0);
	api_expect("pwrite_unaligned", ugpu_bo_pwrite(c->dev, bo, 3 * PAGE + 3, tmp, 10), 0);
	api_check_bo(c, "pread_unaligned", bo, 3 * PAGE + 3, 10, 0x6b);
	if (api_expect("bind", ugpu_vm_bind_bo(c->dev, c->vm, BO_VA, bo, 0, size, 0), 0)) {
		struct batch b;

		api_begin(c, &b, 0);
		ugpu_cmd_store_dword(&b.cb, BO_VA + 8, 0xc0ffee);
		ugpu_cmd_fill(&b.cb, BO_VA + 4 * PAGE, 4 * PAGE, 0x99999999);
		api_expect("exec", api_run(c, &b), 0);
		if (api_expect("pread_store", ugpu_bo_pread(c->dev, bo, 8, tmp, 4), 0))
			api_check_dw("store_visible", tmp, 0xc0ffee);
		api_check_bo(c, "fill_visible", bo, 4 * PAGE, 4 * PAGE, 0x99);
		/* BO to userptr and back. */
		memset(p, 0, PAGE);
		if (api_expect("bind_userptr", api_bind_up(c, DATA_VA, p, PAGE, 0), 0)) {
			api_expect("copy_bo_to_userptr",
				   api_gpu_copy(c, DATA_VA, BO_VA + PAGE, PAGE), 0);
			api_check_bytes("copy_bo_to_userptr_visible", p, PAGE, 0x6b);
			memset(p, 0x2f, PAGE);
			api_expect("copy_userptr_to_bo",
				   api_gpu_copy(c, BO_VA + 10 * PAGE, DATA_VA, PAGE), 0);
			api_check_bo(c, "copy_userptr_to_bo_visible", bo, 10 * PAGE, PAGE, 0x2f);
			api_expect("unbind_userptr", api_unbind(c, DATA_VA, PAGE), 0);
		}
		/* A BO bound at an offset. */
		api_expect("bind_offset",
			   ugpu_vm_bind_bo(c->dev, c->vm, DATA2_VA, bo, 4 * PAGE, PAGE, 0), 0);
		api_expect("copy_from_offset", api_gpu_copy(c, api_scr_va(S_RES), DATA2_VA + 4, 4),
			   0);
		api_check_dw("offset_maps_right_page", api_scr(c, S_RES), 0x99999999);
		api_expect("unbind_offset", api_unbind(c, DATA2_VA, PAGE), 0);
		api_expect("unbind", api_unbind(c, BO_VA, size), 0);
	}
	api_expect("destroy", ugpu_bo_destroy(c->dev, bo), 0);
	api_expect("pread_destroyed", ugpu_bo_pread(c->dev, bo, 0, tmp, 4), -ENOENT);
	free(tmp);
	munmap(p, PAGE);
	api_ctx_close(c);
}

/* ---- scenarios: fences ------------------------------------------------- */

static void scn_fence(int argc, char **argv)
{
	struct ctx *c = &api_ctx;
	uint64_t f1, f2;
	struct batch b;

	if (!api_ctx_open(c))
		return;
	if (api_expect("exec_blocked",
		       api_submit_blocked(c, 1, ENG_RENDER, S_SEM, api_scr_va(S_RES), 0xd0e,
					  &f1), 0)) {
		api_expect("wait_poll_running", ugpu_wait(c->dev, f1, 0), -ETIME);
		api_expect("wait_short_running", ugpu_wait(c->dev, f1, 20 * 1000 * 1000), -ETIME);
		api_check_dw("not_run_yet", api_scr(c, S_RES), 0);
		/* The other engine runs while this one is blocked. */
		ugpu_cmd_store_dword(api_begin(c, &b, 2), api_scr_va(S_RES2), 0xe2);
		api_expect("other_engine", api_run_on(c, &b, ENG_COPY), 0);
		api_check_dw("other_engine_visible", api_scr(c, S_RES2), 0xe2);
		api_expect("still_running", ugpu_wait(c->dev, f1, 0), -ETIME);
		api_sem_set(c, S_SEM, 1);
		api_expect("wait_released", ugpu_wait(c->dev, f1, WAIT_NS), 0);
		api_check_dw("released_result", api_scr(c, S_RES), 0xd0e);
		api_expect("wait_again_poll", ugpu_wait(c->dev, f1, 0), 0);
		api_expect("wait_again_forever", ugpu_wait(c->dev, f1, -1), 0);
	}
	/* Two jobs queued on one engine complete in order. */
	api_sem_set(c, S_SEM, 0);
	*api_scr(c, S_RES) = 0;
	*api_scr(c, S_RES2) = 0;
	if (api_expect("queue.first",
		       api_submit_blocked(c, 3, ENG_COPY, S_SEM, api_scr_va(S_RES), 1, &f1), 0) &&
	    api_expect("queue.second",
		       api_submit_blocked(c, 4, ENG_COPY, S_SEM, api_scr_va(S_RES2), 2, &f2), 0)) {
		api_expect("queue.second_waits", ugpu_wait(c->dev, f2, 0), -ETIME);
		api_sem_set(c, S_SEM, 1);
		api_expect("queue.wait_second", ugpu_wait(c->dev, f2, WAIT_NS), 0);
		api_expect("queue.first_done", ugpu_wait(c->dev, f1, 0), 0);
		api_check_dw("queue.first_result", api_scr(c, S_RES), 1);
		api_check_dw("queue.second_result", api_scr(c, S_RES2), 2);
	}
	api_ctx_close(c);
}

/* A SEMAPHORE_WAIT never satisfied: -EIO after the hang timeout. */
static void scn_hang(int argc, char **argv)
{
	struct ctx *c = &api_ctx;
	uint64_t f1, f2;

	if (!api_ctx_open(c))
		return;
	if (api_expect("exec_hang",
		       api_submit_blocked(c, 1, ENG_RENDER, S_SEM, api_scr_va(S_RES), 0xbad,
					  &f1), 0)) {
		struct batch b;

		ugpu_cmd_store_dword(api_begin(c, &b, 2), api_scr_va(S_RES2), 0x600d);
		api_expect("exec_behind", api_submit(c, &b, ENG_RENDER, &f2), 0);
		api_expect("hang_eio", ugpu_wait(c->dev, f1, WAIT_NS), -EIO);
		api_check_dw("hang_result_not_written", api_scr(c, S_RES), 0);
		api_expect("next_job_runs", ugpu_wait(c->dev, f2, WAIT_NS), 0);
		api_check_dw("next_job_result", api_scr(c, S_RES2), 0x600d);
	}
	api_expect("after_reset", api_gpu_store(c, api_scr_va(S_RES2), 0x600e), 0);
	api_check_dw("after_reset_result", api_scr(c, S_RES2), 0x600e);
	api_ctx_close(c);
}

/* ---- main --------------------------------------------------------------- */

static const struct api_scenario scenarios[] = {
	{ "query", scn_query },
	{ "bo", scn_bo },
	{ "fence", scn_fence },
	{ "hang", scn_hang },
};

int main(int argc, char **argv)
{
	return api_main(argc, argv, scenarios, sizeof(scenarios) / sizeof(scenarios[0]));
}
