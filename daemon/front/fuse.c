// SPDX-License-Identifier: MIT
/*
 * The FUSE front: a small read-only file system mounted at the daemon's
 * mount point (default /run/ugpu) that any local process can reach with
 * no /dev/cuse. `card0` is the device file; FUSE passes only restricted
 * ioctls on regular files, so the kernel copies _IOC_SIZE bytes in and
 * out by _IOC_DIR, which is why the ABI is made of fixed-size structs.
 * Beside it, info files whose content the core writes (read_info):
 * root files such as `stats`, and `clients/<pid>`, readable only by the
 * client's owner and root. Inodes are fixed numbers; nothing is cached
 * per inode, so lookups need no forget bookkeeping.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "front/front_internal.h"
#include "front/fuse_mount.h"

#define INO_ROOT	FUSE_ROOT_ID
#define INO_CARD0	2
#define INO_CLIENTS	3
#define INO_INFO	16		/* + index in ops->info_files */
#define INO_INFO_MAX	4096		/* root info files at most */
#define INO_CLIENT	(1ull << 32)	/* + front_file id */

/* Static names may be cached a while; client files come and go. */
#define STATIC_TIMEOUT	1.0

struct fuse_priv {
	struct front_mount mnt;
	time_t started;
	unsigned int n_info;	/* names in ops->info_files, 0 without read_info */
};

/* An info file opened: the core's content, taken once at open. */
struct info_fh {
	enum front_fh_kind kind;	/* FRONT_FH_INFO */
	size_t len;
	char data[];
};

/* A directory opened: its listing, taken once at opendir. */
struct dir_fh {
	enum front_fh_kind kind;	/* FRONT_FH_DIR */
	size_t len;
	char *buf;
};

static struct front *req_front(fuse_req_t req)
{
	return fuse_req_userdata(req);
}

static struct fuse_priv *priv(struct front *f)
{
	return f->priv;
}

static enum front_fh_kind fh_kind(const struct fuse_file_info *fi)
{
	return *(const enum front_fh_kind *)(uintptr_t)fi->fh;
}

static bool has_clients(struct front *f)
{
	return f->ops->read_info != NULL;
}

static int fill_attr(struct front *f, fuse_ino_t ino, struct stat *st)
{
	struct front_file *file;

	memset(st, 0, sizeof(*st));
	st->st_ino = ino;
	st->st_nlink = 1;
	st->st_uid = geteuid();
	st->st_gid = getegid();
	st->st_atime = st->st_mtime = st->st_ctime = priv(f)->started;
	if (ino == INO_ROOT) {
		st->st_mode = S_IFDIR | 0755;
		st->st_nlink = has_clients(f) ? 3 : 2;
	} else if (ino == INO_CARD0) {
		st->st_mode = S_IFREG | f->opts.mode;
		st->st_uid = f->opts.uid;
		st->st_gid = f->opts.gid;
	} else if (ino == INO_CLIENTS && has_clients(f)) {
		st->st_mode = S_IFDIR | 0755;
		st->st_nlink = 2;
	} else if (ino >= INO_INFO && ino < INO_INFO + priv(f)->n_info) {
		st->st_mode = S_IFREG | 0444;
	} else if (ino > INO_CLIENT && has_clients(f) &&
		   (file = front_file_by_id(f, ino - INO_CLIENT))) {
		st->st_mode = S_IFREG | 0400;
		st->st_uid = file->opener.uid;
		st->st_gid = file->opener.gid;
	} else {
		return -ENOENT;
	}
	return 0;
}

static fuse_ino_t find_name(struct front *f, fuse_ino_t parent, const char *name)
{
	struct front_file *file;
	unsigned int i;

	if (parent == INO_ROOT) {
		if (!strcmp(name, "card0"))
			return INO_CARD0;
		if (has_clients(f) && !strcmp(name, "clients"))
			return INO_CLIENTS;
		for (i = 0; i < priv(f)->n_info; i++)
			if (!strcmp(name, f->ops->info_files[i]))
				return INO_INFO + i;
	} else if (parent == INO_CLIENTS && has_clients(f)) {
		list_for_each_entry(file, &f->files, link)
			if (!strcmp(name, file->name))
				return INO_CLIENT + file->id;
	}
	return 0;
}

static void fs_lookup(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	struct front *f = req_front(req);
	struct fuse_entry_param e = { 0 };

	e.ino = find_name(f, parent, name);
	if (!e.ino || fill_attr(f, e.ino, &e.attr)) {
		fuse_reply_err(req, ENOENT);
		return;
	}
	e.attr_timeout = e.entry_timeout = e.ino > INO_CLIENT ? 0 : STATIC_TIMEOUT;
	fuse_reply_entry(req, &e);
}

