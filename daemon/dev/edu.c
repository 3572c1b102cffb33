// SPDX-License-Identifier: MIT
/*
 * The edu backend (--backend edu:<BDF>[,dma_bits=N][,pool=PAGES]): a
 * device whose every data movement between host memory and the "GPU"
 * goes through QEMU's edu PCI device, driven through VFIO, so the
 * hardware path (IOMMU mappings at IOVAs from VFIO_IOMMU_GET_INFO, bus
 * mastering, DMA, MSI, reset) is exercised for real inside a QEMU guest.
 *
 * Edu has a DMA engine and a 4 KiB buffer but no processor, so the
 * daemon plays the shader core: an inner sim device runs the ISA on
 * device memory (a pool of DMA-mapped pages), and edu moves the bytes
 * (edu_mem.c). This file holds the ops table: open (VFIO, the pool, the
 * inner device, the retire thread), VMs (the real page table with IOMMU
 * mappings per host page, one client port per VM), submission, and the
 * retire thread, which takes each finished inner job, writes its VM's
 * device memory back through edu, and only then posts the result and
 * raises this device's completion eventfd.
 *
 * What is realistic and what is not: loads and write-backs are page
 * granular and cost four and two edu DMAs (100 ms each under TCG), so
 * jobs should touch few pages; a job sees host memory as it was when it
 * first touched each page (a SEMAPHORE_WAIT on a value the CPU changes
 * later is not seen until the next job); a page of host memory is
 * pinned (one VFIO mapping per page) while it is mapped in some VM.
 */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "dev/edu_internal.h"

#define PAGE		EDU_PAGE
#define REAP_BATCH	16

static struct edu_dev *to_ed(struct dev *d)
{
	return container_of(d, struct edu_dev, base);
}

/* "BDF[,dma_bits=N][,pool=PAGES]" */
static int parse_arg(const char *arg, char *bdf, size_t len, unsigned int *dma_bits,
		     unsigned int *pool)
{
	char buf[128], *save = NULL, *tok;
	unsigned long v;
	char *end;

	if (!arg || !*arg || strlen(arg) >= sizeof(buf))
		return -EINVAL;
	strcpy(buf, arg);
	tok = strtok_r(buf, ",", &save);
	if (!tok || strlen(tok) >= len)
		return -EINVAL;
	strcpy(bdf, tok);
	while ((tok = strtok_r(NULL, ",", &save))) {
		unsigned int *dst;
		const char *val;

		if (!strncmp(tok, "dma_bits=", 9)) {
			dst = dma_bits;
			val = tok + 9;
		} else if (!strncmp(tok, "pool=", 5)) {
			dst = pool;
			val = tok + 5;
		} else {
			return -EINVAL;
		}
		errno = 0;
		v = strtoul(val, &end, 0);
		if (errno || end == val || *end)
			return -EINVAL;
		*dst = v;
	}
	if (*dma_bits < 20 || *dma_bits > 64 || !*pool || *pool > EDU_POOL_MAX)
		return -EINVAL;
	return 0;
}

static int pool_init(struct edu_dev *ed, uint32_t pages)
{
	uint64_t bytes = (uint64_t)pages * PAGE;
	int ret;

	ed->pool_pages = pages;
	ed->vram = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ed->bounce = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ed->orig = malloc(bytes);
	ed->pool_free = malloc(pages * sizeof(*ed->pool_free));
	if (ed->vram == MAP_FAILED || ed->bounce == MAP_FAILED || !ed->orig || !ed->pool_free)
		return -ENOMEM;
	ret = vfio_dma_map(ed->vfio, ed->vram, bytes, true, NULL, &ed->vram_iova);
	if (ret)
		return ret;
	ret = vfio_dma_map(ed->vfio, ed->bounce, bytes, true, NULL, &ed->bounce_iova);
	if (ret)
		return ret;
	for (uint32_t i = 0; i < pages; i++)
		ed->pool_free[i] = pages - 1 - i;
	ed->pool_nfree = pages;
	return 0;
}

