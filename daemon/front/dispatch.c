// SPDX-License-Identifier: MIT
/*
 * The device file, whatever carries it (FUSE card0 or CUSE): one open is
 * one core session; each ioctl is checked against the ABI, handed to the
 * core with the real caller, answered now or parked; a parked request is
 * answered later by front_req_complete(), or cancelled when its caller is
 * interrupted or the front stops. Both transports call these handlers;
 * unit tests call them with a fake libfuse (struct front_fuse_api).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>

#include <event2/event.h>

#include "front/front_internal.h"
#include "uapi/ugpu.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/*
 * Parked requests
 * ===============
 *
 *   ops->ioctl() == FRONT_PARKED      r on f->parked, file->parked++
 *     front_req_complete(r, res)      reply res, free      (the core)
 *     caller interrupted (signal)     r -> f->interrupted, deferred event
 *       flush_interrupted()           ops->cancel, reply EINTR, free
 *       front_req_complete() first    reply res, free: the caller gets
 *                                     its answer instead of EINTR
 *     front_stop / session ended      ops->cancel, reply ENODEV, free
 *
 * libfuse calls the interrupt callback with the request's lock held and,
 * when the interrupt came first, from inside fuse_req_interrupt_func():
 * replying there could free the request under its own lock. So the
 * callback only moves r, and the reply happens from the loop.
 */

const struct front_fuse_api front_libfuse = {
	.req_ctx = fuse_req_ctx,
	.reply_err = fuse_reply_err,
	.reply_open = fuse_reply_open,
	.reply_ioctl = fuse_reply_ioctl,
	.reply_ioctl_retry = fuse_reply_ioctl_retry,
	.interrupt_func = fuse_req_interrupt_func,
};

#define ABI_CMD(c) [_IOC_NR(c)] = (c)

/* Every ioctl of uapi/ugpu.h by number; 0 is a hole. */
static const unsigned int abi_cmds[] = {
	ABI_CMD(UGPU_IOCTL_QUERY),
	ABI_CMD(UGPU_IOCTL_CLIENT_INIT),
	ABI_CMD(UGPU_IOCTL_VM_CREATE),
	ABI_CMD(UGPU_IOCTL_VM_DESTROY),
	ABI_CMD(UGPU_IOCTL_BO_CREATE),
	ABI_CMD(UGPU_IOCTL_BO_IMPORT),
	ABI_CMD(UGPU_IOCTL_BO_DESTROY),
	ABI_CMD(UGPU_IOCTL_BO_PREAD),
	ABI_CMD(UGPU_IOCTL_BO_PWRITE),
	ABI_CMD(UGPU_IOCTL_VM_BIND),
	ABI_CMD(UGPU_IOCTL_EXEC),
	ABI_CMD(UGPU_IOCTL_WAIT),
	ABI_CMD(UGPU_IOCTL_SYNCOBJ_CREATE),
	ABI_CMD(UGPU_IOCTL_SYNCOBJ_DESTROY),
	ABI_CMD(UGPU_IOCTL_SYNCOBJ_WAIT),
	ABI_CMD(UGPU_IOCTL_STATS),
	ABI_CMD(UGPU_IOCTL_COMPLETION_PAGE),
};

int front_check_cmd(unsigned int cmd)
{
	unsigned int nr = _IOC_NR(cmd);

	if (_IOC_TYPE(cmd) != UGPU_IOCTL_BASE)
		return -ENOTTY;
	if (nr >= ARRAY_SIZE(abi_cmds) || !abi_cmds[nr])
		return -ENOTTY;
	if (cmd != abi_cmds[nr])	/* another size or direction */
		return -EINVAL;
	return 0;
}

static void flush_interrupted(evutil_socket_t fd, short what, void *arg);

int front_new(struct event_base *base, const struct front_opts *opts,
	      const struct front_ops *ops, void *core,
	      const struct front_fuse_api *api, struct front **out)
{
	struct front *f;

	if (!base || !ops || !ops->open || !ops->release || !ops->ioctl || !ops->cancel)
		return -EINVAL;
	f = calloc(1, sizeof(*f));
	if (!f)
		return -ENOMEM;
	f->deferred = event_new(base, -1, 0, flush_interrupted, f);
	if (!f->deferred) {
		free(f);
		return -ENOMEM;
	}
	f->base = base;
	f->ops = ops;
	f->core = core;
	f->api = api;
	if (opts)
		f->opts = *opts;
	f->opts.mode &= 07777;
	if (!f->opts.mode)
		f->opts.mode = 0666;
	list_init(&f->files);
	list_init(&f->parked);
	list_init(&f->interrupted);
	f->next_id = 1;
	*out = f;
	return 0;
}

