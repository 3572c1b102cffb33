// SPDX-License-Identifier: MIT
/*
 * gpu_sync: a client of ugpud for the driver core's syncobjs and bind
 * queues (tests/integration/gpu_test.c runs it). Scenario sync-chain: a
 * bind, an exec and an unbind chained through binary and timeline
 * syncobjs without waiting, a later bind queued behind the unbind while
 * a job holds the engine, syncobjs created signaled, and every malformed
 * sync, foreign or destroyed handle refused with its errno. Usage
 * `gpu_sync sync-chain <device>`; output and exit status as
 * tests/helpers/lib/client_common.h says.
 */
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "libclient/ugpu.h"
#include "tests/helpers/lib/client_common.h"
#include "tests/helpers/lib/client_sync.h"
#include "uapi/ugpu.h"

/* ---- 1. sync-chain ---------------------------------------------------- */

struct late_bind {
	struct cc_ctx *c;
	uint32_t bo;
	uint32_t unbind_done;		/* the unbind's out-syncobj */
	pid_t tid;
	int ret;			/* the bind's result */
	int unbind_state;		/* SYNCOBJ_WAIT(poll) right after it returned */
	int done;
};

static void *late_bind_main(void *arg)
{
	struct late_bind *lb = arg;

	__atomic_store_n(&lb->tid, (pid_t)syscall(SYS_gettid), __ATOMIC_RELEASE);
	lb->ret = ugpu_vm_bind_bo(lb->c->dev, lb->c->vm, VA_BO2, lb->bo, 0, 16 * PAGE, 0);
	/* Ordering, not timing: the unbind queued before must have run. */
	lb->unbind_state = cc_so_wait(lb->c->dev, lb->unbind_done, 0, 0);
	__atomic_store_n(&lb->done, 1, __ATOMIC_RELEASE);
	return NULL;
}

