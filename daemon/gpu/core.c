// SPDX-License-Identifier: MIT
/*
 * The driver core's top: opens the device, watches its completion
 * eventfd on the loop, keeps quotas and device-wide counters, parks
 * requests that are answered later, and is the front ops table the
 * transports call (open, release, ioctl, cancel, info files).
 */
#include <errno.h>
#include <event2/event.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "gpu/gpu_internal.h"
#include "gpu/work.h"

static void fill_limits(struct gpu_limits *l)
{
	if (!l->max_vms)
		l->max_vms = GPU_DEF_MAX_VMS;
	if (!l->max_bos)
		l->max_bos = GPU_DEF_MAX_BOS;
	if (!l->max_userptrs)
		l->max_userptrs = GPU_DEF_MAX_USERPTRS;
	if (!l->max_bound_bytes)
		l->max_bound_bytes = GPU_DEF_MAX_BOUND;
	if (!l->max_bo_bytes)
		l->max_bo_bytes = GPU_DEF_MAX_BO_BYTES;
	if (!l->max_inflight)
		l->max_inflight = GPU_DEF_MAX_INFLIGHT;
	/* The fence ring must outlive every job in flight. */
	if (l->max_inflight >= GPU_FENCE_RING)
		l->max_inflight = GPU_FENCE_RING - 1;
	if (!l->max_syncobjs)
		l->max_syncobjs = GPU_DEF_MAX_SYNCOBJS;
	if (l->max_vms > UINT32_MAX - 1)
		l->max_vms = UINT32_MAX - 1;
	if (l->max_bos > UINT32_MAX - 1)
		l->max_bos = UINT32_MAX - 1;
}

static void on_completion(evutil_socket_t fd, short what, void *arg)
{
	struct gpu *g = arg;
	uint64_t v;

	/* Clear the interrupt first, then reap: nothing is lost between. */
	if (read(fd, &v, sizeof(v)) < 0 && errno != EAGAIN)
		return;
	gpu_complete_jobs(g);
}

int gpu_create(struct event_base *base, const struct gpu_config *cfg, struct gpu **out)
{
	struct dev_config dcfg = { .hang_timeout_ns = cfg->hang_timeout_ns };
	struct gpu *g;
	int ret;

	g = calloc(1, sizeof(*g));
	if (!g)
		return -ENOMEM;
	g->base = base;
	g->limits = cfg->limits;
	fill_limits(&g->limits);
	list_init(&g->clients);
	list_init(&g->mms);
	list_init(&g->running);
	for (unsigned int e = 0; e < DEV_MAX_ENGINES; e++)
		list_init(&g->engines[e].ready);

	ret = work_pool_create(base, 2, &g->workers);
	if (ret)
		goto err_free;
	ret = dev_open(cfg->backend, &dcfg, &g->dev);
	if (ret)
		goto err_work;
	g->completion_ev = event_new(base, g->dev->completion_fd, EV_READ | EV_PERSIST,
				     on_completion, g);
	if (!g->completion_ev || event_add(g->completion_ev, NULL)) {
		ret = -ENOMEM;
		goto err_dev;
	}
	*out = g;
	return 0;

err_dev:
	if (g->completion_ev)
		event_free(g->completion_ev);
	dev_close(g->dev);
err_work:
	work_pool_destroy(g->workers);
err_free:
	free(g);
	return ret;
}

void gpu_destroy(struct gpu *g)
{
	struct gpu_client *cl, *tmp;
	struct gpu_job *job, *jt;

	if (!g)
		return;
	list_for_each_entry_safe(cl, tmp, &g->clients, link)
		gpu_client_release(cl);
	/* Copies still running hold their clients: let them finish. */
	work_pool_destroy(g->workers);
	/* Every VM is gone, so the device holds no job that can still run. */
	gpu_complete_jobs(g);
	event_free(g->completion_ev);
	dev_close(g->dev);
	list_for_each_entry_safe(job, jt, &g->running, link) {
		list_del_init(&job->link);
		fence_signal(job->fence, -ECANCELED);
		fence_put(job->fence);
		gpu_vm_put(job->vm);
		free(job);
	}
	free(g);
}

void gpu_set_limits(struct gpu *g, const struct gpu_limits *l)
{
	g->limits = *l;
	fill_limits(&g->limits);
}

