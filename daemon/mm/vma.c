// SPDX-License-Identifier: MIT
/*
 * Another process's VMAs, looked up by address: the PROCMAP_QUERY ioctl
 * on an fd of /proc/<pid>/maps (one ioctl per VMA, no text), or, where
 * the kernel lacks it, a walk of the same fd's text. Both paths use the
 * fd opened once, which pins the process's mm and not its pid, so a
 * query after the process exited fails with -ESRCH even if the pid was
 * reused. Nothing here allocates; buffers live on the stack. The text
 * path reads by offset, so a client changing its mappings between two
 * reads may make one lookup see a line twice or miss one (a transient
 * -EFAULT from vma_span); PROCMAP_QUERY answers each lookup atomically.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "mm/vma.h"

/*
 * PROCMAP_QUERY (linux/fs.h, kernel 6.11+). Older installed headers lack
 * it, so the ABI is spelled out here under our own names; the layout is
 * fixed by the kernel (extensible by @size, which we set). The magic is
 * 'f' (PROCFS_IOCTL_MAGIC), giving 0xc0686611 as every user has it.
 */
#define VMAQ_IOCTL_MAGIC	'f'	/* PROCFS_IOCTL_MAGIC */

#define VMAQ_VMA_READABLE	0x01
#define VMAQ_VMA_WRITABLE	0x02
#define VMAQ_VMA_EXECUTABLE	0x04
#define VMAQ_VMA_SHARED		0x08
#define VMAQ_COVERING_OR_NEXT	0x10

struct vmaq_procmap_query {
	uint64_t size;
	uint64_t query_flags;
	uint64_t query_addr;
	uint64_t vma_start;
	uint64_t vma_end;
	uint64_t vma_flags;
	uint64_t vma_page_size;
	uint64_t vma_offset;
	uint64_t inode;
	uint32_t dev_major;
	uint32_t dev_minor;
	uint32_t vma_name_size;
	uint32_t build_id_size;
	uint64_t vma_name_addr;
	uint64_t build_id_addr;
};

_Static_assert(sizeof(struct vmaq_procmap_query) == 104,
	       "struct procmap_query is 104 bytes in the kernel ABI");

#define VMAQ_PROCMAP_QUERY _IOWR(VMAQ_IOCTL_MAGIC, 17, struct vmaq_procmap_query)

_Static_assert(VMAQ_PROCMAP_QUERY == 0xc0686611, "PROCMAP_QUERY number");

/* Largest name either path reports whole; longer ones are truncated. */
#define NAME_MAX_BYTES	(PATH_MAX + 64)

static void copy_name(struct vma_info *out, const char *name, size_t len)
{
	if (len >= sizeof(out->name))
		len = sizeof(out->name) - 1;
	memcpy(out->name, name, len);
	out->name[len] = '\0';
}

static int query(int fd, uint64_t addr, bool next, struct vma_info *out)
{
	char name[NAME_MAX_BYTES];
	struct vmaq_procmap_query q;

	memset(&q, 0, sizeof(q));
	q.size = sizeof(q);
	q.query_flags = next ? VMAQ_COVERING_OR_NEXT : 0;
	q.query_addr = addr;
	q.vma_name_addr = (uintptr_t)name;
	q.vma_name_size = sizeof(name);
	if (ioctl(fd, VMAQ_PROCMAP_QUERY, &q) < 0) {
		if (errno != ENAMETOOLONG)
			return -errno;
		/* A name longer than PATH_MAX: report the VMA unnamed-truncated. */
		q.vma_name_size = 0;
		q.vma_name_addr = 0;
		if (ioctl(fd, VMAQ_PROCMAP_QUERY, &q) < 0)
			return -errno;
		name[0] = '\0';
	}
	out->start = q.vma_start;
	out->end = q.vma_end;
	out->prot = 0;
	if (q.vma_flags & VMAQ_VMA_READABLE)
		out->prot |= VMA_READ;
	if (q.vma_flags & VMAQ_VMA_WRITABLE)
		out->prot |= VMA_WRITE;
	if (q.vma_flags & VMAQ_VMA_EXECUTABLE)
		out->prot |= VMA_EXEC;
	if (q.vma_flags & VMAQ_VMA_SHARED)
		out->prot |= VMA_SHARED;
	out->dev_major = q.dev_major;
	out->dev_minor = q.dev_minor;
	out->inode = q.inode;
	out->pgoff = q.vma_offset;
	/* vma_name_size counts the NUL; 0 means no name. */
	copy_name(out, name, q.vma_name_size ? strnlen(name, q.vma_name_size) : 0);
	return 0;
}