void front_caller_of(const struct front *f, fuse_req_t req, struct front_caller *who)
{
	const struct fuse_ctx *ctx = f->api->req_ctx(req);

	who->pid = ctx->pid;
	who->uid = ctx->uid;
	who->gid = ctx->gid;
}

struct front_file *front_file_by_id(struct front *f, uint64_t id)
{
	struct front_file *file;

	list_for_each_entry(file, &f->files, link)
		if (file->id == id)
			return file;
	return NULL;
}

static bool name_taken(struct front *f, const char *name)
{
	struct front_file *file;

	list_for_each_entry(file, &f->files, link)
		if (!strcmp(file->name, name))
			return true;
	return false;
}

void front_dev_open(struct front *f, fuse_req_t req, struct fuse_file_info *fi)
{
	struct front_file *file;
	int ret;

	file = calloc(1, sizeof(*file));
	if (!file) {
		f->api->reply_err(req, ENOMEM);
		return;
	}
	file->kind = FRONT_FH_DEV;
	file->f = f;
	front_caller_of(f, req, &file->opener);
	ret = f->ops->open(f->core, &file->opener, &file->session);
	if (ret) {
		free(file);
		f->api->reply_err(req, ret < 0 ? -ret : EIO);
		return;
	}
	file->id = f->next_id++;
	snprintf(file->name, sizeof(file->name), "%d", (int)file->opener.pid);
	if (name_taken(f, file->name))
		snprintf(file->name, sizeof(file->name), "%d.%llu",
			 (int)file->opener.pid, (unsigned long long)file->id);
	list_add_tail(&file->link, &f->files);

	fi->fh = (uintptr_t)file;
	/*
	 * Ioctls work without these (measured). Without direct_io a read(2)
	 * of card0 is served from the empty page cache: 0, not our EINVAL.
	 */
	fi->direct_io = 1;
	fi->nonseekable = 1;
	if (f->api->reply_open(req, fi)) {
		/* The open was interrupted: the kernel will never release it. */
		list_del_init(&file->link);
		f->ops->release(f->core, file->session);
		free(file);
	}
}

static void reply_result(struct front *f, fuse_req_t req, int result,
			 const void *data, size_t out_size)
{
	if (result == 0)
		f->api->reply_ioctl(req, 0, data, out_size);
	else if (result < 0 && result >= -4095)
		f->api->reply_err(req, -result);
	else	/* the core broke the contract; keep the caller alive */
		f->api->reply_err(req, EIO);
}

/* End a parked request: the core's answer, or a cancel with an error. */
static void finish(struct front_req *r, int result, bool cancel)
{
	struct front_file *file = r->file;
	struct front *f = file->f;

	list_del_init(&r->link);
	file->parked--;
	if (cancel)
		f->ops->cancel(f->core, file->session, r);
	reply_result(f, r->req, result, r->data, r->out_size);
	free(r);
}

void front_dev_release(struct front *f, fuse_req_t req, struct fuse_file_info *fi)
{
	struct front_file *file = (struct front_file *)(uintptr_t)fi->fh;
	struct front_req *r, *tmp;

	/*
	 * The kernel holds the file during every ioctl, so nothing of it can
	 * be parked here; should that ever break, answer rather than leak.
	 */
	if (file->parked) {
		list_for_each_entry_safe(r, tmp, &f->parked, link)
			if (r->file == file)
				finish(r, -EBADF, true);
		list_for_each_entry_safe(r, tmp, &f->interrupted, link)
			if (r->file == file)
				finish(r, -EINTR, true);
	}

	list_del_init(&file->link);
	f->ops->release(f->core, file->session);
	free(file);
	f->api->reply_err(req, 0);
}

