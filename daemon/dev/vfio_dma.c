// SPDX-License-Identifier: MIT
/*
 * How the device reaches daemon memory: the IOVA allocator over the
 * ranges the IOMMU reports usable, the parser of the capability chain
 * that reports them, and the table of DMA mappings with reference counts
 * and per-user accounting.
 *
 * DOC: IOVA allocator
 *
 * A sorted array of free closed extents [start, last], kept disjoint and
 * never adjacent (a free merges with both neighbours). Allocation is
 * first fit inside a window [min, max] (a device's reach: its DMA mask,
 * or a floor that forces 64-bit addresses). Freeing checks that the
 * range lies inside one usable range and overlaps no free extent, so a
 * double free is refused instead of corrupting the list. Reserved holes
 * such as x86's MSI window 0xfee00000-0xfeefffff are simply absent from
 * the usable ranges.
 *
 * DOC: DMA table
 *
 * Under type1 v2 an unmap may not split a mapping, so a mapping is
 * exactly what one vfio_dma_map() call asked for, keyed by (host, size,
 * write). Mapping the same key again takes a reference; the last
 * vfio_dma_unmap() unmaps it, which also flushes the IOTLB, so the
 * device cannot reach the pages after it returns. Each reference is
 * charged to the caller's account (bytes and count), checked against its
 * limit before anything is pinned.
 *
 * DOC: Read-only mappings and the zero page
 *
 * The kernel pins a read-only mapping without write access, and a page
 * of private anonymous memory the daemon never wrote is the shared zero
 * page: the device would keep reading zeros after the CPU's first write
 * gave the address a page of its own (measured on the check-hw guest's
 * 6.1 kernel). So the range is prefaulted writable first
 * (MADV_POPULATE_WRITE), which gives every page its own frame without
 * changing its contents; it fails harmlessly on memory the daemon may
 * not write, whose pages cannot change under the pin either.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>

#include "dev/vfio_internal.h"

#define PAGE	VFIO_PAGE_SIZE

/* ---- IOVA allocator ---- */

static int cmp_range(const void *a, const void *b)
{
	const struct vfio_range *x = a, *y = b;

	return x->start < y->start ? -1 : x->start > y->start;
}

int vfio_iova_init(struct vfio_iova *a, const struct vfio_range *ranges, unsigned int n)
{
	struct vfio_range *r;
	unsigned int i, k = 0;

	memset(a, 0, sizeof(*a));
	if (!n || n > VFIO_MAX_IOVA_RANGES)
		return -EINVAL;
	for (i = 0; i < n; i++) {
		uint64_t s = ranges[i].start, l = ranges[i].last;

		if (s > l)
			return -EINVAL;
		if (!s)
			s = PAGE;	/* IOVA 0 is never handed out */
		if (s & (PAGE - 1)) {
			if (s > UINT64_MAX - PAGE)
				continue;
			s = (s | (PAGE - 1)) + 1;
		}
		if (l != UINT64_MAX && ((l + 1) & (PAGE - 1))) {
			if (l + 1 < PAGE)
				continue;	/* no whole page below l */
			l = ((l + 1) & ~(PAGE - 1)) - 1;
		}
		if (s > l || l - s + 1 < PAGE)
			continue;
		a->ranges[k++] = (struct vfio_range){ s, l };
	}
	qsort(a->ranges, k, sizeof(a->ranges[0]), cmp_range);
	/* Overlap is checked on the originals: shrinking could hide it. */
	for (i = 0; i < n; i++)
		for (unsigned int j = i + 1; j < n; j++)
			if (ranges[i].start <= ranges[j].last && ranges[j].start <= ranges[i].last)
				return -EINVAL;
	if (!k)
		return -ENOSPC;
	r = malloc(k * sizeof(*r));
	if (!r)
		return -ENOMEM;
	memcpy(r, a->ranges, k * sizeof(*r));
	a->nranges = k;
	a->free = r;
	a->nfree = a->cap = k;
	for (i = 0; i < k; i++)
		a->free_bytes += r[i].last - r[i].start + 1;	/* a full 2^64 cannot occur */
	return 0;
}

