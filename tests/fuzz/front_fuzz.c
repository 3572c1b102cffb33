// SPDX-License-Identifier: MIT
/*
 * libFuzzer harness of the transports' device-file dispatch
 * (daemon/front/dispatch.c: front_dev_open/ioctl/release, parking,
 * interrupts, front_req_complete, front_drop_all) against a scripted core
 * and a fake libfuse, with a model of what each request must get. The
 * input interleaves opens (failing, or interrupted so the reply fails),
 * ioctls with any command, FUSE flags and buffer sizes, core answers (now,
 * parked, out of contract), completions of parked requests, interrupts
 * (before and after parking, twice), loop runs, releases with requests
 * still parked, and a stop of the whole front. Checked after every step:
 * each request is answered exactly once and with what the model says (the
 * ABI's command checks, the core's result or EIO for a broken contract,
 * EINTR, EBADF, ENODEV); the core sees only commands that pass the checks,
 * with the caller's struct (zeroes for _IOC_READ-only), the right size,
 * caller and session; the core is never asked to cancel a request it does
 * not hold, and a session is released exactly once with nothing parked.
 */
#include <errno.h>
#include <event2/event.h>

#include "front/front_internal.h"
#include "fuzz.h"
#include "uapi/ugpu.h"

/*
 * DOC: Input
 *
 * At most MAX_OPS ops, each a u8 (% 8) and its operands:
 *   0 OPEN       u8 core result (0: ok, else an errno), u8 bit 0: the
 *                opener was interrupted (reply_open fails)
 *   1 IOCTL      u8 file, u32 cmd, u8 FUSE flags, u8 size mode, u8 core
 *                action, u8 bit 0: interrupted before it parks; then the
 *                struct bytes
 *   2 COMPLETE   u8 which parked request, u8 result
 *   3 INTERRUPT  u8 which unanswered parked request
 *   4 LOOP       run the loop (flushes interrupts)
 *   5 RELEASE    u8 file
 *   6 STOP       front_stop, then a new front
 *   7 LOOP
 */

#define MAX_OPS		64
#define MAX_REQS	(MAX_OPS + 8)
#define MAX_FILES	4

enum reply_kind { K_NONE, K_ERR, K_OPEN, K_IOCTL, K_RETRY };

struct freq {
	struct fuse_ctx ctx;
	int replies;
	enum reply_kind kind;
	int err;
	size_t out_size;
	uint8_t out[256];
	bool preint;
	int open_reply_ret;
	fuse_interrupt_func_t ifunc;
	void *idata;
	/* the model */
	enum reply_kind want_kind;	/* once decided; K_NONE while parked */
	int want_err;
	unsigned int cmd;
	uint8_t pattern;		/* what the core wrote into a READ answer */
	struct front_req *held;		/* the core holds it (parked) */
	bool interrupted;		/* its caller was interrupted, not flushed */
	int file;
};

static struct freq reqs[MAX_REQS];
static unsigned int nreqs;

static struct freq *fr(fuse_req_t req)
{
	return (struct freq *)req;
}

static void replied(struct freq *r, enum reply_kind kind)
{
	FUZZ_REQUIRE(r->replies == 0, "request %u replied twice", (unsigned int)(r - reqs));
	r->replies = 1;
	r->kind = kind;
}

static const struct fuse_ctx *fake_ctx(fuse_req_t req)
{
	return &fr(req)->ctx;
}

static int fake_err(fuse_req_t req, int err)
{
	replied(fr(req), K_ERR);
	fr(req)->err = err;
	return 0;
}

static int fake_open(fuse_req_t req, const struct fuse_file_info *fi)
{
	replied(fr(req), K_OPEN);
	return fr(req)->open_reply_ret;
}

static int fake_ioctl(fuse_req_t req, int result, const void *buf, size_t size)
{
	struct freq *r = fr(req);

	replied(r, K_IOCTL);
	FUZZ_REQUIRE(result == 0 && size <= sizeof(r->out), "ioctl reply %d, %zu bytes",
		     result, size);
	memcpy(r->out, buf, size);
	r->out_size = size;
	return 0;
}

