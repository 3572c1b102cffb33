/* SPDX-License-Identifier: MIT */
/*
 * Fences: one-shot completion objects with a result, the userspace
 * counterpart of dma_fence. A job's out-fence, a bind's out-fence and
 * syncobj contents are fences; waiters either register a callback (the
 * loop thread never blocks: a parked request is answered from the
 * callback) or, on worker threads, sleep in fence_wait(). Reference
 * counted; thread-safe.
 */
#ifndef UGPU_CORE_FENCE_H
#define UGPU_CORE_FENCE_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "core/list.h"

struct fence;
struct fence_cb;

typedef void (*fence_func_t)(struct fence *f, struct fence_cb *cb);

struct fence_cb {
	struct list_node link;	/* on fence->cbs; protected by fence->lock */
	fence_func_t func;
};

struct fence {
	pthread_mutex_t lock;	/* protects every field below but refs */
	pthread_cond_t cond;	/* broadcast at signal */
	unsigned int refs;	/* atomic */
	bool signaled;
	int status;		/* 0 or -errno, valid once signaled */
	struct list_node cbs;	/* of struct fence_cb */
};

/**
 * fence_create - a new unsignaled fence holding one reference
 *
 * Return: the fence or NULL (out of memory).
 */
struct fence *fence_create(void);

/**
 * fence_create_signaled - a new fence already signaled with @status
 * @status: 0 or -errno
 */
struct fence *fence_create_signaled(int status);

/**
 * fence_get - take a reference
 * @f: the fence (NULL allowed)
 */
struct fence *fence_get(struct fence *f);

/**
 * fence_put - drop a reference; the last one frees the fence
 * @f: the fence (NULL allowed)
 */
void fence_put(struct fence *f);

/**
 * fence_signal - complete @f with @status, run its callbacks
 * @f:      the fence
 * @status: 0 or -errno
 *
 * Callbacks run in the calling thread, without the fence lock, each
 * once. Return: 0, or -EALREADY if @f was already signaled (unchanged).
 */
int fence_signal(struct fence *f, int status);

/**
 * fence_is_signaled - has @f completed?
 * @f:      the fence
 * @status: if not NULL and signaled, receives the result
 */
bool fence_is_signaled(struct fence *f, int *status);

/**
 * fence_add_cb - call @func once @f is signaled
 * @f:    the fence
 * @cb:   storage owned by the caller until the callback ran or was removed
 * @func: the callback
 *
 * Return: 0, or -EALREADY if @f is already signaled (@func is not called).
 */
int fence_add_cb(struct fence *f, struct fence_cb *cb, fence_func_t func);

/**
 * fence_remove_cb - cancel a callback added with fence_add_cb()
 * @f:  the fence
 * @cb: the callback
 *
 * Return: true if removed before it ran.
 */
bool fence_remove_cb(struct fence *f, struct fence_cb *cb);

/**
 * fence_wait - sleep until @f is signaled or the timeout passes
 * @f:              the fence
 * @abs_timeout_ns: CLOCK_MONOTONIC deadline; < 0 waits forever
 *
 * Never call from the loop thread. Return: the fence's status, or -ETIME.
 */
int fence_wait(struct fence *f, int64_t abs_timeout_ns);

#endif
