// SPDX-License-Identifier: MIT
/*
 * Mounting the FUSE front. Three things beyond fuse_session_mount():
 *
 * - A daemon killed without unmounting leaves a dead mount: every call
 *   on it fails with ENOTCONN, and mounting over it would only hide it.
 *   It is detached (umount2 MNT_DETACH) first. A live FUSE mount at the
 *   same place means another daemon: -EBUSY.
 * - auto_unmount makes libfuse mount through fusermount3 (also as root),
 *   which stays behind as a watcher holding one end of a socket pair and
 *   unmounts when the other end, left open in this process, closes:
 *   that is, when the daemon dies. libfuse does not hand that end out
 *   and leaves it inheritable; it is found (the one socket the mount
 *   added), marked close-on-exec so helpers the daemon runs cannot keep
 *   the mount alive, and closed at front_stop so the watcher exits; the
 *   watcher is our child, so it is reaped then too.
 * - Unmounting is lazy, so a client stuck in the mount never blocks the
 *   daemon.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/magic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/wait.h>
#include <unistd.h>

#include "front/fuse_mount.h"

/* Dead mounts stacked at one place that we detach before giving up. */
#define MAX_STALE 8

int front_clean_stale_mount(const char *path)
{
	struct statfs sfs;
	struct statx stx;
	int i;

	for (i = 0; i < MAX_STALE; i++) {
		if (statfs(path, &sfs) == 0) {
			if (sfs.f_type != FUSE_SUPER_MAGIC)
				return 0;
			/* A directory inside some FUSE file system is fine. */
			if (statx(AT_FDCWD, path, 0, 0, &stx) == 0 &&
			    (stx.stx_attributes_mask & STATX_ATTR_MOUNT_ROOT) &&
			    !(stx.stx_attributes & STATX_ATTR_MOUNT_ROOT))
				return 0;
			return -EBUSY;
		}
		if (errno != ENOTCONN && errno != ECONNABORTED)
			return -errno;
		if (umount2(path, MNT_DETACH) && errno != EINVAL)
			return -errno;
	}
	return -EBUSY;
}

/* The open fds of this process, sorted, in a malloc'ed array. */
static int list_fds(int **out, size_t *n)
{
	struct dirent *de;
	size_t cap = 0;
	int *fds = NULL, *nf;
	DIR *d;

	*n = 0;
	d = opendir("/proc/self/fd");
	if (!d)
		return -errno;
	while ((de = readdir(d))) {
		if (de->d_name[0] == '.')
			continue;
		if (*n == cap) {
			cap = cap ? cap * 2 : 64;
			nf = realloc(fds, cap * sizeof(*fds));
			if (!nf) {
				free(fds);
				closedir(d);
				return -ENOMEM;
			}
			fds = nf;
		}
		fds[(*n)++] = atoi(de->d_name);
	}
	closedir(d);
	*out = fds;
	return 0;
}

static bool in_list(const int *fds, size_t n, int fd)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (fds[i] == fd)
			return true;
	return false;
}

/*
 * The socket to the auto_unmount watcher: the one new socket since
 * `before`, other than the session fd. -1 if there is not exactly one.
 */
static int find_watcher(const int *before, size_t n_before, int session_fd)
{
	int *after, found = -1;
	size_t n_after, i;
	struct stat st;

	if (list_fds(&after, &n_after))
		return -1;
	for (i = 0; i < n_after; i++) {
		if (after[i] == session_fd || in_list(before, n_before, after[i]))
			continue;
		if (fstat(after[i], &st) || !S_ISSOCK(st.st_mode))
			continue;
		if (found >= 0) {
			found = -1;
			break;
		}
		found = after[i];
	}
	free(after);
	return found;
}

