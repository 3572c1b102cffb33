/* SPDX-License-Identifier: MIT */
/*
 * The VFIO layer every PCI GPU backend uses: find a device's IOMMU group
 * through sysfs, own it through the container/group API with the TYPE1v2
 * IOMMU, read its regions and config space (bus mastering on), mmap its
 * BARs, route its interrupts (INTx, MSI, MSI-X) to eventfds, reset it,
 * and map daemon memory for its DMA at IOVAs taken from the ranges the
 * IOMMU reports (VFIO_IOMMU_GET_INFO), with reference counts (one page
 * mapped by two users is pinned once) and per-user accounting. The pure
 * parts (BDF parsing, the sysfs lookup under any root, the IOVA
 * allocator, the capability-chain parser, region bounds) have no VFIO
 * dependency and are unit-tested without a device. iommufd is not used:
 * the kernels and headers this project targets lack it, and the
 * container API works on every kernel (notes/vfio-on-qemu-edu.md).
 *
 * Threads: every call on one struct vfio_dev may come from any thread;
 * the DMA table and the IOVA allocator are under the device's lock.
 */
#ifndef UGPU_DEV_VFIO_H
#define UGPU_DEV_VFIO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* "dddd:bb:dd.f" and the NUL. */
#define VFIO_BDF_LEN		13
#define VFIO_PAGE_SIZE		4096ull
#define VFIO_MAX_IOVA_RANGES	32

/**
 * struct vfio_range - a closed interval of IOVAs [@start, @last]
 * @start: first IOVA
 * @last:  last IOVA (inclusive, so a range can end at 2^64 - 1)
 */
struct vfio_range {
	uint64_t start;
	uint64_t last;
};

/**
 * struct vfio_iova - an IOVA allocator: a sorted list of free extents
 * @ranges:  the usable ranges it was made from (for free() checks)
 * @nranges: how many
 * @free:    free extents, sorted, disjoint, never adjacent
 * @nfree:   how many
 * @cap:     room in @free
 * @free_bytes: sum of the free extents' sizes
 *
 * Everything is page-granular (VFIO_PAGE_SIZE). Not locked: the owner
 * (struct vfio_dev) locks it.
 */
struct vfio_iova {
	struct vfio_range ranges[VFIO_MAX_IOVA_RANGES];
	unsigned int nranges;
	struct vfio_range *free;
	unsigned int nfree, cap;
	uint64_t free_bytes;
};

/**
 * vfio_iova_init - an allocator over @n usable ranges
 * @a:      the allocator
 * @ranges: closed intervals in any order, not overlapping; each is
 *          shrunk to whole pages (a range without a whole page is dropped)
 * @n:      1..VFIO_MAX_IOVA_RANGES
 *
 * IOVA 0 is never handed out (0 reads as "no address" in device
 * registers), so a range starting at 0 starts at the next page.
 * Return: 0, -EINVAL (no ranges, too many, overlapping, inverted),
 * -ENOSPC (no whole page left), -ENOMEM.
 */
int vfio_iova_init(struct vfio_iova *a, const struct vfio_range *ranges, unsigned int n);

/**
 * vfio_iova_fini - free the allocator's memory
 * @a: the allocator
 */
void vfio_iova_fini(struct vfio_iova *a);

/**
 * vfio_iova_alloc - take @size bytes of IOVA, first fit, inside [@min, @max]
 * @a:    the allocator
 * @size: a non-zero multiple of VFIO_PAGE_SIZE
 * @min:  lowest acceptable first IOVA (a device's window)
 * @max:  highest acceptable last IOVA (e.g. its DMA mask)
 * @iova: receives the first IOVA, page-aligned
 *
 * Return: 0, -EINVAL (size), -ENOSPC (no free extent fits), -ENOMEM.
 */
int vfio_iova_alloc(struct vfio_iova *a, uint64_t size, uint64_t min, uint64_t max,
		    uint64_t *iova);

