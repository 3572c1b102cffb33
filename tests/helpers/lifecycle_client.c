// SPDX-License-Identifier: MIT
/*
 * lifecycle_client: a real client process of ugpud for the daemon
 * lifecycle suite (tests/integration/lifecycle_test.c): it holds a job in
 * flight on a host-memory semaphore while the test SIGTERMs or SIGKILLs
 * the daemon, and checks what every call then returns; it also serves as
 * the "new client works" probe after a restart and counts VMs under a
 * reloaded quota. Usage: `lifecycle_client <scenario> <device> [N]`.
 * Every check prints `ok <check>` or `not ok <check>: <detail>` (`#`
 * lines are notes); protocol lines (`ready`, `released`, `waited <ret>`,
 * `done`) tell the test where the scenario is, and the scenario then
 * reads its next step (`release`, `check`, `go`, `gone`) from stdin. The
 * program exits 1 if any check failed (tests/helpers/lib/client_common.h).
 * Nothing asserts on time: every wait is for a state, bounded by a
 * generous limit.
 */
#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "libclient/ugpu.h"
#include "tests/helpers/lib/client_common.h"

#define VA_PROBE	0x07000000ull	/* never bound: unbinding it probes */
#define UP_BYTES	(16 * PAGE)
#define HELD_SLOT	0		/* the held job's batch: never reused */
#define CTL_HELD_OUT	16		/* the held job writes MAGIC here at its end */

/* ---- reporting --------------------------------------------------------- */

/* API.md, "daemon gone": either. */
static bool expect_gone(int got, const char *check)
{
	return cc_expect(got == -ENODEV || got == -ENOTCONN, check,
			 "got %d (%s), want -ENODEV or -ENOTCONN", got, cc_ename(got));
}

/* Refused while draining, or already gone. */
static bool expect_refused(int got, const char *check)
{
	return cc_expect(got == -ESHUTDOWN || got == -ENODEV || got == -ENOTCONN, check,
			 "got %d (%s), want -ESHUTDOWN, -ENODEV or -ENOTCONN", got,
			 cc_ename(got));
}

/* Read the test's next step from stdin; false (reported) if it is another. */
static bool step(const char *want)
{
	char line[128];

	if (!fgets(line, sizeof(line), stdin))
		return cc_expect(false, want, "stdin closed before '%s'", want);
	line[strcspn(line, "\n")] = '\0';
	if (strcmp(line, want))
		return cc_expect(false, want, "got step '%s', want '%s'", line, want);
	return true;
}

/* ---- jobs: short ones, and the held one -------------------------------- */

/* A fresh slot for a short job (the held job's slot is never handed out). */
static unsigned int take_slot(void)
{
	static unsigned int next = HELD_SLOT + 1;
	unsigned int s = next;

	next = s + 1 < NSLOTS ? s + 1 : HELD_SLOT + 1;
	return s;
}

/* One STORE_DWORD job; *fence receives its point. */
static int exec_store(struct cc_ctx *c, uint64_t va, uint32_t value, uint64_t *fence)
{
	unsigned int s = take_slot();
	struct ugpu_cmdbuf cb;

	cc_batch(c, s, &cb);
	ugpu_cmd_store_dword(&cb, va, value);
	return cc_submit(c, s, &cb, 0, fence);
}

static int run_store(struct cc_ctx *c, uint64_t va, uint32_t value)
{
	uint64_t fence;
	int ret = exec_store(c, va, value, &fence);

	return ret ? ret : ugpu_wait(c->dev, fence, WAIT_NS);
}

/*
 * The held job: waits until CTL_SEM is 1, then writes MAGIC to
 * CTL_HELD_OUT. Only the CPU ends it (or cancellation, or a hang).
 */
static int exec_held(struct cc_ctx *c, uint64_t *fence)
{
	struct ugpu_cmdbuf cb;

	c->ctl[CTL_SEM] = 0;
	c->ctl[CTL_HELD_OUT] = 0;
	cc_batch(c, HELD_SLOT, &cb);
	ugpu_cmd_semaphore_wait(&cb, VA_HOST + CTL_SEM * 4, UGPU_SEM_EQ, 1);
	ugpu_cmd_store_dword(&cb, VA_HOST + CTL_HELD_OUT * 4, MAGIC);
	return cc_submit(c, HELD_SLOT, &cb, 0, fence);
}

static void release_held(struct cc_ctx *c)
{
	cc_ctl_set(c, CTL_SEM, 1);
}

