/* SPDX-License-Identifier: MIT */
/*
 * Internals of the sim backend, the software GPU: engines are threads
 * (sim_engine.c) that run jobs from a queue each; a job executes the ISA
 * (sim_exec.c) whose every memory access goes through the VM's page
 * tables (sim_pt.c) in bounded chunks (sim_mem.c), reaching daemon
 * memory directly and a client's private memory through its DMA port.
 * sim.c holds the device, its VMs and the ops table.
 *
 * Locks, outer to inner:
 *   client gate (dma_port_enter)  one bounded access to a port's memory
 *   sim_vm.pt_lock (rwlock)        read: one bounded access through the
 *                                  PTEs; write: map/zap/port/handler
 *   sim_dev.lock (mutex)           queues, done list, job ids, VM refs
 * Both rwlocks prefer writers, so no thread takes either twice. The
 * engine thread holds no lock while it calls a VM's fault handler.
 */
#ifndef UGPU_DEV_SIM_INTERNAL_H
#define UGPU_DEV_SIM_INTERNAL_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "core/list.h"
#include "dev/dev.h"
#include "mm/dma_port.h"

_Static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__,
	       "the ISA is little-endian and the sim copies it as host words");

#define SIM_VA_BITS		48
#define SIM_NUM_ENGINES		2		/* 0: render, 1: copy */
#define SIM_QUEUE_DEPTH		64		/* default jobs per engine */
#define SIM_CHUNK		(1u << 20)	/* bytes per gate/page-table hold */
#define SIM_PORT_OP		(256u << 10)	/* one port transfer at most */
#define SIM_PORT_INFLIGHT	4		/* port transfers in flight */
#define SIM_MAX_OPS		32		/* port transfers per chunk phase */
#define SIM_KCHUNK		(64u << 10)	/* operand block of the kernels */
#define SIM_FETCH		4096u		/* batch prefetch window */
#define SIM_IDLE_SPIN_NS	50000u		/* engine polls this long after a job */

/* ---- page tables (sim_pt.c) ---- */

#define SIM_PTE_PRESENT		(1ull << 0)
#define SIM_PTE_WRITE		(1ull << 1)
#define SIM_PTE_PORT		(1ull << 2)	/* address is in the VM's port */
#define SIM_PTE_FLAGS		0xfffull

/*
 * A 4-level radix tree over a 48-bit VA space, 512 entries per table:
 * three levels of directories and a level of leaf tables of PTEs. A PTE
 * is a page-aligned address (daemon or client) ORed with SIM_PTE_*.
 */
struct sim_pt {
	uint64_t *root;
	uint64_t tables;	/* tables allocated, root included */
};

/**
 * struct sim_run - a translated stretch: contiguous GPU VAs onto
 * contiguous backing addresses with the same PTE flags
 * @addr:  backing address of the first byte
 * @len:   bytes
 * @flags: SIM_PTE_* of its pages
 */
struct sim_run {
	uint64_t addr;
	uint64_t len;
	uint64_t flags;
};

/**
 * sim_pt_init - an empty page table (just the root)
 * @pt: the table
 *
 * Return: 0 or -ENOMEM.
 */
int sim_pt_init(struct sim_pt *pt);

/**
 * sim_pt_fini - free every table of @pt
 * @pt: the table
 */
void sim_pt_fini(struct sim_pt *pt);

/**
 * sim_pt_map - point [va, va + size) at [addr, addr + size)
 * @pt:    the table
 * @va:    page-aligned, @size page-aligned, the range below 1 << SIM_VA_BITS
 * @size:  bytes
 * @addr:  page-aligned backing address
 * @flags: SIM_PTE_WRITE, SIM_PTE_PORT (PRESENT is added)
 *
 * Replaces what was mapped there. All or nothing.
 * Return: 0 or -ENOMEM.
 */
int sim_pt_map(struct sim_pt *pt, uint64_t va, uint64_t size, uint64_t addr,
	       uint64_t flags);

/**
 * sim_pt_zap - clear [va, va + size) (clamped to the VA space), freeing
 * the tables it covers whole
 * @pt:   the table
 * @va:   start
 * @size: bytes
 */
void sim_pt_zap(struct sim_pt *pt, uint64_t va, uint64_t size);

/**
 * sim_pt_lookup - the PTE of @va's page, 0 if none
 * @pt: the table
 * @va: any VA, also past the VA space
 */
uint64_t sim_pt_lookup(const struct sim_pt *pt, uint64_t va);

