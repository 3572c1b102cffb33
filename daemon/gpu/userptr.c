// SPDX-License-Identifier: MIT
/*
 * Userptr objects: a client's virtual range bound into a GPU VM. Each
 * one is an interval notifier on the client's address space; its pages
 * are looked up ("get pages") lazily at exec or on a fault, and dropped
 * from the GPU page tables by the invalidate callback. The binding
 * follows the virtual range: after an invalidation the next validation
 * maps whatever the client has there now, or fails with -EFAULT.
 *
 * How the device reaches the pages, per client VMA at get-pages time:
 *   shared file memory (memfd, shm, MAP_SHARED anonymous, hugetlbfs):
 *       the daemon maps the same file pages through
 *       /proc/<pid>/map_files (opened relative to the client's pinned
 *       /proc/<pid> fd) - zero copy, a HOST backing;
 *   private memory (anonymous, private file mappings): nobody else can
 *       map it; the device reaches it through the client's DMA port, a
 *       PORT backing, which checks the client's protections on access.
 *
 * Revalidation follows the collision-retry recipe of notifier.c:
 * read_begin -> get pages -> notifier_lock (write) -> read_retry -> map.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "gpu/gpu_internal.h"
#include "mm/dma_port.h"
#include "mm/pidfd.h"

#define REVALIDATE_TRIES 8

static void free_segs(struct gpu_up_seg *segs, unsigned int n)
{
	for (unsigned int i = 0; i < n; i++)
		if (segs[i].host)
			munmap(segs[i].host, segs[i].map_len);
	free(segs);
}

/* Zap every piece of @up in its VM. vm->notifier_lock held for write. */
static void zap_pieces(struct gpu_userptr *up)
{
	struct gpu_vm *vm = up->vm;
	struct va_mapping *m;

	if (!vm->dvm)
		return;		/* destroyed: the device forgot every PTE */
	va_for_each_mapping(m, &vm->va, up->va, up->size)
		if (m->obj == up)
			dev_vm_zap(vm->dvm, va_mapping_va(m), va_mapping_size(m));
}

static bool up_invalidate(struct notifier *n, const struct notifier_range *r,
			  uint64_t cur_seq)
{
	struct gpu_userptr *up = container_of(n, struct gpu_userptr, notifier);
	struct gpu_vm *vm = up->vm;
	struct gpu_client *cl = vm->client;

	/*
	 * Pairs with notifier_read_retry() in revalidate(): after this, no
	 * validation that began before can commit, and the device stops
	 * using the old pages at its next page lookup.
	 */
	pthread_rwlock_wrlock(&vm->notifier_lock);
	notifier_set_seq(n, cur_seq);
	up->inval_commit = vm->commit_seq;
	if (up->valid) {
		zap_pieces(up);
		up->valid = false;
	}
	if (!list_linked(&up->inval_link))
		list_add_tail(&up->inval_link, &vm->invalidated);
	pthread_rwlock_unlock(&vm->notifier_lock);
	__atomic_add_fetch(&cl->c.invalidations, 1, __ATOMIC_RELAXED);
	__atomic_add_fetch(&cl->gpu->c.invalidations, 1, __ATOMIC_RELAXED);
	return true;
}

static const struct notifier_ops up_notifier_ops = { .invalidate = up_invalidate };

#define MAP_SHARED_UNSAFE 1