/* Frees what pool_init() made; its DMA mappings go with the vfio device. */
static void pool_fini(struct edu_dev *ed)
{
	uint64_t bytes = (uint64_t)ed->pool_pages * PAGE;

	if (ed->vram && ed->vram != MAP_FAILED)
		munmap(ed->vram, bytes);
	if (ed->bounce && ed->bounce != MAP_FAILED)
		munmap(ed->bounce, bytes);
	free(ed->orig);
	free(ed->pool_free);
}

static void signal_fd(int fd)
{
	uint64_t one = 1;

	/* Fails only if the counter would overflow: readable anyway. */
	if (write(fd, &one, sizeof(one)) < 0)
		return;
}

static void vm_free(struct edu_vm *vm)
{
	edu_pt_fini(&vm->pt);
	pthread_rwlock_destroy(&vm->pt_lock);
	pthread_mutex_destroy(&vm->cache_lock);
	dma_port_put(vm->port);
	free(vm);
}

/* Drop a VM reference; ed->lock held. Returns the VM to free, or NULL. */
static struct edu_vm *vm_put_locked(struct edu_vm *vm)
{
	return --vm->refs ? NULL : vm;
}

/* One finished inner job: write its VM's memory back, then post it. */
static void retire_one(struct edu_dev *ed, struct dev_job_result *r)
{
	struct edu_job *job = NULL, *j;
	struct edu_vm *vm, *free_vm;
	struct edu_fault_fix fix;

	pthread_mutex_lock(&ed->lock);
	list_for_each_entry(j, &ed->pending, node) {
		if (j->res.id == r->id) {
			job = j;
			break;
		}
	}
	pthread_mutex_unlock(&ed->lock);
	if (!job)
		return;	/* cannot happen: submit records under ed->lock */
	vm = job->vm;
	edu_vm_flush(vm);
	job->res = *r;
	pthread_mutex_lock(&vm->cache_lock);
	fix = r->engine < DEV_MAX_ENGINES ? vm->fix[r->engine] : (struct edu_fault_fix){ 0 };
	pthread_mutex_unlock(&vm->cache_lock);
	if (r->status == -EFAULT && fix.job_id == r->id) {
		job->res.fault.kind = fix.kind;
		job->res.fault.flags |= fix.flags;
	}
	pthread_mutex_lock(&ed->lock);
	list_del_init(&job->node);
	list_add_tail(&job->node, &ed->done);
	job->vm = NULL;
	free_vm = vm_put_locked(vm);
	pthread_mutex_unlock(&ed->lock);
	if (free_vm)
		vm_free(free_vm);
	signal_fd(ed->base.completion_fd);
}

static void *retire_main(void *arg)
{
	struct edu_dev *ed = arg;
	struct dev_job_result res[REAP_BATCH];
	struct pollfd p[2] = {
		{ .fd = ed->inner->completion_fd, .events = POLLIN },
		{ .fd = ed->stop_fd, .events = POLLIN },
	};
	uint64_t v;
	int n;

	for (;;) {
		if (poll(p, 2, -1) < 0)
			continue;
		if (p[1].revents)
			break;
		if (read(p[0].fd, &v, sizeof(v)) < 0 && errno != EAGAIN)
			continue;
		while ((n = dev_reap(ed->inner, res, REAP_BATCH)) > 0)
			for (int i = 0; i < n; i++)
				retire_one(ed, &res[i]);
	}
	return NULL;
}

static int inner_open(struct edu_dev *ed, const struct dev_config *cfg)
{
	struct dev_config ic = {
		.hang_timeout_ns = cfg->hang_timeout_ns ? cfg->hang_timeout_ns :
				   EDU_HANG_DEFAULT_NS,
		.queue_depth = cfg->queue_depth,
	};
	int ret;

	ret = dev_open("sim", &ic, &ed->inner);
	if (ret)
		return ret;
	ed->base.caps = ed->inner->caps;
	snprintf(ed->base.caps.backend, sizeof(ed->base.caps.backend), "edu");
	ed->base.caps.features = DEV_FEATURE_PORT | DEV_FEATURE_FAULT_HANDLER;
	return 0;
}

