/* SPDX-License-Identifier: MIT */
/*
 * Internals of the VFIO layer shared by vfio.c (container, group, device,
 * regions, interrupts, reset) and vfio_dma.c (IOVA allocator and the
 * reference-counted DMA mapping table). Nothing outside daemon/dev/vfio*
 * includes this.
 *
 * Lock: vfio_dev.lock (mutex) protects the DMA table, the allocator, the
 * window, the BAR mapping cache and the counters. It is held across the
 * MAP/UNMAP ioctls, which do not call back into the daemon.
 */
#ifndef UGPU_DEV_VFIO_INTERNAL_H
#define UGPU_DEV_VFIO_INTERNAL_H

#include <linux/vfio.h>
#include <pthread.h>

#include "dev/vfio.h"

#define VFIO_MAX_REGIONS	(VFIO_PCI_NUM_REGIONS)
#define VFIO_DMA_BUCKETS	1024u

/* One VFIO mapping, on two hash chains: by host key and by IOVA. */
struct vfio_dma {
	struct vfio_dma *next_host, *next_iova;
	uintptr_t host;
	uint64_t size;
	uint64_t iova;
	bool write;
	unsigned int refs;
};

struct vfio_dev {
	char bdf[VFIO_BDF_LEN];
	int container_fd, group_fd, device_fd;
	int group;
	uint32_t dev_flags;		/* VFIO_DEVICE_FLAGS_* */
	uint32_t num_regions, num_irqs;
	struct vfio_region regions[VFIO_MAX_REGIONS];
	void *bar_map[VFIO_MAX_REGIONS];	/* lock */
	uint32_t irq_count[VFIO_PCI_NUM_IRQS];
	uint32_t irq_enabled;		/* bit per index with routing set */
	pthread_mutex_t lock;
	struct vfio_iova iova;		/* lock */
	uint64_t win_min, win_max;	/* lock */
	struct vfio_dma *by_host[VFIO_DMA_BUCKETS];	/* lock */
	struct vfio_dma *by_iova[VFIO_DMA_BUCKETS];	/* lock */
	struct vfio_stats st;		/* lock */
};

/**
 * vfio_dma_unmap_all - unmap every mapping left (at close)
 * @v: the device
 */
void vfio_dma_unmap_all(struct vfio_dev *v);

#endif
