// SPDX-License-Identifier: MIT
/*
 * The sim backend: a software GPU that runs anywhere, and the default
 * device. This file is its ops table: open/close, VMs (page tables, the
 * one client port a VM may reach, the fault-mode handler), job
 * submission into per-engine queues, reaping, cancel, reset and
 * statistics. Engines, the memory path and the ISA live in sim_engine.c,
 * sim_mem.c and sim_exec.c; nothing above dev/ can tell it is simulated.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "dev/sim_internal.h"

#define MAX_QUEUE_DEPTH	4096u

static struct sim_dev *to_sd(struct dev *d)
{
	return container_of(d, struct sim_dev, base);
}

static struct sim_vm *to_vm(struct dev_vm *vm)
{
	return container_of(vm, struct sim_vm, base);
}

static void fill_caps(struct dev_caps *caps, const struct dev_config *cfg)
{
	memset(caps, 0, sizeof(*caps));
	strcpy(caps->backend, "sim");
	caps->num_engines = SIM_NUM_ENGINES;
	caps->engine_class[0] = DEV_ENGINE_RENDER;
	caps->engine_class[1] = DEV_ENGINE_COPY;
	caps->va_bits = SIM_VA_BITS;
	caps->page_size = DEV_PAGE_SIZE;
	caps->queue_depth = cfg->queue_depth ? cfg->queue_depth : SIM_QUEUE_DEPTH;
	caps->features = DEV_FEATURE_PORT | DEV_FEATURE_FAULT_HANDLER;
	caps->hang_timeout_ns = cfg->hang_timeout_ns ? cfg->hang_timeout_ns :
			       DEV_HANG_TIMEOUT_DEFAULT_NS;
}

static int sim_open(const struct dev_config *cfg, struct dev **out)
{
	struct sim_dev *sd;
	int ret;

	if ((cfg->arg && *cfg->arg) || cfg->queue_depth > MAX_QUEUE_DEPTH)
		return -EINVAL;
	sd = calloc(1, sizeof(*sd));
	if (!sd)
		return -ENOMEM;
	sd->base.ops = &sim_dev_ops;
	fill_caps(&sd->base.caps, cfg);
	list_init(&sd->done);
	sd->base.completion_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (sd->base.completion_fd < 0) {
		ret = -errno;
		goto err_free;
	}
	ret = -pthread_mutex_init(&sd->lock, NULL);
	if (ret)
		goto err_fd;
	ret = sim_engines_start(sd);
	if (ret)
		goto err_mutex;
	*out = &sd->base;
	return 0;

err_mutex:
	pthread_mutex_destroy(&sd->lock);
err_fd:
	close(sd->base.completion_fd);
err_free:
	free(sd);
	return ret;
}

static void sim_close(struct dev *d)
{
	struct sim_dev *sd = to_sd(d);
	struct sim_job *job, *tmp;

	sim_engines_stop(sd);
	list_for_each_entry_safe(job, tmp, &sd->done, node)
		free(job);
	pthread_mutex_destroy(&sd->lock);
	close(sd->base.completion_fd);
	free(sd);
}

static int sim_vm_create(struct dev *d, struct dev_vm **out)
{
	struct sim_dev *sd = to_sd(d);
	pthread_rwlockattr_t a;
	struct sim_vm *vm;
	int ret;

	vm = calloc(1, sizeof(*vm));
	if (!vm)
		return -ENOMEM;
	vm->base.dev = d;
	vm->sd = sd;
	vm->refs = 1;
	ret = sim_pt_init(&vm->pt);
	if (ret)
		goto err_free;
	/* A zap must not starve behind a stream of engine chunks. */
	pthread_rwlockattr_init(&a);
	pthread_rwlockattr_setkind_np(&a, PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP);
	ret = -pthread_rwlock_init(&vm->pt_lock, &a);
	pthread_rwlockattr_destroy(&a);
	if (ret)
		goto err_pt;
	*out = &vm->base;
	return 0;

err_pt:
	sim_pt_fini(&vm->pt);
err_free:
	free(vm);
	return ret;
}

