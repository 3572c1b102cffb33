// SPDX-License-Identifier: MIT
/*
 * stress_victim: the client-death storm's clients (tests/stress/
 * death_stress.c runs them). `stress_victim victim <device> <seed>` is a
 * client that never stops: its main thread binds, executes, holds jobs on
 * semaphores, chains execs through syncobjs, waits, destroys objects with
 * jobs in flight, copies large BOs, opens a second client, forks children
 * that use its device; a churn thread munmaps, re-maps and zaps a bound
 * range; a waiter thread blocks in ugpu_wait on held jobs. Before each
 * step it prints `phase <name>`, so the test can SIGKILL it at a chosen
 * kind of moment. `stress_victim survivor <device>` is a client that
 * keeps working until `stop` arrives on stdin: every job it submits must
 * complete with status 0 and the right data whatever happens to the
 * victims, and it says so (`ok`/`not ok`, `# figure` lines).
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "libclient/ugpu.h"
#include "uapi/ugpu.h"

#define PAGE		4096u
#define SEC		1000000000ll
#define VA_HOST		0x100000ull
#define VA_UP		0x1000000ull
#define VA_UP2		0x2000000ull
#define VA_BO		0x4000000ull
#define HOST_PAGES	16u
#define UP_PAGES	32u
#define SLOT_BYTES	512u
#define NSLOTS		((HOST_PAGES - 1) * PAGE / SLOT_BYTES)
#define SEM_DW		0		/* the semaphore dword of the host area */
#define OUT_DW		64		/* results */

static int nfail;

static uint32_t rnd(uint32_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 17;
	*s ^= *s << 5;
	return *s;
}

static void phase(const char *name)
{
	printf("phase %s\n", name);
}

static void nap_us(long us)
{
	struct timespec t = { us / 1000000, (us % 1000000) * 1000 };

	nanosleep(&t, NULL);
}

static int64_t now_ns(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec * SEC + t.tv_nsec;
}

static int xioctl(struct ugpu *d, unsigned long cmd, void *arg)
{
	int ret;

	do {
		ret = ioctl(ugpu_fd(d), cmd, arg);
	} while (ret < 0 && errno == EINTR);
	return ret < 0 ? -errno : ret;
}

/* A client with a VM, a sealed host area (batches, semaphore) and private memory. */
struct cl {
	struct ugpu *dev;
	uint32_t vm;
	uint32_t *host;
	uint8_t *up;
	unsigned int slot;
	uint32_t seed;
	uint64_t last;		/* the last fence submitted */
};