void gpu_stop_accepting(struct gpu *g)
{
	g->stopping = true;
}

void gpu_get_stats(struct gpu *g, struct ugpu_stats *st)
{
	memset(st, 0, sizeof(*st));
	st->clients = g->nclients;
	st->vms = g->nvms;
	st->bos = g->nbos;
	st->userptrs = g->nuserptrs;
	st->bound_bytes = g->bound_bytes;
	st->jobs_submitted = g->c.jobs_submitted;
	st->jobs_completed = g->c.jobs_completed;
	st->jobs_failed = g->c.jobs_failed;
	st->invalidations = __atomic_load_n(&g->c.invalidations, __ATOMIC_RELAXED);
	st->exec_retries = __atomic_load_n(&g->c.exec_retries, __ATOMIC_RELAXED);
}

int gpu_park(struct gpu_client *cl, struct front_req *req, unsigned int cmd, void *data,
	     pid_t caller, struct gpu_parked **out)
{
	struct gpu_parked *p = calloc(1, sizeof(*p));

	if (!p)
		return -ENOMEM;
	p->client = cl;
	p->req = req;
	p->cmd = cmd;
	p->data = data;
	p->caller = caller;
	list_init(&p->cb.link);
	list_add_tail(&p->link, &cl->parked);
	*out = p;
	return 0;
}

static int64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000ll + ts.tv_nsec;
}

int gpu_park_fence(struct gpu_client *cl, struct front_req *req, unsigned int cmd,
		   void *data, struct fence *f, int64_t abs_ns, fence_func_t fence_fn,
		   event_callback_fn timer_fn)
{
	struct gpu_parked *p;
	int ret;

	if (fence_is_signaled(f, NULL))
		return 0;
	if (abs_ns == 0 || (abs_ns > 0 && abs_ns <= now_ns()))
		return -ETIME;
	ret = gpu_park(cl, req, cmd, data, 0, &p);
	if (ret)
		return ret;
	p->fence = fence_get(f);
	if (abs_ns > 0) {
		int64_t left = abs_ns - now_ns();
		struct timeval tv = {
			.tv_sec = left > 0 ? left / 1000000000 : 0,
			.tv_usec = left > 0 ? (left % 1000000000) / 1000 : 0,
		};

		p->timer = evtimer_new(cl->gpu->base, timer_fn, p);
		if (!p->timer || evtimer_add(p->timer, &tv)) {
			gpu_parked_free(p);
			return -ENOMEM;
		}
	}
	if (fence_add_cb(f, &p->cb, fence_fn) == -EALREADY) {
		gpu_parked_free(p);
		return 0;
	}
	return FRONT_PARKED;
}

void gpu_parked_free(struct gpu_parked *p)
{
	if (p->detach)
		p->detach(p);
	if (p->fence) {
		fence_remove_cb(p->fence, &p->cb);
		fence_put(p->fence);
	}
	if (p->timer)
		event_free(p->timer);
	list_del_init(&p->link);
	free(p);
}

static int op_open(void *core, const struct front_caller *who, void **session)
{
	struct gpu_client *cl;
	int ret;

	ret = gpu_client_open(core, who, &cl);
	if (!ret)
		*session = cl;
	return ret;
}

static void op_release(void *core, void *session)
{
	gpu_client_release(session);
}

static int op_ioctl(void *core, void *session, const struct front_caller *who,
		    unsigned int cmd, void *data, size_t size, struct front_req *req)
{
	return gpu_ioctl(session, who, cmd, data, req);
}

static void op_cancel(void *core, void *session, struct front_req *req)
{
	struct gpu_client *cl = session;
	struct gpu_parked *p, *tmp;

	list_for_each_entry_safe(p, tmp, &cl->parked, link)
		if (p->req == req)
			gpu_parked_free(p);
}

static int op_read_info(void *core, void *session, const char *name,
			const struct front_caller *who, char *buf, size_t size)
{
	if (session)
		return gpu_info_client(session, buf, size);
	if (!strcmp(name, "stats"))
		return gpu_info_stats(core, buf, size);
	return -ENOENT;
}

static const char *const info_files[] = { "stats", NULL };

const struct front_ops gpu_front_ops = {
	.open = op_open,
	.release = op_release,
	.ioctl = op_ioctl,
	.cancel = op_cancel,
	.read_info = op_read_info,
	.info_files = info_files,
};
