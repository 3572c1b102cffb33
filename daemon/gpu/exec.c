// SPDX-License-Identifier: MIT
/*
 * Exec and fence waits. An exec follows the VM_BIND recipe: vm->lock;
 * revalidate only the userptrs on the VM's invalidated list; under the
 * notifier lock (read) check that nothing was invalidated since and no
 * userfaultfd event of the client is pending or being applied; then
 * queue the job and attach its fence. A failed final check parks the
 * request and retries it from the event loop (so the pending event is
 * applied first), with backoff, and answers EAGAIN after
 * GPU_EXEC_RETRIES rounds (libugpu then submits again).
 *
 * An exec with in-syncs that are not signaled yet returns at once with
 * its fence; the job waits on the fences and goes through the same
 * revalidation and check when the last one signals (so a bind queued
 * before it is visible), retrying from the loop as long as it collides,
 * or failing its fence with the revalidation's error.
 */
#include <errno.h>
#include <event2/event.h>
#include <stdlib.h>

#include "gpu/gpu_internal.h"

#define DEFERRED_RETRIES	1000u	/* a job waiting on syncs: ~1 s of collisions */

static int check_exec(struct gpu_client *cl, const struct ugpu_exec *e)
{
	const struct dev_caps *caps = &cl->gpu->dev->caps;

	if (e->extensions || e->reserved[0] || e->reserved[1] || e->fence)
		return -EINVAL;
	if (e->engine >= caps->num_engines)
		return -EINVAL;
	if (!e->batch_len || e->batch_len & 3 || e->batch_va & 3)
		return -EINVAL;
	if (e->batch_va >= (1ull << caps->va_bits) ||
	    e->batch_len > (1ull << caps->va_bits) - e->batch_va)
		return -EINVAL;
	return 0;
}

static struct gpu_job *job_new(struct gpu_client *cl, struct gpu_vm *vm,
			       const struct ugpu_exec *e)
{
	struct gpu_job *job = calloc(1, sizeof(*job));
	unsigned int slot;

	if (!job)
		return NULL;
	job->fence = fence_create();
	if (!job->fence) {
		free(job);
		return NULL;
	}
	list_init(&job->link);
	list_init(&job->vm_link);
	list_init(&job->older.cb.link);
	job->client = cl;
	job->vm = vm;
	vm->refs++;
	job->engine = e->engine;
	job->batch_va = e->batch_va;
	job->batch_len = e->batch_len;
	job->seqno = ++cl->last_seqno;
	slot = job->seqno % GPU_FENCE_RING;
	/* The old occupant is long signaled: inflight < GPU_FENCE_RING. */
	fence_put(cl->fences[slot]);
	cl->fences[slot] = fence_get(job->fence);
	cl->inflight++;
	cl->c.jobs_submitted++;
	cl->gpu->c.jobs_submitted++;
	return job;
}

/* Commit: under vm->lock and the notifier lock (read). */
static void job_enqueue(struct gpu_job *job)
{
	struct gpu_client *cl = job->client;
	struct gpu_vm *vm = job->vm;

	job->vm_seq = ++vm->commit_seq;
	list_add_tail(&job->vm_link, &vm->inflight);
	list_del_init(&job->link);
	list_add_tail(&job->link, &cl->queued[job->engine]);
	gpu_ready_add(cl->gpu, cl, job->engine);
}

#define PREPARE_RETRY 1
#define PREPARE_WAIT 2

/*
 * A userptr invalidated while older jobs of the VM are still in flight is
 * not revalidated until they are done: they were committed against the
 * old pages, and must fault rather than reach whatever the client mapped
 * there since. Returns the job to wait for, or NULL. vm->lock held.
 */
static struct gpu_job *older_job_blocking(struct gpu_vm *vm)
{
	struct gpu_job *oldest;
	struct gpu_userptr *up;
	bool blocked = false;

	if (list_empty(&vm->inflight) || vm->flags & UGPU_VM_CREATE_FAULT_MODE)
		return NULL;
	oldest = list_first_entry(&vm->inflight, struct gpu_job, vm_link);
	pthread_rwlock_rdlock(&vm->notifier_lock);
	list_for_each_entry(up, &vm->invalidated, inval_link)
		if (up->inval_commit >= oldest->vm_seq) {
			blocked = true;
			break;
		}
	pthread_rwlock_unlock(&vm->notifier_lock);
	return blocked ? oldest : NULL;
}