static void on_interrupt(fuse_req_t req, void *data)
{
	struct front_req *r = data;
	struct front *f = r->file->f;

	if (r->interrupted)
		return;
	r->interrupted = true;
	list_del_init(&r->link);
	list_add_tail(&r->link, &f->interrupted);
	event_active(f->deferred, EV_TIMEOUT, 0);
}

static void flush_interrupted(evutil_socket_t fd, short what, void *arg)
{
	struct front *f = arg;

	while (!list_empty(&f->interrupted))
		finish(list_first_entry(&f->interrupted, struct front_req, link),
		       -EINTR, true);
}

/*
 * How many bytes the kernel must hand over for cmd, and whether it did.
 * Restricted ioctls (FUSE files, CUSE without CUSE_UNRESTRICTED_IOCTL)
 * arrive with exactly _IOC_SIZE copied in for _IOC_WRITE and room for it
 * for _IOC_READ. Unrestricted ones (CUSE) first arrive empty: ask the
 * kernel to fetch and store the struct at arg (retry), and it calls again.
 * Return 1 if a retry was sent, 0 to go on, or -errno.
 */
static int fetch(struct front *f, fuse_req_t req, unsigned int cmd, void *arg,
		 unsigned int flags, size_t in_bufsz, size_t out_bufsz)
{
	size_t size = _IOC_SIZE(cmd);
	size_t in_need = (_IOC_DIR(cmd) & _IOC_WRITE) ? size : 0;
	size_t out_need = (_IOC_DIR(cmd) & _IOC_READ) ? size : 0;
	struct iovec in_iov = { .iov_base = arg, .iov_len = in_need };
	struct iovec out_iov = { .iov_base = arg, .iov_len = out_need };

	if (in_bufsz == in_need && out_bufsz == out_need)
		return 0;
	if (!(flags & FUSE_IOCTL_UNRESTRICTED) || in_bufsz || out_bufsz)
		return -EINVAL;
	f->api->reply_ioctl_retry(req, &in_iov, in_need ? 1 : 0,
				  &out_iov, out_need ? 1 : 0);
	return 1;
}

void front_dev_ioctl(struct front *f, fuse_req_t req, unsigned int cmd, void *arg,
		     struct fuse_file_info *fi, unsigned int flags,
		     const void *in_buf, size_t in_bufsz, size_t out_bufsz)
{
	struct front_file *file = (struct front_file *)(uintptr_t)fi->fh;
	struct front_caller who;
	struct front_req *r;
	int ret;

	ret = front_check_cmd(cmd);
	if (!ret)
		ret = fetch(f, req, cmd, arg, flags, in_bufsz, out_bufsz);
	if (ret) {
		if (ret < 0)
			f->api->reply_err(req, -ret);
		return;
	}

	r = calloc(1, sizeof(*r) + ((_IOC_SIZE(cmd) + 7) & ~7u));
	if (!r) {
		f->api->reply_err(req, ENOMEM);
		return;
	}
	list_init(&r->link);
	r->file = file;
	r->req = req;
	r->cmd = cmd;
	r->size = _IOC_SIZE(cmd);
	r->out_size = out_bufsz;
	if (in_bufsz)
		memcpy(r->data, in_buf, in_bufsz);

	front_caller_of(f, req, &who);
	ret = f->ops->ioctl(f->core, file->session, &who, cmd, r->data, r->size, r);
	if (ret != FRONT_PARKED) {
		reply_result(f, req, ret, r->data, r->out_size);
		free(r);
		return;
	}
	list_add_tail(&r->link, &f->parked);
	file->parked++;
	/* May call on_interrupt() at once if the caller was interrupted already. */
	f->api->interrupt_func(req, on_interrupt, r);
}

void front_req_complete(struct front_req *req, int result)
{
	finish(req, result, false);
}

void *front_req_session(const struct front_req *req)
{
	return req->file->session;
}

void front_drop_all(struct front *f, int err)
{
	struct front_file *file, *ftmp;

	while (!list_empty(&f->parked))
		finish(list_first_entry(&f->parked, struct front_req, link), err, true);
	while (!list_empty(&f->interrupted))
		finish(list_first_entry(&f->interrupted, struct front_req, link), err, true);
	list_for_each_entry_safe(file, ftmp, &f->files, link) {
		list_del_init(&file->link);
		f->ops->release(f->core, file->session);
		free(file);
	}
}