void vfio_iova_fini(struct vfio_iova *a)
{
	free(a->free);
	a->free = NULL;
	a->nfree = a->cap = 0;
	a->free_bytes = 0;
}

static int reserve(struct vfio_iova *a, unsigned int more)
{
	struct vfio_range *r;
	unsigned int cap;

	if (a->nfree + more <= a->cap)
		return 0;
	cap = a->cap * 2 + more;
	r = realloc(a->free, cap * sizeof(*r));
	if (!r)
		return -ENOMEM;
	a->free = r;
	a->cap = cap;
	return 0;
}

static void remove_at(struct vfio_iova *a, unsigned int i)
{
	memmove(&a->free[i], &a->free[i + 1], (a->nfree - i - 1) * sizeof(a->free[0]));
	a->nfree--;
}

static void insert_at(struct vfio_iova *a, unsigned int i, struct vfio_range r)
{
	memmove(&a->free[i + 1], &a->free[i], (a->nfree - i) * sizeof(a->free[0]));
	a->free[i] = r;
	a->nfree++;
}

int vfio_iova_alloc(struct vfio_iova *a, uint64_t size, uint64_t min, uint64_t max,
		    uint64_t *iova)
{
	unsigned int i;

	if (!size || (size & (PAGE - 1)) || min > max)
		return -EINVAL;
	if (min & (PAGE - 1))
		min = min > UINT64_MAX - PAGE ? UINT64_MAX : (min | (PAGE - 1)) + 1;
	for (i = 0; i < a->nfree; i++) {
		struct vfio_range *f = &a->free[i];
		uint64_t s = f->start > min ? f->start : min;
		uint64_t l = f->last < max ? f->last : max;

		if (s > l || l - s < size - 1)
			continue;
		/* Carve [s, s + size - 1]; keep what is left on either side. */
		if (s > f->start && s + size - 1 < f->last) {
			if (reserve(a, 1))
				return -ENOMEM;
			f = &a->free[i];
			insert_at(a, i + 1, (struct vfio_range){ s + size, f->last });
			a->free[i].last = s - 1;
		} else if (s > f->start) {
			f->last = s - 1;
		} else if (s + size - 1 < f->last) {
			f->start = s + size;
		} else {
			remove_at(a, i);
		}
		a->free_bytes -= size;
		*iova = s;
		return 0;
	}
	return -ENOSPC;
}

int vfio_iova_free(struct vfio_iova *a, uint64_t iova, uint64_t size)
{
	uint64_t last = iova + size - 1;
	unsigned int i;
	bool inside = false;

	if (!size || (size & (PAGE - 1)) || (iova & (PAGE - 1)) || last < iova)
		return -EINVAL;
	for (i = 0; i < a->nranges; i++)
		if (a->ranges[i].start <= iova && last <= a->ranges[i].last)
			inside = true;
	if (!inside)
		return -EINVAL;
	/* i: the first free extent starting after iova. */
	for (i = 0; i < a->nfree && a->free[i].start <= iova; i++)
		;
	if (i > 0 && a->free[i - 1].last >= iova)
		return -EINVAL;
	if (i < a->nfree && a->free[i].start <= last)
		return -EINVAL;
	if (reserve(a, 1))
		return -ENOMEM;
	insert_at(a, i, (struct vfio_range){ iova, last });
	/* Merge with the right, then the left neighbour. */
	if (i + 1 < a->nfree && a->free[i].last + 1 == a->free[i + 1].start) {
		a->free[i].last = a->free[i + 1].last;
		remove_at(a, i + 1);
	}
	if (i > 0 && a->free[i - 1].last + 1 == a->free[i].start) {
		a->free[i - 1].last = a->free[i].last;
		remove_at(a, i);
	}
	a->free_bytes += size;
	return 0;
}

/* ---- VFIO_IOMMU_GET_INFO capability chain ---- */