/* Whether pid is our child running `fusermount3 ... path`. */
static bool is_watcher(pid_t pid, const char *path)
{
	char buf[4096], *p, *last = NULL;
	int ppid = 0;
	ssize_t n;
	FILE *fp;
	int fd;

	snprintf(buf, sizeof(buf), "/proc/%d/stat", (int)pid);
	fp = fopen(buf, "re");
	if (!fp)
		return false;
	n = fread(buf, 1, sizeof(buf) - 1, fp);
	fclose(fp);
	buf[n > 0 ? n : 0] = 0;
	p = strrchr(buf, ')');	/* comm may hold anything: parse after it */
	if (!p || sscanf(p + 1, " %*c %d", &ppid) != 1 || ppid != getpid())
		return false;

	snprintf(buf, sizeof(buf), "/proc/%d/cmdline", (int)pid);
	fd = open(buf, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return false;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return false;
	buf[n] = 0;
	for (p = buf; p < buf + n; p += strlen(p) + 1)
		last = p;
	p = strrchr(buf, '/');
	return !strcmp(p ? p + 1 : buf, "fusermount3") && last && !strcmp(last, path);
}

/* The fusermount3 watcher of path among our children, or 0. */
static pid_t find_watcher_pid(const char *path)
{
	struct dirent *de;
	pid_t pid = 0;
	DIR *d;

	d = opendir("/proc");
	if (!d)
		return 0;
	while (!pid && (de = readdir(d)))
		if (de->d_name[0] >= '1' && de->d_name[0] <= '9' &&
		    is_watcher(atoi(de->d_name), path))
			pid = atoi(de->d_name);
	closedir(d);
	return pid;
}

/*
 * Reap the watcher once it saw the socket close and the mount gone; it
 * exits at once then. Bounded, so a stuck watcher costs a zombie, not
 * the loop.
 */
static void reap_watcher(pid_t pid)
{
	int i;

	for (i = 0; i < 200; i++) {
		pid_t r = waitpid(pid, NULL, WNOHANG);

		if (r == pid || (r < 0 && errno != EINTR))
			return;	/* reaped, or someone else's SIGCHLD handler did */
		usleep(5000);
	}
}

static struct fuse_session *new_session(const struct front_opts *opts,
					const struct fuse_lowlevel_ops *ops,
					size_t ops_size, void *userdata)
{
	char mount_opts[128];
	char *argv[] = { "ugpud", "-o", mount_opts, opts->debug ? "-d" : NULL, NULL };
	struct fuse_args args = FUSE_ARGS_INIT(opts->debug ? 4 : 3, argv);
	struct fuse_session *se;

	snprintf(mount_opts, sizeof(mount_opts),
		 "allow_other,default_permissions,fsname=ugpu,subtype=ugpu%s",
		 opts->no_auto_unmount ? "" : ",auto_unmount");
	se = fuse_session_new(&args, ops, ops_size, userdata);
	fuse_opt_free_args(&args);
	return se;
}

int front_mount_open(struct front_mount *m, const char *path,
		     const struct front_opts *opts,
		     const struct fuse_lowlevel_ops *ops, size_t ops_size,
		     void *userdata, struct fuse_session **se)
{
	int *before = NULL;
	size_t n_before = 0;
	int ret;

	m->watcher_fd = -1;
	m->watcher_pid = 0;
	m->path = strdup(path);
	if (!m->path)
		return -ENOMEM;
	ret = front_clean_stale_mount(path);
	if (ret)
		goto err_path;
	*se = new_session(opts, ops, ops_size, userdata);
	if (!*se) {
		ret = -EINVAL;
		goto err_path;
	}
	if (!opts->no_auto_unmount)
		list_fds(&before, &n_before);	/* without it: no watcher found */
	if (fuse_session_mount(*se, path)) {
		ret = -EIO;
		goto err_session;
	}
	if (before) {
		m->watcher_fd = find_watcher(before, n_before, fuse_session_fd(*se));
		if (m->watcher_fd >= 0) {
			fcntl(m->watcher_fd, F_SETFD, FD_CLOEXEC);
			m->watcher_pid = find_watcher_pid(path);
		}
		free(before);
	}
	return 0;

err_session:
	free(before);
	fuse_session_destroy(*se);
err_path:
	free(m->path);
	m->path = NULL;
	return ret;
}

void front_mount_close(struct front_mount *m, struct fuse_session *se, bool ended)
{
	fuse_session_unmount(se);
	fuse_session_destroy(se);
	/*
	 * libfuse leaves the mount of an aborted connection alone. Only then:
	 * with the connection alive, statfs here would wait for ourselves.
	 */
	if (ended)
		front_clean_stale_mount(m->path);
	/* The mount is gone: the watcher finds nothing to do and exits. */
	if (m->watcher_fd >= 0)
		close(m->watcher_fd);
	if (m->watcher_pid > 0)
		reap_watcher(m->watcher_pid);
	m->watcher_fd = -1;
	m->watcher_pid = 0;
	free(m->path);
	m->path = NULL;
}
