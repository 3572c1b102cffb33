// SPDX-License-Identifier: MIT
/*
 * How an edu job reaches memory. The engines of the inner sim device see
 * only device memory (pool pages); this file moves host memory in and
 * out of it with edu's DMA engine, and keeps that correct while the
 * client's memory changes.
 *
 * DOC: Loads
 *
 * An inner VM starts empty and is in fault mode. A GPU access to a page
 * not in device memory faults to edu_fault(), which looks the page up in
 * the VM's real page table and loads it into a free pool page:
 *
 *   host memory (BO, shared memfd): zero copy, the page's own IOVA
 *       IOVA --edu--> buffer --edu--> pool page         (2 copies of a page)
 *   client private memory (DMA port): bounced
 *       client --port--> bounce page --edu--> buffer --edu--> pool page
 *
 * then maps the pool page into the inner VM with the real permission and
 * keeps a snapshot of it. Edu cannot transfer a whole page (a transfer
 * must end strictly inside its 4 KiB buffer), so a page moves as
 * EDU_PIECE + 1 bytes: four DMAs, 400 ms of virtual time under TCG.
 *
 * DOC: Write-back
 *
 * When a job ends (edu.c's retire thread), every cached page of its VM
 * is unmapped from the inner VM, compared with its snapshot, and only
 * the changed span goes back, the same way in reverse (for port memory
 * through the bounce page and the port, inside the client's gate). So a
 * job that stores one dword costs two DMAs to write back, and bytes the
 * job did not change are never overwritten (the CPU may have written
 * them meanwhile). The fence of the job signals after its write-back.
 *
 * DOC: Invalidation
 *
 * dev_vm_map() and dev_vm_zap() take the VM's pt_lock for write, which
 * waits for the load or write-back in progress (each holds it for read
 * across its DMAs, so the IOVA it uses stays mapped), mark cached pages
 * of the range stale and unmap them from the inner VM. A running job
 * faults on its next access and sees the new mapping, or none. A stale
 * page is never written back: that is the bounce rule of DESIGN.md §4
 * (copy out only if the notifier sequence did not move), because an
 * invalidation always zaps the range under the client's gate before it
 * ends. Dropped changes are counted (edu_lost_writes()).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "dev/edu_internal.h"

#define PAGE	EDU_PAGE

/* ---- the real page table: an open-addressing hash of page VA -> PTE ---- */

static uint64_t slot_of(const struct edu_pt *pt, uint64_t va)
{
	return ((va >> 12) * 0x9e3779b97f4a7c15ull >> 20) & (pt->cap - 1);
}

static void insert_raw(struct edu_pt *pt, uint64_t va, uint64_t pte)
{
	uint64_t i = slot_of(pt, va);

	while (pt->slots[i].pte)
		i = (i + 1) & (pt->cap - 1);
	pt->slots[i].va = va;
	pt->slots[i].pte = pte;
	pt->count++;
}

int edu_pt_reserve(struct edu_pt *pt, uint64_t n)
{
	struct edu_pte_slot *old = pt->slots;
	uint64_t oldcap = pt->cap, cap = pt->cap ? pt->cap : 64;

	/* Keep the load at most one half: probes stay short. */
	while ((pt->count + n) * 2 > cap) {
		if (cap > UINT64_MAX / 4)
			return -ENOMEM;
		cap *= 2;
	}
	if (cap == pt->cap)
		return 0;
	pt->slots = calloc(cap, sizeof(*pt->slots));
	if (!pt->slots) {
		pt->slots = old;
		return -ENOMEM;
	}
	pt->cap = cap;
	pt->count = 0;
	for (uint64_t i = 0; i < oldcap; i++)
		if (old[i].pte)
			insert_raw(pt, old[i].va, old[i].pte);
	free(old);
	return 0;
}

static uint64_t find(const struct edu_pt *pt, uint64_t va)
{
	uint64_t i;

	if (!pt->cap)
		return UINT64_MAX;
	for (i = slot_of(pt, va); pt->slots[i].pte; i = (i + 1) & (pt->cap - 1))
		if (pt->slots[i].va == va)
			return i;
	return UINT64_MAX;
}