static int edu_open(const struct dev_config *cfg, struct dev **out)
{
	unsigned int dma_bits = EDU_DMA_BITS_DEFAULT, pool = EDU_POOL_DEFAULT;
	pthread_condattr_t ca;
	char bdf[64];
	struct edu_dev *ed;
	uint64_t max;
	int ret;

	ret = parse_arg(cfg->arg, bdf, sizeof(bdf), &dma_bits, &pool);
	if (ret)
		return ret;
	ed = calloc(1, sizeof(*ed));
	if (!ed)
		return -ENOMEM;
	ed->base.ops = &edu_dev_ops;
	ed->base.completion_fd = ed->stop_fd = -1;
	list_init(&ed->pending);
	list_init(&ed->done);
	pthread_mutex_init(&ed->lock, NULL);
	pthread_mutex_init(&ed->pool_lock, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&ed->pool_cond, &ca);
	pthread_condattr_destroy(&ca);
	ret = edu_hw_open(NULL, bdf, &ed->hw);
	if (ret)
		goto err_free;
	ed->vfio = edu_hw_vfio(ed->hw);
	/* Above 4 GiB when the device reaches it: prove 64-bit addressing. */
	max = dma_bits == 64 ? UINT64_MAX : (1ull << dma_bits) - 1;
	vfio_set_dma_window(ed->vfio, dma_bits > 32 ? 1ull << 32 : 0, max);
	ret = pool_init(ed, pool);
	if (ret)
		goto err_pool;
	ed->base.completion_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	ed->stop_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (ed->base.completion_fd < 0 || ed->stop_fd < 0) {
		ret = -errno;
		goto err_fds;
	}
	ret = inner_open(ed, cfg);
	if (ret)
		goto err_fds;
	ret = -pthread_create(&ed->retire, NULL, retire_main, ed);
	if (ret)
		goto err_inner;
	ed->retire_started = true;
	*out = &ed->base;
	return 0;

err_inner:
	dev_close(ed->inner);
err_fds:
	if (ed->base.completion_fd >= 0)
		close(ed->base.completion_fd);
	if (ed->stop_fd >= 0)
		close(ed->stop_fd);
err_pool:
	edu_hw_close(ed->hw);
	pool_fini(ed);
err_free:
	pthread_cond_destroy(&ed->pool_cond);
	pthread_mutex_destroy(&ed->pool_lock);
	pthread_mutex_destroy(&ed->lock);
	free(ed);
	return ret;
}

static void edu_close(struct dev *d)
{
	struct edu_dev *ed = to_ed(d);
	struct edu_job *job, *tmp;

	signal_fd(ed->stop_fd);
	if (ed->retire_started)
		pthread_join(ed->retire, NULL);
	dev_close(ed->inner);	/* abandons running jobs, drops queued ones */
	list_for_each_entry_safe(job, tmp, &ed->pending, node)
		free(job);
	list_for_each_entry_safe(job, tmp, &ed->done, node)
		free(job);
	edu_hw_close(ed->hw);	/* unmaps every DMA mapping left */
	pool_fini(ed);
	close(ed->base.completion_fd);
	close(ed->stop_fd);
	pthread_cond_destroy(&ed->pool_cond);
	pthread_mutex_destroy(&ed->pool_lock);
	pthread_mutex_destroy(&ed->lock);
	free(ed);
}

