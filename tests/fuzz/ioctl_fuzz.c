// SPDX-License-Identifier: MIT
/*
 * libFuzzer harness of the whole ioctl path of ugpud as a client drives
 * it: the real driver core (gpu_create on the sim backend, on a private
 * libevent loop) behind the real device-file dispatch of the transports
 * (daemon/front/dispatch.c, driven through a fake libfuse as
 * tests/unit/front_cuse_test.c does), with the fuzzer's own process as
 * the client. Each input is a program (DOC: Input) of ioctls and harness
 * actions (run the loop, write or remap client memory, interrupt a parked
 * request, raw commands, a second file, releases); parked requests are
 * answered by the real front_req_complete() from the loop, and at the end
 * of every input the parked callers are interrupted, every file released
 * and every job reaped, so LeakSanitizer sees what a session leaked. The
 * invariants are listed above finish(); the client's memory and the
 * fixups that make the input's structs plausible, and always safe, are in
 * ioctl_fix.c.
 */
#include <errno.h>
#include <event2/event.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "front/front_internal.h"
#include "gpu/gpu_internal.h"
#include "ioctl_fix.h"
#include "uapi/ugpu.h"

/*
 * DOC: Input
 *
 * A sequence of at most MAX_OPS ops; each starts with two bytes:
 *
 *   u8 op    % NOPS: 0..FUZZ_NABI-1 the ioctl with that number
 *            (UGPU_IOCTL_*), then SETTLE, WRITE, INTERRUPT, RAW, SWITCH,
 *            RELEASE, MM
 *   u8 fix   FIX_* bits: which fields the harness makes plausible
 *
 * An ioctl then takes _IOC_SIZE bytes of its struct (zero-filled when the
 * input ends), and with FIX_PTR the arrays it points to: for VM_BIND
 * min(num_binds, 16) ugpu_vm_bind_op when num_binds > 1, then, for
 * VM_BIND and EXEC, min(num_syncs, 8) ugpu_sync.
 *
 *   SETTLE     u8: run the loop until no job is busy, at most (1 + v%16)
 *              * 250 us
 *   WRITE      u8 region (bit 0: shared, else private), u16 offset/4,
 *              u8 len, len bytes: client memory (batches, data)
 *   INTERRUPT  u8 k: the caller of the k-th parked request gets a signal
 *   RAW        u32 cmd, u8 FUSE ioctl flags, u16 in size, u16 out size,
 *              in-size bytes: straight into front_dev_ioctl. Here fix
 *              bit 0 keeps cmd's type byte (else 'u'), bit 1 takes the
 *              number and size of a real command, keeping cmd's direction
 *   SWITCH     open the second file, or make the other file current
 *   RELEASE    u8 (bit 0: without interrupting its parked requests
 *              first): last close of the current file
 *   MM         u8 kind (% 3: madvise DONTNEED, mmap MAP_FIXED over it,
 *              mprotect read-only and back), u8 region (bit 0: shared),
 *              u16 first page, u8 pages - 1: the client changes its
 *              memory under its userptrs (userfaultfd events); done on a
 *              second thread while this one runs the loop, since the
 *              watcher must read the event before the call returns
 */

#define MAX_OPS		48
#define MAX_REQS	(3 * MAX_OPS + 8)

enum {
	OP_SETTLE = FUZZ_NABI, OP_WRITE, OP_INTERRUPT, OP_RAW, OP_SWITCH, OP_RELEASE, OP_MM,
	NOPS
};

/* UGPU_FUZZ_TRACE=1: print every request and its answer (for triage). */
static bool trace;

/* ---- a fake libfuse: every reply recorded and checked ------------------- */

enum reply_kind { K_NONE, K_ERR, K_OPEN, K_IOCTL, K_RETRY };

struct freq {
	struct fuse_ctx ctx;
	int file;			/* which of files[] it came on */
	unsigned int cmd;
	int replies;
	enum reply_kind kind;
	int err;
	size_t out_size, n_in, n_out, in_len, out_len;
	bool preint;			/* interrupted before it registered */
	fuse_interrupt_func_t ifunc;
	void *idata;
};

static struct freq reqs[MAX_REQS];
static unsigned int nreqs;

static struct freq *fr(fuse_req_t req)
{
	return (struct freq *)req;
}

static void replied(struct freq *r, enum reply_kind kind)
{
	FUZZ_REQUIRE(r->replies == 0, "request %u (cmd %#x) replied twice (first %d, now %d)",
		     (unsigned int)(r - reqs), r->cmd, r->kind, kind);
	r->replies++;
	r->kind = kind;
}

