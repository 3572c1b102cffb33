/* SPDX-License-Identifier: MIT */
/*
 * Internals of the edu backend (edu.c: ops table, jobs, the retire
 * thread; edu_mem.c: page tables, the device-memory cache, fault
 * handling, write-back).
 *
 * The model: the sim's engines (an inner sim device, driven only through
 * its dev_*() calls) run the ISA, but their VMs (the "inner" VMs) map
 * nothing but pages of the device memory pool ("VRAM", daemon pages
 * DMA-mapped for edu). Every byte a job reads or writes in host memory
 * moves through edu's DMA engine: an inner page fault loads the page
 * (host IOVA -> edu buffer -> VRAM IOVA), and when the job ends each
 * cached page's changed bytes go back the same way. See edu_mem.c.
 *
 * Locks, outer to inner:
 *   client gate (dma_port_enter)   a load or write-back of port memory
 *   edu_vm.pt_lock (rwlock)        read: any DMA to or from the VM's
 *                                  backing, so a zap waits for it;
 *                                  write: map, zap, destroy
 *   edu_vm.cache_lock (mutex)      the VM's cached pages, inner map/zap
 *   edu_dev.lock (mutex)           jobs, done list, VM refs
 *   edu_dev.pool_lock, the hw lock (edu_hw.c), the vfio lock: leaves
 * The inner sim calls the fault handler with none of its locks held.
 */
#ifndef UGPU_DEV_EDU_INTERNAL_H
#define UGPU_DEV_EDU_INTERNAL_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "core/list.h"
#include "dev/dev.h"
#include "dev/edu.h"
#include "dev/vfio.h"
#include "mm/dma_port.h"

#define EDU_PAGE		4096u
#define EDU_PIECE		(EDU_BUF_SIZE - 1)	/* longest staged copy */
#define EDU_POOL_DEFAULT	64u		/* device memory pages */
#define EDU_POOL_MAX		4096u
#define EDU_DMA_BITS_DEFAULT	28u		/* edu's default dma_mask */
#define EDU_HANG_DEFAULT_NS	(60ull * 1000 * 1000 * 1000)
#define EDU_POOL_WAIT_MS	5000		/* a fault waits this long for a page */

/* Real PTEs: an IOVA (host memory) or a client address (port), | flags. */
#define EDU_PTE_PRESENT		(1ull << 0)
#define EDU_PTE_WRITE		(1ull << 1)
#define EDU_PTE_PORT		(1ull << 2)
#define EDU_PTE_FLAGS		0xfffull

/**
 * struct edu_pt - a VM's real page table: page VA -> PTE, open addressing
 * @slots: @cap entries; an empty one has pte == 0
 * @cap:   a power of two, 0 before the first reserve
 * @count: entries in use
 */
struct edu_pt {
	struct edu_pte_slot { uint64_t va, pte; } *slots;
	uint64_t cap, count;
};

/**
 * edu_pt_reserve - make room for @n more entries, so that the next @n
 * edu_pt_set() calls cannot fail
 * @pt: the table
 * @n:  entries
 *
 * Return: 0 or -ENOMEM (the table unchanged).
 */
int edu_pt_reserve(struct edu_pt *pt, uint64_t n);

/**
 * edu_pt_get - the PTE of page @va, 0 if none
 * @pt: the table
 * @va: page-aligned
 */
uint64_t edu_pt_get(const struct edu_pt *pt, uint64_t va);

/**
 * edu_pt_set - set the PTE of page @va (room reserved)
 * @pt:  the table
 * @va:  page-aligned
 * @pte: non-zero
 *
 * Return: the PTE it replaced, 0 if none.
 */
uint64_t edu_pt_set(struct edu_pt *pt, uint64_t va, uint64_t pte);

/**
 * edu_pt_del - remove page @va
 * @pt: the table
 * @va: page-aligned
 *
 * Return: the PTE removed, 0 if none.
 */
uint64_t edu_pt_del(struct edu_pt *pt, uint64_t va);

/**
 * edu_pt_fini - free the table
 * @pt: the table
 */
void edu_pt_fini(struct edu_pt *pt);

struct edu_dev;