static int edu_vm_create(struct dev *d, struct dev_vm **out)
{
	struct edu_dev *ed = to_ed(d);
	pthread_rwlockattr_t a;
	struct edu_vm *vm;
	int ret;

	vm = calloc(1, sizeof(*vm));
	if (!vm)
		return -ENOMEM;
	vm->base.dev = d;
	vm->ed = ed;
	vm->refs = 1;
	list_init(&vm->cache);
	list_init(&vm->flushing);
	/* A zap must not starve behind a stream of loads. */
	pthread_rwlockattr_init(&a);
	pthread_rwlockattr_setkind_np(&a, PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP);
	ret = -pthread_rwlock_init(&vm->pt_lock, &a);
	pthread_rwlockattr_destroy(&a);
	if (ret)
		goto err_free;
	pthread_mutex_init(&vm->cache_lock, NULL);
	ret = dev_vm_create(ed->inner, &vm->inner);
	if (ret)
		goto err_locks;
	ret = dev_vm_set_fault_handler(vm->inner, edu_fault, vm);
	if (ret)
		goto err_inner;
	*out = &vm->base;
	return 0;

err_inner:
	dev_vm_destroy(vm->inner);
err_locks:
	pthread_mutex_destroy(&vm->cache_lock);
	pthread_rwlock_destroy(&vm->pt_lock);
err_free:
	free(vm);
	return ret;
}

/* Release the IOMMU mappings of host PTEs; outside pt_lock. */
static void release_iovas(struct edu_vm *vm, const uint64_t *iovas, uint64_t n)
{
	for (uint64_t i = 0; i < n; i++)
		vfio_dma_unmap(vm->ed->vfio, iovas[i], &vm->acct);
}

/*
 * Remove [va, va + size) from the real page table (pt_lock held for
 * write); the IOVAs of host pages removed are appended to *@iovas.
 */
static int unmap_range(struct edu_vm *vm, uint64_t va, uint64_t size, uint64_t **iovas,
		       uint64_t *n)
{
	uint64_t pages = size / PAGE, *out, cnt = 0;
	bool by_page = pages <= vm->pt.count;
	uint64_t todo = by_page ? pages : vm->pt.count;

	out = malloc((todo ? todo : 1) * sizeof(*out));
	if (!out)
		return -ENOMEM;
	if (by_page) {
		for (uint64_t i = 0; i < pages; i++) {
			uint64_t pte = edu_pt_del(&vm->pt, va + i * PAGE);

			if (pte && !(pte & EDU_PTE_PORT))
				out[cnt++] = pte & ~EDU_PTE_FLAGS;
		}
	} else {
		/* Fewer entries than pages: walk the table, restart after each delete. */
		for (uint64_t i = 0; i < vm->pt.cap; ) {
			struct edu_pte_slot *s = &vm->pt.slots[i];

			if (s->pte && s->va >= va && s->va - va < size) {
				uint64_t pte = edu_pt_del(&vm->pt, s->va);

				if (!(pte & EDU_PTE_PORT))
					out[cnt++] = pte & ~EDU_PTE_FLAGS;
				continue;	/* a shifted entry may now sit at i */
			}
			i++;
		}
	}
	edu_vm_invalidate_locked(vm, va, size);
	*iovas = out;
	*n = cnt;
	return 0;
}

