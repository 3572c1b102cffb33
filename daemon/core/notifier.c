// SPDX-License-Identifier: MIT
/*
 * Interval notifiers of one client address space: the collision-retry
 * protocol that keeps every userptr's view of client memory current
 * without holding any lock while pages are fetched.
 */
#include <errno.h>
#include <stdlib.h>

#include "core/notifier.h"

/*
 * The protocol
 * ============
 *
 * mm->invalidate_seq is a sequence with a "writer present" bit:
 *
 *   seq even       idle: no invalidation that hit a notifier is running
 *   seq |= 1       an invalidation started and hit at least one notifier
 *   seq++ (even)   the last running invalidation ended
 *
 * Each notifier keeps its own n->invalidate_seq. An invalidation hands its
 * callbacks the current (odd) mm seq as cur_seq, and every callback stores
 * it with notifier_set_seq() under the user's lock. So:
 *
 *   n->seq == mm->seq   n is being invalidated right now: read_begin waits
 *   n->seq != seq read  someone invalidated n after read_begin: retry
 *
 * The read side of a user:
 *
 *   again:
 *     seq = notifier_read_begin(n);        waits out a running invalidation
 *     fetch pages (may sleep, no locks)
 *     lock(user_lock);
 *     if (notifier_read_retry(n, seq)) {   pairs with set_seq in the callback
 *         unlock(user_lock); goto again;
 *     }
 *     commit (program page tables);        valid until user_lock is dropped
 *     unlock(user_lock);
 *
 * The invalidation side (daemon/mm watcher, client exit):
 *
 *   notifier_invalidate_start(mm, range)   seq |= 1, callbacks: set_seq+zap
 *   ... the client's memory changes ...
 *   notifier_invalidate_end(mm)            seq++ when the last one ends
 *
 * A reader that took user_lock before the callback did commits pages
 * that are still valid, because the contents change only after every
 * callback returned and the callback cannot run until the reader drops
 * the lock; one that took it after sees set_seq and retries.
 *
 * While any invalidation that hit a notifier runs (seq odd), the tree is
 * frozen: callbacks are iterated without mm->lock, so inserts and removes
 * go on mm->deferred and are applied by the last notifier_invalidate_end,
 * in one place, which keeps the algorithm deterministic (no livelock of
 * retried inserts). A notifier inserted then starts at the current odd
 * seq, so its read_begin waits for that end: the running invalidation
 * might cover it. A notifier inserted while idle starts at seq - 1: odd,
 * so never equal to an idle (even) mm seq, and not equal to the next odd
 * value either, so a fresh notifier never waits spuriously.
 *
 * Test switch: building with -DNOTIFIER_BREAK=1 makes set_seq a no-op and
 * -DNOTIFIER_BREAK=2 skips the deferred list (inserts go straight into the
 * tree at an idle seq). The stress test must fail with either; see
 * tests/unit/notifier_stress_test.c and `make check-mutants`.
 */

#ifndef NOTIFIER_BREAK
#define NOTIFIER_BREAK 0
#endif

static inline uint64_t load_seq(const uint64_t *p)
{
	return __atomic_load_n(p, __ATOMIC_ACQUIRE);
}

static inline void store_seq(uint64_t *p, uint64_t v)
{
	__atomic_store_n(p, v, __ATOMIC_RELEASE);
}

static inline bool is_invalidating(const struct notifier_mm *mm)
{
	return mm->invalidate_seq & 1;
}

int notifier_mm_init(struct notifier_mm *mm)
{
	pthread_condattr_t ca;
	int ret;

	ret = pthread_mutex_init(&mm->lock, NULL);
	if (ret)
		return -ret;
	ret = pthread_condattr_init(&ca);
	if (ret)
		goto err_mutex;
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	ret = pthread_cond_init(&mm->wq, &ca);
	pthread_condattr_destroy(&ca);
	if (ret)
		goto err_mutex;
	itree_init(&mm->itree);
	/* Start far from 0 so a wrap is never near; must be even. */
	mm->invalidate_seq = 2;
	mm->active_invalidate_ranges = 0;
	list_init(&mm->deferred);
	mm->released = false;
	return 0;

err_mutex:
	pthread_mutex_destroy(&mm->lock);
	return -ret;
}

void notifier_mm_destroy(struct notifier_mm *mm)
{
	if (mm->itree.count || !list_empty(&mm->deferred))
		abort();	/* a user freed its mm under a live notifier */
	pthread_cond_destroy(&mm->wq);
	pthread_mutex_destroy(&mm->lock);
}

int notifier_insert(struct notifier *n, struct notifier_mm *mm, uint64_t start,
		    uint64_t len, const struct notifier_ops *ops)
{
	uint64_t last;
	int ret;

	ret = itree_range(start, len, &last);
	if (ret)
		return ret;

	n->node.start = start;
	n->node.last = last;
	n->mm = mm;
	n->ops = ops;
	n->in_tree = false;
	list_init(&n->deferred_item);

	pthread_mutex_lock(&mm->lock);
	if (mm->released) {
		pthread_mutex_unlock(&mm->lock);
		return -ESRCH;
	}
	if (NOTIFIER_BREAK != 2 && mm->active_invalidate_ranges) {
		/*
		 * Some invalidation runs and we cannot know whether its range
		 * covers ours: treat it as if it does. If the tree is frozen
		 * (seq odd) defer the insert; else insert now and mark the mm
		 * invalidating, so that end() bumps the seq we start at.
		 */
		if (is_invalidating(mm)) {
			list_add(&n->deferred_item, &mm->deferred);
		} else {
			mm->invalidate_seq |= 1;
			itree_insert(&mm->itree, &n->node);
			n->in_tree = true;
		}
		store_seq(&n->invalidate_seq, mm->invalidate_seq);
	} else {
		store_seq(&n->invalidate_seq, (mm->invalidate_seq & ~1ull) - 1);
		itree_insert(&mm->itree, &n->node);
		n->in_tree = true;
	}
	pthread_mutex_unlock(&mm->lock);
	return 0;
}

