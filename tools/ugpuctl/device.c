// SPDX-License-Identifier: MIT
/*
 * ugpuctl's side of the daemon (device.h): device lookup as libugpu does
 * it, the counters from the FUSE mount's `stats` file or the STATS ioctl,
 * and the per-client files. The files are preferred on a FUSE card0
 * because they carry more than struct ugpu_stats and because reading
 * them does not open the device, so ugpuctl never shows up in clients/.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/magic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <unistd.h>

#include "device.h"
#include "uapi/ugpu.h"

#define INFO_MAX	16384	/* larger than any info file ugpud writes */

static int copy_path(char *dst, const char *fmt, const char *a, const char *b)
{
	int n = snprintf(dst, PATH_MAX, fmt, a, b);

	return n < 0 || n >= PATH_MAX ? -ENAMETOOLONG : 0;
}

int ctl_dev_resolve(const char *arg, struct ctl_dev *d)
{
	const char *path = arg, *env = getenv("UGPU_DEVICE");
	char real[PATH_MAX], *slash;
	struct statfs sfs;
	struct stat st;
	int ret;

	memset(d, 0, sizeof(*d));
	if (!path) {
		if (env && *env)
			path = env;
		else if (access("/dev/ugpu0", F_OK) == 0)
			path = "/dev/ugpu0";
		else
			path = "/run/ugpu/card0";
	}
	ret = copy_path(d->path, "%s%s", path, "");
	if (ret)
		return ret;
	if (stat(d->path, &st))
		return -errno;
	if (S_ISDIR(st.st_mode)) {
		ret = copy_path(d->path, "%s/%s", path, "card0");
		if (ret)
			return ret;
		if (stat(d->path, &st))
			return -errno;
	}
	if (!S_ISREG(st.st_mode) || statfs(d->path, &sfs) ||
	    sfs.f_type != (typeof(sfs.f_type))FUSE_SUPER_MAGIC)
		return 0;
	/* The info files sit beside the real card0, not beside a symlink. */
	if (!realpath(d->path, real))
		return 0;
	slash = strrchr(real, '/');
	if (slash == real)
		slash[1] = '\0';
	else
		*slash = '\0';
	ret = copy_path(d->dir, "%s%s", real, "");
	if (ret)
		return ret;
	d->fuse = !copy_path(real, "%s/%s", d->dir, "stats") && !access(real, F_OK);
	if (!d->fuse)
		d->dir[0] = '\0';
	return 0;
}

/* The whole of a small file; EFBIG past @size - 1 bytes. */
static int read_all(int dfd, const char *path, char *buf, size_t size, size_t *len)
{
	int fd = openat(dfd, path, O_RDONLY | O_CLOEXEC);
	int ret = 0;

	if (fd < 0)
		return -errno;
	*len = 0;
	for (;;) {
		ssize_t n;

		if (*len == size - 1) {
			ret = -EFBIG;
			break;
		}
		n = read(fd, buf + *len, size - 1 - *len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			ret = -errno;
			break;
		}
		if (n == 0)
			break;
		*len += (size_t)n;
	}
	close(fd);
	buf[*len] = '\0';
	return ret;
}

