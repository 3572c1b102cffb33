/* SPDX-License-Identifier: MIT */
/*
 * Internals of the driver core (daemon/gpu): clients, VMs, BOs, userptr
 * objects and jobs, and the locks between them. Locking, after the
 * VM_BIND locking recipe:
 *
 *   loop thread      every ioctl, completions, uffd events, client exit
 *   engine threads   the fault handler of fault-mode VMs
 *
 *   vm->lock             the VA layout (va_space), the VM's userptr list,
 *                        page-table updates of binds and revalidation.
 *                        Taken by binds, exec and the fault handler; never
 *                        by the invalidate callback.
 *   vm->notifier_lock    (rwlock) write: the invalidate callback around
 *                        notifier_set_seq(), up->valid, vm->invalidated;
 *                        read: exec's final check and revalidation commit.
 *   client->vma_lock     queries of the client's mappings.
 *
 * Order: vm->lock -> vm->notifier_lock -> client->vma_lock. The
 * invalidate callback runs inside the client's gate (held exclusively),
 * takes only vm->notifier_lock, and waits for nothing but the bounded
 * device access dev_vm_zap() may have to let finish.
 */
#ifndef UGPU_GPU_GPU_INTERNAL_H
#define UGPU_GPU_GPU_INTERNAL_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "core/fence.h"
#include "core/handle.h"
#include "core/list.h"
#include "core/notifier.h"
#include "dev/dev.h"
#include "gpu/gpu.h"
#include "gpu/va_space.h"
#include "mm/gate.h"
#include "mm/uffd_watch.h"
#include "mm/vma.h"

struct event;
struct gpu_job_dep;
struct gpu_bind_job;
struct work_pool;
struct dma_port;

#define GPU_PAGE		4096ull
#define GPU_FENCE_RING		4096u	/* job fences a client can still wait on */
#define GPU_ENGINE_DEPTH	2u	/* jobs per engine handed to the device */
#define GPU_EXEC_RETRIES	8u	/* revalidation rounds before -EAGAIN */

/* Default quotas. */
#define GPU_DEF_MAX_VMS		64
#define GPU_DEF_MAX_BOS		4096
#define GPU_DEF_MAX_USERPTRS	(1u << 17)
#define GPU_DEF_MAX_BOUND	(64ull << 30)
#define GPU_DEF_MAX_BO_BYTES	(4ull << 30)
#define GPU_DEF_MAX_INFLIGHT	1024
#define GPU_DEF_MAX_SYNCOBJS	4096

struct gpu_counters {
	uint64_t jobs_submitted, jobs_completed, jobs_failed;
	uint64_t invalidations, exec_retries;
};

struct gpu_engine {
	struct list_node ready;		/* clients with queued jobs here, round-robin */
	unsigned int in_device;		/* jobs handed to the device */
};

struct gpu {
	struct event_base *base;
	struct dev *dev;
	struct event *completion_ev;
	struct gpu_limits limits;	/* defaults filled in */
	struct list_node clients;	/* of gpu_client.link */
	struct list_node mms;		/* of gpu_mm.link */
	struct list_node running;	/* jobs in the device (client may be gone) */
	struct gpu_engine engines[DEV_MAX_ENGINES];
	bool stopping;			/* SIGTERM: no new work */
	/* Objects alive, all clients (API.md `ugpuctl status`). */
	uint64_t nclients, nvms, nbos, nuserptrs, bound_bytes;
	struct gpu_counters c;		/* device-wide totals */
	struct work_pool *workers;	/* large copies off the loop thread */
};

/* A request the core answers later (fence wait, exec behind an event). */
struct gpu_parked {
	struct list_node link;		/* on client->parked */
	struct gpu_client *client;
	struct front_req *req;
	void *data;			/* the ioctl struct, in/out */
	unsigned int cmd;
	pid_t caller;
	struct event *timer;		/* deadline or retry */
	struct fence *fence;		/* waited on, with cb */
	struct fence_cb cb;
	unsigned int tries;		/* exec: rounds so far */
	/* Whoever will answer this request (a queued bind, a copy on a
	 * worker) is told when it goes away first (interrupt, release). */
	void (*detach)(struct gpu_parked *p);
	void *owner;
};

/*
 * A client's completion page, mapped in the daemon; the device writes job
 * results into it, so it lives until the client and every job of it that
 * reached the device are gone.
 */
