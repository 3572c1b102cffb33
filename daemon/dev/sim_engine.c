// SPDX-License-Identifier: MIT
/*
 * Sim engines: one thread per engine takes jobs from its queue in order,
 * runs each to completion (sim_exec.c), posts the result on the device's
 * done list and bumps the completion eventfd (the "interrupt"). This file
 * also holds hang detection and engine reset: every job gets a deadline
 * at start, checked between commands, between chunks and in every
 * semaphore poll, and port transfers in flight are cancelled at it. A job
 * past its deadline ends with -EIO and the engine resets (drops its
 * transfer queue and makes a fresh one) before taking the next job, so
 * other jobs, of any client, go on. dev_reset_engine() does the same on
 * request, and dev_cancel() / VM destruction end a job with -ECANCELED
 * through the same per-job abort word.
 */
#include <errno.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "dev/sim_internal.h"

uint64_t sim_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + ts.tv_nsec;
}

int sim_ctx_check(struct sim_ctx *c)
{
	int abort = __atomic_load_n(&c->job->abort, __ATOMIC_ACQUIRE);

	if (abort)
		return abort;
	if (sim_now_ns() >= c->deadline) {
		c->hung = true;
		return -EIO;
	}
	return 0;
}

/* Sleep up to @ns (not past the deadline); cancel, reset and stop wake it. */
int sim_ctx_sleep(struct sim_ctx *c, uint64_t ns)
{
	struct sim_engine *e = c->eng;
	uint64_t until = sim_now_ns() + ns;
	struct timespec ts;

	if (until > c->deadline)
		until = c->deadline;
	ts.tv_sec = until / 1000000000u;
	ts.tv_nsec = until % 1000000000u;
	pthread_mutex_lock(&e->sd->lock);
	if (!__atomic_load_n(&c->job->abort, __ATOMIC_ACQUIRE) && !e->stop)
		pthread_cond_timedwait(&e->cond, &e->sd->lock, &ts);
	pthread_mutex_unlock(&e->sd->lock);
	return sim_ctx_check(c);
}

void sim_signal_completion(struct sim_dev *sd)
{
	uint64_t one = 1;

	/* Only fails if the counter would overflow; then it is readable anyway. */
	if (write(sd->base.completion_fd, &one, sizeof(one)) < 0)
		return;
}

void sim_vm_free(struct sim_vm *vm)
{
	sim_pt_fini(&vm->pt);
	pthread_rwlock_destroy(&vm->pt_lock);
	dma_port_put(vm->port);
	free(vm);
}

/* Drop a reference under sd->lock; *@free_vm gets the VM to free after unlock. */
void sim_vm_put_locked(struct sim_vm *vm, struct sim_vm **free_vm)
{
	*free_vm = --vm->refs ? NULL : vm;
}

/* A fresh transfer queue: what "reset" means for a sim engine. */
static void engine_reset(struct sim_engine *e)
{
	dma_queue_destroy(e->dq);
	e->dq = NULL;
	/* Without io_uring, port transfers run one by one: slower, still correct. */
	if (dma_queue_create(SIM_PORT_INFLIGHT, &e->dq))
		e->dq = NULL;
	sim_stat_add(&e->sd->st.resets, 1);
}

static void run_job(struct sim_engine *e, struct sim_job *job)
{
	struct sim_dev *sd = e->sd;
	struct sim_ctx c = { .eng = e, .job = job, .vm = job->vm };
	int ret, abort;

	job->res.start_ns = sim_now_ns();
	c.deadline = job->res.start_ns + sd->base.caps.hang_timeout_ns;
	ret = sim_exec_batch(&c);
	abort = __atomic_load_n(&job->abort, __ATOMIC_ACQUIRE);
	/* A job that finished wins over a late cancel or reset. */
	if (ret && abort)
		ret = abort;
	job->res.end_ns = sim_now_ns();
	job->res.status = ret;
	if (ret == -EFAULT) {
		job->res.fault = c.fault;
		sim_stat_add(&sd->st.faults, 1);
	}
	if (ret == -EIO) {
		if (c.hung)
			sim_stat_add(&sd->st.hangs, 1);
		engine_reset(e);
	}
	sim_stat_add(&sd->st.bytes_read, c.bytes_read);
	sim_stat_add(&sd->st.bytes_written, c.bytes_written);
	sim_stat_add(&sd->st.engine_jobs[e->idx], 1);
	sim_stat_add(&sd->st.engine_busy_ns[e->idx], job->res.end_ns - job->res.start_ns);
}

/*
 * Post @job (run or not) on the done list, under sd->lock. *@free_vm gets
 * the VM if that was its last reference; free it after unlocking, then
 * signal the completion fd.
 */
void sim_job_done_locked(struct sim_dev *sd, struct sim_job *job, struct sim_vm **free_vm)
{
	if (!job->res.status)
		sim_stat_add(&sd->st.jobs_completed, 1);
	else
		sim_stat_add(&sd->st.jobs_failed, 1);
	if (job->res.status == -ECANCELED)
		sim_stat_add(&sd->st.jobs_cancelled, 1);
	if (job->wb) {
		/* Write-back before the interrupt: pairs with the reader's acquire. */
		__atomic_store_n(&job->wb->status, job->res.status, __ATOMIC_RELAXED);
		__atomic_store_n(&job->wb->seqno, job->wb_seqno, __ATOMIC_RELEASE);
	}
	sd->eng[job->res.engine].queued--;
	list_add_tail(&job->node, &sd->done);
	sim_vm_put_locked(job->vm, free_vm);
	job->vm = NULL;
}