static int stats_ioctl(const struct ctl_dev *d, struct json_obj *o)
{
	struct ugpu_stats st;
	int fd, ret;

	/* Any open mode will do for the ioctl; the group may grant only r. */
	fd = open(d->path, O_RDWR | O_CLOEXEC);
	if (fd < 0 && errno == EACCES)
		fd = open(d->path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	memset(&st, 0, sizeof(st));
	do {
		ret = ioctl(fd, UGPU_IOCTL_STATS, &st);
	} while (ret < 0 && errno == EINTR);
	ret = ret < 0 ? -errno : 0;
	close(fd);
	if (ret)
		return ret;

	json_init(o);
	ret = json_add_u64(o, "clients", st.clients);
	ret = ret ?: json_add_u64(o, "vms", st.vms);
	ret = ret ?: json_add_u64(o, "bos", st.bos);
	ret = ret ?: json_add_u64(o, "userptrs", st.userptrs);
	ret = ret ?: json_add_u64(o, "bound_bytes", st.bound_bytes);
	ret = ret ?: json_add_u64(o, "jobs_submitted", st.jobs_submitted);
	ret = ret ?: json_add_u64(o, "jobs_completed", st.jobs_completed);
	ret = ret ?: json_add_u64(o, "jobs_failed", st.jobs_failed);
	ret = ret ?: json_add_u64(o, "invalidations", st.invalidations);
	ret = ret ?: json_add_u64(o, "exec_retries", st.exec_retries);
	return ret;
}

int ctl_read_stats(const struct ctl_dev *d, struct json_obj *stats, const char **how)
{
	char path[PATH_MAX], buf[INFO_MAX];
	size_t len;
	int ret;

	if (d->fuse) {
		ret = copy_path(path, "%s/%s", d->dir, "stats");
		if (ret)
			return ret;
		ret = read_all(AT_FDCWD, path, buf, sizeof(buf), &len);
		*how = "stats file";
		return ret ?: json_parse(buf, len, stats);
	}
	*how = "STATS ioctl";
	return stats_ioctl(d, stats);
}

int ctl_check_stats(const struct json_obj *stats, const char **field)
{
	static const char *const required[] = {
		"clients", "vms", "bos", "userptrs", "bound_bytes", "jobs_submitted",
		"jobs_completed", "jobs_failed", "invalidations", "exec_retries", NULL,
	};
	const char *const *k;
	uint64_t v;

	for (k = required; *k; k++) {
		if (json_get_u64(stats, *k, &v)) {
			*field = *k;
			return -EPROTO;
		}
	}
	return 0;
}

static int by_pid(const void *a, const void *b)
{
	const struct ctl_client *x = a, *y = b;

	if (x->pid != y->pid)
		return x->pid < y->pid ? -1 : 1;
	return strcmp(x->name, y->name);
}

static int add_client(struct ctl_clients *out, size_t *cap, const char *name,
		      const char *text, size_t len)
{
	struct ctl_client *c;
	bool active;
	int64_t pid;
	int ret;

	if (strlen(name) >= sizeof(c->name))
		return -ENAMETOOLONG;
	if (out->n == *cap) {
		size_t ncap = *cap ? *cap * 2 : 16;
		struct ctl_client *v = realloc(out->v, ncap * sizeof(*v));

		if (!v)
			return -ENOMEM;
		out->v = v;
		*cap = ncap;
	}
	c = &out->v[out->n];
	strcpy(c->name, name);
	ret = json_parse(text, len, &c->obj);
	if (ret)
		return ret;
	/* Opens that never did GPU work (monitors such as us) are not clients. */
	if (!json_get_bool(&c->obj, "active", &active) && !active)
		return 0;
	c->pid = json_get_i64(&c->obj, "pid", &pid) ? -1 : pid;
	out->n++;
	return 0;
}

int ctl_read_clients(const struct ctl_dev *d, struct ctl_clients *out)
{
	char path[PATH_MAX], buf[INFO_MAX];
	size_t cap = 0, len;
	struct dirent *de;
	int dfd, ret = 0;
	DIR *dir;

	memset(out, 0, sizeof(*out));
	if (!d->fuse)
		return -EOPNOTSUPP;
	ret = copy_path(path, "%s/%s", d->dir, "clients");
	if (ret)
		return ret;
	dfd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0)
		return -errno;
	dir = fdopendir(dfd);
	if (!dir) {
		ret = -errno;
		close(dfd);
		return ret;
	}
	for (;;) {
		errno = 0;
		de = readdir(dir);
		if (!de) {
			ret = -errno;
			break;
		}
		if (de->d_name[0] == '.')
			continue;
		ret = read_all(dfd, de->d_name, buf, sizeof(buf), &len);
		if (ret == -EACCES || ret == -EPERM) {
			out->not_shown++;
			continue;
		}
		if (ret == -ENOENT)		/* the client left meanwhile */
			continue;
		ret = ret ?: add_client(out, &cap, de->d_name, buf, len);
		if (ret)
			break;
	}
	closedir(dir);
	if (ret) {
		ctl_clients_free(out);
		return ret;
	}
	if (out->n)
		qsort(out->v, out->n, sizeof(*out->v), by_pid);
	return 0;
}

void ctl_clients_free(struct ctl_clients *c)
{
	free(c->v);
	c->v = NULL;
	c->n = 0;
}