struct gpu_cpage {
	unsigned int refs;
	struct ugpu_completion_layout *page;
};

void gpu_cpage_put(struct gpu_cpage *cp);

/* The address space of one client process, shared by its clients. */
struct gpu_mm {
	struct gpu *gpu;
	struct list_node link;		/* on gpu->mms */
	unsigned int refs;		/* clients */
	pid_t pid;
	int pidfd;			/* pins the process */
	int procfd;			/* /proc/<pid>, checked against pidfd */
	struct event *exit_ev;		/* pidfd readable: the process exited */
	bool exited;
	struct notifier_mm nmm;
	struct mm_gate gate;
	struct uffd_watch *watch;	/* NULL: no userptr */
	struct dma_port *port;		/* NULL until first needed */
	pthread_mutex_t vma_lock;
	struct vma_src vmas;		/* maps fd, -1 until opened; under vma_lock */
};

struct gpu_client {
	struct gpu *gpu;
	unsigned int refs;		/* the open file + copies on workers */
	struct list_node link;		/* on gpu->clients */
	struct gpu_mm *mm;
	pid_t pid;			/* the opener (a process id) */
	uid_t uid;
	gid_t gid;
	bool counted;			/* did real work: a client in stats */
	struct handle_table vms, bos, syncobjs;
	/* Job fences by seqno: fences[seqno % GPU_FENCE_RING]. */
	uint64_t last_seqno;
	struct fence *fences[GPU_FENCE_RING];
	/* Scheduler: jobs waiting for the device, per engine. */
	struct list_node queued[DEV_MAX_ENGINES];
	struct list_node ready_link[DEV_MAX_ENGINES];
	struct list_node waiting;	/* jobs waiting on in-fences or a retry */
	unsigned int inflight;		/* submitted, not completed */
	struct list_node parked;	/* of gpu_parked */
	struct gpu_cpage *cpage;	/* the client's completion page, or NULL */
	/* Accounting (quotas and `ugpuctl clients`). */
	uint64_t bound_bytes, bo_bytes, nuserptrs;
	struct gpu_counters c;
};

struct gpu_vm {
	struct gpu_client *client;
	uint32_t id;
	uint32_t flags;			/* UGPU_VM_CREATE_* */
	unsigned int refs;		/* handle + jobs */
	pthread_mutex_t lock;		/* vm->lock, see above */
	pthread_rwlock_t notifier_lock;	/* userptr_notifier_lock */
	struct va_space va;		/* under lock */
	struct dev_vm *dvm;
	struct list_node userptrs;	/* all userptrs; under lock */
	struct list_node invalidated;	/* under notifier_lock (write) */
	struct list_node checked;	/* userptrs re-checked at exec; under lock */
	struct list_node bind_queue;	/* of gpu_bind_job, in submission order */
	/* Jobs committed and not done, in commit order (loop thread). */
	struct list_node inflight;
	uint64_t commit_seq;		/* jobs committed so far */
	bool dead;			/* destroyed: jobs drain, no new binds */
};

enum gpu_obj_kind { GPU_OBJ_BO = 1, GPU_OBJ_USERPTR = 2 };

/* What a va_mapping points to: both object kinds start with this. */
struct gpu_obj {
	enum gpu_obj_kind kind;
};

struct gpu_bo {
	struct gpu_obj obj;
	struct gpu_client *client;
	uint32_t id;
	unsigned int refs;		/* handle + mappings */
	uint64_t size;
	void *mem;			/* daemon mapping, size bytes */
	bool imported;			/* a client memfd */
};

/* One registered client range of a userptr. */
struct gpu_up_reg {
	struct uffd_watch_reg reg;
	uint64_t start, len;
	bool linked;			/* registered (else unwatchable memory) */
};

/* One piece of a userptr's client range and how the device reaches it. */
struct gpu_up_seg {
	uint64_t off, len;		/* within the userptr */
	void *host;			/* shared: daemon mapping of it; else NULL (port) */
	size_t map_len;			/* of that mapping */
	bool writable;			/* the client may write it (at get-pages) */
	/* The client VMA it was found in, re-checked at exec when no
	 * userfaultfd event can tell us it changed (mprotect, files). */
	uint64_t vma_start, vma_end, vma_inode;
	uint32_t vma_prot;
};

