// SPDX-License-Identifier: MIT
/*
 * The VFIO device: from a PCI address to an open device through the
 * container/group API (find the IOMMU group in sysfs, check it is viable,
 * attach it to a container, pick the TYPE1v2 IOMMU, read the usable IOVA
 * ranges, get the device fd), then what a driver does with it: region
 * info and access, BAR mmap, bus mastering, interrupts to eventfds,
 * reset, and teardown in reverse. The DMA side is in vfio_dma.c.
 *
 * Setup order matters to the kernel: the group must be attached to a
 * container before VFIO_SET_IOMMU, and the IOMMU set before the device fd
 * can be had. Teardown closes the device first (the kernel resets it and
 * drops its interrupts), then unmaps DMA, then closes group and container.
 */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include "dev/vfio_internal.h"

#define PCI_COMMAND_OFF		0x04
#define PCI_COMMAND_MEM		0x2
#define PCI_COMMAND_MASTER_	0x4

/* ---- pure helpers: addresses and sysfs ---- */

static int hex_field(const char **p, unsigned int digits, unsigned int *v)
{
	*v = 0;
	for (unsigned int i = 0; i < digits; i++) {
		int c = (unsigned char)(*p)[i];

		if (!isxdigit(c))
			return -EINVAL;
		*v = *v * 16 + (isdigit(c) ? c - '0' : tolower(c) - 'a' + 10);
	}
	*p += digits;
	return 0;
}

int vfio_bdf_parse(const char *s, char out[VFIO_BDF_LEN])
{
	unsigned int dom = 0, bus, dev, fn;
	const char *p = s;

	if (!s)
		return -EINVAL;
	if (strlen(s) == 12) {
		if (hex_field(&p, 4, &dom) || *p++ != ':')
			return -EINVAL;
	} else if (strlen(s) != 7) {
		return -EINVAL;
	}
	if (hex_field(&p, 2, &bus) || *p++ != ':' || hex_field(&p, 2, &dev) ||
	    *p++ != '.' || hex_field(&p, 1, &fn) || *p)
		return -EINVAL;
	if (dev > 0x1f || fn > 7)
		return -EINVAL;
	snprintf(out, VFIO_BDF_LEN, "%04x:%02x:%02x.%x", dom, bus, dev, fn);
	return 0;
}

/* The last component of the link <sysfs>/bus/pci/devices/<bdf>/<name>. */
static int link_base(const char *sysfs, const char *bdf, const char *name, char *buf,
		     size_t len)
{
	char path[PATH_MAX], target[PATH_MAX];
	const char *base;
	ssize_t n;

	snprintf(path, sizeof(path), "%s/bus/pci/devices/%s", sysfs, bdf);
	if (access(path, F_OK))
		return -ENODEV;
	snprintf(path, sizeof(path), "%s/bus/pci/devices/%s/%s", sysfs, bdf, name);
	n = readlink(path, target, sizeof(target) - 1);
	if (n < 0)
		return errno == EINVAL ? -EINVAL : -ENOENT;
	target[n] = '\0';
	base = strrchr(target, '/');
	base = base ? base + 1 : target;
	if (strlen(base) >= len)
		return -ENAMETOOLONG;
	strcpy(buf, base);
	return 0;
}

int vfio_sysfs_group(const char *sysfs, const char *bdf, int *group)
{
	char name[32], *end;
	long g;
	int ret;

	ret = link_base(sysfs, bdf, "iommu_group", name, sizeof(name));
	if (ret)
		return ret == -ENAMETOOLONG ? -EINVAL : ret;
	errno = 0;
	g = strtol(name, &end, 10);
	if (errno || end == name || *end || g < 0 || g > INT_MAX)
		return -EINVAL;
	*group = (int)g;
	return 0;
}

int vfio_sysfs_driver(const char *sysfs, const char *bdf, char *buf, size_t len)
{
	return link_base(sysfs, bdf, "driver", buf, len);
}

int vfio_region_check(const struct vfio_region *r, uint64_t off, uint64_t len,
		      uint32_t flags)
{
	if (!r->size)
		return -ENOENT;
	if (!len || off + len < off || off >= r->size || len > r->size - off)
		return -EINVAL;
	if ((r->flags & flags) != flags)
		return -EACCES;
	return 0;
}

/* ---- open and close ---- */