int vfio_parse_iova_ranges(const void *info, size_t len, struct vfio_range *ranges,
			   unsigned int max)
{
	const struct vfio_iommu_type1_info *hdr = info;
	const uint8_t *base = info;
	uint32_t off;
	unsigned int hops = 0;

	if (len < sizeof(*hdr))
		return -EINVAL;
	if (!(hdr->flags & VFIO_IOMMU_INFO_CAPS) || !hdr->cap_offset)
		return 0;
	for (off = hdr->cap_offset; off; ) {
		struct vfio_info_cap_header ch;

		/* Caps follow the fixed part; each hop moves forward. */
		if (off < sizeof(*hdr) || off > len || len - off < sizeof(ch) || ++hops > 64)
			return -EINVAL;
		memcpy(&ch, base + off, sizeof(ch));
		if (ch.id == VFIO_IOMMU_TYPE1_INFO_CAP_IOVA_RANGE) {
			struct vfio_iommu_type1_info_cap_iova_range cap;
			uint64_t need;

			if (len - off < sizeof(cap))
				return -EINVAL;
			memcpy(&cap, base + off, sizeof(cap));
			need = sizeof(cap) + (uint64_t)cap.nr_iovas * sizeof(struct vfio_iova_range);
			if (len - off < need)
				return -EINVAL;
			if (cap.nr_iovas > max)
				return -E2BIG;
			for (uint32_t i = 0; i < cap.nr_iovas; i++) {
				struct vfio_iova_range r;

				memcpy(&r, base + off + sizeof(cap) + i * sizeof(r), sizeof(r));
				if (r.start > r.end)
					return -EINVAL;
				ranges[i] = (struct vfio_range){ r.start, r.end };
			}
			return cap.nr_iovas;
		}
		if (ch.next && ch.next <= off)
			return -EINVAL;
		off = ch.next;
	}
	return 0;
}

/* ---- the DMA table ---- */

static unsigned int bucket(uint64_t key)
{
	return (unsigned int)((key >> 12) * 0x9e3779b97f4a7c15ull >> 54) & (VFIO_DMA_BUCKETS - 1);
}

static struct vfio_dma *find_host(struct vfio_dev *v, uintptr_t host, uint64_t size, bool write)
{
	struct vfio_dma *d;

	for (d = v->by_host[bucket(host)]; d; d = d->next_host)
		if (d->host == host && d->size == size && d->write == write)
			return d;
	return NULL;
}

static void unlink_dma(struct vfio_dev *v, struct vfio_dma *d)
{
	struct vfio_dma **pp;

	for (pp = &v->by_host[bucket(d->host)]; *pp != d; pp = &(*pp)->next_host)
		;
	*pp = d->next_host;
	for (pp = &v->by_iova[bucket(d->iova)]; *pp != d; pp = &(*pp)->next_iova)
		;
	*pp = d->next_iova;
}

static int charge(struct vfio_account *acct, uint64_t size)
{
	if (!acct)
		return 0;
	if (acct->limit && (acct->bytes + size < acct->bytes || acct->bytes + size > acct->limit))
		return -EDQUOT;
	acct->bytes += size;
	acct->maps++;
	return 0;
}

static void uncharge(struct vfio_account *acct, uint64_t size)
{
	if (!acct)
		return;
	acct->bytes -= size;
	acct->maps--;
}

/* Unmap from the IOMMU and free the IOVA; lock held. */
static int iommu_unmap(struct vfio_dev *v, uint64_t iova, uint64_t size)
{
	struct vfio_iommu_type1_dma_unmap um = {
		.argsz = sizeof(um), .iova = iova, .size = size,
	};

	if (ioctl(v->container_fd, VFIO_IOMMU_UNMAP_DMA, &um) < 0)
		return -errno;
	v->st.dma_unmaps++;
	v->st.dma_bytes -= size;
	vfio_iova_free(&v->iova, iova, size);
	return 0;
}