/* Map the shared file pages of [addr, addr + len) of @vma into the daemon. */
static int map_shared(struct gpu_client *cl, const struct vma_info *vma, uint64_t addr,
		      uint64_t len, bool write, struct gpu_up_seg *seg)
{
	char name[64];
	struct stat st;
	int fd, seals;
	void *p;

	snprintf(name, sizeof(name), "map_files/%llx-%llx",
		 (unsigned long long)vma->start, (unsigned long long)vma->end);
	fd = openat(cl->mm->procfd, name, (write ? O_RDWR : O_RDONLY) | O_CLOEXEC);
	if (fd < 0 && write) {
		write = false;
		fd = openat(cl->mm->procfd, name, O_RDONLY | O_CLOEXEC);
	}
	if (fd < 0)
		return -errno == -ENOENT ? -EFAULT : -errno;
	/* The mapping must still be the one we looked at. */
	if (fstat(fd, &st) < 0 || st.st_ino != vma->inode || pidfd_exited(cl->mm->pidfd)) {
		close(fd);
		return -EAGAIN;
	}
	/*
	 * A file the client can still shrink would turn our accesses into
	 * SIGBUS for the whole daemon: map only files sealed against
	 * shrinking that cover the range now (ugpu_host_alloc memory is);
	 * anything else is reached through the DMA port, which fails
	 * cleanly.
	 */
	seals = fcntl(fd, F_GET_SEALS);
	if (seals < 0 || !(seals & F_SEAL_SHRINK) ||
	    (uint64_t)st.st_size < vma->pgoff + (addr - vma->start) + len) {
		close(fd);
		return MAP_SHARED_UNSAFE;
	}
	p = mmap(NULL, len, PROT_READ | (write ? PROT_WRITE : 0), MAP_SHARED, fd,
		 vma->pgoff + (addr - vma->start));
	close(fd);
	if (p == MAP_FAILED)
		return -EFAULT;
	seg->host = p;
	seg->map_len = len;
	seg->writable = write;
	return 0;
}

static int add_seg(struct gpu_up_seg **segs, unsigned int *n, unsigned int *cap,
		   struct gpu_up_seg **out)
{
	struct gpu_up_seg *s;

	if (*n == *cap) {
		*cap = *cap ? *cap * 2 : 2;
		s = realloc(*segs, *cap * sizeof(*s));
		if (!s)
			return -ENOMEM;
		*segs = s;
	}
	*out = &(*segs)[(*n)++];
	return 0;
}

/*
 * Look up what backs the client range [addr, end) of @up now, appending
 * segments. A hole fails with -EFAULT, or with @partial is skipped (a
 * fault-mode VM maps what is there and faults on the rest).
 */
static int get_range(struct gpu_userptr *up, uint64_t addr, uint64_t end, bool partial,
		     struct gpu_up_seg **segs, unsigned int *n, unsigned int *cap)
{
	struct gpu_client *cl = up->vm->client;
	struct gpu_up_seg *s;
	struct vma_info vma;
	int ret;

	while (addr < end) {
		ret = gpu_client_vma_find(cl, addr, partial, &vma);
		if (ret == -ENOENT && partial)
			return 0;
		if (ret)
			return ret == -ENOENT ? -EFAULT : ret;
		if (vma.start > addr) {
			if (!partial)
				return -EFAULT;
			addr = vma.start;
			continue;
		}
		ret = add_seg(segs, n, cap, &s);
		if (ret)
			return ret;
		*s = (struct gpu_up_seg){
			.off = addr - up->addr,
			.len = (vma.end < end ? vma.end : end) - addr,
			.writable = vma.prot & VMA_WRITE,
			.vma_start = vma.start,
			.vma_end = vma.end,
			.vma_prot = vma.prot,
			.vma_inode = vma.inode,
		};
		if ((vma.prot & VMA_SHARED) && (vma.prot & VMA_READ) && vma.inode) {
			ret = map_shared(cl, &vma, addr, s->len,
					 (vma.prot & VMA_WRITE) &&
					 !(up->flags & UGPU_VM_BIND_FLAG_READONLY), s);
			if (ret == MAP_SHARED_UNSAFE)
				ret = 0;	/* through the port */
			if (ret) {
				(*n)--;
				return ret;
			}
		}
		addr += s->len;
	}
	return 0;
}