static int open_container(struct vfio_dev *v)
{
	v->container_fd = open("/dev/vfio/vfio", O_RDWR | O_CLOEXEC);
	if (v->container_fd < 0)
		return errno == ENOENT ? -ENODEV : -errno;
	if (ioctl(v->container_fd, VFIO_GET_API_VERSION) != VFIO_API_VERSION)
		return -EOPNOTSUPP;
	if (ioctl(v->container_fd, VFIO_CHECK_EXTENSION, VFIO_TYPE1v2_IOMMU) <= 0)
		return -EOPNOTSUPP;
	return 0;
}

static int open_group(struct vfio_dev *v)
{
	struct vfio_group_status gs = { .argsz = sizeof(gs) };
	char path[64];

	snprintf(path, sizeof(path), "/dev/vfio/%d", v->group);
	v->group_fd = open(path, O_RDWR | O_CLOEXEC);
	if (v->group_fd < 0)
		return errno == ENOENT ? -ENODEV : -errno;
	if (ioctl(v->group_fd, VFIO_GROUP_GET_STATUS, &gs) < 0)
		return -errno;
	/* Not viable: another device of the group is bound to a host driver. */
	if (!(gs.flags & VFIO_GROUP_FLAGS_VIABLE))
		return -EBUSY;
	if (ioctl(v->group_fd, VFIO_GROUP_SET_CONTAINER, &v->container_fd) < 0)
		return -errno;
	if (ioctl(v->container_fd, VFIO_SET_IOMMU, VFIO_TYPE1v2_IOMMU) < 0)
		return -errno;
	return 0;
}

/* Usable IOVA ranges from VFIO_IOMMU_GET_INFO (asked twice: size, then data). */
static int read_iova_ranges(struct vfio_dev *v)
{
	struct vfio_iommu_type1_info probe = { .argsz = sizeof(probe) };
	struct vfio_range ranges[VFIO_MAX_IOVA_RANGES];
	void *buf;
	int n;

	if (ioctl(v->container_fd, VFIO_IOMMU_GET_INFO, &probe) < 0)
		return -errno;
	if (probe.argsz < sizeof(probe) || probe.argsz > 65536)
		return -EINVAL;
	buf = calloc(1, probe.argsz);
	if (!buf)
		return -ENOMEM;
	((struct vfio_iommu_type1_info *)buf)->argsz = probe.argsz;
	if (ioctl(v->container_fd, VFIO_IOMMU_GET_INFO, buf) < 0) {
		n = -errno;
		free(buf);
		return n;
	}
	n = vfio_parse_iova_ranges(buf, probe.argsz, ranges, VFIO_MAX_IOVA_RANGES);
	free(buf);
	if (n < 0)
		return n;
	if (!n) {
		ranges[0] = (struct vfio_range){ 0, UINT64_MAX };
		n = 1;
	}
	return vfio_iova_init(&v->iova, ranges, n);
}

static int read_device_info(struct vfio_dev *v)
{
	struct vfio_device_info di = { .argsz = sizeof(di) };

	if (ioctl(v->device_fd, VFIO_DEVICE_GET_INFO, &di) < 0)
		return -errno;
	if (!(di.flags & VFIO_DEVICE_FLAGS_PCI))
		return -ENODEV;
	v->dev_flags = di.flags;
	v->num_regions = di.num_regions < VFIO_MAX_REGIONS ? di.num_regions : VFIO_MAX_REGIONS;
	v->num_irqs = di.num_irqs;
	for (uint32_t i = 0; i < v->num_regions; i++) {
		struct vfio_region_info ri = { .argsz = sizeof(ri), .index = i };

		/* A region the device lacks (an unused BAR) has size 0 or EINVAL. */
		if (ioctl(v->device_fd, VFIO_DEVICE_GET_REGION_INFO, &ri) < 0)
			continue;
		v->regions[i] = (struct vfio_region){
			.index = i, .flags = ri.flags, .size = ri.size, .offset = ri.offset,
		};
	}
	for (uint32_t i = 0; i < VFIO_PCI_NUM_IRQS && i < di.num_irqs; i++) {
		struct vfio_irq_info ii = { .argsz = sizeof(ii), .index = i };

		if (ioctl(v->device_fd, VFIO_DEVICE_GET_IRQ_INFO, &ii) == 0)
			v->irq_count[i] = ii.count;
	}
	return 0;
}