void notifier_remove(struct notifier *n)
{
	struct notifier_mm *mm = n->mm;
	uint64_t seq = 0;

	pthread_mutex_lock(&mm->lock);
	if (is_invalidating(mm)) {
		if (!n->in_tree) {
			/* Inserted during this invalidation, never applied. */
			list_del_init(&n->deferred_item);
		} else {
			list_add(&n->deferred_item, &mm->deferred);
			seq = mm->invalidate_seq;
		}
	} else {
		itree_remove(&mm->itree, &n->node);
		n->in_tree = false;
	}
	/*
	 * A callback may be running on @n from an iteration that began before
	 * we took the lock: wait for the end so the caller may free @n.
	 */
	while (seq && mm->invalidate_seq == seq)
		pthread_cond_wait(&mm->wq, &mm->lock);
	pthread_mutex_unlock(&mm->lock);
}

uint64_t notifier_read_begin(struct notifier *n)
{
	struct notifier_mm *mm = n->mm;
	uint64_t seq;

	/*
	 * n->invalidate_seq == mm->invalidate_seq means a callback on @n has
	 * run (set_seq) in the invalidation still going on: the pages may be
	 * changing, so wait for its end. Reading both under mm->lock pairs
	 * with the seq++ in notifier_invalidate_end(). If the invalidation
	 * reaches @n only after we return, the callback's set_seq makes the
	 * caller's read_retry() fail.
	 */
	pthread_mutex_lock(&mm->lock);
	seq = load_seq(&n->invalidate_seq);
	while (seq == mm->invalidate_seq)
		pthread_cond_wait(&mm->wq, &mm->lock);
	pthread_mutex_unlock(&mm->lock);
	return seq;
}

bool notifier_read_retry(struct notifier *n, uint64_t seq)
{
	/* Under the user lock: pairs with notifier_set_seq(). */
	return load_seq(&n->invalidate_seq) != seq;
}

bool notifier_check_retry(struct notifier *n, uint64_t seq)
{
	return load_seq(&n->invalidate_seq) != seq;
}

void notifier_set_seq(struct notifier *n, uint64_t cur_seq)
{
	/* Under the user lock: pairs with notifier_read_retry(). */
	if (NOTIFIER_BREAK != 1)
		store_seq(&n->invalidate_seq, cur_seq);
}

/* Apply deferred inserts/removes; the tree is not iterated by anyone. */
static void apply_deferred(struct notifier_mm *mm)
{
	struct notifier *n, *tmp;

	list_for_each_entry_safe(n, tmp, &mm->deferred, deferred_item) {
		if (n->in_tree) {
			itree_remove(&mm->itree, &n->node);
			n->in_tree = false;
		} else {
			itree_insert(&mm->itree, &n->node);
			n->in_tree = true;
		}
		list_del_init(&n->deferred_item);
	}
}

void notifier_invalidate_end(struct notifier_mm *mm)
{
	pthread_mutex_lock(&mm->lock);
	if (--mm->active_invalidate_ranges || !is_invalidating(mm)) {
		pthread_mutex_unlock(&mm->lock);
		return;
	}
	mm->invalidate_seq++;	/* even again: pairs with read_begin's wait */
	apply_deferred(mm);
	pthread_cond_broadcast(&mm->wq);
	pthread_mutex_unlock(&mm->lock);
}

int notifier_invalidate_start(struct notifier_mm *mm, const struct notifier_range *range)
{
	struct itree_node *node;
	uint64_t cur_seq;

	pthread_mutex_lock(&mm->lock);
	mm->active_invalidate_ranges++;
	node = itree_iter_first(&mm->itree, range->start, range->last);
	if (node)
		mm->invalidate_seq |= 1;
	cur_seq = mm->invalidate_seq;
	pthread_mutex_unlock(&mm->lock);

	/* seq is odd from here to our end(): the tree is frozen. */
	for (; node; node = itree_iter_next(node, range->start, range->last)) {
		struct notifier *n = container_of(node, struct notifier, node);

		if (n->ops->invalidate(n, range, cur_seq))
			continue;
		if (range->flags & NOTIFIER_RANGE_BLOCKABLE)
			continue;	/* a blockable range cannot be refused */
		notifier_invalidate_end(mm);
		return -EAGAIN;
	}
	return 0;
}

void notifier_release(struct notifier_mm *mm)
{
	struct notifier_range all = {
		.start = 0,
		.last = UINT64_MAX,
		.event = NOTIFIER_EVENT_RELEASE,
		.flags = NOTIFIER_RANGE_BLOCKABLE,
	};

	pthread_mutex_lock(&mm->lock);
	if (mm->released) {
		pthread_mutex_unlock(&mm->lock);
		return;
	}
	mm->released = true;
	pthread_mutex_unlock(&mm->lock);

	if (!notifier_invalidate_start(mm, &all))
		notifier_invalidate_end(mm);
}