/*
 * After a job, poll a little before sleeping (sd->lock held, dropped
 * while polling): a client waiting for one job to submit the next would
 * otherwise pay a sleeping engine's wakeup on every job.
 */
static void idle_spin(struct sim_engine *e)
{
	unsigned int seen = __atomic_load_n(&e->kicks, __ATOMIC_RELAXED);
	uint64_t until = sim_now_ns() + SIM_IDLE_SPIN_NS;

	pthread_mutex_unlock(&e->sd->lock);
	/* Pairs with the increment in sim_engine_kick(). */
	/*
	 * Yield rather than spin: when the engine shares a CPU with the loop
	 * thread or the client, they run in between (the client is about to
	 * wait for the job, the loop to report it); alone on a CPU, a yield
	 * returns at once.
	 */
	while (__atomic_load_n(&e->kicks, __ATOMIC_ACQUIRE) == seen && sim_now_ns() < until)
		sched_yield();
	pthread_mutex_lock(&e->sd->lock);
}

void sim_engine_kick(struct sim_engine *e)
{
	__atomic_add_fetch(&e->kicks, 1, __ATOMIC_RELEASE);
	pthread_cond_signal(&e->cond);
}

static void *engine_main(void *arg)
{
	struct sim_engine *e = arg;
	struct sim_dev *sd = e->sd;
	struct sim_vm *free_vm;
	struct sim_job *job;
	bool ran = false;

	pthread_mutex_lock(&sd->lock);
	for (;;) {
		if (!e->stop && list_empty(&e->queue) && ran)
			idle_spin(e);
		ran = false;
		while (!e->stop && list_empty(&e->queue))
			pthread_cond_wait(&e->cond, &sd->lock);
		if (e->stop)
			break;
		job = list_first_entry(&e->queue, struct sim_job, node);
		list_del_init(&job->node);
		e->running = job;
		pthread_mutex_unlock(&sd->lock);

		run_job(e, job);
		ran = true;

		pthread_mutex_lock(&sd->lock);
		e->running = NULL;
		sim_job_done_locked(sd, job, &free_vm);
		pthread_mutex_unlock(&sd->lock);
		if (free_vm)
			sim_vm_free(free_vm);
		sim_signal_completion(sd);
		pthread_mutex_lock(&sd->lock);
	}
	pthread_mutex_unlock(&sd->lock);
	return NULL;
}

static int engine_init(struct sim_dev *sd, struct sim_engine *e, uint32_t idx)
{
	pthread_condattr_t ca;
	int ret;

	e->sd = sd;
	e->idx = idx;
	e->class = idx == 0 ? DEV_ENGINE_RENDER : DEV_ENGINE_COPY;
	list_init(&e->queue);
	ret = sim_mem_alloc(e);
	if (ret)
		return ret;
	if (dma_queue_create(SIM_PORT_INFLIGHT, &e->dq))
		e->dq = NULL;
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	ret = -pthread_cond_init(&e->cond, &ca);
	pthread_condattr_destroy(&ca);
	if (ret)
		goto err_mem;
	ret = -pthread_create(&e->thread, NULL, engine_main, e);
	if (ret)
		goto err_cond;
	e->started = true;
	return 0;

err_cond:
	pthread_cond_destroy(&e->cond);
err_mem:
	dma_queue_destroy(e->dq);
	e->dq = NULL;
	sim_mem_free(e);
	return ret;
}

/* Stop one engine: its running job is aborted; queued jobs are dropped. */
static void engine_fini(struct sim_engine *e)
{
	struct sim_dev *sd = e->sd;
	struct sim_vm *free_vm;
	struct sim_job *job, *tmp;

	if (!e->started)
		return;
	pthread_mutex_lock(&sd->lock);
	e->stop = true;
	if (e->running)
		__atomic_store_n(&e->running->abort, -ECANCELED, __ATOMIC_RELEASE);
	pthread_cond_broadcast(&e->cond);
	pthread_mutex_unlock(&sd->lock);
	pthread_join(e->thread, NULL);

	pthread_mutex_lock(&sd->lock);
	list_for_each_entry_safe(job, tmp, &e->queue, node) {
		list_del_init(&job->node);
		sim_vm_put_locked(job->vm, &free_vm);
		if (free_vm)
			sim_vm_free(free_vm);
		free(job);
	}
	pthread_mutex_unlock(&sd->lock);
	pthread_cond_destroy(&e->cond);
	dma_queue_destroy(e->dq);
	e->dq = NULL;
	sim_mem_free(e);
	e->started = false;
}

int sim_engines_start(struct sim_dev *sd)
{
	int ret;

	for (uint32_t i = 0; i < SIM_NUM_ENGINES; i++) {
		ret = engine_init(sd, &sd->eng[i], i);
		if (ret) {
			sim_engines_stop(sd);
			return ret;
		}
	}
	return 0;
}

void sim_engines_stop(struct sim_dev *sd)
{
	for (uint32_t i = 0; i < SIM_NUM_ENGINES; i++)
		engine_fini(&sd->eng[i]);
}
