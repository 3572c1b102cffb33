// SPDX-License-Identifier: MIT
/*
 * The invalidation gate: a writer-preferring rwlock (a pending reader of
 * the userfaultfd must not starve behind a stream of device accesses)
 * plus a counter that exec's final check reads without blocking.
 */
#include <errno.h>

#include "mm/gate.h"

int gate_init(struct mm_gate *g)
{
	pthread_rwlockattr_t a;
	int ret;

	ret = pthread_rwlockattr_init(&a);
	if (ret)
		return -ret;
	pthread_rwlockattr_setkind_np(&a, PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP);
	ret = pthread_rwlock_init(&g->rw, &a);
	pthread_rwlockattr_destroy(&a);
	if (ret)
		return -ret;
	g->closing = 0;
	g->dead = false;
	return 0;
}

void gate_destroy(struct mm_gate *g)
{
	pthread_rwlock_destroy(&g->rw);
}

int gate_enter(struct mm_gate *g)
{
	pthread_rwlock_rdlock(&g->rw);
	if (g->dead) {
		pthread_rwlock_unlock(&g->rw);
		return -ESRCH;
	}
	return 0;
}

void gate_leave(struct mm_gate *g)
{
	pthread_rwlock_unlock(&g->rw);
}

void gate_close_begin(struct mm_gate *g)
{
	/* Pairs with the load in gate_closing(). */
	__atomic_add_fetch(&g->closing, 1, __ATOMIC_SEQ_CST);
}

void gate_lock(struct mm_gate *g)
{
	pthread_rwlock_wrlock(&g->rw);
}

void gate_unlock(struct mm_gate *g)
{
	pthread_rwlock_unlock(&g->rw);
	__atomic_sub_fetch(&g->closing, 1, __ATOMIC_SEQ_CST);
}

bool gate_closing(struct mm_gate *g)
{
	return __atomic_load_n(&g->closing, __ATOMIC_SEQ_CST) != 0;
}

void gate_kill(struct mm_gate *g)
{
	pthread_rwlock_wrlock(&g->rw);
	g->dead = true;
	pthread_rwlock_unlock(&g->rw);
}
