/* SPDX-License-Identifier: MIT */
/*
 * Inspecting another process's mappings: which VMA covers an address,
 * with its bounds, permissions, sharing, backing inode and name. Uses the
 * PROCMAP_QUERY ioctl on an fd of /proc/<pid>/maps where the kernel has
 * it (6.11+; defined locally when the headers lack it), and parses the
 * text of the same fd otherwise. The fd is bound to the process's mm at
 * open, so a query never describes another process after pid reuse: once
 * the mm is gone every query fails with -ESRCH.
 */
#ifndef UGPU_MM_VMA_H
#define UGPU_MM_VMA_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#define VMA_READ	(1u << 0)
#define VMA_WRITE	(1u << 1)
#define VMA_EXEC	(1u << 2)
#define VMA_SHARED	(1u << 3)

struct vma_info {
	uint64_t start;		/* first address */
	uint64_t end;		/* one past the last address */
	uint32_t prot;		/* VMA_* */
	uint32_t dev_major, dev_minor;
	uint64_t inode;		/* 0 for anonymous memory */
	uint64_t pgoff;		/* offset of start in the backing file, bytes */
	char name[256];		/* path, "[heap]", "/memfd:x (deleted)", or "" */
};

struct vma_src {
	int maps_fd;		/* /proc/<pid>/maps, O_RDONLY|O_CLOEXEC */
	bool have_query;	/* PROCMAP_QUERY works on this kernel */
};

/**
 * vma_open - open the mapping view of process @pid
 * @pid: the process (its mm is pinned at open)
 * @src: receives the open source
 *
 * Return: 0 or -errno (-ESRCH no such process, -EACCES not allowed).
 */
int vma_open(pid_t pid, struct vma_src *src);

/**
 * vma_close - close a source opened with vma_open()
 * @src: the source
 */
void vma_close(struct vma_src *src);

/**
 * vma_find - the VMA covering @addr, or if @next, the first one above it
 * @src:  the source
 * @addr: the address
 * @next: also accept the first VMA that starts above @addr
 * @out:  receives the VMA
 *
 * Return: 0, -ENOENT (no such VMA), -ESRCH (the process is gone), -errno.
 */
int vma_find(struct vma_src *src, uint64_t addr, bool next, struct vma_info *out);

/**
 * vma_span - check that [start, last] is fully mapped, without holes
 * @src:   the source
 * @start: first address
 * @last:  last address, inclusive
 * @span_start: if not NULL, receives the start of the first covering VMA
 * @span_end:   if not NULL, receives the end of the last covering VMA
 *
 * Return: 0, -EFAULT if any page of the range is unmapped, -ESRCH, -errno.
 */
int vma_span(struct vma_src *src, uint64_t start, uint64_t last,
	     uint64_t *span_start, uint64_t *span_end);

#endif