static int cl_open(struct cl *c, const char *path)
{
	int ret;

	memset(c, 0, sizeof(*c));
	c->seed = (uint32_t)getpid() * 2654435761u | 1;
	ret = ugpu_open(path, &c->dev);
	if (ret)
		return ret;
	ret = ugpu_vm_create(c->dev, 0, &c->vm);
	c->host = ret ? NULL : ugpu_host_alloc(c->dev, HOST_PAGES * PAGE);
	c->up = mmap(NULL, UP_PAGES * PAGE, PROT_READ | PROT_WRITE,
		     MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (ret || !c->host || c->up == MAP_FAILED)
		return ret ? ret : -ENOMEM;
	memset(c->host, 0, HOST_PAGES * PAGE);
	memset(c->up, 0, UP_PAGES * PAGE);
	ret = ugpu_vm_bind_userptr(c->dev, c->vm, VA_HOST, c->host, HOST_PAGES * PAGE, 0);
	if (!ret)
		ret = ugpu_vm_bind_userptr(c->dev, c->vm, VA_UP, c->up, UP_PAGES * PAGE, 0);
	return ret;
}

/* The next batch slot (round robin; callers keep fewer jobs in flight). */
static void cl_batch(struct cl *c, struct ugpu_cmdbuf *cb, uint64_t *va)
{
	unsigned int s = c->slot++ % NSLOTS;

	ugpu_cmd_init(cb, (uint8_t *)c->host + PAGE + s * SLOT_BYTES, SLOT_BYTES);
	*va = VA_HOST + PAGE + s * SLOT_BYTES;
}

static int cl_submit(struct cl *c, struct ugpu_cmdbuf *cb, uint64_t va, unsigned int engine,
		     uint64_t *fence)
{
	int ret = ugpu_cmd_end(cb);

	if (ret)
		return ret;
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	ret = ugpu_exec(c->dev, c->vm, engine, va, cb->len * 4, fence);
	if (!ret)
		c->last = *fence;
	return ret;
}

/* ---- the victim ------------------------------------------------------------ */

struct victim {
	struct cl a;
	struct ugpu *dev2;
	const char *path;
	uint64_t held;		/* a fence held by the semaphore, for the waiter */
	uint32_t bo, vm2;
	bool has_bo, has_vm2;
	uint32_t seed;
};

static void *churn_main(void *arg)
{
	struct victim *v = arg;
	uint32_t seed = v->seed ^ 0x5bd1e995u;
	uint8_t *base = v->a.up + (UP_PAGES / 2) * PAGE;

	for (;;) {
		unsigned int pg = rnd(&seed) % (UP_PAGES / 2 - 2), n = 1 + rnd(&seed) % 2;
		uint8_t *p = base + pg * PAGE;

		phase("inval");
		switch (rnd(&seed) % 4) {
		case 0:
			mmap(p, n * PAGE, PROT_READ | PROT_WRITE,
			     MAP_FIXED | MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
			break;
		case 1:
			madvise(p, n * PAGE, MADV_DONTNEED);
			break;
		case 2:
			munmap(p, n * PAGE);
			sched_yield();
			mmap(p, n * PAGE, PROT_READ | PROT_WRITE,
			     MAP_FIXED | MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
			break;
		default:
			madvise(p, n * PAGE, MADV_FREE);
			break;
		}
		/*
		 * Release held jobs from here too: an exec of the main thread
		 * may wait for them (older than an invalidation) and could not.
		 */
		if (rnd(&seed) % 3 == 0)
			__atomic_store_n(&v->a.host[SEM_DW], ~0u, __ATOMIC_RELEASE);
		nap_us(1000 + rnd(&seed) % 8000);
	}
	return NULL;
}

static void *waiter_main(void *arg)
{
	struct victim *v = arg;

	for (;;) {
		uint64_t f = __atomic_load_n(&v->held, __ATOMIC_ACQUIRE);

		if (!f) {
			nap_us(1000);
			continue;
		}
		phase("block");
		ugpu_wait(v->a.dev, f, -1);	/* parked in the daemon until it ends */
		__atomic_compare_exchange_n(&v->held, &f, 0, false, __ATOMIC_ACQ_REL,
					    __ATOMIC_ACQUIRE);
	}
	return NULL;
}

static void v_exec(struct victim *v)
{
	struct ugpu_cmdbuf cb;
	uint64_t va, fence;

	phase("exec");
	for (unsigned int i = 1 + rnd(&v->seed) % 6; i; i--) {
		cl_batch(&v->a, &cb, &va);
		ugpu_cmd_fill(&cb, VA_UP + (rnd(&v->seed) % UP_PAGES) * PAGE, PAGE, i);
		ugpu_cmd_store_dword(&cb, VA_HOST + (OUT_DW + i) * 4, i);
		if (v->has_bo && rnd(&v->seed) % 2)
			ugpu_cmd_fill(&cb, VA_BO, 1u << 20, i);
		cl_submit(&v->a, &cb, va, rnd(&v->seed) % 2, &fence);
	}
}

/* A job that waits for the semaphore; the waiter thread blocks on it. */
static void v_held(struct victim *v)
{
	struct ugpu_cmdbuf cb;
	uint64_t va, fence;

	phase("held");
	v->a.host[SEM_DW] = 0;
	cl_batch(&v->a, &cb, &va);
	ugpu_cmd_semaphore_wait(&cb, VA_HOST + SEM_DW * 4, UGPU_SEM_GTE, v->seed | 1);
	ugpu_cmd_fill(&cb, VA_UP, 4 * PAGE, 0x4e1d);
	if (!cl_submit(&v->a, &cb, va, rnd(&v->seed) % 2, &fence))
		__atomic_store_n(&v->held, fence, __ATOMIC_RELEASE);
}

/* exec A (held) signals a syncobj; exec B waits on it: deferred in the daemon. */
static void v_deferred(struct victim *v)
{
	struct ugpu_syncobj_create sc = { 0 };
	struct ugpu_sync sy = { .type = UGPU_SYNC_SYNCOBJ };
	struct ugpu_exec e = { 0 };
	struct ugpu_cmdbuf cb;
	uint64_t va;

	phase("deferred");
	if (xioctl(v->a.dev, UGPU_IOCTL_SYNCOBJ_CREATE, &sc))
		return;
	sy.handle = sc.handle;
	for (int k = 0; k < 2; k++) {
		cl_batch(&v->a, &cb, &va);
		if (!k)
			ugpu_cmd_semaphore_wait(&cb, VA_HOST + SEM_DW * 4, UGPU_SEM_GTE, 1);
		ugpu_cmd_fill(&cb, VA_UP + PAGE, PAGE, 0xdef0 + k);
		if (ugpu_cmd_end(&cb))
			return;
		sy.flags = k ? 0 : UGPU_SYNC_FLAG_SIGNAL;
		e = (struct ugpu_exec){ .vm_id = v->a.vm, .engine = k, .batch_va = va,
					.batch_len = cb.len * 4, .num_syncs = 1,
					.syncs_ptr = (uintptr_t)&sy };
		if (xioctl(v->a.dev, UGPU_IOCTL_EXEC, &e))
			return;
	}
}

static void v_bind(struct victim *v)
{
	phase("bind");
	if (!v->has_bo && !ugpu_bo_create(v->a.dev, 4u << 20, 0, &v->bo)) {
		v->has_bo = true;
		ugpu_vm_bind_bo(v->a.dev, v->a.vm, VA_BO, v->bo, 0, 4u << 20, 0);
	}
	ugpu_vm_bind_userptr(v->a.dev, v->a.vm, VA_UP2 + (rnd(&v->seed) % 8) * PAGE,
			     v->a.up + (rnd(&v->seed) % (UP_PAGES / 2)) * PAGE, 2 * PAGE,
			     rnd(&v->seed) % 2 ? UGPU_BIND_PROBE : 0);
	if (rnd(&v->seed) % 3 == 0)
		ugpu_vm_unbind(v->a.dev, v->a.vm, VA_UP2, 16 * PAGE);
}

static void v_destroy(struct victim *v)
{
	struct ugpu_cmdbuf cb;
	uint64_t va, fence;

	phase("destroy");
	if (!v->has_vm2 && !ugpu_vm_create(v->a.dev, 0, &v->vm2)) {
		v->has_vm2 = true;
		ugpu_vm_bind_userptr(v->a.dev, v->vm2, VA_HOST, v->a.host, HOST_PAGES * PAGE, 0);
		ugpu_vm_bind_userptr(v->a.dev, v->vm2, VA_UP, v->a.up, UP_PAGES * PAGE, 0);
		/* A held job on the VM that goes away under it. */
		cl_batch(&v->a, &cb, &va);
		ugpu_cmd_semaphore_wait(&cb, VA_HOST + SEM_DW * 4, UGPU_SEM_GTE, 1);
		ugpu_cmd_end(&cb);
		ugpu_exec(v->a.dev, v->vm2, rnd(&v->seed) % 2, va, cb.len * 4, &fence);
		return;
	}
	if (v->has_vm2 && !ugpu_vm_destroy(v->a.dev, v->vm2))
		v->has_vm2 = false;
	if (v->has_bo && rnd(&v->seed) % 2 && !ugpu_bo_destroy(v->a.dev, v->bo))
		v->has_bo = false;
}

/* BO copies above 256 KiB run on the daemon's workers. */
static void v_bo_io(struct victim *v)
{
	static uint8_t buf[2u << 20];

	phase("bo-io");
	if (!v->has_bo)
		return;
	if (rnd(&v->seed) % 2)
		ugpu_bo_pwrite(v->a.dev, v->bo, 0, buf, sizeof(buf));
	else
		ugpu_bo_pread(v->a.dev, v->bo, PAGE, buf, sizeof(buf));
}

/* A second open of this process (same address space), left open or closed. */
static void v_open2(struct victim *v)
{
	uint32_t vm;

	phase("open2");
	if (v->dev2) {
		ugpu_close(v->dev2);
		v->dev2 = NULL;
		return;
	}
	if (ugpu_open(v->path, &v->dev2))
		return;
	if (!ugpu_vm_create(v->dev2, 0, &vm))
		ugpu_vm_bind_userptr(v->dev2, vm, VA_UP, v->a.up, UP_PAGES * PAGE, 0);
}

/* A child using our device: no userptr for it; it dies with us. */
static void v_fork(struct victim *v)
{
	pid_t parent = getpid(), pid;
	int ret;

	phase("fork");
	fflush(stdout);
	pid = fork();
	if (pid == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (getppid() != parent)
			_exit(0);
		ret = ugpu_vm_bind_userptr(v->a.dev, v->a.vm, VA_UP2, v->a.up, PAGE, 0);
		if (ret != -EFAULT) {
			printf("not ok victim child: userptr bind through the parent's device "
			       "gave %d, want -EFAULT\n", ret);
			fflush(stdout);
		}
		nap_us(rnd(&v->seed) % 20000);
		_exit(0);
	}
	if (pid > 0)
		waitpid(pid, NULL, 0);
}

/*
 * $UGPU_VICTIM_STEPS (a comma-separated subset of the step names below,
 * plus "churn" and "waiter" for the threads) narrows a victim down to
 * what reproduces a finding. Default: everything.
 */
static bool wanted(const char *name)
{
	const char *e = getenv("UGPU_VICTIM_STEPS"), *p;
	size_t n = strlen(name);

	if (!e || !*e)
		return true;
	for (p = e; (p = strstr(p, name)); p += n)
		if ((p == e || p[-1] == ',') && (p[n] == ',' || !p[n]))
			return true;
	return false;
}

static int victim(const char *path, uint32_t seed)
{
	static const struct {
		const char *name;
		void (*fn)(struct victim *);
	} all[] = {
		{ "exec", v_exec }, { "exec", v_exec }, { "held", v_held },
		{ "deferred", v_deferred }, { "bind", v_bind }, { "destroy", v_destroy },
		{ "bo-io", v_bo_io }, { "open2", v_open2 }, { "fork", v_fork },
	};
	void (*steps[16])(struct victim *);
	unsigned int nsteps = 0;
	struct victim v = { .path = path, .seed = seed | 1 };
	pthread_t thr;
	int ret;

	for (size_t i = 0; i < sizeof(all) / sizeof(all[0]); i++)
		if (wanted(all[i].name))
			steps[nsteps++] = all[i].fn;
	phase("start");
	phase("open");
	ret = cl_open(&v.a, path);
	if (ret) {
		/* The test may have killed the daemon's other clients meanwhile: no fault. */
		printf("# victim open: %s\n", strerror(-ret));
		return 1;
	}
	phase("ready");
	if ((wanted("churn") && pthread_create(&thr, NULL, churn_main, &v)) ||
	    (wanted("waiter") && pthread_create(&thr, NULL, waiter_main, &v)))
		return 1;
	for (;;) {
		if (nsteps)
			steps[rnd(&v.seed) % nsteps](&v);
		if (rnd(&v.seed) % 8 == 0) {
			phase("wait");
			if (v.a.last)
				ugpu_wait(v.a.dev, v.a.last, 50 * 1000000ll);
		}
		if (rnd(&v.seed) % 4 == 0) {
			phase("release");
			v.a.host[SEM_DW] = ~0u;
		}
		nap_us(rnd(&v.seed) % 1000);
	}
}

/* ---- the survivor ----------------------------------------------------------- */

static uint32_t crc32c(const void *buf, size_t n)
{
	const uint8_t *p = buf;
	uint32_t c = ~0u;

	while (n--) {
		c ^= *p++;
		for (int k = 0; k < 8; k++)
			c = c & 1 ? (c >> 1) ^ 0x82f63b78u : c >> 1;
	}
	return ~c;
}

static bool stop_asked(void)
{
	struct pollfd p = { .fd = 0, .events = POLLIN };
	char line[64];

	if (poll(&p, 1, 0) <= 0)
		return false;
	return !fgets(line, sizeof(line), stdin) || !strncmp(line, "stop", 4);
}

struct sjob {
	uint64_t fence;
	unsigned int kind;	/* 0 fill+store, 1 checksum, 2 held */
	uint32_t val, page;
};

static uint64_t s_fences, s_resolved, s_bad, s_rounds, s_data_bad;

static void s_check(struct cl *c, const struct sjob *j)
{
	const uint32_t *page = (const uint32_t *)(c->up + j->page * PAGE);
	int st = ugpu_wait(c->dev, j->fence, 120 * SEC);

	s_resolved += st != -ETIME;
	if (st) {
		if (!s_bad++)
			printf("# survivor: job %" PRIu64 " (kind %u) ended %d (%s)\n", j->fence,
			       j->kind, st, strerror(-st));
		return;
	}
	if (j->kind == 1 && c->host[OUT_DW + 32 + j->page] != crc32c(page, PAGE)) {
		if (!s_data_bad++)
			printf("# survivor: checksum of page %u is %#x, want %#x\n", j->page,
			       c->host[OUT_DW + 32 + j->page], crc32c(page, PAGE));
	} else if (j->kind != 1 && (page[0] != j->val || page[PAGE / 4 - 1] != j->val ||
				    c->host[OUT_DW + j->page] != j->val)) {
		if (!s_data_bad++)
			printf("# survivor: page %u holds %#x..%#x, stamp %#x, want %#x\n", j->page,
			       page[0], page[PAGE / 4 - 1], c->host[OUT_DW + j->page], j->val);
	}
}

/* One round: a held job, fills and checksums on both engines, release, check. */
static int s_round(struct cl *c, uint32_t round)
{
	struct sjob jobs[9];
	struct ugpu_cmdbuf cb;
	unsigned int n = 0;
	uint64_t va;
	int ret = 0;

	c->host[SEM_DW] = 0;
	for (unsigned int i = 0; i < 9 && !ret; i++) {
		struct sjob *j = &jobs[n];

		j->kind = i == 0 ? 2 : i % 4 == 3 ? 1 : 0;
		j->page = i;
		j->val = round << 8 | i;
		cl_batch(c, &cb, &va);
		if (j->kind == 2)
			ugpu_cmd_semaphore_wait(&cb, VA_HOST + SEM_DW * 4, UGPU_SEM_EQ, round);
		if (j->kind == 1) {
			j->page = 8 + i;	/* a page nobody writes this round */
			ugpu_cmd_checksum(&cb, VA_HOST + (OUT_DW + 32 + j->page) * 4,
					  VA_UP + j->page * PAGE, PAGE);
		} else {
			ugpu_cmd_fill(&cb, VA_UP + j->page * PAGE, PAGE, j->val);
			ugpu_cmd_store_dword(&cb, VA_HOST + (OUT_DW + j->page) * 4, j->val);
		}
		ret = cl_submit(c, &cb, va, i % 2, &j->fence);
		if (!ret) {
			n++;
			s_fences++;
		}
		if (i == 4)
			c->host[SEM_DW] = round;	/* the held job may go now */
	}
	if (ret && !s_bad++)
		printf("# survivor: exec failed: %d (%s)\n", ret, strerror(-ret));
	c->host[SEM_DW] = round;
	for (unsigned int i = 0; i < n; i++)
		s_check(c, &jobs[i]);
	return ret;
}

static int survivor(const char *path)
{
	struct cl c;
	int64_t t0;
	int ret = cl_open(&c, path);

	if (ret) {
		printf("not ok survivor: open: %s\n", strerror(-ret));
		return 1;
	}
	for (unsigned int p = 8; p < 16; p++)
		memset(c.up + p * PAGE, 0x10 + p, PAGE);
	printf("ready\n");
	t0 = now_ns();
	while (!stop_asked()) {
		/* Pages 0..8 are refilled by each round; round numbers never repeat. */
		s_rounds++;
		s_round(&c, (uint32_t)s_rounds);
		if (s_rounds % 200 == 0)
			printf("# survivor: %" PRIu64 " rounds\n", s_rounds);
	}
	printf("# figure survivor_rounds %" PRIu64 "\n# figure survivor_fences %" PRIu64 "\n"
	       "# figure survivor_seconds %.1f\n", s_rounds, s_fences, (now_ns() - t0) / 1e9);
	if (s_resolved == s_fences && !s_bad)
		printf("ok survivor: all %" PRIu64 " fences resolved with status 0\n", s_fences);
	else
		printf("not ok survivor: %" PRIu64 " of %" PRIu64 " fences resolved, %" PRIu64
		       " failed\n", s_resolved, s_fences, s_bad), nfail++;
	if (s_data_bad)
		printf("not ok survivor: %" PRIu64 " jobs left wrong data\n", s_data_bad), nfail++;
	else
		printf("ok survivor: every job's data is right\n");
	ugpu_close(c.dev);
	return nfail ? 1 : 0;
}

/* ---- deferred-cancel: a fixed sequence the storm found --------------------- */

static uint64_t exec_sync(struct cl *c, struct ugpu_cmdbuf *cb, uint64_t va, uint32_t engine,
			  struct ugpu_sync *sy)
{
	struct ugpu_exec e = { .vm_id = c->vm, .engine = engine, .batch_va = va,
			       .num_syncs = sy ? 1 : 0, .syncs_ptr = (uintptr_t)sy };

	if (ugpu_cmd_end(cb))
		return 0;
	e.batch_len = cb->len * 4;
	return xioctl(c->dev, UGPU_IOCTL_EXEC, &e) ? 0 : e.fence;
}

/*
 * Job B waits for a syncobj that job A signals; A and B are committed
 * after job H, which is held, and an invalidation comes in between. When
 * A completes, B must wait for H (committed before the invalidation), and
 * then the client goes away with B still waiting: the daemon must cancel
 * B cleanly. @how: 0 close, 1 destroy the VM first, 2 exit with it open.
 */
static int deferred_cancel(const char *path, int how)
{
	struct ugpu_syncobj_create sc = { 0 };
	struct ugpu_sync sig = { .type = UGPU_SYNC_SYNCOBJ, .flags = UGPU_SYNC_FLAG_SIGNAL };
	struct ugpu_sync wt = { .type = UGPU_SYNC_SYNCOBJ };
	struct ugpu_cmdbuf cb;
	uint64_t va, fh, fa, fb;
	struct cl c;
	int ret = cl_open(&c, path);

	if (!ret)
		ret = xioctl(c.dev, UGPU_IOCTL_SYNCOBJ_CREATE, &sc);
	if (ret) {
		printf("not ok deferred-cancel setup: %s\n", strerror(-ret));
		return 1;
	}
	sig.handle = wt.handle = sc.handle;
	c.host[SEM_DW] = c.host[SEM_DW + 1] = 0;
	cl_batch(&c, &cb, &va);
	ugpu_cmd_semaphore_wait(&cb, VA_HOST + SEM_DW * 4, UGPU_SEM_EQ, 1);
	fh = exec_sync(&c, &cb, va, 0, NULL);
	cl_batch(&c, &cb, &va);
	ugpu_cmd_semaphore_wait(&cb, VA_HOST + (SEM_DW + 1) * 4, UGPU_SEM_EQ, 1);
	fa = exec_sync(&c, &cb, va, 1, &sig);
	cl_batch(&c, &cb, &va);
	ugpu_cmd_store_dword(&cb, VA_UP, 7);
	fb = exec_sync(&c, &cb, va, 1, &wt);
	if (!fh || !fa || !fb) {
		printf("not ok deferred-cancel: execs %" PRIu64 " %" PRIu64 " %" PRIu64 "\n", fh, fa,
		       fb);
		return 1;
	}
	/* An invalidation while H, committed before it, is in flight. */
	madvise(c.up, PAGE, MADV_DONTNEED);
	c.host[SEM_DW + 1] = 1;			/* A completes; B now waits for H */
	ret = ugpu_wait(c.dev, fa, 20 * SEC);
	if (ret)
		printf("# deferred-cancel: A ended %d\n", ret);
	nap_us(20000);
	if (how == 1)
		ugpu_vm_destroy(c.dev, c.vm);
	if (how != 2)
		ugpu_close(c.dev);
	printf("ok deferred-cancel (%s)\n", how == 0 ? "close" : how == 1 ? "vm destroy" : "exit");
	return 0;
}

int main(int argc, char **argv)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	signal(SIGPIPE, SIG_IGN);
	if (argc == 4 && !strcmp(argv[1], "victim"))
		return victim(argv[2], (uint32_t)strtoul(argv[3], NULL, 0));
	if (argc == 3 && !strcmp(argv[1], "survivor"))
		return survivor(argv[2]);
	if (argc == 4 && !strcmp(argv[1], "deferred-cancel"))
		return deferred_cancel(argv[2], atoi(argv[3]));
	fprintf(stderr, "usage: stress_victim victim <device> <seed>\n"
		"       stress_victim survivor <device>\n"
		"       stress_victim deferred-cancel <device> 0|1|2\n");
	return 2;
}
