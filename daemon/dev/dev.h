/* SPDX-License-Identifier: MIT */
/*
 * The device layer: one ops table that every GPU backend implements (sim,
 * the software GPU that is the default; vfio and edu later), and the
 * dev_*() calls the driver core uses, which check their arguments once
 * and dispatch. A device has engines that run batches of the ISA in
 * uapi/ugpu_isa.h inside a VM (per-VM page tables mapping GPU VAs onto
 * backing memory), reports completions through an eventfd (the
 * "interrupt") and per-job results, and reports faults with VA and kind.
 * The device knows nothing of clients or userptr: a backing is either
 * daemon host memory or "a client memory port" (mm/dma_port.h).
 *
 * Contract for callers:
 *  - dev_vm_map() and dev_vm_zap() may run while jobs run. When either
 *    returns, no access through the old translation of the range is in
 *    progress and none will start: a running job sees the change at its
 *    next page lookup (a zapped page faults, or goes to the VM's fault
 *    handler).
 *  - Completion: read the eventfd (dev->completion_fd, non-blocking) to
 *    clear it, then dev_reap() until it returns 0.
 *  - Everything here may be called from any thread except where noted;
 *    nothing blocks for longer than one bounded device access.
 */
#ifndef UGPU_DEV_DEV_H
#define UGPU_DEV_DEV_H

#include <stdbool.h>
#include <stdint.h>

struct dma_port;

#define DEV_MAX_ENGINES		8
#define DEV_PAGE_SIZE		4096u
#define DEV_HANG_TIMEOUT_DEFAULT_NS	(2ull * 1000 * 1000 * 1000)

enum dev_engine_class {
	DEV_ENGINE_RENDER = 0,	/* every opcode */
	DEV_ENGINE_COPY = 1,	/* no arithmetic kernels */
};

/* Bits of dev_caps.features. */
#define DEV_FEATURE_PORT	(1ull << 0)	/* maps DEV_BACKING_PORT directly */
#define DEV_FEATURE_FAULT_HANDLER (1ull << 1)	/* recoverable faults (fault mode) */

/**
 * struct dev_caps - what a device is, filled at open and constant after
 * @backend:      backend name, NUL-terminated ("sim")
 * @num_engines:  engines 0..num_engines-1
 * @engine_class: enum dev_engine_class of each engine
 * @va_bits:      each VM spans [0, 1 << va_bits)
 * @page_size:    mapping granularity (DEV_PAGE_SIZE)
 * @queue_depth:  jobs one engine accepts (queued + running)
 * @features:     DEV_FEATURE_*
 * @hang_timeout_ns: per-job time limit in effect
 */
struct dev_caps {
	char backend[16];
	uint32_t num_engines;
	uint32_t engine_class[DEV_MAX_ENGINES];
	uint32_t va_bits;
	uint32_t page_size;
	uint32_t queue_depth;
	uint64_t features;
	uint64_t hang_timeout_ns;
};

/**
 * struct dev_config - how to open a device
 * @hang_timeout_ns: per-job time limit; 0 means DEV_HANG_TIMEOUT_DEFAULT_NS
 * @queue_depth:     jobs per engine; 0 means the backend default
 * @arg:             backend argument (the part after ':' in "vfio:<BDF>"),
 *                   set by dev_open(); NULL if none
 */
struct dev_config {
	uint64_t hang_timeout_ns;
	uint32_t queue_depth;
	const char *arg;
};

enum dev_backing_kind {
	DEV_BACKING_HOST = 1,	/* daemon memory: BOs, mmapped shared memfds */
	DEV_BACKING_PORT = 2,	/* a client's private memory behind its port */
};

