/* SPDX-License-Identifier: MIT */
/*
 * libugpu: the client library of ugpu. One struct ugpu is one open of the
 * device (one client of ugpud). Every call returns 0 (or a non-negative
 * count) on success and a negative errno on failure; none sets errno as
 * its result or prints. See API.md of the project for the contract.
 */
#ifndef UGPU_H
#define UGPU_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

struct ugpu;            /* one open of the device = one client */

/* path NULL: $UGPU_DEVICE, else /dev/ugpu0, else /run/ugpu/card0. */
int  ugpu_open(const char *path, struct ugpu **dev);
void ugpu_close(struct ugpu *dev);

#define UGPU_FEATURE_USERPTR     (1ull << 0)
#define UGPU_FEATURE_FAULT_MODE  (1ull << 1)
#define UGPU_FEATURE_SYNCOBJ     (1ull << 2)
#define UGPU_FEATURE_HOST_IMPORT (1ull << 3)

struct ugpu_info {
	uint32_t abi_version;
	uint32_t num_engines;
	uint64_t features;        /* UGPU_FEATURE_* bits */
	uint64_t va_bits;         /* size of each VM's GPU VA space */
	char     backend[16];     /* "sim", "vfio", "edu" */
};
int  ugpu_query(struct ugpu *dev, struct ugpu_info *info);

#define UGPU_VM_FAULT_MODE (1u << 0)  /* userptr faults resolved, job resumes */
int  ugpu_vm_create(struct ugpu *dev, uint32_t flags, uint32_t *vm);
int  ugpu_vm_destroy(struct ugpu *dev, uint32_t vm);

/* Device-local buffer; contents reached with pread/pwrite. */
int  ugpu_bo_create(struct ugpu *dev, uint64_t size, uint32_t flags, uint32_t *bo);
int  ugpu_bo_pread(struct ugpu *dev, uint32_t bo, uint64_t offset, void *buf, uint64_t len);
int  ugpu_bo_pwrite(struct ugpu *dev, uint32_t bo, uint64_t offset, const void *buf, uint64_t len);
int  ugpu_bo_destroy(struct ugpu *dev, uint32_t bo);

/* Host memory the GPU reaches without copies (memfd, MAP_SHARED). */
void *ugpu_host_alloc(struct ugpu *dev, uint64_t size);
void  ugpu_host_free(struct ugpu *dev, void *ptr, uint64_t size);

/* Binding. va, ptr, size, offset: multiples of 4096 (else -EINVAL).
 * A map over an existing mapping replaces the overlapped part. */
#define UGPU_BIND_READONLY (1u << 0)   /* GPU writes fault */
#define UGPU_BIND_PROBE    (1u << 1)   /* -EFAULT now if any page is unmapped */
int  ugpu_vm_bind_bo(struct ugpu *dev, uint32_t vm, uint64_t va, uint32_t bo,
                     uint64_t offset, uint64_t size, uint32_t flags);
int  ugpu_vm_bind_userptr(struct ugpu *dev, uint32_t vm, uint64_t va,
                          const void *ptr, uint64_t size, uint32_t flags);
int  ugpu_vm_unbind(struct ugpu *dev, uint32_t vm, uint64_t va, uint64_t size);

/* Command buffers: written by the CPU into any memory the GPU can reach
 * (host_alloc, a userptr, or a BO through pwrite), then executed. */
struct ugpu_cmdbuf { uint32_t *cs; uint32_t len; uint32_t cap; };  /* dwords */
void ugpu_cmd_init(struct ugpu_cmdbuf *cb, void *mem, uint64_t bytes);
int  ugpu_cmd_store_dword(struct ugpu_cmdbuf *cb, uint64_t va, uint32_t value);
int  ugpu_cmd_fill(struct ugpu_cmdbuf *cb, uint64_t va, uint64_t size, uint32_t value);
int  ugpu_cmd_copy(struct ugpu_cmdbuf *cb, uint64_t dst_va, uint64_t src_va, uint64_t size);
int  ugpu_cmd_end(struct ugpu_cmdbuf *cb);   /* -ENOSPC if it did not fit */

/* More commands of the ISA (uapi/ugpu_isa.h documents each one). */
#define UGPU_SEM_EQ		0x0u
#define UGPU_SEM_NE		0x1u
#define UGPU_SEM_GT		0x2u
#define UGPU_SEM_GTE		0x3u
#define UGPU_SEM_LT		0x4u
#define UGPU_SEM_LTE		0x5u
/* CRC32C of [src_va, src_va + size) stored as a dword at dst_va. */
int  ugpu_cmd_checksum(struct ugpu_cmdbuf *cb, uint64_t dst_va, uint64_t src_va,
                       uint64_t size);
/* dst[i] = a[i] + b[i], i < count (render engine only). */
int  ugpu_cmd_add_u32(struct ugpu_cmdbuf *cb, uint64_t dst_va, uint64_t a_va,
                      uint64_t b_va, uint32_t count);
/* y[i] = a * x[i] + y[i], i < count (render engine only). */
int  ugpu_cmd_saxpy_f32(struct ugpu_cmdbuf *cb, uint64_t y_va, uint64_t x_va,
                        uint32_t count, float a);
/* Wait until the dword at va compares true (UGPU_SEM_*) against value. */
int  ugpu_cmd_semaphore_wait(struct ugpu_cmdbuf *cb, uint64_t va, uint32_t op,
                             uint32_t value);
/* The device clock in nanoseconds, a qword at va (8-byte aligned). */
int  ugpu_cmd_timestamp(struct ugpu_cmdbuf *cb, uint64_t va);

/* Submit the batch at batch_va (len bytes) on an engine of vm.
 * *fence receives a point to wait on. An exec that collides with an
 * invalidation is retried inside the library; it never reports -EAGAIN. */
int  ugpu_exec(struct ugpu *dev, uint32_t vm, uint32_t engine,
               uint64_t batch_va, uint32_t len, uint64_t *fence);

/* 0 when the job completed; -ETIME on timeout; the job's error otherwise:
 * -EFAULT for a GPU page fault (unmapped or readonly-violating access),
 * -EIO for a hang or reset. timeout_ns < 0 waits forever. */
int  ugpu_wait(struct ugpu *dev, uint64_t fence, int64_t timeout_ns);
/* Further job errors: -EINVAL for an invalid command in the batch (see
 * uapi/ugpu_isa.h), -ECANCELED when its VM was destroyed or the daemon
 * shut down first, -EAGAIN when a job waiting on syncs kept colliding
 * with invalidations; -ENOENT for a fence too old to be remembered
 * (results of a client's last 4095 jobs are kept). */

/* The device file descriptor, for ioctls of <ugpu/ugpu.h> (uapi) that
 * this library does not wrap, e.g. syncobjs and binds with syncs. */
int  ugpu_fd(struct ugpu *dev);

#ifdef __cplusplus
}
#endif

#endif