uint64_t edu_pt_get(const struct edu_pt *pt, uint64_t va)
{
	uint64_t i = find(pt, va);

	return i == UINT64_MAX ? 0 : pt->slots[i].pte;
}

uint64_t edu_pt_set(struct edu_pt *pt, uint64_t va, uint64_t pte)
{
	uint64_t i = find(pt, va), old;

	if (i != UINT64_MAX) {
		old = pt->slots[i].pte;
		pt->slots[i].pte = pte;
		return old;
	}
	insert_raw(pt, va, pte);
	return 0;
}

uint64_t edu_pt_del(struct edu_pt *pt, uint64_t va)
{
	uint64_t i = find(pt, va), j, old, home;

	if (i == UINT64_MAX)
		return 0;
	old = pt->slots[i].pte;
	pt->slots[i].pte = 0;
	pt->count--;
	/* Backward shift: move up entries whose probe passed the hole. */
	for (j = (i + 1) & (pt->cap - 1); pt->slots[j].pte; j = (j + 1) & (pt->cap - 1)) {
		home = slot_of(pt, pt->slots[j].va);
		if (((j - home) & (pt->cap - 1)) >= ((j - i) & (pt->cap - 1))) {
			pt->slots[i] = pt->slots[j];
			pt->slots[j].pte = 0;
			i = j;
		}
	}
	return old;
}

void edu_pt_fini(struct edu_pt *pt)
{
	free(pt->slots);
	memset(pt, 0, sizeof(*pt));
}

/* ---- device memory pool ---- */

/* A free pool page, waiting up to @wait_ms for one. -ENOMEM if none came. */
static int pool_get(struct edu_dev *ed, int wait_ms, uint32_t *slot)
{
	struct timespec ts;
	int ret = -ENOMEM;

	clock_gettime(CLOCK_MONOTONIC, &ts);	/* pool_cond runs on CLOCK_MONOTONIC */
	ts.tv_sec += wait_ms / 1000;
	ts.tv_nsec += (wait_ms % 1000) * 1000000L;
	if (ts.tv_nsec >= 1000000000L) {
		ts.tv_sec++;
		ts.tv_nsec -= 1000000000L;
	}
	pthread_mutex_lock(&ed->pool_lock);
	while (!ed->pool_nfree && wait_ms)
		if (pthread_cond_timedwait(&ed->pool_cond, &ed->pool_lock, &ts) == ETIMEDOUT)
			break;
	if (ed->pool_nfree) {
		*slot = ed->pool_free[--ed->pool_nfree];
		ret = 0;
	}
	pthread_mutex_unlock(&ed->pool_lock);
	return ret;
}

void edu_pool_put(struct edu_dev *ed, uint32_t slot)
{
	pthread_mutex_lock(&ed->pool_lock);
	ed->pool_free[ed->pool_nfree++] = slot;
	pthread_cond_signal(&ed->pool_cond);
	pthread_mutex_unlock(&ed->pool_lock);
}

static uint8_t *vram_of(struct edu_dev *ed, uint32_t slot)
{
	return ed->vram + (uint64_t)slot * PAGE;
}

/* Copy [off, off + len) of a page between two IOVAs, in staged pieces. */
static int staged(struct edu_dev *ed, uint64_t src, uint64_t dst, uint32_t off, uint32_t len)
{
	while (len) {
		uint32_t n = len < EDU_PIECE ? len : EDU_PIECE;
		int ret = edu_hw_copy(ed->hw, src + off, dst + off, n);

		if (ret)
			return ret;
		off += n;
		len -= n;
	}
	return 0;
}

/* ---- loads ---- */

static struct edu_page *cached(struct edu_vm *vm, uint64_t va)
{
	struct edu_page *p;

	list_for_each_entry(p, &vm->cache, node)
		if (p->va == va)
			return p;
	return NULL;
}