/**
 * struct dev_backing - what a mapped GPU VA range points to
 * @kind: enum dev_backing_kind
 * @host: HOST: page-aligned daemon address of the range's first page; the
 *        memory must stay valid until the range is zapped or the VM is
 *        destroyed
 * @port: PORT: the client memory port (the VM takes a reference). HOST:
 *        optional; set when the daemon memory is a client's (a shared
 *        file it mapped), so that accesses to it also pass that client's
 *        invalidation gate. A VM reaches at most one port, like a PASID
 *        bound to one mm.
 * @addr: PORT: page-aligned client address of the range's first page
 */
struct dev_backing {
	uint32_t kind;
	void *host;
	struct dma_port *port;
	uint64_t addr;
};

/* dev_vm_map() flags. Mappings are always readable. */
#define DEV_MAP_WRITE		(1u << 0)

enum dev_fault_kind {
	DEV_FAULT_NONE = 0,
	DEV_FAULT_NOT_PRESENT = 1,	/* no mapping (PTE or client memory) */
	DEV_FAULT_WRITE_RO = 2,		/* write to read-only memory */
};

/* dev_fault.flags */
#define DEV_FAULT_F_WRITE	(1u << 0)	/* the access was a write */
#define DEV_FAULT_F_BACKING	(1u << 1)	/* the PTE was fine; the client
						   memory behind it was not */

/**
 * struct dev_fault - one GPU page fault
 * @va:     first faulting byte
 * @kind:   enum dev_fault_kind
 * @flags:  DEV_FAULT_F_*
 * @job_id: the job that faulted
 * @engine: its engine
 */
struct dev_fault {
	uint64_t va;
	uint32_t kind;
	uint32_t flags;
	uint64_t job_id;
	uint32_t engine;
};

/**
 * struct dev_job_result - a finished job, from dev_reap()
 * @id:     the id dev_submit() returned
 * @user:   the submitter's cookie
 * @status: 0, -EFAULT, -EINVAL, -EIO (hang/reset), -ECANCELED
 * @engine: where it ran
 * @fault:  the fault if @status is -EFAULT, else zero
 * @submit_ns, @start_ns, @end_ns: CLOCK_MONOTONIC; @start_ns is 0 if the
 *          job never started (cancelled while queued)
 */
struct dev_job_result {
	uint64_t id;
	uint64_t user;
	int32_t status;
	uint32_t engine;
	struct dev_fault fault;
	uint64_t submit_ns, start_ns, end_ns;
};

/**
 * struct dev_writeback - a job's result written to memory at its end,
 * like a GPU's fence write-back: @status first, then @seqno with release
 * order, before the completion interrupt
 * @seqno:  the submit's @wb_seqno
 * @status: the job's status
 * @pad:    untouched
 */
struct dev_writeback {
	uint64_t seqno;
	int32_t status;
	uint32_t pad;
};

/**
 * struct dev_submit - one job
 * @vm:        the VM the batch runs in
 * @engine:    engine index
 * @batch_len: bytes, a non-zero multiple of 4
 * @batch_va:  GPU VA of the first command, 4-byte aligned
 * @user:      cookie returned in the result
 * @wb:        if not NULL, where the job's result is written when it ends
 *             (however it ends); must stay valid until the job is reaped
 * @wb_seqno:  the value written to @wb->seqno
 */
struct dev_submit {
	struct dev_vm *vm;
	uint32_t engine;
	uint32_t batch_len;
	uint64_t batch_va;
	uint64_t user;
	struct dev_writeback *wb;
	uint64_t wb_seqno;
};

/**
 * struct dev_stats - counters since open
 * @jobs_submitted, @jobs_completed (status 0), @jobs_failed (any other),
 * @jobs_cancelled (also counted in @jobs_failed), @faults, @hangs (time
 * limit), @resets (engine resets, after hangs or dev_reset_engine()),
 * @bytes_read, @bytes_written: through the page tables, @engine_jobs and
 * @engine_busy_ns per engine.
 */