static int fake_retry(fuse_req_t req, const struct iovec *in_iov, size_t in_count,
		      const struct iovec *out_iov, size_t out_count)
{
	struct freq *r = fr(req);
	size_t size = _IOC_SIZE(r->cmd);

	replied(r, K_RETRY);
	FUZZ_REQUIRE(in_count == !!(_IOC_DIR(r->cmd) & _IOC_WRITE) &&
		     out_count == !!(_IOC_DIR(r->cmd) & _IOC_READ) &&
		     (!in_count || (in_iov[0].iov_len == size &&
				    in_iov[0].iov_base == (void *)0x1000)) &&
		     (!out_count || (out_iov[0].iov_len == size &&
				     out_iov[0].iov_base == (void *)0x1000)),
		     "retry of cmd %#x asks for the wrong buffers", r->cmd);
	return 0;
}

static void fake_interrupt_func(fuse_req_t req, fuse_interrupt_func_t func, void *data)
{
	struct freq *r = fr(req);

	FUZZ_REQUIRE(r->replies == 0 && r->held, "interrupt registered on a request "
		     "that is not parked");
	r->ifunc = func;
	r->idata = data;
	if (r->preint) {
		r->interrupted = true;
		func(req, data);
	}
}

static const struct front_fuse_api fake_api = {
	.req_ctx = fake_ctx,
	.reply_err = fake_err,
	.reply_open = fake_open,
	.reply_ioctl = fake_ioctl,
	.reply_ioctl_retry = fake_retry,
	.interrupt_func = fake_interrupt_func,
};

/* ---- the scripted core -------------------------------------------------- */

struct file {
	struct fuse_file_info fi;
	bool open;			/* the front holds it */
	bool session_live;		/* the core's session exists */
	uintptr_t session;
};

static struct file files[MAX_FILES];
static uintptr_t next_session = 1;

/* What the next core call does; set by the op that makes the call. */
static struct {
	int open_ret;
	int action;			/* 0 answer, 1 errno, 2 park, 3 out of contract */
	int err;
	int open_file;			/* the file being opened */
	struct freq *req;		/* the request being dispatched */
	const uint8_t *in;		/* the bytes the caller sent */
	size_t in_size;
	bool called;
} next;

static int c_open(void *core, const struct front_caller *who, void **session)
{
	struct file *f = &files[next.open_file];

	if (next.open_ret)
		return next.open_ret;
	f->session = next_session++;
	f->session_live = true;
	*session = (void *)f->session;
	return 0;
}

static struct file *file_of(void *session)
{
	for (int i = 0; i < MAX_FILES; i++)
		if (files[i].session_live && files[i].session == (uintptr_t)session)
			return &files[i];
	return NULL;
}

static void c_release(void *core, void *session)
{
	struct file *f = file_of(session);

	FUZZ_REQUIRE(f, "release of a session that is not live");
	for (unsigned int k = 0; k < nreqs; k++)
		FUZZ_REQUIRE(!reqs[k].held || reqs[k].file != f - files,
			     "session released with request %u still parked", k);
	f->session_live = false;
}

static int c_ioctl(void *core, void *session, const struct front_caller *who,
		   unsigned int cmd, void *data, size_t size, struct front_req *req)
{
	struct freq *r = next.req;
	static const uint8_t zero[256];

	FUZZ_REQUIRE(r && !next.called, "the core called without a request");
	next.called = true;
	FUZZ_REQUIRE(file_of(session) == &files[r->file], "ioctl on the wrong session");
	FUZZ_REQUIRE(front_req_session(req) == session, "front_req_session");
	FUZZ_REQUIRE(cmd == r->cmd && size == _IOC_SIZE(cmd), "cmd %#x size %zu", cmd, size);
	FUZZ_REQUIRE(who->pid == r->ctx.pid && who->uid == r->ctx.uid && who->gid == r->ctx.gid,
		     "wrong caller");
	if (_IOC_DIR(cmd) & _IOC_WRITE)
		FUZZ_REQUIRE(next.in_size == size && !memcmp(data, next.in, size),
			     "the core sees other bytes than the caller sent");
	else
		FUZZ_REQUIRE(!memcmp(data, zero, size), "a read-only struct is not zeroed");
	memset(data, r->pattern, size);
	switch (next.action) {
	case 0:
		return 0;
	case 1:
		return -next.err;
	case 2:
		r->held = req;
		return FRONT_PARKED;
	default:
		return next.err;
	}
}

