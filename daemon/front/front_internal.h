/* SPDX-License-Identifier: MIT */
/*
 * Inside the front: the state both transports share (struct front), the
 * device-file handlers they both call (front_dev_*, in dispatch.c), the
 * glue between a fuse_session and the libevent loop (loop.c), and the
 * narrow slice of libfuse those shared parts call, behind a table
 * (struct front_fuse_api) so unit tests can drive the dispatch without a
 * kernel session. Not for the core: it includes only front.h.
 */
#ifndef UGPU_FRONT_FRONT_INTERNAL_H
#define UGPU_FRONT_FRONT_INTERNAL_H

#define FUSE_USE_VERSION 312

#include <fuse_lowlevel.h>
#include <stdint.h>

#include "core/list.h"
#include "front/front.h"

struct event;

/*
 * The libfuse calls of the shared dispatch. front_libfuse is the real
 * thing; a unit test passes a recorder. Same contracts as libfuse:
 * positive errno in reply_err, each reply consumes the request.
 */
struct front_fuse_api {
	const struct fuse_ctx *(*req_ctx)(fuse_req_t req);
	int (*reply_err)(fuse_req_t req, int err);
	int (*reply_open)(fuse_req_t req, const struct fuse_file_info *fi);
	int (*reply_ioctl)(fuse_req_t req, int result, const void *buf, size_t size);
	int (*reply_ioctl_retry)(fuse_req_t req, const struct iovec *in_iov, size_t in_count,
				 const struct iovec *out_iov, size_t out_count);
	void (*interrupt_func)(fuse_req_t req, fuse_interrupt_func_t func, void *data);
};

extern const struct front_fuse_api front_libfuse;

/* What fi->fh points to; every handle starts with its kind. */
enum front_fh_kind {
	FRONT_FH_DEV = 1,	/* struct front_file: card0 or the CUSE device */
	FRONT_FH_INFO,		/* an info file snapshot (fuse.c) */
	FRONT_FH_DIR,		/* a directory listing snapshot (fuse.c) */
};

/* One open of the device file: one core session. Loop thread only. */
struct front_file {
	enum front_fh_kind kind;	/* FRONT_FH_DEV */
	struct front *f;
	void *session;			/* the core's, from ops->open */
	struct front_caller opener;
	uint64_t id;			/* unique in this front, from 1 */
	unsigned int parked;		/* its requests on f->parked or f->interrupted */
	struct list_node link;		/* in f->files */
	char name[32];			/* "<pid>" or "<pid>.<id>": clients/<name> */
};

/*
 * A request handed to ops->ioctl; always on the heap, so the core may
 * keep it. Loop thread only. On f->parked while parked, on
 * f->interrupted from the caller's interrupt until the loop cancels it.
 */
struct front_req {
	struct list_node link;		/* f->parked or f->interrupted */
	struct front_file *file;
	fuse_req_t req;
	unsigned int cmd;
	size_t size;			/* _IOC_SIZE(cmd) */
	size_t out_size;		/* size for _IOC_READ, else 0 */
	bool interrupted;		/* on f->interrupted */
	uint64_t data[];		/* size bytes, 8-aligned for the ABI structs */
};

struct front {
	struct event_base *base;
	const struct front_ops *ops;
	void *core;
	const struct front_fuse_api *api;
	struct front_opts opts;		/* mode already defaulted */

	/* The transport; se and ev are NULL in dispatch unit tests. */
	struct fuse_session *se;
	struct event *ev;		/* the session fd is readable */
	struct fuse_buf buf;		/* reused for every request */
	bool ended;			/* the kernel ended the session */
	void (*teardown)(struct front *f);	/* transport part of front_stop */
	void *priv;			/* the transport's state */

	/* All below: loop thread only. */
	struct event *deferred;		/* flushes f->interrupted */
	struct list_node files;		/* struct front_file, open order */
	struct list_node parked;	/* struct front_req */
	struct list_node interrupted;	/* struct front_req, to cancel */
	uint64_t next_id;
};

/**
 * front_new - allocate a front with no transport yet
 * @base: the loop; @opts: NULL or options (mode 0 becomes 0666)
 * @ops: the core's callbacks; @core: their argument
 * @api: front_libfuse, or a fake in unit tests
 * @out: the front
 *
 * The transport then sets se, teardown and priv and calls front_attach().
 * Return: 0, -EINVAL if a required op is missing, -ENOMEM.
 */
int front_new(struct event_base *base, const struct front_opts *opts,
	      const struct front_ops *ops, void *core,
	      const struct front_fuse_api *api, struct front **out);

/**
 * front_attach - drive f->se from the loop
 * @f: a front whose se is set
 *
 * Makes the session fd non-blocking and adds a persistent read event.
 * Return: 0 or -errno.
 */
int front_attach(struct front *f);

/**
 * front_check_cmd - check an ioctl command against the ABI
 * @cmd: the command as the caller passed it
 *
 * Return: 0, -ENOTTY for another driver's type or an unknown number,
 * -EINVAL for a known number with another size or direction.
 */
int front_check_cmd(unsigned int cmd);

/**
 * front_caller_of - who made a request, from its FUSE header
 * @f: the front; @req: the request; @who: filled in
 */
void front_caller_of(const struct front *f, fuse_req_t req, struct front_caller *who);

/**
 * front_dev_open - open of the device file: a new core session
 * @f: the front; @req: the request; @fi: its file info (fh set)
 *
 * Replies once, like front_dev_release() and front_dev_ioctl().
 */
void front_dev_open(struct front *f, fuse_req_t req, struct fuse_file_info *fi);

/**
 * front_dev_release - last close of a device file: release its session
 * @f: the front; @req: the request; @fi: its file info
 */
void front_dev_release(struct front *f, fuse_req_t req, struct fuse_file_info *fi);

/**
 * front_dev_ioctl - an ioctl on a device file
 * @f: the front; @req: the request; @cmd: the command; @arg: the caller's
 * argument (an address, for the retry); @fi: file info; @flags:
 * FUSE_IOCTL_*; @in_buf, @in_bufsz, @out_bufsz: as libfuse passes them
 *
 * Checks the command, asks for a retry if unrestricted and empty, calls
 * ops->ioctl and replies, or keeps the request parked.
 */
void front_dev_ioctl(struct front *f, fuse_req_t req, unsigned int cmd, void *arg,
		     struct fuse_file_info *fi, unsigned int flags,
		     const void *in_buf, size_t in_bufsz, size_t out_bufsz);

/**
 * front_file_by_id - the open device file with this id
 * @f: the front; @id: front_file.id
 *
 * Return: the file or NULL.
 */
struct front_file *front_file_by_id(struct front *f, uint64_t id);

/**
 * front_drop_all - end everything in flight
 * @f: the front
 * @err: -errno for the parked requests
 *
 * Cancels every parked request (ops->cancel, answered with @err) and
 * releases every open file (ops->release). For front_stop and for a
 * session the kernel ended.
 */
void front_drop_all(struct front *f, int err);

#endif