static void edu_vm_destroy(struct dev_vm *dvm)
{
	struct edu_vm *vm = to_edu_vm(dvm), *free_vm;
	struct edu_dev *ed = vm->ed;
	uint64_t *iovas = NULL, n = 0;

	pthread_mutex_lock(&ed->lock);
	vm->dead = true;
	pthread_mutex_unlock(&ed->lock);
	/*
	 * The cache first: after it is dead nothing touches the inner VM,
	 * which the sim frees once its cancelled jobs are posted.
	 */
	edu_vm_drop_cache(vm);
	/* Cancels its jobs; their results still come through the retire thread. */
	dev_vm_destroy(vm->inner);
	pthread_rwlock_wrlock(&vm->pt_lock);
	if (unmap_range(vm, 0, 1ull << ed->base.caps.va_bits, &iovas, &n) == 0) {
		release_iovas(vm, iovas, n);
	} else {
		/* No memory for the list: unmap entry by entry in place. */
		for (uint64_t i = 0; i < vm->pt.cap; i++)
			if (vm->pt.slots[i].pte && !(vm->pt.slots[i].pte & EDU_PTE_PORT))
				vfio_dma_unmap(ed->vfio, vm->pt.slots[i].pte & ~EDU_PTE_FLAGS,
					       &vm->acct);
		edu_pt_fini(&vm->pt);
	}
	vm->fault_fn = NULL;
	vm->fault_priv = NULL;
	pthread_rwlock_unlock(&vm->pt_lock);
	free(iovas);

	pthread_mutex_lock(&ed->lock);
	free_vm = vm_put_locked(vm);
	pthread_mutex_unlock(&ed->lock);
	if (free_vm)
		vm_free(free_vm);
}

static void edu_vm_set_fault_handler(struct dev_vm *dvm, dev_fault_fn fn, void *priv)
{
	struct edu_vm *vm = to_edu_vm(dvm);

	pthread_rwlock_wrlock(&vm->pt_lock);
	vm->fault_fn = fn;
	vm->fault_priv = priv;
	pthread_rwlock_unlock(&vm->pt_lock);
}

/* The new PTEs of a map: host pages get an IOMMU mapping each. */
static int new_ptes(struct edu_vm *vm, uint64_t size, const struct dev_backing *b,
		    uint32_t flags, uint64_t *ptes)
{
	uint64_t pages = size / PAGE, fl = EDU_PTE_PRESENT;
	bool write = flags & DEV_MAP_WRITE;
	int ret;

	if (write)
		fl |= EDU_PTE_WRITE;
	for (uint64_t i = 0; i < pages; i++) {
		uint64_t iova;

		if (b->kind == DEV_BACKING_PORT) {
			ptes[i] = (b->addr + i * PAGE) | fl | EDU_PTE_PORT;
			continue;
		}
		ret = vfio_dma_map(vm->ed->vfio, (uint8_t *)b->host + i * PAGE, PAGE, write,
				   &vm->acct, &iova);
		if (ret) {
			for (uint64_t j = 0; j < i; j++)
				vfio_dma_unmap(vm->ed->vfio, ptes[j] & ~EDU_PTE_FLAGS, &vm->acct);
			return ret;
		}
		ptes[i] = iova | fl;
	}
	return 0;
}

static int edu_vm_map(struct dev_vm *dvm, uint64_t va, uint64_t size,
		      const struct dev_backing *b, uint32_t flags)
{
	struct edu_vm *vm = to_edu_vm(dvm);
	uint64_t pages = size / PAGE, *ptes, *old = NULL, nold = 0;
	int ret;

	ptes = malloc(pages * sizeof(*ptes));
	if (!ptes)
		return -ENOMEM;
	ret = new_ptes(vm, size, b, flags, ptes);
	if (ret)
		goto out;
	pthread_rwlock_wrlock(&vm->pt_lock);
	if (b->kind == DEV_BACKING_PORT && vm->port && vm->port != b->port)
		ret = -EBUSY;
	if (!ret)
		ret = edu_pt_reserve(&vm->pt, pages);
	if (!ret)
		ret = unmap_range(vm, va, size, &old, &nold);
	if (ret) {
		pthread_rwlock_unlock(&vm->pt_lock);
		if (b->kind == DEV_BACKING_HOST)
			for (uint64_t i = 0; i < pages; i++)
				vfio_dma_unmap(vm->ed->vfio, ptes[i] & ~EDU_PTE_FLAGS, &vm->acct);
		goto out;
	}
	for (uint64_t i = 0; i < pages; i++)
		edu_pt_set(&vm->pt, va + i * PAGE, ptes[i]);
	if (b->kind == DEV_BACKING_PORT && !vm->port)	/* pairs with lock_for_dma() */
		__atomic_store_n(&vm->port, dma_port_get(b->port), __ATOMIC_RELEASE);
	pthread_rwlock_unlock(&vm->pt_lock);
	release_iovas(vm, old, nold);
out:
	free(old);
	free(ptes);
	return ret;
}