struct dev_stats {
	uint64_t jobs_submitted, jobs_completed, jobs_failed, jobs_cancelled;
	uint64_t faults, hangs, resets;
	uint64_t bytes_read, bytes_written;
	uint64_t engine_jobs[DEV_MAX_ENGINES];
	uint64_t engine_busy_ns[DEV_MAX_ENGINES];
};

struct dev;
struct dev_vm;

/**
 * typedef dev_fault_fn - a fault-mode VM's fault handler
 * @vm:   the VM
 * @priv: the pointer given to dev_vm_set_fault_handler()
 * @f:    the fault
 *
 * Called from the engine thread that faulted, with no device lock held,
 * so it may call dev_vm_map() (and sleep, bounded: the job's time limit
 * keeps running). Return 0 after fixing the mapping to retry the access,
 * or a negative errno to fail the job with -EFAULT. A handler that
 * returns 0 without making progress is retried a few times, then the job
 * fails.
 */
typedef int (*dev_fault_fn)(struct dev_vm *vm, void *priv, const struct dev_fault *f);

/**
 * struct dev_ops - what a backend implements. dev.c checks every argument
 * described in the dev_*() wrappers below before calling in.
 */
struct dev_ops {
	const char *name;
	int (*open)(const struct dev_config *cfg, struct dev **out);
	void (*close)(struct dev *d);
	int (*vm_create)(struct dev *d, struct dev_vm **out);
	void (*vm_destroy)(struct dev_vm *vm);
	void (*vm_set_fault_handler)(struct dev_vm *vm, dev_fault_fn fn, void *priv);
	int (*vm_map)(struct dev_vm *vm, uint64_t va, uint64_t size,
		      const struct dev_backing *b, uint32_t flags);
	int (*vm_zap)(struct dev_vm *vm, uint64_t va, uint64_t size);
	int (*submit)(struct dev *d, const struct dev_submit *s, uint64_t *job_id);
	int (*reap)(struct dev *d, struct dev_job_result *res, unsigned int max);
	int (*cancel)(struct dev *d, uint64_t job_id);
	int (*reset_engine)(struct dev *d, uint32_t engine);
	void (*get_stats)(struct dev *d, struct dev_stats *st);
};

/**
 * struct dev - the part of a device every backend embeds first
 * @ops:           its backend
 * @caps:          capabilities, constant after open
 * @completion_fd: eventfd, readable when results wait in dev_reap()
 */
struct dev {
	const struct dev_ops *ops;
	struct dev_caps caps;
	int completion_fd;
};

/**
 * struct dev_vm - the part of a VM every backend embeds first
 * @dev: the device it belongs to
 */
struct dev_vm {
	struct dev *dev;
};

/**
 * dev_backend_find - look up a backend by name
 * @name: "sim", ...
 *
 * Return: the ops table, or NULL.
 */
const struct dev_ops *dev_backend_find(const char *name);

/**
 * dev_open - open a device
 * @spec: "<backend>" or "<backend>:<arg>" (e.g. "sim", "vfio:0000:00:04.0");
 *        NULL means "sim"
 * @cfg:  options, or NULL for defaults; @cfg->arg is ignored (taken
 *        from @spec)
 * @out:  receives the device
 *
 * Return: 0, -ENODEV (no such backend), -EINVAL, or the backend's -errno.
 */
int dev_open(const char *spec, const struct dev_config *cfg, struct dev **out);

/**
 * dev_close - stop the engines (running jobs are abandoned) and free @d
 * @d: the device; every VM must have been destroyed. NULL is ignored.
 */
void dev_close(struct dev *d);

/**
 * dev_vm_create - a new, empty GPU address space
 * @d:   the device
 * @out: receives the VM
 *
 * Return: 0 or -ENOMEM.
 */
int dev_vm_create(struct dev *d, struct dev_vm **out);

/**
 * dev_vm_destroy - cancel @vm's jobs, unmap everything, drop the VM
 * @vm: the VM, or NULL
 *
 * Queued jobs complete with -ECANCELED; a running one stops at its next
 * check and completes with -ECANCELED. When this returns the device no
 * longer accesses anything @vm mapped.
 */