/* Look up what backs every piece of @up still bound in the VM. */
static int get_pages(struct gpu_userptr *up, struct gpu_up_seg **out, unsigned int *nout)
{
	bool partial = up->vm->flags & UGPU_VM_CREATE_FAULT_MODE;
	struct gpu_up_seg *segs = NULL;
	unsigned int n = 0, cap = 0;
	struct va_mapping *m;
	int ret = 0;

	/* Only what is still bound: an unbound middle may be unmapped. */
	va_for_each_mapping(m, &up->vm->va, up->va, up->size) {
		if (m->obj != up)
			continue;
		ret = get_range(up, up->addr + m->offset,
				up->addr + m->offset + va_mapping_size(m), partial,
				&segs, &n, &cap);
		if (ret)
			break;
	}
	if (ret) {
		free_segs(segs, n);
		return ret;
	}
	*out = segs;
	*nout = n;
	return 0;
}

int gpu_userptr_map_piece(struct gpu_userptr *up, const struct va_mapping *m)
{
	uint64_t off = m->offset, end = m->offset + va_mapping_size(m);
	struct dma_port *port = NULL;
	int ret;

	for (unsigned int i = 0; i < up->nsegs && off < end; i++) {
		struct gpu_up_seg *s = &up->segs[i];
		struct dev_backing b = { 0 };
		uint64_t lo, hi;
		uint32_t flags = 0;

		lo = off > s->off ? off : s->off;
		hi = end < s->off + s->len ? end : s->off + s->len;
		if (lo >= hi)
			continue;
		/* Both kinds name the client's port: its gate guards them. */
		if (!port) {
			ret = gpu_client_port(up->vm->client, &port);
			if (ret)
				return ret == -ESRCH ? -EFAULT : ret;
		}
		b.port = port;
		if (s->host) {
			b.kind = DEV_BACKING_HOST;
			b.host = (char *)s->host + (lo - s->off);
			if (s->writable)
				flags |= DEV_MAP_WRITE;
		} else {
			b.kind = DEV_BACKING_PORT;
			b.addr = up->addr + lo;
			/* The port checks the client's protections at each write. */
			flags |= DEV_MAP_WRITE;
		}
		if (up->flags & UGPU_VM_BIND_FLAG_READONLY)
			flags &= ~DEV_MAP_WRITE;
		ret = dev_vm_map(up->vm->dvm, va_mapping_va(m) + (lo - m->offset), hi - lo,
				 &b, flags);
		if (ret)
			return ret;
		off = hi;
	}
	return 0;
}

static void free_regs(struct uffd_watch *w, struct gpu_up_reg *regs, unsigned int n)
{
	for (unsigned int i = 0; i < n; i++)
		if (regs[i].linked && w)
			uffd_watch_unregister(w, &regs[i].reg);
	free(regs);
}

/* Append [start, start + len) to a range list being built. */
static int add_range(struct gpu_up_reg **rs, unsigned int *n, unsigned int *cap,
		     uint64_t start, uint64_t len)
{
	struct gpu_up_reg *r;

	if (*n == *cap) {
		*cap = *cap ? *cap * 2 : 2;
		r = realloc(*rs, *cap * sizeof(*r));
		if (!r)
			return -ENOMEM;
		*rs = r;
	}
	(*rs)[(*n)++] = (struct gpu_up_reg){ .start = start, .len = len };
	return 0;
}

/*
 * The client ranges @up needs events for: its pieces still bound, and in
 * a fault-mode VM only their mapped parts (one range per VMA), since a
 * hole there is allowed and registration needs mapped memory.
 */