/*
 * Poll until a call that only a draining daemon refuses is refused:
 * unbinding a range never bound. Return the last result.
 */
static int wait_draining(struct cc_ctx *c)
{
	long long end = cc_now_ms() + POLL_MS;
	int ret;

	for (;;) {
		ret = ugpu_vm_unbind(c->dev, c->vm, VA_PROBE, PAGE);
		if (ret == -ESHUTDOWN || ret == -ENODEV || ret == -ENOTCONN ||
		    cc_now_ms() > end)
			return ret;
		cc_nap();
	}
}

/* ---- a thread blocked in ugpu_wait ------------------------------------- */

struct waiter {
	struct ugpu *dev;
	uint64_t fence;
	int64_t timeout_ns;
	pthread_t thread;
	pid_t tid;			/* set by the thread, atomic */
	int ret;			/* valid once done */
	int done;			/* atomic */
};

static void *waiter_main(void *arg)
{
	struct waiter *w = arg;

	__atomic_store_n(&w->tid, (pid_t)syscall(SYS_gettid), __ATOMIC_RELEASE);
	w->ret = ugpu_wait(w->dev, w->fence, w->timeout_ns);
	__atomic_store_n(&w->done, 1, __ATOMIC_RELEASE);
	return NULL;
}

/*
 * Start a thread that waits on @fence, and return once it is blocked in
 * the wait ioctl (so the daemon has the request before anything else
 * happens), or false after POLL_MS.
 */
static bool waiter_start(struct waiter *w, struct ugpu *dev, uint64_t fence,
			 int64_t timeout_ns)
{
	long long end = cc_now_ms() + POLL_MS;
	pid_t tid;

	memset(w, 0, sizeof(*w));
	w->dev = dev;
	w->fence = fence;
	w->timeout_ns = timeout_ns;
	if (pthread_create(&w->thread, NULL, waiter_main, w))
		return false;
	for (;;) {
		tid = __atomic_load_n(&w->tid, __ATOMIC_ACQUIRE);
		if (tid && cc_in_ioctl(tid, -1))
			return true;
		if (__atomic_load_n(&w->done, __ATOMIC_ACQUIRE) || cc_now_ms() > end)
			return false;
		cc_nap();
	}
}

/* Wait (bounded) for the waiter to return; false if it did not. */
static bool waiter_join(struct waiter *w, int timeout_ms)
{
	long long end = cc_now_ms() + timeout_ms;

	while (!__atomic_load_n(&w->done, __ATOMIC_ACQUIRE)) {
		if (cc_now_ms() > end)
			return false;	/* left blocked: the process exit ends it */
		cc_nap();
	}
	pthread_join(w->thread, NULL);
	return true;
}

/* Open, hold a job, block a thread in its wait; say `ready`. */
static bool hold_ready(struct cc_ctx *c, const char *path, struct waiter *w,
		       int64_t timeout_ns, uint64_t *fence)
{
	if (!cc_ctx_open_ok(c, path, 0, NULL))
		return false;
	if (!cc_expect_ret(run_store(c, VA_HOST + CTL_OUT * 4, MAGIC), 0,
			   "a store job completes") ||
	    !cc_expect(c->ctl[CTL_OUT] == MAGIC, "the store is visible", "read %#x",
		       c->ctl[CTL_OUT]))
		return false;
	if (!cc_expect_ret(exec_held(c, fence), 0, "submit a job held on a semaphore"))
		return false;
	if (w && !cc_expect(waiter_start(w, c->dev, *fence, timeout_ns),
			    "a thread is blocked in ugpu_wait on the held job",
			    "it never entered the ioctl (done %d, ret %d)", w->done, w->ret))
		return false;
	printf("ready\n");
	return true;
}

/* After the daemon exited: the device answers nothing. */
static void check_gone(struct cc_ctx *c, const char *who)
{
	struct ugpu_info info;
	uint32_t id;
	char check[96];

	snprintf(check, sizeof(check), "%s: ugpu_query", who);
	expect_gone(ugpu_query(c->dev, &info), check);
	snprintf(check, sizeof(check), "%s: ugpu_vm_create", who);
	expect_gone(ugpu_vm_create(c->dev, 0, &id), check);
}

/* ---- scenarios ---------------------------------------------------------- */

/*
 * SIGTERM with a job in flight that the client then lets finish: the
 * waiting thread gets 0, the job's store is there.
 */
