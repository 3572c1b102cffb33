/* SPDX-License-Identifier: MIT */
/*
 * Syncobjs for the client programs (client_common.h), through the raw
 * ioctls libugpu does not wrap: creating, destroying and waiting on
 * binary and timeline syncobjs, and execs and VM binds that wait on or
 * signal them (struct ugpu_sync, uapi/ugpu.h). Each returns 0 or -errno
 * exactly as the ioctl did, so a check can assert the errno.
 */
#ifndef UGPU_TESTS_HELPERS_CLIENT_SYNC_H
#define UGPU_TESTS_HELPERS_CLIENT_SYNC_H

#include <stdint.h>

#include "tests/helpers/lib/client_common.h"
#include "uapi/ugpu.h"

/**
 * cc_ioctl - ioctl(2) on @dev's fd, restarted on EINTR
 * @dev: the device
 * @cmd: the request
 * @arg: its argument
 *
 * Return: the ioctl's result, or -errno.
 */
int cc_ioctl(struct ugpu *dev, unsigned long cmd, void *arg);

/**
 * cc_so_create - SYNCOBJ_CREATE
 * @dev:   the device
 * @flags: UGPU_SYNCOBJ_CREATE_*
 * @h:     receives the handle
 */
int cc_so_create(struct ugpu *dev, uint32_t flags, uint32_t *h);

/**
 * cc_so_destroy - SYNCOBJ_DESTROY
 * @dev: the device
 * @h:   the handle
 */
int cc_so_destroy(struct ugpu *dev, uint32_t h);

/**
 * cc_so_wait - SYNCOBJ_WAIT for @point of @h (0: a binary syncobj)
 * @dev:    the device
 * @h:      the handle
 * @point:  the timeline point, or 0
 * @rel_ns: < 0 forever, 0 poll, else this long from now
 */
int cc_so_wait(struct ugpu *dev, uint32_t h, uint64_t point, int64_t rel_ns);

/**
 * cc_sync_in - a sync that waits for @point of @h (0: binary)
 * @h:     the handle
 * @point: the timeline point, or 0
 */
struct ugpu_sync cc_sync_in(uint32_t h, uint64_t point);

/**
 * cc_sync_out - a sync that signals @point of @h (0: binary)
 * @h:     the handle
 * @point: the timeline point, or 0
 */
struct ugpu_sync cc_sync_out(uint32_t h, uint64_t point);

/**
 * cc_exec_syncs - end the batch in @slot and EXEC it with @n syncs
 * @c:      the client
 * @slot:   the batch's slot
 * @cb:     its command buffer
 * @engine: the engine
 * @syncs:  what it waits on and signals
 * @n:      how many
 * @fence:  NULL, or receives the job's fence
 *
 * Retried while the daemon says -EAGAIN.
 */
int cc_exec_syncs(struct cc_ctx *c, unsigned int slot, struct ugpu_cmdbuf *cb, uint32_t engine,
		  const struct ugpu_sync *syncs, uint32_t n, uint64_t *fence);

/**
 * cc_bind_syncs - one VM_BIND operation in @c's VM with @n syncs
 * @c:      the client
 * @op:     UGPU_VM_BIND_OP_*
 * @va:     the range's start
 * @bo:     the BO (MAP_BO), else 0
 * @offset: in the BO
 * @size:   the range's size
 * @syncs:  what it waits on and signals
 * @n:      how many
 */
int cc_bind_syncs(struct cc_ctx *c, uint32_t op, uint64_t va, uint32_t bo, uint64_t offset,
		  uint64_t size, const struct ugpu_sync *syncs, uint32_t n);

#endif
