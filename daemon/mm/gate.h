/* SPDX-License-Identifier: MIT */
/*
 * The invalidation gate of one client address space. The client's
 * munmap blocks only until the daemon *reads* its userfaultfd event, and
 * an UNMAP is queued after the pages are already gone, so the daemon must
 * shut device access to that client's memory before it reads, not after
 * (DESIGN.md §3, "gate before read"):
 *
 *   uffd readable -> gate_close_begin()   no exec may pass its final check
 *                 -> (bounded wait for the client's jobs, gate still open)
 *                 -> gate_lock()          waits out running accesses
 *                 -> read events, apply exact ranges to the notifiers
 *                 -> gate_unlock()        paused accesses go on
 *
 * Device side: every access to the client's private memory (one bounded
 * chunk) runs between gate_enter() and gate_leave(). Never wait for jobs
 * while holding the gate exclusively: they need it to finish.
 */
#ifndef UGPU_MM_GATE_H
#define UGPU_MM_GATE_H

#include <pthread.h>
#include <stdbool.h>

struct mm_gate {
	pthread_rwlock_t rw;	/* shared: one device access; exclusive: uffd reader */
	unsigned int closing;	/* atomic: readers between close_begin and unlock */
	bool dead;		/* set under rw exclusive: the client is gone */
};

/**
 * gate_init - set up an open gate
 * @g: the gate
 *
 * Return: 0 or -errno.
 */
int gate_init(struct mm_gate *g);

/**
 * gate_destroy - free @g; nobody may be inside
 * @g: the gate
 */
void gate_destroy(struct mm_gate *g);

/**
 * gate_enter - start one bounded device access to the client's memory
 * @g: the gate
 *
 * Blocks while the gate is held exclusively (a reader applies events).
 * Return: 0, or -ESRCH once the client is gone (nothing was entered).
 */
int gate_enter(struct mm_gate *g);

/**
 * gate_leave - end the access begun with gate_enter()
 * @g: the gate
 */
void gate_leave(struct mm_gate *g);

/**
 * gate_close_begin - step 1: an event is pending, stop new commits
 * @g: the gate
 */
void gate_close_begin(struct mm_gate *g);

/**
 * gate_lock - step 3: take the gate exclusively (after gate_close_begin)
 * @g: the gate
 */
void gate_lock(struct mm_gate *g);

/**
 * gate_unlock - step 4: reopen the gate taken with gate_lock()
 * @g: the gate
 */
void gate_unlock(struct mm_gate *g);

/**
 * gate_closing - exec's final check: is an invalidation pending or running?
 * @g: the gate
 *
 * Call under the notifier user lock; true means do not commit, retry.
 */
bool gate_closing(struct mm_gate *g);

/**
 * gate_kill - the client is gone: waits out running accesses, then every
 * later gate_enter() fails with -ESRCH
 * @g: the gate
 */
void gate_kill(struct mm_gate *g);

#endif
