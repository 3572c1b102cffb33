// SPDX-License-Identifier: MIT
/*
 * Fences: a mutex-protected flag and result, a list of callbacks that the
 * signaling thread runs after dropping the lock, and a condition variable
 * for the few threads that may sleep.
 */
#include <errno.h>
#include <stdlib.h>
#include <time.h>

#include "core/fence.h"

static struct fence *alloc_fence(void)
{
	struct fence *f = calloc(1, sizeof(*f));
	pthread_condattr_t ca;

	if (!f)
		return NULL;
	pthread_mutex_init(&f->lock, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&f->cond, &ca);
	pthread_condattr_destroy(&ca);
	f->refs = 1;
	list_init(&f->cbs);
	return f;
}

struct fence *fence_create(void)
{
	return alloc_fence();
}

struct fence *fence_create_signaled(int status)
{
	struct fence *f = alloc_fence();

	if (f) {
		f->signaled = true;
		f->status = status;
	}
	return f;
}

struct fence *fence_get(struct fence *f)
{
	if (f)
		__atomic_add_fetch(&f->refs, 1, __ATOMIC_RELAXED);
	return f;
}

void fence_put(struct fence *f)
{
	if (!f || __atomic_sub_fetch(&f->refs, 1, __ATOMIC_ACQ_REL))
		return;
	pthread_cond_destroy(&f->cond);
	pthread_mutex_destroy(&f->lock);
	free(f);
}

int fence_signal(struct fence *f, int status)
{
	struct list_node cbs;
	struct fence_cb *cb;

	pthread_mutex_lock(&f->lock);
	if (f->signaled) {
		pthread_mutex_unlock(&f->lock);
		return -EALREADY;
	}
	f->signaled = true;
	f->status = status;
	/* Move the callbacks out so they run without the lock. */
	list_init(&cbs);
	if (!list_empty(&f->cbs)) {
		cbs.next = f->cbs.next;
		cbs.prev = f->cbs.prev;
		cbs.next->prev = &cbs;
		cbs.prev->next = &cbs;
		list_init(&f->cbs);
	}
	pthread_cond_broadcast(&f->cond);
	pthread_mutex_unlock(&f->lock);

	/*
	 * A callback may drop the last reference of its owner: hold ours.
	 * Pop one callback at a time under the lock so that fence_remove_cb()
	 * either takes it off before it runs or finds it gone.
	 */
	fence_get(f);
	for (;;) {
		pthread_mutex_lock(&f->lock);
		if (list_empty(&cbs)) {
			pthread_mutex_unlock(&f->lock);
			break;
		}
		cb = list_first_entry(&cbs, struct fence_cb, link);
		list_del_init(&cb->link);
		pthread_mutex_unlock(&f->lock);
		cb->func(f, cb);
	}
	fence_put(f);
	return 0;
}

bool fence_is_signaled(struct fence *f, int *status)
{
	bool done;

	pthread_mutex_lock(&f->lock);
	done = f->signaled;
	if (done && status)
		*status = f->status;
	pthread_mutex_unlock(&f->lock);
	return done;
}

int fence_add_cb(struct fence *f, struct fence_cb *cb, fence_func_t func)
{
	int ret = 0;

	list_init(&cb->link);
	cb->func = func;
	pthread_mutex_lock(&f->lock);
	if (f->signaled)
		ret = -EALREADY;
	else
		list_add_tail(&cb->link, &f->cbs);
	pthread_mutex_unlock(&f->lock);
	return ret;
}

bool fence_remove_cb(struct fence *f, struct fence_cb *cb)
{
	bool removed = false;

	pthread_mutex_lock(&f->lock);
	if (list_linked(&cb->link)) {
		list_del_init(&cb->link);
		removed = true;
	}
	pthread_mutex_unlock(&f->lock);
	return removed;
}

int fence_wait(struct fence *f, int64_t abs_timeout_ns)
{
	struct timespec ts = {
		.tv_sec = abs_timeout_ns / 1000000000,
		.tv_nsec = abs_timeout_ns % 1000000000,
	};
	int ret = 0;

	pthread_mutex_lock(&f->lock);
	while (!f->signaled && ret != ETIMEDOUT) {
		if (abs_timeout_ns < 0)
			pthread_cond_wait(&f->cond, &f->lock);
		else
			ret = pthread_cond_timedwait(&f->cond, &f->lock, &ts);
	}
	ret = f->signaled ? f->status : -ETIME;
	pthread_mutex_unlock(&f->lock);
	return ret;
}