static void trace_reply(const struct freq *r, const void *buf, size_t size)
{
	const uint64_t *w = buf;

	if (!trace)
		return;
	fprintf(stderr, "  req %u cmd %#x: %s", (unsigned int)(r - reqs), r->cmd,
		r->kind == K_ERR ? "errno" : r->kind == K_RETRY ? "retry" :
		r->kind == K_OPEN ? "open" : "ok");
	if (r->kind == K_ERR)
		fprintf(stderr, " %d", r->err);
	for (size_t i = 0; i < size / 8 && i < 6; i++)
		fprintf(stderr, " %#llx", (unsigned long long)w[i]);
	fputc('\n', stderr);
}

static const struct fuse_ctx *fake_ctx(fuse_req_t req)
{
	return &fr(req)->ctx;
}

static int fake_err(fuse_req_t req, int err)
{
	replied(fr(req), K_ERR);
	FUZZ_REQUIRE(err >= 0 && err < 4096, "reply_err(%d)", err);
	fr(req)->err = err;
	trace_reply(fr(req), NULL, 0);
	return 0;
}

static int fake_open(fuse_req_t req, const struct fuse_file_info *fi)
{
	replied(fr(req), K_OPEN);
	return 0;
}

static int fake_ioctl(fuse_req_t req, int result, const void *buf, size_t size)
{
	struct freq *r = fr(req);
	unsigned int cmd = r->cmd;

	replied(r, K_IOCTL);
	r->out_size = size;
	trace_reply(r, buf, size);
	FUZZ_REQUIRE(result == 0, "ioctl reply with result %d", result);
	FUZZ_REQUIRE(size == ((_IOC_DIR(cmd) & _IOC_READ) ? _IOC_SIZE(cmd) : 0),
		     "cmd %#x answered with %zu bytes", cmd, size);
	if (size)
		fx_record_reply(cmd, buf);
	return 0;
}

static int fake_retry(fuse_req_t req, const struct iovec *in_iov, size_t in_count,
		      const struct iovec *out_iov, size_t out_count)
{
	struct freq *r = fr(req);

	replied(r, K_RETRY);
	r->n_in = in_count;
	r->n_out = out_count;
	r->in_len = in_count ? in_iov[0].iov_len : 0;
	r->out_len = out_count ? out_iov[0].iov_len : 0;
	return 0;
}

/* Like libfuse: an interrupt that came first fires at registration. */
static void fake_interrupt_func(fuse_req_t req, fuse_interrupt_func_t func, void *data)
{
	struct freq *r = fr(req);

	FUZZ_REQUIRE(r->replies == 0, "interrupt registered on an answered request");
	r->ifunc = func;
	r->idata = data;
	if (r->preint)
		func(req, data);
}

static const struct front_fuse_api fake_api = {
	.req_ctx = fake_ctx,
	.reply_err = fake_err,
	.reply_open = fake_open,
	.reply_ioctl = fake_ioctl,
	.reply_ioctl_retry = fake_retry,
	.interrupt_func = fake_interrupt_func,
};

/* ---- the daemon under test ---------------------------------------------- */

static struct event_base *base;
static struct gpu *gpu;
static struct front *front;
static struct fuse_file_info files[2];
static bool file_open[2];
static int cur;

static struct freq *new_req(uint8_t fix)
{
	struct freq *r;

	FUZZ_REQUIRE(nreqs < MAX_REQS, "request pool");
	r = &reqs[nreqs++];
	memset(r, 0, sizeof(*r));
	r->ctx.pid = (fix & FIX_FOREIGN) ? getppid() : getpid();
	r->ctx.uid = getuid();
	r->ctx.gid = getgid();
	r->file = cur;
	r->preint = fix & FIX_PREINT;
	return r;
}

static bool parked(const struct freq *r)
{
	return r->replies == 0 && r->ifunc;
}

static void run_loop(void)
{
	FUZZ_REQUIRE(event_base_loop(base, EVLOOP_NONBLOCK) >= 0, "event loop");
}

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + ts.tv_nsec;
}

static bool idle(void)
{
	return list_empty(&gpu->running) && gpu_busy_jobs(gpu) == 0;
}

static bool no_job_running(void)
{
	return list_empty(&gpu->running);
}

/* After the last close: also no copy on a worker holds a BO any more. */
static bool drained(void)
{
	return idle() && gpu->nbos == 0;
}

/* Run the loop until @done() or @max_ns passed. */
static void settle(bool (*done)(void), uint64_t max_ns)
{
	uint64_t end = now_ns() + max_ns;

	for (;;) {
		run_loop();
		if (done() || now_ns() >= end)
			return;
		usleep(50);
	}
}

