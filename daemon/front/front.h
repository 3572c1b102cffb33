/* SPDX-License-Identifier: MIT */
/*
 * The transports of ugpud (DESIGN.md §7): how client processes reach the
 * driver core. Two of them, both libfuse3 lowlevel sessions driven from
 * the daemon's libevent loop with no thread of their own: a FUSE mount
 * whose `card0` file takes the ugpu ioctls (plus read-only info files),
 * and a CUSE character device /dev/NAME. Both decode and check requests
 * the same way and call one ops table of the core; the core never sees
 * libfuse. Everything here, and every ops callback, runs on the loop
 * thread.
 *
 * Lifetimes, seen from the core:
 *
 *   open(2) of the device     -> ops->open()      creates the session
 *   ioctl(2) on that file     -> ops->ioctl()     0 / -errno / FRONT_PARKED
 *   parked, caller interrupted -> ops->cancel()    forget the request
 *   last close (or exit/kill) -> ops->release()   no request is in flight
 *   front_stop()              -> cancel every parked request, release
 *                                every open session, then unmount
 *
 * A session gets no request after its release, and release never comes
 * while a request of that file is in flight (the kernel holds the file
 * for the duration of the syscall), so the core needs no reference
 * counting on sessions.
 */
#ifndef UGPU_FRONT_FRONT_H
#define UGPU_FRONT_FRONT_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

struct event_base;
struct front;

/*
 * One ioctl in flight that the core parked; opaque. Valid from the
 * FRONT_PARKED return until front_req_complete() or ops->cancel().
 */
struct front_req;

/*
 * Who made a request, from the FUSE request header. pid is the calling
 * *thread's* id as the kernel reports it (task_pid, not the tgid): equal
 * to the process id for a single-threaded caller. A forked child using
 * an inherited fd shows its own pid, not the opener's.
 */
struct front_caller {
	pid_t pid;
	uid_t uid;
	gid_t gid;
};

/* ops->ioctl kept the request and will finish it with front_req_complete(). */
#define FRONT_PARKED	1

/* Largest info file content (ops->read_info); longer content is cut. */
#define FRONT_INFO_MAX	(1u << 20)

struct front_ops {
	/*
	 * A new open of the device file: create the client. Store the core's
	 * session in *session. Return 0 or -errno (the open fails with it).
	 * Required.
	 */
	int (*open)(void *core, const struct front_caller *who, void **session);

	/* The last close of that open file (also after exit or SIGKILL). Required. */
	void (*release)(void *core, void *session);

	/*
	 * One ioctl on the session. cmd is a ugpu ioctl of uapi/ugpu.h with
	 * exactly its _IOC_DIR and _IOC_SIZE (anything else was refused
	 * before: ENOTTY for a foreign or unknown command, EINVAL for a
	 * known number with another size or direction). data holds size
	 * bytes: the caller's struct for _IOC_WRITE, zeroes otherwise;
	 * on success it is copied back for _IOC_READ. who is the thread that
	 * made this call, which may differ from the opener.
	 * Return 0, -errno, or FRONT_PARKED after keeping req (and data,
	 * which stays valid) to finish later with front_req_complete(), e.g.
	 * a fence wait: the loop thread must never block. Required.
	 */
	int (*ioctl)(void *core, void *session, const struct front_caller *who,
		     unsigned int cmd, void *data, size_t size, struct front_req *req);

	/*
	 * A parked request ends without the core: its caller was interrupted
	 * by a signal (it gets EINTR) or the front stops (ENODEV). Drop every
	 * reference to req; do not complete it. Required.
	 */
	void (*cancel)(void *core, void *session, struct front_req *req);

	/*
	 * Content of a read-only info file (FUSE mount only), made once per
	 * open(2) of the file, so a reader sees one consistent snapshot.
	 * session is NULL for a root file (a name of info_files) and the
	 * client's session for its file `clients/<name>`; name is the path
	 * in the mount ("stats", "clients/1234"). Fill buf and return the
	 * full length, like snprintf: a length above size makes the front
	 * call again with a buffer that fits (up to FRONT_INFO_MAX). Or
	 * -errno. Optional: without it there are no info files and no
	 * `clients` directory.
	 */
	int (*read_info)(void *core, void *session, const char *name,
			 const struct front_caller *who, char *buf, size_t size);