int vfio_open(const char *sysfs, const char *bdf, struct vfio_dev **out)
{
	struct vfio_dev *v;
	int ret;

	v = calloc(1, sizeof(*v));
	if (!v)
		return -ENOMEM;
	v->container_fd = v->group_fd = v->device_fd = -1;
	v->win_max = UINT64_MAX;
	ret = vfio_bdf_parse(bdf, v->bdf);
	if (ret)
		goto err_free;
	ret = vfio_sysfs_group(sysfs ? sysfs : "/sys", v->bdf, &v->group);
	if (ret)
		goto err_free;
	ret = -pthread_mutex_init(&v->lock, NULL);
	if (ret)
		goto err_free;
	ret = open_container(v);
	if (ret)
		goto err_fds;
	ret = open_group(v);
	if (ret)
		goto err_fds;
	ret = read_iova_ranges(v);
	if (ret)
		goto err_fds;
	v->device_fd = ioctl(v->group_fd, VFIO_GROUP_GET_DEVICE_FD, v->bdf);
	if (v->device_fd < 0) {
		ret = -errno;
		goto err_iova;
	}
	ret = read_device_info(v);
	if (ret)
		goto err_iova;
	*out = v;
	return 0;

err_iova:
	vfio_iova_fini(&v->iova);
err_fds:
	if (v->device_fd >= 0)
		close(v->device_fd);
	if (v->group_fd >= 0)
		close(v->group_fd);
	if (v->container_fd >= 0)
		close(v->container_fd);
	pthread_mutex_destroy(&v->lock);
err_free:
	free(v);
	return ret;
}

void vfio_close(struct vfio_dev *v)
{
	if (!v)
		return;
	for (uint32_t i = 0; i < VFIO_PCI_NUM_IRQS; i++)
		if (v->irq_enabled & (1u << i))
			vfio_irq_disable(v, i);
	for (uint32_t i = 0; i < VFIO_MAX_REGIONS; i++)
		if (v->bar_map[i])
			munmap(v->bar_map[i], v->regions[i].size);
	close(v->device_fd);
	vfio_dma_unmap_all(v);
	vfio_iova_fini(&v->iova);
	/* Detaching the last group from the container drops the IOMMU. */
	ioctl(v->group_fd, VFIO_GROUP_UNSET_CONTAINER);
	close(v->group_fd);
	close(v->container_fd);
	pthread_mutex_destroy(&v->lock);
	free(v);
}

bool vfio_can_reset(const struct vfio_dev *v)
{
	return v->dev_flags & VFIO_DEVICE_FLAGS_RESET;
}

unsigned int vfio_iova_ranges(struct vfio_dev *v, struct vfio_range *ranges, unsigned int max)
{
	unsigned int n = v->iova.nranges;

	memcpy(ranges, v->iova.ranges, (n < max ? n : max) * sizeof(*ranges));
	return n;
}

/* ---- regions ---- */

int vfio_get_region(struct vfio_dev *v, uint32_t index, struct vfio_region *r)
{
	if (index >= v->num_regions)
		return -EINVAL;
	*r = v->regions[index];
	return 0;
}

static int region_io(struct vfio_dev *v, uint32_t index, uint64_t off, void *buf,
		     size_t len, bool write)
{
	const struct vfio_region *r;
	ssize_t n;
	int ret;

	if (index >= v->num_regions)
		return -EINVAL;
	r = &v->regions[index];
	ret = vfio_region_check(r, off, len, write ? VFIO_REGION_INFO_FLAG_WRITE :
				VFIO_REGION_INFO_FLAG_READ);
	if (ret)
		return ret;
	n = write ? pwrite(v->device_fd, buf, len, r->offset + off) :
		    pread(v->device_fd, buf, len, r->offset + off);
	if (n < 0)
		return -errno;
	return (size_t)n == len ? 0 : -EIO;
}

int vfio_region_read(struct vfio_dev *v, uint32_t index, uint64_t off, void *buf, size_t len)
{
	return region_io(v, index, off, buf, len, false);
}

int vfio_region_write(struct vfio_dev *v, uint32_t index, uint64_t off, const void *buf,
		      size_t len)
{
	return region_io(v, index, off, (void *)buf, len, true);
}