static void open_file(int i)
{
	struct freq *r;

	cur = i;
	r = new_req(0);
	memset(&files[i], 0, sizeof(files[i]));
	front_dev_open(front, (fuse_req_t)r, &files[i]);
	FUZZ_REQUIRE(r->replies == 1 && r->kind == K_OPEN, "open of the device failed: %d",
		     r->err);
	file_open[i] = true;
}

/* The caller of a parked request gets a signal; the loop cancels it. */
static void interrupt(struct freq *r)
{
	r->ifunc((fuse_req_t)r, r->idata);
}

static void release_file(int i, bool interrupt_first)
{
	struct freq *r;

	if (interrupt_first) {
		for (unsigned int k = 0; k < nreqs; k++)
			if (reqs[k].file == i && parked(&reqs[k]))
				interrupt(&reqs[k]);
		run_loop();
		for (unsigned int k = 0; k < nreqs; k++)
			FUZZ_REQUIRE(reqs[k].file != i || !parked(&reqs[k]),
				     "request %u (cmd %#x) still parked after its interrupt",
				     k, reqs[k].cmd);
	}
	if (fx_avoid_gate_uaf)
		settle(no_job_running, 1000000000ull);
	cur = i;
	r = new_req(0);
	front_dev_release(front, (fuse_req_t)r, &files[i]);
	FUZZ_REQUIRE(r->replies == 1 && r->kind == K_ERR && r->err == 0, "release reply");
	file_open[i] = false;
}

/* ---- ops ---------------------------------------------------------------- */

/* One ugpu ioctl as a FUSE (or, FIX_CUSE, a CUSE) client sends it. */
static void do_ioctl(unsigned int cmd, struct fuzz_in *in, uint8_t fix)
{
	uint64_t data[160 / 8];
	size_t size = _IOC_SIZE(cmd);
	size_t in_size = (_IOC_DIR(cmd) & _IOC_WRITE) ? size : 0;
	size_t out_size = (_IOC_DIR(cmd) & _IOC_READ) ? size : 0;
	unsigned int flags = 0;
	struct freq *r;
	int uffd;

	_Static_assert(sizeof(struct ugpu_stats) <= sizeof(data), "ioctl buffer");
	memset(data, 0, sizeof(data));
	fuzz_bytes(in, data, size);
	uffd = fx_fix_struct(cmd, data, in, fix);
	if (trace) {
		fprintf(stderr, "req %u: cmd %#x fix %#x file %d:", nreqs, cmd, fix, cur);
		for (size_t i = 0; i < size / 8; i++)
			fprintf(stderr, " %#llx", (unsigned long long)data[i]);
		fputc('\n', stderr);
	}

	if (fix & FIX_CUSE) {
		/* Unrestricted: the first call carries nothing, the kernel retries. */
		r = new_req(fix);
		r->cmd = cmd;
		front_dev_ioctl(front, (fuse_req_t)r, cmd, (void *)0x1000, &files[cur],
				FUSE_IOCTL_UNRESTRICTED, NULL, 0, 0);
		FUZZ_REQUIRE(r->replies == 1 && r->kind == K_RETRY &&
			     r->n_in == !!in_size && r->in_len == in_size &&
			     r->n_out == !!out_size && r->out_len == out_size,
			     "cmd %#x: no proper retry round", cmd);
		flags = FUSE_IOCTL_UNRESTRICTED;
	}
	r = new_req(fix);
	r->cmd = cmd;
	front_dev_ioctl(front, (fuse_req_t)r, cmd, (void *)0x1000, &files[cur], flags,
			data, in_size, out_size);
	if (uffd >= 0)
		close(uffd);
	FUZZ_REQUIRE(r->replies == 1 || parked(r), "cmd %#x: neither answered nor parked", cmd);
}