/* One host page cached in device memory for the inner VM. */
struct edu_page {
	struct list_node node;		/* cache_lock: vm->cache or vm->flushing */
	uint64_t va;
	uint64_t pte;			/* the real PTE it was loaded through */
	uint32_t slot;			/* pool page */
	bool stale;			/* cache_lock, set under pt_lock write too */
	const void *owner;		/* cache_lock: the flush writing it back */
};

/* Bits of edu_vm.fix[].flags: what the handler knows better than the sim. */
struct edu_fault_fix {
	uint64_t job_id;
	uint32_t kind, flags;
};

struct edu_vm {
	struct dev_vm base;
	struct edu_dev *ed;
	struct dev_vm *inner;		/* the sim VM that runs the jobs */
	pthread_rwlock_t pt_lock;	/* see the lock order above */
	struct edu_pt pt;		/* pt_lock */
	struct dma_port *port;		/* set once under pt_lock (write), ref held */
	dev_fault_fn fault_fn;		/* pt_lock */
	void *fault_priv;		/* pt_lock */
	struct vfio_account acct;	/* IOMMU mappings of this VM */
	pthread_mutex_t cache_lock;
	struct list_node cache;		/* cache_lock: cached pages */
	struct list_node flushing;	/* cache_lock: pages being written back */
	bool cache_dead;		/* cache_lock: destroyed, cache nothing */
	struct edu_fault_fix fix[DEV_MAX_ENGINES];	/* cache_lock */
	unsigned int refs;		/* ed->lock: the creator's and one per job */
	bool dead;			/* ed->lock: destroyed, takes no jobs */
};

struct edu_job {
	struct list_node node;		/* ed->lock: pending, then done */
	struct edu_vm *vm;		/* holds a reference until retired */
	struct dev_job_result res;
};

struct edu_dev {
	struct dev base;
	struct dev *inner;		/* the sim device whose engines run jobs */
	struct edu_hw *hw;
	struct vfio_dev *vfio;
	pthread_mutex_t lock;		/* see the lock order above */
	struct list_node pending;	/* lock: submitted, not retired */
	struct list_node done;		/* lock: retired, not reaped */
	pthread_t retire;
	bool retire_started;
	int stop_fd;			/* eventfd: the retire thread exits */
	/* Device memory: pool_pages pages, each with a bounce page and a snapshot. */
	uint32_t pool_pages;
	uint8_t *vram, *bounce, *orig;
	uint64_t vram_iova, bounce_iova;
	pthread_mutex_t pool_lock;
	pthread_cond_t pool_cond;	/* with pool_lock: a page was freed */
	uint32_t *pool_free;		/* pool_lock: stack of free pages */
	uint32_t pool_nfree;		/* pool_lock */
	uint64_t lost_writes;		/* atomic */
	uint64_t loads, writebacks;	/* atomic */
};

static inline struct edu_vm *to_edu_vm(struct dev_vm *vm)
{
	return container_of(vm, struct edu_vm, base);
}

/* ---- edu_mem.c ---- */

/**
 * edu_fault - the inner VMs' fault handler: load the page through edu
 * @inner: the inner (sim) VM
 * @priv:  its struct edu_vm
 * @f:     the fault
 *
 * Return: 0 when the access can be retried, -EFAULT to fail the job.
 */
int edu_fault(struct dev_vm *inner, void *priv, const struct dev_fault *f);

/**
 * edu_vm_flush - write every cached page of @vm back and drop it
 * @vm: the VM
 *
 * Pages whose backing changed since they were loaded are dropped
 * unwritten (counted in lost_writes when they held changes).
 */
void edu_vm_flush(struct edu_vm *vm);

/**
 * edu_vm_invalidate_locked - forget cached pages in [va, va + size)
 * @vm:   the VM, pt_lock held for write
 * @va:   page-aligned start
 * @size: bytes
 *
 * Their inner mappings are zapped and they will not be written back.
 */
void edu_vm_invalidate_locked(struct edu_vm *vm, uint64_t va, uint64_t size);

/**
 * edu_vm_drop_cache - forget every cached page (VM destruction)
 * @vm: the VM
 */
void edu_vm_drop_cache(struct edu_vm *vm);

/**
 * edu_pool_put - give a device memory page back
 * @ed:   the device
 * @slot: the page
 */
void edu_pool_put(struct edu_dev *ed, uint32_t slot);

#endif