static void c_cancel(void *core, void *session, struct front_req *req)
{
	for (unsigned int k = 0; k < nreqs; k++)
		if (reqs[k].held == req) {
			FUZZ_REQUIRE(file_of(session) == &files[reqs[k].file],
				     "cancel on the wrong session");
			reqs[k].held = NULL;
			return;
		}
	FUZZ_REQUIRE(0, "cancel of a request the core does not hold");
}

static const struct front_ops core_ops = {
	.open = c_open,
	.release = c_release,
	.ioctl = c_ioctl,
	.cancel = c_cancel,
};

static struct event_base *base;
static struct front *front;

/* ---- the model ---------------------------------------------------------- */

static const int errnos[] = { EINVAL, ENOENT, EFAULT, EDQUOT, ENOMEM, EAGAIN, ETIME,
			      ESHUTDOWN, EIO, EBUSY, 4095 };

/* The answer a core result turns into. */
static void want_result(struct freq *r, int result)
{
	if (result == 0) {
		r->want_kind = K_IOCTL;
	} else {
		r->want_kind = K_ERR;
		r->want_err = result < 0 && result >= -4095 ? -result : EIO;
	}
}

static void check_reply(const struct freq *r)
{
	size_t out = (_IOC_DIR(r->cmd) & _IOC_READ) ? _IOC_SIZE(r->cmd) : 0;
	unsigned int k = (unsigned int)(r - reqs);

	FUZZ_REQUIRE(r->replies == 1 && r->kind == r->want_kind,
		     "request %u (cmd %#x): reply %d x%d, want %d", k, r->cmd, r->kind,
		     r->replies, r->want_kind);
	if (r->kind == K_ERR)
		FUZZ_REQUIRE(r->err == r->want_err, "request %u (cmd %#x): errno %d, want %d",
			     k, r->cmd, r->err, r->want_err);
	if (r->kind == K_IOCTL) {
		FUZZ_REQUIRE(r->out_size == out, "request %u: %zu bytes back, want %zu",
			     k, r->out_size, out);
		for (size_t i = 0; i < out; i++)
			FUZZ_REQUIRE(r->out[i] == r->pattern, "request %u: wrong data back", k);
	}
}

static struct freq *new_req(int file)
{
	struct freq *r;

	FUZZ_REQUIRE(nreqs < MAX_REQS, "request pool");
	r = &reqs[nreqs++];
	memset(r, 0, sizeof(*r));
	r->ctx.pid = 1000 + (int)nreqs;
	r->ctx.uid = 7;
	r->ctx.gid = 8;
	r->file = file;
	r->pattern = (uint8_t)(0x40 + nreqs);
	return r;
}

/* Requests whose answer is decided now get checked now. */
static void check_decided(void)
{
	for (unsigned int k = 0; k < nreqs; k++)
		if (reqs[k].want_kind != K_NONE)
			check_reply(&reqs[k]);
		else
			FUZZ_REQUIRE(reqs[k].replies == 0, "request %u answered while parked", k);
}

static void run_loop(void)
{
	FUZZ_REQUIRE(event_base_loop(base, EVLOOP_NONBLOCK) >= 0, "loop");
	/* Interrupted requests the core still held are cancelled: EINTR. */
	for (unsigned int k = 0; k < nreqs; k++)
		if (reqs[k].interrupted && reqs[k].want_kind == K_NONE) {
			FUZZ_REQUIRE(!reqs[k].held, "interrupted request %u not cancelled", k);
			reqs[k].want_kind = K_ERR;
			reqs[k].want_err = EINTR;
		}
}

