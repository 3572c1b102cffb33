// SPDX-License-Identifier: MIT
/*
 * Unit tests of the front's device-file dispatch (daemon/front/dispatch.c),
 * the part the CUSE transport shares with FUSE card0, driven one level
 * below libfuse: the front is built with a fake libfuse that records
 * every reply, so each test can check that a request got exactly one
 * answer, which one, and whether the core saw it. Covers the ioctl
 * checks, the unrestricted (CUSE) retry round, the caller of each
 * request, parking, interrupts and stop. The kernel path of the FUSE
 * transport is in tests/integration/front_fuse_*_test.c; this host has no
 * /dev/cuse, so CUSE itself is only checked for its start errors.
 */
#include <check.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>

#include "front/front_internal.h"
#include "uapi/ugpu.h"

#define ARG ((void *)0x7f0000001000ul)	/* the caller's ioctl argument */
#define MAX_PARKED 4

/* ---- a fake libfuse ---------------------------------------------------- */

enum reply_kind { R_NONE, R_ERR, R_OPEN, R_IOCTL, R_RETRY };

struct fake_req {
	struct fuse_ctx ctx;		/* the caller */
	int open_reply_ret;		/* what reply_open returns */
	bool interrupted;		/* interrupt came before registration */
	int replies;			/* must end at exactly 1 */
	enum reply_kind kind;
	int err;
	int result;
	unsigned char out[256];
	size_t out_size;
	struct iovec in_iov, out_iov;
	size_t n_in, n_out;
	fuse_interrupt_func_t ifunc;
	void *idata;
};

static struct fake_req *fr(fuse_req_t req)
{
	return (struct fake_req *)req;
}

#define REQ(r) ((fuse_req_t)(r))

static const struct fuse_ctx *fake_ctx(fuse_req_t req)
{
	return &fr(req)->ctx;
}

static int fake_err(fuse_req_t req, int err)
{
	fr(req)->replies++;
	fr(req)->kind = R_ERR;
	fr(req)->err = err;
	return 0;
}

static int fake_open(fuse_req_t req, const struct fuse_file_info *fi)
{
	fr(req)->replies++;
	fr(req)->kind = R_OPEN;
	return fr(req)->open_reply_ret;
}

static int fake_ioctl(fuse_req_t req, int result, const void *buf, size_t size)
{
	struct fake_req *r = fr(req);

	r->replies++;
	r->kind = R_IOCTL;
	r->result = result;
	ck_assert_uint_le(size, sizeof(r->out));
	memcpy(r->out, buf, size);
	r->out_size = size;
	return 0;
}

static int fake_retry(fuse_req_t req, const struct iovec *in_iov, size_t in_count,
		      const struct iovec *out_iov, size_t out_count)
{
	struct fake_req *r = fr(req);

	r->replies++;
	r->kind = R_RETRY;
	r->n_in = in_count;
	r->n_out = out_count;
	if (in_count)
		r->in_iov = in_iov[0];
	if (out_count)
		r->out_iov = out_iov[0];
	return 0;
}