/**
 * sim_pt_run - translate the longest run from @va, at most @max bytes
 * @pt:    the table
 * @va:    first byte
 * @max:   > 0
 * @write: the access writes (needs SIM_PTE_WRITE)
 * @run:   receives the run
 * @fault_kind: receives DEV_FAULT_* when @va's own page is unusable
 *
 * Return: 0, or -EFAULT if the page of @va is not present (or past the
 * VA space) or read-only for a write.
 */
int sim_pt_run(const struct sim_pt *pt, uint64_t va, uint64_t max, bool write,
	       struct sim_run *run, uint32_t *fault_kind);

/* ---- device, VMs, jobs, engines ---- */

struct sim_dev;

struct sim_vm {
	struct dev_vm base;
	struct sim_dev *sd;
	pthread_rwlock_t pt_lock;	/* see the lock order above */
	struct sim_pt pt;		/* pt_lock */
	struct dma_port *port;		/* set once under pt_lock (write), ref held */
	dev_fault_fn fault_fn;		/* pt_lock */
	void *fault_priv;		/* pt_lock */
	unsigned int refs;		/* sd->lock: the creator's and one per job */
	bool dead;			/* sd->lock: destroyed, takes no jobs */
};

struct sim_job {
	struct list_node node;		/* sd->lock: engine queue, then done list */
	struct sim_vm *vm;		/* holds a VM reference */
	uint64_t batch_va;
	uint32_t batch_len;
	int abort;			/* atomic: 0, -ECANCELED, -EIO (reset) */
	struct dev_job_result res;
	struct dev_writeback *wb;	/* result write-back, or NULL */
	uint64_t wb_seqno;
};

struct sim_chunk;

struct sim_engine {
	struct sim_dev *sd;
	uint32_t idx;
	uint32_t class;			/* enum dev_engine_class */
	pthread_t thread;
	bool started;
	pthread_cond_t cond;		/* with sd->lock: queue, abort, stop */
	struct list_node queue;		/* sd->lock */
	unsigned int queued;		/* sd->lock: queued + running */
	struct sim_job *running;	/* sd->lock */
	bool stop;			/* sd->lock */
	unsigned int kicks;		/* atomic: bumped on every new job */
	/* Engine thread only: */
	struct dma_queue *dq;		/* NULL: port transfers run one by one */
	uint8_t *bounce;		/* SIM_CHUNK */
	uint8_t *kbuf;			/* 2 * SIM_KCHUNK kernel operands */
	uint32_t *fetch;		/* SIM_FETCH batch window */
	struct sim_chunk *cs;		/* per-chunk scratch of sim_mem.c */
};

struct sim_dev {
	struct dev base;
	pthread_mutex_t lock;		/* see the lock order above */
	struct list_node done;		/* sd->lock: finished, not reaped */
	uint64_t next_id;		/* sd->lock */
	struct sim_engine eng[SIM_NUM_ENGINES];
	struct dev_stats st;		/* atomic counters */
};

/**
 * struct sim_ctx - one job running on its engine thread
 * @eng, @job, @vm: where and what
 * @deadline: CLOCK_MONOTONIC ns at which the job hangs
 * @hung: the deadline passed (the job ends with -EIO, the engine resets)
 * @fault: the fault, when an access returned -EFAULT
 * @bytes_read, @bytes_written: through the page tables
 * @fetch_va, @fetch_len: what eng->fetch holds
 */
struct sim_ctx {
	struct sim_engine *eng;
	struct sim_job *job;
	struct sim_vm *vm;
	uint64_t deadline;
	bool hung;
	struct dev_fault fault;
	uint64_t bytes_read, bytes_written;
	uint64_t fetch_va;
	uint32_t fetch_len;
};

static inline void sim_stat_add(uint64_t *c, uint64_t v)
{
	__atomic_add_fetch(c, v, __ATOMIC_RELAXED);
}

/** sim_now_ns - CLOCK_MONOTONIC in nanoseconds, the sim's device clock */
uint64_t sim_now_ns(void);

/* ---- sim_engine.c ---- */

/**
 * sim_engines_start - set up and start every engine thread of @sd
 * @sd: the device
 *
 * Return: 0 or -errno (nothing left running).
 */
int sim_engines_start(struct sim_dev *sd);

/**
 * sim_engines_stop - abort running jobs, stop and free every engine
 * @sd: the device; queued jobs are dropped unreported
 */