/* Under sd->lock: end every queued job of @vm, abort its running ones. */
static bool cancel_vm_jobs(struct sim_dev *sd, struct sim_vm *vm)
{
	struct sim_job *job, *tmp;
	struct sim_vm *free_vm;
	bool posted = false;

	for (unsigned int i = 0; i < SIM_NUM_ENGINES; i++) {
		struct sim_engine *e = &sd->eng[i];

		list_for_each_entry_safe(job, tmp, &e->queue, node) {
			if (job->vm != vm)
				continue;
			list_del_init(&job->node);
			job->res.status = -ECANCELED;
			job->res.end_ns = sim_now_ns();
			sim_job_done_locked(sd, job, &free_vm);
			posted = true;
		}
		if (e->running && e->running->vm == vm) {
			__atomic_store_n(&e->running->abort, -ECANCELED, __ATOMIC_RELEASE);
			pthread_cond_broadcast(&e->cond);
		}
	}
	return posted;
}

static void sim_vm_destroy(struct dev_vm *dvm)
{
	struct sim_vm *vm = to_vm(dvm), *free_vm;
	struct sim_dev *sd = vm->sd;
	bool posted;

	pthread_mutex_lock(&sd->lock);
	vm->dead = true;
	posted = cancel_vm_jobs(sd, vm);
	pthread_mutex_unlock(&sd->lock);
	if (posted)
		sim_signal_completion(sd);

	/* Waits out the chunk in progress; later ones fault, then see the abort. */
	pthread_rwlock_wrlock(&vm->pt_lock);
	sim_pt_zap(&vm->pt, 0, 1ull << SIM_VA_BITS);
	vm->fault_fn = NULL;
	vm->fault_priv = NULL;
	pthread_rwlock_unlock(&vm->pt_lock);

	pthread_mutex_lock(&sd->lock);
	sim_vm_put_locked(vm, &free_vm);
	pthread_mutex_unlock(&sd->lock);
	if (free_vm)
		sim_vm_free(free_vm);
}

static void sim_vm_set_fault_handler(struct dev_vm *dvm, dev_fault_fn fn, void *priv)
{
	struct sim_vm *vm = to_vm(dvm);

	pthread_rwlock_wrlock(&vm->pt_lock);
	vm->fault_fn = fn;
	vm->fault_priv = priv;
	pthread_rwlock_unlock(&vm->pt_lock);
}

static int sim_vm_map(struct dev_vm *dvm, uint64_t va, uint64_t size,
		      const struct dev_backing *b, uint32_t flags)
{
	struct sim_vm *vm = to_vm(dvm);
	uint64_t pte_flags = flags & DEV_MAP_WRITE ? SIM_PTE_WRITE : 0, addr;
	int ret;

	pthread_rwlock_wrlock(&vm->pt_lock);
	/*
	 * A client's memory, reached through its port or mapped by the
	 * daemon (a HOST backing naming the port): every chunk of this VM
	 * then passes that client's invalidation gate.
	 */
	if (b->port) {
		if (vm->port && vm->port != b->port) {
			ret = -EBUSY;
			goto out;
		}
		if (!vm->port)	/* pairs with the acquire load in chunk_lock() */
			__atomic_store_n(&vm->port, dma_port_get(b->port), __ATOMIC_RELEASE);
	}
	if (b->kind == DEV_BACKING_PORT) {
		pte_flags |= SIM_PTE_PORT;
		addr = b->addr;
	} else {
		addr = (uintptr_t)b->host;
	}
	ret = sim_pt_map(&vm->pt, va, size, addr, pte_flags);
out:
	pthread_rwlock_unlock(&vm->pt_lock);
	return ret;
}

static int sim_vm_zap(struct dev_vm *dvm, uint64_t va, uint64_t size)
{
	struct sim_vm *vm = to_vm(dvm);

	pthread_rwlock_wrlock(&vm->pt_lock);
	sim_pt_zap(&vm->pt, va, size);
	pthread_rwlock_unlock(&vm->pt_lock);
	return 0;
}

static int sim_submit(struct dev *d, const struct dev_submit *s, uint64_t *job_id)
{
	struct sim_dev *sd = to_sd(d);
	struct sim_vm *vm = to_vm(s->vm);
	struct sim_engine *e = &sd->eng[s->engine];
	struct sim_job *job;
	int ret = 0;

	job = calloc(1, sizeof(*job));
	if (!job)
		return -ENOMEM;
	job->vm = vm;
	job->batch_va = s->batch_va;
	job->batch_len = s->batch_len;
	job->res.user = s->user;
	job->wb = s->wb;
	job->wb_seqno = s->wb_seqno;
	job->res.engine = s->engine;
	job->res.submit_ns = sim_now_ns();

	pthread_mutex_lock(&sd->lock);
	if (vm->dead)
		ret = -EINVAL;
	else if (e->queued >= d->caps.queue_depth)
		ret = -ENOSPC;
	if (ret) {
		pthread_mutex_unlock(&sd->lock);
		free(job);
		return ret;
	}
	job->res.id = ++sd->next_id;
	vm->refs++;
	list_add_tail(&job->node, &e->queue);
	e->queued++;
	sim_engine_kick(e);
	*job_id = job->res.id;
	pthread_mutex_unlock(&sd->lock);
	sim_stat_add(&sd->st.jobs_submitted, 1);
	return 0;
}

