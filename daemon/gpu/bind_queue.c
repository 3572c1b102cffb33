// SPDX-License-Identifier: MIT
/*
 * Bind queues: a VM applies its binds in submission order. A bind with
 * syncs is checked now, gets an out-fence that its signal syncobjs carry
 * at once, and is applied when every in-fence has signaled and every
 * earlier bind of the VM was applied; its result is the out-fence's
 * status. A bind without syncs that arrives while the queue is not empty
 * waits its turn too, with its ioctl parked and answered with the
 * result. So bind -> exec -> unbind -> bind can be submitted without
 * waiting, the exec and the unbind chained by syncobjs.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "gpu/gpu_internal.h"

struct bind_dep {
	struct fence_cb cb;
	struct gpu_bind_job *b;
	struct fence *fence;
};

struct gpu_bind_job {
	struct list_node link;		/* on vm->bind_queue */
	struct gpu_vm *vm;		/* reference */
	struct ugpu_vm_bind_op *ops;
	unsigned int n;
	struct bind_dep *deps;
	unsigned int ndeps;
	unsigned int pending;		/* in-fences not signaled yet */
	struct fence *fence;		/* signaled with the result */
	struct gpu_parked *parked;	/* the ioctl waiting for the result */
};

static void bind_free(struct gpu_bind_job *b)
{
	for (unsigned int i = 0; i < b->ndeps; i++) {
		fence_remove_cb(b->deps[i].fence, &b->deps[i].cb);
		fence_put(b->deps[i].fence);
	}
	free(b->deps);
	free(b->ops);
	fence_put(b->fence);
	gpu_vm_put(b->vm);
	free(b);
}

static void bind_finish(struct gpu_bind_job *b, int ret)
{
	struct gpu_parked *p = b->parked;

	list_del_init(&b->link);
	if (p) {
		p->detach = NULL;
		front_req_complete(p->req, ret);
		gpu_parked_free(p);
	}
	fence_signal(b->fence, ret);
	bind_free(b);
}

static void bindq_run(struct gpu_vm *vm)
{
	while (!list_empty(&vm->bind_queue)) {
		struct gpu_bind_job *b = list_first_entry(&vm->bind_queue,
							  struct gpu_bind_job, link);
		struct gpu_client *cl = vm->client;
		int ret;

		if (b->pending)
			return;
		/* The submitter passed the same-mm check; act as the opener. */
		ret = vm->dead ? -ENOENT : cl->mm->exited ? -ESRCH :
		      gpu_vm_bind(cl, cl->pid, vm, b->ops, b->n);
		bind_finish(b, ret);
	}
}

static void bind_dep_cb(struct fence *f, struct fence_cb *cb)
{
	struct bind_dep *dep = container_of(cb, struct bind_dep, cb);
	struct gpu_bind_job *b = dep->b;

	if (--b->pending == 0)
		bindq_run(b->vm);
}

/* The parked ioctl went away first (interrupt): apply, answer nobody. */
static void forget_parked(struct gpu_parked *p)
{
	((struct gpu_bind_job *)p->owner)->parked = NULL;
}

int gpu_bindq_submit(struct gpu_client *cl, pid_t caller, struct gpu_vm *vm,
		     struct ugpu_vm_bind_op *ops, unsigned int n, struct gpu_syncs *s,
		     struct front_req *req, void *data)
{
	bool has_syncs = s->nin || s->nout, waits = false;
	struct gpu_bind_job *b;
	struct fence *done;
	int ret;

	for (unsigned int i = 0; i < s->nin; i++)
		waits |= !fence_is_signaled(s->in[i], NULL);
	if (!waits && list_empty(&vm->bind_queue)) {
		/* Nothing to wait for: apply now and report the result. */
		ret = gpu_vm_bind(cl, caller, vm, ops, n);
		if (s->nout) {
			done = fence_create_signaled(ret);
			if (!done)
				return ret ? ret : -ENOMEM;
			gpu_syncs_signal_with(cl, s, done);
			fence_put(done);
		}
		return ret;
	}
	ret = gpu_vm_bind_check(cl, caller, vm, ops, n);
	if (ret)
		return ret;
	b = calloc(1, sizeof(*b));
	if (!b)
		return -ENOMEM;
	list_init(&b->link);
	b->vm = vm;
	vm->refs++;
	b->n = n;
	b->ops = malloc(n * sizeof(*ops));
	b->deps = calloc(s->nin ? s->nin : 1, sizeof(*b->deps));
	b->fence = fence_create();
	if (!b->ops || !b->deps || !b->fence) {
		bind_free(b);
		return -ENOMEM;
	}
	memcpy(b->ops, ops, n * sizeof(*ops));
	if (!has_syncs) {
		/* Ordered behind queued binds: answer the ioctl when applied. */
		ret = gpu_park(cl, req, UGPU_IOCTL_VM_BIND, data, caller, &b->parked);
		if (ret) {
			bind_free(b);
			return ret;
		}
		b->parked->owner = b;
		b->parked->detach = forget_parked;
	}
	gpu_syncs_signal_with(cl, s, b->fence);
	list_add_tail(&b->link, &vm->bind_queue);
	b->pending = 1;		/* held until every callback is in place */
	for (unsigned int i = 0; i < s->nin; i++) {
		struct bind_dep *dep = &b->deps[b->ndeps++];

		dep->b = b;
		dep->fence = fence_get(s->in[i]);
		b->pending++;
		if (fence_add_cb(dep->fence, &dep->cb, bind_dep_cb) == -EALREADY)
			b->pending--;
	}
	ret = has_syncs ? 0 : FRONT_PARKED;
	if (--b->pending == 0)
		bindq_run(vm);	/* may answer a parked ioctl: after we return */
	return ret;
}


void gpu_bindq_cancel(struct gpu_vm *vm)
{
	while (!list_empty(&vm->bind_queue))
		bind_finish(list_first_entry(&vm->bind_queue, struct gpu_bind_job, link),
			    -ECANCELED);
}