struct gpu_userptr {
	struct gpu_obj obj;
	struct gpu_vm *vm;
	struct notifier notifier;	/* the client range */
	/* Registrations of the client ranges of its pieces (per VMA in a
	 * fault-mode VM); an array that never moves once registered. */
	struct gpu_up_reg *regs;
	unsigned int nregs;
	uint64_t addr, size;		/* client range */
	uint64_t va;			/* GPU VA of the bind; pieces lie inside */
	uint32_t flags;			/* UGPU_VM_BIND_FLAG_READONLY */
	unsigned int refs;		/* mappings (pieces) */
	bool valid;			/* PTEs current; under notifier_lock */
	uint64_t seq;			/* notifier seq of the pages mapped */
	/* vm->commit_seq at the last invalidation: jobs committed up to it
	 * may have seen the old pages; the userptr is not revalidated (new
	 * pages mapped) until they are done, so none of them ever reaches
	 * memory the client mapped after committing them. */
	uint64_t inval_commit;
	struct list_node inval_link;	/* on vm->invalidated */
	/* On vm->checked while valid with daemon-mapped shared pages that
	 * the client may mprotect (no event for that): their VMAs are
	 * re-checked at every exec. Under vm->lock. */
	struct list_node check_link;
	struct list_node vm_link;	/* on vm->userptrs */
	struct gpu_up_seg *segs;	/* under vm->lock */
	unsigned int nsegs;
};

/* A fence a job waits for before it can be queued. */
struct gpu_job_dep {
	struct fence_cb cb;
	struct gpu_job *job;
	struct fence *fence;
};

struct gpu_job {
	struct list_node link;		/* client->queued[engine], or gpu->running */
	struct gpu_client *client;	/* NULL once orphaned */
	struct gpu_vm *vm;		/* reference */
	struct fence *fence;
	uint64_t seqno;
	uint32_t engine;
	uint32_t batch_len;
	uint64_t batch_va;
	uint64_t dev_id;		/* 0 until handed to the device */
	uint64_t vm_seq;		/* commit order in the VM */
	struct gpu_cpage *cpage;	/* reference while in the device */
	struct list_node vm_link;	/* on vm->inflight once committed */
	/* Waiting for in-fences (on client->waiting), then for a clean check. */
	struct gpu_job_dep *deps;	/* in-fences (array, never moved once armed) */
	unsigned int ndeps;
	struct gpu_job_dep older;	/* an older job to finish first, if armed */
	unsigned int pending;		/* fences not signaled yet */
	struct event *retry_ev;
	unsigned int tries;
};

/* Parsed sync array of an exec or bind: fences to wait for, syncobjs to signal. */
struct gpu_sync_out {
	uint32_t handle;
	bool timeline;
	uint64_t value;
};

struct gpu_syncs {
	struct fence **in;
	unsigned int nin;
	struct gpu_sync_out *out;
	unsigned int nout;
};

/* core.c */
void gpu_schedule(struct gpu *g);
void gpu_parked_free(struct gpu_parked *p);
int gpu_park(struct gpu_client *cl, struct front_req *req, unsigned int cmd, void *data,
	     pid_t caller, struct gpu_parked **out);
int gpu_park_fence(struct gpu_client *cl, struct front_req *req, unsigned int cmd,
		   void *data, struct fence *f, int64_t abs_ns, fence_func_t fence_fn,
		   void (*timer_fn)(int, short, void *));

/* client.c */
int gpu_client_open(struct gpu *g, const struct front_caller *who, struct gpu_client **out);
void gpu_client_release(struct gpu_client *cl);
struct gpu_client *gpu_client_get(struct gpu_client *cl);
void gpu_client_put(struct gpu_client *cl);
int gpu_client_init(struct gpu_client *cl, const struct ugpu_client_init *in);
int gpu_client_completion_page(struct gpu_client *cl, const struct ugpu_completion_page *in);
int gpu_client_same_mm(struct gpu_client *cl, pid_t caller);
int gpu_client_port(struct gpu_client *cl, struct dma_port **out);
int gpu_client_read(struct gpu_client *cl, uint64_t addr, void *buf, size_t len);
int gpu_client_vma_find(struct gpu_client *cl, uint64_t addr, bool next,
			struct vma_info *out);
int gpu_quota(uint64_t have, uint64_t add, uint64_t max);

