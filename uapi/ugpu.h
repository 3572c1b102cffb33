/* SPDX-License-Identifier: MIT */
/*
 * The ugpu ioctl ABI: what a client sends to ugpud through the device
 * file (FUSE `card0` or CUSE `/dev/ugpuN`). Usable from C without
 * libugpu. Rules, after the kernel's "botching up ioctls": every struct is
 * fixed-size and self-contained (FUSE passes only restricted ioctls, whose
 * data the kernel copies by _IOC_SIZE), made of __u32/__u64 only, with
 * `extensions` first and `reserved` last, explicit `pad`; every pad,
 * reserved field, extension and unknown flag bit must be zero or the call
 * fails with EINVAL. Arrays (bind ops, syncs) live in client memory and
 * are named by address; the daemon reads them from the calling process.
 * Timeouts are absolute CLOCK_MONOTONIC nanoseconds.
 */
#ifndef UGPU_UAPI_UGPU_H
#define UGPU_UAPI_UGPU_H

#include <linux/ioctl.h>
#include <linux/types.h>

#define UGPU_ABI_VERSION	1
#define UGPU_IOCTL_BASE		'u'

/* Bits of ugpu_query.features. */
#define UGPU_FEATURE_USERPTR	(1ull << 0)	/* VM_BIND of client memory */
#define UGPU_FEATURE_FAULT_MODE	(1ull << 1)	/* VMs that resolve userptr faults */
#define UGPU_FEATURE_SYNCOBJ	(1ull << 2)	/* binary and timeline syncobjs */
#define UGPU_FEATURE_HOST_IMPORT (1ull << 3)	/* BO import of a client memfd */

/* Marks "none" in a handle or fd field. */
#define UGPU_NONE		0xffffffffu

/**
 * struct ugpu_query - what the device is (UGPU_IOCTL_QUERY)
 */
struct ugpu_query {
	__u64 extensions;	/* in: 0 */
	__u32 abi_version;	/* out: UGPU_ABI_VERSION */
	__u32 num_engines;	/* out */
	__u64 features;		/* out: UGPU_FEATURE_* */
	__u64 va_bits;		/* out: each VM spans [0, 1 << va_bits) */
	__u32 page_size;	/* out: bind granularity, 4096 */
	__u32 max_batch_len;	/* out: bytes */
	__u8 backend[16];	/* out: "sim", "vfio", "edu", NUL-padded */
	__u64 reserved[2];
};

/**
 * struct ugpu_client_init - hand the client's userfaultfd to the daemon
 * (UGPU_IOCTL_CLIENT_INIT), once, right after open. The daemon takes its
 * own copy (pidfd_getfd); the client closes its copy afterwards.
 */
struct ugpu_client_init {
	__u64 extensions;	/* in: 0 */
	__u32 uffd;		/* in: fd number in the caller, or UGPU_NONE */
	__u32 flags;		/* in: 0 */
	__u64 reserved[2];
};

/**
 * struct ugpu_vm_create - a GPU address space (UGPU_IOCTL_VM_CREATE)
 */
struct ugpu_vm_create {
	__u64 extensions;
/* A userptr fault of a running job is resolved and the job resumes. */
#define UGPU_VM_CREATE_FAULT_MODE	(1u << 0)
	__u32 flags;		/* in */
	__u32 vm_id;		/* out */
	__u64 reserved[2];
};

/**
 * struct ugpu_vm_destroy - UGPU_IOCTL_VM_DESTROY
 */
struct ugpu_vm_destroy {
	__u64 extensions;
	__u32 vm_id;		/* in */
	__u32 pad;
	__u64 reserved[2];
};

/**
 * struct ugpu_bo_create - device-local buffer (UGPU_IOCTL_BO_CREATE)
 */
struct ugpu_bo_create {
	__u64 extensions;
	__u64 size;		/* in: bytes, multiple of page_size */
	__u32 flags;		/* in: 0 */
	__u32 handle;		/* out */
	__u64 reserved[2];
};

/**
 * struct ugpu_bo_import - a BO on the client's memfd (UGPU_IOCTL_BO_IMPORT)
 *
 * Zero copy: the GPU reaches the same pages as the client's mappings.
 * The file must be a memfd sealed with F_SEAL_SHRINK (EINVAL otherwise):
 * the daemon must never touch a page the client could truncate away.
 */
