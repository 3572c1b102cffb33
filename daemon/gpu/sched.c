// SPDX-License-Identifier: MIT
/*
 * The scheduler: each client has a queue of ready jobs per engine; the
 * device gets at most GPU_ENGINE_DEPTH jobs per engine at once, taken
 * round-robin from the clients that have work there, so one client's
 * flood cannot starve another. Completions arrive on the device's
 * eventfd (the interrupt) and signal the jobs' fences. Also the end of a
 * job's life on every path: completion, failure before submission, and
 * cancellation when a VM or client goes away.
 */
#include <errno.h>
#include <event2/event.h>
#include <stddef.h>
#include <stdlib.h>

#include "gpu/gpu_internal.h"

static void job_free(struct gpu_job *job)
{
	gpu_job_unwait(job);	/* the fences it waited for */
	free(job->deps);
	fence_put(job->fence);
	gpu_vm_put(job->vm);
	free(job);
}

/* End a job's life on the core's side (the device no longer has it). */
_Static_assert(sizeof(struct dev_writeback) == sizeof(struct ugpu_completion_slot) &&
	       offsetof(struct dev_writeback, seqno) ==
	       offsetof(struct ugpu_completion_slot, seqno) &&
	       offsetof(struct dev_writeback, status) ==
	       offsetof(struct ugpu_completion_slot, status),
	       "the device writes completion slots directly");

static struct dev_writeback *cpage_slot(struct gpu_cpage *cp, uint64_t seqno)
{
	return (struct dev_writeback *)&cp->page->slot[seqno % UGPU_COMPLETION_SLOTS];
}

void gpu_job_done(struct gpu *g, struct gpu_job *job, int status)
{
	struct gpu_client *cl = job->client;

	list_del_init(&job->link);
	list_del_init(&job->vm_link);
	if (status)
		g->c.jobs_failed++;
	else
		g->c.jobs_completed++;
	if (cl && cl->cpage) {
		/* Also for jobs that never reached the device. */
		struct dev_writeback *wb = cpage_slot(cl->cpage, job->seqno);

		__atomic_store_n(&wb->status, status, __ATOMIC_RELAXED);
		__atomic_store_n(&wb->seqno, job->seqno, __ATOMIC_RELEASE);
	}
	gpu_cpage_put(job->cpage);
	job->cpage = NULL;
	if (cl) {
		cl->inflight--;
		if (status)
			cl->c.jobs_failed++;
		else
			cl->c.jobs_completed++;
	}
	fence_signal(job->fence, status);
	job_free(job);
}

void gpu_ready_add(struct gpu *g, struct gpu_client *cl, uint32_t e)
{
	if (!list_linked(&cl->ready_link[e]) && !list_empty(&cl->queued[e]))
		list_add_tail(&cl->ready_link[e], &g->engines[e].ready);
}

void gpu_schedule(struct gpu *g)
{
	for (uint32_t e = 0; e < g->dev->caps.num_engines; e++) {
		struct gpu_engine *eng = &g->engines[e];

		while (eng->in_device < GPU_ENGINE_DEPTH && !list_empty(&eng->ready)) {
			struct gpu_client *cl = list_first_entry(&eng->ready, struct gpu_client,
								 ready_link[e]);
			struct gpu_job *job = list_first_entry(&cl->queued[e], struct gpu_job,
							       link);
			struct dev_submit s = {
				.vm = job->vm->dvm,
				.engine = e,
				.batch_len = job->batch_len,
				.batch_va = job->batch_va,
				.user = (uintptr_t)job,
			};
			int ret;

			/* Round-robin: this client goes to the back of the line. */
			list_del_init(&cl->ready_link[e]);
			list_del_init(&job->link);
			gpu_ready_add(g, cl, e);
			if (cl->cpage) {
				/* The device writes the result where the client looks. */
				job->cpage = cl->cpage;
				job->cpage->refs++;
				s.wb = cpage_slot(cl->cpage, job->seqno);
				s.wb_seqno = job->seqno;
			}
			ret = job->vm->dead ? -ECANCELED : dev_submit(g->dev, &s, &job->dev_id);
			if (ret) {
				gpu_job_done(g, job, ret);
				continue;
			}
			eng->in_device++;
			list_add_tail(&job->link, &g->running);
		}
	}
}

void gpu_complete_jobs(struct gpu *g)
{
	struct dev_job_result res[32];
	int n;

	while ((n = dev_reap(g->dev, res, 32)) > 0) {
		for (int i = 0; i < n; i++) {
			struct gpu_job *job = (struct gpu_job *)(uintptr_t)res[i].user;

			g->engines[job->engine].in_device--;
			gpu_job_done(g, job, res[i].status);
		}
	}
	gpu_schedule(g);
}

/* Cancel @cl's jobs (of @vm only, if not NULL). Unsubmitted ones end now. */
static void cancel_jobs(struct gpu_client *cl, struct gpu_vm *vm)
{
	struct gpu *g = cl->gpu;
	struct gpu_job *job, *tmp;

	list_for_each_entry_safe(job, tmp, &cl->waiting, link)
		if (!vm || job->vm == vm) {
			gpu_job_unwait(job);
			gpu_job_done(g, job, -ECANCELED);
		}
	for (uint32_t e = 0; e < DEV_MAX_ENGINES; e++) {
		list_for_each_entry_safe(job, tmp, &cl->queued[e], link)
			if (!vm || job->vm == vm)
				gpu_job_done(g, job, -ECANCELED);
		if (list_empty(&cl->queued[e]))
			list_del_init(&cl->ready_link[e]);
	}
	list_for_each_entry(job, &g->running, link)
		if (job->client == cl && (!vm || job->vm == vm))
			dev_cancel(g->dev, job->dev_id);
}

void gpu_job_cancel_vm(struct gpu_vm *vm)
{
	cancel_jobs(vm->client, vm);
}

void gpu_job_cancel_client(struct gpu_client *cl)
{
	cancel_jobs(cl, NULL);
}

void gpu_job_orphan_client(struct gpu_client *cl)
{
	struct gpu_job *job;

	cancel_jobs(cl, NULL);
	/* Still in the device: their results are reaped without a client. */
	list_for_each_entry(job, &cl->gpu->running, link)
		if (job->client == cl)
			job->client = NULL;
}

void gpu_cancel_all(struct gpu *g)
{
	struct gpu_client *cl;

	list_for_each_entry(cl, &g->clients, link)
		cancel_jobs(cl, NULL);
}

uint64_t gpu_busy_jobs(struct gpu *g)
{
	struct gpu_client *cl;
	uint64_t n = 0;

	list_for_each_entry(cl, &g->clients, link)
		n += cl->inflight;
	return n;
}

