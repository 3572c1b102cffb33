/* SPDX-License-Identifier: MIT */
/*
 * The userfaultfd watcher: the event source of one client's notifiers
 * (DESIGN.md §3). The client creates a userfaultfd for its own mm
 * (UFFD_USER_MODE_ONLY, no UFFDIO_API) and sends its number; the watcher
 * pulls it with pidfd_getfd, enables the UNMAP, REMOVE and REMAP events,
 * registers client memory in write-protect mode without protecting any
 * page (events arrive, faults are never trapped), and on the libevent loop
 * turns every event into a notifier invalidation of the exact range, under
 * the invalidation gate (gate before read). The client's pidfd becoming
 * readable (exit) runs the release invalidation and kills the gate.
 *
 * Registration is per user range through a handle the user embeds
 * (struct uffd_watch_reg, e.g. one per userptr): the watcher registers the
 * whole VMAs covering the range, remembers that span, re-registers only
 * after an UNMAP/REMAP touched it, and on unregister drops only the parts
 * no other live handle's span covers. The suggested (start, len) API was
 * changed to this because ranges alone cannot be reference counted
 * exactly (two userptrs over one buffer, a re-registration on
 * revalidation): a handle makes re-registration idempotent and unregister
 * exact, with no allocation in the watcher.
 *
 * Threads: the event callbacks run on the loop thread. register and
 * unregister may be called from any thread, concurrently. open and close
 * must run on the loop thread or while the loop is not running (or with
 * libevent threading enabled, evthread_use_pthreads()).
 */
#ifndef UGPU_MM_UFFD_WATCH_H
#define UGPU_MM_UFFD_WATCH_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "core/interval_tree.h"

struct event_base;
struct notifier_mm;
struct mm_gate;
struct uffd_watch;

struct uffd_watch_ops {
	/*
	 * Optional. Step 2 of the gate protocol: an event is pending, the
	 * gate is closing (gate_closing() is true) but still open; wait,
	 * bounded, for the client's running jobs. Loop thread.
	 */
	void (*before_lock)(void *arg);
	/*
	 * Optional. The client exited: the release invalidation ran and the
	 * gate was killed. Loop thread; may call uffd_watch_close().
	 */
	void (*released)(void *arg);
};

/*
 * One registered user range. Embed it in the object that needs events
 * for the range, uffd_watch_reg_init() it, and call uffd_watch_register()
 * at bind and again at every revalidation (cheap when nothing changed).
 * Fields are the watcher's (protected by its locks); do not touch.
 */
struct uffd_watch_reg {
	struct itree_node node;		/* the registered span, whole VMAs */
	uint64_t start, last;		/* the user range, inclusive */
	bool linked;			/* in the watcher's span tree */
	bool stale;			/* an UNMAP/REMAP hit the span since */
};

struct uffd_watch_stats {
	uint64_t wakeups;		/* uffd readable: gate closed once each */
	uint64_t reads;			/* read() calls that returned events */
	uint64_t ev_unmap;		/* events read, per kind */
	uint64_t ev_remove;
	uint64_t ev_remap;
	uint64_t ev_other;		/* anything else (never expected) */
	uint64_t invalidations;		/* notifier invalidations run */
	uint64_t read_errors;		/* read() failed other than EAGAIN */
	uint64_t registers;		/* uffd_watch_register() calls */
	uint64_t register_cached;	/* ... answered without a system call */
	uint64_t register_ioctls;	/* UFFDIO_REGISTER issued */
	uint64_t unregister_ioctls;	/* UFFDIO_UNREGISTER issued */
	uint64_t unregister_errors;	/* ... that failed (harmless) */
	uint64_t spans;			/* handles registered now */
	bool released;			/* the client exited */
};

/**
 * uffd_watch_open - start watching client @pid's userfaultfd
 * @base:        the event loop the events are handled on
 * @pid:         the client process (e.g. the opener of the device)
 * @client_uffd: the number of the userfaultfd in the client's fd table,
 *               created with UFFD_USER_MODE_ONLY and not yet initialised
 *               with UFFDIO_API
 * @nmm:         the client's notifiers: every event invalidates its exact
 *               range there; client exit runs notifier_release()
 * @gate:        the client's invalidation gate
 * @ops:         optional callbacks (copied), may be NULL
 * @arg:         passed to @ops
 * @out:         receives the watcher
 *
 * Opens a pidfd on @pid, then see uffd_watch_open_pidfd(). A pid names a
 * process only while it lives: prefer the pidfd variant when a pidfd was
 * opened earlier (e.g. at client open).
 * Return: 0 or -errno, as uffd_watch_open_pidfd().
 */
int uffd_watch_open(struct event_base *base, pid_t pid, int client_uffd,
		    struct notifier_mm *nmm, struct mm_gate *gate,
		    const struct uffd_watch_ops *ops, void *arg,
		    struct uffd_watch **out);

