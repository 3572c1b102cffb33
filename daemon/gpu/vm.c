// SPDX-License-Identifier: MIT
/*
 * GPU VMs and VM_BIND: a VA space (gpu/va_space.c, drm_gpuvm semantics)
 * over the device's page tables. A bind is checked whole first (every op's
 * arguments, objects, quotas), then applied op by op: plan, commit under
 * the notifier lock (the invalidate callback walks the VA space under
 * it), zap what left, map what came (BOs at once; userptrs lazily, at the
 * next exec or fault), drop the replaced mappings' references.
 */
#include <errno.h>
#include <stdlib.h>

#include "gpu/gpu_internal.h"

#define BIND_MAP_BO_FLAGS	UGPU_VM_BIND_FLAG_READONLY
#define BIND_USERPTR_FLAGS	(UGPU_VM_BIND_FLAG_READONLY | UGPU_VM_BIND_FLAG_PROBE)

int gpu_vm_create(struct gpu_client *cl, uint32_t flags, uint32_t *id)
{
	struct gpu *g = cl->gpu;
	struct gpu_vm *vm;
	int ret;

	if (flags & ~UGPU_VM_CREATE_FAULT_MODE)
		return -EINVAL;
	vm = calloc(1, sizeof(*vm));
	if (!vm)
		return -ENOMEM;
	vm->client = cl;
	vm->flags = flags;
	vm->refs = 1;
	pthread_mutex_init(&vm->lock, NULL);
	pthread_rwlock_init(&vm->notifier_lock, NULL);
	list_init(&vm->userptrs);
	list_init(&vm->invalidated);
	list_init(&vm->bind_queue);
	list_init(&vm->inflight);
	list_init(&vm->checked);
	ret = va_space_init(&vm->va, g->dev->caps.va_bits, NULL, NULL);
	if (ret)
		goto err_free;
	ret = dev_vm_create(g->dev, &vm->dvm);
	if (ret)
		goto err_va;
	if (flags & UGPU_VM_CREATE_FAULT_MODE) {
		ret = dev_vm_set_fault_handler(vm->dvm, gpu_vm_fault, vm);
		if (ret)
			goto err_dvm;
	}
	ret = handle_alloc(&cl->vms, vm, &vm->id);
	if (ret)
		goto err_dvm;
	g->nvms++;
	*id = vm->id;
	return 0;

err_dvm:
	dev_vm_destroy(vm->dvm);
err_va:
	va_space_fini(&vm->va, NULL, NULL);
err_free:
	pthread_rwlock_destroy(&vm->notifier_lock);
	pthread_mutex_destroy(&vm->lock);
	free(vm);
	return ret;
}

struct gpu_vm *gpu_vm_lookup(struct gpu_client *cl, uint32_t id)
{
	return handle_lookup(&cl->vms, id);
}

/* Drop the reference a replaced or removed mapping held. vm->lock held. */
static void drop_mapping(struct va_mapping *m, void *arg)
{
	struct gpu_obj *obj = m->obj;

	if (!obj)
		return;
	if (obj->kind == GPU_OBJ_BO)
		gpu_bo_put((struct gpu_bo *)obj);
	else
		gpu_userptr_put((struct gpu_userptr *)obj);
}

static void take_mapping(struct va_mapping *m)
{
	struct gpu_obj *obj = m ? m->obj : NULL;

	if (!obj)
		return;
	if (obj->kind == GPU_OBJ_BO)
		gpu_bo_get((struct gpu_bo *)obj);
	else
		((struct gpu_userptr *)obj)->refs++;
}

void gpu_vm_put(struct gpu_vm *vm)
{
	if (--vm->refs)
		return;
	pthread_rwlock_destroy(&vm->notifier_lock);
	pthread_mutex_destroy(&vm->lock);
	free(vm);
}