/**
 * vfio_iova_free - give back [@iova, @iova + @size)
 * @a:    the allocator
 * @iova: page-aligned
 * @size: a non-zero multiple of VFIO_PAGE_SIZE
 *
 * Return: 0, or -EINVAL if the range is misaligned, outside every usable
 * range, or overlaps free space (a double free); nothing changes then.
 */
int vfio_iova_free(struct vfio_iova *a, uint64_t iova, uint64_t size);

/**
 * vfio_parse_iova_ranges - the usable IOVA ranges of a
 * VFIO_IOMMU_GET_INFO reply
 * @info:   the reply (struct vfio_iommu_type1_info, then its capability
 *          chain)
 * @len:    bytes of @info that are valid
 * @ranges: receives up to @max ranges
 * @max:    room
 *
 * Walks the capability chain (offsets are from the start of @info), with
 * every offset and length checked against @len and loops refused.
 * Return: the number of ranges found (0 if the chain has no IOVA-range
 * capability: then the whole 64-bit space is usable, as older kernels
 * meant), or -EINVAL (malformed), -E2BIG (more than @max).
 */
int vfio_parse_iova_ranges(const void *info, size_t len, struct vfio_range *ranges,
			   unsigned int max);

/**
 * vfio_bdf_parse - check and normalize a PCI address
 * @s:   "dddd:bb:dd.f" or "bb:dd.f" (domain 0), hexadecimal, any case;
 *       the string ends there
 * @out: receives "dddd:bb:dd.f" in lower case
 *
 * Return: 0 or -EINVAL.
 */
int vfio_bdf_parse(const char *s, char out[VFIO_BDF_LEN]);

/**
 * vfio_sysfs_group - the IOMMU group number of PCI device @bdf
 * @sysfs: sysfs mount point ("/sys"), or a fake tree for tests
 * @bdf:   normalized address (vfio_bdf_parse())
 * @group: receives the number
 *
 * Reads the link <sysfs>/bus/pci/devices/<bdf>/iommu_group, whose last
 * component is the group number.
 * Return: 0, -ENODEV (no such device), -ENOENT (the device is in no IOMMU
 * group: no IOMMU, or it is off), -EINVAL (a link that is not a group).
 */
int vfio_sysfs_group(const char *sysfs, const char *bdf, int *group);

/**
 * vfio_sysfs_driver - the driver bound to PCI device @bdf
 * @sysfs: as for vfio_sysfs_group()
 * @bdf:   normalized address
 * @buf:   receives the driver's name ("vfio-pci")
 * @len:   room in @buf
 *
 * Return: 0, -ENODEV (no such device), -ENOENT (no driver bound),
 * -ENAMETOOLONG.
 */
int vfio_sysfs_driver(const char *sysfs, const char *bdf, char *buf, size_t len);

/**
 * struct vfio_region - one region of a device (BAR, ROM, config space)
 * @index:  VFIO_PCI_*_REGION_INDEX
 * @flags:  VFIO_REGION_INFO_FLAG_READ / WRITE / MMAP
 * @size:   bytes (0: the region does not exist)
 * @offset: where it lies in the device fd
 */
struct vfio_region {
	uint32_t index;
	uint32_t flags;
	uint64_t size;
	uint64_t offset;
};

/**
 * vfio_region_check - may [@off, @off + @len) of @r be accessed with @flags?
 * @r:     the region
 * @off:   offset inside it
 * @len:   non-zero bytes
 * @flags: the VFIO_REGION_INFO_FLAG_* the access needs
 *
 * Return: 0, -EINVAL (zero length, out of bounds, wrapping), -EACCES (the
 * region lacks a needed flag), -ENOENT (the region does not exist).
 */
int vfio_region_check(const struct vfio_region *r, uint64_t off, uint64_t len,
		      uint32_t flags);

/**
 * struct vfio_account - what one user (a client, a VM) has DMA-mapped
 * @bytes: mapped bytes charged to it (each reference counts)
 * @limit: the most it may map; 0 means no limit
 * @maps:  references it holds
 *
 * Owned by the caller; the vfio layer updates it under its lock, so read
 * it with the device quiet or accept a torn snapshot.
 */
