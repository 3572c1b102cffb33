// SPDX-License-Identifier: MIT
/*
 * gpu_client: a real client process of ugpud that drives one scenario of
 * the driver core (tests/integration/gpu_test.c runs it): syncobj chains
 * and bind queues, fault-mode VMs, userptr invalidation races and the
 * jobs committed before an invalidation, address-space churn, process exit
 * while busy, scheduler fairness, quotas, the client's own page
 * protections, VM_BIND splits and client isolation. Usage:
 * `gpu_client <scenario> <device>` (names in scenarios[] at the end).
 * Every check prints `ok <check>` or `not ok <check>: <detail>` (lines
 * starting with `#` are notes), and the program exits 1 if any check
 * failed. No check depends on timing: every wait is for a state, bounded
 * by a generous limit; the clock only bounds how long a stress loop runs
 * and how long one scenario gives an exec before going on without it.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "libclient/ugpu.h"
#include "uapi/ugpu.h"

#ifndef MAP_FIXED_NOREPLACE
#define MAP_FIXED_NOREPLACE 0x100000
#endif

#define PAGE		4096ull
#define SEC		1000000000ll
#define WAIT_NS		(20 * SEC)	/* a job that should end: generous */
#define POLL_MS		10000		/* a state we wait for from the CPU */
#define STRESS_MS	2000		/* how long the churn scenarios run */

/* GPU VAs. The host area holds the control page and the batches. */
#define VA_HOST		0x00100000ull
#define VA_BO		0x01000000ull
#define VA_BO2		0x02000000ull
#define VA_UP		0x04000000ull
#define VA_UP2		0x08000000ull
#define VA_BIG		0x10000000ull
#define VA_BIG2		0x20000000ull

#define HOST_BYTES	(16 * PAGE)
#define SLOT_BYTES	256u			/* one batch */
#define NSLOTS		((HOST_BYTES - PAGE) / SLOT_BYTES)
#define VA_CTL		VA_HOST			/* control dwords, page 0 */
#define VA_SLOT(i)	(VA_HOST + PAGE + (uint64_t)(i) * SLOT_BYTES)

/* Control dwords (index into the control page). */
#define CTL_SEM		0		/* jobs wait for it to become 1 */
#define CTL_STARTED	16		/* jobs say they are past their start */
#define CTL_OUT		64		/* results */
#define CTL_TS		512		/* timestamps (qwords: 8-byte aligned) */

static int nfail;

/* ---- reporting --------------------------------------------------------- */

static void vreport(bool good, const char *check, const char *fmt, va_list ap)
{
	if (good) {
		printf("ok %s\n", check);
		return;
	}
	nfail++;
	printf("not ok %s: ", check);
	vprintf(fmt, ap);
	printf("\n");
}

static bool expect(bool good, const char *check, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static bool expect(bool good, const char *check, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vreport(good, check, fmt, ap);
	va_end(ap);
	return good;
}

static const char *ename(int ret)
{
	return ret ? strerror(ret < 0 ? -ret : ret) : "success";
}

static bool expect_ret(int got, int want, const char *check)
{
	return expect(got == want, check, "got %d (%s), want %d (%s)", got, ename(got),
		      want, ename(want));
}

/* Over a quota: API.md allows either. */
static bool expect_quota(int got, const char *check)
{
	return expect(got == -EDQUOT || got == -ENOSPC, check,
		      "got %d (%s), want -EDQUOT or -ENOSPC", got, ename(got));
}

static void note(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static void note(const char *fmt, ...)
{
	va_list ap;

	printf("# ");
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
}

static long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000ll + ts.tv_nsec / 1000000;
}

static int64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * SEC + ts.tv_nsec;
}

static void nap(void)
{
	struct timespec d = { 0, 1000000 };

	nanosleep(&d, NULL);
}

/* Wait (bounded) until the dword at @p equals @want. */
static bool poll_u32(volatile uint32_t *p, uint32_t want)
{
	long long end = now_ms() + POLL_MS;

	while (__atomic_load_n(p, __ATOMIC_ACQUIRE) != want) {
		if (now_ms() > end)
			return false;
		nap();
	}
	return true;
}

/* ---- a client with a VM, a control page and batch slots ---------------- */

struct ctx {
	struct ugpu *dev;
	uint32_t vm;
	unsigned int engines;
	uint64_t features;
	uint8_t *host;			/* HOST_BYTES at VA_HOST */
	volatile uint32_t *ctl;		/* = host */
};

static int ctx_open(struct ctx *c, const char *path, uint32_t vm_flags)
{
	struct ugpu_info info;
	int ret;

	memset(c, 0, sizeof(*c));
	ret = ugpu_open(path, &c->dev);
	if (ret)
		return ret;
	ret = ugpu_query(c->dev, &info);
	if (ret)
		goto err;
	c->engines = info.num_engines;
	c->features = info.features;
	ret = ugpu_vm_create(c->dev, vm_flags, &c->vm);
	if (ret)
		goto err;
	c->host = ugpu_host_alloc(c->dev, HOST_BYTES);
	if (!c->host) {
		ret = -ENOMEM;
		goto err;
	}
	memset(c->host, 0, HOST_BYTES);
	c->ctl = (volatile uint32_t *)c->host;
	ret = ugpu_vm_bind_userptr(c->dev, c->vm, VA_HOST, c->host, HOST_BYTES, 0);
	if (ret)
		goto err;
	return 0;

err:
	if (c->host)
		ugpu_host_free(c->dev, c->host, HOST_BYTES);
	ugpu_close(c->dev);
	c->dev = NULL;
	return ret;
}

static void ctx_close(struct ctx *c)
{
	if (!c->dev)
		return;
	ugpu_close(c->dev);
	ugpu_host_free(NULL, c->host, HOST_BYTES);
	c->dev = NULL;
}

/* Open or report and give up on the scenario. */
static bool ctx_open_ok(struct ctx *c, const char *path, uint32_t vm_flags,
			const char *who)
{
	char check[96];
	int ret = ctx_open(c, path, vm_flags);

	snprintf(check, sizeof(check), "%s: open, VM, host memory bound", who);
	return expect_ret(ret, 0, check);
}

static void batch(struct ctx *c, unsigned int slot, struct ugpu_cmdbuf *cb)
{
	ugpu_cmd_init(cb, c->host + PAGE + (size_t)slot * SLOT_BYTES, SLOT_BYTES);
}

static void ctl_set(struct ctx *c, unsigned int idx, uint32_t v)
{
	__atomic_store_n(&c->ctl[idx], v, __ATOMIC_RELEASE);
}

static int submit(struct ctx *c, unsigned int slot, struct ugpu_cmdbuf *cb,
		  uint32_t engine, uint64_t *fence)
{
	int ret = ugpu_cmd_end(cb);

	if (ret)
		return ret;
	__atomic_thread_fence(__ATOMIC_RELEASE);
	return ugpu_exec(c->dev, c->vm, engine, VA_SLOT(slot), cb->len * 4, fence);
}

/* One-command job on engine 0, waited for: its status. */
static int run_store(struct ctx *c, unsigned int slot, uint64_t va, uint32_t value)
{
	struct ugpu_cmdbuf cb;
	uint64_t fence;
	int ret;

	batch(c, slot, &cb);
	ugpu_cmd_store_dword(&cb, va, value);
	ret = submit(c, slot, &cb, 0, &fence);
	return ret ? ret : ugpu_wait(c->dev, fence, WAIT_NS);
}

/* A batch that says it started, then waits for CTL_SEM; the caller adds the rest. */
static void batch_gated(struct ctx *c, unsigned int slot, struct ugpu_cmdbuf *cb,
			unsigned int started_idx)
{
	batch(c, slot, cb);
	ugpu_cmd_store_dword(cb, VA_CTL + started_idx * 4, 1);
	ugpu_cmd_semaphore_wait(cb, VA_CTL + CTL_SEM * 4, UGPU_SEM_GTE, 1);
}

static void *map_anon(size_t len, int flags)
{
	void *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_ANONYMOUS | flags, -1, 0);

	return p == MAP_FAILED ? NULL : p;
}

static bool all_u32(const void *mem, size_t bytes, uint32_t v, size_t *bad)
{
	const uint32_t *p = mem;

	for (size_t i = 0; i < bytes / 4; i++) {
		if (p[i] != v) {
			if (bad)
				*bad = i;
			return false;
		}
	}
	return true;
}

/* Every dword of @mem is @v: report the first one that is not. */
static bool expect_all(const void *mem, size_t bytes, uint32_t v, const char *check)
{
	size_t bad = 0;
	bool good = all_u32(mem, bytes, v, &bad);

	return expect(good, check, "dword %zu is %#x, want %#x", bad,
		      good ? v : ((const uint32_t *)mem)[bad], v);
}

/* ---- raw ioctls: syncobjs, binds and execs with syncs ------------------ */

static int xioctl(struct ugpu *dev, unsigned long cmd, void *arg)
{
	int ret;

	do {
		ret = ioctl(ugpu_fd(dev), cmd, arg);
	} while (ret < 0 && errno == EINTR);
	return ret < 0 ? -errno : ret;
}

static int so_create(struct ugpu *dev, uint32_t flags, uint32_t *h)
{
	struct ugpu_syncobj_create c = { .flags = flags };
	int ret = xioctl(dev, UGPU_IOCTL_SYNCOBJ_CREATE, &c);

	if (!ret)
		*h = c.handle;
	return ret;
}

static int so_destroy(struct ugpu *dev, uint32_t h)
{
	struct ugpu_syncobj_destroy d = { .handle = h };

	return xioctl(dev, UGPU_IOCTL_SYNCOBJ_DESTROY, &d);
}

/* @rel_ns: < 0 forever, 0 poll, else from now. */
static int so_wait(struct ugpu *dev, uint32_t h, uint64_t point, int64_t rel_ns)
{
	struct ugpu_syncobj_wait w = { .handle = h, .point = point };

	w.timeout_abs_ns = rel_ns <= 0 ? rel_ns : now_ns() + rel_ns;
	return xioctl(dev, UGPU_IOCTL_SYNCOBJ_WAIT, &w);
}

static struct ugpu_sync sync_in(uint32_t h, uint64_t point)
{
	return (struct ugpu_sync){
		.type = point ? UGPU_SYNC_TIMELINE_SYNCOBJ : UGPU_SYNC_SYNCOBJ,
		.handle = h,
		.timeline_value = point,
	};
}

static struct ugpu_sync sync_out(uint32_t h, uint64_t point)
{
	struct ugpu_sync s = sync_in(h, point);

	s.flags = UGPU_SYNC_FLAG_SIGNAL;
	return s;
}

static int exec_syncs(struct ctx *c, unsigned int slot, struct ugpu_cmdbuf *cb,
		      uint32_t engine, const struct ugpu_sync *syncs, uint32_t n,
		      uint64_t *fence)
{
	struct ugpu_exec e;
	int ret = ugpu_cmd_end(cb);

	if (ret)
		return ret;
	__atomic_thread_fence(__ATOMIC_RELEASE);
	do {
		memset(&e, 0, sizeof(e));
		e.vm_id = c->vm;
		e.engine = engine;
		e.batch_va = VA_SLOT(slot);
		e.batch_len = cb->len * 4;
		e.num_syncs = n;
		e.syncs_ptr = n ? (uintptr_t)syncs : 0;
		ret = xioctl(c->dev, UGPU_IOCTL_EXEC, &e);
	} while (ret == -EAGAIN);
	if (!ret && fence)
		*fence = e.fence;
	return ret;
}

static int bind_syncs(struct ctx *c, uint32_t op, uint64_t va, uint32_t bo,
		      uint64_t offset, uint64_t size, const struct ugpu_sync *syncs,
		      uint32_t n)
{
	struct ugpu_vm_bind b = {
		.vm_id = c->vm,
		.num_binds = 1,
		.bind = { .op = op, .va = va, .range = size, .obj_offset = offset,
			  .handle = bo },
		.num_syncs = n,
		.syncs_ptr = n ? (uintptr_t)syncs : 0,
	};

	return xioctl(c->dev, UGPU_IOCTL_VM_BIND, &b);
}