static void sc_drain_finish(const char *path)
{
	struct waiter w;
	struct cc_ctx c;
	uint64_t fence;

	if (!hold_ready(&c, path, &w, -1, &fence))
		return;
	if (!step("release"))
		return;
	cc_expect_ret(wait_draining(&c), -ESHUTDOWN, "the daemon is draining (a bind is refused)");
	release_held(&c);
	if (cc_expect(waiter_join(&w, POLL_MS), "ugpu_wait returns once released",
		      "still blocked after %d ms", POLL_MS))
		cc_expect_ret(w.ret, 0, "the held job completed (wait = 0)");
	cc_expect(c.ctl[CTL_HELD_OUT] == MAGIC, "the held job's store is visible", "read %#x",
		  c.ctl[CTL_HELD_OUT]);
	printf("released\n");
	if (!step("gone"))
		return;
	check_gone(&c, "after exit");
	cc_ctx_close(&c);
}

/*
 * SIGTERM with a job that never finishes: the waiting thread gets an
 * error (the test checks which and how soon, from the `waited` line).
 */
static void sc_drain_hang(const char *path)
{
	struct waiter w;
	struct cc_ctx c;
	uint64_t fence;
	bool ended;

	if (!hold_ready(&c, path, &w, 30 * SEC, &fence))
		return;
	ended = waiter_join(&w, 3 * POLL_MS);
	if (!cc_expect(ended, "ugpu_wait returns after SIGTERM", "still blocked after %d ms",
		       3 * POLL_MS))
		return;
	printf("waited %d\n", w.ret);
	cc_note("ugpu_wait on the never-ending job returned %d (%s)", w.ret, cc_ename(w.ret));
	cc_expect(w.ret == -ECANCELED || w.ret == -EIO || w.ret == -ENODEV || w.ret == -ENOTCONN,
		  "the wait reports the job did not complete",
		  "got %d (%s), want -ECANCELED, -EIO, -ENODEV or -ENOTCONN", w.ret,
		  cc_ename(w.ret));
	cc_expect(c.ctl[CTL_HELD_OUT] == 0, "the cancelled job wrote nothing", "read %#x",
		  c.ctl[CTL_HELD_OUT]);
	if (!step("gone"))
		return;
	check_gone(&c, "after exit");
	cc_ctx_close(&c);
}

/*
 * While draining, new work is refused. The held job then still completes:
 * proof that the refusals came from a draining daemon, not a gone one.
 */