int vfio_region_mmap(struct vfio_dev *v, uint32_t index, void **out, uint64_t *size)
{
	const struct vfio_region *r;
	void *p;
	int ret = 0;

	if (index >= v->num_regions)
		return -EINVAL;
	r = &v->regions[index];
	if (!r->size)
		return -ENOENT;
	if (!(r->flags & VFIO_REGION_INFO_FLAG_MMAP))
		return -EACCES;
	pthread_mutex_lock(&v->lock);
	if (!v->bar_map[index]) {
		p = mmap(NULL, r->size, PROT_READ | PROT_WRITE, MAP_SHARED, v->device_fd,
			 r->offset);
		if (p == MAP_FAILED)
			ret = -errno;
		else
			v->bar_map[index] = p;
	}
	if (!ret) {
		*out = v->bar_map[index];
		*size = r->size;
	}
	pthread_mutex_unlock(&v->lock);
	return ret;
}

int vfio_enable_bus_master(struct vfio_dev *v)
{
	uint16_t cmd;
	int ret;

	ret = vfio_region_read(v, VFIO_PCI_CONFIG_REGION_INDEX, PCI_COMMAND_OFF, &cmd, 2);
	if (ret)
		return ret;
	cmd |= PCI_COMMAND_MEM | PCI_COMMAND_MASTER_;
	return vfio_region_write(v, VFIO_PCI_CONFIG_REGION_INDEX, PCI_COMMAND_OFF, &cmd, 2);
}

/* ---- interrupts and reset ---- */

int vfio_irq_count(struct vfio_dev *v, uint32_t index)
{
	if (index >= VFIO_PCI_NUM_IRQS)
		return -EINVAL;
	return v->irq_count[index];
}

int vfio_irq_enable(struct vfio_dev *v, uint32_t index, const int *fds, unsigned int n)
{
	struct vfio_irq_set *set;
	size_t sz;
	int ret = 0;

	if (index >= VFIO_PCI_NUM_IRQS || !n || n > v->irq_count[index])
		return -EINVAL;
	sz = sizeof(*set) + n * sizeof(int32_t);
	set = calloc(1, sz);
	if (!set)
		return -ENOMEM;
	set->argsz = sz;
	set->flags = VFIO_IRQ_SET_DATA_EVENTFD | VFIO_IRQ_SET_ACTION_TRIGGER;
	set->index = index;
	set->start = 0;
	set->count = n;
	memcpy(set->data, fds, n * sizeof(int32_t));
	/* MSI/MSI-X cannot change their vector count while enabled. */
	if (index != VFIO_PCI_INTX_IRQ_INDEX && (v->irq_enabled & (1u << index)))
		vfio_irq_disable(v, index);
	if (ioctl(v->device_fd, VFIO_DEVICE_SET_IRQS, set) < 0)
		ret = -errno;
	else
		v->irq_enabled |= 1u << index;
	free(set);
	return ret;
}

int vfio_irq_disable(struct vfio_dev *v, uint32_t index)
{
	struct vfio_irq_set set = {
		.argsz = sizeof(set),
		.flags = VFIO_IRQ_SET_DATA_NONE | VFIO_IRQ_SET_ACTION_TRIGGER,
		.index = index,
	};

	if (index >= VFIO_PCI_NUM_IRQS)
		return -EINVAL;
	if (ioctl(v->device_fd, VFIO_DEVICE_SET_IRQS, &set) < 0)
		return -errno;
	v->irq_enabled &= ~(1u << index);
	return 0;
}

int vfio_irq_unmask(struct vfio_dev *v)
{
	struct vfio_irq_set set = {
		.argsz = sizeof(set),
		.flags = VFIO_IRQ_SET_DATA_NONE | VFIO_IRQ_SET_ACTION_UNMASK,
		.index = VFIO_PCI_INTX_IRQ_INDEX,
		.count = 1,
	};

	if (ioctl(v->device_fd, VFIO_DEVICE_SET_IRQS, &set) < 0)
		return -errno;
	return 0;
}

int vfio_reset(struct vfio_dev *v)
{
	if (!vfio_can_reset(v))
		return -EOPNOTSUPP;
	if (ioctl(v->device_fd, VFIO_DEVICE_RESET) < 0)
		return -errno;
	pthread_mutex_lock(&v->lock);
	v->st.resets++;
	pthread_mutex_unlock(&v->lock);
	return 0;
}