/*
 * Text fallback. A line of /proc/<pid>/maps:
 *   start-end perms offset major:minor inode   [name]
 * e.g. "7f12a000-7f12b000 rw-s 00000000 00:01 1034   /memfd:x (deleted)".
 */
static int parse_hex(const char **p, uint64_t *v)
{
	const char *s = *p;
	uint64_t x = 0;
	int digits = 0;

	for (;; s++, digits++) {
		unsigned int d;

		if (*s >= '0' && *s <= '9')
			d = (unsigned int)(*s - '0');
		else if (*s >= 'a' && *s <= 'f')
			d = (unsigned int)(*s - 'a' + 10);
		else
			break;
		if (digits == 16)
			return -EINVAL;
		x = x << 4 | d;
	}
	if (!digits)
		return -EINVAL;
	*p = s;
	*v = x;
	return 0;
}

static int parse_dec(const char **p, uint64_t *v)
{
	const char *s = *p;
	uint64_t x = 0;
	int digits = 0;

	for (; *s >= '0' && *s <= '9'; s++, digits++) {
		if (x > (UINT64_MAX - 9) / 10)
			return -EINVAL;
		x = x * 10 + (uint64_t)(*s - '0');
	}
	if (!digits)
		return -EINVAL;
	*p = s;
	*v = x;
	return 0;
}

static int expect(const char **p, char c)
{
	if (**p != c)
		return -EINVAL;
	(*p)++;
	return 0;
}

/* Parse one NUL-terminated line (without its newline) into @out. */
static int parse_line(const char *s, struct vma_info *out)
{
	uint64_t major, minor;
	int ret;

	ret = parse_hex(&s, &out->start);
	ret = ret ?: expect(&s, '-');
	ret = ret ?: parse_hex(&s, &out->end);
	ret = ret ?: expect(&s, ' ');
	if (ret)
		return ret;
	if (strlen(s) < 5 || s[4] != ' ')
		return -EINVAL;
	out->prot = 0;
	if (s[0] == 'r')
		out->prot |= VMA_READ;
	if (s[1] == 'w')
		out->prot |= VMA_WRITE;
	if (s[2] == 'x')
		out->prot |= VMA_EXEC;
	if (s[3] == 's')
		out->prot |= VMA_SHARED;
	s += 5;
	ret = parse_hex(&s, &out->pgoff);
	ret = ret ?: expect(&s, ' ');
	ret = ret ?: parse_hex(&s, &major);
	ret = ret ?: expect(&s, ':');
	ret = ret ?: parse_hex(&s, &minor);
	ret = ret ?: expect(&s, ' ');
	ret = ret ?: parse_dec(&s, &out->inode);
	if (ret)
		return ret;
	if (major > UINT32_MAX || minor > UINT32_MAX || out->start >= out->end)
		return -EINVAL;
	out->dev_major = (uint32_t)major;
	out->dev_minor = (uint32_t)minor;
	while (*s == ' ')
		s++;
	copy_name(out, s, strlen(s));
	return 0;
}

/*
 * Walk the text from the start, calling @fn on each VMA that ends above
 * @addr, in address order, until it returns non-zero (which we return).
 * 0 means the walk ran off the end. Reads by offset so concurrent users
 * of the fd do not disturb each other. An empty file means the mm is
 * gone (a live process always has VMAs).
 */
static int text_walk(int fd, uint64_t addr,
		     int (*fn)(const struct vma_info *v, void *arg), void *arg)
{
	char buf[NAME_MAX_BYTES + 128];
	struct vma_info v;
	size_t have = 0;
	off_t off = 0;
	bool any = false;

	for (;;) {
		char *line, *nl;
		ssize_t n;

		n = pread(fd, buf + have, sizeof(buf) - 1 - have, off);
		if (n < 0)
			return -errno;
		if (n == 0) {
			/* Without a final newline the last line is cut: ignore it. */
			return any ? 0 : -ESRCH;
		}
		any = true;
		off += n;
		have += (size_t)n;
		buf[have] = '\0';

		line = buf;
		while ((nl = memchr(line, '\n', have - (size_t)(line - buf)))) {
			int ret;

			*nl = '\0';
			ret = parse_line(line, &v);
			line = nl + 1;
			if (ret)
				return -EIO;	/* not a maps file we understand */
			/* The gate VMA is not in the mm; PROCMAP_QUERY skips it too. */
			if (v.end <= addr || !strcmp(v.name, "[vsyscall]"))
				continue;
			ret = fn(&v, arg);
			if (ret)
				return ret;
		}
		have -= (size_t)(line - buf);
		if (have == sizeof(buf) - 1)
			return -EIO;	/* a line longer than any maps line */
		memmove(buf, line, have);
	}
}