static int edu_vm_zap(struct dev_vm *dvm, uint64_t va, uint64_t size)
{
	struct edu_vm *vm = to_edu_vm(dvm);
	uint64_t *old = NULL, nold = 0;
	int ret;

	pthread_rwlock_wrlock(&vm->pt_lock);
	ret = unmap_range(vm, va, size, &old, &nold);
	pthread_rwlock_unlock(&vm->pt_lock);
	if (ret)
		return ret;
	release_iovas(vm, old, nold);
	free(old);
	return 0;
}

static int edu_submit(struct dev *d, const struct dev_submit *s, uint64_t *job_id)
{
	struct edu_dev *ed = to_ed(d);
	struct edu_vm *vm = to_edu_vm(s->vm);
	struct dev_submit is = *s;
	struct edu_job *job;
	int ret;

	job = calloc(1, sizeof(*job));
	if (!job)
		return -ENOMEM;
	is.vm = vm->inner;
	pthread_mutex_lock(&ed->lock);
	ret = vm->dead ? -EINVAL : dev_submit(ed->inner, &is, job_id);
	if (ret) {
		pthread_mutex_unlock(&ed->lock);
		free(job);
		return ret;
	}
	/* Recorded before the retire thread can look it up: it takes ed->lock. */
	job->res.id = *job_id;
	job->vm = vm;
	vm->refs++;
	list_add_tail(&job->node, &ed->pending);
	pthread_mutex_unlock(&ed->lock);
	return 0;
}

static int edu_reap(struct dev *d, struct dev_job_result *res, unsigned int max)
{
	struct edu_dev *ed = to_ed(d);
	struct edu_job *job;
	unsigned int n = 0;

	pthread_mutex_lock(&ed->lock);
	while (n < max && !list_empty(&ed->done)) {
		job = list_first_entry(&ed->done, struct edu_job, node);
		list_del_init(&job->node);
		res[n++] = job->res;
		free(job);
	}
	pthread_mutex_unlock(&ed->lock);
	return n;
}

static int edu_cancel(struct dev *d, uint64_t job_id)
{
	return dev_cancel(to_ed(d)->inner, job_id);
}

/*
 * An engine reset resets the engine (its running job ends with -EIO)
 * and, where VFIO can, the PCI function too: edu is re-checked and
 * re-armed before the next transfer.
 */
static int edu_reset_engine(struct dev *d, uint32_t engine)
{
	struct edu_dev *ed = to_ed(d);
	int ret;

	ret = dev_reset_engine(ed->inner, engine);
	if (!ret && vfio_can_reset(ed->vfio))
		ret = edu_hw_reset(ed->hw);
	return ret;
}

static void edu_get_stats(struct dev *d, struct dev_stats *st)
{
	dev_get_stats(to_ed(d)->inner, st);
}

uint64_t edu_lost_writes(struct dev *d)
{
	if (!d || d->ops != &edu_dev_ops)
		return 0;
	return __atomic_load_n(&to_ed(d)->lost_writes, __ATOMIC_RELAXED);
}

const struct dev_ops edu_dev_ops = {
	.name = "edu",
	.open = edu_open,
	.close = edu_close,
	.vm_create = edu_vm_create,
	.vm_destroy = edu_vm_destroy,
	.vm_set_fault_handler = edu_vm_set_fault_handler,
	.vm_map = edu_vm_map,
	.vm_zap = edu_vm_zap,
	.submit = edu_submit,
	.reap = edu_reap,
	.cancel = edu_cancel,
	.reset_engine = edu_reset_engine,
	.get_stats = edu_get_stats,
};