/* Like libfuse: an interrupt that came first fires at registration. */
static void fake_interrupt_func(fuse_req_t req, fuse_interrupt_func_t func, void *data)
{
	fr(req)->ifunc = func;
	fr(req)->idata = data;
	if (fr(req)->interrupted)
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

/* ---- a test core -------------------------------------------------------- */

static struct {
	int opens, releases, cancels, ioctls;
	int open_ret;			/* what open returns */
	int create_ret;			/* what VM_CREATE returns */
	struct front_caller open_who, ioctl_who;
	void *released;			/* last released session */
	unsigned int last_cmd;
	size_t last_size;
	unsigned char last_in[256];
	struct front_req *parked[MAX_PARKED];
	struct ugpu_wait *parked_data[MAX_PARKED];
	int n_parked;
	int sessions;			/* session cookies handed out */
} C;

static int c_open(void *core, const struct front_caller *who, void **session)
{
	C.opens++;
	C.open_who = *who;
	if (C.open_ret)
		return C.open_ret;
	*session = (void *)(uintptr_t)++C.sessions;
	return 0;
}

static void c_release(void *core, void *session)
{
	C.releases++;
	C.released = session;
}

static int c_ioctl(void *core, void *session, const struct front_caller *who,
		   unsigned int cmd, void *data, size_t size, struct front_req *req)
{
	struct ugpu_query *q = data;

	C.ioctls++;
	C.ioctl_who = *who;
	C.last_cmd = cmd;
	C.last_size = size;
	memcpy(C.last_in, data, size < sizeof(C.last_in) ? size : sizeof(C.last_in));
	switch (cmd) {
	case UGPU_IOCTL_QUERY:
		q->abi_version = UGPU_ABI_VERSION;
		q->va_bits = q->extensions + 1;
		return 0;
	case UGPU_IOCTL_WAIT:
		ck_assert_int_lt(C.n_parked, MAX_PARKED);
		ck_assert_ptr_eq(front_req_session(req), session);
		C.parked[C.n_parked] = req;
		C.parked_data[C.n_parked++] = data;
		return FRONT_PARKED;
	case UGPU_IOCTL_VM_CREATE:
		return C.create_ret;
	default:
		return 0;
	}
}

static void c_cancel(void *core, void *session, struct front_req *req)
{
	int i;

	C.cancels++;
	for (i = 0; i < C.n_parked; i++) {
		if (C.parked[i] == req) {
			C.parked[i] = C.parked[--C.n_parked];
			C.parked_data[i] = C.parked_data[C.n_parked];
			return;
		}
	}
	ck_abort_msg("cancel of a request the core does not hold");
}

static const struct front_ops core_ops = {
	.open = c_open,
	.release = c_release,
	.ioctl = c_ioctl,
	.cancel = c_cancel,
};

static struct event_base *base;
static struct front *F;

static void setup(void)
{
	memset(&C, 0, sizeof(C));
	base = event_base_new();
	ck_assert_ptr_nonnull(base);
	ck_assert_int_eq(front_new(base, NULL, &core_ops, NULL, &fake_api, &F), 0);
}

static void teardown(void)
{
	front_stop(F);
	F = NULL;
	event_base_free(base);
}

/* Run what the loop has pending (deferred interrupts). */
static void run_loop(void)
{
	ck_assert_int_ge(event_base_loop(base, EVLOOP_NONBLOCK), 0);
}

static void open_as(struct fake_req *r, struct fuse_file_info *fi, pid_t pid, uid_t uid)
{
	memset(fi, 0, sizeof(*fi));
	r->ctx.pid = pid;
	r->ctx.uid = uid;
	r->ctx.gid = uid;
	front_dev_open(F, REQ(r), fi);
	ck_assert_int_eq(r->replies, 1);
}

static void ioctl_as(struct fake_req *r, struct fuse_file_info *fi, pid_t pid,
		     unsigned int cmd, unsigned int flags, const void *in, size_t in_size,
		     size_t out_size)
{
	r->ctx.pid = pid;
	front_dev_ioctl(F, REQ(r), cmd, ARG, fi, flags, in, in_size, out_size);
}

/* A restricted ioctl as FUSE sends it: _IOC_SIZE in and/or out. */
static void ioctl_std(struct fake_req *r, struct fuse_file_info *fi, unsigned int cmd,
		     const void *in)
{
	size_t size = _IOC_SIZE(cmd);

	ioctl_as(r, fi, 100, cmd, 0, in, (_IOC_DIR(cmd) & _IOC_WRITE) ? size : 0,
		 (_IOC_DIR(cmd) & _IOC_READ) ? size : 0);
}

static void release(struct fuse_file_info *fi)
{
	struct fake_req r = { 0 };

	front_dev_release(F, REQ(&r), fi);
	ck_assert_int_eq(r.replies, 1);
	ck_assert_int_eq(r.kind, R_ERR);
	ck_assert_int_eq(r.err, 0);
}

static void assert_err(const struct fake_req *r, int err)
{
	ck_assert_int_eq(r->replies, 1);
	ck_assert_int_eq(r->kind, R_ERR);
	ck_assert_int_eq(r->err, err);
}

/* ---- command checks ------------------------------------------------------ */

START_TEST(test_check_cmd)
{
	static const unsigned int all[] = {
		UGPU_IOCTL_QUERY, UGPU_IOCTL_CLIENT_INIT, UGPU_IOCTL_VM_CREATE,
		UGPU_IOCTL_VM_DESTROY, UGPU_IOCTL_BO_CREATE, UGPU_IOCTL_BO_IMPORT,
		UGPU_IOCTL_BO_DESTROY, UGPU_IOCTL_BO_PREAD, UGPU_IOCTL_BO_PWRITE,
		UGPU_IOCTL_VM_BIND, UGPU_IOCTL_EXEC, UGPU_IOCTL_WAIT,
		UGPU_IOCTL_SYNCOBJ_CREATE, UGPU_IOCTL_SYNCOBJ_DESTROY,
		UGPU_IOCTL_SYNCOBJ_WAIT, UGPU_IOCTL_STATS,
	};
	unsigned int i;

	for (i = 0; i < sizeof(all) / sizeof(all[0]); i++)
		ck_assert_int_eq(front_check_cmd(all[i]), 0);
	ck_assert_int_eq(front_check_cmd(_IOWR('v', 0x00, struct ugpu_query)), -ENOTTY);
	/* The first number past the table. */
	ck_assert_int_eq(front_check_cmd(_IOWR('u', 0x11, struct ugpu_query)), -ENOTTY);
	ck_assert_int_eq(front_check_cmd(_IOWR('u', 0xff, __u64)), -ENOTTY);
	ck_assert_int_eq(front_check_cmd(_IOWR('u', 0x00, __u64)), -EINVAL);
	ck_assert_int_eq(front_check_cmd(_IOR('u', 0x00, struct ugpu_query)), -EINVAL);
	ck_assert_int_eq(front_check_cmd(_IOW('u', 0x00, struct ugpu_query)), -EINVAL);
	ck_assert_int_eq(front_check_cmd(_IO('u', 0x00)), -EINVAL);
	ck_assert_int_eq(front_check_cmd(0), -ENOTTY);
}
END_TEST

/* ---- restricted ioctls (FUSE, CUSE without unrestricted) ---------------- */

START_TEST(test_restricted_round_trip)
{
	struct fake_req o = { 0 }, r = { 0 };
	struct ugpu_query in = { .extensions = 41 };
	const struct ugpu_query *out = (const void *)r.out;
	struct fuse_file_info fi;

	open_as(&o, &fi, 100, 0);
	ioctl_std(&r, &fi, UGPU_IOCTL_QUERY, &in);
	ck_assert_int_eq(C.ioctls, 1);
	ck_assert_uint_eq(C.last_size, sizeof(in));
	ck_assert_int_eq(r.replies, 1);
	ck_assert_int_eq(r.kind, R_IOCTL);
	ck_assert_int_eq(r.result, 0);
	ck_assert_uint_eq(r.out_size, sizeof(in));
	ck_assert_uint_eq(out->extensions, 41);
	ck_assert_uint_eq(out->va_bits, 42);
	ck_assert_uint_eq(out->abi_version, UGPU_ABI_VERSION);
}
END_TEST

START_TEST(test_write_only_returns_no_data)
{
	struct ugpu_vm_destroy in = { .vm_id = 5 };
	struct fake_req o = { 0 }, r = { 0 };
	struct fuse_file_info fi;

	open_as(&o, &fi, 100, 0);
	ioctl_std(&r, &fi, UGPU_IOCTL_VM_DESTROY, &in);
	ck_assert_int_eq(memcmp(C.last_in, &in, sizeof(in)), 0);
	ck_assert_int_eq(r.replies, 1);
	ck_assert_int_eq(r.kind, R_IOCTL);
	ck_assert_uint_eq(r.out_size, 0);
}
END_TEST

START_TEST(test_bad_cmds_never_reach_core)
{
	struct fake_req o = { 0 }, a = { 0 }, b = { 0 }, c = { 0 }, d = { 0 };
	unsigned char junk[72] = { 0 };
	struct fuse_file_info fi;

	open_as(&o, &fi, 100, 0);
	ioctl_as(&a, &fi, 100, _IOWR('v', 0, struct ugpu_query), 0, junk, 72, 72);
	ioctl_as(&b, &fi, 100, _IOWR('u', 0x7f, __u64), 0, junk, 8, 8);
	ioctl_as(&c, &fi, 100, _IOWR('u', 0x00, __u64), 0, junk, 8, 8);
	/* The right command with another amount of data than its size. */
	ioctl_as(&d, &fi, 100, UGPU_IOCTL_QUERY, 0, junk, 8, 72);
	assert_err(&a, ENOTTY);
	assert_err(&b, ENOTTY);
	assert_err(&c, EINVAL);
	assert_err(&d, EINVAL);
	ck_assert_int_eq(C.ioctls, 0);
}
END_TEST

START_TEST(test_core_errno_comes_back)
{
	struct fake_req o = { 0 }, a = { 0 }, b = { 0 }, c = { 0 };
	struct ugpu_vm_create in = { 0 };
	struct fuse_file_info fi;

	open_as(&o, &fi, 100, 0);
	C.create_ret = -ENOSPC;
	ioctl_std(&a, &fi, UGPU_IOCTL_VM_CREATE, &in);
	assert_err(&a, ENOSPC);
	/* Out of contract: neither 0, -errno nor FRONT_PARKED. */
	C.create_ret = 7;
	ioctl_std(&b, &fi, UGPU_IOCTL_VM_CREATE, &in);
	assert_err(&b, EIO);
	C.create_ret = -5000;
	ioctl_std(&c, &fi, UGPU_IOCTL_VM_CREATE, &in);
	assert_err(&c, EIO);
}
END_TEST

/* ---- unrestricted ioctls: the CUSE retry round -------------------------- */

START_TEST(test_retry_asks_for_the_struct)
{
	struct fake_req o = { 0 }, r = { 0 }, w = { 0 };
	struct fuse_file_info fi;

	open_as(&o, &fi, 100, 0);
	ioctl_as(&r, &fi, 100, UGPU_IOCTL_QUERY, FUSE_IOCTL_UNRESTRICTED, NULL, 0, 0);
	ck_assert_int_eq(r.replies, 1);
	ck_assert_int_eq(r.kind, R_RETRY);
	ck_assert_uint_eq(r.n_in, 1);
	ck_assert_uint_eq(r.n_out, 1);
	ck_assert_ptr_eq(r.in_iov.iov_base, ARG);
	ck_assert_uint_eq(r.in_iov.iov_len, sizeof(struct ugpu_query));
	ck_assert_ptr_eq(r.out_iov.iov_base, ARG);
	ck_assert_uint_eq(r.out_iov.iov_len, sizeof(struct ugpu_query));
	/* _IOW: fetch only. */
	ioctl_as(&w, &fi, 100, UGPU_IOCTL_VM_DESTROY, FUSE_IOCTL_UNRESTRICTED, NULL, 0, 0);
	ck_assert_int_eq(w.kind, R_RETRY);
	ck_assert_uint_eq(w.n_in, 1);
	ck_assert_uint_eq(w.n_out, 0);
	ck_assert_uint_eq(w.in_iov.iov_len, sizeof(struct ugpu_vm_destroy));
	ck_assert_int_eq(C.ioctls, 0);
}
END_TEST

START_TEST(test_retry_then_served)
{
	struct ugpu_query in = { .extensions = 1 };
	struct fake_req o = { 0 }, r = { 0 };
	struct fuse_file_info fi;

	open_as(&o, &fi, 100, 0);
	ioctl_as(&r, &fi, 100, UGPU_IOCTL_QUERY, FUSE_IOCTL_UNRESTRICTED, &in,
		 sizeof(in), sizeof(in));
	ck_assert_int_eq(C.ioctls, 1);
	ck_assert_int_eq(r.replies, 1);
	ck_assert_int_eq(r.kind, R_IOCTL);
	ck_assert_uint_eq(((const struct ugpu_query *)r.out)->va_bits, 2);
}
END_TEST

START_TEST(test_retry_refused_for_bad_cmds)
{
	struct fake_req o = { 0 }, a = { 0 }, b = { 0 }, c = { 0 };
	unsigned char junk[8] = { 0 };
	struct fuse_file_info fi;

	open_as(&o, &fi, 100, 0);
	ioctl_as(&a, &fi, 100, _IO('x', 1), FUSE_IOCTL_UNRESTRICTED, NULL, 0, 0);
	ioctl_as(&b, &fi, 100, _IOWR('u', 0x00, __u64), FUSE_IOCTL_UNRESTRICTED, NULL, 0, 0);
	/* A retried call that brought less than was asked for. */
	ioctl_as(&c, &fi, 100, UGPU_IOCTL_QUERY, FUSE_IOCTL_UNRESTRICTED, junk, 8, 0);
	assert_err(&a, ENOTTY);
	assert_err(&b, EINVAL);
	assert_err(&c, EINVAL);
	ck_assert_int_eq(C.ioctls, 0);
}
END_TEST

/* ---- sessions and callers ---------------------------------------------- */

START_TEST(test_open_release)
{
	struct fake_req o = { 0 };
	struct fuse_file_info fi;
	struct front_file *file;

	open_as(&o, &fi, 100, 1000);
	ck_assert_int_eq(o.kind, R_OPEN);
	ck_assert_int_eq(C.opens, 1);
	ck_assert_int_eq(C.open_who.pid, 100);
	ck_assert_uint_eq(C.open_who.uid, 1000);
	ck_assert_uint_eq(C.open_who.gid, 1000);
	ck_assert(fi.direct_io && fi.nonseekable);
	file = (struct front_file *)(uintptr_t)fi.fh;
	ck_assert_ptr_eq(front_file_by_id(F, file->id), file);
	release(&fi);
	ck_assert_int_eq(C.releases, 1);
	ck_assert_ptr_eq(C.released, (void *)1);
}
END_TEST

START_TEST(test_open_refused_by_core)
{
	struct fake_req o = { 0 };
	struct fuse_file_info fi;

	C.open_ret = -EMFILE;
	open_as(&o, &fi, 100, 0);
	assert_err(&o, EMFILE);
	front_stop(F);	/* no session to release */
	F = NULL;
	ck_assert_int_eq(C.releases, 0);
}
END_TEST

START_TEST(test_open_reply_lost)
{
	struct fake_req o = { .open_reply_ret = -ENOENT };
	struct fuse_file_info fi;

	/* The opener was interrupted: the kernel will never release this. */
	open_as(&o, &fi, 100, 0);
	ck_assert_int_eq(C.opens, 1);
	ck_assert_int_eq(C.releases, 1);
}
END_TEST

START_TEST(test_caller_of_each_request)
{
	struct fake_req o = { 0 }, r = { 0 };
	struct ugpu_query in = { 0 };
	struct fuse_file_info fi;

	open_as(&o, &fi, 100, 0);
	r.ctx.uid = 7;
	ioctl_as(&r, &fi, 200, UGPU_IOCTL_QUERY, 0, &in, sizeof(in), sizeof(in));
	ck_assert_int_eq(C.ioctl_who.pid, 200);
	ck_assert_uint_eq(C.ioctl_who.uid, 7);
	ck_assert_int_eq(C.open_who.pid, 100);
}
END_TEST

START_TEST(test_client_names)
{
	struct fake_req o1 = { 0 }, o2 = { 0 }, o3 = { 0 };
	struct fuse_file_info f1, f2, f3;

	open_as(&o1, &f1, 100, 0);
	open_as(&o2, &f2, 100, 0);
	open_as(&o3, &f3, 300, 0);
	ck_assert_str_eq(((struct front_file *)(uintptr_t)f1.fh)->name, "100");
	ck_assert_str_eq(((struct front_file *)(uintptr_t)f2.fh)->name, "100.2");
	ck_assert_str_eq(((struct front_file *)(uintptr_t)f3.fh)->name, "300");
}
END_TEST

/* ---- parked requests ---------------------------------------------------- */

static void park(struct fake_req *r, struct fuse_file_info *fi)
{
	struct ugpu_wait in = { .fence = 3 };

	ioctl_std(r, fi, UGPU_IOCTL_WAIT, &in);
	ck_assert_int_eq(r->replies, 0);
	ck_assert_ptr_nonnull(r->ifunc);
}

START_TEST(test_park_then_complete)
{
	struct fake_req o = { 0 }, w = { 0 }, q = { 0 };
	struct ugpu_query in = { 0 };
	const struct ugpu_wait *out = (const void *)w.out;
	struct fuse_file_info fi;

	open_as(&o, &fi, 100, 0);
	park(&w, &fi);
	ck_assert_int_eq(C.n_parked, 1);
	ck_assert_uint_eq(C.parked_data[0]->fence, 3);
	/* The same file is served meanwhile. */
	ioctl_std(&q, &fi, UGPU_IOCTL_QUERY, &in);
	ck_assert_int_eq(q.replies, 1);

	C.parked_data[0]->status = -EIO;
	front_req_complete(C.parked[0], 0);
	ck_assert_int_eq(w.replies, 1);
	ck_assert_int_eq(w.kind, R_IOCTL);
	ck_assert_uint_eq(w.out_size, sizeof(struct ugpu_wait));
	ck_assert_int_eq(out->status, -EIO);
	ck_assert_uint_eq(out->fence, 3);
	run_loop();
	ck_assert_int_eq(w.replies, 1);
	ck_assert_int_eq(C.cancels, 0);
}
END_TEST

START_TEST(test_park_then_fail)
{
	struct fake_req o = { 0 }, w = { 0 };
	struct fuse_file_info fi;

	open_as(&o, &fi, 100, 0);
	park(&w, &fi);
	front_req_complete(C.parked[0], -ETIME);
	assert_err(&w, ETIME);
}
END_TEST

START_TEST(test_interrupt_cancels_from_the_loop)
{
	struct fake_req o = { 0 }, w = { 0 };
	struct fuse_file_info fi;

	open_as(&o, &fi, 100, 0);
	park(&w, &fi);
	w.ifunc(REQ(&w), w.idata);
	w.ifunc(REQ(&w), w.idata);	/* a second interrupt is nothing more */
	/* Not from inside libfuse's callback: from the loop. */
	ck_assert_int_eq(w.replies, 0);
	ck_assert_int_eq(C.cancels, 0);
	run_loop();
	assert_err(&w, EINTR);
	ck_assert_int_eq(C.cancels, 1);
	ck_assert_int_eq(C.n_parked, 0);
	release(&fi);
	ck_assert_int_eq(C.releases, 1);
}
END_TEST

START_TEST(test_complete_beats_interrupt)
{
	struct fake_req o = { 0 }, w = { 0 };
	struct fuse_file_info fi;

	open_as(&o, &fi, 100, 0);
	park(&w, &fi);
	w.ifunc(REQ(&w), w.idata);
	front_req_complete(C.parked[0], 0);
	ck_assert_int_eq(w.replies, 1);
	ck_assert_int_eq(w.kind, R_IOCTL);
	run_loop();
	ck_assert_int_eq(w.replies, 1);
	ck_assert_int_eq(C.cancels, 0);
}
END_TEST

START_TEST(test_interrupted_before_registration)
{
	struct fake_req o = { 0 }, w = { .interrupted = true };
	struct ugpu_wait in = { 0 };
	struct fuse_file_info fi;

	open_as(&o, &fi, 100, 0);
	ioctl_std(&w, &fi, UGPU_IOCTL_WAIT, &in);
	ck_assert_int_eq(w.replies, 0);
	run_loop();
	assert_err(&w, EINTR);
	ck_assert_int_eq(C.cancels, 1);
}
END_TEST

START_TEST(test_release_answers_what_is_left)
{
	struct fake_req o1 = { 0 }, o2 = { 0 }, w1 = { 0 }, w2 = { 0 }, w3 = { 0 };
	struct fuse_file_info f1, f2;

	open_as(&o1, &f1, 100, 0);
	open_as(&o2, &f2, 200, 0);
	park(&w1, &f1);
	park(&w2, &f1);
	park(&w3, &f2);
	w2.ifunc(REQ(&w2), w2.idata);
	/* Cannot happen with a real kernel; must not leak if it does. */
	release(&f1);
	assert_err(&w1, EBADF);
	assert_err(&w2, EINTR);
	ck_assert_int_eq(w3.replies, 0);
	ck_assert_int_eq(C.cancels, 2);
	run_loop();
	ck_assert_int_eq(w2.replies, 1);
	ck_assert_int_eq(C.n_parked, 1);
}
END_TEST

/* ---- stop ---------------------------------------------------------------- */

START_TEST(test_stop_cancels_and_releases)
{
	struct fake_req o1 = { 0 }, o2 = { 0 }, w1 = { 0 }, w2 = { 0 };
	struct fuse_file_info f1, f2;

	open_as(&o1, &f1, 100, 0);
	open_as(&o2, &f2, 200, 0);
	park(&w1, &f1);
	park(&w2, &f2);
	w2.ifunc(REQ(&w2), w2.idata);
	front_stop(F);
	F = NULL;
	assert_err(&w1, ENODEV);
	assert_err(&w2, ENODEV);
	ck_assert_int_eq(C.cancels, 2);
	ck_assert_int_eq(C.releases, 2);
	ck_assert_int_eq(C.n_parked, 0);
	run_loop();	/* the deferred event went with the front */
}
END_TEST

/* ---- starting ----------------------------------------------------------- */

START_TEST(test_required_ops)
{
	struct front_ops ops = core_ops;
	struct front *f = NULL;

	ck_assert_int_eq(front_new(NULL, NULL, &core_ops, NULL, &fake_api, &f), -EINVAL);
	ck_assert_int_eq(front_new(base, NULL, NULL, NULL, &fake_api, &f), -EINVAL);
	ops.open = NULL;
	ck_assert_int_eq(front_new(base, NULL, &ops, NULL, &fake_api, &f), -EINVAL);
	ops = core_ops;
	ops.release = NULL;
	ck_assert_int_eq(front_new(base, NULL, &ops, NULL, &fake_api, &f), -EINVAL);
	ops = core_ops;
	ops.ioctl = NULL;
	ck_assert_int_eq(front_new(base, NULL, &ops, NULL, &fake_api, &f), -EINVAL);
	ops = core_ops;
	ops.cancel = NULL;
	ck_assert_int_eq(front_new(base, NULL, &ops, NULL, &fake_api, &f), -EINVAL);
	ck_assert_ptr_null(f);
}
END_TEST

START_TEST(test_default_and_given_mode)
{
	struct front_opts opts = { .uid = 5, .gid = 6, .mode = 0660 };
	struct front *f;

	ck_assert_uint_eq(F->opts.mode, 0666);
	ck_assert_int_eq(front_new(base, &opts, &core_ops, NULL, &fake_api, &f), 0);
	ck_assert_uint_eq(f->opts.mode, 0660);
	ck_assert_uint_eq(f->opts.uid, 5);
	ck_assert_uint_eq(f->opts.gid, 6);
	front_stop(f);
}
END_TEST

START_TEST(test_cuse_start_errors)
{
	struct front *f = NULL;

	ck_assert_int_eq(front_cuse_start(base, "", NULL, &core_ops, NULL, &f), -EINVAL);
	ck_assert_int_eq(front_cuse_start(base, "a/b", NULL, &core_ops, NULL, &f), -EINVAL);
	ck_assert_int_eq(front_cuse_start(base, "..", NULL, &core_ops, NULL, &f), -EINVAL);
	ck_assert_int_eq(front_cuse_start(base, NULL, NULL, &core_ops, NULL, &f), -EINVAL);
	if (access("/dev/cuse", F_OK) && errno == ENOENT)
		ck_assert_int_eq(front_cuse_start(base, "ugpu-test", NULL, &core_ops, NULL, &f),
				 -ENOENT);
	ck_assert_ptr_null(f);
}
END_TEST

static TCase *tcase(Suite *s, const char *name)
{
	TCase *tc = tcase_create(name);

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 10);
	suite_add_tcase(s, tc);
	return tc;
}