struct vfio_account {
	uint64_t bytes;
	uint64_t limit;
	uint64_t maps;
};

/**
 * struct vfio_stats - counters of one device
 * @dma_maps, @dma_unmaps: VFIO_IOMMU_MAP_DMA / UNMAP_DMA calls
 * @dma_shared: map requests served by an existing mapping (refcount)
 * @dma_bytes: bytes mapped now
 * @resets: device resets done
 */
struct vfio_stats {
	uint64_t dma_maps, dma_unmaps, dma_shared, dma_bytes, resets;
};

struct vfio_dev;

/**
 * vfio_open - take PCI device @bdf through VFIO
 * @sysfs: sysfs root, NULL for "/sys"
 * @bdf:   PCI address (any form vfio_bdf_parse() takes)
 * @out:   receives the device
 *
 * Finds the group, checks it is viable (every device of the group bound
 * to vfio-pci or to no driver), opens a container with the TYPE1v2 IOMMU,
 * reads the usable IOVA ranges, gets the device fd and its region and
 * interrupt info.
 * Return: 0, -EINVAL (bad address), -ENODEV, -ENOENT (no IOMMU group),
 * -EBUSY (group not viable or already open), -EOPNOTSUPP (no TYPE1v2),
 * -EACCES/-EPERM, or an ioctl's -errno.
 */
int vfio_open(const char *sysfs, const char *bdf, struct vfio_dev **out);

/**
 * vfio_close - release everything: interrupts off, DMA mappings unmapped,
 * BAR mappings unmapped, fds closed
 * @v: the device, or NULL
 */
void vfio_close(struct vfio_dev *v);

/**
 * vfio_can_reset - does the device support VFIO_DEVICE_RESET?
 * @v: the device
 */
bool vfio_can_reset(const struct vfio_dev *v);

/**
 * vfio_iova_ranges - the usable IOVA ranges the IOMMU reported at open
 * @v:      the device
 * @ranges: receives up to @max of them, sorted
 * @max:    room
 *
 * Return: how many there are (may exceed @max: only @max are stored).
 */
unsigned int vfio_iova_ranges(struct vfio_dev *v, struct vfio_range *ranges, unsigned int max);

/**
 * vfio_get_region - one region's info, as read at open
 * @v:     the device
 * @index: VFIO_PCI_*_REGION_INDEX
 * @r:     receives it
 *
 * Return: 0 or -EINVAL (no such index).
 */
int vfio_get_region(struct vfio_dev *v, uint32_t index, struct vfio_region *r);

/**
 * vfio_region_read - read bytes of a region through the device fd
 * @v:     the device
 * @index: region
 * @off:   offset inside it
 * @buf:   destination
 * @len:   bytes
 *
 * Return: 0, vfio_region_check()'s errors, -EIO (short read), -errno.
 */
int vfio_region_read(struct vfio_dev *v, uint32_t index, uint64_t off, void *buf, size_t len);

/**
 * vfio_region_write - write bytes of a region through the device fd
 * @v: the device; @index, @off, @buf, @len as for vfio_region_read()
 *
 * Return: as vfio_region_read().
 */
int vfio_region_write(struct vfio_dev *v, uint32_t index, uint64_t off, const void *buf,
		      size_t len);

/**
 * vfio_region_mmap - map a whole region (a BAR) into the daemon
 * @v:     the device
 * @index: region; it must have VFIO_REGION_INFO_FLAG_MMAP
 * @out:   receives the address; the mapping lives until vfio_close()
 * @size:  receives the region's size
 *
 * Mapping the same region again returns the same address.
 * Return: 0, -EACCES (not mmappable), -ENOENT, -errno of mmap.
 */
int vfio_region_mmap(struct vfio_dev *v, uint32_t index, void **out, uint64_t *size);

/**
 * vfio_enable_bus_master - set memory decoding and bus mastering in the
 * command register (vfio-pci leaves mastering off: DMA then moves
 * nothing and MSIs are lost)
 * @v: the device
 *
 * Return: 0 or the config access's -errno.
 */
int vfio_enable_bus_master(struct vfio_dev *v);

