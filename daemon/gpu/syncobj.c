// SPDX-License-Identifier: MIT
/*
 * Syncobjs: per-client containers of fences that exec and bind wait on
 * (in-syncs) and signal (out-syncs). A binary syncobj holds one fence,
 * replaced by every signal; a timeline syncobj holds points (value ->
 * fence) added in increasing order, and waiting for point N means
 * waiting for the first point >= N. As in DRM without WAIT_FOR_SUBMIT,
 * waiting on a syncobj (point) that nothing was submitted for yet is an
 * error (-EINVAL) rather than a wait.
 */
#include <errno.h>
#include <event2/event.h>
#include <stdlib.h>

#include "gpu/gpu_internal.h"

#define MAX_SYNCS	64u

struct gpu_point {
	struct list_node link;		/* on syncobj->points, ascending */
	uint64_t value;
	struct fence *fence;
};

struct gpu_syncobj {
	struct fence *fence;		/* binary payload, or NULL */
	struct list_node points;	/* timeline payload */
	uint64_t last_point;
};

int gpu_syncobj_create(struct gpu_client *cl, uint32_t flags, uint32_t *id)
{
	struct gpu_syncobj *so;
	int ret;

	if (flags & ~UGPU_SYNCOBJ_CREATE_SIGNALED)
		return -EINVAL;
	so = calloc(1, sizeof(*so));
	if (!so)
		return -ENOMEM;
	list_init(&so->points);
	if (flags & UGPU_SYNCOBJ_CREATE_SIGNALED) {
		so->fence = fence_create_signaled(0);
		if (!so->fence) {
			free(so);
			return -ENOMEM;
		}
	}
	ret = handle_alloc(&cl->syncobjs, so, id);
	if (ret) {
		fence_put(so->fence);
		free(so);
	}
	return ret;
}

static void syncobj_free(struct gpu_syncobj *so)
{
	struct gpu_point *pt, *tmp;

	list_for_each_entry_safe(pt, tmp, &so->points, link) {
		fence_put(pt->fence);
		free(pt);
	}
	fence_put(so->fence);
	free(so);
}

int gpu_syncobj_destroy(struct gpu_client *cl, uint32_t id)
{
	struct gpu_syncobj *so = handle_remove(&cl->syncobjs, id);

	if (!so)
		return -ENOENT;
	syncobj_free(so);
	return 0;
}

void gpu_syncobj_teardown_all(struct gpu_client *cl)
{
	uint32_t id;

	while ((id = handle_next(&cl->syncobjs, 0)))
		gpu_syncobj_destroy(cl, id);
}

/* The fence to wait on for (@so, @point), with a reference, or NULL. */
static struct fence *resolve(struct gpu_syncobj *so, bool timeline, uint64_t point)
{
	struct gpu_point *pt;

	if (!timeline)
		return fence_get(so->fence);
	list_for_each_entry(pt, &so->points, link)
		if (pt->value >= point)
			return fence_get(pt->fence);
	return NULL;
}

/* Drop signaled points below the newest signaled one: they add nothing. */
static void prune(struct gpu_syncobj *so)
{
	struct gpu_point *pt, *tmp, *newest = NULL;

	list_for_each_entry(pt, &so->points, link)
		if (fence_is_signaled(pt->fence, NULL))
			newest = pt;
	if (!newest)
		return;
	list_for_each_entry_safe(pt, tmp, &so->points, link) {
		if (pt == newest)
			break;
		if (fence_is_signaled(pt->fence, NULL)) {
			list_del_init(&pt->link);
			fence_put(pt->fence);
			free(pt);
		}
	}
}

static int check_sync(const struct ugpu_sync *s)
{
	if (s->extensions || s->pad || s->reserved[0] || s->reserved[1])
		return -EINVAL;
	if (s->flags & ~UGPU_SYNC_FLAG_SIGNAL)
		return -EINVAL;
	if (s->type == UGPU_SYNC_SYNCOBJ)
		return s->timeline_value ? -EINVAL : 0;
	if (s->type == UGPU_SYNC_TIMELINE_SYNCOBJ)
		return s->timeline_value ? 0 : -EINVAL;
	return -EINVAL;
}

void gpu_syncs_fini(struct gpu_syncs *s)
{
	for (unsigned int i = 0; i < s->nin; i++)
		fence_put(s->in[i]);
	free(s->in);
	free(s->out);
	s->in = NULL;
	s->out = NULL;
	s->nin = s->nout = 0;
}