/*
 * Bring @vm's userptrs up to date and, if the final check passes, call
 * @commit under vm->lock and the notifier lock (read). Return 0 (committed),
 * PREPARE_RETRY (an invalidation is pending: try again from the loop),
 * PREPARE_WAIT (older jobs must finish first: *@wait is the fence to wait
 * for, with a reference), or -errno (e.g. -EFAULT: a userptr range is
 * unmapped).
 */
static int vm_prepare(struct gpu_vm *vm, int (*commit)(void *arg), void *arg,
		      struct fence **wait)
{
	bool fault_mode = vm->flags & UGPU_VM_CREATE_FAULT_MODE;
	struct gpu_client *cl = vm->client;
	struct gpu_job *older;
	bool current;
	int ret;

	pthread_mutex_lock(&vm->lock);
	gpu_vm_check_userptrs(vm);
	older = older_job_blocking(vm);
	if (older) {
		*wait = fence_get(older->fence);
		pthread_mutex_unlock(&vm->lock);
		return PREPARE_WAIT;
	}
	ret = gpu_vm_revalidate_userptrs(vm);
	if (ret == -EFAULT && fault_mode)
		ret = 0;	/* the job faults on it, if it touches it */
	if (ret && ret != -EAGAIN) {
		pthread_mutex_unlock(&vm->lock);
		return ret;
	}
	pthread_rwlock_rdlock(&vm->notifier_lock);
	current = fault_mode ? !gate_closing(&cl->mm->gate) : gpu_vm_userptrs_current(vm);
	if (ret == -EAGAIN || !current)
		ret = PREPARE_RETRY;
	else
		ret = commit(arg);
	pthread_rwlock_unlock(&vm->notifier_lock);
	pthread_mutex_unlock(&vm->lock);
	return ret;
}

static void count_retry(struct gpu_client *cl)
{
	cl->c.exec_retries++;
	cl->gpu->c.exec_retries++;
}

static struct timeval backoff(unsigned int tries)
{
	/* 0, 50 us, 100 us, 200 us, ... up to 1 ms */
	unsigned int us = tries <= 1 ? 0 : 50u << (tries - 2 < 5 ? tries - 2 : 4);

	return (struct timeval){ 0, us > 1000 ? 1000 : us };
}

/* Deferred jobs: waiting for in-fences, then for a clean final check. */

static int commit_deferred(void *arg)
{
	job_enqueue(arg);
	return 0;
}

static void deferred_retry_cb(evutil_socket_t fd, short what, void *arg);

static void job_dep_cb(struct fence *f, struct fence_cb *cb);

/* Wait for @f (an older job, reference passed) before trying again. */
static int job_wait_older(struct gpu_job *job, struct fence *f)
{
	struct gpu_job_dep *dep = &job->older;

	fence_put(dep->fence);		/* the previous older job, done */
	dep->job = job;
	dep->fence = f;
	job->pending = 1;
	if (fence_add_cb(f, &dep->cb, job_dep_cb) == -EALREADY)
		job->pending = 0;
	return job->pending ? 1 : 0;
}

static void job_try_queue(struct gpu_job *job)
{
	struct gpu_client *cl = job->client;
	struct gpu *g = cl->gpu;
	struct fence *older = NULL;
	struct timeval tv;
	int ret;

again:
	if (job->vm->dead || cl->mm->exited || g->stopping) {
		gpu_job_done(g, job, -ECANCELED);
		return;
	}
	ret = vm_prepare(job->vm, commit_deferred, job, &older);
	if (ret == PREPARE_WAIT) {
		ret = job_wait_older(job, older);
		if (ret == 1)
			return;
		if (ret == 0)
			goto again;
	}
	if (ret == PREPARE_RETRY && job->tries++ < DEFERRED_RETRIES) {
		count_retry(cl);
		if (!job->retry_ev)
			job->retry_ev = evtimer_new(g->base, deferred_retry_cb, job);
		tv = backoff(job->tries);
		if (job->retry_ev && !evtimer_add(job->retry_ev, &tv))
			return;
		ret = -ENOMEM;
	}
	if (job->retry_ev) {
		event_free(job->retry_ev);
		job->retry_ev = NULL;
	}
	if (ret == PREPARE_RETRY)
		ret = -EAGAIN;
	if (ret)
		gpu_job_done(g, job, ret);
	else
		gpu_schedule(g);
}