static void sync_errors(struct cc_ctx *c, uint32_t tl, struct ugpu *other)
{
	struct ugpu_cmdbuf cb;
	struct ugpu_sync s;
	uint32_t fresh = 0, h, theirs[8];
	int ret;

	cc_batch(c, 10, &cb);
	ugpu_cmd_store_dword(&cb, VA_CTL + (CTL_OUT + 9) * 4, 9);

	s = cc_sync_out(tl, 1);
	cc_expect_ret(cc_exec_syncs(c, 10, &cb, 0, &s, 1, NULL), -EINVAL,
		      "sync: timeline signal point not increasing (1 again) -> EINVAL");
	s = cc_sync_out(tl, 0);
	s.type = UGPU_SYNC_TIMELINE_SYNCOBJ;
	cc_expect_ret(cc_exec_syncs(c, 10, &cb, 0, &s, 1, NULL), -EINVAL,
		      "sync: timeline point 0 -> EINVAL");
	s = cc_sync_in(tl, 1);
	s.flags = 1u << 1;
	cc_expect_ret(cc_exec_syncs(c, 10, &cb, 0, &s, 1, NULL), -EINVAL,
		      "sync: unknown flag bit -> EINVAL");
	s = cc_sync_in(tl, 1);
	s.type = 7;
	cc_expect_ret(cc_exec_syncs(c, 10, &cb, 0, &s, 1, NULL), -EINVAL,
		      "sync: unknown type -> EINVAL");
	s = cc_sync_in(tl, 1);
	s.pad = 1;
	cc_expect_ret(cc_exec_syncs(c, 10, &cb, 0, &s, 1, NULL), -EINVAL,
		      "sync: pad != 0 -> EINVAL");
	s = cc_sync_in(tl, 1);
	s.extensions = 1;
	cc_expect_ret(cc_exec_syncs(c, 10, &cb, 0, &s, 1, NULL), -EINVAL,
		      "sync: extensions != 0 -> EINVAL");
	s = cc_sync_in(tl, 1);
	s.reserved[1] = 1;
	cc_expect_ret(cc_exec_syncs(c, 10, &cb, 0, &s, 1, NULL), -EINVAL,
		      "sync: reserved != 0 -> EINVAL");

	ret = cc_so_create(c->dev, 0, &fresh);
	if (!cc_expect_ret(ret, 0, "sync: create a binary syncobj"))
		return;
	s = cc_sync_in(fresh, 0);
	s.timeline_value = 3;
	cc_expect_ret(cc_exec_syncs(c, 10, &cb, 0, &s, 1, NULL), -EINVAL,
		      "sync: binary syncobj with a timeline value -> EINVAL");
	cc_expect_ret(cc_so_wait(c->dev, fresh, 0, 0), -EINVAL,
		      "sync: SYNCOBJ_WAIT with nothing submitted -> EINVAL");
	s = cc_sync_in(fresh, 0);
	cc_expect_ret(cc_exec_syncs(c, 10, &cb, 0, &s, 1, NULL), -EINVAL,
		      "sync: exec waiting on a syncobj with nothing submitted -> EINVAL");
	cc_expect_ret(cc_so_wait(c->dev, tl, 2, 0), -EINVAL,
		      "sync: SYNCOBJ_WAIT on a timeline point not submitted -> EINVAL");
	{
		struct ugpu_syncobj_wait w = { .handle = tl, .point = 1, .flags = 1 };

		cc_expect_ret(cc_ioctl(c->dev, UGPU_IOCTL_SYNCOBJ_WAIT, &w), -EINVAL,
			      "sync: SYNCOBJ_WAIT unknown flags -> EINVAL");
	}
	{
		struct ugpu_syncobj_create sc = { .flags = 1u << 1 };

		cc_expect_ret(cc_ioctl(c->dev, UGPU_IOCTL_SYNCOBJ_CREATE, &sc), -EINVAL,
			      "sync: SYNCOBJ_CREATE unknown flags -> EINVAL");
	}

	/* Handles of another client: numbers this client does not have. */
	for (int i = 0; i < 8; i++) {
		if (cc_so_create(other, 0, &theirs[i])) {
			cc_expect(false, "sync: other client creates syncobjs", "failed");
			return;
		}
	}
	h = theirs[7];
	cc_expect(h > fresh, "sync: the other client's handle is one we lack",
		  "theirs %u, ours up to %u", h, fresh);
	cc_expect_ret(cc_so_wait(c->dev, h, 0, 0), -ENOENT,
		      "sync: SYNCOBJ_WAIT on another client's handle -> ENOENT");
	s = cc_sync_out(h, 0);
	cc_expect_ret(cc_exec_syncs(c, 10, &cb, 0, &s, 1, NULL), -ENOENT,
		      "sync: exec signalling another client's handle -> ENOENT");
	s = cc_sync_out(h, 0);
	cc_expect_ret(cc_bind_syncs(c, UGPU_VM_BIND_OP_UNMAP, VA_BIG, 0, 0, PAGE, &s, 1), -ENOENT,
		      "sync: bind signalling another client's handle -> ENOENT");
	cc_expect_ret(cc_so_destroy(c->dev, h), -ENOENT,
		      "sync: SYNCOBJ_DESTROY of another client's handle -> ENOENT");
	cc_expect_ret(cc_so_wait(other, h, 0, 0), -EINVAL,
		      "sync: the other client's syncobj is untouched");

	cc_expect_ret(cc_so_destroy(c->dev, fresh), 0, "sync: destroy");
	cc_expect_ret(cc_so_destroy(c->dev, fresh), -ENOENT, "sync: destroy twice -> ENOENT");
	cc_expect_ret(cc_so_wait(c->dev, fresh, 0, 0), -ENOENT,
		      "sync: SYNCOBJ_WAIT on a destroyed syncobj -> ENOENT");
}