static int wanted_ranges(struct gpu_userptr *up, struct gpu_up_reg **out, unsigned int *nout)
{
	bool partial = up->vm->flags & UGPU_VM_CREATE_FAULT_MODE;
	struct gpu_up_reg *rs = NULL;
	unsigned int n = 0, cap = 0;
	struct va_mapping *m;
	struct vma_info vma;
	int ret = 0;

	va_for_each_mapping(m, &up->vm->va, up->va, up->size) {
		uint64_t a = up->addr + m->offset, end = a + va_mapping_size(m);

		if (m->obj != up)
			continue;
		if (!partial) {
			ret = add_range(&rs, &n, &cap, a, end - a);
			if (ret)
				break;
			continue;
		}
		while (a < end && !(ret = gpu_client_vma_find(up->vm->client, a, true, &vma)) &&
		       vma.start < end) {
			uint64_t s = vma.start > a ? vma.start : a;
			uint64_t e = vma.end < end ? vma.end : end;

			ret = add_range(&rs, &n, &cap, s, e - s);
			if (ret)
				break;
			a = e;
		}
		if (ret == -ENOENT)
			ret = 0;
		if (ret)
			break;
	}
	if (ret) {
		free(rs);
		return ret;
	}
	*out = rs;
	*nout = n;
	return 0;
}

/*
 * Make sure events reach @up for every client range it needs, before its
 * pages are looked up (after munmap/MAP_FIXED the VMA now at an address
 * is not registered yet). Cheap when nothing changed: the same handles
 * are asked again and answer from the watcher's memory.
 */
static int register_ranges(struct gpu_userptr *up)
{
	struct uffd_watch *w = up->vm->client->mm->watch;
	struct gpu_up_reg *rs, *old = up->regs;
	unsigned int n, nold = up->nregs;
	bool same;
	int ret;

	ret = wanted_ranges(up, &rs, &n);
	if (ret)
		return ret;
	same = n == nold;
	for (unsigned int i = 0; same && i < n; i++)
		same = rs[i].start == old[i].start && rs[i].len == old[i].len;
	if (same) {
		free(rs);
		rs = old;
	} else {
		for (unsigned int i = 0; i < n; i++)
			uffd_watch_reg_init(&rs[i].reg);
	}
	for (unsigned int i = 0; i < n; i++) {
		ret = uffd_watch_register(w, &rs[i].reg, rs[i].start, rs[i].len);
		/*
		 * Memory userfaultfd cannot watch (MAP_DROPPABLE; regular
		 * files before Linux 6.7) now sits at a bound address: no
		 * event would tell us when it goes, so it is not used.
		 */
		if (ret == -EINVAL)
			ret = -EFAULT;
		if (ret)
			break;
		rs[i].linked = rs[i].reg.linked;
	}
	if (!same) {
		/* New handles first, so spans both need stay registered. */
		up->regs = rs;
		up->nregs = n;
		free_regs(w, old, nold);
	}
	return ret;
}

static bool needs_exec_check(const struct gpu_userptr *up)
{
	for (unsigned int i = 0; i < up->nsegs; i++)
		if (up->segs[i].host)
			return true;
	return false;
}

/* Drop @up's pages as an invalidation would. vm->lock held. */
static void invalidate_locally(struct gpu_userptr *up)
{
	struct gpu_vm *vm = up->vm;

	pthread_rwlock_wrlock(&vm->notifier_lock);
	up->inval_commit = vm->commit_seq;
	if (up->valid) {
		zap_pieces(up);
		up->valid = false;
	}
	if (!list_linked(&up->inval_link))
		list_add_tail(&up->inval_link, &vm->invalidated);
	pthread_rwlock_unlock(&vm->notifier_lock);
	list_del_init(&up->check_link);
}

/*
 * What userfaultfd cannot report - an mprotect of shared memory the
 * daemon maps itself - is caught here, at every exec, for the userptrs
 * that need it: each such segment's VMA must be the one it was mapped
 * from (same bounds, protection and file). vm->lock held.
 */
void gpu_vm_check_userptrs(struct gpu_vm *vm)
{
	struct gpu_userptr *up, *tmp;
	struct vma_info vma;

	list_for_each_entry_safe(up, tmp, &vm->checked, check_link) {
		for (unsigned int i = 0; i < up->nsegs; i++) {
			const struct gpu_up_seg *sg = &up->segs[i];

			if (gpu_client_vma_find(vm->client, up->addr + sg->off, false, &vma) ||
			    vma.start != sg->vma_start || vma.end != sg->vma_end ||
			    vma.prot != sg->vma_prot || vma.inode != sg->vma_inode) {
				invalidate_locally(up);
				break;
			}
		}
	}
}