/* Is thread @tid blocked in an ioctl on @fd? (/proc/<pid>/task/<tid>/syscall) */
static bool in_ioctl(pid_t tid, int fd)
{
	char path[64], buf[256];
	long nr = -1;
	unsigned long long a0 = ~0ull;
	ssize_t n;
	int f;

	snprintf(path, sizeof(path), "/proc/self/task/%d/syscall", (int)tid);
	f = open(path, O_RDONLY | O_CLOEXEC);
	if (f < 0)
		return false;
	n = read(f, buf, sizeof(buf) - 1);
	close(f);
	if (n <= 0)
		return false;
	buf[n] = '\0';
	if (sscanf(buf, "%ld %llx", &nr, &a0) != 2)
		return false;
	return nr == SYS_ioctl && a0 == (unsigned long long)fd;
}

/* ---- 1. sync-chain ---------------------------------------------------- */

struct late_bind {
	struct ctx *c;
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
	lb->unbind_state = so_wait(lb->c->dev, lb->unbind_done, 0, 0);
	__atomic_store_n(&lb->done, 1, __ATOMIC_RELEASE);
	return NULL;
}

static void sync_errors(struct ctx *c, uint32_t tl, struct ugpu *other)
{
	struct ugpu_cmdbuf cb;
	struct ugpu_sync s;
	uint32_t fresh = 0, h, theirs[8];
	int ret;

	batch(c, 10, &cb);
	ugpu_cmd_store_dword(&cb, VA_CTL + (CTL_OUT + 9) * 4, 9);

	s = sync_out(tl, 1);
	expect_ret(exec_syncs(c, 10, &cb, 0, &s, 1, NULL), -EINVAL,
		   "sync: timeline signal point not increasing (1 again) -> EINVAL");
	s = sync_out(tl, 0);
	s.type = UGPU_SYNC_TIMELINE_SYNCOBJ;
	expect_ret(exec_syncs(c, 10, &cb, 0, &s, 1, NULL), -EINVAL,
		   "sync: timeline point 0 -> EINVAL");
	s = sync_in(tl, 1);
	s.flags = 1u << 1;
	expect_ret(exec_syncs(c, 10, &cb, 0, &s, 1, NULL), -EINVAL,
		   "sync: unknown flag bit -> EINVAL");
	s = sync_in(tl, 1);
	s.type = 7;
	expect_ret(exec_syncs(c, 10, &cb, 0, &s, 1, NULL), -EINVAL,
		   "sync: unknown type -> EINVAL");
	s = sync_in(tl, 1);
	s.pad = 1;
	expect_ret(exec_syncs(c, 10, &cb, 0, &s, 1, NULL), -EINVAL,
		   "sync: pad != 0 -> EINVAL");
	s = sync_in(tl, 1);
	s.extensions = 1;
	expect_ret(exec_syncs(c, 10, &cb, 0, &s, 1, NULL), -EINVAL,
		   "sync: extensions != 0 -> EINVAL");
	s = sync_in(tl, 1);
	s.reserved[1] = 1;
	expect_ret(exec_syncs(c, 10, &cb, 0, &s, 1, NULL), -EINVAL,
		   "sync: reserved != 0 -> EINVAL");

	ret = so_create(c->dev, 0, &fresh);
	if (!expect_ret(ret, 0, "sync: create a binary syncobj"))
		return;
	s = sync_in(fresh, 0);
	s.timeline_value = 3;
	expect_ret(exec_syncs(c, 10, &cb, 0, &s, 1, NULL), -EINVAL,
		   "sync: binary syncobj with a timeline value -> EINVAL");
	expect_ret(so_wait(c->dev, fresh, 0, 0), -EINVAL,
		   "sync: SYNCOBJ_WAIT with nothing submitted -> EINVAL");
	s = sync_in(fresh, 0);
	expect_ret(exec_syncs(c, 10, &cb, 0, &s, 1, NULL), -EINVAL,
		   "sync: exec waiting on a syncobj with nothing submitted -> EINVAL");
	expect_ret(so_wait(c->dev, tl, 2, 0), -EINVAL,
		   "sync: SYNCOBJ_WAIT on a timeline point not submitted -> EINVAL");
	{
		struct ugpu_syncobj_wait w = { .handle = tl, .point = 1, .flags = 1 };

		expect_ret(xioctl(c->dev, UGPU_IOCTL_SYNCOBJ_WAIT, &w), -EINVAL,
			   "sync: SYNCOBJ_WAIT unknown flags -> EINVAL");
	}
	{
		struct ugpu_syncobj_create sc = { .flags = 1u << 1 };

		expect_ret(xioctl(c->dev, UGPU_IOCTL_SYNCOBJ_CREATE, &sc), -EINVAL,
			   "sync: SYNCOBJ_CREATE unknown flags -> EINVAL");
	}

	/* Handles of another client: numbers this client does not have. */
	for (int i = 0; i < 8; i++) {
		if (so_create(other, 0, &theirs[i])) {
			expect(false, "sync: other client creates syncobjs", "failed");
			return;
		}
	}
	h = theirs[7];
	expect(h > fresh, "sync: the other client's handle is one we lack",
	       "theirs %u, ours up to %u", h, fresh);
	expect_ret(so_wait(c->dev, h, 0, 0), -ENOENT,
		   "sync: SYNCOBJ_WAIT on another client's handle -> ENOENT");
	s = sync_out(h, 0);
	expect_ret(exec_syncs(c, 10, &cb, 0, &s, 1, NULL), -ENOENT,
		   "sync: exec signalling another client's handle -> ENOENT");
	s = sync_out(h, 0);
	expect_ret(bind_syncs(c, UGPU_VM_BIND_OP_UNMAP, VA_BIG, 0, 0, PAGE, &s, 1), -ENOENT,
		   "sync: bind signalling another client's handle -> ENOENT");
	expect_ret(so_destroy(c->dev, h), -ENOENT,
		   "sync: SYNCOBJ_DESTROY of another client's handle -> ENOENT");
	expect_ret(so_wait(other, h, 0, 0), -EINVAL,
		   "sync: the other client's syncobj is untouched");

	expect_ret(so_destroy(c->dev, fresh), 0, "sync: destroy");
	expect_ret(so_destroy(c->dev, fresh), -ENOENT, "sync: destroy twice -> ENOENT");
	expect_ret(so_wait(c->dev, fresh, 0, 0), -ENOENT,
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
	struct ctx c;
	int ret;

	if (!ctx_open_ok(&c, path, 0, "sync"))
		return;
	expect(c.features & UGPU_FEATURE_SYNCOBJ, "sync: device reports syncobjs",
	       "features %#" PRIx64, c.features);
	if (!expect_ret(ugpu_bo_create(c.dev, 16 * PAGE, 0, &bo), 0, "sync: BO create") ||
	    !expect_ret(so_create(c.dev, 0, &s1), 0, "sync: create s1") ||
	    !expect_ret(so_create(c.dev, 0, &tl), 0, "sync: create timeline") ||
	    !expect_ret(so_create(c.dev, 0, &s_unbind), 0, "sync: create unbind syncobj"))
		goto out;

	/* bind -> exec -> unbind -> bind, chained without waiting. */
	syncs[0] = sync_out(s1, 0);
	expect_ret(bind_syncs(&c, UGPU_VM_BIND_OP_MAP_BO, VA_BO, bo, 0, 16 * PAGE, syncs, 1),
		   0, "sync: bind BO with out syncobj s1");
	expect_ret(so_wait(c.dev, s1, 0, WAIT_NS), 0, "sync: s1 signals");

	batch_gated(&c, 0, &cb, CTL_STARTED);
	ugpu_cmd_store_dword(&cb, VA_BO, 0xc0ffee);
	syncs[0] = sync_in(s1, 0);
	syncs[1] = sync_out(tl, 1);
	ret = exec_syncs(&c, 0, &cb, 0, syncs, 2, &fence);
	if (!expect_ret(ret, 0, "sync: exec in s1, out timeline point 1"))
		goto out;
	if (!expect(poll_u32(&c.ctl[CTL_STARTED], 1), "sync: job runs and holds",
		    "the job never started"))
		goto release;
	expect_ret(so_wait(c.dev, tl, 1, 0), -ETIME,
		   "sync: SYNCOBJ_WAIT timeout 0 on an unsignaled point -> ETIME");
	expect_ret(so_wait(c.dev, tl, 1, 1000000), -ETIME,
		   "sync: SYNCOBJ_WAIT with a deadline passing -> ETIME");
	expect_ret(ugpu_wait(c.dev, fence, 0), -ETIME, "sync: fence poll -> ETIME");

	syncs[0] = sync_in(tl, 1);
	syncs[1] = sync_out(s_unbind, 0);
	expect_ret(bind_syncs(&c, UGPU_VM_BIND_OP_UNMAP, VA_BO, 0, 0, 16 * PAGE, syncs, 2), 0,
		   "sync: unbind behind timeline point 1 returns at once (queued)");
	expect_ret(so_wait(c.dev, s_unbind, 0, 0), -ETIME,
		   "sync: the queued unbind has not run while the job holds");

	lb.c = &c;
	lb.bo = bo;
	lb.unbind_done = s_unbind;
	if (pthread_create(&thr, NULL, late_bind_main, &lb)) {
		expect(false, "sync: start the late-bind thread", "pthread_create");
		goto release;
	}
	thr_started = true;
	{
		long long end = now_ms() + POLL_MS;
		pid_t tid;

		while (!(tid = __atomic_load_n(&lb.tid, __ATOMIC_ACQUIRE)) && now_ms() < end)
			nap();
		while (!__atomic_load_n(&lb.done, __ATOMIC_ACQUIRE) &&
		       !in_ioctl(tid, ugpu_fd(c.dev)) && now_ms() < end)
			nap();
		blocked = !__atomic_load_n(&lb.done, __ATOMIC_ACQUIRE) &&
			  in_ioctl(tid, ugpu_fd(c.dev));
	}
	expect(blocked, "sync: a bind without syncs is queued behind the unbind",
	       "the bind ioctl returned (%d) while the job still held", lb.ret);
	expect(!__atomic_load_n(&lb.done, __ATOMIC_ACQUIRE),
	       "sync: the queued bind has not returned before the release",
	       "it returned %d", lb.ret);

release:
	ctl_set(&c, CTL_SEM, 1);
	expect_ret(so_wait(c.dev, s_unbind, 0, WAIT_NS), 0,
		   "sync: the unbind's out syncobj signals after the release");
	expect_ret(so_wait(c.dev, tl, 1, WAIT_NS), 0, "sync: timeline point 1 signals");
	expect_ret(ugpu_wait(c.dev, fence, WAIT_NS), 0, "sync: the job completed");
	if (thr_started) {
		pthread_join(thr, NULL);
		expect_ret(lb.ret, 0, "sync: the queued bind succeeded");
		expect_ret(lb.unbind_state, 0,
			   "sync: the queued bind returned only after the unbind ran");
	}
	ret = ugpu_bo_pread(c.dev, bo, 0, v, 4);
	expect(!ret && v[0] == 0xc0ffee, "sync: the store before the unbind landed",
	       "pread %d, value %#x", ret, v[0]);
	expect_ret(run_store(&c, 1, VA_BO + 4, 1), -EFAULT,
		   "sync: the unbound VA faults");
	expect_ret(run_store(&c, 2, VA_BO2 + 4, 0xb2), 0, "sync: store via the late bind");
	ret = ugpu_bo_pread(c.dev, bo, 0, v, 8);
	expect(!ret && v[1] == 0xb2, "sync: the late bind maps the same BO",
	       "pread %d, value %#x", ret, v[1]);

	/* A syncobj created signaled. */
	if (expect_ret(so_create(c.dev, UGPU_SYNCOBJ_CREATE_SIGNALED, &sig), 0,
		       "sync: create signaled")) {
		expect_ret(so_wait(c.dev, sig, 0, 0), 0, "sync: wait on created-signaled -> 0");
		batch(&c, 3, &cb);
		ugpu_cmd_store_dword(&cb, VA_CTL + (CTL_OUT + 3) * 4, 0x5151);
		syncs[0] = sync_in(sig, 0);
		ret = exec_syncs(&c, 3, &cb, 1, syncs, 1, &f2);
		if (expect_ret(ret, 0, "sync: exec waiting on a signaled syncobj"))
			expect_ret(ugpu_wait(c.dev, f2, WAIT_NS), 0,
				   "sync: ... runs to completion");
		expect(c.ctl[CTL_OUT + 3] == 0x5151, "sync: ... and stored", "got %#x",
		       c.ctl[CTL_OUT + 3]);
		so_destroy(c.dev, sig);
	}

	if (expect_ret(ugpu_open(path, &other), 0, "sync: open a second client")) {
		sync_errors(&c, tl, other);
		ugpu_close(other);
	}
	expect_ret(so_destroy(c.dev, s1), 0, "sync: destroy s1");
	expect_ret(so_destroy(c.dev, tl), 0, "sync: destroy the timeline");
out:
	ctx_close(&c);
}

/* ---- 2. fault mode ---------------------------------------------------- */

enum fault_case { FC_FAULT_REPLACE, FC_NOFAULT_REPLACE, FC_FAULT_UNMAP };

static void scenario_fault(const char *path, enum fault_case fc)
{
	static const char *const names[] = { "fault-replace", "nofault-replace",
					     "fault-unmap" };
	const char *n = names[fc];
	char check[160];
	uint32_t vm_flags = fc == FC_NOFAULT_REPLACE ? 0 : UGPU_VM_FAULT_MODE;
	struct ugpu_cmdbuf cb;
	uint8_t *buf, *page;
	uint64_t fence;
	struct ctx c;
	int ret;

	if (!ctx_open_ok(&c, path, vm_flags, n))
		return;
	if (vm_flags) {
		snprintf(check, sizeof(check), "%s: device reports fault mode", n);
		expect(c.features & UGPU_FEATURE_FAULT_MODE, check, "features %#" PRIx64,
		       c.features);
	}
	buf = map_anon(4 * PAGE, MAP_PRIVATE);
	if (!buf) {
		expect(false, "map", "mmap");
		goto out;
	}
	memset(buf, 0x11, 4 * PAGE);
	snprintf(check, sizeof(check), "%s: bind private memory", n);
	if (!expect_ret(ugpu_vm_bind_userptr(c.dev, c.vm, VA_UP, buf, 4 * PAGE, 0), 0, check))
		goto out_unmap;

	batch_gated(&c, 0, &cb, CTL_STARTED);
	ugpu_cmd_store_dword(&cb, VA_UP + PAGE + 8, 0xfa17);
	ret = submit(&c, 0, &cb, 0, &fence);
	snprintf(check, sizeof(check), "%s: exec store-behind-semaphore", n);
	if (!expect_ret(ret, 0, check))
		goto out_unmap;
	snprintf(check, sizeof(check), "%s: job waits on the semaphore", n);
	if (!expect(poll_u32(&c.ctl[CTL_STARTED], 1), check, "never started")) {
		ctl_set(&c, CTL_SEM, 1);
		goto out_unmap;
	}

	page = buf + PAGE;
	if (fc == FC_FAULT_UNMAP) {
		ret = munmap(page, PAGE) ? -errno : 0;
	} else {
		void *p = mmap(page, PAGE, PROT_READ | PROT_WRITE,
			       MAP_FIXED | MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

		ret = p == MAP_FAILED ? -errno : 0;
		if (!ret)
			memset(page, 0x22, PAGE);
	}
	snprintf(check, sizeof(check), "%s: client replaces/unmaps the target page", n);
	expect_ret(ret, 0, check);
	ctl_set(&c, CTL_SEM, 1);
	ret = ugpu_wait(c.dev, fence, WAIT_NS);

	switch (fc) {
	case FC_FAULT_REPLACE:
		expect_ret(ret, 0, "fault-replace: job resolves the fault and completes");
		expect(((uint32_t *)page)[2] == 0xfa17,
		       "fault-replace: the store is in the NEW page", "dword %#x",
		       ((uint32_t *)page)[2]);
		((uint32_t *)page)[2] = 0x22222222;
		expect_all(page, PAGE, 0x22222222,
			   "fault-replace: nothing else of the new page changed");
		break;
	case FC_NOFAULT_REPLACE:
		expect_ret(ret, -EFAULT, "nofault-replace: the job faults (-EFAULT)");
		expect_all(page, PAGE, 0x22222222, "nofault-replace: the new page is unchanged");
		/* The binding follows the virtual range: the next exec sees it. */
		expect_ret(run_store(&c, 1, VA_UP + PAGE + 12, 0x1234), 0,
			   "nofault-replace: a new exec stores into the new page");
		expect(((uint32_t *)page)[3] == 0x1234,
		       "nofault-replace: ... and it is visible", "dword %#x",
		       ((uint32_t *)page)[3]);
		break;
	case FC_FAULT_UNMAP:
		expect_ret(ret, -EFAULT, "fault-unmap: a store into unmapped memory faults");
		/* The rest of the binding still works in fault mode. */
		expect_ret(run_store(&c, 1, VA_UP + 8, 0x77), 0,
			   "fault-unmap: a store into a mapped page of it still works");
		expect(((uint32_t *)buf)[2] == 0x77, "fault-unmap: ... and is visible",
		       "dword %#x", ((uint32_t *)buf)[2]);
		expect_ret(run_store(&c, 2, VA_UP + PAGE, 0x78), -EFAULT,
			   "fault-unmap: the unmapped page still faults");
		break;
	}
out_unmap:
	munmap(buf, 4 * PAGE);
out:
	ctx_close(&c);
}

/* ---- 3. invalidate race ----------------------------------------------- */

/*
 * Thread A (the racer) replaces, unmaps and re-maps, zaps and swaps to
 * shared memory the pages of a bound 64 KiB range while the main thread
 * fills the range from the GPU, two jobs in flight. Job i fills with the
 * value i + 1, so the racer can tell which job wrote a dword: a job whose
 * exec returned before a page was replaced was checked against the old
 * page and must never write the new one (it faults instead), and no job
 * may write a shared page after the call that unmapped it returned. Both
 * are checked by value, with no timing involved.
 */
#define RACE_PAGES	16u
#define RACE_BYTES	(RACE_PAGES * PAGE)
#define RACE_MARK	0xffffffffu	/* the racer's own fill of a new page */
#define RACE_GENS	4096u		/* shared pages the racer hands out */

struct old_page {
	uint64_t off;			/* in the racer's memfd */
	uint64_t hash;			/* contents right after it was unmapped */
};

struct racer {
	uint8_t *range;
	int memfd;
	uint64_t next_off;
	int64_t backing[RACE_PAGES];	/* memfd offset, or -1: private */
	uint32_t min_ok[RACE_PAGES];	/* values <= this: jobs older than the page */
	uint32_t committed;		/* execs returned so far (main thread) */
	int stop;
	int error;			/* errno of a failed mm call */
	const char *what;
	unsigned long ops[5];
	unsigned long stale_writes;	/* an old job wrote a new page */
	char stale_first[128];
	struct old_page *old;
	unsigned int nold;
};

static uint32_t rnd(uint32_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 17;
	*s ^= *s << 5;
	return *s;
}

static uint64_t fnv1a(const uint8_t *p, size_t len)
{
	uint64_t h = 0xcbf29ce484222325ull;

	while (len--) {
		h ^= *p++;
		h *= 0x100000001b3ull;
	}
	return h;
}

/* No job committed before page @pg became what it is may have written it. */
static void racer_check_page(struct racer *r, unsigned int pg)
{
	const volatile uint32_t *p = (const volatile uint32_t *)(r->range + pg * PAGE);

	for (unsigned int i = 0; i < PAGE / 4; i++) {
		uint32_t v = p[i];

		if (v && v != RACE_MARK && v <= r->min_ok[pg]) {
			if (!r->stale_writes++)
				snprintf(r->stale_first, sizeof(r->stale_first),
					 "page %u dword %u holds job %u's value, but jobs 0..%u "
					 "had returned from exec before the page was replaced",
					 pg, i, v - 1, r->min_ok[pg] - 1);
			return;
		}
	}
}

static void racer_fail(struct racer *r, const char *what)
{
	if (!r->error) {
		r->error = errno ? errno : EIO;
		r->what = what;
	}
}

/* Pages [pg, pg + n) are about to change: check them, note who is older. */
static uint32_t racer_before(struct racer *r, unsigned int pg, unsigned int n)
{
	for (unsigned int i = pg; i < pg + n; i++)
		racer_check_page(r, i);
	return __atomic_load_n(&r->committed, __ATOMIC_ACQUIRE);
}

/*
 * Pages [pg, pg + n) are new memory now (@shared_off >= 0: the memfd from
 * there on). A shared page that went away keeps its contents from now on.
 */
static void racer_after(struct racer *r, unsigned int pg, unsigned int n, uint32_t older,
			int64_t shared_off, bool fill)
{
	uint8_t buf[PAGE];

	for (unsigned int i = pg; i < pg + n; i++) {
		if (r->backing[i] >= 0 && r->nold < RACE_GENS &&
		    pread(r->memfd, buf, PAGE, r->backing[i]) == (ssize_t)PAGE) {
			r->old[r->nold].off = (uint64_t)r->backing[i];
			r->old[r->nold++].hash = fnv1a(buf, PAGE);
		}
		r->backing[i] = shared_off >= 0 ? shared_off + (int64_t)((i - pg) * PAGE) : -1;
		r->min_ok[i] = older;
		if (fill)
			memset(r->range + i * PAGE, 0xff, PAGE);
	}
}

static void racer_step(struct racer *r, unsigned int op, unsigned int pg)
{
	uint32_t older;
	void *p;

	switch (op) {
	case 0:	/* replace the whole range with new private memory */
		older = racer_before(r, 0, RACE_PAGES);
		p = mmap(r->range, RACE_BYTES, PROT_READ | PROT_WRITE,
			 MAP_FIXED | MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (p == MAP_FAILED)
			return racer_fail(r, "mmap MAP_FIXED");
		racer_after(r, 0, RACE_PAGES, older, -1, true);
		break;
	case 1:	/* replace one page */
		older = racer_before(r, pg, 1);
		p = mmap(r->range + pg * PAGE, PAGE, PROT_READ | PROT_WRITE,
			 MAP_FIXED | MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (p == MAP_FAILED)
			return racer_fail(r, "mmap MAP_FIXED page");
		racer_after(r, pg, 1, older, -1, true);
		break;
	case 2:	/* unmap, leave a gap for a while, map again */
		older = racer_before(r, 0, RACE_PAGES);
		if (munmap(r->range, RACE_BYTES))
			return racer_fail(r, "munmap");
		racer_after(r, 0, RACE_PAGES, older, -1, false);
		for (int i = 0; i < 20; i++)
			sched_yield();
		p = mmap(r->range, RACE_BYTES, PROT_READ | PROT_WRITE,
			 MAP_FIXED_NOREPLACE | MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (p != r->range) {
			errno = p == MAP_FAILED ? errno : EEXIST;
			return racer_fail(r, "re-mmap after munmap (address taken?)");
		}
		memset(r->range, 0xff, RACE_BYTES);
		break;
	case 3:	/* a page of shared memory (a memfd we keep) */
		if (r->next_off >= (uint64_t)RACE_GENS * PAGE)
			return racer_step(r, 1, pg);
		older = racer_before(r, pg, 1);
		p = mmap(r->range + pg * PAGE, PAGE, PROT_READ | PROT_WRITE,
			 MAP_FIXED | MAP_SHARED, r->memfd, (off_t)r->next_off);
		if (p == MAP_FAILED)
			return racer_fail(r, "mmap MAP_FIXED memfd");
		racer_after(r, pg, 1, older, (int64_t)r->next_off, true);
		r->next_off += PAGE;
		break;
	default: /* the same memory, private pages read as zero afterwards */
		racer_before(r, pg, 2);
		if (madvise(r->range + pg * PAGE, pg + 2 <= RACE_PAGES ? 2 * PAGE : PAGE,
			    MADV_DONTNEED))
			return racer_fail(r, "madvise");
		break;
	}
}

/*
 * $GPU_CLIENT_RACE_OPS, a bit mask of racer_step() ops (default all 5),
 * narrows the race down when chasing a failure by hand.
 */
static unsigned int racer_ops(void)
{
	const char *env = getenv("GPU_CLIENT_RACE_OPS");
	unsigned long mask = env ? strtoul(env, NULL, 0) & 31 : 31;

	return mask ? (unsigned int)mask : 31;
}

static void *racer_main(void *arg)
{
	struct racer *r = arg;
	long long end = now_ms() + STRESS_MS;
	unsigned int mask = racer_ops();
	uint32_t seed = 0x1234567;

	while (now_ms() < end && !r->error) {
		unsigned int op = rnd(&seed) % 5, pg = rnd(&seed) % RACE_PAGES;

		if (!(mask & (1u << op)))
			continue;
		r->ops[op]++;
		racer_step(r, op, pg);
		sched_yield();
	}
	__atomic_store_n(&r->stop, 1, __ATOMIC_RELEASE);
	return NULL;
}

struct race_count {
	unsigned long execs, exec_ok, exec_fault, job_ok, job_fault;
	unsigned long bad_exec, bad_wait;
	int first_bad_exec, first_bad_wait;
};

static void race_wait(struct ctx *c, uint64_t fence, struct race_count *n)
{
	int ret = ugpu_wait(c->dev, fence, WAIT_NS);

	if (ret == 0)
		n->job_ok++;
	else if (ret == -EFAULT)
		n->job_fault++;
	else if (!n->bad_wait++)
		n->first_bad_wait = ret;
}

static void scenario_invalidate_race(const char *path)
{
	struct race_count n = { 0 };
	struct racer r = { .memfd = -1 };
	uint64_t fences[2] = { 0, 0 };
	struct ugpu_cmdbuf cb;
	pthread_t thr;
	uint64_t fence;
	uint8_t buf[PAGE];
	unsigned int moved = 0;
	struct ctx c;
	int ret;

	if (!ctx_open_ok(&c, path, 0, "race"))
		return;
	r.range = map_anon(RACE_BYTES, MAP_PRIVATE);
	r.memfd = memfd_create("race", MFD_CLOEXEC);
	r.old = calloc(RACE_GENS, sizeof(*r.old));
	if (!r.range || r.memfd < 0 || !r.old ||
	    ftruncate(r.memfd, (off_t)RACE_GENS * PAGE)) {
		expect(false, "race: set up memory", "%s", strerror(errno));
		goto out;
	}
	memset(r.range, 0xff, RACE_BYTES);
	for (unsigned int i = 0; i < RACE_PAGES; i++)
		r.backing[i] = -1;
	if (!expect_ret(ugpu_vm_bind_userptr(c.dev, c.vm, VA_UP, r.range, RACE_BYTES, 0), 0,
			"race: bind 64 KiB of private memory"))
		goto out;
	if (pthread_create(&thr, NULL, racer_main, &r)) {
		expect(false, "race: start the racer", "pthread_create");
		goto out;
	}
	/* Two jobs in flight, one per engine; job i fills with i + 1. */
	while (!__atomic_load_n(&r.stop, __ATOMIC_ACQUIRE)) {
		unsigned int k = n.execs % 2;

		if (fences[k]) {
			race_wait(&c, fences[k], &n);
			fences[k] = 0;
		}
		batch(&c, k, &cb);
		ugpu_cmd_fill(&cb, VA_UP, RACE_BYTES, (uint32_t)n.execs + 1);
		ret = submit(&c, k, &cb, k % c.engines, &fence);
		n.execs++;
		__atomic_store_n(&r.committed, (uint32_t)n.execs, __ATOMIC_RELEASE);
		if (ret == 0) {
			n.exec_ok++;
			fences[k] = fence;
		} else if (ret == -EFAULT) {
			n.exec_fault++;
		} else if (!n.bad_exec++) {
			n.first_bad_exec = ret;
		}
		if (n.bad_wait || n.bad_exec > 100)
			break;	/* a hang or a broken exec: do not pile up more */
	}
	for (unsigned int k = 0; k < 2; k++)
		if (fences[k])
			race_wait(&c, fences[k], &n);
	__atomic_store_n(&r.stop, 1, __ATOMIC_RELEASE);
	pthread_join(thr, NULL);
	note("race: %lu execs: %lu ok (%lu jobs ok, %lu faulted), %lu -EFAULT at exec; "
	     "mm ops %lu/%lu/%lu/%lu/%lu", n.execs, n.exec_ok, n.job_ok, n.job_fault,
	     n.exec_fault, r.ops[0], r.ops[1], r.ops[2], r.ops[3], r.ops[4]);
	expect(!r.error, "race: the racer's mm calls worked", "%s: %s", r.what,
	       strerror(r.error));
	expect(!n.bad_exec, "race: every exec returned 0 or -EFAULT",
	       "%lu others, first %d (%s)", n.bad_exec, n.first_bad_exec,
	       ename(n.first_bad_exec));
	expect(!n.bad_wait, "race: every fence resolved with 0 or -EFAULT",
	       "%lu others, first %d (%s)", n.bad_wait, n.first_bad_wait,
	       ename(n.first_bad_wait));
	expect(n.execs > 0, "race: execs ran", "none");

	/* Every job is done: check what they left. */
	if (!r.error)
		for (unsigned int i = 0; i < RACE_PAGES; i++)
			racer_check_page(&r, i);
	expect(!r.stale_writes, "race: no job wrote memory mapped after its exec",
	       "%lu pages, first: %s", r.stale_writes, r.stale_first);
	for (unsigned int i = 0; i < r.nold; i++)
		if (pread(r.memfd, buf, PAGE, (off_t)r.old[i].off) != (ssize_t)PAGE ||
		    fnv1a(buf, PAGE) != r.old[i].hash)
			moved++;
	expect(!moved, "race: no job wrote shared memory after it was unmapped",
	       "%u of %u old pages changed", moved, r.nold);

	/* Settle: one stable mapping, a clean exec with correct data. */
	if (!r.error) {
		void *p = mmap(r.range, RACE_BYTES, PROT_READ | PROT_WRITE,
			       MAP_FIXED | MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

		expect(p == r.range, "race: stable mapping again", "mmap %s",
		       strerror(errno));
		batch(&c, 5, &cb);
		ugpu_cmd_fill(&cb, VA_UP, RACE_BYTES, 0x5eed5eed);
		ret = submit(&c, 5, &cb, 0, &fence);
		if (expect_ret(ret, 0, "race: clean exec after the storm"))
			expect_ret(ugpu_wait(c.dev, fence, WAIT_NS), 0,
				   "race: clean job completes");
		expect_all(r.range, RACE_BYTES, 0x5eed5eed,
			   "race: clean job's data is all there");
	}
out:
	if (r.range)
		munmap(r.range, RACE_BYTES);
	if (r.memfd >= 0)
		close(r.memfd);
	free(r.old);
	ctx_close(&c);
}

/*
 * The deterministic core of the race above: job Y is committed against
 * page P and queued behind a job X holding the engine; the client replaces
 * P; another exec, Z, revalidates the binding (so the VM maps the new
 * page); then Y runs. Y was checked against the old page: it must fault,
 * and must not write the new memory. The daemon may also hold Z's exec
 * until the older jobs are done: so Z is submitted from a thread, and X is
 * released once Z's exec returned or after a grace period; the checks are
 * the same either way.
 */
struct late_exec {
	struct ctx *c;
	uint64_t fence;
	int ret;
	int done;
};

static void *late_exec_main(void *arg)
{
	struct late_exec *z = arg;
	struct ugpu_cmdbuf cb;

	batch(z->c, 2, &cb);
	ugpu_cmd_store_dword(&cb, VA_UP + 4, 0x2a);
	z->ret = submit(z->c, 2, &cb, 1, &z->fence);
	__atomic_store_n(&z->done, 1, __ATOMIC_RELEASE);
	return NULL;
}

static void scenario_replace_revalidate(const char *path)
{
	struct late_exec z = { 0 };
	struct ugpu_cmdbuf cb;
	uint64_t fx, fy;
	uint32_t *buf, *page;
	bool thr_started = false;
	pthread_t thr;
	struct ctx c;
	void *p;

	if (!ctx_open_ok(&c, path, 0, "stale"))
		return;
	buf = map_anon(2 * PAGE, MAP_PRIVATE);
	if (!buf) {
		expect(false, "stale: map", "mmap");
		goto out;
	}
	memset(buf, 0x11, 2 * PAGE);
	page = buf + PAGE / 4;
	if (!expect_ret(ugpu_vm_bind_userptr(c.dev, c.vm, VA_UP, buf, 2 * PAGE, 0), 0,
			"stale: bind private memory"))
		goto out_unmap;
	batch_gated(&c, 0, &cb, CTL_STARTED);
	if (!expect_ret(submit(&c, 0, &cb, 0, &fx), 0, "stale: job X holds engine 0"))
		goto out_unmap;
	batch(&c, 1, &cb);
	ugpu_cmd_fill(&cb, VA_UP + PAGE, PAGE, 0x0b0b0b0b);
	if (!expect_ret(submit(&c, 1, &cb, 0, &fy), 0, "stale: job Y queued behind it"))
		goto release;
	if (!expect(poll_u32(&c.ctl[CTL_STARTED], 1), "stale: X runs", "never started"))
		goto release;
	p = mmap(page, PAGE, PROT_READ | PROT_WRITE, MAP_FIXED | MAP_PRIVATE | MAP_ANONYMOUS,
		 -1, 0);
	if (!expect(p == page, "stale: client replaces Y's page", "%s", strerror(errno)))
		goto release;
	memset(page, 0x22, PAGE);
	/* Z revalidates the binding: the VM maps the new page again. */
	z.c = &c;
	if (pthread_create(&thr, NULL, late_exec_main, &z)) {
		expect(false, "stale: start Z", "pthread_create");
		goto release;
	}
	thr_started = true;
	{
		long long end = now_ms() + 1000;	/* grace, not an assertion */

		while (!__atomic_load_n(&z.done, __ATOMIC_ACQUIRE) && now_ms() < end)
			nap();
		if (!__atomic_load_n(&z.done, __ATOMIC_ACQUIRE))
			note("stale: Z's exec is held while older jobs run");
	}
release:
	ctl_set(&c, CTL_SEM, 1);
	if (thr_started) {
		pthread_join(thr, NULL);
		if (expect_ret(z.ret, 0, "stale: job Z on engine 1"))
			expect_ret(ugpu_wait(c.dev, z.fence, WAIT_NS), 0, "stale: Z completes");
		expect(buf[1] == 0x2a, "stale: Z's store landed", "got %#x", buf[1]);
	}
	expect_ret(ugpu_wait(c.dev, fx, WAIT_NS), 0, "stale: X completes");
	expect_ret(ugpu_wait(c.dev, fy, WAIT_NS), -EFAULT,
		   "stale: Y, committed against the old page, faults");
	expect_all(page, PAGE, 0x22222222,
		   "stale: Y wrote nothing into the page mapped after it was committed");
	/* A new job does use the new page. */
	expect_ret(run_store(&c, 3, VA_UP + PAGE + 8, 0x33), 0, "stale: a new job runs");
	expect(page[2] == 0x33, "stale: ... and writes the new page", "got %#x", page[2]);
out_unmap:
	munmap(buf, 2 * PAGE);
out:
	ctx_close(&c);
}

/*
 * A whole mapping replaced by one with the same bounds, protections and
 * backing file, while job Y (committed against it) waits behind job X:
 * nothing but the event (or the daemon refusing the bind) tells the two
 * apart, so this also covers memory the daemon cannot watch with its
 * userfaultfd. Kinds: private anonymous, MAP_DROPPABLE anonymous (no
 * userfaultfd on it), a private mapping of a file on a disk filesystem
 * (no write-protect registration there).
 */
#ifndef MAP_DROPPABLE
#define MAP_DROPPABLE 0x08
#endif

enum same_kind { SAME_ANON, SAME_DROPPABLE, SAME_FILE };

static void *same_map(enum same_kind kind, void *at, int fd)
{
	int fixed = at ? MAP_FIXED : 0;
	void *p;

	switch (kind) {
	case SAME_ANON:
		p = mmap(at, 2 * PAGE, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS | fixed, -1, 0);
		break;
	case SAME_DROPPABLE:
		p = mmap(at, 2 * PAGE, PROT_READ | PROT_WRITE,
			 MAP_DROPPABLE | MAP_ANONYMOUS | fixed, -1, 0);
		break;
	default:
		p = mmap(at, 2 * PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | fixed, fd, 0);
		break;
	}
	return p == MAP_FAILED ? NULL : p;
}

static void stale_same_vma(struct ctx *c, enum same_kind kind)
{
	static const char *const names[] = { "same-vma anon", "same-vma droppable",
					     "same-vma file" };
	const char *n = names[kind];
	char check[160], tmpl[] = "/tmp/gpu_client.XXXXXX";
	struct ugpu_cmdbuf cb;
	uint32_t *buf = NULL, *again;
	uint64_t fx, fy;
	int fd = -1, ret;

	if (kind == SAME_FILE) {
		static uint8_t fill[2 * PAGE];

		fd = mkstemp(tmpl);
		if (fd >= 0)
			unlink(tmpl);
		memset(fill, 0x44, sizeof(fill));
		if (fd < 0 || pwrite(fd, fill, sizeof(fill), 0) != (ssize_t)sizeof(fill)) {
			expect(false, n, "temporary file: %s", strerror(errno));
			goto out;
		}
	}
	buf = same_map(kind, NULL, fd);
	if (!buf) {
		note("%s: cannot map this kind here (%s), skipped", n, strerror(errno));
		goto out;
	}
	memset(buf, 0x11, 2 * PAGE);
	ctl_set(c, CTL_SEM, 0);
	ctl_set(c, CTL_STARTED, 0);
	ret = ugpu_vm_bind_userptr(c->dev, c->vm, VA_UP, buf, 2 * PAGE, 0);
	if (ret) {
		/* Refusing memory it cannot follow is a correct answer. */
		note("%s: bind refused (%d, %s)", n, ret, ename(ret));
		goto out;
	}
	snprintf(check, sizeof(check), "%s: job X holds engine 0", n);
	batch_gated(c, 0, &cb, CTL_STARTED);
	if (!expect_ret(submit(c, 0, &cb, 0, &fx), 0, check))
		goto unbind;
	batch(c, 1, &cb);
	ugpu_cmd_fill(&cb, VA_UP, 2 * PAGE, 0x0b0b0b0b);
	snprintf(check, sizeof(check), "%s: job Y, filling the mapping, queued behind", n);
	ret = submit(c, 1, &cb, 0, &fy);
	if (!expect_ret(ret, 0, check)) {
		ctl_set(c, CTL_SEM, 1);
		ugpu_wait(c->dev, fx, WAIT_NS);
		goto unbind;
	}
	snprintf(check, sizeof(check), "%s: X runs", n);
	expect(poll_u32(&c->ctl[CTL_STARTED], 1), check, "never started");
	again = same_map(kind, buf, fd);
	snprintf(check, sizeof(check), "%s: the client maps the same again", n);
	expect(again == buf, check, "%s", strerror(errno));
	if (again && kind != SAME_FILE)
		memset(again, 0x22, 2 * PAGE);
	ctl_set(c, CTL_SEM, 1);
	snprintf(check, sizeof(check), "%s: X completes", n);
	expect_ret(ugpu_wait(c->dev, fx, WAIT_NS), 0, check);
	snprintf(check, sizeof(check), "%s: Y, committed against the old mapping, faults", n);
	expect_ret(ugpu_wait(c->dev, fy, WAIT_NS), -EFAULT, check);
	snprintf(check, sizeof(check), "%s: Y wrote nothing into the new mapping", n);
	if (kind == SAME_DROPPABLE) {
		/* The kernel may drop these pages (zeroes): look for Y's value only. */
		unsigned int ys = 0;

		for (unsigned int i = 0; i < 2 * PAGE / 4; i++)
			ys += buf[i] == 0x0b0b0b0b;
		expect(!ys, check, "%u dwords hold Y's value", ys);
	} else {
		expect_all(buf, 2 * PAGE, kind == SAME_FILE ? 0x44444444 : 0x22222222, check);
	}
unbind:
	ugpu_vm_unbind(c->dev, c->vm, VA_UP, 2 * PAGE);
out:
	if (buf)
		munmap(buf, 2 * PAGE);
	if (fd >= 0)
		close(fd);
}

static void scenario_replace_same_vma(const char *path)
{
	struct ctx c;

	if (!ctx_open_ok(&c, path, 0, "same-vma"))
		return;
	stale_same_vma(&c, SAME_ANON);
	stale_same_vma(&c, SAME_DROPPABLE);
	stale_same_vma(&c, SAME_FILE);
	ctx_close(&c);
}

/* ---- 4. unrelated address-space churn ---------------------------------- */

struct churner {
	int stop;
	int error;
	const char *what;
	unsigned long rounds;
};

static void *churn_main(void *arg)
{
	struct churner *ch = arg;
	long long end = now_ms() + STRESS_MS;

	while (now_ms() < end && !ch->error) {
		uint8_t *p = map_anon(16 * PAGE, MAP_PRIVATE);

		if (!p) {
			ch->error = errno;
			ch->what = "mmap";
			break;
		}
		memset(p, 0x5a, 16 * PAGE);
		if (mprotect(p + 2 * PAGE, 2 * PAGE, PROT_READ)) {
			ch->error = errno;
			ch->what = "mprotect";
		}
		if (madvise(p + 6 * PAGE, 4 * PAGE, MADV_DONTNEED)) {
			ch->error = errno;
			ch->what = "madvise";
		}
		if (munmap(p + 12 * PAGE, 4 * PAGE) || munmap(p, 12 * PAGE)) {
			ch->error = errno;
			ch->what = "munmap";
		}
		ch->rounds++;
	}
	__atomic_store_n(&ch->stop, 1, __ATOMIC_RELEASE);
	return NULL;
}

static void scenario_unrelated_mm(const char *path)
{
	unsigned long iters = 0, bad = 0;
	struct churner ch = { 0 };
	const char *first = NULL;
	int first_ret = 0;
	struct ugpu_cmdbuf cb;
	uint32_t *buf, bo;
	pthread_t thr;
	uint64_t fence;
	struct ctx c;
	int ret;

	if (!ctx_open_ok(&c, path, 0, "churn"))
		return;
	buf = map_anon(4 * PAGE, MAP_PRIVATE);
	if (!buf || ugpu_bo_create(c.dev, 4 * PAGE, 0, &bo)) {
		expect(false, "churn: buffers", "mmap or BO create failed");
		goto out;
	}
	if (pthread_create(&thr, NULL, churn_main, &ch)) {
		expect(false, "churn: start the churner", "pthread_create");
		goto out;
	}
#define STEP(expr, name)						\
	do {								\
		ret = (expr);						\
		if (ret) {						\
			if (!bad++) {					\
				first = name;				\
				first_ret = ret;			\
			}						\
			goto next;					\
		}							\
	} while (0)
	while (!__atomic_load_n(&ch.stop, __ATOMIC_ACQUIRE)) {
		uint32_t v = 0x1000 + (uint32_t)iters;
		uint32_t got = 0;

		STEP(ugpu_vm_bind_userptr(c.dev, c.vm, VA_UP, buf, 4 * PAGE, 0), "bind userptr");
		STEP(ugpu_vm_bind_bo(c.dev, c.vm, VA_BO, bo, 0, 4 * PAGE, 0), "bind BO");
		batch(&c, iters % 4, &cb);
		ugpu_cmd_fill(&cb, VA_UP, 4 * PAGE, v);
		ugpu_cmd_copy(&cb, VA_BO, VA_UP, 4 * PAGE);
		STEP(submit(&c, iters % 4, &cb, iters % c.engines, &fence), "exec");
		STEP(ugpu_wait(c.dev, fence, WAIT_NS), "wait");
		STEP(all_u32(buf, 4 * PAGE, v, NULL) ? 0 : -EBADMSG, "data in userptr");
		STEP(ugpu_bo_pread(c.dev, bo, 3 * PAGE, &got, 4), "pread");
		STEP(got == v ? 0 : -EBADMSG, "data in BO");
		STEP(ugpu_vm_unbind(c.dev, c.vm, VA_UP, 4 * PAGE), "unbind userptr");
		STEP(ugpu_vm_unbind(c.dev, c.vm, VA_BO, 4 * PAGE), "unbind BO");
next:
		iters++;
		if (bad > 20)
			break;
	}
#undef STEP
	pthread_join(thr, NULL);
	note("churn: %lu bind/exec/wait rounds against %lu mmap/mprotect/madvise/munmap rounds",
	     iters, ch.rounds);
	expect(!ch.error, "churn: the churner's mm calls worked", "%s: %s", ch.what,
	       strerror(ch.error));
	expect(!bad, "churn: every bind, exec and wait succeeded with correct data",
	       "%lu failures, first %s: %d (%s)", bad, first ? first : "?", first_ret,
	       ename(first_ret));
	expect(iters > 0, "churn: rounds ran", "none");
out:
	if (buf)
		munmap(buf, 4 * PAGE);
	ctx_close(&c);
}

/* ---- 5. process exit while busy ---------------------------------------- */

static void *parked_bind_main(void *arg)
{
	struct late_bind *lb = arg;

	lb->ret = ugpu_vm_bind_bo(lb->c->dev, lb->c->vm, VA_BO2, lb->bo, 0, 16 * PAGE, 0);
	__atomic_store_n(&lb->done, 1, __ATOMIC_RELEASE);
	return NULL;
}

/*
 * Leave as much in flight as possible: running jobs that never end on
 * every engine, jobs queued behind them, a job waiting on a syncobj, a
 * queued unbind and a bind ioctl parked behind it. Then say "ready" and
 * exit abruptly when told (or be killed).
 */
static void scenario_exit_busy(const char *path)
{
	struct ugpu_sync syncs[2];
	struct late_bind lb = { 0 };
	struct ugpu_cmdbuf cb;
	uint32_t bo = 0, so = 0;
	uint64_t fence;
	unsigned int slot = 0;
	pthread_t thr;
	uint8_t *buf;
	char line[64];
	struct ctx c;

	if (!ctx_open_ok(&c, path, 0, "busy"))
		_exit(1);
	buf = map_anon(16 * PAGE, MAP_PRIVATE);
	if (!buf ||
	    !expect_ret(ugpu_vm_bind_userptr(c.dev, c.vm, VA_UP, buf, 16 * PAGE, 0), 0,
			"busy: bind private memory") ||
	    !expect_ret(ugpu_bo_create(c.dev, 16 * PAGE, 0, &bo), 0, "busy: BO") ||
	    !expect_ret(ugpu_vm_bind_bo(c.dev, c.vm, VA_BO, bo, 0, 16 * PAGE, 0), 0,
			"busy: bind BO") ||
	    !expect_ret(so_create(c.dev, 0, &so), 0, "busy: syncobj"))
		_exit(1);

	for (unsigned int e = 0; e < c.engines; e++) {
		batch_gated(&c, slot, &cb, CTL_STARTED + e);
		syncs[0] = sync_out(so, 0);
		if (!expect_ret(exec_syncs(&c, slot++, &cb, e, syncs, e == 0, &fence), 0,
				"busy: exec a job that waits forever"))
			_exit(1);
	}
	for (unsigned int i = 0; i < 6; i++) {
		batch(&c, slot, &cb);
		ugpu_cmd_fill(&cb, VA_UP, 16 * PAGE, i);
		if (!expect_ret(submit(&c, slot++, &cb, i % c.engines, &fence), 0,
				"busy: exec jobs queued behind them"))
			_exit(1);
	}
	batch(&c, slot, &cb);
	ugpu_cmd_store_dword(&cb, VA_BO, 1);
	syncs[0] = sync_in(so, 0);
	expect_ret(exec_syncs(&c, slot++, &cb, 0, syncs, 1, &fence), 0,
		   "busy: exec waiting on a syncobj");
	syncs[0] = sync_in(so, 0);
	expect_ret(bind_syncs(&c, UGPU_VM_BIND_OP_UNMAP, VA_BO, 0, 0, 16 * PAGE, syncs, 1), 0,
		   "busy: queued unbind");
	lb.c = &c;
	lb.bo = bo;
	if (pthread_create(&thr, NULL, parked_bind_main, &lb))
		_exit(1);
	for (unsigned int e = 0; e < c.engines; e++)
		if (!expect(poll_u32(&c.ctl[CTL_STARTED + e], 1), "busy: jobs hold the engines",
			    "engine %u never started", e))
			_exit(1);
	printf("ready\n");
	fflush(stdout);
	/* Die with everything in flight: no close, no cleanup. */
	if (fgets(line, sizeof(line), stdin))
		_exit(nfail ? 1 : 0);
	_exit(nfail ? 1 : 0);
}

/* The daemon still serves: a plain job works. */
static void scenario_smoke(const char *path)
{
	struct ctx c;

	if (!ctx_open_ok(&c, path, 0, "smoke"))
		return;
	expect_ret(run_store(&c, 0, VA_CTL + CTL_OUT * 4, 0x600d), 0, "smoke: a job runs");
	expect(c.ctl[CTL_OUT] == 0x600d, "smoke: its store landed", "got %#x",
	       c.ctl[CTL_OUT]);
	ctx_close(&c);
}

/* ---- 6. fairness ------------------------------------------------------ */

#define FAIR_JOBS	64
#define FAIR_BYTES	(16ull << 20)
_Static_assert(FAIR_JOBS <= NSLOTS, "a batch slot per job");

static int readline_fd(int fd, char *buf, size_t len)
{
	size_t n = 0;
	long long end = now_ms() + 3 * POLL_MS;

	while (n + 1 < len) {
		struct pollfd pfd = { .fd = fd, .events = POLLIN };
		long long left = end - now_ms();
		ssize_t r;

		if (left <= 0 || poll(&pfd, 1, (int)left) <= 0)
			return -ETIMEDOUT;
		r = read(fd, buf + n, 1);
		if (r <= 0)
			return -EPIPE;
		if (buf[n] == '\n') {
			buf[n] = '\0';
			return 0;
		}
		n++;
	}
	return -EMSGSIZE;
}

static void say(int fd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void say(int fd, const char *fmt, ...)
{
	char buf[128];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(buf, sizeof(buf) - 1, fmt, ap);
	va_end(ap);
	buf[n++] = '\n';
	if (write(fd, buf, (size_t)n) != n)
		return;
}

/* Client B: one small job on engine 0 once told, report when it is done. */
static int fair_b(const char *path, int in, int out)
{
	struct ugpu_cmdbuf cb;
	char line[64];
	uint64_t fence, ts;
	struct ctx c;
	int ret;

	ret = ctx_open(&c, path, 0);
	if (ret) {
		say(out, "error open %d", ret);
		return 1;
	}
	batch(&c, 0, &cb);
	ugpu_cmd_store_dword(&cb, VA_CTL + CTL_OUT * 4, 0xb);
	ugpu_cmd_timestamp(&cb, VA_CTL + CTL_TS * 4);
	say(out, "ready");
	if (readline_fd(in, line, sizeof(line)) || strcmp(line, "go"))
		return 1;
	ret = submit(&c, 0, &cb, 0, &fence);
	say(out, "submitted %d", ret);
	if (ret)
		return 1;
	ret = ugpu_wait(c.dev, fence, 4 * WAIT_NS);
	memcpy(&ts, (const void *)&c.ctl[CTL_TS], 8);
	say(out, "done %d %" PRIu64 " %#x", ret, ts, c.ctl[CTL_OUT]);
	if (readline_fd(in, line, sizeof(line)))
		return 1;
	ctx_close(&c);
	return 0;
}

static void scenario_fairness(const char *path)
{
	uint64_t fences[FAIR_JOBS], ts_b = 0, ts_last = 0;
	int to_b[2], from_b[2], st, ret, b_ret = -1;
	unsigned int b_out = 0;
	struct ugpu_cmdbuf cb;
	char line[128];
	uint32_t bo, v = 0;
	struct ctx c;
	pid_t pid;

	if (pipe2(to_b, O_CLOEXEC) || pipe2(from_b, O_CLOEXEC)) {
		expect(false, "fair: pipes", "%s", strerror(errno));
		return;
	}
	fflush(stdout);
	/* B forks before A opens anything: its own process and client. */
	pid = fork();
	if (pid == 0) {
		close(to_b[1]);
		close(from_b[0]);
		_exit(fair_b(path, to_b[0], from_b[1]));
	}
	close(to_b[0]);
	close(from_b[1]);
	if (pid < 0) {
		expect(false, "fair: fork", "%s", strerror(errno));
		close(to_b[1]);
		close(from_b[0]);
		return;
	}

	if (!ctx_open_ok(&c, path, 0, "fair A"))
		goto out_b;
	if (!expect_ret(ugpu_bo_create(c.dev, FAIR_BYTES, 0, &bo), 0, "fair A: 16 MiB BO") ||
	    !expect_ret(ugpu_vm_bind_bo(c.dev, c.vm, VA_BIG, bo, 0, FAIR_BYTES, 0), 0,
			"fair A: bind it"))
		goto out_a;
	/*
	 * Job 0 holds engine 0 until B's job is queued, so the order does not
	 * depend on how fast A's jobs run: when it is released, A has 63 fills
	 * and B one store queued; round-robin must run B's long before A's last.
	 */
	for (unsigned int i = 0; i < FAIR_JOBS; i++) {
		if (i == 0)
			batch_gated(&c, i, &cb, CTL_STARTED);
		else
			batch(&c, i, &cb);
		ugpu_cmd_fill(&cb, VA_BIG, FAIR_BYTES, i + 1);
		if (i == FAIR_JOBS - 1)
			ugpu_cmd_timestamp(&cb, VA_CTL + CTL_TS * 4);
		ret = submit(&c, i, &cb, 0, &fences[i]);
		if (ret)
			break;
	}
	if (!expect_ret(ret, 0, "fair A: submit 64 fills of 16 MiB on engine 0"))
		goto out_a;
	expect(poll_u32(&c.ctl[CTL_STARTED], 1), "fair A: first job holds engine 0",
	       "never started");
	if (readline_fd(from_b[0], line, sizeof(line)) || strcmp(line, "ready")) {
		expect(false, "fair B: ready", "got '%s'", line);
		goto out_a;
	}
	say(to_b[1], "go");
	if (readline_fd(from_b[0], line, sizeof(line)) ||
	    sscanf(line, "submitted %d", &b_ret) != 1 || b_ret) {
		expect(false, "fair B: submitted its job", "got '%s'", line);
		goto out_a;
	}
	ctl_set(&c, CTL_SEM, 1);
	if (readline_fd(from_b[0], line, sizeof(line)) ||
	    sscanf(line, "done %d %" SCNu64 " %x", &b_ret, &ts_b, &b_out) != 3) {
		expect(false, "fair B: its wait returned", "got '%s'", line);
		goto out_a;
	}
	/* Right after B's wait returned: A's last job must still be pending. */
	ret = ugpu_wait(c.dev, fences[FAIR_JOBS - 1], 0);
	expect_ret(ret, -ETIME, "fair: A's last job is not complete when B's returned");
	expect_ret(b_ret, 0, "fair B: its job completed");
	expect(b_out == 0xb, "fair B: its store landed", "got %#x", b_out);
	say(to_b[1], "bye");

	ret = 0;
	for (unsigned int i = 0; i < FAIR_JOBS && !ret; i++)
		ret = ugpu_wait(c.dev, fences[i], 4 * WAIT_NS);
	expect_ret(ret, 0, "fair A: every fill completes");
	memcpy(&ts_last, (const void *)&c.ctl[CTL_TS], 8);
	expect(ts_b && ts_last && ts_b < ts_last,
	       "fair: device clock: B's job ran before A's last",
	       "B at %" PRIu64 ", A's last at %" PRIu64, ts_b, ts_last);
	ret = ugpu_bo_pread(c.dev, bo, FAIR_BYTES - 4, &v, 4);
	expect(!ret && v == FAIR_JOBS, "fair A: the last fill's data", "pread %d value %u",
	       ret, v);
out_a:
	ctl_set(&c, CTL_SEM, 1);
	ctx_close(&c);
out_b:
	close(to_b[1]);		/* B sees EOF if it still waits for us */
	if (waitpid(pid, &st, 0) == pid)
		expect(WIFEXITED(st) && WEXITSTATUS(st) == 0, "fair B: exits cleanly",
		       "status %#x", st);
	close(from_b[0]);
}

/* ---- 7. quotas -------------------------------------------------------- */

/* ugpud --max-vms 2 --max-bos 3 --max-userptrs 4 --max-inflight 4
 *       --max-bound-bytes 16777216 --max-bo-bytes 8388608 */
static void scenario_quotas(const char *path)
{
	uint32_t vm2, vm3, b[4], big;
	uint64_t fences[5];
	struct ugpu_cmdbuf cb;
	uint8_t *buf, *huge;
	struct ctx c;
	int ret;

	/* The context holds 1 VM and 1 userptr of 64 KiB. */
	if (!ctx_open_ok(&c, path, 0, "quota"))
		return;
	buf = map_anon(8 * PAGE, MAP_PRIVATE);
	huge = mmap(NULL, (16ull << 20) + PAGE, PROT_READ | PROT_WRITE,
		    MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (!buf || huge == MAP_FAILED) {
		expect(false, "quota: mmap", "%s", strerror(errno));
		goto out;
	}

	/* VMs */
	expect_ret(ugpu_vm_create(c.dev, 0, &vm2), 0, "quota: 2nd VM");
	expect_quota(ugpu_vm_create(c.dev, 0, &vm3), "quota: 3rd VM over --max-vms 2");
	expect_ret(ugpu_vm_destroy(c.dev, vm2), 0, "quota: destroy a VM");
	if (expect_ret(ugpu_vm_create(c.dev, 0, &vm3), 0, "quota: destroying a VM frees quota"))
		ugpu_vm_destroy(c.dev, vm3);

	/* BO count */
	for (int i = 0; i < 3; i++)
		expect_ret(ugpu_bo_create(c.dev, PAGE, 0, &b[i]), 0, "quota: BOs up to 3");
	expect_quota(ugpu_bo_create(c.dev, PAGE, 0, &b[3]), "quota: 4th BO over --max-bos 3");
	expect_ret(ugpu_bo_destroy(c.dev, b[2]), 0, "quota: destroy a BO");
	expect_ret(ugpu_bo_create(c.dev, PAGE, 0, &b[2]), 0,
		   "quota: destroying a BO frees quota");
	for (int i = 0; i < 3; i++)
		ugpu_bo_destroy(c.dev, b[i]);

	/* BO bytes */
	expect_quota(ugpu_bo_create(c.dev, (8ull << 20) + PAGE, 0, &big),
		     "quota: BO bigger than --max-bo-bytes");
	if (!expect_ret(ugpu_bo_create(c.dev, 8ull << 20, 0, &big), 0,
			"quota: BO of exactly --max-bo-bytes"))
		goto out;
	expect_quota(ugpu_bo_create(c.dev, PAGE, 0, &b[0]),
		     "quota: one more page of BO memory over --max-bo-bytes");

	/* Bound bytes: 64 KiB bound already; 16 MiB in all. */
	expect_ret(ugpu_vm_bind_bo(c.dev, c.vm, VA_BIG, big, 0, 8ull << 20, 0), 0,
		   "quota: bind 8 MiB");
	expect_quota(ugpu_vm_bind_bo(c.dev, c.vm, VA_BIG2, big, 0, 8ull << 20, 0),
		     "quota: binding past 16 MiB in total");
	expect_ret(ugpu_vm_bind_bo(c.dev, c.vm, VA_BIG2, big, 0, (8ull << 20) - HOST_BYTES, 0),
		   0, "quota: binding up to exactly 16 MiB");
	expect_quota(ugpu_vm_bind_userptr(c.dev, c.vm, VA_UP, buf, PAGE, 0),
		     "quota: one more page of userptr past 16 MiB");
	expect_ret(ugpu_vm_unbind(c.dev, c.vm, VA_BIG2, PAGE), 0,
		   "quota: unbind one page of it");
	expect_ret(ugpu_vm_bind_userptr(c.dev, c.vm, VA_UP, buf, PAGE, 0), 0,
		   "quota: unbinding frees bound-bytes quota");
	expect_ret(ugpu_vm_unbind(c.dev, c.vm, VA_UP, PAGE), 0, "quota: unbind it again");
	expect_ret(ugpu_vm_unbind(c.dev, c.vm, VA_BIG, 8ull << 20), 0, "quota: unbind 8 MiB");
	expect_ret(ugpu_vm_unbind(c.dev, c.vm, VA_BIG2, 8ull << 20), 0,
		   "quota: unbind the rest");
	expect_quota(ugpu_vm_bind_userptr(c.dev, c.vm, VA_BIG, huge, (16ull << 20) + PAGE, 0),
		     "quota: one userptr bigger than --max-bound-bytes");
	expect_ret(ugpu_bo_destroy(c.dev, big), 0, "quota: destroy the big BO");
	expect_ret(ugpu_bo_create(c.dev, PAGE, 0, &b[0]), 0,
		   "quota: destroying a BO frees BO-bytes quota");
	ugpu_bo_destroy(c.dev, b[0]);

	/* Userptr count: the host area is one. */
	for (int i = 0; i < 3; i++)
		expect_ret(ugpu_vm_bind_userptr(c.dev, c.vm, VA_UP + i * 16 * PAGE, buf + i * PAGE,
						PAGE, 0), 0, "quota: userptrs up to 4");
	expect_quota(ugpu_vm_bind_userptr(c.dev, c.vm, VA_UP + 3 * 16 * PAGE, buf + 3 * PAGE,
					  PAGE, 0), "quota: 5th userptr over --max-userptrs 4");
	expect_ret(ugpu_vm_unbind(c.dev, c.vm, VA_UP, PAGE), 0, "quota: unbind a userptr");
	expect_ret(ugpu_vm_bind_userptr(c.dev, c.vm, VA_UP + 3 * 16 * PAGE, buf + 3 * PAGE,
					PAGE, 0), 0, "quota: unbinding frees userptr quota");
	for (int i = 1; i < 4; i++)
		ugpu_vm_unbind(c.dev, c.vm, VA_UP + i * 16 * PAGE, PAGE);

	/* Jobs in flight */
	for (unsigned int i = 0; i < 4; i++) {
		batch_gated(&c, i, &cb, CTL_STARTED + i);
		ugpu_cmd_store_dword(&cb, VA_CTL + (CTL_OUT + i) * 4, i + 1);
		ret = submit(&c, i, &cb, i % c.engines, &fences[i]);
		if (!expect_ret(ret, 0, "quota: 4 jobs held by a semaphore")) {
			ctl_set(&c, CTL_SEM, 1);
			goto out;
		}
	}
	batch(&c, 4, &cb);
	ugpu_cmd_store_dword(&cb, VA_CTL + (CTL_OUT + 4) * 4, 5);
	expect_quota(submit(&c, 4, &cb, 1, &fences[4]), "quota: 5th exec over --max-inflight 4");
	ctl_set(&c, CTL_SEM, 1);
	for (unsigned int i = 0; i < 4; i++)
		expect_ret(ugpu_wait(c.dev, fences[i], WAIT_NS), 0,
			   "quota: the held jobs complete after the release");
	batch(&c, 4, &cb);
	ugpu_cmd_store_dword(&cb, VA_CTL + (CTL_OUT + 4) * 4, 5);
	ret = submit(&c, 4, &cb, 1, &fences[4]);
	if (expect_ret(ret, 0, "quota: exec works again once they completed"))
		expect_ret(ugpu_wait(c.dev, fences[4], WAIT_NS), 0, "quota: ... and completes");
	for (unsigned int i = 0; i < 5; i++)
		expect(c.ctl[CTL_OUT + i] == i + 1, "quota: every job's store landed",
		       "job %u: %#x", i, c.ctl[CTL_OUT + i]);
out:
	if (buf)
		munmap(buf, 8 * PAGE);
	if (huge != MAP_FAILED)
		munmap(huge, (16ull << 20) + PAGE);
	ctx_close(&c);
}

/* ---- 8. the client's own protections ----------------------------------- */

static void scenario_readonly(const char *path, bool shared)
{
	const char *n = shared ? "ro-shared" : "ro-private";
	char check[160];
	struct ctx c;
	uint32_t *buf;

	if (!ctx_open_ok(&c, path, 0, n))
		return;
	buf = shared ? ugpu_host_alloc(c.dev, 2 * PAGE) : map_anon(2 * PAGE, MAP_PRIVATE);
	if (!buf) {
		expect(false, n, "allocation failed");
		goto out;
	}
	memset(buf, 0x33, 2 * PAGE);
	snprintf(check, sizeof(check), "%s: bind (writable)", n);
	if (!expect_ret(ugpu_vm_bind_userptr(c.dev, c.vm, VA_UP, buf, 2 * PAGE, 0), 0, check))
		goto out_free;
	snprintf(check, sizeof(check), "%s: a store works while writable", n);
	expect_ret(run_store(&c, 0, VA_UP, 0x1111), 0, check);
	snprintf(check, sizeof(check), "%s: ... and landed", n);
	expect(buf[0] == 0x1111, check, "got %#x", buf[0]);

	snprintf(check, sizeof(check), "%s: mprotect PROT_READ", n);
	expect_ret(mprotect(buf, 2 * PAGE, PROT_READ) ? -errno : 0, 0, check);
	snprintf(check, sizeof(check), "%s: a store into read-only memory faults", n);
	expect_ret(run_store(&c, 1, VA_UP + PAGE + 8, 0xdead), -EFAULT, check);
	snprintf(check, sizeof(check), "%s: ... and the memory is unchanged", n);
	expect_all(buf + PAGE / 4, PAGE, 0x33333333, check);
	snprintf(check, sizeof(check), "%s: the VM still runs jobs after the fault", n);
	expect_ret(run_store(&c, 2, VA_CTL + CTL_OUT * 4, 1), 0, check);
	snprintf(check, sizeof(check), "%s: reading read-only memory still works", n);
	{
		struct ugpu_cmdbuf cb;
		uint64_t fence;
		int ret;

		batch(&c, 3, &cb);
		ugpu_cmd_copy(&cb, VA_CTL + (CTL_OUT + 4) * 4, VA_UP + PAGE, 8);
		ret = submit(&c, 3, &cb, 0, &fence);
		if (!ret)
			ret = ugpu_wait(c.dev, fence, WAIT_NS);
		expect(!ret && c.ctl[CTL_OUT + 4] == 0x33333333, check, "ret %d value %#x",
		       ret, c.ctl[CTL_OUT + 4]);
	}

	snprintf(check, sizeof(check), "%s: mprotect PROT_READ|PROT_WRITE", n);
	expect_ret(mprotect(buf, 2 * PAGE, PROT_READ | PROT_WRITE) ? -errno : 0, 0, check);
	snprintf(check, sizeof(check), "%s: the store works again", n);
	expect_ret(run_store(&c, 4, VA_UP + PAGE + 8, 0xbeef), 0, check);
	snprintf(check, sizeof(check), "%s: ... and landed", n);
	expect(buf[PAGE / 4 + 2] == 0xbeef, check, "got %#x", buf[PAGE / 4 + 2]);

	snprintf(check, sizeof(check), "%s: mprotect PROT_NONE", n);
	expect_ret(mprotect(buf, 2 * PAGE, PROT_NONE) ? -errno : 0, 0, check);
	snprintf(check, sizeof(check), "%s: a store into PROT_NONE memory faults", n);
	expect_ret(run_store(&c, 5, VA_UP + 16, 0xdead), -EFAULT, check);
	mprotect(buf, 2 * PAGE, PROT_READ | PROT_WRITE);
	snprintf(check, sizeof(check), "%s: ... and the memory is unchanged", n);
	expect(buf[4] == 0x33333333, check, "got %#x", buf[4]);

	/* The bind flag, for comparison: the same range, READONLY. */
	snprintf(check, sizeof(check), "%s: bind the range READONLY elsewhere", n);
	if (expect_ret(ugpu_vm_bind_userptr(c.dev, c.vm, VA_UP2, buf, 2 * PAGE,
					    UGPU_BIND_READONLY), 0, check)) {
		snprintf(check, sizeof(check), "%s: a store through READONLY faults", n);
		expect_ret(run_store(&c, 6, VA_UP2 + 20, 0xdead), -EFAULT, check);
		snprintf(check, sizeof(check), "%s: ... and the memory is unchanged", n);
		expect(buf[5] == 0x33333333, check, "got %#x", buf[5]);
	}
out_free:
	if (shared)
		ugpu_host_free(c.dev, buf, 2 * PAGE);
	else
		munmap(buf, 2 * PAGE);
out:
	ctx_close(&c);
}

/* ---- 9. bind variants ------------------------------------------------- */

static void scenario_bind_variants(const char *path)
{
	uint32_t *buf, *buf2, bo, got[2] = { 0, 0 };
	struct ctx c;
	int ret;

	if (!ctx_open_ok(&c, path, 0, "split"))
		return;
	buf = map_anon(4 * PAGE, MAP_PRIVATE);
	buf2 = map_anon(PAGE, MAP_PRIVATE);
	if (!buf || !buf2 || ugpu_bo_create(c.dev, 4 * PAGE, 0, &bo)) {
		expect(false, "split: buffers", "mmap or BO create failed");
		goto out;
	}
	memset(buf2, 0, PAGE);
	if (!expect_ret(ugpu_vm_bind_userptr(c.dev, c.vm, VA_UP, buf, 4 * PAGE, 0), 0,
			"split: bind 4 pages of private memory") ||
	    !expect_ret(ugpu_vm_unbind(c.dev, c.vm, VA_UP + PAGE, 2 * PAGE), 0,
			"split: unbind the middle two pages"))
		goto out;
	expect_ret(run_store(&c, 0, VA_UP + 4, 0xa0), 0, "split: store into the kept head");
	expect_ret(run_store(&c, 1, VA_UP + 3 * PAGE + 4, 0xa3), 0,
		   "split: store into the kept tail");
	expect(buf[1] == 0xa0 && buf[3 * 1024 + 1] == 0xa3,
	       "split: both stores are in the client's pages at the right offsets",
	       "head %#x tail %#x", buf[1], buf[3 * 1024 + 1]);
	expect_ret(run_store(&c, 2, VA_UP + PAGE + 4, 0xdead), -EFAULT,
		   "split: a store into the hole faults");
	expect_ret(run_store(&c, 3, VA_UP + 2 * PAGE + 4, 0xdead), -EFAULT,
		   "split: a store into the hole's second page faults");
	expect_all(buf + 1024, 2 * PAGE, 0, "split: the hole's memory is unchanged");

	/* A new mapping in the hole. */
	expect_ret(ugpu_vm_bind_userptr(c.dev, c.vm, VA_UP + 2 * PAGE, buf2, PAGE, 0), 0,
		   "split: bind other memory into the hole");
	expect_ret(run_store(&c, 5, VA_UP + 2 * PAGE + 12, 0xc2), 0,
		   "split: store through the new piece");
	expect(buf2[3] == 0xc2 && buf[2 * 1024 + 3] == 0,
	       "split: it lands in the new memory only", "new %#x old %#x", buf2[3],
	       buf[2 * 1024 + 3]);

	/* A BO over the tail of the userptr mapping replaces it there. */
	expect_ret(ugpu_vm_bind_bo(c.dev, c.vm, VA_UP + 3 * PAGE, bo, 0, PAGE, 0), 0,
		   "split: bind a BO over the userptr's tail page");
	expect_ret(run_store(&c, 6, VA_UP + 3 * PAGE + 8, 0xb0), 0,
		   "split: store into the replaced page");
	ret = ugpu_bo_pread(c.dev, bo, 8, got, 4);
	expect(!ret && got[0] == 0xb0, "split: the store is in the BO", "pread %d value %#x",
	       ret, got[0]);
	expect(buf[3 * 1024 + 2] == 0, "split: ... not in the client's memory", "got %#x",
	       buf[3 * 1024 + 2]);
	expect_ret(run_store(&c, 7, VA_UP + 12, 0xa2), 0,
		   "split: the head still reaches the client's memory");
	expect(buf[3] == 0xa2, "split: ... and landed", "got %#x", buf[3]);

	/*
	 * The client may free what no GPU mapping covers any more: the
	 * pieces still bound are unaffected (nothing of the hole is needed).
	 */
	expect_ret(munmap(buf + 1024, PAGE) ? -errno : 0, 0,
		   "split: munmap client memory under the hole");
	expect_ret(run_store(&c, 4, VA_UP + 8, 0xa1), 0,
		   "split: the kept head still works after memory under the hole went away");
	expect(buf[2] == 0xa1, "split: ... and the store landed", "got %#x", buf[2]);
	expect_ret(run_store(&c, 9, VA_UP + 3 * PAGE + 12, 0xb1), 0,
		   "split: so does the BO piece");

	/* Unbind everything in one range spanning all the pieces. */
	expect_ret(ugpu_vm_unbind(c.dev, c.vm, VA_UP, 4 * PAGE), 0,
		   "split: unbind over all pieces");
	expect_ret(run_store(&c, 8, VA_UP + 16, 0xdead), -EFAULT,
		   "split: nothing is mapped there any more");
	expect(buf[4] == 0, "split: ... and nothing was written", "got %#x", buf[4]);
out:
	if (buf)
		munmap(buf, 4 * PAGE);
	if (buf2)
		munmap(buf2, PAGE);
	ctx_close(&c);
}

/* ---- 10. two clients -------------------------------------------------- */

static void scenario_isolation(const char *path)
{
	uint32_t a_vm2, a_bo[2], b_bo, v = 0;
	uint32_t *a_up, *b_up, *shared_vma = NULL;
	void *mem = NULL;
	struct ctx a, b;
	uint64_t fence;
	struct ugpu_cmdbuf cb;
	int ret;

	if (!ctx_open_ok(&a, path, 0, "iso A"))
		return;
	if (!ctx_open_ok(&b, path, 0, "iso B")) {
		ctx_close(&a);
		return;
	}
	/* Three pages, the middle one PROT_NONE: A's and B's in different VMAs. */
	mem = map_anon(3 * PAGE, MAP_PRIVATE);
	if (mem && mprotect((uint8_t *)mem + PAGE, PAGE, PROT_NONE))
		mem = NULL;
	a_up = mem;
	b_up = mem ? (uint32_t *)((uint8_t *)mem + 2 * PAGE) : NULL;
	if (!mem ||
	    !expect_ret(ugpu_vm_create(a.dev, 0, &a_vm2), 0, "iso A: 2nd VM") ||
	    !expect_ret(ugpu_bo_create(a.dev, PAGE, 0, &a_bo[0]), 0, "iso A: BO") ||
	    !expect_ret(ugpu_bo_create(a.dev, PAGE, 0, &a_bo[1]), 0, "iso A: 2nd BO") ||
	    !expect_ret(ugpu_bo_create(b.dev, PAGE, 0, &b_bo), 0, "iso B: BO"))
		goto out;
	note("iso: A has VMs %u,%u BOs %u,%u; B has VM %u BO %u", a.vm, a_vm2, a_bo[0],
	     a_bo[1], b.vm, b_bo);
	expect(a.vm == b.vm && a_bo[0] == b_bo, "iso: ids coincide between the clients",
	       "A vm %u bo %u, B vm %u bo %u", a.vm, a_bo[0], b.vm, b_bo);

	/* Ids only A has. */
	expect_ret(ugpu_bo_pread(b.dev, a_bo[1], 0, &v, 4), -ENOENT,
		   "iso B: pread of A's BO -> ENOENT");
	expect_ret(ugpu_vm_bind_bo(b.dev, b.vm, VA_BO, a_bo[1], 0, PAGE, 0), -ENOENT,
		   "iso B: bind of A's BO -> ENOENT");
	expect_ret(ugpu_vm_bind_bo(b.dev, a_vm2, VA_BO, b_bo, 0, PAGE, 0), -ENOENT,
		   "iso B: bind into A's VM -> ENOENT");
	expect_ret(ugpu_vm_bind_userptr(b.dev, a_vm2, VA_UP, b_up, PAGE, 0), -ENOENT,
		   "iso B: userptr bind into A's VM -> ENOENT");
	expect_ret(ugpu_vm_unbind(b.dev, a_vm2, VA_HOST, PAGE), -ENOENT,
		   "iso B: unbind in A's VM -> ENOENT");
	batch(&b, 0, &cb);
	ugpu_cmd_store_dword(&cb, VA_CTL + CTL_OUT * 4, 0xbad);
	ugpu_cmd_end(&cb);
	expect_ret(ugpu_exec(b.dev, a_vm2, 0, VA_SLOT(0), cb.len * 4, &fence), -ENOENT,
		   "iso B: exec on A's VM -> ENOENT");
	expect_ret(ugpu_bo_destroy(b.dev, a_bo[1]), -ENOENT,
		   "iso B: destroy of A's BO -> ENOENT");
	expect_ret(ugpu_vm_destroy(b.dev, a_vm2), -ENOENT,
		   "iso B: destroy of A's VM -> ENOENT");

	/* The same numbers name each client's own objects. */
	expect_ret(ugpu_vm_bind_bo(a.dev, a.vm, VA_BO, a_bo[0], 0, PAGE, 0), 0,
		   "iso A: bind its BO");
	expect_ret(ugpu_vm_bind_bo(b.dev, b.vm, VA_BO, b_bo, 0, PAGE, 0), 0,
		   "iso B: bind its BO (same ids)");
	expect_ret(ugpu_vm_bind_userptr(a.dev, a.vm, VA_UP, a_up, PAGE, 0), 0,
		   "iso A: bind its memory");
	expect_ret(ugpu_vm_bind_userptr(b.dev, b.vm, VA_UP, b_up, PAGE, 0), 0,
		   "iso B: bind its memory (same VA)");
	expect_ret(run_store(&b, 1, VA_BO, 0xbbbb), 0, "iso B: store into its BO");
	expect_ret(run_store(&b, 2, VA_UP, 0xbbb1), 0, "iso B: store into its memory");
	expect_ret(run_store(&a, 1, VA_UP + 4, 0xaaa1), 0, "iso A: store into its memory");
	ret = ugpu_bo_pread(b.dev, b_bo, 0, &v, 4);
	expect(!ret && v == 0xbbbb, "iso B: its BO has its data", "pread %d value %#x", ret, v);
	ret = ugpu_bo_pread(a.dev, a_bo[0], 0, &v, 4);
	expect(!ret && v == 0, "iso A: its BO with the same id is untouched",
	       "pread %d value %#x", ret, v);
	expect(b_up[0] == 0xbbb1 && a_up[0] == 0, "iso: B's store went to B's memory only",
	       "B %#x A %#x", b_up[0], a_up[0]);
	expect(a_up[1] == 0xaaa1 && b_up[1] == 0, "iso: A's store went to A's memory only",
	       "A %#x B %#x", a_up[1], b_up[1]);
	expect(b.ctl[CTL_OUT] == 0, "iso: B's refused exec wrote nothing", "got %#x",
	       b.ctl[CTL_OUT]);

	/*
	 * Two opens in one process are two clients of one address space:
	 * both may bind memory of the same VMA (two pages of one mapping).
	 */
	shared_vma = map_anon(2 * PAGE, MAP_PRIVATE);
	if (shared_vma) {
		memset(shared_vma, 0, 2 * PAGE);
		expect_ret(ugpu_vm_bind_userptr(a.dev, a.vm, VA_UP2, shared_vma, PAGE, 0), 0,
			   "iso A: bind a page of a mapping");
		expect_ret(ugpu_vm_bind_userptr(b.dev, b.vm, VA_UP2, shared_vma + 1024, PAGE, 0),
			   0, "iso B: bind the next page of the same mapping");
		expect_ret(run_store(&b, 3, VA_UP2, 0xb2), 0,
			   "iso B: store into its page of the shared mapping");
		expect(shared_vma[1024] == 0xb2 && shared_vma[0] == 0,
		       "iso: ... lands in B's page only", "B %#x A %#x", shared_vma[1024],
		       shared_vma[0]);
	}

	/* Destroying B's objects leaves A's with the same ids alone. */
	expect_ret(ugpu_vm_destroy(b.dev, b.vm), 0, "iso B: destroy its VM");
	expect_ret(ugpu_bo_destroy(b.dev, b_bo), 0, "iso B: destroy its BO");
	expect_ret(run_store(&a, 2, VA_BO, 0xaaaa), 0,
		   "iso A: its VM and BO with the same ids still work");
	ret = ugpu_bo_pread(a.dev, a_bo[0], 0, &v, 4);
	expect(!ret && v == 0xaaaa, "iso A: ... and hold its data", "pread %d value %#x", ret,
	       v);
out:
	ctx_close(&b);
	ctx_close(&a);
	if (mem)
		munmap(mem, 3 * PAGE);
	if (shared_vma)
		munmap(shared_vma, 2 * PAGE);
}

/* ---- main ------------------------------------------------------------- */

static void fault_replace(const char *p) { scenario_fault(p, FC_FAULT_REPLACE); }
static void nofault_replace(const char *p) { scenario_fault(p, FC_NOFAULT_REPLACE); }
static void fault_unmap(const char *p) { scenario_fault(p, FC_FAULT_UNMAP); }
static void ro_private(const char *p) { scenario_readonly(p, false); }
static void ro_shared(const char *p) { scenario_readonly(p, true); }

static const struct {
	const char *name;
	void (*fn)(const char *path);
} scenarios[] = {
	{ "sync-chain", scenario_sync_chain },
	{ "fault-replace", fault_replace },
	{ "nofault-replace", nofault_replace },
	{ "fault-unmap", fault_unmap },
	{ "invalidate-race", scenario_invalidate_race },
	{ "replace-revalidate", scenario_replace_revalidate },
	{ "replace-same-vma", scenario_replace_same_vma },
	{ "unrelated-mm", scenario_unrelated_mm },
	{ "exit-busy", scenario_exit_busy },
	{ "smoke", scenario_smoke },
	{ "fairness", scenario_fairness },
	{ "quotas", scenario_quotas },
	{ "readonly", ro_private },
	{ "readonly-shared", ro_shared },
	{ "bind-variants", scenario_bind_variants },
	{ "isolation", scenario_isolation },
};

int main(int argc, char **argv)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	signal(SIGPIPE, SIG_IGN);
	if (argc != 3) {
		fprintf(stderr, "usage: gpu_client <scenario> <device>\n");
		return 2;
	}
	for (size_t i = 0; i < sizeof(scenarios) / sizeof(scenarios[0]); i++) {
		if (strcmp(argv[1], scenarios[i].name))
			continue;
		scenarios[i].fn(argv[2]);
		return nfail ? 1 : 0;
	}
	fprintf(stderr, "gpu_client: unknown scenario '%s'\n", argv[1]);
	return 2;
}