static void scenario_sync_chain(const char *path)
{
	struct ugpu_sync syncs[2];
	struct late_bind lb = { 0 };
	struct ugpu_cmdbuf cb;
	struct ugpu *other = NULL;
	uint32_t bo = 0, s1 = 0, tl = 0, s_unbind = 0, sig = 0;
	uint64_t fence, f2;
	pthread_t thr;
	bool thr_started = false, blocked;
	uint32_t v[2] = { 0, 0 };
	struct cc_ctx c;
	int ret;

	if (!cc_ctx_open_ok(&c, path, 0, "sync"))
		return;
	cc_expect(c.features & UGPU_FEATURE_SYNCOBJ, "sync: device reports syncobjs",
		  "features %#" PRIx64, c.features);
	if (!cc_expect_ret(ugpu_bo_create(c.dev, 16 * PAGE, 0, &bo), 0, "sync: BO create") ||
	    !cc_expect_ret(cc_so_create(c.dev, 0, &s1), 0, "sync: create s1") ||
	    !cc_expect_ret(cc_so_create(c.dev, 0, &tl), 0, "sync: create timeline") ||
	    !cc_expect_ret(cc_so_create(c.dev, 0, &s_unbind), 0, "sync: create unbind syncobj"))
		goto out;

	/* bind -> exec -> unbind -> bind, chained without waiting. */
	syncs[0] = cc_sync_out(s1, 0);
	cc_expect_ret(cc_bind_syncs(&c, UGPU_VM_BIND_OP_MAP_BO, VA_BO, bo, 0, 16 * PAGE, syncs, 1),
		      0, "sync: bind BO with out syncobj s1");
	cc_expect_ret(cc_so_wait(c.dev, s1, 0, WAIT_NS), 0, "sync: s1 signals");

	cc_batch_gated(&c, 0, &cb, CTL_STARTED);
	ugpu_cmd_store_dword(&cb, VA_BO, 0xc0ffee);
	syncs[0] = cc_sync_in(s1, 0);
	syncs[1] = cc_sync_out(tl, 1);
	ret = cc_exec_syncs(&c, 0, &cb, 0, syncs, 2, &fence);
	if (!cc_expect_ret(ret, 0, "sync: exec in s1, out timeline point 1"))
		goto out;
	if (!cc_expect(cc_poll_u32(&c.ctl[CTL_STARTED], 1), "sync: job runs and holds",
		       "the job never started"))
		goto release;
	cc_expect_ret(cc_so_wait(c.dev, tl, 1, 0), -ETIME,
		      "sync: SYNCOBJ_WAIT timeout 0 on an unsignaled point -> ETIME");
	cc_expect_ret(cc_so_wait(c.dev, tl, 1, 1000000), -ETIME,
		      "sync: SYNCOBJ_WAIT with a deadline passing -> ETIME");
	cc_expect_ret(ugpu_wait(c.dev, fence, 0), -ETIME, "sync: fence poll -> ETIME");

	syncs[0] = cc_sync_in(tl, 1);
	syncs[1] = cc_sync_out(s_unbind, 0);
	cc_expect_ret(cc_bind_syncs(&c, UGPU_VM_BIND_OP_UNMAP, VA_BO, 0, 0, 16 * PAGE, syncs, 2), 0,
		      "sync: unbind behind timeline point 1 returns at once (queued)");
	cc_expect_ret(cc_so_wait(c.dev, s_unbind, 0, 0), -ETIME,
		      "sync: the queued unbind has not run while the job holds");

	lb.c = &c;
	lb.bo = bo;
	lb.unbind_done = s_unbind;
	if (pthread_create(&thr, NULL, late_bind_main, &lb)) {
		cc_expect(false, "sync: start the late-bind thread", "pthread_create");
		goto release;
	}
	thr_started = true;
	{
		long long end = cc_now_ms() + POLL_MS;
		pid_t tid;

		while (!(tid = __atomic_load_n(&lb.tid, __ATOMIC_ACQUIRE)) && cc_now_ms() < end)
			cc_nap();
		while (!__atomic_load_n(&lb.done, __ATOMIC_ACQUIRE) &&
		       !cc_in_ioctl(tid, ugpu_fd(c.dev)) && cc_now_ms() < end)
			cc_nap();
		blocked = !__atomic_load_n(&lb.done, __ATOMIC_ACQUIRE) &&
			  cc_in_ioctl(tid, ugpu_fd(c.dev));
	}
	cc_expect(blocked, "sync: a bind without syncs is queued behind the unbind",
		  "the bind ioctl returned (%d) while the job still held", lb.ret);
	cc_expect(!__atomic_load_n(&lb.done, __ATOMIC_ACQUIRE),
		  "sync: the queued bind has not returned before the release",
		  "it returned %d", lb.ret);

release:
	cc_ctl_set(&c, CTL_SEM, 1);
	cc_expect_ret(cc_so_wait(c.dev, s_unbind, 0, WAIT_NS), 0,
		      "sync: the unbind's out syncobj signals after the release");
	cc_expect_ret(cc_so_wait(c.dev, tl, 1, WAIT_NS), 0, "sync: timeline point 1 signals");
	cc_expect_ret(ugpu_wait(c.dev, fence, WAIT_NS), 0, "sync: the job completed");
	if (thr_started) {
		pthread_join(thr, NULL);
		cc_expect_ret(lb.ret, 0, "sync: the queued bind succeeded");
		cc_expect_ret(lb.unbind_state, 0,
			      "sync: the queued bind returned only after the unbind ran");
	}
	ret = ugpu_bo_pread(c.dev, bo, 0, v, 4);
	cc_expect(!ret && v[0] == 0xc0ffee, "sync: the store before the unbind landed",
		  "pread %d, value %#x", ret, v[0]);
	cc_expect_ret(cc_run_store(&c, 1, VA_BO + 4, 1), -EFAULT,
		      "sync: the unbound VA faults");
	cc_expect_ret(cc_run_store(&c, 2, VA_BO2 + 4, 0xb2), 0, "sync: store via the late bind");
	ret = ugpu_bo_pread(c.dev, bo, 0, v, 8);
	cc_expect(!ret && v[1] == 0xb2, "sync: the late bind maps the same BO",
		  "pread %d, value %#x", ret, v[1]);

	/* A syncobj created signaled. */
	if (cc_expect_ret(cc_so_create(c.dev, UGPU_SYNCOBJ_CREATE_SIGNALED, &sig), 0,
			  "sync: create signaled")) {
		cc_expect_ret(cc_so_wait(c.dev, sig, 0, 0), 0,
			      "sync: wait on created-signaled -> 0");
		cc_batch(&c, 3, &cb);
		ugpu_cmd_store_dword(&cb, VA_CTL + (CTL_OUT + 3) * 4, 0x5151);
		syncs[0] = cc_sync_in(sig, 0);
		ret = cc_exec_syncs(&c, 3, &cb, 1, syncs, 1, &f2);
		if (cc_expect_ret(ret, 0, "sync: exec waiting on a signaled syncobj"))
			cc_expect_ret(ugpu_wait(c.dev, f2, WAIT_NS), 0,
				      "sync: ... runs to completion");
		cc_expect(c.ctl[CTL_OUT + 3] == 0x5151, "sync: ... and stored", "got %#x",
			  c.ctl[CTL_OUT + 3]);
		cc_so_destroy(c.dev, sig);
	}

	if (cc_expect_ret(ugpu_open(path, &other), 0, "sync: open a second client")) {
		sync_errors(&c, tl, other);
		ugpu_close(other);
	}
	cc_expect_ret(cc_so_destroy(c.dev, s1), 0, "sync: destroy s1");
	cc_expect_ret(cc_so_destroy(c.dev, tl), 0, "sync: destroy the timeline");
out:
	cc_ctx_close(&c);
}

/* ---- main ------------------------------------------------------------- */

static const struct cc_scenario scenarios[] = {
	{ "sync-chain", scenario_sync_chain },
};

int main(int argc, char **argv)
{
	signal(SIGPIPE, SIG_IGN);
	return cc_main(argc, argv, scenarios, sizeof(scenarios) / sizeof(scenarios[0]));
}