/* Any command, flags and sizes, straight into the dispatch. */
static void do_raw(struct fuzz_in *in, uint8_t fix)
{
	unsigned int cmd = fuzz_u32(in), flags = fuzz_u8(in) & 0x3f;
	size_t in_size = fuzz_u16(in) % 320, out_size = fuzz_u16(in) % 320;
	uint64_t data[320 / 8];
	struct freq *r;
	int want;

	/* Mostly a ugpu command, so the size and direction checks are hit. */
	if (!(fix & 1))
		cmd = (cmd & ~((unsigned int)_IOC_TYPEMASK << _IOC_TYPESHIFT)) |
		      (UGPU_IOCTL_BASE << _IOC_TYPESHIFT);
	if (fix & 2)
		cmd = (fuzz_abi[cmd % FUZZ_NABI] & ~DIRBITS) |
		      (cmd & DIRBITS);
	memset(data, 0, sizeof(data));
	fuzz_bytes(in, data, in_size);
	want = fuzz_expected_check(cmd, flags, in_size, out_size);
	if (want == 0)
		fx_confine_struct(cmd, data);
	r = new_req(0);
	r->cmd = cmd;
	front_dev_ioctl(front, (fuse_req_t)r, cmd, (void *)0x1000, &files[cur], flags,
			in_size ? data : NULL, in_size, out_size);
	if (want < 0)
		FUZZ_REQUIRE(r->replies == 1 && r->kind == K_ERR && r->err == -want,
			     "cmd %#x flags %#x in %zu out %zu: reply %d/%d, want errno %d",
			     cmd, flags, in_size, out_size, r->kind, r->err, -want);
	else if (want == 1)
		FUZZ_REQUIRE(r->replies == 1 && r->kind == K_RETRY,
			     "cmd %#x: unrestricted empty call without a retry", cmd);
	else
		FUZZ_REQUIRE(r->replies == 1 || parked(r), "cmd %#x: neither answered nor parked",
			     cmd);
}

static void do_write(struct fuzz_in *in)
{
	const struct region *rg = &fx_reg[(fuzz_u8(in) & 1) ? R_SHARED : R_PRIV];
	uint64_t off = (uint64_t)fuzz_u16(in) * 4 % rg->size;
	size_t len = fuzz_u8(in);

	if (len > rg->size - off)
		len = rg->size - off;
	fuzz_bytes(in, (void *)(uintptr_t)(rg->base + off), len);
}

struct mm_op {
	int kind;
	char *addr;
	size_t len;
	int fd;			/* the memfd for shared memory, else -1 */
	off_t off;
	int err;
	int done;		/* atomic */
};

/* The client's own thread changing its address space. */
static void *mm_main(void *arg)
{
	struct mm_op *m = arg;
	int flags = m->fd >= 0 ? MAP_SHARED : MAP_PRIVATE | MAP_ANONYMOUS;

	switch (m->kind) {
	case 0:
		m->err = madvise(m->addr, m->len, MADV_DONTNEED) ? errno : 0;
		break;
	case 1:
		/* Replaces the pages in place: never a hole another mmap could take. */
		m->err = mmap(m->addr, m->len, PROT_READ | PROT_WRITE, flags | MAP_FIXED, m->fd,
			      m->off) == m->addr ? 0 : errno;
		break;
	default:
		m->err = mprotect(m->addr, m->len, PROT_READ) ? errno : 0;
		usleep(200);
		if (mprotect(m->addr, m->len, PROT_READ | PROT_WRITE))
			m->err = errno;
		break;
	}
	__atomic_store_n(&m->done, 1, __ATOMIC_RELEASE);
	return NULL;
}

static void do_mm(struct fuzz_in *in)
{
	struct mm_op m = { .kind = fuzz_u8(in) % 3, .fd = -1 };
	int r = (fuzz_u8(in) & 1) ? R_SHARED : R_PRIV;
	uint64_t pages = fx_reg[r].size / PAGE, first = fuzz_u16(in) % pages;
	uint64_t n = 1 + fuzz_u8(in) % 16;
	pthread_t thr;

	if (n > pages - first)
		n = pages - first;
	m.addr = (char *)(uintptr_t)(fx_reg[r].base + first * PAGE);
	m.len = n * PAGE;
	if (r == R_SHARED) {
		m.fd = fx_memfd;
		m.off = (off_t)(first * PAGE);
	}
	FUZZ_REQUIRE(pthread_create(&thr, NULL, mm_main, &m) == 0, "mm thread");
	/* An munmap or madvise returns once the watcher read its event. */
	for (uint64_t end = now_ns() + 2000000000ull;
	     !__atomic_load_n(&m.done, __ATOMIC_ACQUIRE) && now_ns() < end;) {
		run_loop();
		usleep(20);
	}
	FUZZ_REQUIRE(__atomic_load_n(&m.done, __ATOMIC_ACQUIRE),
		     "kind %d on %zu bytes of client memory blocked for 2 s: the "
		     "userfaultfd event was never read", m.kind, m.len);
	pthread_join(thr, NULL);
	FUZZ_REQUIRE(m.err == 0, "client memory operation %d failed: %s", m.kind,
		     strerror(m.err));
}

