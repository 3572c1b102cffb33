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
 * program exits 1 if any check failed. Nothing asserts on time: every
 * wait is for a state, bounded by a generous limit.
 */
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "libclient/ugpu.h"

#define PAGE		4096ull
#define SEC		1000000000ll
#define WAIT_NS		(20 * SEC)	/* a job that should end: generous */
#define POLL_MS		10000		/* a state we wait for from the CPU */

/* GPU VAs: the host area (control page, then batch slots) and a userptr. */
#define VA_HOST		0x00100000ull
#define VA_UP		0x04000000ull
#define VA_UP2		0x05000000ull
#define VA_BO		0x06000000ull
#define VA_PROBE	0x07000000ull	/* never bound: unbinding it probes */

#define HOST_BYTES	(16 * PAGE)
#define UP_BYTES	(16 * PAGE)
#define SLOT_BYTES	256u
#define NSLOTS		((HOST_BYTES - PAGE) / SLOT_BYTES)
#define HELD_SLOT	0		/* the held job's batch: never reused */

/* Control dwords (index into the control page). */
#define CTL_SEM		0		/* the held job waits for it to become 1 */
#define CTL_HELD_OUT	16		/* the held job writes MAGIC here at its end */
#define CTL_OUT		64

#define MAGIC		0x600dcafeu

static int nfail;

/* ---- reporting --------------------------------------------------------- */