/*
 * Make @up's pages current and map them. vm->lock held. Return 0, -EFAULT
 * (part of the range is unmapped or the client is gone), -EAGAIN (kept
 * colliding with invalidations), -errno.
 */
int gpu_userptr_revalidate(struct gpu_userptr *up)
{
	struct gpu_vm *vm = up->vm;
	struct gpu_client *cl = vm->client;
	struct gpu_up_seg *segs, *old;
	unsigned int nsegs, nold;
	struct va_mapping *m;
	uint64_t seq;
	int ret;

	if (cl->mm->exited || !cl->mm->watch)
		return -EFAULT;
	for (int tries = 0; tries < REVALIDATE_TRIES; tries++) {
		ret = register_ranges(up);
		if (ret == -EAGAIN)
			continue;
		if (ret)
			return ret == -ESRCH ? -EFAULT : ret;

		seq = notifier_read_begin(&up->notifier);
		ret = get_pages(up, &segs, &nsegs);
		if (ret == -EAGAIN)
			continue;
		if (ret)
			return ret;

		pthread_rwlock_wrlock(&vm->notifier_lock);
		if (notifier_read_retry(&up->notifier, seq)) {
			pthread_rwlock_unlock(&vm->notifier_lock);
			free_segs(segs, nsegs);
			__atomic_add_fetch(&cl->c.exec_retries, 1, __ATOMIC_RELAXED);
			__atomic_add_fetch(&cl->gpu->c.exec_retries, 1, __ATOMIC_RELAXED);
			continue;
		}
		old = up->segs;
		nold = up->nsegs;
		up->segs = segs;
		up->nsegs = nsegs;
		ret = 0;
		va_for_each_mapping(m, &vm->va, up->va, up->size)
			if (m->obj == up && !ret)
				ret = gpu_userptr_map_piece(up, m);
		if (ret) {
			zap_pieces(up);
		} else {
			up->valid = true;
			up->seq = seq;
			list_del_init(&up->inval_link);
		}
		pthread_rwlock_unlock(&vm->notifier_lock);
		list_del_init(&up->check_link);
		if (!ret && needs_exec_check(up))
			list_add_tail(&up->check_link, &vm->checked);
		/* The PTEs no longer point into the old segments. */
		free_segs(old, nold);
		return ret;
	}
	return -EAGAIN;
}

int gpu_userptr_create(struct gpu_vm *vm, uint64_t va, uint64_t addr, uint64_t size,
		       uint32_t flags, struct gpu_userptr **out)
{
	struct gpu_client *cl = vm->client;
	struct gpu_userptr *up;
	int ret;

	up = calloc(1, sizeof(*up));
	if (!up)
		return -ENOMEM;
	up->obj.kind = GPU_OBJ_USERPTR;
	up->vm = vm;
	up->addr = addr;
	up->size = size;
	up->va = va;
	up->flags = flags & UGPU_VM_BIND_FLAG_READONLY;
	list_init(&up->inval_link);
	list_init(&up->vm_link);
	list_init(&up->check_link);

	ret = notifier_insert(&up->notifier, &cl->mm->nmm, addr, size, &up_notifier_ops);
	if (ret)
		goto err_free;
	/*
	 * Register now so that a range the client registered to its own
	 * userfaultfd (-EBUSY) or memory that cannot be watched (-EINVAL) is
	 * refused at bind. An unmapped range is fine unless PROBE asked: the
	 * binding is lazy and the exec reports it.
	 */
	up->regs = calloc(1, sizeof(*up->regs));
	if (!up->regs) {
		ret = -ENOMEM;
		goto err_remove;
	}
	up->nregs = 1;
	up->regs[0].start = addr;
	up->regs[0].len = size;
	uffd_watch_reg_init(&up->regs[0].reg);
	ret = uffd_watch_register(cl->mm->watch, &up->regs[0].reg, addr, size);
	up->regs[0].linked = up->regs[0].reg.linked;
	/* -EINVAL: memory userfaultfd cannot watch, refused (see above). */
	if (ret == -EFAULT && !(flags & UGPU_VM_BIND_FLAG_PROBE))
		ret = 0;
	else if (ret == -ESRCH)
		ret = -EFAULT;
	if (ret)
		goto err_remove;

	pthread_rwlock_wrlock(&vm->notifier_lock);
	list_add_tail(&up->inval_link, &vm->invalidated);
	pthread_rwlock_unlock(&vm->notifier_lock);
	list_add_tail(&up->vm_link, &vm->userptrs);
	cl->nuserptrs++;
	cl->gpu->nuserptrs++;
	*out = up;
	return 0;

err_remove:
	free_regs(cl->mm->watch, up->regs, up->nregs);
	notifier_remove(&up->notifier);
err_free:
	free(up);
	return ret;
}

