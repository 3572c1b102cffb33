/* SPDX-License-Identifier: MIT */
/*
 * Worker threads for the steps the event loop must not wait for (large
 * copies between BOs and client memory): a job's work runs on a worker,
 * then its completion runs back on the loop thread, where the rest of
 * the daemon lives. A small fixed pool; jobs run in submission order
 * per worker, several at once across workers.
 */
#ifndef UGPU_GPU_WORK_H
#define UGPU_GPU_WORK_H

#include "core/list.h"

struct event_base;
struct work_pool;

struct work {
	struct list_node link;		/* pool queue, then done list */
	void (*fn)(struct work *w);	/* on a worker */
	void (*done)(struct work *w);	/* then on the loop thread */
};

/**
 * work_pool_create - start @nthreads workers reporting to @base
 * @base:     the loop whose thread runs completions
 * @nthreads: workers (1..16)
 * @out:      receives the pool
 *
 * Return: 0 or -errno.
 */
int work_pool_create(struct event_base *base, unsigned int nthreads, struct work_pool **out);

/**
 * work_pool_destroy - finish queued work, run its completions, stop
 * @p: the pool, or NULL. Loop thread (or with the loop stopped).
 */
void work_pool_destroy(struct work_pool *p);

/**
 * work_queue - run @w->fn on a worker, then @w->done on the loop thread
 * @p: the pool
 * @w: the work, owned by the caller until done() ran
 */
void work_queue(struct work_pool *p, struct work *w);

#endif