/**
 * vfio_irq_count - how many vectors an interrupt index has
 * @v:     the device
 * @index: VFIO_PCI_INTX_IRQ_INDEX, _MSI_, _MSIX_
 *
 * Return: the count (0: not supported), or -EINVAL.
 */
int vfio_irq_count(struct vfio_dev *v, uint32_t index);

/**
 * vfio_irq_enable - route vectors [0, @n) of @index to eventfds
 * @v:     the device
 * @index: as for vfio_irq_count()
 * @fds:   one eventfd per vector (-1 leaves that vector unrouted)
 * @n:     1..vfio_irq_count()
 *
 * Replaces a previous routing of that index. An INTx line is masked by
 * the kernel when it fires; vfio_irq_unmask() it after handling.
 * Return: 0, -EINVAL (n), -errno of VFIO_DEVICE_SET_IRQS.
 */
int vfio_irq_enable(struct vfio_dev *v, uint32_t index, const int *fds, unsigned int n);

/**
 * vfio_irq_disable - stop routing every vector of @index
 * @v:     the device
 * @index: as for vfio_irq_count()
 *
 * Return: 0 or -errno.
 */
int vfio_irq_disable(struct vfio_dev *v, uint32_t index);

/**
 * vfio_irq_unmask - unmask the INTx line after its interrupt was handled
 * @v: the device
 *
 * Return: 0 or -errno.
 */
int vfio_irq_unmask(struct vfio_dev *v);

/**
 * vfio_reset - reset the device (function level or bus), where supported
 * @v: the device
 *
 * Interrupt routing and DMA mappings survive; the caller re-programs the
 * device and re-enables bus mastering.
 * Return: 0, -EOPNOTSUPP (the device cannot be reset alone), -errno.
 */
int vfio_reset(struct vfio_dev *v);

/**
 * vfio_set_dma_window - restrict the IOVAs handed out to [@min, @max]
 * @v:   the device
 * @min: lowest IOVA (e.g. 4 GiB to prove 64-bit addressing)
 * @max: highest (the device's DMA mask)
 *
 * Affects later mappings only. If nothing fits the window, mappings fall
 * back to [0, @max].
 * Return: 0 or -EINVAL (@min > @max).
 */
int vfio_set_dma_window(struct vfio_dev *v, uint64_t min, uint64_t max);

/**
 * vfio_dma_map - make [@host, @host + @size) reachable by the device
 * @v:     the device
 * @host:  page-aligned daemon address
 * @size:  non-zero multiple of VFIO_PAGE_SIZE
 * @write: the device may write it (else read-only; a read-only daemon
 *         mapping can only be mapped this way)
 * @acct:  charged @size (and one reference); NULL charges nobody
 * @iova:  receives the IOVA of @host
 *
 * The same (@host, @size, @write) mapped again shares the mapping and
 * takes a reference. The pages are pinned until the last reference goes.
 * Return: 0, -EINVAL (alignment, size), -EOVERFLOW, -EDQUOT (@acct's
 * limit), -ENOSPC (no IOVA space), -ENOMEM, -errno of VFIO_IOMMU_MAP_DMA
 * (-EFAULT: @host is not mapped in the daemon).
 */
int vfio_dma_map(struct vfio_dev *v, void *host, uint64_t size, bool write,
		 struct vfio_account *acct, uint64_t *iova);

/**
 * vfio_dma_unmap - drop the reference vfio_dma_map() returned @iova for
 * @v:    the device
 * @iova: the IOVA returned
 * @acct: the account charged at map time (or NULL if none was)
 *
 * The last reference unmaps: the device can no longer reach the pages
 * when this returns (the IOMMU's IOTLB is flushed by the unmap).
 * Return: 0, or -ENOENT (no mapping starts at @iova).
 */
int vfio_dma_unmap(struct vfio_dev *v, uint64_t iova, struct vfio_account *acct);

/**
 * vfio_get_stats - a snapshot of @v's counters
 * @v:  the device
 * @st: receives them
 */
void vfio_get_stats(struct vfio_dev *v, struct vfio_stats *st);

#endif