static void note_fix(struct edu_vm *vm, const struct dev_fault *f, uint32_t kind,
		     uint32_t flags)
{
	if (f->engine >= DEV_MAX_ENGINES)
		return;
	pthread_mutex_lock(&vm->cache_lock);
	vm->fix[f->engine] = (struct edu_fault_fix){ f->job_id, kind, flags };
	pthread_mutex_unlock(&vm->cache_lock);
}

/*
 * Enter the port's gate if the VM has a port, then take pt_lock for
 * read. *@gated tells whether the gate was entered; -ESRCH: client gone.
 */
static int lock_for_dma(struct edu_vm *vm, struct dma_port **port, bool *gated)
{
	/* Pairs with the release store in edu.c's vm_map. */
	*port = __atomic_load_n(&vm->port, __ATOMIC_ACQUIRE);
	*gated = false;
	if (*port) {
		if (dma_port_enter(*port))
			return -ESRCH;
		*gated = true;
	}
	pthread_rwlock_rdlock(&vm->pt_lock);
	return 0;
}

static void unlock_for_dma(struct edu_vm *vm, struct dma_port *port, bool gated)
{
	pthread_rwlock_unlock(&vm->pt_lock);
	if (gated)
		dma_port_leave(port);
}

/* Insert a loaded page and map it into the inner VM. Locks of the load held. */
static int install(struct edu_vm *vm, uint64_t va, uint64_t pte, uint32_t slot)
{
	struct edu_dev *ed = vm->ed;
	struct dev_backing b = { .kind = DEV_BACKING_HOST, .host = vram_of(ed, slot) };
	struct edu_page *p;
	int ret;

	p = calloc(1, sizeof(*p));
	if (!p)
		return -ENOMEM;
	p->va = va;
	p->pte = pte;
	p->slot = slot;
	memcpy(ed->orig + (uint64_t)slot * PAGE, vram_of(ed, slot), PAGE);
	pthread_mutex_lock(&vm->cache_lock);
	if (vm->cache_dead || cached(vm, va)) {
		/* Destroyed, or another engine loaded it first: use theirs. */
		pthread_mutex_unlock(&vm->cache_lock);
		free(p);
		return -EEXIST;
	}
	ret = dev_vm_map(vm->inner, va, PAGE, &b, pte & EDU_PTE_WRITE ? DEV_MAP_WRITE : 0);
	if (!ret)
		list_add_tail(&p->node, &vm->cache);
	pthread_mutex_unlock(&vm->cache_lock);
	if (ret)
		free(p);
	return ret;
}

/*
 * Load page @va into pool page @slot. Return 0 (the slot is now owned
 * by the cache), -ENOENT (no real mapping), -EFAULT (the client memory
 * behind it is gone: *@backing set), -EEXIST (already cached), -EIO.
 */
static int load(struct edu_vm *vm, uint64_t va, uint32_t slot, bool *backing)
{
	struct edu_dev *ed = vm->ed;
	uint64_t dst = ed->vram_iova + (uint64_t)slot * PAGE, pte, src;
	struct dma_port *port;
	bool gated;
	int ret;

	*backing = false;
	for (;;) {
		ret = lock_for_dma(vm, &port, &gated);
		if (ret) {
			*backing = true;
			return -EFAULT;
		}
		pte = edu_pt_get(&vm->pt, va);
		/* A port mapping appeared after we looked: take its gate first. */
		if (!(pte & EDU_PTE_PORT) || gated)
			break;
		unlock_for_dma(vm, port, gated);
	}
	if (!pte) {
		ret = -ENOENT;
		goto out;
	}
	if (pte & EDU_PTE_PORT) {
		struct dma_op op = {
			.addr = pte & ~EDU_PTE_FLAGS,
			.buf = ed->bounce + (uint64_t)slot * PAGE,
			.len = PAGE,
		};

		if (dma_port_io(port, NULL, &op, 1, 0)) {
			*backing = true;
			ret = -EFAULT;
			goto out;
		}
		src = ed->bounce_iova + (uint64_t)slot * PAGE;
	} else {
		src = pte & ~EDU_PTE_FLAGS;
	}
	ret = staged(ed, src, dst, 0, PAGE);
	if (!ret)
		ret = install(vm, va, pte, slot);
	if (!ret)
		__atomic_add_fetch(&ed->loads, 1, __ATOMIC_RELAXED);
out:
	unlock_for_dma(vm, port, gated);
	return ret;
}

