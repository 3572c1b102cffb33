// SPDX-License-Identifier: MIT
/*
 * The device registry and the dev_*() entry points: find a backend by
 * name, and check every argument once here (alignment, ranges, overflow,
 * flags, engine numbers) so each backend only sees well-formed requests.
 * Adding a backend is one line in the table below.
 */
#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "dev/dev.h"

extern const struct dev_ops sim_dev_ops;
extern const struct dev_ops edu_dev_ops;

static const struct dev_ops *const backends[] = {
	&sim_dev_ops,
	&edu_dev_ops,
};

const struct dev_ops *dev_backend_find(const char *name)
{
	for (size_t i = 0; i < sizeof(backends) / sizeof(backends[0]); i++)
		if (!strcmp(backends[i]->name, name))
			return backends[i];
	return NULL;
}

/* PCI vendor:device pairs and the family backend that drives them. */
static const struct {
	uint16_t vendor, device;
	const char *backend;
} pci_families[] = {
	{ 0x1234, 0x11e8, "edu" },	/* QEMU's edu device */
};

static int read_hex(const char *bdf, const char *file, unsigned int *v)
{
	char path[128];
	FILE *f;
	int ok;

	snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/%s", bdf, file);
	f = fopen(path, "re");
	if (!f)
		return -ENODEV;
	ok = fscanf(f, "%x", v) == 1;
	fclose(f);
	return ok ? 0 : -ENODEV;
}

/*
 * "vfio:<BDF>": the family backend for the PCI device at <BDF>, by its
 * vendor and device id. -ENODEV when no backend knows it (no GPU family
 * backend exists yet: README, "Hardware backends").
 */
static const struct dev_ops *vfio_family(const char *arg)
{
	unsigned int vendor, device;
	char bdf[32];
	size_t n;

	if (!arg)
		return NULL;
	n = strcspn(arg, ",");		/* options follow the address */
	if (!n || n >= sizeof(bdf))
		return NULL;
	memcpy(bdf, arg, n);
	bdf[n] = '\0';
	if (strchr(bdf, '/') || read_hex(bdf, "vendor", &vendor) ||
	    read_hex(bdf, "device", &device))
		return NULL;
	for (size_t i = 0; i < sizeof(pci_families) / sizeof(pci_families[0]); i++)
		if (pci_families[i].vendor == vendor && pci_families[i].device == device)
			return dev_backend_find(pci_families[i].backend);
	return NULL;
}

int dev_open(const char *spec, const struct dev_config *cfg, struct dev **out)
{
	struct dev_config c = { 0 };
	const struct dev_ops *ops;
	const char *colon;
	char name[32];
	size_t len;

	if (!spec)
		spec = "sim";
	colon = strchr(spec, ':');
	len = colon ? (size_t)(colon - spec) : strlen(spec);
	if (!len || len >= sizeof(name))
		return -ENODEV;
	memcpy(name, spec, len);
	name[len] = '\0';
	ops = strcmp(name, "vfio") ? dev_backend_find(name) : vfio_family(colon ? colon + 1 : NULL);
	if (!ops)
		return -ENODEV;
	if (cfg)
		c = *cfg;
	c.arg = colon ? colon + 1 : NULL;
	return ops->open(&c, out);
}

void dev_close(struct dev *d)
{
	if (d)
		d->ops->close(d);
}

int dev_vm_create(struct dev *d, struct dev_vm **out)
{
	return d->ops->vm_create(d, out);
}

void dev_vm_destroy(struct dev_vm *vm)
{
	if (vm)
		vm->dev->ops->vm_destroy(vm);
}

int dev_vm_set_fault_handler(struct dev_vm *vm, dev_fault_fn fn, void *priv)
{
	if (!(vm->dev->caps.features & DEV_FEATURE_FAULT_HANDLER))
		return -EOPNOTSUPP;
	vm->dev->ops->vm_set_fault_handler(vm, fn, priv);
	return 0;
}

static bool page_aligned(uint64_t v)
{
	return !(v & (DEV_PAGE_SIZE - 1));
}

/* [va, va + size) is a non-empty page-aligned range inside the VA space. */
static int check_range(const struct dev *d, uint64_t va, uint64_t size)
{
	uint64_t top = 1ull << d->caps.va_bits;

	if (!size || !page_aligned(va) || !page_aligned(size))
		return -EINVAL;
	if (va + size < va)
		return -EOVERFLOW;
	if (va >= top || size > top - va)
		return -EINVAL;
	return 0;
}

int dev_vm_map(struct dev_vm *vm, uint64_t va, uint64_t size,
	       const struct dev_backing *b, uint32_t flags)
{
	struct dev *d = vm->dev;
	int ret;

	ret = check_range(d, va, size);
	if (ret)
		return ret;
	if (flags & ~DEV_MAP_WRITE)
		return -EINVAL;
	switch (b->kind) {
	case DEV_BACKING_HOST:
		if (!b->host || !page_aligned((uintptr_t)b->host))
			return -EINVAL;
		if ((uintptr_t)b->host + size < (uintptr_t)b->host)
			return -EOVERFLOW;
		break;
	case DEV_BACKING_PORT:
		if (!(d->caps.features & DEV_FEATURE_PORT))
			return -EOPNOTSUPP;
		if (!b->port || !page_aligned(b->addr))
			return -EINVAL;
		if (b->addr + size < b->addr)
			return -EOVERFLOW;
		break;
	default:
		return -EINVAL;
	}
	return d->ops->vm_map(vm, va, size, b, flags);
}

int dev_vm_zap(struct dev_vm *vm, uint64_t va, uint64_t size)
{
	int ret = check_range(vm->dev, va, size);

	return ret ? ret : vm->dev->ops->vm_zap(vm, va, size);
}

int dev_submit(struct dev *d, const struct dev_submit *s, uint64_t *job_id)
{
	uint64_t top = 1ull << d->caps.va_bits;

	if (!s->vm || s->vm->dev != d || s->engine >= d->caps.num_engines)
		return -EINVAL;
	if (!s->batch_len || (s->batch_len & 3) || (s->batch_va & 3))
		return -EINVAL;
	if (s->batch_va >= top || s->batch_len > top - s->batch_va)
		return -EINVAL;
	return d->ops->submit(d, s, job_id);
}

int dev_reap(struct dev *d, struct dev_job_result *res, unsigned int max)
{
	return max ? d->ops->reap(d, res, max) : 0;
}

int dev_cancel(struct dev *d, uint64_t job_id)
{
	return d->ops->cancel(d, job_id);
}

int dev_reset_engine(struct dev *d, uint32_t engine)
{
	if (engine >= d->caps.num_engines)
		return -EINVAL;
	return d->ops->reset_engine(d, engine);
}

void dev_get_stats(struct dev *d, struct dev_stats *st)
{
	memset(st, 0, sizeof(*st));
	d->ops->get_stats(d, st);
}

int dev_wait_completion(struct dev *d, int timeout_ms)
{
	struct pollfd p = { .fd = d->completion_fd, .events = POLLIN };
	uint64_t v;
	int n;

	n = poll(&p, 1, timeout_ms);
	if (n < 0)
		return -errno;
	if (!n)
		return 0;
	/* Non-blocking: another waiter may have cleared it meanwhile. */
	if (read(d->completion_fd, &v, sizeof(v)) < 0 && errno != EAGAIN)
		return -errno;
	return 1;
}
