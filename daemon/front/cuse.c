// SPDX-License-Identifier: MIT
/*
 * The CUSE front: a character device /dev/NAME served by this process,
 * for hosts with /dev/cuse. The session is libfuse's cuse_lowlevel one,
 * but set up by hand rather than by cuse_lowlevel_setup(), which would
 * install signal handlers and daemonize: /dev/cuse is opened here and
 * handed to fuse_session_mount() as "/dev/fd/N", and the session fd is
 * driven by the daemon's loop like the FUSE front's. Ioctls are asked
 * for unrestricted, so they take the retry round trip (dispatch.c); the
 * core sees the same requests as through card0.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define FUSE_USE_VERSION 312
#include <cuse_lowlevel.h>

#include "front/front_internal.h"

#define DEVNAME_MAX 64

struct cuse_priv {
	char devpath[sizeof("/dev/") + DEVNAME_MAX];
	char devinfo[sizeof("DEVNAME=") + DEVNAME_MAX];
};

static struct front *req_front(fuse_req_t req)
{
	return fuse_req_userdata(req);
}

/* The kernel made the device node while we answered CUSE_INIT. */
static void cd_init_done(void *userdata)
{
	struct front *f = userdata;
	struct cuse_priv *p = f->priv;

	/* Best effort: a udev rule may set its own owner and mode later. */
	if (chown(p->devpath, f->opts.uid, f->opts.gid) ||
	    chmod(p->devpath, f->opts.mode))
		fprintf(stderr, "ugpud: %s: owner/mode not set: %s\n", p->devpath,
			strerror(errno));
}

static void cd_open(fuse_req_t req, struct fuse_file_info *fi)
{
	front_dev_open(req_front(req), req, fi);
}

static void cd_release(fuse_req_t req, struct fuse_file_info *fi)
{
	front_dev_release(req_front(req), req, fi);
}

static void cd_read(fuse_req_t req, size_t size, off_t off, struct fuse_file_info *fi)
{
	fuse_reply_err(req, EINVAL);	/* the device has no byte stream */
}

static void cd_ioctl(fuse_req_t req, int cmd, void *arg, struct fuse_file_info *fi,
		     unsigned int flags, const void *in_buf, size_t in_bufsz,
		     size_t out_bufsz)
{
	front_dev_ioctl(req_front(req), req, (unsigned int)cmd, arg, fi, flags,
			in_buf, in_bufsz, out_bufsz);
}

static const struct cuse_lowlevel_ops cd_ops = {
	.init_done = cd_init_done,
	.open = cd_open,
	.read = cd_read,
	.release = cd_release,
	.ioctl = cd_ioctl,
};

static void cuse_teardown(struct front *f)
{
	/* Closing the session fd removes the device. */
	fuse_session_destroy(f->se);
	free(f->priv);
}

static bool valid_devname(const char *name)
{
	size_t len = name ? strlen(name) : 0;

	return len && len < DEVNAME_MAX && !strchr(name, '/') &&
	       strcmp(name, ".") && strcmp(name, "..");
}

static struct fuse_session *new_session(struct front *f, struct cuse_priv *p)
{
	const char *dev_info[] = { p->devinfo };
	char *argv[] = { "ugpud", f->opts.debug ? "-d" : NULL, NULL };
	struct fuse_args args = FUSE_ARGS_INIT(f->opts.debug ? 2 : 1, argv);
	struct cuse_info ci = {
		.dev_info_argc = 1,
		.dev_info_argv = dev_info,
		.flags = CUSE_UNRESTRICTED_IOCTL,
	};
	struct fuse_session *se;

	se = cuse_lowlevel_new(&args, &ci, &cd_ops, f);
	fuse_opt_free_args(&args);
	return se;
}

int front_cuse_start(struct event_base *base, const char *devname,
		     const struct front_opts *opts, const struct front_ops *ops,
		     void *core, struct front **out)
{
	char fdpath[32];
	struct cuse_priv *p;
	struct front *f;
	int fd, ret;

	if (!valid_devname(devname))
		return -EINVAL;
	ret = front_new(base, opts, ops, core, &front_libfuse, &f);
	if (ret)
		return ret;
	p = calloc(1, sizeof(*p));
	if (!p) {
		ret = -ENOMEM;
		goto err_front;
	}
	snprintf(p->devpath, sizeof(p->devpath), "/dev/%s", devname);
	snprintf(p->devinfo, sizeof(p->devinfo), "DEVNAME=%s", devname);
	f->priv = p;

	fd = open("/dev/cuse", O_RDWR | O_CLOEXEC);
	if (fd < 0) {
		ret = -errno;
		goto err_priv;
	}
	f->se = new_session(f, p);
	if (!f->se) {
		ret = -EIO;
		goto err_fd;
	}
	snprintf(fdpath, sizeof(fdpath), "/dev/fd/%d", fd);
	if (fuse_session_mount(f->se, fdpath)) {	/* adopts fd */
		ret = -EIO;
		goto err_session;
	}
	ret = front_attach(f);
	if (ret)
		goto err_mounted;
	f->teardown = cuse_teardown;
	*out = f;
	return 0;

err_mounted:
	fuse_session_destroy(f->se);	/* closes fd */
	goto err_priv;
err_session:
	fuse_session_destroy(f->se);
err_fd:
	close(fd);
err_priv:
	free(p);
err_front:
	front_stop(f);
	return ret;
}