/* A page for a load: a free one, or write our own cache back to make one. */
static int get_slot(struct edu_vm *vm, uint32_t *slot)
{
	if (!pool_get(vm->ed, 0, slot))
		return 0;
	edu_vm_flush(vm);
	return pool_get(vm->ed, EDU_POOL_WAIT_MS, slot);
}

/* Ask a fault-mode VM's own handler to map @f's page. */
static int outer_fault(struct edu_vm *vm, const struct dev_fault *f)
{
	dev_fault_fn fn;
	void *priv;

	pthread_rwlock_rdlock(&vm->pt_lock);
	fn = vm->fault_fn;
	priv = vm->fault_priv;
	pthread_rwlock_unlock(&vm->pt_lock);
	return fn && !fn(&vm->base, priv, f) ? 0 : -EFAULT;
}

int edu_fault(struct dev_vm *inner, void *priv, const struct dev_fault *f)
{
	struct edu_vm *vm = priv;
	uint64_t va = f->va & ~(uint64_t)(PAGE - 1);
	bool write = f->flags & DEV_FAULT_F_WRITE, backing;
	struct edu_page *p;
	uint32_t slot;
	int ret;

	for (int tries = 0; tries < 2; tries++) {
		pthread_mutex_lock(&vm->cache_lock);
		p = cached(vm, va);
		/* Cached and still faulting: a write to a read-only page. */
		ret = p ? (write && !(p->pte & EDU_PTE_WRITE) ? -EFAULT : 0) : 1;
		if (vm->cache_dead)
			ret = -EFAULT;	/* the VM is being destroyed */
		pthread_mutex_unlock(&vm->cache_lock);
		if (ret <= 0)
			return ret;
		if (get_slot(vm, &slot))
			return -EFAULT;
		ret = load(vm, va, slot, &backing);
		if (ret)
			edu_pool_put(vm->ed, slot);
		if (!ret || ret == -EEXIST)
			return 0;
		if (ret == -EFAULT && backing)
			note_fix(vm, f, DEV_FAULT_NOT_PRESENT, DEV_FAULT_F_BACKING);
		if (ret != -ENOENT || outer_fault(vm, f))
			return -EFAULT;
	}
	return 0;	/* the sim retries, and gives up after a few strikes */
}

/* ---- write-back ---- */

/* The changed span of a pool page against its snapshot; false if none. */
static bool changed(struct edu_dev *ed, uint32_t slot, uint32_t *lo, uint32_t *hi)
{
	const uint8_t *now = vram_of(ed, slot), *was = ed->orig + (uint64_t)slot * PAGE;
	uint32_t a = 0, b = PAGE;

	while (a < PAGE && now[a] == was[a])
		a++;
	if (a == PAGE)
		return false;
	while (now[b - 1] == was[b - 1])
		b--;
	*lo = a;
	*hi = b;
	return true;
}

static bool is_stale(struct edu_vm *vm, struct edu_page *p)
{
	bool s;

	pthread_mutex_lock(&vm->cache_lock);
	s = p->stale;
	pthread_mutex_unlock(&vm->cache_lock);
	return s;
}

static void lost(struct edu_dev *ed)
{
	__atomic_add_fetch(&ed->lost_writes, 1, __ATOMIC_RELAXED);
}