int gpu_syncs_parse(struct gpu_client *cl, pid_t caller, uint64_t ptr, uint32_t n,
		    struct gpu_syncs *out)
{
	struct ugpu_sync *syncs;
	int ret;

	*out = (struct gpu_syncs){ 0 };
	if (!n)
		return ptr ? -EINVAL : 0;
	if (n > MAX_SYNCS)
		return -EINVAL;
	ret = gpu_client_same_mm(cl, caller);
	if (ret)
		return ret;
	syncs = calloc(n, sizeof(*syncs));
	out->in = calloc(n, sizeof(*out->in));
	out->out = calloc(n, sizeof(*out->out));
	if (!syncs || !out->in || !out->out) {
		ret = -ENOMEM;
		goto out;
	}
	ret = gpu_client_read(cl, ptr, syncs, n * sizeof(*syncs));
	for (uint32_t i = 0; i < n && !ret; i++) {
		bool timeline = syncs[i].type == UGPU_SYNC_TIMELINE_SYNCOBJ;
		struct gpu_syncobj *so;
		struct fence *f;

		ret = check_sync(&syncs[i]);
		if (ret)
			break;
		so = handle_lookup(&cl->syncobjs, syncs[i].handle);
		if (!so) {
			ret = -ENOENT;
			break;
		}
		if (syncs[i].flags & UGPU_SYNC_FLAG_SIGNAL) {
			if (timeline && syncs[i].timeline_value <= so->last_point) {
				ret = -EINVAL;	/* points only go up */
				break;
			}
			out->out[out->nout].handle = syncs[i].handle;
			out->out[out->nout].timeline = timeline;
			out->out[out->nout++].value = syncs[i].timeline_value;
			continue;
		}
		f = resolve(so, timeline, syncs[i].timeline_value);
		if (!f) {
			ret = -EINVAL;	/* nothing submitted for it yet */
			break;
		}
		out->in[out->nin++] = f;
	}
out:
	free(syncs);
	if (ret)
		gpu_syncs_fini(out);
	return ret;
}

void gpu_syncs_signal_with(struct gpu_client *cl, struct gpu_syncs *s, struct fence *f)
{
	for (unsigned int i = 0; i < s->nout; i++) {
		struct gpu_syncobj *so = handle_lookup(&cl->syncobjs, s->out[i].handle);
		struct gpu_point *pt;

		if (!so)
			continue;	/* destroyed meanwhile */
		if (!s->out[i].timeline) {
			fence_put(so->fence);
			so->fence = fence_get(f);
			continue;
		}
		if (s->out[i].value <= so->last_point)
			continue;
		pt = calloc(1, sizeof(*pt));
		if (!pt)
			continue;
		pt->value = s->out[i].value;
		pt->fence = fence_get(f);
		list_add_tail(&pt->link, &so->points);
		so->last_point = pt->value;
		prune(so);
	}
}

static void syncobj_wait_done(struct gpu_parked *p, int ret)
{
	front_req_complete(p->req, ret);
	gpu_parked_free(p);
}

static void syncobj_fence_cb(struct fence *f, struct fence_cb *cb)
{
	syncobj_wait_done(container_of(cb, struct gpu_parked, cb), 0);
}

static void syncobj_timer_cb(evutil_socket_t fd, short what, void *arg)
{
	struct gpu_parked *p = arg;

	if (fence_remove_cb(p->fence, &p->cb))
		syncobj_wait_done(p, -ETIME);
}

int gpu_syncobj_wait(struct gpu_client *cl, struct front_req *req,
		     struct ugpu_syncobj_wait *w)
{
	struct gpu_syncobj *so;
	struct fence *f;
	int ret;

	if (w->extensions || w->flags || w->reserved[0] || w->reserved[1])
		return -EINVAL;
	so = handle_lookup(&cl->syncobjs, w->handle);
	if (!so)
		return -ENOENT;
	f = resolve(so, w->point != 0, w->point);
	if (!f)
		return -EINVAL;
	ret = gpu_park_fence(cl, req, UGPU_IOCTL_SYNCOBJ_WAIT, w, f, w->timeout_abs_ns,
			     syncobj_fence_cb, syncobj_timer_cb);
	fence_put(f);
	return ret;
}