/* vm.c */
int gpu_vm_create(struct gpu_client *cl, uint32_t flags, uint32_t *id);
int gpu_vm_destroy(struct gpu_client *cl, uint32_t id);
struct gpu_vm *gpu_vm_lookup(struct gpu_client *cl, uint32_t id);
void gpu_vm_put(struct gpu_vm *vm);
int gpu_vm_bind(struct gpu_client *cl, pid_t caller, struct gpu_vm *vm,
		const struct ugpu_vm_bind_op *ops, unsigned int n);
int gpu_vm_bind_check(struct gpu_client *cl, pid_t caller, struct gpu_vm *vm,
		      const struct ugpu_vm_bind_op *ops, unsigned int n);

/* bind_queue.c */
int gpu_bindq_submit(struct gpu_client *cl, pid_t caller, struct gpu_vm *vm,
		     struct ugpu_vm_bind_op *ops, unsigned int n, struct gpu_syncs *s,
		     struct front_req *req, void *data);
void gpu_bindq_cancel(struct gpu_vm *vm);

void gpu_vm_teardown_all(struct gpu_client *cl);

/* bo.c */
int gpu_bo_create(struct gpu_client *cl, uint64_t size, uint32_t *id);
int gpu_bo_import(struct gpu_client *cl, const struct ugpu_bo_import *in, uint32_t *id);
int gpu_bo_destroy(struct gpu_client *cl, uint32_t id);
int gpu_bo_rw(struct gpu_client *cl, struct ugpu_bo_rw *rw, bool write,
	      struct front_req *req);
struct gpu_bo *gpu_bo_get(struct gpu_bo *bo);
void gpu_bo_put(struct gpu_bo *bo);
void gpu_bo_teardown_all(struct gpu_client *cl);

/* userptr.c */
int gpu_userptr_create(struct gpu_vm *vm, uint64_t va, uint64_t addr, uint64_t size,
		       uint32_t flags, struct gpu_userptr **out);
void gpu_userptr_put(struct gpu_userptr *up);
int gpu_userptr_revalidate(struct gpu_userptr *up);
int gpu_userptr_map_piece(struct gpu_userptr *up, const struct va_mapping *m);
int gpu_vm_revalidate_userptrs(struct gpu_vm *vm);
bool gpu_vm_userptrs_current(struct gpu_vm *vm);
void gpu_vm_check_userptrs(struct gpu_vm *vm);
int gpu_vm_fault(struct dev_vm *dvm, void *priv, const struct dev_fault *f);

/* sched.c */
void gpu_job_done(struct gpu *g, struct gpu_job *job, int status);
void gpu_ready_add(struct gpu *g, struct gpu_client *cl, uint32_t e);

/* exec.c */
int gpu_exec(struct gpu_client *cl, struct gpu_parked *retry, struct ugpu_exec *e,
	     struct front_req *req, pid_t caller);
void gpu_job_unwait(struct gpu_job *job);
int gpu_wait(struct gpu_client *cl, struct front_req *req, struct ugpu_wait *w);
void gpu_complete_jobs(struct gpu *g);
void gpu_job_cancel_client(struct gpu_client *cl);
void gpu_job_cancel_vm(struct gpu_vm *vm);
void gpu_job_orphan_client(struct gpu_client *cl);

/* ioctl.c */
int gpu_ioctl(struct gpu_client *cl, const struct front_caller *who, unsigned int cmd,
	      void *data, struct front_req *req);

/* syncobj.c */
int gpu_syncobj_create(struct gpu_client *cl, uint32_t flags, uint32_t *id);
int gpu_syncobj_destroy(struct gpu_client *cl, uint32_t id);
void gpu_syncobj_teardown_all(struct gpu_client *cl);
int gpu_syncobj_wait(struct gpu_client *cl, struct front_req *req,
		     struct ugpu_syncobj_wait *w);
int gpu_syncs_parse(struct gpu_client *cl, pid_t caller, uint64_t ptr, uint32_t n,
		    struct gpu_syncs *out);
void gpu_syncs_fini(struct gpu_syncs *s);
void gpu_syncs_signal_with(struct gpu_client *cl, struct gpu_syncs *s, struct fence *f);

/* info.c */
int gpu_info_stats(struct gpu *g, char *buf, size_t size);
int gpu_info_client(struct gpu_client *cl, char *buf, size_t size);

#endif