struct ugpu_bo_import {
	__u64 extensions;
	__u32 fd;		/* in: memfd number in the caller */
	__u32 flags;		/* in: 0 */
	__u64 offset;		/* in: bytes into the file, page aligned */
	__u64 size;		/* in: bytes, page aligned */
	__u32 handle;		/* out */
	__u32 pad;
	__u64 reserved[2];
};

/**
 * struct ugpu_bo_destroy - UGPU_IOCTL_BO_DESTROY
 */
struct ugpu_bo_destroy {
	__u64 extensions;
	__u32 handle;		/* in */
	__u32 pad;
	__u64 reserved[2];
};

/**
 * struct ugpu_bo_rw - copy between a BO and client memory
 * (UGPU_IOCTL_BO_PREAD, UGPU_IOCTL_BO_PWRITE)
 */
struct ugpu_bo_rw {
	__u64 extensions;
	__u32 handle;		/* in */
	__u32 flags;		/* in: 0 */
	__u64 offset;		/* in: bytes into the BO */
	__u64 size;		/* in: bytes */
	__u64 data_ptr;		/* in: client address */
	__u64 reserved[2];
};

/**
 * struct ugpu_vm_bind_op - one operation of a VM_BIND
 *
 * MAP over an existing mapping replaces the overlapped part; UNMAP of a
 * part of a mapping splits it. va, range, obj_offset: page aligned.
 */
struct ugpu_vm_bind_op {
	__u64 extensions;
#define UGPU_VM_BIND_OP_MAP_BO		0
#define UGPU_VM_BIND_OP_MAP_USERPTR	1
#define UGPU_VM_BIND_OP_UNMAP		2
	__u32 op;
/* GPU writes through this mapping fault. */
#define UGPU_VM_BIND_FLAG_READONLY	(1u << 0)
/* Fail with EFAULT now if any page of the userptr range is unmapped. */
#define UGPU_VM_BIND_FLAG_PROBE		(1u << 1)
	__u32 flags;
	__u64 va;		/* GPU address */
	__u64 range;		/* bytes */
	__u64 obj_offset;	/* MAP_BO: offset in the BO; MAP_USERPTR: client address */
	__u32 handle;		/* MAP_BO: the BO; else 0 */
	__u32 pad;
	__u64 reserved[2];
};

/**
 * struct ugpu_sync - a fence to wait on before, or signal after, an operation
 */
struct ugpu_sync {
	__u64 extensions;
#define UGPU_SYNC_SYNCOBJ		0	/* binary syncobj */
#define UGPU_SYNC_TIMELINE_SYNCOBJ	1	/* timeline syncobj point */
	__u32 type;
/* Signal this sync when the operation completes; else wait for it first. */
#define UGPU_SYNC_FLAG_SIGNAL		(1u << 0)
	__u32 flags;
	__u32 handle;		/* the syncobj */
	__u32 pad;
	__u64 timeline_value;	/* TIMELINE: the point; else 0 */
	__u64 reserved[2];
};

/**
 * struct ugpu_vm_bind - UGPU_IOCTL_VM_BIND
 *
 * With num_binds == 1 the op is `bind`; with more, `binds_ptr` points to an
 * array of num_binds ops in client memory and `bind` must be zero. The ops
 * apply in order, all or none. With syncs the bind is queued behind its
 * in-fences and signals its out-fences in submission order.
 */
struct ugpu_vm_bind {
	__u64 extensions;
	__u32 vm_id;
	__u32 num_binds;
	struct ugpu_vm_bind_op bind;
	__u64 binds_ptr;
	__u32 num_syncs;
	__u32 pad;
	__u64 syncs_ptr;	/* array of num_syncs struct ugpu_sync */
	__u64 reserved[2];
};

/**
 * struct ugpu_exec - submit a batch (UGPU_IOCTL_EXEC)
 *
 * EAGAIN means the exec collided with an invalidation too often; submit
 * again (libugpu does).
 */
struct ugpu_exec {
	__u64 extensions;
	__u32 vm_id;
	__u32 engine;
	__u64 batch_va;		/* GPU address of the first dword */
	__u32 batch_len;	/* bytes, multiple of 4 */
	__u32 num_syncs;
	__u64 syncs_ptr;	/* array of num_syncs struct ugpu_sync */
	__u64 fence;		/* out: the job's point, for UGPU_IOCTL_WAIT */
	__u64 reserved[2];
};