static void sc_drain_refuse(const char *path)
{
	struct waiter w;
	struct cc_ctx c;
	uint64_t fence, f2;
	uint32_t bo;
	uint8_t *up;
	int ret;

	if (!cc_ctx_open_ok(&c, path, 0, NULL))
		return;
	if (!cc_expect_ret(ugpu_bo_create(c.dev, PAGE, 0, &bo), 0, "create a BO"))
		return;
	up = mmap(NULL, UP_BYTES, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (!cc_expect(up != MAP_FAILED, "mmap userptr memory", "%s", strerror(errno)))
		return;
	memset(up, 0, UP_BYTES);
	/* The same calls are accepted before the signal. */
	cc_expect_ret(ugpu_vm_bind_userptr(c.dev, c.vm, VA_UP, up, UP_BYTES, 0), 0,
		      "before SIGTERM: bind userptr");
	cc_expect_ret(ugpu_vm_bind_bo(c.dev, c.vm, VA_BO, bo, 0, PAGE, 0), 0,
		      "before SIGTERM: bind BO");
	cc_expect_ret(run_store(&c, VA_UP, MAGIC), 0, "before SIGTERM: exec");
	if (!cc_expect_ret(exec_held(&c, &fence), 0, "submit a job held on a semaphore"))
		return;
	if (!cc_expect(waiter_start(&w, c.dev, fence, -1),
		       "a thread is blocked in ugpu_wait on the held job",
		       "it never entered the ioctl (done %d, ret %d)", w.done, w.ret))
		return;
	printf("ready\n");
	if (!step("check"))
		return;
	ret = wait_draining(&c);
	cc_note("draining: unbind returned %d (%s)", ret, cc_ename(ret));
	expect_refused(ret, "draining: ugpu_vm_unbind");
	expect_refused(exec_store(&c, VA_UP, 1, &f2), "draining: ugpu_exec");
	expect_refused(ugpu_vm_bind_userptr(c.dev, c.vm, VA_UP2, up, PAGE, 0),
		       "draining: ugpu_vm_bind_userptr");
	expect_refused(ugpu_vm_bind_bo(c.dev, c.vm, VA_BO + 16 * PAGE, bo, 0, PAGE, 0),
		       "draining: ugpu_vm_bind_bo");
	cc_expect(*(volatile uint32_t *)up == MAGIC, "a refused exec wrote nothing",
		  "read %#x", *(volatile uint32_t *)up);
	/* Let the drain end: the daemon may exit as soon as the job is done. */
	release_held(&c);
	if (cc_expect(waiter_join(&w, POLL_MS), "ugpu_wait returns once released",
		      "still blocked after %d ms", POLL_MS))
		cc_expect_ret(w.ret, 0,
			      "the held job completes after the refusals (still draining)");
	printf("done\n");
	munmap(up, UP_BYTES);
	cc_ctx_close(&c);
}

/*
 * SIGKILL of the daemon while this client has a bound userptr and a
 * thread blocked in a wait: every call fails promptly, munmap returns.
 */
static void sc_crash(const char *path)
{
	struct ugpu_info info;
	struct waiter w;
	struct cc_ctx c;
	uint64_t fence, f2, done_fence;
	uint32_t id, bo;
	uint8_t *up;

	if (!cc_ctx_open_ok(&c, path, 0, NULL))
		return;
	up = mmap(NULL, UP_BYTES, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (!cc_expect(up != MAP_FAILED, "mmap userptr memory", "%s", strerror(errno)))
		return;
	memset(up, 0, UP_BYTES);
	if (!cc_expect_ret(ugpu_vm_bind_userptr(c.dev, c.vm, VA_UP, up, UP_BYTES, 0), 0,
			   "bind a userptr"))
		return;
	if (!cc_expect_ret(ugpu_bo_create(c.dev, PAGE, 0, &bo), 0, "create a BO"))
		return;
	if (!cc_expect_ret(exec_store(&c, VA_UP + PAGE, MAGIC, &done_fence), 0,
			   "submit a store into it") ||
	    !cc_expect_ret(ugpu_wait(c.dev, done_fence, WAIT_NS), 0, "the store completes"))
		return;
	cc_expect(((volatile uint32_t *)up)[PAGE / 4] == MAGIC, "the store is visible",
		  "read %#x", ((volatile uint32_t *)up)[PAGE / 4]);
	if (!cc_expect_ret(exec_held(&c, &fence), 0, "submit a job held on a semaphore"))
		return;
	if (!cc_expect(waiter_start(&w, c.dev, fence, -1),
		       "a thread is blocked in ugpu_wait on the held job",
		       "it never entered the ioctl (done %d, ret %d)", w.done, w.ret))
		return;
	printf("ready\n");
	if (!step("go"))
		return;
	if (cc_expect(waiter_join(&w, POLL_MS), "the blocked ugpu_wait returns",
		      "still blocked after %d ms", POLL_MS))
		expect_gone(w.ret, "the blocked ugpu_wait");
	expect_gone(ugpu_query(c.dev, &info), "ugpu_query");
	expect_gone(ugpu_vm_create(c.dev, 0, &id), "ugpu_vm_create");
	expect_gone(ugpu_bo_create(c.dev, PAGE, 0, &id), "ugpu_bo_create");
	expect_gone(ugpu_vm_bind_userptr(c.dev, c.vm, VA_UP2, up, PAGE, 0),
		    "ugpu_vm_bind_userptr");
	expect_gone(ugpu_vm_unbind(c.dev, c.vm, VA_UP, UP_BYTES), "ugpu_vm_unbind");
	expect_gone(exec_store(&c, VA_UP, 1, &f2), "ugpu_exec");
	expect_gone(ugpu_wait(c.dev, fence, 0), "ugpu_wait (poll) on the held job");
	expect_gone(ugpu_wait(c.dev, fence, -1), "ugpu_wait (forever) on the held job");
	expect_gone(ugpu_bo_pwrite(c.dev, bo, 0, up, PAGE), "ugpu_bo_pwrite");
	expect_gone(ugpu_bo_pread(c.dev, bo, 0, up, PAGE), "ugpu_bo_pread");
	expect_gone(ugpu_bo_destroy(c.dev, bo), "ugpu_bo_destroy");
	/* Even a job the completion page reports done: every call fails. */
	expect_gone(ugpu_wait(c.dev, done_fence, 0),
		    "ugpu_wait on a job that completed before the crash");
	expect_gone(ugpu_vm_destroy(c.dev, c.vm), "ugpu_vm_destroy");
	cc_expect_ret(munmap(up, UP_BYTES) ? -errno : 0, 0, "munmap of the bound range returns");
	cc_ctx_close(&c);
	cc_expect(true, "ugpu_close returns", "%s", "");
	printf("done\n");
}

/* A new client works: bind, store, wait = 0, on host and private memory. */
static void sc_smoke(const char *path)
{
	struct cc_ctx c;
	uint8_t *up;

	if (!cc_ctx_open_ok(&c, path, 0, NULL))
		return;
	cc_expect_ret(run_store(&c, VA_HOST + CTL_OUT * 4, MAGIC), 0, "store into host memory");
	cc_expect(c.ctl[CTL_OUT] == MAGIC, "the store is visible", "read %#x", c.ctl[CTL_OUT]);
	up = mmap(NULL, UP_BYTES, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (!cc_expect(up != MAP_FAILED, "mmap userptr memory", "%s", strerror(errno)))
		goto out;
	memset(up, 0, UP_BYTES);
	if (cc_expect_ret(ugpu_vm_bind_userptr(c.dev, c.vm, VA_UP, up, UP_BYTES, 0), 0,
			  "bind a private userptr")) {
		cc_expect_ret(run_store(&c, VA_UP + 8, MAGIC + 1), 0, "store into the userptr");
		cc_expect(((volatile uint32_t *)up)[2] == MAGIC + 1, "the userptr store is visible",
			  "read %#x", ((volatile uint32_t *)up)[2]);
	}
	munmap(up, UP_BYTES);
out:
	cc_ctx_close(&c);
}

/* Create VMs until refused; return how many, *err the refusal (or 0). */
static int count_vms(struct ugpu *dev, int max, int *err)
{
	uint32_t vm;
	int n = 0;

	*err = 0;
	while (n < max) {
		*err = ugpu_vm_create(dev, 0, &vm);
		if (*err)
			break;
		n++;
	}
	return n;
}

/*
 * Exactly @want VMs, the next one over quota. With @retry, fresh clients
 * try until the quota reaches @want (the daemon rereads it on SIGHUP,
 * asynchronously); it never goes down in these tests.
 */
static void sc_vms(const char *path, int want, bool retry)
{
	long long end = cc_now_ms() + POLL_MS;
	struct ugpu *dev;
	char check[96];
	int n, err, ret;

	for (;;) {
		ret = ugpu_open(path, &dev);
		if (ret) {
			cc_expect_ret(ret, 0, "open");
			return;
		}
		n = count_vms(dev, want + 1, &err);
		if (!retry || n >= want || cc_now_ms() > end)
			break;
		ugpu_close(dev);
		cc_nap();
	}
	cc_note("created %d VMs, then %d (%s)", n, err, cc_ename(err));
	snprintf(check, sizeof(check), "a client creates %d VMs", want);
	cc_expect(n >= want, check, "only %d (then %d, %s)", n, err, cc_ename(err));
	snprintf(check, sizeof(check), "VM %d is refused", want + 1);
	if (cc_expect(n <= want, check, "created %d", n)) {
		snprintf(check, sizeof(check), "VM %d: over the quota", want + 1);
		cc_expect_quota(err, check);
	}
	ugpu_close(dev);
}

/* N, the argument of vms and vms-reload: without it, a usage error. */
static int arg_n(void)
{
	if (!cc_arg) {
		fprintf(stderr, "lifecycle_client: vms and vms-reload need N\n");
		_exit(2);
	}
	return atoi(cc_arg);
}

static void sc_vms_now(const char *path)
{
	sc_vms(path, arg_n(), false);
}

static void sc_vms_reload(const char *path)
{
	sc_vms(path, arg_n(), true);
}

static const struct cc_scenario scenarios[] = {
	{ "drain-finish", sc_drain_finish },
	{ "drain-hang", sc_drain_hang },
	{ "drain-refuse", sc_drain_refuse },
	{ "crash", sc_crash },
	{ "smoke", sc_smoke },
	{ "vms", sc_vms_now },
	{ "vms-reload", sc_vms_reload },
};

int main(int argc, char **argv)
{
	int ret = cc_main(argc, argv, scenarios, sizeof(scenarios) / sizeof(scenarios[0]));

	/* Threads left blocked (a failed check) must not keep us alive. */
	_exit(ret);
}