/**
 * uffd_watch_open_pidfd - start watching the userfaultfd of the process behind @pidfd
 * @base:        the event loop
 * @pidfd:       a pidfd of the client (duplicated; the caller keeps its own)
 * @client_uffd: see uffd_watch_open()
 * @nmm:         see uffd_watch_open()
 * @gate:        see uffd_watch_open()
 * @ops:         see uffd_watch_open()
 * @arg:         see uffd_watch_open()
 * @out:         receives the watcher
 *
 * Pulls the fd (pidfd_getfd), checks it is a userfaultfd, makes it
 * non-blocking and enables EVENT_UNMAP, EVENT_REMOVE, EVENT_REMAP, plus
 * WP_HUGETLBFS_SHMEM when the kernel has it (registering shared memory:
 * memfd, shm, MAP_SHARED anonymous). EVENT_FORK is deliberately not
 * requested: see uffd_watch.c. The caller should tell the client to close
 * its own copy of the fd once this returns 0.
 * Return: 0; -ESRCH the client exited; -EBADF no such fd in the client;
 * -ENOTTY the fd is not a userfaultfd; -EINVAL the client already
 * initialised it (called UFFDIO_API); -EOPNOTSUPP the kernel lacks the
 * needed events; -EPERM not allowed (no CAP_SYS_PTRACE); -ENOMEM; -errno.
 */
int uffd_watch_open_pidfd(struct event_base *base, int pidfd, int client_uffd,
			  struct notifier_mm *nmm, struct mm_gate *gate,
			  const struct uffd_watch_ops *ops, void *arg,
			  struct uffd_watch **out);

/**
 * uffd_watch_close - stop watching and free @w
 * @w: the watcher, or NULL
 *
 * Closes the daemon's copy of the userfaultfd, which makes the kernel
 * drop every registration it made in the client. Handles still
 * registered are unlinked (later uffd_watch_unregister() on them does
 * nothing). Does not run a release invalidation.
 */
void uffd_watch_close(struct uffd_watch *w);

/**
 * uffd_watch_reg_init - prepare a handle for uffd_watch_register()
 * @r: the handle
 */
void uffd_watch_reg_init(struct uffd_watch_reg *r);

/**
 * uffd_watch_register - make sure events reach @nmm for [start, start + len - 1]
 * @w:     the watcher
 * @r:     the handle of this user range (registered or not)
 * @start: first address of the user range
 * @len:   its length in bytes
 *
 * Registers the whole VMAs covering the page-rounded range (never just the
 * range: that would split the client's VMAs). Idempotent: calling it again
 * with the same range answers from memory unless an UNMAP or REMAP event
 * hit the span since, in which case it registers what is mapped now
 * (after munmap/MAP_FIXED the new VMA at the address is not registered).
 * A different range moves the handle. On failure a registered handle stays
 * registered with its old span.
 * Return: 0; -EINVAL len 0 or memory userfaultfd cannot watch (a
 * regular-file mapping, PFN/IO mappings, shared memory without
 * WP_HUGETLBFS_SHMEM); -EOVERFLOW the range wraps; -EFAULT part of the
 * range is not mapped; -EBUSY the range is registered to another
 * userfaultfd (the client's own); -EPERM a shared mapping without write
 * access to its file; -ESRCH the client exited; -EAGAIN the mappings kept
 * changing under us; -errno.
 */
int uffd_watch_register(struct uffd_watch *w, struct uffd_watch_reg *r,
			uint64_t start, uint64_t len);

/**
 * uffd_watch_unregister - the user of @r no longer needs events
 * @w: the watcher
 * @r: a handle (not registered: nothing happens)
 *
 * Unregisters the parts of @r's span that no other registered handle's
 * span covers. Best effort: failures only leave memory registered, which
 * costs the client a little on munmap and filters out in the notifiers.
 */
void uffd_watch_unregister(struct uffd_watch *w, struct uffd_watch_reg *r);

/**
 * uffd_watch_features - the UFFD_FEATURE_* bits enabled on the userfaultfd
 * @w: the watcher
 */
uint64_t uffd_watch_features(const struct uffd_watch *w);

/**
 * uffd_watch_kernel_features - the UFFD_FEATURE_* bits this kernel offers
 * @features: receives them
 *
 * Probed once on a userfaultfd of our own: a failed UFFDIO_API leaves a
 * userfaultfd unusable, so the client's may only be asked for what exists.
 * Return: 0 or -errno.
 */
int uffd_watch_kernel_features(uint64_t *features);

/**
 * uffd_watch_pending - has the client's userfaultfd an event not read yet?
 * @w: the watcher
 *
 * Exec's final check (DESIGN.md §3): a job must not commit while an
 * event the loop has not handled yet is queued. Any thread; one poll().
 * Return: true if an event waits.
 */
bool uffd_watch_pending(struct uffd_watch *w);

/**
 * uffd_watch_get_stats - a snapshot of @w's counters
 * @w:  the watcher
 * @st: receives them (each counter read atomically, not all at once)
 */
void uffd_watch_get_stats(struct uffd_watch *w, struct uffd_watch_stats *st);

#endif
