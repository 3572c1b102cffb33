/* SPDX-License-Identifier: MIT */
/*
 * The driver core as the rest of the daemon sees it: one struct gpu per
 * device, created on the daemon's event loop over a device backend, and
 * the front ops table (front/front.h) through which the transports hand
 * it clients and ioctls. Everything here runs on the loop thread.
 */
#ifndef UGPU_GPU_GPU_H
#define UGPU_GPU_GPU_H

#include <stdint.h>

#include "front/front.h"
#include "uapi/ugpu.h"

struct event_base;
struct gpu;

/**
 * struct gpu_limits - per-client quotas; 0 in a field means the default
 * @max_vms:         VMs one client may hold
 * @max_bos:         BOs one client may hold
 * @max_userptrs:    userptr bindings one client may hold
 * @max_bound_bytes: bytes one client may have bound (BOs + userptr)
 * @max_bo_bytes:    bytes of device-local BO memory one client may hold
 * @max_inflight:    jobs one client may have submitted and not completed
 * @max_syncobjs:    syncobjs one client may hold
 */
struct gpu_limits {
	uint64_t max_vms;
	uint64_t max_bos;
	uint64_t max_userptrs;
	uint64_t max_bound_bytes;
	uint64_t max_bo_bytes;
	uint64_t max_inflight;
	uint64_t max_syncobjs;
};

/**
 * struct gpu_config - how to create the core
 * @backend:         device spec, "sim" (default when NULL), "vfio:<BDF>", ...
 * @hang_timeout_ns: per-job time limit, 0 for the backend default
 * @limits:          quotas
 */
struct gpu_config {
	const char *backend;
	uint64_t hang_timeout_ns;
	struct gpu_limits limits;
};

/* The transports' view of the core: pass the struct gpu as `core`. */
extern const struct front_ops gpu_front_ops;

/**
 * gpu_create - open the device and start serving on @base
 * @base: the daemon's event loop
 * @cfg:  configuration
 * @out:  receives the core
 *
 * Return: 0 or -errno (from the device backend, or -ENOMEM).
 */
int gpu_create(struct event_base *base, const struct gpu_config *cfg, struct gpu **out);

/**
 * gpu_destroy - cancel every job, free every client, close the device
 * @g: the core, or NULL. The transports must have been stopped first.
 */
void gpu_destroy(struct gpu *g);

/**
 * gpu_set_limits - replace the quotas (SIGHUP); existing objects stay
 * @g: the core
 * @l: the new limits (0 fields: defaults)
 */
void gpu_set_limits(struct gpu *g, const struct gpu_limits *l);

/**
 * gpu_get_stats - device-wide counters, as UGPU_IOCTL_STATS reports them
 * @g:  the core
 * @st: receives them
 */
void gpu_get_stats(struct gpu *g, struct ugpu_stats *st);

/**
 * gpu_busy_jobs - jobs submitted and not yet completed, all clients
 * @g: the core
 */
uint64_t gpu_busy_jobs(struct gpu *g);

/**
 * gpu_stop_accepting - refuse new exec/bind work with -ESHUTDOWN (SIGTERM)
 * @g: the core
 */
void gpu_stop_accepting(struct gpu *g);

/**
 * gpu_cancel_all - cancel every queued and running job (-ECANCELED)
 * @g: the core
 */
void gpu_cancel_all(struct gpu *g);

#endif
