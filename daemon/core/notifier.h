/* SPDX-License-Identifier: MIT */
/*
 * The userspace rebuild of the kernel's mmu_interval_notifier: per client
 * address space (struct notifier_mm) an interval tree of notifiers, each
 * a subscription to invalidations of one virtual range of that client.
 * Users (userptr objects) run a collision-retry read side against it:
 * read_begin() -> fetch pages -> take their own lock -> read_retry().
 * The invalidation side is driven by the userfaultfd watcher (daemon/mm)
 * and by client exit (release). The protocol is described in notifier.c.
 */
#ifndef UGPU_CORE_NOTIFIER_H
#define UGPU_CORE_NOTIFIER_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "core/interval_tree.h"
#include "core/list.h"

enum notifier_event {
	NOTIFIER_EVENT_UNMAP,	/* munmap, MAP_FIXED over, mremap shrink, brk */
	NOTIFIER_EVENT_REMOVE,	/* madvise DONTNEED/FREE, shmem hole */
	NOTIFIER_EVENT_REMAP,	/* mremap move: the old range moved away */
	NOTIFIER_EVENT_RELEASE,	/* the address space is gone (client exit) */
	NOTIFIER_EVENT_OTHER,	/* anything else (tests, forced revalidation) */
};

/* The invalidation may sleep (wait for jobs); else callbacks must not. */
#define NOTIFIER_RANGE_BLOCKABLE (1u << 0)

struct notifier_range {
	uint64_t start;			/* inclusive */
	uint64_t last;			/* inclusive */
	enum notifier_event event;
	uint32_t flags;			/* NOTIFIER_RANGE_* */
};

struct notifier;

struct notifier_ops {
	/*
	 * Called for every notifier intersecting an invalidation, from the
	 * invalidating thread, with no notifier lock held. It must take the
	 * caller's user lock, call notifier_set_seq(n, cur_seq), stop device
	 * access to the range, and drop the lock. If the range is not
	 * blockable and that needs sleeping, return false instead (the whole
	 * invalidation then fails with -EAGAIN); otherwise return true.
	 */
	bool (*invalidate)(struct notifier *n, const struct notifier_range *range,
			   uint64_t cur_seq);
};

struct notifier_mm {
	pthread_mutex_t lock;		/* protects every field below */
	pthread_cond_t wq;		/* signalled when invalidate_seq turns even */
	struct itree itree;		/* of struct notifier.node */
	uint64_t invalidate_seq;	/* even: idle; odd: invalidating */
	unsigned int active_invalidate_ranges;
	struct list_node deferred;	/* notifiers waiting to be inserted/removed */
	bool released;			/* the address space is gone */
};

struct notifier {
	struct itree_node node;		/* in mm->itree once inserted */
	bool in_tree;			/* protected by mm->lock */
	struct list_node deferred_item;	/* on mm->deferred; protected by mm->lock */
	const struct notifier_ops *ops;
	struct notifier_mm *mm;
	uint64_t invalidate_seq;	/* written under the user lock, read atomically */
};

/**
 * notifier_mm_init - set up the notifier state of one client address space
 * @mm: the state to initialise
 *
 * Return: 0 or -errno.
 */
int notifier_mm_init(struct notifier_mm *mm);

/**
 * notifier_mm_destroy - free @mm; no notifier may still be inserted
 * @mm: the state
 */
void notifier_mm_destroy(struct notifier_mm *mm);

/**
 * notifier_insert - subscribe @n to invalidations of [start, start + len - 1]
 * @n:     the notifier (embedded in its user)
 * @mm:    the address space
 * @start: first address of the range
 * @len:   its length in bytes
 * @ops:   the callbacks
 *
 * Safe to call while invalidations run; the insertion is then deferred
 * until the last one ends and read_begin() on @n waits for that.
 * Return: 0, -EINVAL (len 0), -EOVERFLOW, -ESRCH (address space released).
 */
int notifier_insert(struct notifier *n, struct notifier_mm *mm, uint64_t start,
		    uint64_t len, const struct notifier_ops *ops);

/**
 * notifier_remove - unsubscribe @n
 * @n: an inserted notifier
 *
 * If an invalidation is running, waits until it has ended, so once this
 * returns no callback runs on @n and it may be freed. The caller must
 * not hold any lock that the invalidate callback takes.
 */
void notifier_remove(struct notifier *n);

/**
 * notifier_read_begin - start a read side critical section on @n's range
 * @n: the notifier
 *
 * Waits while an invalidation of @n's range runs.
 * Return: the sequence to pass to notifier_read_retry().
 */
uint64_t notifier_read_begin(struct notifier *n);

/**
 * notifier_read_retry - did an invalidation hit @n since read_begin?
 * @n:   the notifier
 * @seq: the value notifier_read_begin() returned
 *
 * Must be called under the same user lock the invalidate callback takes
 * around notifier_set_seq(); false means the pages fetched are current
 * and stay so until that lock is dropped.
 */
bool notifier_read_retry(struct notifier *n, uint64_t seq);

/**
 * notifier_check_retry - lock-free hint that read_retry() will fail
 * @n:   the notifier
 * @seq: the value notifier_read_begin() returned
 *
 * True means give up early; false proves nothing.
 */
bool notifier_check_retry(struct notifier *n, uint64_t seq);

/**
 * notifier_set_seq - record an invalidation on @n, from its callback
 * @n:       the notifier
 * @cur_seq: the value passed to the callback
 *
 * Must be called under the user lock that notifier_read_retry() runs under.
 */
void notifier_set_seq(struct notifier *n, uint64_t cur_seq);

/**
 * notifier_invalidate_start - begin invalidating a range of @mm
 * @mm:    the address space
 * @range: the range and its cause
 *
 * Calls the invalidate callback of every notifier intersecting @range.
 * On 0 the caller must call notifier_invalidate_end() once the range's
 * contents have changed. -EAGAIN (a callback refused a non-blockable
 * range): the invalidation was already ended; do not call end.
 */
int notifier_invalidate_start(struct notifier_mm *mm, const struct notifier_range *range);

/**
 * notifier_invalidate_end - end an invalidation begun with _start
 * @mm: the address space
 */
void notifier_invalidate_end(struct notifier_mm *mm);

/**
 * notifier_release - the address space is gone
 * @mm: the address space
 *
 * Runs a final blockable invalidation of the whole address space with
 * NOTIFIER_EVENT_RELEASE; afterwards notifier_insert() gives -ESRCH.
 * Idempotent.
 */
void notifier_release(struct notifier_mm *mm);

#endif