static Suite *front_cuse_suite(void)
{
	Suite *s = suite_create("front_cuse");
	TCase *tc;

	tc = tcase(s, "cmd");
	tcase_add_test(tc, test_check_cmd);

	tc = tcase(s, "restricted");
	tcase_add_test(tc, test_restricted_round_trip);
	tcase_add_test(tc, test_write_only_returns_no_data);
	tcase_add_test(tc, test_bad_cmds_never_reach_core);
	tcase_add_test(tc, test_core_errno_comes_back);

	tc = tcase(s, "unrestricted");
	tcase_add_test(tc, test_retry_asks_for_the_struct);
	tcase_add_test(tc, test_retry_then_served);
	tcase_add_test(tc, test_retry_refused_for_bad_cmds);

	tc = tcase(s, "session");
	tcase_add_test(tc, test_open_release);
	tcase_add_test(tc, test_open_refused_by_core);
	tcase_add_test(tc, test_open_reply_lost);
	tcase_add_test(tc, test_caller_of_each_request);
	tcase_add_test(tc, test_client_names);

	tc = tcase(s, "parked");
	tcase_add_test(tc, test_park_then_complete);
	tcase_add_test(tc, test_park_then_fail);
	tcase_add_test(tc, test_interrupt_cancels_from_the_loop);
	tcase_add_test(tc, test_complete_beats_interrupt);
	tcase_add_test(tc, test_interrupted_before_registration);
	tcase_add_test(tc, test_release_answers_what_is_left);

	tc = tcase(s, "stop");
	tcase_add_test(tc, test_stop_cancels_and_releases);

	tc = tcase(s, "start");
	tcase_add_test(tc, test_required_ops);
	tcase_add_test(tc, test_default_and_given_mode);
	tcase_add_test(tc, test_cuse_start_errors);
	return s;
}

int main(void)
{
	SRunner *sr;
	int failed;

	sr = srunner_create(front_cuse_suite());
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