/* The last mapping of @up went away. vm->lock held. */
void gpu_userptr_put(struct gpu_userptr *up)
{
	struct gpu_vm *vm = up->vm;
	struct gpu_client *cl = vm->client;

	if (--up->refs)
		return;
	notifier_remove(&up->notifier);
	free_regs(cl->mm->watch, up->regs, up->nregs);
	pthread_rwlock_wrlock(&vm->notifier_lock);
	list_del_init(&up->inval_link);
	pthread_rwlock_unlock(&vm->notifier_lock);
	list_del_init(&up->vm_link);
	list_del_init(&up->check_link);
	free_segs(up->segs, up->nsegs);
	cl->nuserptrs--;
	cl->gpu->nuserptrs--;
	free(up);
}

int gpu_vm_revalidate_userptrs(struct gpu_vm *vm)
{
	struct gpu_userptr *up;
	int ret;

	for (;;) {
		pthread_rwlock_rdlock(&vm->notifier_lock);
		up = list_empty(&vm->invalidated) ? NULL :
		     list_first_entry(&vm->invalidated, struct gpu_userptr, inval_link);
		pthread_rwlock_unlock(&vm->notifier_lock);
		if (!up)
			return 0;
		ret = gpu_userptr_revalidate(up);
		if (ret)
			return ret;
	}
}

bool gpu_vm_userptrs_current(struct gpu_vm *vm)
{
	/* Under vm->notifier_lock (read): pairs with up_invalidate(). */
	return list_empty(&vm->invalidated) && !gate_closing(&vm->client->mm->gate) &&
	       !(vm->client->mm->watch && uffd_watch_pending(vm->client->mm->watch));
}

static bool seg_covers(const struct gpu_userptr *up, uint64_t off)
{
	for (unsigned int i = 0; i < up->nsegs; i++)
		if (off >= up->segs[i].off && off - up->segs[i].off < up->segs[i].len)
			return true;
	return false;
}

int gpu_vm_fault(struct dev_vm *dvm, void *priv, const struct dev_fault *f)
{
	struct gpu_vm *vm = priv;
	struct va_mapping *m;
	struct gpu_obj *obj;
	int ret = -EFAULT;

	pthread_mutex_lock(&vm->lock);
	if (vm->dead) {
		pthread_mutex_unlock(&vm->lock);
		return -EFAULT;
	}
	m = va_find(&vm->va, f->va);
	obj = m ? m->obj : NULL;
	if (obj && obj->kind == GPU_OBJ_USERPTR && f->kind == DEV_FAULT_NOT_PRESENT) {
		struct gpu_userptr *up = (struct gpu_userptr *)obj;
		uint64_t off = m->offset + (f->va - va_mapping_va(m));

		ret = gpu_userptr_revalidate(up);
		/* Progress only if the faulting page is backed now. */
		if (!ret && !seg_covers(up, off))
			ret = -EFAULT;
	}
	pthread_mutex_unlock(&vm->lock);
	return ret;
}
