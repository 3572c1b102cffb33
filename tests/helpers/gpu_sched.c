// SPDX-License-Identifier: MIT
/*
 * gpu_sched: a client of ugpud for the driver core's scheduling and
 * limits (tests/integration/gpu_test.c runs it): exit-busy leaves as
 * much in flight as it can (jobs holding every engine, jobs queued
 * behind them and behind a syncobj, a queued unbind and a bind parked
 * behind it), says `ready` and dies when told or is killed; smoke shows
 * the daemon still serves; fairness runs a second client's one job
 * long before the last of 64 of this client's on the same engine; quotas
 * hits every limit of a daemon started with `--max-*` flags and checks
 * that freeing frees quota. Usage `gpu_sched <scenario> <device>`;
 * output and exit status as tests/helpers/lib/client_common.h says.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "libclient/ugpu.h"
#include "tests/helpers/lib/client_common.h"
#include "tests/helpers/lib/client_sync.h"
#include "uapi/ugpu.h"

#define CTL_TS		512		/* timestamps (qwords: 8-byte aligned) */

/* ---- 5. process exit while busy ---------------------------------------- */

/* A bind ioctl parked behind a queued unbind. */
struct parked_bind {
	struct cc_ctx *c;
	uint32_t bo;
	int ret;
	int done;
};

static void *parked_bind_main(void *arg)
{
	struct parked_bind *lb = arg;

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
	struct parked_bind lb = { 0 };
	struct ugpu_cmdbuf cb;
	uint32_t bo = 0, so = 0;
	uint64_t fence;
	unsigned int slot = 0;
	pthread_t thr;
	uint8_t *buf;
	char line[64];
	struct cc_ctx c;

	if (!cc_ctx_open_ok(&c, path, 0, "busy"))
		_exit(1);
	buf = cc_map_anon(16 * PAGE);
	if (!buf ||
	    !cc_expect_ret(ugpu_vm_bind_userptr(c.dev, c.vm, VA_UP, buf, 16 * PAGE, 0), 0,
			   "busy: bind private memory") ||
	    !cc_expect_ret(ugpu_bo_create(c.dev, 16 * PAGE, 0, &bo), 0, "busy: BO") ||
	    !cc_expect_ret(ugpu_vm_bind_bo(c.dev, c.vm, VA_BO, bo, 0, 16 * PAGE, 0), 0,
			   "busy: bind BO") ||
	    !cc_expect_ret(cc_so_create(c.dev, 0, &so), 0, "busy: syncobj"))
		_exit(1);

	for (unsigned int e = 0; e < c.engines; e++) {
		cc_batch_gated(&c, slot, &cb, CTL_STARTED + e);
		syncs[0] = cc_sync_out(so, 0);
		if (!cc_expect_ret(cc_exec_syncs(&c, slot++, &cb, e, syncs, e == 0, &fence), 0,
				   "busy: exec a job that waits forever"))
			_exit(1);
	}
	for (unsigned int i = 0; i < 6; i++) {
		cc_batch(&c, slot, &cb);
		ugpu_cmd_fill(&cb, VA_UP, 16 * PAGE, i);
		if (!cc_expect_ret(cc_submit(&c, slot++, &cb, i % c.engines, &fence), 0,
				   "busy: exec jobs queued behind them"))
			_exit(1);
	}
	cc_batch(&c, slot, &cb);
	ugpu_cmd_store_dword(&cb, VA_BO, 1);
	syncs[0] = cc_sync_in(so, 0);
	cc_expect_ret(cc_exec_syncs(&c, slot++, &cb, 0, syncs, 1, &fence), 0,
		      "busy: exec waiting on a syncobj");
	syncs[0] = cc_sync_in(so, 0);
	cc_expect_ret(cc_bind_syncs(&c, UGPU_VM_BIND_OP_UNMAP, VA_BO, 0, 0, 16 * PAGE, syncs, 1), 0,
		      "busy: queued unbind");
	lb.c = &c;
	lb.bo = bo;
	if (pthread_create(&thr, NULL, parked_bind_main, &lb))
		_exit(1);
	for (unsigned int e = 0; e < c.engines; e++)
		if (!cc_expect(cc_poll_u32(&c.ctl[CTL_STARTED + e], 1),
			       "busy: jobs hold the engines", "engine %u never started", e))
			_exit(1);
	printf("ready\n");
	fflush(stdout);
	/* Die with everything in flight: no close, no cleanup. */
	if (fgets(line, sizeof(line), stdin))
		_exit(cc_nfail ? 1 : 0);
	_exit(cc_nfail ? 1 : 0);
}

