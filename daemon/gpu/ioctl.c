// SPDX-License-Identifier: MIT
/*
 * The ioctl table of the core: every request of uapi/ugpu.h is decoded
 * and checked here (extensions, pads, reserved fields and unknown flags
 * must be zero: EINVAL) before it reaches the code that acts on it. The
 * front has already checked the command number, direction and size.
 * Arrays named by address are read from the caller's memory, and only if
 * the caller shares the opener's address space.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "gpu/gpu_internal.h"

#define MAX_BIND_OPS	512u

static bool zero(const __u64 *r, unsigned int n)
{
	for (unsigned int i = 0; i < n; i++)
		if (r[i])
			return false;
	return true;
}

#define RESERVED_ZERO(s) zero((s)->reserved, sizeof((s)->reserved) / sizeof(__u64))

static int do_query(struct gpu_client *cl, struct ugpu_query *q)
{
	const struct dev_caps *caps = &cl->gpu->dev->caps;

	if (q->extensions || !RESERVED_ZERO(q))
		return -EINVAL;
	memset(q, 0, sizeof(*q));
	q->abi_version = UGPU_ABI_VERSION;
	q->num_engines = caps->num_engines;
	q->features = UGPU_FEATURE_USERPTR | UGPU_FEATURE_HOST_IMPORT | UGPU_FEATURE_SYNCOBJ;
	if (caps->features & DEV_FEATURE_FAULT_HANDLER)
		q->features |= UGPU_FEATURE_FAULT_MODE;
	q->va_bits = caps->va_bits;
	q->page_size = caps->page_size;
	q->max_batch_len = 1u << 20;
	memcpy(q->backend, caps->backend, sizeof(q->backend) - 1);
	return 0;
}

static int do_stats(struct gpu_client *cl, struct ugpu_stats *st)
{
	if (st->extensions)
		return -EINVAL;
	gpu_get_stats(cl->gpu, st);
	return 0;
}

static int do_bind(struct gpu_client *cl, pid_t caller, struct ugpu_vm_bind *b,
		   struct front_req *req)
{
	static const struct ugpu_vm_bind_op none;
	struct ugpu_vm_bind_op *ops = &b->bind;
	struct gpu_syncs s;
	struct gpu_vm *vm;
	int ret;

	if (b->extensions || b->pad || !RESERVED_ZERO(b))
		return -EINVAL;
	if (!b->num_binds || b->num_binds > MAX_BIND_OPS)
		return -EINVAL;
	if (b->num_binds == 1 && b->binds_ptr)
		return -EINVAL;
	if (b->num_binds > 1 && memcmp(&b->bind, &none, sizeof(none)))
		return -EINVAL;
	vm = gpu_vm_lookup(cl, b->vm_id);
	if (!vm)
		return -ENOENT;
	if (cl->gpu->stopping)
		return -ESHUTDOWN;
	if (b->num_binds > 1) {
		ret = gpu_client_same_mm(cl, caller);
		if (ret)
			return ret;
		ops = calloc(b->num_binds, sizeof(*ops));
		if (!ops)
			return -ENOMEM;
		ret = gpu_client_read(cl, b->binds_ptr, ops, b->num_binds * sizeof(*ops));
		if (ret)
			goto out;
	}
	ret = gpu_syncs_parse(cl, caller, b->syncs_ptr, b->num_syncs, &s);
	if (ret)
		goto out;
	ret = gpu_bindq_submit(cl, caller, vm, ops, b->num_binds, &s, req, b);
	gpu_syncs_fini(&s);
out:
	if (ops != &b->bind)
		free(ops);
	return ret;
}

static int do_client_init(struct gpu_client *cl, struct ugpu_client_init *in)
{
	if (in->extensions || in->flags || !RESERVED_ZERO(in))
		return -EINVAL;
	return gpu_client_init(cl, in);
}

/* Any real work makes the opener a client (ugpuctl only queries). */
static void count_client(struct gpu_client *cl)
{
	if (!cl->counted) {
		cl->counted = true;
		cl->gpu->nclients++;
	}
}

int gpu_ioctl(struct gpu_client *cl, const struct front_caller *who, unsigned int cmd,
	      void *data, struct front_req *req)
{
	int ret;

	switch (cmd) {
	case UGPU_IOCTL_QUERY:
		return do_query(cl, data);
	case UGPU_IOCTL_STATS:
		return do_stats(cl, data);
	case UGPU_IOCTL_CLIENT_INIT:
		return do_client_init(cl, data);
	}
	count_client(cl);

	switch (cmd) {
	case UGPU_IOCTL_VM_CREATE: {
		struct ugpu_vm_create *c = data;

		if (c->extensions || c->vm_id || !RESERVED_ZERO(c))
			return -EINVAL;
		return gpu_vm_create(cl, c->flags, &c->vm_id);
	}
	case UGPU_IOCTL_VM_DESTROY: {
		struct ugpu_vm_destroy *d = data;

		if (d->extensions || d->pad || !RESERVED_ZERO(d))
			return -EINVAL;
		return gpu_vm_destroy(cl, d->vm_id);
	}
	case UGPU_IOCTL_BO_CREATE: {
		struct ugpu_bo_create *c = data;

		if (c->extensions || c->flags || c->handle || !RESERVED_ZERO(c))
			return -EINVAL;
		return gpu_bo_create(cl, c->size, &c->handle);
	}
	case UGPU_IOCTL_BO_IMPORT: {
		struct ugpu_bo_import *c = data;

		if (c->extensions || c->pad || c->handle || !RESERVED_ZERO(c))
			return -EINVAL;
		return gpu_bo_import(cl, c, &c->handle);
	}
	case UGPU_IOCTL_BO_DESTROY: {
		struct ugpu_bo_destroy *d = data;

		if (d->extensions || d->pad || !RESERVED_ZERO(d))
			return -EINVAL;
		return gpu_bo_destroy(cl, d->handle);
	}
	case UGPU_IOCTL_BO_PREAD:
	case UGPU_IOCTL_BO_PWRITE:
		/* data_ptr names memory of the caller: it must be the opener's. */
		if (!handle_lookup(&cl->bos, ((struct ugpu_bo_rw *)data)->handle))
			return -ENOENT;
		ret = gpu_client_same_mm(cl, who->pid);
		if (ret)
			return ret;
		return gpu_bo_rw(cl, data, cmd == UGPU_IOCTL_BO_PWRITE, req);
	case UGPU_IOCTL_VM_BIND:
		return do_bind(cl, who->pid, data, req);
	case UGPU_IOCTL_EXEC:
		return gpu_exec(cl, NULL, data, req, who->pid);
	case UGPU_IOCTL_WAIT:
		return gpu_wait(cl, req, data);
	case UGPU_IOCTL_SYNCOBJ_CREATE: {
		struct ugpu_syncobj_create *c = data;

		if (c->extensions || c->handle || !RESERVED_ZERO(c))
			return -EINVAL;
		return gpu_syncobj_create(cl, c->flags, &c->handle);
	}
	case UGPU_IOCTL_SYNCOBJ_DESTROY: {
		struct ugpu_syncobj_destroy *d = data;

		if (d->extensions || d->pad || !RESERVED_ZERO(d))
			return -EINVAL;
		return gpu_syncobj_destroy(cl, d->handle);
	}
	case UGPU_IOCTL_SYNCOBJ_WAIT:
		return gpu_syncobj_wait(cl, req, data);
	case UGPU_IOCTL_COMPLETION_PAGE:
		return gpu_client_completion_page(cl, data);
	default:
		return -ENOTTY;
	}
}