static void deferred_retry_cb(evutil_socket_t fd, short what, void *arg)
{
	job_try_queue(arg);
}

static void job_dep_cb(struct fence *f, struct fence_cb *cb)
{
	struct gpu_job_dep *dep = container_of(cb, struct gpu_job_dep, cb);
	struct gpu_job *job = dep->job;

	if (--job->pending == 0)
		job_try_queue(job);
}

void gpu_job_unwait(struct gpu_job *job)
{
	for (unsigned int i = 0; i < job->ndeps; i++) {
		fence_remove_cb(job->deps[i].fence, &job->deps[i].cb);
		fence_put(job->deps[i].fence);
		job->deps[i].fence = NULL;
	}
	job->ndeps = 0;
	if (job->older.fence) {
		fence_remove_cb(job->older.fence, &job->older.cb);
		fence_put(job->older.fence);
		job->older.fence = NULL;
	}
	if (job->retry_ev) {
		event_free(job->retry_ev);
		job->retry_ev = NULL;
	}
}

/* The exec waits for @s's in-fences: set the job up and return its fence. */
static int exec_deferred(struct gpu_client *cl, struct gpu_vm *vm, struct ugpu_exec *e,
			 struct gpu_syncs *s)
{
	struct gpu_job *job = job_new(cl, vm, e);

	if (!job)
		return -ENOMEM;
	job->deps = calloc(s->nin, sizeof(*job->deps));
	if (!job->deps) {
		gpu_job_done(cl->gpu, job, -ENOMEM);
		return -ENOMEM;
	}
	list_add_tail(&job->link, &cl->waiting);
	gpu_syncs_signal_with(cl, s, job->fence);
	e->fence = job->seqno;
	job->pending = 1;	/* held until every callback is in place */
	for (unsigned int i = 0; i < s->nin; i++) {
		struct gpu_job_dep *dep = &job->deps[job->ndeps];

		dep->job = job;
		dep->fence = fence_get(s->in[i]);
		job->ndeps++;
		job->pending++;
		if (fence_add_cb(dep->fence, &dep->cb, job_dep_cb) == -EALREADY)
			job->pending--;
	}
	if (--job->pending == 0)
		job_try_queue(job);
	return 0;
}

/* Exec without unsignaled in-fences: decided now, or parked and retried. */

struct inline_commit {
	struct gpu_client *cl;
	struct gpu_vm *vm;
	struct ugpu_exec *e;
	struct gpu_syncs *s;
};

static int commit_inline(void *arg)
{
	struct inline_commit *ic = arg;
	struct gpu_job *job = job_new(ic->cl, ic->vm, ic->e);

	if (!job)
		return -ENOMEM;
	job_enqueue(job);
	gpu_syncs_signal_with(ic->cl, ic->s, job->fence);
	ic->e->fence = job->seqno;
	return 0;
}

static void exec_retry_cb(evutil_socket_t fd, short what, void *arg)
{
	struct gpu_parked *p = arg;
	int ret = gpu_exec(p->client, p, p->data, p->req, p->caller);

	if (ret == FRONT_PARKED)
		return;
	front_req_complete(p->req, ret);
	gpu_parked_free(p);
}

static int exec_park(struct gpu_client *cl, struct gpu_parked *p, struct ugpu_exec *e,
		     struct front_req *req, pid_t caller)
{
	struct timeval tv;
	int ret;

	if (!p) {
		ret = gpu_park(cl, req, UGPU_IOCTL_EXEC, e, caller, &p);
		if (ret)
			return ret;
	}
	if (p->tries++ >= GPU_EXEC_RETRIES)
		return -EAGAIN;
	count_retry(cl);
	if (!p->timer) {
		p->timer = evtimer_new(cl->gpu->base, exec_retry_cb, p);
		if (!p->timer)
			return -ENOMEM;
	}
	tv = backoff(p->tries);
	evtimer_add(p->timer, &tv);
	return FRONT_PARKED;
}

static void exec_older_done_cb(struct fence *f, struct fence_cb *cb)
{
	struct gpu_parked *p = container_of(cb, struct gpu_parked, cb);

	fence_put(p->fence);
	p->fence = NULL;
	exec_retry_cb(-1, 0, p);
}