/* The daemon still serves: a plain job works. */
static void scenario_smoke(const char *path)
{
	struct cc_ctx c;

	if (!cc_ctx_open_ok(&c, path, 0, "smoke"))
		return;
	cc_expect_ret(cc_run_store(&c, 0, VA_CTL + CTL_OUT * 4, 0x600d), 0, "smoke: a job runs");
	cc_expect(c.ctl[CTL_OUT] == 0x600d, "smoke: its store landed", "got %#x",
		  c.ctl[CTL_OUT]);
	cc_ctx_close(&c);
}

/* ---- 6. fairness ------------------------------------------------------ */

#define FAIR_JOBS	64
#define FAIR_BYTES	(16ull << 20)
_Static_assert(FAIR_JOBS <= NSLOTS, "a batch slot per job");

static int readline_fd(int fd, char *buf, size_t len)
{
	size_t n = 0;
	long long end = cc_now_ms() + 3 * POLL_MS;

	while (n + 1 < len) {
		struct pollfd pfd = { .fd = fd, .events = POLLIN };
		long long left = end - cc_now_ms();
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
	struct cc_ctx c;
	int ret;

	ret = cc_ctx_open(&c, path, 0);
	if (ret) {
		say(out, "error open %d", ret);
		return 1;
	}
	cc_batch(&c, 0, &cb);
	ugpu_cmd_store_dword(&cb, VA_CTL + CTL_OUT * 4, 0xb);
	ugpu_cmd_timestamp(&cb, VA_CTL + CTL_TS * 4);
	say(out, "ready");
	if (readline_fd(in, line, sizeof(line)) || strcmp(line, "go"))
		return 1;
	ret = cc_submit(&c, 0, &cb, 0, &fence);
	say(out, "submitted %d", ret);
	if (ret)
		return 1;
	ret = ugpu_wait(c.dev, fence, 4 * WAIT_NS);
	memcpy(&ts, (const void *)&c.ctl[CTL_TS], 8);
	say(out, "done %d %" PRIu64 " %#x", ret, ts, c.ctl[CTL_OUT]);
	if (readline_fd(in, line, sizeof(line)))
		return 1;
	cc_ctx_close(&c);
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
	struct cc_ctx c;
	pid_t pid;

	if (pipe2(to_b, O_CLOEXEC) || pipe2(from_b, O_CLOEXEC)) {
		cc_expect(false, "fair: pipes", "%s", strerror(errno));
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
		cc_expect(false, "fair: fork", "%s", strerror(errno));
		close(to_b[1]);
		close(from_b[0]);
		return;
	}

	if (!cc_ctx_open_ok(&c, path, 0, "fair A"))
		goto out_b;
	if (!cc_expect_ret(ugpu_bo_create(c.dev, FAIR_BYTES, 0, &bo), 0, "fair A: 16 MiB BO") ||
	    !cc_expect_ret(ugpu_vm_bind_bo(c.dev, c.vm, VA_BIG, bo, 0, FAIR_BYTES, 0), 0,
			   "fair A: bind it"))
		goto out_a;
	/*
	 * Job 0 holds engine 0 until B's job is queued, so the order does not
	 * depend on how fast A's jobs run: when it is released, A has 63 fills
	 * and B one store queued; round-robin must run B's long before A's last.
	 */
	for (unsigned int i = 0; i < FAIR_JOBS; i++) {
		if (i == 0)
			cc_batch_gated(&c, i, &cb, CTL_STARTED);
		else
			cc_batch(&c, i, &cb);
		ugpu_cmd_fill(&cb, VA_BIG, FAIR_BYTES, i + 1);
		if (i == FAIR_JOBS - 1)
			ugpu_cmd_timestamp(&cb, VA_CTL + CTL_TS * 4);
		ret = cc_submit(&c, i, &cb, 0, &fences[i]);
		if (ret)
			break;
	}
	if (!cc_expect_ret(ret, 0, "fair A: submit 64 fills of 16 MiB on engine 0"))
		goto out_a;
	cc_expect(cc_poll_u32(&c.ctl[CTL_STARTED], 1), "fair A: first job holds engine 0",
		  "never started");
	if (readline_fd(from_b[0], line, sizeof(line)) || strcmp(line, "ready")) {
		cc_expect(false, "fair B: ready", "got '%s'", line);
		goto out_a;
	}
	say(to_b[1], "go");
	if (readline_fd(from_b[0], line, sizeof(line)) ||
	    sscanf(line, "submitted %d", &b_ret) != 1 || b_ret) {
		cc_expect(false, "fair B: submitted its job", "got '%s'", line);
		goto out_a;
	}
	cc_ctl_set(&c, CTL_SEM, 1);
	if (readline_fd(from_b[0], line, sizeof(line)) ||
	    sscanf(line, "done %d %" SCNu64 " %x", &b_ret, &ts_b, &b_out) != 3) {
		cc_expect(false, "fair B: its wait returned", "got '%s'", line);
		goto out_a;
	}
	/* Right after B's wait returned: A's last job must still be pending. */
	ret = ugpu_wait(c.dev, fences[FAIR_JOBS - 1], 0);
	cc_expect_ret(ret, -ETIME, "fair: A's last job is not complete when B's returned");
	cc_expect_ret(b_ret, 0, "fair B: its job completed");
	cc_expect(b_out == 0xb, "fair B: its store landed", "got %#x", b_out);
	say(to_b[1], "bye");

	ret = 0;
	for (unsigned int i = 0; i < FAIR_JOBS && !ret; i++)
		ret = ugpu_wait(c.dev, fences[i], 4 * WAIT_NS);
	cc_expect_ret(ret, 0, "fair A: every fill completes");
	memcpy(&ts_last, (const void *)&c.ctl[CTL_TS], 8);
	cc_expect(ts_b && ts_last && ts_b < ts_last,
		  "fair: device clock: B's job ran before A's last",
		  "B at %" PRIu64 ", A's last at %" PRIu64, ts_b, ts_last);
	ret = ugpu_bo_pread(c.dev, bo, FAIR_BYTES - 4, &v, 4);
	cc_expect(!ret && v == FAIR_JOBS, "fair A: the last fill's data", "pread %d value %u",
		  ret, v);
out_a:
	cc_ctl_set(&c, CTL_SEM, 1);
	cc_ctx_close(&c);
out_b:
	close(to_b[1]);		/* B sees EOF if it still waits for us */
	if (waitpid(pid, &st, 0) == pid)
		cc_expect(WIFEXITED(st) && WEXITSTATUS(st) == 0, "fair B: exits cleanly",
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
	struct cc_ctx c;
	int ret;

	/* The context holds 1 VM and 1 userptr of 64 KiB. */
	if (!cc_ctx_open_ok(&c, path, 0, "quota"))
		return;
	buf = cc_map_anon(8 * PAGE);
	huge = mmap(NULL, (16ull << 20) + PAGE, PROT_READ | PROT_WRITE,
		    MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (!buf || huge == MAP_FAILED) {
		cc_expect(false, "quota: mmap", "%s", strerror(errno));
		goto out;
	}

	/* VMs */
	cc_expect_ret(ugpu_vm_create(c.dev, 0, &vm2), 0, "quota: 2nd VM");
	cc_expect_quota(ugpu_vm_create(c.dev, 0, &vm3), "quota: 3rd VM over --max-vms 2");
	cc_expect_ret(ugpu_vm_destroy(c.dev, vm2), 0, "quota: destroy a VM");
	if (cc_expect_ret(ugpu_vm_create(c.dev, 0, &vm3), 0, "quota: destroying a VM frees quota"))
		ugpu_vm_destroy(c.dev, vm3);

	/* BO count */
	for (int i = 0; i < 3; i++)
		cc_expect_ret(ugpu_bo_create(c.dev, PAGE, 0, &b[i]), 0, "quota: BOs up to 3");
	cc_expect_quota(ugpu_bo_create(c.dev, PAGE, 0, &b[3]), "quota: 4th BO over --max-bos 3");
	cc_expect_ret(ugpu_bo_destroy(c.dev, b[2]), 0, "quota: destroy a BO");
	cc_expect_ret(ugpu_bo_create(c.dev, PAGE, 0, &b[2]), 0,
		      "quota: destroying a BO frees quota");
	for (int i = 0; i < 3; i++)
		ugpu_bo_destroy(c.dev, b[i]);

	/* BO bytes */
	cc_expect_quota(ugpu_bo_create(c.dev, (8ull << 20) + PAGE, 0, &big),
			"quota: BO bigger than --max-bo-bytes");
	if (!cc_expect_ret(ugpu_bo_create(c.dev, 8ull << 20, 0, &big), 0,
			   "quota: BO of exactly --max-bo-bytes"))
		goto out;
	cc_expect_quota(ugpu_bo_create(c.dev, PAGE, 0, &b[0]),
			"quota: one more page of BO memory over --max-bo-bytes");

	/* Bound bytes: 64 KiB bound already; 16 MiB in all. */
	cc_expect_ret(ugpu_vm_bind_bo(c.dev, c.vm, VA_BIG, big, 0, 8ull << 20, 0), 0,
		      "quota: bind 8 MiB");
	cc_expect_quota(ugpu_vm_bind_bo(c.dev, c.vm, VA_BIG2, big, 0, 8ull << 20, 0),
			"quota: binding past 16 MiB in total");
	cc_expect_ret(ugpu_vm_bind_bo(c.dev, c.vm, VA_BIG2, big, 0, (8ull << 20) - HOST_BYTES, 0),
		      0, "quota: binding up to exactly 16 MiB");
	cc_expect_quota(ugpu_vm_bind_userptr(c.dev, c.vm, VA_UP, buf, PAGE, 0),
			"quota: one more page of userptr past 16 MiB");
	cc_expect_ret(ugpu_vm_unbind(c.dev, c.vm, VA_BIG2, PAGE), 0,
		      "quota: unbind one page of it");
	cc_expect_ret(ugpu_vm_bind_userptr(c.dev, c.vm, VA_UP, buf, PAGE, 0), 0,
		      "quota: unbinding frees bound-bytes quota");
	cc_expect_ret(ugpu_vm_unbind(c.dev, c.vm, VA_UP, PAGE), 0, "quota: unbind it again");
	cc_expect_ret(ugpu_vm_unbind(c.dev, c.vm, VA_BIG, 8ull << 20), 0, "quota: unbind 8 MiB");
	cc_expect_ret(ugpu_vm_unbind(c.dev, c.vm, VA_BIG2, 8ull << 20), 0,
		      "quota: unbind the rest");
	cc_expect_quota(ugpu_vm_bind_userptr(c.dev, c.vm, VA_BIG, huge, (16ull << 20) + PAGE, 0),
			"quota: one userptr bigger than --max-bound-bytes");
	cc_expect_ret(ugpu_bo_destroy(c.dev, big), 0, "quota: destroy the big BO");
	cc_expect_ret(ugpu_bo_create(c.dev, PAGE, 0, &b[0]), 0,
		      "quota: destroying a BO frees BO-bytes quota");
	ugpu_bo_destroy(c.dev, b[0]);

	/* Userptr count: the host area is one. */
	for (int i = 0; i < 3; i++)
		cc_expect_ret(ugpu_vm_bind_userptr(c.dev, c.vm, VA_UP + i * 16 * PAGE,
						   buf + i * PAGE, PAGE, 0), 0,
			      "quota: userptrs up to 4");
	cc_expect_quota(ugpu_vm_bind_userptr(c.dev, c.vm, VA_UP + 3 * 16 * PAGE, buf + 3 * PAGE,
					     PAGE, 0), "quota: 5th userptr over --max-userptrs 4");
	cc_expect_ret(ugpu_vm_unbind(c.dev, c.vm, VA_UP, PAGE), 0, "quota: unbind a userptr");
	cc_expect_ret(ugpu_vm_bind_userptr(c.dev, c.vm, VA_UP + 3 * 16 * PAGE, buf + 3 * PAGE,
					   PAGE, 0), 0, "quota: unbinding frees userptr quota");
	for (int i = 1; i < 4; i++)
		ugpu_vm_unbind(c.dev, c.vm, VA_UP + i * 16 * PAGE, PAGE);

	/* Jobs in flight */
	for (unsigned int i = 0; i < 4; i++) {
		cc_batch_gated(&c, i, &cb, CTL_STARTED + i);
		ugpu_cmd_store_dword(&cb, VA_CTL + (CTL_OUT + i) * 4, i + 1);
		ret = cc_submit(&c, i, &cb, i % c.engines, &fences[i]);
		if (!cc_expect_ret(ret, 0, "quota: 4 jobs held by a semaphore")) {
			cc_ctl_set(&c, CTL_SEM, 1);
			goto out;
		}
	}
	cc_batch(&c, 4, &cb);
	ugpu_cmd_store_dword(&cb, VA_CTL + (CTL_OUT + 4) * 4, 5);
	cc_expect_quota(cc_submit(&c, 4, &cb, 1, &fences[4]),
			"quota: 5th exec over --max-inflight 4");
	cc_ctl_set(&c, CTL_SEM, 1);
	for (unsigned int i = 0; i < 4; i++)
		cc_expect_ret(ugpu_wait(c.dev, fences[i], WAIT_NS), 0,
			      "quota: the held jobs complete after the release");
	cc_batch(&c, 4, &cb);
	ugpu_cmd_store_dword(&cb, VA_CTL + (CTL_OUT + 4) * 4, 5);
	ret = cc_submit(&c, 4, &cb, 1, &fences[4]);
	if (cc_expect_ret(ret, 0, "quota: exec works again once they completed"))
		cc_expect_ret(ugpu_wait(c.dev, fences[4], WAIT_NS), 0, "quota: ... and completes");
	for (unsigned int i = 0; i < 5; i++)
		cc_expect(c.ctl[CTL_OUT + i] == i + 1, "quota: every job's store landed",
			  "job %u: %#x", i, c.ctl[CTL_OUT + i]);
out:
	if (buf)
		munmap(buf, 8 * PAGE);
	if (huge != MAP_FAILED)
		munmap(huge, (16ull << 20) + PAGE);
	cc_ctx_close(&c);
}

/* ---- main ------------------------------------------------------------- */

static const struct cc_scenario scenarios[] = {
	{ "exit-busy", scenario_exit_busy },
	{ "smoke", scenario_smoke },
	{ "fairness", scenario_fairness },
	{ "quotas", scenario_quotas },
};

int main(int argc, char **argv)
{
	signal(SIGPIPE, SIG_IGN);
	return cc_main(argc, argv, scenarios, sizeof(scenarios) / sizeof(scenarios[0]));
}