	/* NULL-terminated names of root info files, e.g. { "stats", NULL }. */
	const char *const *info_files;

	/*
	 * The kernel ended the session (the mount was unmounted from outside,
	 * the connection aborted). Every parked request was cancelled and
	 * every session released already. The front answers nothing more;
	 * the owner still calls front_stop(), from here or later. Optional.
	 */
	void (*ended)(void *core);
};

/*
 * Options of a front. All-zero (or a NULL pointer) means the defaults:
 * device owned by root:root, mode 0666 (every local user may open it:
 * access control is the core's, per caller), auto_unmount on.
 */
struct front_opts {
	uid_t uid;		/* owner of card0 or /dev/NAME */
	gid_t gid;		/* group of card0 or /dev/NAME */
	mode_t mode;		/* permission bits; 0 means 0666 */
	/*
	 * FUSE: mount without auto_unmount (no fusermount3 watcher). A
	 * SIGKILLed daemon then leaves a dead mount, which the next start
	 * detaches.
	 */
	bool no_auto_unmount;
	bool debug;		/* libfuse's request log on stderr */
};

/**
 * front_fuse_start - mount the FUSE front at @mountpoint
 * @base: the event loop that will drive the session
 * @mountpoint: an existing directory; becomes the mount root
 * @opts: options, or NULL for the defaults
 * @ops: the core's callbacks; must outlive the front
 * @core: passed to every callback
 * @out: the new front
 *
 * Mounts with allow_other,default_permissions (and auto_unmount unless
 * @opts says not). The mount shows `card0` (the device file, owner and
 * mode from @opts), the root info files of @ops and, when @ops has
 * read_info, a directory `clients` with one file per open device file,
 * named after the opener's pid ("<pid>", or "<pid>.<n>" for a further
 * open by the same pid), owned by the opener and readable only by it
 * and root. A dead mount left at @mountpoint by a crashed daemon is
 * detached first. Requests are served once @base runs.
 *
 * Return: 0, -EINVAL for missing required ops or an empty path (or
 * options libfuse refused), -EBUSY if a live FUSE file system is mounted
 * at @mountpoint, -EIO if libfuse failed to mount (its reason is on
 * stderr), or another -errno.
 */
int front_fuse_start(struct event_base *base, const char *mountpoint,
		     const struct front_opts *opts, const struct front_ops *ops,
		     void *core, struct front **out);

/**
 * front_cuse_start - create the CUSE character device /dev/@devname
 * @base: the event loop that will drive the session
 * @devname: device name under /dev, e.g. "ugpu0"
 * @opts: options, or NULL; owner and mode are applied to /dev/@devname
 *        once the kernel created it (best effort: udev may change them)
 * @ops: the core's callbacks (read_info and info_files are not used)
 * @core: passed to every callback
 * @out: the new front
 *
 * Ioctls are unrestricted on CUSE: the front asks the kernel to fetch
 * and store the caller's struct by _IOC_SIZE (the retry protocol), so
 * the core sees the same requests as through FUSE.
 *
 * Return: 0, -EINVAL for missing ops or a bad name, -ENOENT when the
 * kernel has no /dev/cuse, -EIO if libfuse failed, or another -errno.
 */
int front_cuse_start(struct event_base *base, const char *devname,
		     const struct front_opts *opts, const struct front_ops *ops,
		     void *core, struct front **out);

/**
 * front_req_complete - answer a parked request
 * @req: the request ops->ioctl returned FRONT_PARKED for
 * @result: 0 (the data is copied out for _IOC_READ) or -errno
 *
 * Replies exactly once and frees @req. Loop thread only; not from
 * inside ops->ioctl for the same request, never after ops->cancel().
 */
void front_req_complete(struct front_req *req, int result);

/**
 * front_req_session - the core's session of a request
 * @req: a parked request
 *
 * Return: the session ops->open stored for the file the request came on.
 */
void *front_req_session(const struct front_req *req);

/**
 * front_stop - end a front and free it
 * @f: the front, or NULL
 *
 * Every parked request is cancelled (ops->cancel) and answered ENODEV,
 * every open session is released (ops->release), then the mount is
 * detached or the device removed. Callers still holding the file get
 * errors. Loop thread, or with the loop not running; not from inside an
 * ops callback other than ops->ended.
 */
void front_stop(struct front *f);

#endif