static void write_back(struct edu_vm *vm, struct edu_page *p)
{
	struct edu_dev *ed = vm->ed;
	uint64_t vram = ed->vram_iova + (uint64_t)p->slot * PAGE;
	uint64_t bounce = ed->bounce_iova + (uint64_t)p->slot * PAGE;
	struct dma_port *port;
	uint32_t lo, hi;
	bool gated;

	if (!changed(ed, p->slot, &lo, &hi))
		return;
	if (p->pte & EDU_PTE_PORT) {
		/* Device memory -> bounce needs no lock: both pages are ours. */
		if (staged(ed, vram, bounce, lo, hi - lo)) {
			lost(ed);
			return;
		}
	}
	if (lock_for_dma(vm, &port, &gated)) {
		lost(ed);
		return;
	}
	/* Checked under pt_lock: a zap sets it holding pt_lock for write. */
	if (is_stale(vm, p)) {
		lost(ed);
	} else if (p->pte & EDU_PTE_PORT) {
		struct dma_op op = {
			.addr = (p->pte & ~EDU_PTE_FLAGS) + lo,
			.buf = ed->bounce + (uint64_t)p->slot * PAGE + lo,
			.len = hi - lo,
			.write = 1,
		};

		if (!gated || dma_port_io(port, NULL, &op, 1, 0))
			lost(ed);
	} else if (staged(ed, vram, p->pte & ~EDU_PTE_FLAGS, lo, hi - lo)) {
		lost(ed);
	}
	__atomic_add_fetch(&ed->writebacks, 1, __ATOMIC_RELAXED);
	unlock_for_dma(vm, port, gated);
}

/* The next page of @vm->flushing that flush @token owns, unlinked, or NULL. */
static struct edu_page *next_owned(struct edu_vm *vm, const void *token)
{
	struct edu_page *p, *found = NULL;

	pthread_mutex_lock(&vm->cache_lock);
	list_for_each_entry(p, &vm->flushing, node) {
		if (p->owner == token) {
			found = p;
			break;
		}
	}
	pthread_mutex_unlock(&vm->cache_lock);
	return found;
}

void edu_vm_flush(struct edu_vm *vm)
{
	struct edu_page *p, *tmp;
	int token;

	/*
	 * Unmapped from the inner VM first, so nothing writes a page while
	 * it goes back; kept on vm->flushing (tagged with this flush) so a
	 * zap can still mark it stale.
	 */
	pthread_mutex_lock(&vm->cache_lock);
	list_for_each_entry_safe(p, tmp, &vm->cache, node) {
		dev_vm_zap(vm->inner, p->va, PAGE);
		list_del_init(&p->node);
		p->owner = &token;
		list_add_tail(&p->node, &vm->flushing);
	}
	pthread_mutex_unlock(&vm->cache_lock);

	while ((p = next_owned(vm, &token))) {
		write_back(vm, p);
		pthread_mutex_lock(&vm->cache_lock);
		list_del_init(&p->node);
		pthread_mutex_unlock(&vm->cache_lock);
		edu_pool_put(vm->ed, p->slot);
		free(p);
	}
}

/* Mark @p stale; a cached one also leaves the cache and the inner VM. */
static void forget(struct edu_vm *vm, struct edu_page *p, bool is_cached)
{
	uint32_t lo, hi;

	p->stale = true;
	if (!is_cached)
		return;	/* its flush frees it */
	dev_vm_zap(vm->inner, p->va, PAGE);
	list_del_init(&p->node);
	if (!vm->cache_dead && changed(vm->ed, p->slot, &lo, &hi))
		lost(vm->ed);
	edu_pool_put(vm->ed, p->slot);
	free(p);
}

void edu_vm_invalidate_locked(struct edu_vm *vm, uint64_t va, uint64_t size)
{
	struct edu_page *p, *tmp;

	pthread_mutex_lock(&vm->cache_lock);
	list_for_each_entry_safe(p, tmp, &vm->cache, node)
		if (p->va >= va && p->va - va < size)
			forget(vm, p, true);
	list_for_each_entry(p, &vm->flushing, node)
		if (p->va >= va && p->va - va < size)
			forget(vm, p, false);
	pthread_mutex_unlock(&vm->cache_lock);
}

void edu_vm_drop_cache(struct edu_vm *vm)
{
	struct edu_page *p, *tmp;

	pthread_mutex_lock(&vm->cache_lock);
	vm->cache_dead = true;
	list_for_each_entry_safe(p, tmp, &vm->cache, node)
		forget(vm, p, true);
	list_for_each_entry(p, &vm->flushing, node)
		forget(vm, p, false);
	pthread_mutex_unlock(&vm->cache_lock);
}