static bool expect(bool good, const char *check, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static bool expect(bool good, const char *check, const char *fmt, ...)
{
	va_list ap;

	if (good) {
		printf("ok %s\n", check);
		return true;
	}
	nfail++;
	printf("not ok %s: ", check);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	return false;
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

/* API.md, "daemon gone": either. */
static bool expect_gone(int got, const char *check)
{
	return expect(got == -ENODEV || got == -ENOTCONN, check,
		      "got %d (%s), want -ENODEV or -ENOTCONN", got, ename(got));
}

/* Refused while draining, or already gone. */
static bool expect_refused(int got, const char *check)
{
	return expect(got == -ESHUTDOWN || got == -ENODEV || got == -ENOTCONN, check,
		      "got %d (%s), want -ESHUTDOWN, -ENODEV or -ENOTCONN", got, ename(got));
}

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

/* Read the test's next step from stdin; false (reported) if it is another. */
static bool step(const char *want)
{
	char line[128];

	if (!fgets(line, sizeof(line), stdin))
		return expect(false, want, "stdin closed before '%s'", want);
	line[strcspn(line, "\n")] = '\0';
	if (strcmp(line, want))
		return expect(false, want, "got step '%s', want '%s'", line, want);
	return true;
}

static long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000ll + ts.tv_nsec / 1000000;
}

static void nap(void)
{
	struct timespec d = { 0, 1000000 };

	nanosleep(&d, NULL);
}

/* ---- a client: VM, control page, batch slots --------------------------- */

struct ctx {
	struct ugpu *dev;
	uint32_t vm;
	uint8_t *host;			/* HOST_BYTES at VA_HOST */
	volatile uint32_t *ctl;
	unsigned int next_slot;
};

static int ctx_open(struct ctx *c, const char *path)
{
	int ret;

	memset(c, 0, sizeof(*c));
	c->next_slot = HELD_SLOT + 1;
	ret = ugpu_open(path, &c->dev);
	if (ret)
		return ret;
	ret = ugpu_vm_create(c->dev, 0, &c->vm);
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
		goto err_host;
	return 0;

err_host:
	ugpu_host_free(c->dev, c->host, HOST_BYTES);
	c->host = NULL;
err:
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

static uint64_t slot_va(unsigned int slot)
{
	return VA_HOST + PAGE + (uint64_t)slot * SLOT_BYTES;
}

static void slot_init(struct ctx *c, unsigned int slot, struct ugpu_cmdbuf *cb)
{
	ugpu_cmd_init(cb, c->host + PAGE + (size_t)slot * SLOT_BYTES, SLOT_BYTES);
}

/* A fresh slot for a short job (the held job's slot is never handed out). */
static unsigned int take_slot(struct ctx *c)
{
	unsigned int s = c->next_slot;

	c->next_slot = s + 1 < NSLOTS ? s + 1 : HELD_SLOT + 1;
	return s;
}

/* One STORE_DWORD job; *fence receives its point. */
static int exec_store(struct ctx *c, uint64_t va, uint32_t value, uint64_t *fence)
{
	unsigned int s = take_slot(c);
	struct ugpu_cmdbuf cb;

	slot_init(c, s, &cb);
	ugpu_cmd_store_dword(&cb, va, value);
	if (ugpu_cmd_end(&cb))
		return -ENOSPC;
	return ugpu_exec(c->dev, c->vm, 0, slot_va(s), cb.len * 4, fence);
}

static int run_store(struct ctx *c, uint64_t va, uint32_t value)
{
	uint64_t fence;
	int ret = exec_store(c, va, value, &fence);

	return ret ? ret : ugpu_wait(c->dev, fence, WAIT_NS);
}

/*
 * The held job: waits until CTL_SEM is 1, then writes MAGIC to
 * CTL_HELD_OUT. Only the CPU ends it (or cancellation, or a hang).
 */
static int exec_held(struct ctx *c, uint64_t *fence)
{
	struct ugpu_cmdbuf cb;

	c->ctl[CTL_SEM] = 0;
	c->ctl[CTL_HELD_OUT] = 0;
	slot_init(c, HELD_SLOT, &cb);
	ugpu_cmd_semaphore_wait(&cb, VA_HOST + CTL_SEM * 4, UGPU_SEM_EQ, 1);
	ugpu_cmd_store_dword(&cb, VA_HOST + CTL_HELD_OUT * 4, MAGIC);
	if (ugpu_cmd_end(&cb))
		return -ENOSPC;
	return ugpu_exec(c->dev, c->vm, 0, slot_va(HELD_SLOT), cb.len * 4, fence);
}

static void release_held(struct ctx *c)
{
	__atomic_store_n(&c->ctl[CTL_SEM], 1, __ATOMIC_RELEASE);
}

/*
 * Poll until a call that only a draining daemon refuses is refused:
 * unbinding a range never bound. Return the last result.
 */
static int wait_draining(struct ctx *c)
{
	long long end = now_ms() + POLL_MS;
	int ret;

	for (;;) {
		ret = ugpu_vm_unbind(c->dev, c->vm, VA_PROBE, PAGE);
		if (ret == -ESHUTDOWN || ret == -ENODEV || ret == -ENOTCONN ||
		    now_ms() > end)
			return ret;
		nap();
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

/* The system call thread @tid is blocked in, or -1. */
static long task_syscall(pid_t tid)
{
	char path[64], buf[64];
	long nr = -1;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/self/task/%d/syscall", (int)tid);
	f = fopen(path, "re");
	if (!f)
		return -1;
	if (fgets(buf, sizeof(buf), f) && buf[0] >= '0' && buf[0] <= '9')
		nr = strtol(buf, NULL, 10);
	fclose(f);
	return nr;
}

/*
 * Start a thread that waits on @fence, and return once it is blocked in
 * the wait ioctl (so the daemon has the request before anything else
 * happens), or false after POLL_MS.
 */
static bool waiter_start(struct waiter *w, struct ugpu *dev, uint64_t fence,
			 int64_t timeout_ns)
{
	long long end = now_ms() + POLL_MS;
	pid_t tid;

	memset(w, 0, sizeof(*w));
	w->dev = dev;
	w->fence = fence;
	w->timeout_ns = timeout_ns;
	if (pthread_create(&w->thread, NULL, waiter_main, w))
		return false;
	for (;;) {
		tid = __atomic_load_n(&w->tid, __ATOMIC_ACQUIRE);
		if (tid && task_syscall(tid) == SYS_ioctl)
			return true;
		if (__atomic_load_n(&w->done, __ATOMIC_ACQUIRE) || now_ms() > end)
			return false;
		nap();
	}
}

/* Wait (bounded) for the waiter to return; false if it did not. */
static bool waiter_join(struct waiter *w, int timeout_ms)
{
	long long end = now_ms() + timeout_ms;

	while (!__atomic_load_n(&w->done, __ATOMIC_ACQUIRE)) {
		if (now_ms() > end)
			return false;	/* left blocked: the process exit ends it */
		nap();
	}
	pthread_join(w->thread, NULL);
	return true;
}

/* Open, hold a job, block a thread in its wait; say `ready`. */
static bool hold_ready(struct ctx *c, const char *path, struct waiter *w,
		       int64_t timeout_ns, uint64_t *fence)
{
	if (!expect_ret(ctx_open(c, path), 0, "open, VM, host memory bound"))
		return false;
	if (!expect_ret(run_store(c, VA_HOST + CTL_OUT * 4, MAGIC), 0, "a store job completes") ||
	    !expect(c->ctl[CTL_OUT] == MAGIC, "the store is visible", "read %#x",
		    c->ctl[CTL_OUT]))
		return false;
	if (!expect_ret(exec_held(c, fence), 0, "submit a job held on a semaphore"))
		return false;
	if (w && !expect(waiter_start(w, c->dev, *fence, timeout_ns),
			 "a thread is blocked in ugpu_wait on the held job",
			 "it never entered the ioctl (done %d, ret %d)", w->done, w->ret))
		return false;
	printf("ready\n");
	return true;
}

/* After the daemon exited: the device answers nothing. */
static void check_gone(struct ctx *c, const char *who)
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
	struct ctx c;
	uint64_t fence;

	if (!hold_ready(&c, path, &w, -1, &fence))
		return;
	if (!step("release"))
		return;
	expect_ret(wait_draining(&c), -ESHUTDOWN, "the daemon is draining (a bind is refused)");
	release_held(&c);
	if (expect(waiter_join(&w, POLL_MS), "ugpu_wait returns once released",
		   "still blocked after %d ms", POLL_MS))
		expect_ret(w.ret, 0, "the held job completed (wait = 0)");
	expect(c.ctl[CTL_HELD_OUT] == MAGIC, "the held job's store is visible", "read %#x",
	       c.ctl[CTL_HELD_OUT]);
	printf("released\n");
	if (!step("gone"))
		return;
	check_gone(&c, "after exit");
	ctx_close(&c);
}

/*
 * SIGTERM with a job that never finishes: the waiting thread gets an
 * error (the test checks which and how soon, from the `waited` line).
 */
static void sc_drain_hang(const char *path)
{
	struct waiter w;
	struct ctx c;
	uint64_t fence;
	bool ended;

	if (!hold_ready(&c, path, &w, 30 * SEC, &fence))
		return;
	ended = waiter_join(&w, 3 * POLL_MS);
	if (!expect(ended, "ugpu_wait returns after SIGTERM", "still blocked after %d ms",
		    3 * POLL_MS))
		return;
	printf("waited %d\n", w.ret);
	note("ugpu_wait on the never-ending job returned %d (%s)", w.ret, ename(w.ret));
	expect(w.ret == -ECANCELED || w.ret == -EIO || w.ret == -ENODEV || w.ret == -ENOTCONN,
	       "the wait reports the job did not complete",
	       "got %d (%s), want -ECANCELED, -EIO, -ENODEV or -ENOTCONN", w.ret,
	       ename(w.ret));
	expect(c.ctl[CTL_HELD_OUT] == 0, "the cancelled job wrote nothing", "read %#x",
	       c.ctl[CTL_HELD_OUT]);
	if (!step("gone"))
		return;
	check_gone(&c, "after exit");
	ctx_close(&c);
}

/*
 * While draining, new work is refused. The held job then still completes:
 * proof that the refusals came from a draining daemon, not a gone one.
 */
static void sc_drain_refuse(const char *path)
{
	struct waiter w;
	struct ctx c;
	uint64_t fence, f2;
	uint32_t bo;
	uint8_t *up;
	int ret;

	if (!expect_ret(ctx_open(&c, path), 0, "open, VM, host memory bound"))
		return;
	if (!expect_ret(ugpu_bo_create(c.dev, PAGE, 0, &bo), 0, "create a BO"))
		return;
	up = mmap(NULL, UP_BYTES, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (!expect(up != MAP_FAILED, "mmap userptr memory", "%s", strerror(errno)))
		return;
	memset(up, 0, UP_BYTES);
	/* The same calls are accepted before the signal. */
	expect_ret(ugpu_vm_bind_userptr(c.dev, c.vm, VA_UP, up, UP_BYTES, 0), 0,
		   "before SIGTERM: bind userptr");
	expect_ret(ugpu_vm_bind_bo(c.dev, c.vm, VA_BO, bo, 0, PAGE, 0), 0,
		   "before SIGTERM: bind BO");
	expect_ret(run_store(&c, VA_UP, MAGIC), 0, "before SIGTERM: exec");
	if (!expect_ret(exec_held(&c, &fence), 0, "submit a job held on a semaphore"))
		return;
	if (!expect(waiter_start(&w, c.dev, fence, -1),
		    "a thread is blocked in ugpu_wait on the held job",
		    "it never entered the ioctl (done %d, ret %d)", w.done, w.ret))
		return;
	printf("ready\n");
	if (!step("check"))
		return;
	ret = wait_draining(&c);
	note("draining: unbind returned %d (%s)", ret, ename(ret));
	expect_refused(ret, "draining: ugpu_vm_unbind");
	expect_refused(exec_store(&c, VA_UP, 1, &f2), "draining: ugpu_exec");
	expect_refused(ugpu_vm_bind_userptr(c.dev, c.vm, VA_UP2, up, PAGE, 0),
		       "draining: ugpu_vm_bind_userptr");
	expect_refused(ugpu_vm_bind_bo(c.dev, c.vm, VA_BO + 16 * PAGE, bo, 0, PAGE, 0),
		       "draining: ugpu_vm_bind_bo");
	expect(*(volatile uint32_t *)up == MAGIC, "a refused exec wrote nothing",
	       "read %#x", *(volatile uint32_t *)up);
	/* Let the drain end: the daemon may exit as soon as the job is done. */
	release_held(&c);
	if (expect(waiter_join(&w, POLL_MS), "ugpu_wait returns once released",
		   "still blocked after %d ms", POLL_MS))
		expect_ret(w.ret, 0, "the held job completes after the refusals (still draining)");
	printf("done\n");
	munmap(up, UP_BYTES);
	ctx_close(&c);
}

/*
 * SIGKILL of the daemon while this client has a bound userptr and a
 * thread blocked in a wait: every call fails promptly, munmap returns.
 */
static void sc_crash(const char *path)
{
	struct ugpu_info info;
	struct waiter w;
	struct ctx c;
	uint64_t fence, f2, done_fence;
	uint32_t id, bo;
	uint8_t *up;

	if (!expect_ret(ctx_open(&c, path), 0, "open, VM, host memory bound"))
		return;
	up = mmap(NULL, UP_BYTES, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (!expect(up != MAP_FAILED, "mmap userptr memory", "%s", strerror(errno)))
		return;
	memset(up, 0, UP_BYTES);
	if (!expect_ret(ugpu_vm_bind_userptr(c.dev, c.vm, VA_UP, up, UP_BYTES, 0), 0,
			"bind a userptr"))
		return;
	if (!expect_ret(ugpu_bo_create(c.dev, PAGE, 0, &bo), 0, "create a BO"))
		return;
	if (!expect_ret(exec_store(&c, VA_UP + PAGE, MAGIC, &done_fence), 0,
			"submit a store into it") ||
	    !expect_ret(ugpu_wait(c.dev, done_fence, WAIT_NS), 0, "the store completes"))
		return;
	expect(((volatile uint32_t *)up)[PAGE / 4] == MAGIC, "the store is visible",
	       "read %#x", ((volatile uint32_t *)up)[PAGE / 4]);
	if (!expect_ret(exec_held(&c, &fence), 0, "submit a job held on a semaphore"))
		return;
	if (!expect(waiter_start(&w, c.dev, fence, -1),
		    "a thread is blocked in ugpu_wait on the held job",
		    "it never entered the ioctl (done %d, ret %d)", w.done, w.ret))
		return;
	printf("ready\n");
	if (!step("go"))
		return;
	if (expect(waiter_join(&w, POLL_MS), "the blocked ugpu_wait returns",
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
	expect_ret(munmap(up, UP_BYTES) ? -errno : 0, 0, "munmap of the bound range returns");
	ctx_close(&c);
	expect(true, "ugpu_close returns", "%s", "");
	printf("done\n");
}

/* A new client works: bind, store, wait = 0, on host and private memory. */
static void sc_smoke(const char *path)
{
	struct ctx c;
	uint8_t *up;

	if (!expect_ret(ctx_open(&c, path), 0, "open, VM, host memory bound"))
		return;
	expect_ret(run_store(&c, VA_HOST + CTL_OUT * 4, MAGIC), 0, "store into host memory");
	expect(c.ctl[CTL_OUT] == MAGIC, "the store is visible", "read %#x", c.ctl[CTL_OUT]);
	up = mmap(NULL, UP_BYTES, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (!expect(up != MAP_FAILED, "mmap userptr memory", "%s", strerror(errno)))
		goto out;
	memset(up, 0, UP_BYTES);
	if (expect_ret(ugpu_vm_bind_userptr(c.dev, c.vm, VA_UP, up, UP_BYTES, 0), 0,
		       "bind a private userptr")) {
		expect_ret(run_store(&c, VA_UP + 8, MAGIC + 1), 0, "store into the userptr");
		expect(((volatile uint32_t *)up)[2] == MAGIC + 1, "the userptr store is visible",
		       "read %#x", ((volatile uint32_t *)up)[2]);
	}
	munmap(up, UP_BYTES);
out:
	ctx_close(&c);
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
	long long end = now_ms() + POLL_MS;
	struct ugpu *dev;
	char check[96];
	int n, err, ret;

	for (;;) {
		ret = ugpu_open(path, &dev);
		if (ret) {
			expect_ret(ret, 0, "open");
			return;
		}
		n = count_vms(dev, want + 1, &err);
		if (!retry || n >= want || now_ms() > end)
			break;
		ugpu_close(dev);
		nap();
	}
	note("created %d VMs, then %d (%s)", n, err, ename(err));
	snprintf(check, sizeof(check), "a client creates %d VMs", want);
	expect(n >= want, check, "only %d (then %d, %s)", n, err, ename(err));
	snprintf(check, sizeof(check), "VM %d is refused", want + 1);
	if (expect(n <= want, check, "created %d", n)) {
		snprintf(check, sizeof(check), "VM %d: over the quota", want + 1);
		expect_quota(err, check);
	}
	ugpu_close(dev);
}

int main(int argc, char **argv)
{
	const char *sc, *path;

	setvbuf(stdout, NULL, _IOLBF, 0);
	if (argc < 3) {
		fprintf(stderr, "usage: lifecycle_client <scenario> <device> [N]\n");
		return 2;
	}
	sc = argv[1];
	path = argv[2];
	if (!strcmp(sc, "drain-finish"))
		sc_drain_finish(path);
	else if (!strcmp(sc, "drain-hang"))
		sc_drain_hang(path);
	else if (!strcmp(sc, "drain-refuse"))
		sc_drain_refuse(path);
	else if (!strcmp(sc, "crash"))
		sc_crash(path);
	else if (!strcmp(sc, "smoke"))
		sc_smoke(path);
	else if (!strcmp(sc, "vms") && argc > 3)
		sc_vms(path, atoi(argv[3]), false);
	else if (!strcmp(sc, "vms-reload") && argc > 3)
		sc_vms(path, atoi(argv[3]), true);
	else {
		fprintf(stderr, "lifecycle_client: unknown scenario '%s'\n", sc);
		return 2;
	}
	fflush(stdout);
	/* Threads left blocked (a failed check) must not keep us alive. */
	_exit(nfail ? 1 : 0);
}