/**
 * struct ugpu_wait - wait for a fence point of this client (UGPU_IOCTL_WAIT)
 *
 * Returns 0 once the job ended, with its result in `status` (0, -EFAULT
 * for a GPU page fault, -EIO for a hang or reset); ETIME at the timeout.
 */
struct ugpu_wait {
	__u64 extensions;
	__u64 fence;		/* in */
	__s64 timeout_abs_ns;	/* in: CLOCK_MONOTONIC; < 0 forever; 0 poll */
	__s32 status;		/* out */
	__u32 pad;
	__u64 reserved[2];
};

/**
 * struct ugpu_syncobj_create - UGPU_IOCTL_SYNCOBJ_CREATE
 */
struct ugpu_syncobj_create {
	__u64 extensions;
#define UGPU_SYNCOBJ_CREATE_SIGNALED	(1u << 0)
	__u32 flags;
	__u32 handle;		/* out */
	__u64 reserved[2];
};

/**
 * struct ugpu_syncobj_destroy - UGPU_IOCTL_SYNCOBJ_DESTROY
 */
struct ugpu_syncobj_destroy {
	__u64 extensions;
	__u32 handle;
	__u32 pad;
	__u64 reserved[2];
};

/**
 * struct ugpu_syncobj_wait - wait for a syncobj (point) (UGPU_IOCTL_SYNCOBJ_WAIT)
 *
 * Returns 0 once signalled, ETIME at the timeout.
 */
struct ugpu_syncobj_wait {
	__u64 extensions;
	__u32 handle;
	__u32 flags;		/* 0 */
	__u64 point;		/* timeline point, 0 for binary */
	__s64 timeout_abs_ns;	/* CLOCK_MONOTONIC; < 0 forever; 0 poll */
	__u64 reserved[2];
};

/**
 * struct ugpu_stats - the device-wide counters (UGPU_IOCTL_STATS)
 *
 * The operator view; a client sees the same totals as `ugpuctl status`.
 */
struct ugpu_stats {
	__u64 extensions;
	__u64 clients;
	__u64 vms;
	__u64 bos;
	__u64 userptrs;
	__u64 bound_bytes;
	__u64 jobs_submitted;
	__u64 jobs_completed;
	__u64 jobs_failed;
	__u64 invalidations;
	__u64 exec_retries;
	__u64 reserved[6];
};

/**
 * struct ugpu_completion_page - share a page where the daemon reports
 * finished jobs (UGPU_IOCTL_COMPLETION_PAGE), so a wait for a job that
 * is already done needs no ioctl
 *
 * The client passes a memfd of at least 4096 bytes sealed with
 * F_SEAL_SHRINK; the daemon maps it and, when job `seqno` ends, writes
 * slot[seqno % UGPU_COMPLETION_SLOTS]: status first, then seqno (release
 * order). A reader that loads seqno (acquire) equal to its fence may
 * trust status; anything else means "ask with UGPU_IOCTL_WAIT".
 */
struct ugpu_completion_page {
	__u64 extensions;
	__u32 fd;		/* in: memfd number in the caller */
	__u32 flags;		/* in: 0 */
	__u64 reserved[2];
};

#define UGPU_COMPLETION_SLOTS	255

struct ugpu_completion_slot {
	__u64 seqno;
	__s32 status;
	__u32 pad;
};

struct ugpu_completion_layout {
	__u64 version;		/* 1, written by the daemon when it maps the page */
	/* The daemon's pid when the client shares its pid namespace, else 0:
	 * a reader must not trust a slot once that process is gone (a
	 * pidfd on it tells), since every call then has to fail. */
	__u32 daemon_pid;
	__u32 pad;
	struct ugpu_completion_slot slot[UGPU_COMPLETION_SLOTS];
};