/* Retry once @older (a job committed before an invalidation) is done. */
static int exec_park_fence(struct gpu_client *cl, struct gpu_parked *p, struct ugpu_exec *e,
			   struct front_req *req, pid_t caller, struct fence *older)
{
	int ret;

	if (!p) {
		ret = gpu_park(cl, req, UGPU_IOCTL_EXEC, e, caller, &p);
		if (ret) {
			fence_put(older);
			return ret;
		}
	}
	fence_put(p->fence);
	p->fence = older;
	if (fence_add_cb(older, &p->cb, exec_older_done_cb) == -EALREADY) {
		/* Done meanwhile: go again from the loop. */
		fence_put(p->fence);
		p->fence = NULL;
		p->tries = 0;
		return exec_park(cl, p, e, req, caller);
	}
	return FRONT_PARKED;
}

int gpu_exec(struct gpu_client *cl, struct gpu_parked *p, struct ugpu_exec *e,
	     struct front_req *req, pid_t caller)
{
	struct fence *older = NULL;
	struct inline_commit ic;
	struct gpu_syncs s;
	bool waits = false;
	struct gpu_vm *vm;
	int ret;

	if (!p) {
		ret = check_exec(cl, e);
		if (ret)
			return ret;
	}
	vm = gpu_vm_lookup(cl, e->vm_id);
	if (!vm)
		return -ENOENT;
	if (cl->gpu->stopping)
		return -ESHUTDOWN;
	/*
	 * Userptrs are the opener's memory: another address space (a forked
	 * child with the inherited fd) may not use them, as in i915.
	 */
	if (!p && caller != cl->pid && !list_empty(&vm->userptrs)) {
		ret = gpu_client_same_mm(cl, caller);
		if (ret)
			return ret;
	}
	if (cl->mm->exited)
		return -ESRCH;
	if (gpu_quota(cl->inflight, 1, cl->gpu->limits.max_inflight))
		return -EDQUOT;
	ret = gpu_syncs_parse(cl, caller, e->syncs_ptr, e->num_syncs, &s);
	if (ret)
		return ret;
	for (unsigned int i = 0; i < s.nin; i++)
		waits |= !fence_is_signaled(s.in[i], NULL);
	if (waits) {
		ret = exec_deferred(cl, vm, e, &s);
		gpu_syncs_fini(&s);
		if (!ret)
			gpu_schedule(cl->gpu);
		return ret;
	}
	ic = (struct inline_commit){ cl, vm, e, &s };
	ret = vm_prepare(vm, commit_inline, &ic, &older);
	gpu_syncs_fini(&s);
	if (ret == PREPARE_RETRY)
		return exec_park(cl, p, e, req, caller);
	if (ret == PREPARE_WAIT)
		return exec_park_fence(cl, p, e, req, caller, older);
	if (!ret)
		gpu_schedule(cl->gpu);
	return ret;
}

static void wait_fence_cb(struct fence *f, struct fence_cb *cb)
{
	struct gpu_parked *p = container_of(cb, struct gpu_parked, cb);
	struct ugpu_wait *w = p->data;
	int status = 0;

	fence_is_signaled(f, &status);
	w->status = status;
	front_req_complete(p->req, 0);
	gpu_parked_free(p);
}

static void wait_timer_cb(evutil_socket_t fd, short what, void *arg)
{
	struct gpu_parked *p = arg;

	if (fence_remove_cb(p->fence, &p->cb)) {
		front_req_complete(p->req, -ETIME);
		gpu_parked_free(p);
	}
}

int gpu_wait(struct gpu_client *cl, struct front_req *req, struct ugpu_wait *w)
{
	struct fence *f;
	int status = 0, ret;

	if (w->extensions || w->pad || w->reserved[0] || w->reserved[1] || w->status)
		return -EINVAL;
	if (!w->fence || w->fence > cl->last_seqno)
		return -EINVAL;
	if (w->fence + GPU_FENCE_RING <= cl->last_seqno)
		return -ENOENT;		/* too old: its result is no longer kept */
	f = cl->fences[w->fence % GPU_FENCE_RING];
	ret = gpu_park_fence(cl, req, UGPU_IOCTL_WAIT, w, f, w->timeout_abs_ns,
			     wait_fence_cb, wait_timer_cb);
	if (ret == 0) {
		fence_is_signaled(f, &status);
		w->status = status;
	}
	return ret;
}