static int iommu_map(struct vfio_dev *v, uintptr_t host, uint64_t size, bool write,
		     uint64_t *iova)
{
	struct vfio_iommu_type1_dma_map m = {
		.argsz = sizeof(m),
		.flags = VFIO_DMA_MAP_FLAG_READ | (write ? VFIO_DMA_MAP_FLAG_WRITE : 0),
		.vaddr = host,
		.size = size,
	};
	uint64_t at;
	int ret;

	ret = vfio_iova_alloc(&v->iova, size, v->win_min, v->win_max, &at);
	if (ret == -ENOSPC && v->win_min)
		ret = vfio_iova_alloc(&v->iova, size, 0, v->win_max, &at);
	if (ret)
		return ret;
	m.iova = at;
	if (ioctl(v->container_fd, VFIO_IOMMU_MAP_DMA, &m) < 0) {
		ret = -errno;
		vfio_iova_free(&v->iova, m.iova, size);
		return ret;
	}
	v->st.dma_maps++;
	v->st.dma_bytes += size;
	*iova = m.iova;
	return 0;
}

int vfio_set_dma_window(struct vfio_dev *v, uint64_t min, uint64_t max)
{
	if (min > max)
		return -EINVAL;
	pthread_mutex_lock(&v->lock);
	v->win_min = min;
	v->win_max = max;
	pthread_mutex_unlock(&v->lock);
	return 0;
}

int vfio_dma_map(struct vfio_dev *v, void *host, uint64_t size, bool write,
		 struct vfio_account *acct, uint64_t *iova)
{
	uintptr_t h = (uintptr_t)host;
	struct vfio_dma *d;
	int ret;

	if (!h || (h & (PAGE - 1)) || !size || (size & (PAGE - 1)))
		return -EINVAL;
	if (h + size < h)
		return -EOVERFLOW;
	pthread_mutex_lock(&v->lock);
	ret = charge(acct, size);
	if (ret)
		goto out;
	d = find_host(v, h, size, write);
	if (d) {
		d->refs++;
		v->st.dma_shared++;
		*iova = d->iova;
		goto out;
	}
	d = calloc(1, sizeof(*d));
	if (!d) {
		ret = -ENOMEM;
		goto err_charge;
	}
	if (!write)
		madvise(host, size, MADV_POPULATE_WRITE);
	ret = iommu_map(v, h, size, write, &d->iova);
	if (ret)
		goto err_free;
	d->host = h;
	d->size = size;
	d->write = write;
	d->refs = 1;
	d->next_host = v->by_host[bucket(h)];
	v->by_host[bucket(h)] = d;
	d->next_iova = v->by_iova[bucket(d->iova)];
	v->by_iova[bucket(d->iova)] = d;
	*iova = d->iova;
	goto out;

err_free:
	free(d);
err_charge:
	uncharge(acct, size);
out:
	pthread_mutex_unlock(&v->lock);
	return ret;
}

int vfio_dma_unmap(struct vfio_dev *v, uint64_t iova, struct vfio_account *acct)
{
	struct vfio_dma *d;
	int ret = 0;

	pthread_mutex_lock(&v->lock);
	for (d = v->by_iova[bucket(iova)]; d && d->iova != iova; d = d->next_iova)
		;
	if (!d) {
		ret = -ENOENT;
		goto out;
	}
	uncharge(acct, d->size);
	if (--d->refs)
		goto out;
	unlink_dma(v, d);
	/* A failed unmap leaves the IOVA allocated: never hand it out again. */
	iommu_unmap(v, d->iova, d->size);
	free(d);
out:
	pthread_mutex_unlock(&v->lock);
	return ret;
}

void vfio_dma_unmap_all(struct vfio_dev *v)
{
	pthread_mutex_lock(&v->lock);
	for (unsigned int b = 0; b < VFIO_DMA_BUCKETS; b++) {
		while (v->by_iova[b]) {
			struct vfio_dma *d = v->by_iova[b];

			unlink_dma(v, d);
			iommu_unmap(v, d->iova, d->size);
			free(d);
		}
	}
	pthread_mutex_unlock(&v->lock);
}

void vfio_get_stats(struct vfio_dev *v, struct vfio_stats *st)
{
	pthread_mutex_lock(&v->lock);
	*st = v->st;
	pthread_mutex_unlock(&v->lock);
}