static void fs_getattr(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct front *f = req_front(req);
	struct stat st;

	if (fill_attr(f, ino, &st)) {
		fuse_reply_err(req, ENOENT);
		return;
	}
	fuse_reply_attr(req, &st, ino > INO_CLIENT ? 0 : STATIC_TIMEOUT);
}

static int dir_add(fuse_req_t req, struct dir_fh *d, size_t *cap, const char *name,
		   fuse_ino_t ino, mode_t mode)
{
	struct stat st = { .st_ino = ino, .st_mode = mode };
	size_t need = fuse_add_direntry(req, NULL, 0, name, NULL, 0);
	char *nb;

	if (d->len + need > *cap) {
		*cap = (d->len + need) * 2;
		nb = realloc(d->buf, *cap);
		if (!nb)
			return -ENOMEM;
		d->buf = nb;
	}
	fuse_add_direntry(req, d->buf + d->len, need, name, &st, d->len + need);
	d->len += need;
	return 0;
}

static int list_dir(fuse_req_t req, struct front *f, fuse_ino_t ino, struct dir_fh *d)
{
	struct front_file *file;
	size_t cap = 0;
	unsigned int i;
	int ret;

	ret = dir_add(req, d, &cap, ".", ino, S_IFDIR);
	ret = ret ?: dir_add(req, d, &cap, "..", INO_ROOT, S_IFDIR);
	if (ino == INO_CLIENTS) {
		list_for_each_entry(file, &f->files, link)
			ret = ret ?: dir_add(req, d, &cap, file->name,
					     INO_CLIENT + file->id, S_IFREG);
		return ret;
	}
	ret = ret ?: dir_add(req, d, &cap, "card0", INO_CARD0, S_IFREG);
	if (has_clients(f))
		ret = ret ?: dir_add(req, d, &cap, "clients", INO_CLIENTS, S_IFDIR);
	for (i = 0; i < priv(f)->n_info; i++)
		ret = ret ?: dir_add(req, d, &cap, f->ops->info_files[i],
				     INO_INFO + i, S_IFREG);
	return ret;
}

static void fs_opendir(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct front *f = req_front(req);
	struct dir_fh *d;
	int ret;

	if (ino != INO_ROOT && !(ino == INO_CLIENTS && has_clients(f))) {
		fuse_reply_err(req, ENOTDIR);
		return;
	}
	d = calloc(1, sizeof(*d));
	if (!d) {
		fuse_reply_err(req, ENOMEM);
		return;
	}
	d->kind = FRONT_FH_DIR;
	ret = list_dir(req, f, ino, d);
	if (ret) {
		free(d->buf);
		free(d);
		fuse_reply_err(req, -ret);
		return;
	}
	fi->fh = (uintptr_t)d;
	if (fuse_reply_open(req, fi)) {
		free(d->buf);
		free(d);
	}
}

static void fs_readdir(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
		       struct fuse_file_info *fi)
{
	struct dir_fh *d = (struct dir_fh *)(uintptr_t)fi->fh;

	if (off < 0 || (size_t)off >= d->len) {
		fuse_reply_buf(req, NULL, 0);
		return;
	}
	if (size > d->len - off)
		size = d->len - off;
	fuse_reply_buf(req, d->buf + off, size);
}

static void fs_releasedir(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct dir_fh *d = (struct dir_fh *)(uintptr_t)fi->fh;

	free(d->buf);
	free(d);
	fuse_reply_err(req, 0);
}

/* Ask the core for the whole content, growing the buffer as it asks. */
static int snapshot(struct front *f, void *session, const char *name,
		    const struct front_caller *who, struct info_fh **out)
{
	size_t size = 4096;
	struct info_fh *ih;
	int tries, n;

	for (tries = 0;; tries++) {
		ih = malloc(sizeof(*ih) + size);
		if (!ih)
			return -ENOMEM;
		ih->kind = FRONT_FH_INFO;
		n = f->ops->read_info(f->core, session, name, who, ih->data, size);
		if (n < 0) {
			free(ih);
			return n;
		}
		/* Fits, or cannot grow more, or grows on every call: cut. */
		if ((size_t)n <= size || size == FRONT_INFO_MAX || tries == 3) {
			ih->len = (size_t)n < size ? (size_t)n : size;
			*out = ih;
			return 0;
		}
		free(ih);
		size = (size_t)n < FRONT_INFO_MAX ? (size_t)n : FRONT_INFO_MAX;
	}
}