#define UGPU_IOCTL_QUERY	_IOWR(UGPU_IOCTL_BASE, 0x00, struct ugpu_query)
#define UGPU_IOCTL_CLIENT_INIT	_IOW(UGPU_IOCTL_BASE, 0x01, struct ugpu_client_init)
#define UGPU_IOCTL_VM_CREATE	_IOWR(UGPU_IOCTL_BASE, 0x02, struct ugpu_vm_create)
#define UGPU_IOCTL_VM_DESTROY	_IOW(UGPU_IOCTL_BASE, 0x03, struct ugpu_vm_destroy)
#define UGPU_IOCTL_BO_CREATE	_IOWR(UGPU_IOCTL_BASE, 0x04, struct ugpu_bo_create)
#define UGPU_IOCTL_BO_IMPORT	_IOWR(UGPU_IOCTL_BASE, 0x05, struct ugpu_bo_import)
#define UGPU_IOCTL_BO_DESTROY	_IOW(UGPU_IOCTL_BASE, 0x06, struct ugpu_bo_destroy)
#define UGPU_IOCTL_BO_PREAD	_IOW(UGPU_IOCTL_BASE, 0x07, struct ugpu_bo_rw)
#define UGPU_IOCTL_BO_PWRITE	_IOW(UGPU_IOCTL_BASE, 0x08, struct ugpu_bo_rw)
#define UGPU_IOCTL_VM_BIND	_IOW(UGPU_IOCTL_BASE, 0x09, struct ugpu_vm_bind)
#define UGPU_IOCTL_EXEC		_IOWR(UGPU_IOCTL_BASE, 0x0a, struct ugpu_exec)
#define UGPU_IOCTL_WAIT		_IOWR(UGPU_IOCTL_BASE, 0x0b, struct ugpu_wait)
#define UGPU_IOCTL_SYNCOBJ_CREATE _IOWR(UGPU_IOCTL_BASE, 0x0c, struct ugpu_syncobj_create)
#define UGPU_IOCTL_SYNCOBJ_DESTROY _IOW(UGPU_IOCTL_BASE, 0x0d, struct ugpu_syncobj_destroy)
#define UGPU_IOCTL_SYNCOBJ_WAIT	_IOW(UGPU_IOCTL_BASE, 0x0e, struct ugpu_syncobj_wait)
#define UGPU_IOCTL_STATS	_IOWR(UGPU_IOCTL_BASE, 0x0f, struct ugpu_stats)
#define UGPU_IOCTL_COMPLETION_PAGE _IOW(UGPU_IOCTL_BASE, 0x10, struct ugpu_completion_page)

#ifndef __cplusplus
_Static_assert(sizeof(struct ugpu_query) == 72, "ugpu_query layout");
_Static_assert(sizeof(struct ugpu_client_init) == 32, "ugpu_client_init layout");
_Static_assert(sizeof(struct ugpu_vm_create) == 32, "ugpu_vm_create layout");
_Static_assert(sizeof(struct ugpu_vm_destroy) == 32, "ugpu_vm_destroy layout");
_Static_assert(sizeof(struct ugpu_bo_create) == 40, "ugpu_bo_create layout");
_Static_assert(sizeof(struct ugpu_bo_import) == 56, "ugpu_bo_import layout");
_Static_assert(sizeof(struct ugpu_bo_destroy) == 32, "ugpu_bo_destroy layout");
_Static_assert(sizeof(struct ugpu_bo_rw) == 56, "ugpu_bo_rw layout");
_Static_assert(sizeof(struct ugpu_vm_bind_op) == 64, "ugpu_vm_bind_op layout");
_Static_assert(sizeof(struct ugpu_sync) == 48, "ugpu_sync layout");
_Static_assert(sizeof(struct ugpu_vm_bind) == 120, "ugpu_vm_bind layout");
_Static_assert(sizeof(struct ugpu_exec) == 64, "ugpu_exec layout");
_Static_assert(sizeof(struct ugpu_wait) == 48, "ugpu_wait layout");
_Static_assert(sizeof(struct ugpu_syncobj_create) == 32, "ugpu_syncobj_create layout");
_Static_assert(sizeof(struct ugpu_syncobj_destroy) == 32, "ugpu_syncobj_destroy layout");
_Static_assert(sizeof(struct ugpu_syncobj_wait) == 48, "ugpu_syncobj_wait layout");
_Static_assert(sizeof(struct ugpu_stats) == 136, "ugpu_stats layout");
_Static_assert(sizeof(struct ugpu_completion_page) == 32, "ugpu_completion_page layout");
_Static_assert(sizeof(struct ugpu_completion_layout) == 4096, "ugpu_completion_layout");
#endif

#endif