void sim_engines_stop(struct sim_dev *sd);

/**
 * sim_engine_kick - tell @e a job was queued (sd->lock held)
 * @e: the engine
 */
void sim_engine_kick(struct sim_engine *e);

/**
 * sim_ctx_check - may the job go on?
 * @c: the running job
 *
 * Return: 0, its abort status (-ECANCELED, -EIO on reset), or -EIO with
 * c->hung set once its deadline has passed.
 */
int sim_ctx_check(struct sim_ctx *c);

/**
 * sim_ctx_sleep - sleep up to @ns, woken early by cancel, reset or stop
 * @c:  the running job
 * @ns: nanoseconds
 *
 * Return: sim_ctx_check() afterwards.
 */
int sim_ctx_sleep(struct sim_ctx *c, uint64_t ns);

/**
 * sim_job_done_locked - post @job's result (sd->lock held)
 * @sd:      the device
 * @job:     a job taken off its queue, res.status set
 * @free_vm: receives the VM to sim_vm_free() after unlocking, or NULL
 *
 * Call sim_signal_completion() after unlocking.
 */
void sim_job_done_locked(struct sim_dev *sd, struct sim_job *job, struct sim_vm **free_vm);

/**
 * sim_signal_completion - bump the completion eventfd (the interrupt)
 * @sd: the device
 */
void sim_signal_completion(struct sim_dev *sd);

/**
 * sim_vm_put_locked - drop a VM reference (sd->lock held)
 * @vm:      the VM
 * @free_vm: receives @vm if that was the last one, else NULL
 */
void sim_vm_put_locked(struct sim_vm *vm, struct sim_vm **free_vm);

/**
 * sim_vm_free - free a VM whose last reference is gone
 * @vm: the VM
 */
void sim_vm_free(struct sim_vm *vm);

/* ---- sim_mem.c: GPU memory accesses of a running job ---- */

/**
 * sim_mem_alloc - the per-engine buffers of the memory path
 * @e: the engine
 *
 * Return: 0 or -ENOMEM.
 */
int sim_mem_alloc(struct sim_engine *e);

/**
 * sim_mem_free - free what sim_mem_alloc() allocated
 * @e: the engine
 */
void sim_mem_free(struct sim_engine *e);

/**
 * sim_mem_read - read @len bytes at GPU VA @va into @buf
 * @c:   the running job
 * @va:  GPU VA
 * @buf: engine memory
 * @len: bytes, 0 touches nothing
 *
 * Like the other sim_mem_*() calls: bounded chunks, each inside the VM's
 * port gate and page-table read lock; a fault goes to the VM's fault
 * handler if it has one.
 * Return: 0, -EFAULT (c->fault set), -EIO (hang or reset), -ECANCELED.
 */
int sim_mem_read(struct sim_ctx *c, uint64_t va, void *buf, uint64_t len);

/**
 * sim_mem_write - write @len bytes of @buf at GPU VA @va
 * @c: the running job; @va, @buf, @len as for sim_mem_read()
 *
 * Return: as sim_mem_read().
 */
int sim_mem_write(struct sim_ctx *c, uint64_t va, const void *buf, uint64_t len);

/**
 * sim_mem_fill - FILL: @len bytes at @va with @pattern repeated from @va
 * @c: the running job; @va, @len as for sim_mem_read(); @pattern: 32 bits
 *
 * Return: as sim_mem_read().
 */
int sim_mem_fill(struct sim_ctx *c, uint64_t va, uint64_t len, uint32_t pattern);

/**
 * sim_mem_copy - COPY: @len bytes from @src to @dst (not overlapping)
 * @c: the running job; @dst, @src: GPU VAs; @len: bytes
 *
 * Return: as sim_mem_read(); the fault is the lowest failing offset.
 */
int sim_mem_copy(struct sim_ctx *c, uint64_t dst, uint64_t src, uint64_t len);

/**
 * sim_exec_batch - run c->job's batch
 * @c: the running job
 *
 * Return: 0 or the job status (see uapi/ugpu_isa.h, "Job status").
 */
int sim_exec_batch(struct sim_ctx *c);

/**
 * sim_crc32c - continue a CRC32C over @len bytes at @buf
 * @crc: running value (start with 0xffffffff, invert the final one)
 * @buf: bytes
 * @len: how many
 */
uint32_t sim_crc32c(uint32_t crc, const void *buf, uint64_t len);

extern const struct dev_ops sim_dev_ops;

#endif