static void open_info(fuse_req_t req, struct front *f, fuse_ino_t ino,
		      struct fuse_file_info *fi)
{
	struct front_file *file = NULL;
	struct front_caller who;
	struct info_fh *ih;
	char client[64];
	const char *name;
	int ret;

	if ((fi->flags & O_ACCMODE) != O_RDONLY) {
		fuse_reply_err(req, EACCES);	/* root passes the mode bits */
		return;
	}
	if (ino > INO_CLIENT) {
		file = front_file_by_id(f, ino - INO_CLIENT);
		if (!file) {
			fuse_reply_err(req, ENOENT);
			return;
		}
		snprintf(client, sizeof(client), "clients/%s", file->name);
		name = client;
	} else {
		name = f->ops->info_files[ino - INO_INFO];
	}
	front_caller_of(f, req, &who);
	ret = snapshot(f, file ? file->session : NULL, name, &who, &ih);
	if (ret) {
		fuse_reply_err(req, -ret);
		return;
	}
	fi->fh = (uintptr_t)ih;
	fi->direct_io = 1;	/* the size is unknown to stat: read to EOF */
	if (fuse_reply_open(req, fi))
		free(ih);
}

static void fs_open(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct front *f = req_front(req);
	struct stat st;

	if (ino == INO_CARD0)
		front_dev_open(f, req, fi);
	else if (fill_attr(f, ino, &st))
		fuse_reply_err(req, ENOENT);
	else if (S_ISDIR(st.st_mode))
		fuse_reply_err(req, EISDIR);
	else
		open_info(req, f, ino, fi);
}

static void fs_read(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
		    struct fuse_file_info *fi)
{
	struct info_fh *ih = (struct info_fh *)(uintptr_t)fi->fh;

	if (fh_kind(fi) != FRONT_FH_INFO) {
		fuse_reply_err(req, EINVAL);	/* card0 has no byte stream */
		return;
	}
	if (off < 0 || (size_t)off >= ih->len) {
		fuse_reply_buf(req, NULL, 0);
		return;
	}
	if (size > ih->len - off)
		size = ih->len - off;
	fuse_reply_buf(req, ih->data + off, size);
}

static void fs_release(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	if (fh_kind(fi) == FRONT_FH_DEV) {
		front_dev_release(req_front(req), req, fi);
		return;
	}
	free((void *)(uintptr_t)fi->fh);
	fuse_reply_err(req, 0);
}

static void fs_ioctl(fuse_req_t req, fuse_ino_t ino, unsigned int cmd, void *arg,
		     struct fuse_file_info *fi, unsigned int flags,
		     const void *in_buf, size_t in_bufsz, size_t out_bufsz)
{
	if ((flags & FUSE_IOCTL_DIR) || fh_kind(fi) != FRONT_FH_DEV) {
		fuse_reply_err(req, ENOTTY);
		return;
	}
	front_dev_ioctl(req_front(req), req, cmd, arg, fi, flags, in_buf, in_bufsz,
			out_bufsz);
}

static const struct fuse_lowlevel_ops fs_ops = {
	.lookup = fs_lookup,
	.getattr = fs_getattr,
	.opendir = fs_opendir,
	.readdir = fs_readdir,
	.releasedir = fs_releasedir,
	.open = fs_open,
	.read = fs_read,
	.release = fs_release,
	.ioctl = fs_ioctl,
};

static void fuse_teardown(struct front *f)
{
	struct fuse_priv *p = priv(f);

	front_mount_close(&p->mnt, f->se, f->ended);
	free(p);
}

int front_fuse_start(struct event_base *base, const char *mountpoint,
		     const struct front_opts *opts, const struct front_ops *ops,
		     void *core, struct front **out)
{
	struct fuse_priv *p;
	struct front *f;
	int ret;

	if (!mountpoint || !*mountpoint)
		return -EINVAL;
	ret = front_new(base, opts, ops, core, &front_libfuse, &f);
	if (ret)
		return ret;
	p = calloc(1, sizeof(*p));
	if (!p) {
		ret = -ENOMEM;
		goto err_front;
	}
	p->started = time(NULL);
	while (ops->read_info && ops->info_files && ops->info_files[p->n_info] &&
	       p->n_info < INO_INFO_MAX)
		p->n_info++;
	f->priv = p;

	ret = front_mount_open(&p->mnt, mountpoint, &f->opts, &fs_ops, sizeof(fs_ops),
			       f, &f->se);
	if (ret)
		goto err_priv;
	ret = front_attach(f);
	if (ret)
		goto err_mount;
	f->teardown = fuse_teardown;
	*out = f;
	return 0;

err_mount:
	front_mount_close(&p->mnt, f->se, false);
err_priv:
	free(p);
err_front:
	front_stop(f);
	return ret;
}
