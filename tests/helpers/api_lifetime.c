// SPDX-License-Identifier: MIT
/*
 * api_lifetime: a real libugpu client for tests/integration/api_test.c,
 * the client's and the daemon's lifetime: every call once the daemon is
 * SIGKILLed (gone), and exit, SIGKILL or close with jobs in flight
 * (exit-busy). Usage and the line protocol are those of
 * tests/helpers/lib/api_common.h.
 */
#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "libclient/ugpu.h"
#include "tests/helpers/lib/api_common.h"
#include "uapi/ugpu.h"

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
	struct ctx *c = &api_ctx;
	struct waiter w = { .c = c, .ret = 1 };
	uint8_t *p, *q, tmp[64] = { 0 };
	uint32_t bo, v;
	uint64_t fence;
	struct timespec ts;
	pthread_t th;
	bool joined;

	if (!api_ctx_open(c) || !api_make_bo(c, PAGE, 0, BO_VA, &bo))
		return;
	p = api_map_anon(4 * PAGE);
	q = api_map_anon(PAGE);
	memset(p, 0, 4 * PAGE);
	api_expect("setup.bind", api_bind_up(c, DATA_VA, p, 4 * PAGE, 0), 0);
	api_expect("setup.exec", api_gpu_store(c, DATA_VA, 1), 0);
	api_expect("setup.exec_blocked",
		   api_submit_blocked(c, 1, ENG_RENDER, S_SEM, DATA_VA, 2, &w.fence), 0);
	if (!api_report(pthread_create(&th, NULL, wait_thread, &w) == 0, "setup.thread", "failed"))
		return;
	usleep(100 * 1000);	/* likely parked in the daemon; either way is valid */
	if (!api_report(api_wait_go(), "go", "no go"))
		return;
	alarm(20);	/* a hang kills us: the test sees the signal */
	api_expect_gone("query", ugpu_query(c->dev, &c->info));
	api_expect_gone("vm_create", ugpu_vm_create(c->dev, 0, &v));
	api_expect_gone("bo_create", ugpu_bo_create(c->dev, PAGE, 0, &v));
	api_expect_gone("bo_pread", ugpu_bo_pread(c->dev, bo, 0, tmp, sizeof(tmp)));
	api_expect_gone("bo_pwrite", ugpu_bo_pwrite(c->dev, bo, 0, tmp, sizeof(tmp)));
	api_expect_gone("bind_bo", ugpu_vm_bind_bo(c->dev, c->vm, DATA2_VA, bo, 0, PAGE, 0));
	api_expect_gone("bind_userptr", api_bind_up(c, DATA2_VA, q, PAGE, 0));
	api_expect_gone("unbind", api_unbind(c, DATA_VA, PAGE));
	api_expect_gone("exec", ugpu_exec(c->dev, c->vm, ENG_RENDER, BATCH_VA, 16, &fence));
	api_expect_gone("wait_poll", ugpu_wait(c->dev, w.fence, 0));
	api_expect_gone("wait_timed", ugpu_wait(c->dev, w.fence, 1000 * 1000));
	api_expect_gone("wait_forever", ugpu_wait(c->dev, w.fence, -1));
	api_expect_gone("bo_destroy", ugpu_bo_destroy(c->dev, bo));
	api_expect_gone("vm_destroy", ugpu_vm_destroy(c->dev, c->vm));
	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_sec += 10;
	joined = pthread_timedjoin_np(th, NULL, &ts) == 0;
	if (api_report(joined, "parked_wait_returns", "ugpu_wait(-1) still blocked after 10 s"))
		api_expect_gone("parked_wait", w.ret);
	/* munmap of bound ranges must not hang (the daemon held our uffd). */
	api_expect("munmap_bound", munmap(p, 4 * PAGE) ? -errno : 0, 0);
	ugpu_host_free(c->dev, c->host, HOST_BYTES);
	api_report(true, "host_free_bound", "-");
	munmap(q, PAGE);
	ugpu_close(c->dev);
	api_report(true, "close", "-");
	{
		struct ugpu *d2 = NULL;
		int r = ugpu_open(api_path, &d2);

		api_report(r < 0, "reopen_fails", "ugpu_open gave %s", api_errname(r));
		if (!r)
			ugpu_close(d2);
	}
	alarm(0);
	memset(c, 0, sizeof(*c));
}

/* Jobs in flight, then exit (argv[3] "exit") or wait to be killed ("hold"). */
static void scn_exit_busy(int argc, char **argv)
{
	struct ctx *c = &api_ctx;
	static uint8_t *p;
	uint64_t f1, f2;
	uint32_t bo;
	char line[64];

	if (!api_ctx_open(c) || !api_make_bo(c, 16 * PAGE, 0, BO_VA, &bo))
		return;
	if (!api_report(posix_memalign((void **)&p, PAGE, 16 * PAGE) == 0, "malloc", "ENOMEM"))
		return;
	memset(p, 0, 16 * PAGE);
	api_expect("bind", api_bind_up(c, DATA_VA, p, 16 * PAGE, 0), 0);
	api_expect("exec_render", api_submit_blocked(c, 1, ENG_RENDER, S_SEM, DATA_VA, 1, &f1), 0);
	api_expect("exec_copy", api_submit_blocked(c, 2, ENG_COPY, S_SEM, BO_VA, 2, &f2), 0);
	api_expect("busy", ugpu_wait(c->dev, f1, 0), -ETIME);
	printf("ready\n");
	fflush(stdout);
	if (argc >= 4 && !strcmp(argv[3], "hold"))
		while (fgets(line, sizeof(line), stdin))
			;
	if (argc >= 4 && !strcmp(argv[3], "close")) {
		/* Close with jobs in flight, and live on: our memory stays ours. */
		alarm(20);
		ugpu_close(c->dev);
		api_report(true, "close_busy", "-");
		api_sem_set(c, S_SEM, 1);
		api_expect("munmap_after_close", munmap(c->host, HOST_BYTES) ? -errno : 0, 0);
		memset(p, 0x71, 16 * PAGE);
		api_expect("madvise_after_close", madvise(p, 16 * PAGE, MADV_DONTNEED) ? -errno : 0,
			   0);
		free(p);
		p = NULL;
		alarm(0);
		memset(c, 0, sizeof(*c));
	}
	/* Else exit with the device open, the VM bound and both jobs in flight. */
}

/* ---- main --------------------------------------------------------------- */

static const struct api_scenario scenarios[] = {
	{ "gone", scn_gone },
	{ "exit-busy", scn_exit_busy },
};

int main(int argc, char **argv)
{
	return api_main(argc, argv, scenarios, sizeof(scenarios) / sizeof(scenarios[0]));
}