static void do_open(struct fuzz_in *in)
{
	int err = fuzz_u8(in), fail = fuzz_u8(in) & 1, i;
	struct freq *r;

	for (i = 0; i < MAX_FILES && files[i].open; i++)
		;
	if (i == MAX_FILES)
		return;
	r = new_req(i);
	next.open_ret = err % 8 ? -errnos[err % 11] : 0;
	next.open_file = i;
	r->open_reply_ret = fail ? -ENOENT : 0;
	memset(&files[i].fi, 0, sizeof(files[i].fi));
	front_dev_open(front, (fuse_req_t)r, &files[i].fi);
	if (next.open_ret) {
		r->want_kind = K_ERR;
		r->want_err = -next.open_ret;
	} else {
		r->want_kind = K_OPEN;
		/* An interrupted open is released at once; else the file is ours. */
		files[i].open = !fail;
		FUZZ_REQUIRE(files[i].session_live == !fail, "interrupted open not released");
	}
	check_reply(r);
}

static void do_ioctl(struct fuzz_in *in)
{
	int i = fuzz_u8(in) % MAX_FILES;
	unsigned int cmd = fuzz_u32(in), flags = fuzz_u8(in) & 0x3f;
	uint8_t mode = fuzz_u8(in), action = fuzz_u8(in), preint = fuzz_u8(in) & 1;
	static uint8_t buf[1u << _IOC_SIZEBITS];	/* any _IOC_SIZE */
	size_t size, in_size, out_size;
	struct freq *r;
	int want;

	if (!files[i].open)
		return;
	/* Mostly a real command, sometimes with another direction or size. */
	if (mode & 0x80)
		cmd = fuzz_abi[cmd % FUZZ_NABI];
	else if (mode & 0x40)
		cmd = (fuzz_abi[cmd % FUZZ_NABI] & ~DIRBITS) |
		      (cmd & DIRBITS);
	size = _IOC_SIZE(cmd);
	switch (mode & 3) {
	case 0:		/* what FUSE sends for a restricted ioctl */
		in_size = (_IOC_DIR(cmd) & _IOC_WRITE) ? size : 0;
		out_size = (_IOC_DIR(cmd) & _IOC_READ) ? size : 0;
		break;
	case 1:		/* the first round of an unrestricted one */
		in_size = out_size = 0;
		flags |= FUSE_IOCTL_UNRESTRICTED;
		break;
	default:
		in_size = fuzz_u16(in) % 300;
		out_size = fuzz_u16(in) % 300;
		break;
	}
	fuzz_bytes(in, buf, in_size);
	r = new_req(i);
	r->cmd = cmd;
	r->preint = preint;
	want = fuzz_expected_check(cmd, flags, in_size, out_size);
	next.req = r;
	next.called = false;
	next.in = buf;
	next.in_size = in_size;
	next.action = action % 4;
	next.err = next.action == 1 ? errnos[(action >> 2) % 11] :
		   (action & 4) ? 2 + (action >> 3) : -4096 - (action >> 3);
	front_dev_ioctl(front, (fuse_req_t)r, cmd, (void *)0x1000, &files[i].fi, flags,
			in_size ? buf : NULL, in_size, out_size);
	FUZZ_REQUIRE(next.called == (want == 0), "cmd %#x flags %#x in %zu out %zu: core "
		     "called %d, check says %d", cmd, flags, in_size, out_size, next.called,
		     want);
	next.req = NULL;
	if (want < 0) {
		r->want_kind = K_ERR;
		r->want_err = -want;
	} else if (want == 1) {
		r->want_kind = K_RETRY;
	} else if (next.action == 0) {
		want_result(r, 0);
	} else if (next.action == 1) {
		want_result(r, -next.err);
	} else if (next.action == 3) {
		want_result(r, next.err);
	} else {
		FUZZ_REQUIRE(r->ifunc, "parked without an interrupt callback");
	}
	check_decided();
}