static int sim_reap(struct dev *d, struct dev_job_result *res, unsigned int max)
{
	struct sim_dev *sd = to_sd(d);
	struct sim_job *job;
	unsigned int n = 0;

	pthread_mutex_lock(&sd->lock);
	while (n < max && !list_empty(&sd->done)) {
		job = list_first_entry(&sd->done, struct sim_job, node);
		list_del_init(&job->node);
		res[n++] = job->res;
		free(job);
	}
	pthread_mutex_unlock(&sd->lock);
	return n;
}

static int sim_cancel(struct dev *d, uint64_t job_id)
{
	struct sim_dev *sd = to_sd(d);
	struct sim_vm *free_vm = NULL;
	struct sim_job *job;
	int ret = -ENOENT;

	pthread_mutex_lock(&sd->lock);
	for (unsigned int i = 0; i < SIM_NUM_ENGINES && ret == -ENOENT; i++) {
		struct sim_engine *e = &sd->eng[i];

		if (e->running && e->running->res.id == job_id) {
			/* Keep a reset's -EIO if one came first. */
			int zero = 0;

			__atomic_compare_exchange_n(&e->running->abort, &zero, -ECANCELED,
						    false, __ATOMIC_RELEASE, __ATOMIC_RELAXED);
			pthread_cond_broadcast(&e->cond);
			ret = 0;
			break;
		}
		list_for_each_entry(job, &e->queue, node) {
			if (job->res.id != job_id)
				continue;
			list_del_init(&job->node);
			job->res.status = -ECANCELED;
			job->res.end_ns = sim_now_ns();
			sim_job_done_locked(sd, job, &free_vm);
			ret = 1;
			break;
		}
	}
	pthread_mutex_unlock(&sd->lock);
	if (free_vm)
		sim_vm_free(free_vm);
	if (ret == 1) {
		sim_signal_completion(sd);
		ret = 0;
	}
	return ret;
}

static int sim_reset_engine(struct dev *d, uint32_t engine)
{
	struct sim_dev *sd = to_sd(d);
	struct sim_engine *e = &sd->eng[engine];

	pthread_mutex_lock(&sd->lock);
	if (e->running) {
		/* The engine resets itself when the job stops (-EIO). */
		__atomic_store_n(&e->running->abort, -EIO, __ATOMIC_RELEASE);
		pthread_cond_broadcast(&e->cond);
	} else {
		sim_stat_add(&sd->st.resets, 1);	/* idle: nothing to drop */
	}
	pthread_mutex_unlock(&sd->lock);
	return 0;
}

static uint64_t ld(const uint64_t *v)
{
	return __atomic_load_n(v, __ATOMIC_RELAXED);
}

static void sim_get_stats(struct dev *d, struct dev_stats *st)
{
	struct sim_dev *sd = to_sd(d);

	st->jobs_submitted = ld(&sd->st.jobs_submitted);
	st->jobs_completed = ld(&sd->st.jobs_completed);
	st->jobs_failed = ld(&sd->st.jobs_failed);
	st->jobs_cancelled = ld(&sd->st.jobs_cancelled);
	st->faults = ld(&sd->st.faults);
	st->hangs = ld(&sd->st.hangs);
	st->resets = ld(&sd->st.resets);
	st->bytes_read = ld(&sd->st.bytes_read);
	st->bytes_written = ld(&sd->st.bytes_written);
	for (unsigned int i = 0; i < SIM_NUM_ENGINES; i++) {
		st->engine_jobs[i] = ld(&sd->st.engine_jobs[i]);
		st->engine_busy_ns[i] = ld(&sd->st.engine_busy_ns[i]);
	}
}

const struct dev_ops sim_dev_ops = {
	.name = "sim",
	.open = sim_open,
	.close = sim_close,
	.vm_create = sim_vm_create,
	.vm_destroy = sim_vm_destroy,
	.vm_set_fault_handler = sim_vm_set_fault_handler,
	.vm_map = sim_vm_map,
	.vm_zap = sim_vm_zap,
	.submit = sim_submit,
	.reap = sim_reap,
	.cancel = sim_cancel,
	.reset_engine = sim_reset_engine,
	.get_stats = sim_get_stats,
};