static void vm_teardown(struct gpu_vm *vm)
{
	struct gpu_client *cl = vm->client;
	struct gpu *g = cl->gpu;
	struct dev_vm *dvm;

	/*
	 * Under vm->lock: a fault handler running on an engine thread holds
	 * it while it revalidates, and sees the VM dead once it gets it.
	 */
	pthread_mutex_lock(&vm->lock);
	vm->dead = true;
	dvm = vm->dvm;
	vm->dvm = NULL;
	pthread_mutex_unlock(&vm->lock);
	/* The device stops every job of the VM and forgets its PTEs. */
	dev_vm_destroy(dvm);
	pthread_mutex_lock(&vm->lock);
	cl->bound_bytes -= vm->va.mapped_bytes;
	g->bound_bytes -= vm->va.mapped_bytes;
	va_space_fini(&vm->va, drop_mapping, vm);
	pthread_mutex_unlock(&vm->lock);
	g->nvms--;
	gpu_vm_put(vm);
}

int gpu_vm_destroy(struct gpu_client *cl, uint32_t id)
{
	struct gpu_vm *vm = handle_remove(&cl->vms, id);

	if (!vm)
		return -ENOENT;
	gpu_job_cancel_vm(vm);
	gpu_bindq_cancel(vm);
	vm_teardown(vm);
	return 0;
}

void gpu_vm_teardown_all(struct gpu_client *cl)
{
	uint32_t id;

	while ((id = handle_next(&cl->vms, 0)))
		gpu_vm_destroy(cl, id);
}

static bool aligned(uint64_t v)
{
	return !(v & (GPU_PAGE - 1));
}

/* Everything about one op that can be checked before anything changes. */
static int check_op(struct gpu_client *cl, pid_t caller, struct gpu_vm *vm,
		    const struct ugpu_vm_bind_op *op, uint64_t *add_bytes,
		    uint64_t *add_userptrs)
{
	uint64_t last;
	struct gpu_bo *bo;
	int ret;

	if (op->extensions || op->pad || op->reserved[0] || op->reserved[1])
		return -EINVAL;
	if (!op->range || !aligned(op->va) || !aligned(op->range) ||
	    !aligned(op->obj_offset))
		return -EINVAL;
	if (__builtin_add_overflow(op->va, op->range - 1, &last))
		return -EOVERFLOW;
	if (last >= vm->va.va_limit)
		return -EINVAL;

	switch (op->op) {
	case UGPU_VM_BIND_OP_MAP_BO:
		if (op->flags & ~BIND_MAP_BO_FLAGS)
			return -EINVAL;
		bo = handle_lookup(&cl->bos, op->handle);
		if (!bo)
			return -ENOENT;
		if (op->obj_offset > bo->size || op->range > bo->size - op->obj_offset)
			return -EINVAL;
		*add_bytes += op->range;
		return 0;
	case UGPU_VM_BIND_OP_MAP_USERPTR:
		if (op->flags & ~BIND_USERPTR_FLAGS || op->handle)
			return -EINVAL;
		if (__builtin_add_overflow(op->obj_offset, op->range - 1, &last))
			return -EOVERFLOW;
		if (!cl->mm->watch)
			return -EOPNOTSUPP;	/* the client gave no userfaultfd */
		ret = gpu_client_same_mm(cl, caller);
		if (ret)
			return ret;
		*add_bytes += op->range;
		*add_userptrs += 1;
		return 0;
	case UGPU_VM_BIND_OP_UNMAP:
		if (op->flags || op->handle || op->obj_offset)
			return -EINVAL;
		return 0;
	default:
		return -EINVAL;
	}
}

/* Map a BO piece into the device page tables. */
static int map_bo(struct gpu_vm *vm, const struct va_mapping *m)
{
	struct gpu_bo *bo = m->obj;
	struct dev_backing b = {
		.kind = DEV_BACKING_HOST,
		.host = (char *)bo->mem + m->offset,
	};

	return dev_vm_map(vm->dvm, va_mapping_va(m), va_mapping_size(m), &b,
			  (m->flags & UGPU_VM_BIND_FLAG_READONLY) ? 0 : DEV_MAP_WRITE);
}