static void do_interrupt(struct fuzz_in *in)
{
	unsigned int k = fuzz_u8(in), n = 0;

	for (unsigned int i = 0; i < nreqs; i++)
		if (parked(&reqs[i]))
			n++;
	if (!n)
		return;
	k %= n;
	for (unsigned int i = 0; i < nreqs; i++)
		if (parked(&reqs[i]) && k-- == 0) {
			interrupt(&reqs[i]);
			return;
		}
}

/* ---- libFuzzer entry points --------------------------------------------- */

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	struct gpu_config cfg = {
		.backend = "sim",
		/* A batch that never ends costs 20 ms, not the default 2 s. */
		.hang_timeout_ns = 20 * 1000 * 1000,
		/* Small quotas: reached often, and no input can eat the RAM. */
		.limits = {
			.max_vms = 8, .max_bos = 16, .max_userptrs = 64,
			.max_bound_bytes = 64ull << 20, .max_bo_bytes = 8ull << 20,
			.max_inflight = 32, .max_syncobjs = 32,
		},
	};

	trace = getenv("UGPU_FUZZ_TRACE") != NULL;
	signal(SIGPIPE, SIG_IGN);
	fx_init();
	base = event_base_new();
	FUZZ_REQUIRE(base, "event base");
	FUZZ_REQUIRE(gpu_create(base, &cfg, &gpu) == 0, "gpu_create");
	FUZZ_REQUIRE(front_new(base, NULL, &gpu_front_ops, gpu, &fake_api, &front) == 0,
		     "front_new");
	return 0;
}

/* One op of the input. */
static void run_op(struct fuzz_in *in)
{
	unsigned int op = fuzz_u8(in) % NOPS;
	uint8_t fix = fuzz_u8(in);

	switch (op) {
	case OP_SETTLE:
		settle(idle, (1 + fuzz_u8(in) % 16) * 250000ull);
		break;
	case OP_WRITE:
		do_write(in);
		break;
	case OP_INTERRUPT:
		do_interrupt(in);
		break;
	case OP_RAW:
		do_raw(in, fix);
		break;
	case OP_SWITCH:
		if (!file_open[!cur])
			open_file(!cur);
		else
			cur = !cur;
		break;
	case OP_MM:
		do_mm(in);
		break;
	case OP_RELEASE:
		release_file(cur, !(fuzz_u8(in) & 1));
		if (file_open[!cur])
			cur = !cur;
		else
			open_file(cur);
		break;
	default:
		do_ioctl(fuzz_abi[op], in, fix);
		break;
	}
}

/*
 * The end: signals for the parked callers, last closes, jobs reaped. The
 * invariants, on top of the sanitizers and of the per-request checks of
 * the fake libfuse (one reply each, data only for _IOC_READ at its size,
 * refusals as the ABI promises in do_raw()): no request left unanswered,
 * nothing left in the front, the device-wide counters back to zero
 * clients, VMs, BOs, userptrs and bound bytes, and every submitted job
 * completed or failed.
 */
static void finish(void)
{
	struct ugpu_stats st;

	for (int i = 0; i < 2; i++)
		if (file_open[i])
			release_file(i, true);
	settle(drained, 5000000000ull);
	FUZZ_REQUIRE(drained(), "jobs or copies still running 5 s after the last close");
	for (unsigned int k = 0; k < nreqs; k++)
		FUZZ_REQUIRE(reqs[k].replies == 1, "request %u (cmd %#x) never answered",
			     k, reqs[k].cmd);
	FUZZ_REQUIRE(list_empty(&front->parked) && list_empty(&front->interrupted) &&
		     list_empty(&front->files), "the front still holds requests or files");
	gpu_get_stats(gpu, &st);
	FUZZ_REQUIRE(!st.clients && !st.vms && !st.bos && !st.userptrs && !st.bound_bytes,
		     "after the last close: %llu clients %llu vms %llu bos %llu userptrs "
		     "%llu bound bytes", (unsigned long long)st.clients,
		     (unsigned long long)st.vms, (unsigned long long)st.bos,
		     (unsigned long long)st.userptrs, (unsigned long long)st.bound_bytes);
	FUZZ_REQUIRE(st.jobs_submitted == st.jobs_completed + st.jobs_failed,
		     "%llu jobs submitted, %llu completed, %llu failed",
		     (unsigned long long)st.jobs_submitted,
		     (unsigned long long)st.jobs_completed,
		     (unsigned long long)st.jobs_failed);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_in in = { data, size };

	nreqs = 0;
	fx_reset();
	open_file(0);
	for (int n = 0; n < MAX_OPS && fuzz_left(&in); n++) {
		run_op(&in);
		run_loop();
	}
	finish();
	return 0;
}
