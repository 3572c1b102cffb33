/* SPDX-License-Identifier: MIT */
/*
 * Where ugpuctl gets its numbers: which device file to talk to (the same
 * search as libugpu), whether it is a FUSE `card0` with the daemon's info
 * files beside it, the device-wide counters (the `stats` file, else the
 * UGPU_IOCTL_STATS ioctl) and the per-client files under `clients/`.
 * Nothing here prints; everything returns 0/-errno for main.c to report.
 */
#ifndef UGPUCTL_DEVICE_H
#define UGPUCTL_DEVICE_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>

#include "json.h"

struct ctl_dev {
	char path[PATH_MAX];	/* the device file */
	char dir[PATH_MAX];	/* FUSE: the mount point; else "" */
	bool fuse;		/* a FUSE card0 with a `stats` file beside it */
};

/* One open of the device, from its file under clients/. */
struct ctl_client {
	char name[64];		/* the file's name: "<pid>" or "<pid>.<n>" */
	long long pid;		/* its "pid" field, or -1 */
	struct json_obj obj;	/* the daemon's fields, in its order */
};

struct ctl_clients {
	struct ctl_client *v;	/* sorted by pid, then name */
	size_t n;
	size_t not_shown;	/* files we may not read (other users) */
};

/**
 * ctl_dev_resolve - find the device and what kind it is
 * @arg: --device's value, or NULL for $UGPU_DEVICE, else /dev/ugpu0 if
 *       it exists, else /run/ugpu/card0. A directory means its card0.
 * @d:   receives the device
 *
 * The device counts as a FUSE card0 (d->fuse) when it is a regular file
 * on a FUSE file system and, symlinks resolved, has a `stats` file
 * beside it; anything else (a CUSE node, a bind mount of card0) is
 * reached through ioctls only.
 * Return: 0, or -errno from stat(2) of the device (-ENOENT: no daemon
 * there; -ENOTCONN: a FUSE mount whose daemon is gone), -ENAMETOOLONG.
 */
int ctl_dev_resolve(const char *arg, struct ctl_dev *d);

/**
 * ctl_read_stats - the device-wide counters
 * @d:     the device
 * @stats: receives them: all the `stats` file's fields on a FUSE card0,
 *         else the fields of struct ugpu_stats
 * @how:   receives "stats file" or "STATS ioctl"
 *
 * Return: 0; -errno of open, read or ioctl (-ENOTTY: not a ugpu device);
 * -EINVAL (or -ERANGE, -E2BIG, -EFBIG) for a `stats` file that is not a
 * flat JSON object.
 */
int ctl_read_stats(const struct ctl_dev *d, struct json_obj *stats, const char **how);

/**
 * ctl_check_stats - does @stats hold every field API.md promises?
 * @stats: the counters
 * @field: receives the first missing or non-integer field on failure
 *
 * Return: 0, or -EPROTO.
 */
int ctl_check_stats(const struct json_obj *stats, const char **field);

/**
 * ctl_read_clients - the per-client files under the mount's clients/
 * @d:   the device
 * @out: receives the clients; free with ctl_clients_free()
 *
 * Files we may not read (other users' clients, for a non-root caller)
 * are counted in not_shown; files that vanish while we read are skipped.
 * Return: 0, -EOPNOTSUPP if @d is not a FUSE card0, -EINVAL etc. for a
 * malformed file, -errno.
 */
int ctl_read_clients(const struct ctl_dev *d, struct ctl_clients *out);

/**
 * ctl_clients_free - release what ctl_read_clients() filled in
 * @c: the clients
 */
void ctl_clients_free(struct ctl_clients *c);

#endif
