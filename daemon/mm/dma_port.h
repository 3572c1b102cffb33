/* SPDX-License-Identifier: MIT */
/*
 * The DMA port of one client: how the device reaches that client's
 * private memory (anonymous or private-file mappings, which no other
 * process can map), like an SVA device walking the process's page
 * tables. Safe by construction (DESIGN.md §2): every transfer goes
 * through file descriptors bound to the client's mm at open, never
 * through its pid, so nothing can reach another process after the
 * client exits and its pid is reused, or after it execs; and GPU writes
 * respect the client's current protections. Transfers run one bounded
 * chunk at a time inside the client's invalidation gate, and several can
 * be in flight at once on an io_uring queue. The mechanisms and the
 * measurements behind them are described in dma_port.c.
 */
#ifndef UGPU_MM_DMA_PORT_H
#define UGPU_MM_DMA_PORT_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "mm/gate.h"

/* Largest transfer done under one gate_enter() by the simple calls. */
#define DMA_PORT_CHUNK		(256u * 1024)

struct dma_port;
struct dma_queue;

/**
 * struct dma_op - one transfer between daemon memory and the client
 * @addr:  client address
 * @buf:   daemon buffer
 * @len:   bytes
 * @write: 0 reads the client into @buf, 1 writes @buf to the client
 * @done:  out: bytes transferred, contiguous from @addr
 * @err:   out: 0 when @done == @len, else why it stopped at @addr + @done:
 *         -EFAULT (nothing mapped there), -EACCES (the client's
 *         protection forbids it), -ESRCH (the client's address space is
 *         gone), -ETIME (deadline passed, transfer cancelled), -errno
 */
struct dma_op {
	uint64_t addr;
	void *buf;
	uint32_t len;
	uint32_t write;
	uint32_t done;
	int32_t err;
};

/**
 * struct dma_port_stats - counters of one port
 * @bytes_read, @bytes_written: transferred
 * @ops_sync, @ops_async: transfers done on the caller's thread / queued
 * @vma_queries: permission lookups
 * @denied: transfers stopped by a protection or a hole
 */
struct dma_port_stats {
	uint64_t bytes_read, bytes_written;
	uint64_t ops_sync, ops_async;
	uint64_t vma_queries;
	uint64_t denied;
};

/**
 * dma_port_open - open the port of client @pid
 * @pid:   the client's pid, as the daemon sees it
 * @pidfd: a pidfd of the client opened earlier, or -1. If given, the
 *         port is verified to be bound to that very process (not a later
 *         one reusing @pid): the open fails with -ESRCH if it exited.
 * @gate:  the client's invalidation gate, or NULL for none (tests)
 * @out:   receives the port, holding one reference
 *
 * Needs ptrace-attach rights over the client (the daemon's CAP_SYS_PTRACE).
 * Return: 0, -ESRCH (no such process or it exited), -EACCES/-EPERM, -ENOMEM.
 */
int dma_port_open(pid_t pid, int pidfd, struct mm_gate *gate, struct dma_port **out);

/**
 * dma_port_get - take a reference
 * @p: the port
 *
 * Return: @p.
 */
struct dma_port *dma_port_get(struct dma_port *p);

/**
 * dma_port_put - drop a reference; the last one closes the port
 * @p: the port, or NULL
 */
void dma_port_put(struct dma_port *p);

/**
 * dma_port_on_release - call @fn(@arg) once the port is closed
 * @p:   the port
 * @fn:  called after the last reference was dropped, from the thread
 *       that dropped it (possibly an engine thread)
 * @arg: passed to @fn
 *
 * For an owner whose gate the port uses: the gate must outlive every
 * access, and the last access may come from a VM still draining a job.
 */
void dma_port_on_release(struct dma_port *p, void (*fn)(void *arg), void *arg);

/**
 * dma_port_enter - begin one bounded access: gate_enter() on the gate
 * @p: the port
 *
 * Blocks while an invalidation holds the gate. Never call it twice on
 * one thread without dma_port_leave() in between (the gate prefers
 * writers, so a nested enter deadlocks behind a waiting invalidation).
 * Return: 0, or -ESRCH once the client is gone (gate killed).
 */
int dma_port_enter(struct dma_port *p);

/**
 * dma_port_leave - end the access begun by dma_port_enter()
 * @p: the port
 */
void dma_port_leave(struct dma_port *p);

/**
 * dma_port_io - run @n transfers, several in flight, and wait for all
 * @p:   the port; the caller is inside dma_port_enter()
 * @q:   the caller's queue (one per thread), or NULL to run them one by
 *       one on the calling thread
 * @ops: the transfers; @done and @err are filled in
 * @n:   how many
 * @deadline_ns: CLOCK_MONOTONIC time after which transfers still in
 *       flight are cancelled (-ETIME), or 0 for none
 *
 * Each transfer first checks the client's current protection of its
 * range (read or write permission), so it stops at the first byte the
 * client may not access that way. Keep the total bounded (a gate hold).
 * Return: 0 if every transfer completed, else the @err of the first
 * (lowest index) that did not.
 */
int dma_port_io(struct dma_port *p, struct dma_queue *q, struct dma_op *ops,
		unsigned int n, uint64_t deadline_ns);

/**
 * dma_port_read - read @len bytes of the client at @addr, chunk by chunk
 * @p:    the port; the caller is not inside the gate
 * @addr: client address
 * @buf:  destination
 * @len:  bytes
 * @done: if not NULL, receives the bytes read from @addr on
 *
 * Enters and leaves the gate around each DMA_PORT_CHUNK.
 * Return: 0 or the error of dma_op.err.
 */
int dma_port_read(struct dma_port *p, uint64_t addr, void *buf, size_t len, size_t *done);

/**
 * dma_port_write - write @len bytes to the client at @addr, chunk by chunk
 * @p:    the port; the caller is not inside the gate
 * @addr: client address
 * @buf:  source
 * @len:  bytes
 * @done: if not NULL, receives the bytes written from @addr on
 *
 * Return: 0 or the error of dma_op.err (-EACCES: not writable now).
 */
int dma_port_write(struct dma_port *p, uint64_t addr, const void *buf, size_t len,
		   size_t *done);

/**
 * dma_port_get_stats - snapshot of @p's counters
 * @p:  the port
 * @st: receives them
 */
void dma_port_get_stats(struct dma_port *p, struct dma_port_stats *st);

/**
 * dma_queue_create - an io_uring queue for one thread's transfers
 * @depth: transfers in flight at most (1..256)
 * @out:   receives the queue
 *
 * Return: 0, -EINVAL, -ENOMEM, or io_uring's -errno (e.g. -ENOSYS,
 * -EPERM where io_uring is disabled: then pass NULL to dma_port_io()).
 */
int dma_queue_create(unsigned int depth, struct dma_queue **out);

/**
 * dma_queue_destroy - free a queue with nothing in flight
 * @q: the queue, or NULL
 */
void dma_queue_destroy(struct dma_queue *q);

#endif