static int apply_op(struct gpu_vm *vm, const struct ugpu_vm_bind_op *op)
{
	struct gpu_client *cl = vm->client;
	struct va_plan plan = VA_PLAN_INIT;
	struct gpu_userptr *up = NULL;
	void *obj = NULL;
	uint64_t before;
	int ret = 0;

	if (op->op == UGPU_VM_BIND_OP_MAP_BO) {
		obj = handle_lookup(&cl->bos, op->handle);
	} else if (op->op == UGPU_VM_BIND_OP_MAP_USERPTR) {
		ret = gpu_userptr_create(vm, op->va, op->obj_offset, op->range, op->flags, &up);
		if (ret)
			return ret;
		obj = up;
	}
	if (obj)
		ret = va_plan_map(&vm->va, op->va, op->range, obj,
				  up ? 0 : op->obj_offset, op->flags, &plan);
	else
		ret = va_plan_unmap(&vm->va, op->va, op->range, &plan);
	if (ret)
		goto err_up;

	before = vm->va.mapped_bytes;
	pthread_rwlock_wrlock(&vm->notifier_lock);
	va_plan_commit(&vm->va, &plan);
	pthread_rwlock_unlock(&vm->notifier_lock);
	cl->bound_bytes += vm->va.mapped_bytes - before;
	cl->gpu->bound_bytes += vm->va.mapped_bytes - before;

	for (size_t i = 0; i < plan.nsteps; i++) {
		struct va_step *s = &plan.steps[i];

		if (s->kind == VA_STEP_MAP) {
			take_mapping(s->map);
			if (!up && !ret)
				ret = map_bo(vm, s->map);
			continue;
		}
		dev_vm_zap(vm->dvm, s->unmap_start, s->unmap_last - s->unmap_start + 1);
		take_mapping(s->prev);
		take_mapping(s->next);
	}
	va_plan_fini(&plan, drop_mapping, vm);
	return ret;

err_up:
	if (up) {
		up->refs = 1;
		gpu_userptr_put(up);
	}
	return ret;
}

int gpu_vm_bind_check(struct gpu_client *cl, pid_t caller, struct gpu_vm *vm,
		      const struct ugpu_vm_bind_op *ops, unsigned int n)
{
	const struct gpu_limits *lim = &cl->gpu->limits;
	uint64_t add_bytes = 0, add_userptrs = 0;
	unsigned int i;
	int ret = 0;

	if (vm->dead)
		return -ENOENT;
	for (i = 0; i < n; i++) {
		ret = check_op(cl, caller, vm, &ops[i], &add_bytes, &add_userptrs);
		if (ret)
			return ret;
	}
	if (gpu_quota(cl->bound_bytes, add_bytes, lim->max_bound_bytes) ||
	    gpu_quota(cl->nuserptrs, add_userptrs, lim->max_userptrs))
		return -EDQUOT;
	for (i = 0; i < n; i++) {
		if (ops[i].op == UGPU_VM_BIND_OP_MAP_USERPTR &&
		    (ops[i].flags & UGPU_VM_BIND_FLAG_PROBE)) {
			struct vma_info vma;
			uint64_t a = ops[i].obj_offset, end = a + ops[i].range;

			/* PROBE: every page must be mapped now. */
			while (a < end && !(ret = gpu_client_vma_find(cl, a, false, &vma))) {
				if (vma.start > a)
					return -EFAULT;
				a = vma.end;
			}
			if (ret)
				return ret == -ENOENT || ret == -ESRCH ? -EFAULT : ret;
		}
	}
	return 0;
}

int gpu_vm_bind(struct gpu_client *cl, pid_t caller, struct gpu_vm *vm,
		const struct ugpu_vm_bind_op *ops, unsigned int n)
{
	unsigned int i;
	int ret;

	ret = gpu_vm_bind_check(cl, caller, vm, ops, n);
	if (ret)
		return ret;
	pthread_mutex_lock(&vm->lock);
	for (i = 0; i < n && !ret; i++)
		ret = apply_op(vm, &ops[i]);
	pthread_mutex_unlock(&vm->lock);
	return ret;
}