struct find_arg {
	uint64_t addr;
	bool next;
	struct vma_info *out;
};

static int find_fn(const struct vma_info *v, void *arg)
{
	struct find_arg *a = arg;

	if (v->start > a->addr && !a->next)
		return -ENOENT;
	*a->out = *v;
	return 1;
}

static int text_find(int fd, uint64_t addr, bool next, struct vma_info *out)
{
	struct find_arg a = { .addr = addr, .next = next, .out = out };
	int ret;

	ret = text_walk(fd, addr, find_fn, &a);
	if (ret == 1)
		return 0;
	return ret ? ret : -ENOENT;
}

int vma_open(pid_t pid, struct vma_src *src)
{
	struct vma_info v;
	char path[64];
	int ret;

	if (pid <= 0)
		return -ESRCH;
	snprintf(path, sizeof(path), "/proc/%d/maps", (int)pid);
	src->maps_fd = open(path, O_RDONLY | O_CLOEXEC);
	if (src->maps_fd < 0)
		return errno == ENOENT ? -ESRCH : -errno;

	/* Probe: any answer but "no such ioctl" means the kernel has it. */
	ret = query(src->maps_fd, 0, true, &v);
	if (ret == -ENOTTY || ret == -EINVAL || ret == -EOPNOTSUPP) {
		src->have_query = false;
		ret = text_find(src->maps_fd, 0, true, &v);
	} else {
		src->have_query = true;
	}
	if (ret == -ESRCH || ret == -ENOENT) {
		/* No mm (a zombie or kernel thread), or no VMA at all. */
		ret = -ESRCH;
		goto err_close;
	}
	if (ret)
		goto err_close;
	return 0;

err_close:
	close(src->maps_fd);
	src->maps_fd = -1;
	return ret;
}

void vma_close(struct vma_src *src)
{
	if (src->maps_fd >= 0)
		close(src->maps_fd);
	src->maps_fd = -1;
}

int vma_find(struct vma_src *src, uint64_t addr, bool next, struct vma_info *out)
{
	if (src->have_query)
		return query(src->maps_fd, addr, next, out);
	return text_find(src->maps_fd, addr, next, out);
}

struct span_arg {
	uint64_t start, last;
	uint64_t cur;		/* first address not yet seen covered */
	uint64_t span_start;
	uint64_t span_end;
	bool first;
};

static int span_fn(const struct vma_info *v, void *arg)
{
	struct span_arg *a = arg;

	if (v->start > a->cur)
		return -EFAULT;		/* a hole before this VMA */
	if (a->first) {
		a->span_start = v->start;
		a->first = false;
	}
	a->span_end = v->end;
	if (v->end - 1 >= a->last)
		return 1;
	a->cur = v->end;
	return 0;
}

int vma_span(struct vma_src *src, uint64_t start, uint64_t last,
	     uint64_t *span_start, uint64_t *span_end)
{
	struct span_arg a = {
		.start = start, .last = last, .cur = start, .first = true,
	};
	struct vma_info v;
	int ret;

	if (last < start)
		return -EINVAL;

	if (!src->have_query) {
		ret = text_walk(src->maps_fd, start, span_fn, &a);
		if (ret == 0)
			return -EFAULT;		/* ran off the last VMA */
		if (ret < 0)
			return ret;
	} else {
		do {
			/* Exact lookup: a hole at a.cur is -ENOENT. */
			ret = query(src->maps_fd, a.cur, false, &v);
			if (ret == -ENOENT)
				return -EFAULT;
			if (ret)
				return ret;
			ret = span_fn(&v, &a);
		} while (ret == 0);
		if (ret < 0)
			return ret;
	}
	if (span_start)
		*span_start = a.span_start;
	if (span_end)
		*span_end = a.span_end;
	return 0;
}