void dev_vm_destroy(struct dev_vm *vm);

/**
 * dev_vm_set_fault_handler - make @vm a fault-mode VM (or not, @fn NULL)
 * @vm:   the VM
 * @fn:   handler, see dev_fault_fn
 * @priv: passed to @fn
 *
 * Return: 0, or -EOPNOTSUPP without DEV_FEATURE_FAULT_HANDLER.
 */
int dev_vm_set_fault_handler(struct dev_vm *vm, dev_fault_fn fn, void *priv);

/**
 * dev_vm_map - map [va, va + size) onto @b, replacing what was there
 * @vm:    the VM
 * @va:    page-aligned GPU VA
 * @size:  page-aligned, non-zero; the range must lie below 1 << va_bits
 * @b:     the backing; host pointers and client addresses page-aligned
 * @flags: DEV_MAP_*
 *
 * All or nothing: on error no PTE changed.
 * Return: 0, -EINVAL (arguments), -EOVERFLOW (a range wraps), -ENOMEM,
 * -EOPNOTSUPP (a PORT backing without DEV_FEATURE_PORT), -EBUSY (@vm
 * already reaches another port, through a PORT or a HOST backing).
 */
int dev_vm_map(struct dev_vm *vm, uint64_t va, uint64_t size,
	       const struct dev_backing *b, uint32_t flags);

/**
 * dev_vm_zap - unmap [va, va + size); a GPU access there then faults
 * @vm:   the VM
 * @va:   page-aligned GPU VA
 * @size: page-aligned, non-zero, below 1 << va_bits
 *
 * Safe while jobs run (see the contract above); waits at most for one
 * bounded access in progress. Pages that were not mapped are ignored.
 * Return: 0 or -EINVAL.
 */
int dev_vm_zap(struct dev_vm *vm, uint64_t va, uint64_t size);

/**
 * dev_submit - queue a job on an engine; engines run their jobs in order
 * @d:      the device
 * @s:      the job
 * @job_id: receives its id (unique, increasing, never 0)
 *
 * Return: 0, -EINVAL (engine, VM of another device, batch alignment or
 * range), -ENOSPC (the engine's queue is full), -ENOMEM.
 */
int dev_submit(struct dev *d, const struct dev_submit *s, uint64_t *job_id);

/**
 * dev_reap - take up to @max finished jobs' results, oldest first
 * @d:   the device
 * @res: receives the results
 * @max: room in @res
 *
 * Return: how many were stored (0 if none).
 */
int dev_reap(struct dev *d, struct dev_job_result *res, unsigned int max);

/**
 * dev_cancel - cancel a queued or running job
 * @d:      the device
 * @job_id: the job
 *
 * A queued job completes with -ECANCELED at once; a running one at its
 * next check (between commands and bounded chunks). The result is
 * reaped as usual.
 * Return: 0, or -ENOENT if the job already finished (or never existed).
 */
int dev_cancel(struct dev *d, uint64_t job_id);

/**
 * dev_reset_engine - reset an engine: its running job ends with -EIO
 * @d:      the device
 * @engine: engine index
 *
 * Queued jobs stay queued and run after the reset.
 * Return: 0 or -EINVAL.
 */
int dev_reset_engine(struct dev *d, uint32_t engine);

/**
 * dev_get_stats - a snapshot of @d's counters
 * @d:  the device
 * @st: receives them
 */
void dev_get_stats(struct dev *d, struct dev_stats *st);

/**
 * dev_wait_completion - wait until @d's completion eventfd fires, clear it
 * @d:          the device
 * @timeout_ms: poll() timeout; -1 waits forever
 *
 * For tools and tests; the daemon's loop watches the fd itself.
 * Return: 1 fired, 0 timed out, -errno.
 */
int dev_wait_completion(struct dev *d, int timeout_ms);

#endif
