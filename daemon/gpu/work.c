// SPDX-License-Identifier: MIT
/*
 * The worker pool: a mutex-protected queue the workers take from, and a
 * done list the loop drains when an eventfd, written by a worker after
 * each job, becomes readable.
 */
#include <errno.h>
#include <event2/event.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "gpu/work.h"

#define MAX_WORKERS 16

struct work_pool {
	pthread_mutex_t lock;		/* protects queue, done, stop */
	pthread_cond_t cond;		/* queue became non-empty, or stop */
	struct list_node queue;
	struct list_node done;
	bool stop;
	int efd;			/* written after each job */
	struct event *ev;
	unsigned int n;
	pthread_t threads[MAX_WORKERS];
};

static void *worker_main(void *arg)
{
	struct work_pool *p = arg;
	uint64_t one = 1;
	struct work *w;

	pthread_mutex_lock(&p->lock);
	for (;;) {
		while (!p->stop && list_empty(&p->queue))
			pthread_cond_wait(&p->cond, &p->lock);
		if (list_empty(&p->queue))
			break;		/* stopping, nothing left */
		w = list_first_entry(&p->queue, struct work, link);
		list_del_init(&w->link);
		pthread_mutex_unlock(&p->lock);
		w->fn(w);
		pthread_mutex_lock(&p->lock);
		list_add_tail(&w->link, &p->done);
		/* Fails only on counter overflow, when it is readable anyway. */
		(void)!write(p->efd, &one, sizeof(one));
	}
	pthread_mutex_unlock(&p->lock);
	return NULL;
}

/* Run the completions of finished work; loop thread. */
static void drain_done(struct work_pool *p)
{
	struct list_node done;
	struct work *w, *tmp;

	list_init(&done);
	pthread_mutex_lock(&p->lock);
	list_for_each_entry_safe(w, tmp, &p->done, link) {
		list_del_init(&w->link);
		list_add_tail(&w->link, &done);
	}
	pthread_mutex_unlock(&p->lock);
	list_for_each_entry_safe(w, tmp, &done, link) {
		list_del_init(&w->link);
		w->done(w);
	}
}

static void on_done(evutil_socket_t fd, short what, void *arg)
{
	uint64_t v;

	if (read(fd, &v, sizeof(v)) < 0 && errno != EAGAIN)
		return;
	drain_done(arg);
}

int work_pool_create(struct event_base *base, unsigned int nthreads, struct work_pool **out)
{
	struct work_pool *p;
	int ret;

	if (!nthreads || nthreads > MAX_WORKERS)
		return -EINVAL;
	p = calloc(1, sizeof(*p));
	if (!p)
		return -ENOMEM;
	pthread_mutex_init(&p->lock, NULL);
	pthread_cond_init(&p->cond, NULL);
	list_init(&p->queue);
	list_init(&p->done);
	p->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (p->efd < 0) {
		ret = -errno;
		goto err_free;
	}
	p->ev = event_new(base, p->efd, EV_READ | EV_PERSIST, on_done, p);
	if (!p->ev || event_add(p->ev, NULL)) {
		ret = -ENOMEM;
		goto err_efd;
	}
	for (p->n = 0; p->n < nthreads; p->n++) {
		ret = -pthread_create(&p->threads[p->n], NULL, worker_main, p);
		if (ret)
			goto err_threads;
	}
	*out = p;
	return 0;

err_threads:
	pthread_mutex_lock(&p->lock);
	p->stop = true;
	pthread_cond_broadcast(&p->cond);
	pthread_mutex_unlock(&p->lock);
	while (p->n)
		pthread_join(p->threads[--p->n], NULL);
err_efd:
	if (p->ev)
		event_free(p->ev);
	close(p->efd);
err_free:
	pthread_cond_destroy(&p->cond);
	pthread_mutex_destroy(&p->lock);
	free(p);
	return ret;
}

void work_pool_destroy(struct work_pool *p)
{
	if (!p)
		return;
	pthread_mutex_lock(&p->lock);
	p->stop = true;
	pthread_cond_broadcast(&p->cond);
	pthread_mutex_unlock(&p->lock);
	while (p->n)
		pthread_join(p->threads[--p->n], NULL);
	drain_done(p);
	event_free(p->ev);
	close(p->efd);
	pthread_cond_destroy(&p->cond);
	pthread_mutex_destroy(&p->lock);
	free(p);
}

void work_queue(struct work_pool *p, struct work *w)
{
	pthread_mutex_lock(&p->lock);
	list_add_tail(&w->link, &p->queue);
	pthread_cond_signal(&p->cond);
	pthread_mutex_unlock(&p->lock);
}
