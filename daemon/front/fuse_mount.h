/* SPDX-License-Identifier: MIT */
/*
 * Mounting the FUSE front (mount.c): the session with its mount options,
 * the dead mount a crashed daemon leaves behind, and the fusermount3
 * process libfuse starts for auto_unmount. Internal to daemon/front.
 */
#ifndef UGPU_FRONT_FUSE_MOUNT_H
#define UGPU_FRONT_FUSE_MOUNT_H

#include "front/front_internal.h"

struct front_mount {
	char *path;
	int watcher_fd;		/* our end of the auto_unmount socket, or -1 */
	pid_t watcher_pid;	/* the fusermount3 watcher (our child), or 0 */
};

/**
 * front_clean_stale_mount - detach dead FUSE mounts stacked at @path
 * @path: the mount point
 *
 * A dead mount is one where every call fails with ENOTCONN.
 * Return: 0 when @path is usable, -EBUSY when a live FUSE file system is
 * mounted there, or another -errno.
 */
int front_clean_stale_mount(const char *path);

/**
 * front_mount_open - clean @path, create a session and mount it there
 * @m: the mount state, filled in
 * @path: the mount point
 * @opts: the front's options (auto_unmount, debug)
 * @ops: the lowlevel operations; @ops_size: their size
 * @userdata: for fuse_req_userdata()
 * @se: the mounted session
 *
 * Return: 0, -EBUSY (a live mount at @path), -EINVAL (libfuse refused
 * the options), -EIO (the mount failed), or another -errno.
 */
int front_mount_open(struct front_mount *m, const char *path,
		     const struct front_opts *opts,
		     const struct fuse_lowlevel_ops *ops, size_t ops_size,
		     void *userdata, struct fuse_session **se);

/**
 * front_mount_close - unmount (lazily), destroy @se, let the watcher go
 * @m: the mount state
 * @se: the session of front_mount_open()
 * @ended: the kernel ended the session; an aborted connection leaves a
 *         dead mount behind, which is detached here too
 */
void front_mount_close(struct front_mount *m, struct fuse_session *se, bool ended);

#endif