/* The k-th request satisfying @ok, or NULL. */
static struct freq *nth(unsigned int k, bool (*ok)(const struct freq *))
{
	unsigned int n = 0;

	for (unsigned int i = 0; i < nreqs; i++)
		n += ok(&reqs[i]);
	if (!n)
		return NULL;
	k %= n;
	for (unsigned int i = 0; i < nreqs; i++)
		if (ok(&reqs[i]) && k-- == 0)
			return &reqs[i];
	return NULL;
}

static bool is_held(const struct freq *r)
{
	return r->held;
}

static bool is_unanswered(const struct freq *r)
{
	return r->want_kind == K_NONE && r->ifunc;
}

static void do_complete(struct fuzz_in *in)
{
	struct freq *r = nth(fuzz_u8(in), is_held);
	uint8_t v = fuzz_u8(in);
	int result = v % 3 == 0 ? 0 : v % 3 == 1 ? -errnos[(v >> 2) % 11] : 5000 + v;
	struct front_req *req;

	if (!r)
		return;
	req = r->held;
	r->held = NULL;
	/* Answered with the core's result even if its caller was interrupted. */
	want_result(r, result);
	front_req_complete(req, result);
	check_decided();
}

static void do_interrupt(struct fuzz_in *in)
{
	struct freq *r = nth(fuzz_u8(in), is_unanswered);

	if (!r)
		return;
	r->interrupted = true;
	r->ifunc((fuse_req_t)r, r->idata);
	check_decided();
}

static void do_release(int i)
{
	struct freq *r;

	if (!files[i].open)
		return;
	/* Never from the kernel with requests in flight; answered anyway. */
	for (unsigned int k = 0; k < nreqs; k++)
		if (reqs[k].file == i && reqs[k].want_kind == K_NONE && reqs[k].ifunc) {
			reqs[k].want_kind = K_ERR;
			reqs[k].want_err = reqs[k].interrupted ? EINTR : EBADF;
		}
	r = new_req(i);
	front_dev_release(front, (fuse_req_t)r, &files[i].fi);
	r->want_kind = K_ERR;
	r->want_err = 0;
	files[i].open = false;
	FUZZ_REQUIRE(!files[i].session_live, "release did not reach the core");
	check_decided();
}

static void do_stop(void)
{
	for (unsigned int k = 0; k < nreqs; k++)
		if (reqs[k].want_kind == K_NONE && reqs[k].ifunc) {
			reqs[k].want_kind = K_ERR;
			reqs[k].want_err = ENODEV;
		}
	front_stop(front);
	for (int i = 0; i < MAX_FILES; i++) {
		FUZZ_REQUIRE(!files[i].session_live, "front_stop left session %d", i);
		files[i].open = false;
	}
	check_decided();
	FUZZ_REQUIRE(front_new(base, NULL, &core_ops, NULL, &fake_api, &front) == 0,
		     "front_new");
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	base = event_base_new();
	FUZZ_REQUIRE(base && front_new(base, NULL, &core_ops, NULL, &fake_api, &front) == 0,
		     "setup");
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_in in = { data, size };

	nreqs = 0;
	memset(files, 0, sizeof(files));
	for (int n = 0; n < MAX_OPS && fuzz_left(&in); n++) {
		switch (fuzz_u8(&in) % 8) {
		case 0: do_open(&in); break;
		case 1: do_ioctl(&in); break;
		case 2: do_complete(&in); break;
		case 3: do_interrupt(&in); break;
		case 5: do_release(fuzz_u8(&in) % MAX_FILES); break;
		case 6: do_stop(); break;
		default: run_loop(); check_decided(); break;
		}
	}
	do_stop();
	run_loop();
	for (unsigned int k = 0; k < nreqs; k++)
		check_reply(&reqs[k]);
	return 0;
}
