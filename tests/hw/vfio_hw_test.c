// SPDX-License-Identifier: MIT
/*
 * vfio_hw_test: runs inside the check-hw guest (tests/hw/init) against
 * QEMU's edu device bound to vfio-pci, in three phases that each open the
 * device anew (a VFIO group can be open once): the VFIO layer by hand
 * (sysfs group, regions, config space, BAR by pread and mmap, IOVA
 * ranges, DMA mappings with reference counts and accounting, edu DMA in
 * both directions programmed through the BAR, IOVAs above 4 GiB when the
 * device reaches them, INTx and MSI on eventfds, reset); the edu DMA
 * engine helpers (edu_hw_*); and the edu backend through the dev_*()
 * calls the driver core uses (jobs over host memory, faults, zap, engine
 * reset). Usage: `vfio_hw_test <BDF> <config>`; prints one `ok <check>`
 * or `not ok <check>: <detail>` line per check, `#` lines are notes.
 */
#include <errno.h>
#include <inttypes.h>
#include <linux/vfio.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "dev/dev.h"
#include "dev/edu.h"
#include "dev/vfio.h"
#include "uapi/ugpu_isa.h"

#define PAGE	4096u
#define GIB	(1ull << 30)

static const char *bdf, *cfg;
static int failures;

static void result(int ok, const char *name, const char *fmt, ...)
{
	va_list ap;

	if (ok) {
		printf("ok %s\n", name);
	} else {
		failures++;
		printf("not ok %s: ", name);
		va_start(ap, fmt);
		vprintf(fmt, ap);
		va_end(ap);
		printf("\n");
	}
	fflush(stdout);
}

#define CHECK(cond, name, ...) result(!!(cond), name, __VA_ARGS__)

static void *page_alloc(size_t n)
{
	void *p = mmap(NULL, n * PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	return p == MAP_FAILED ? NULL : p;
}

static volatile uint8_t *bar;

static uint32_t rd32(uint32_t reg)
{
	return *(volatile uint32_t *)(bar + reg);
}

static void wr32(uint32_t reg, uint32_t v)
{
	*(volatile uint32_t *)(bar + reg) = v;
}

static void wr64(uint32_t reg, uint64_t v)
{
	*(volatile uint64_t *)(bar + reg) = v;
}

/* A DMA programmed by hand, waited for by polling the command register. */
static int raw_dma(uint64_t src, uint64_t dst, uint32_t len, bool to_host)
{
	wr64(EDU_REG_DMA_SRC, src);
	wr64(EDU_REG_DMA_DST, dst);
	wr64(EDU_REG_DMA_COUNT, len);
	wr64(EDU_REG_DMA_CMD, EDU_DMA_CMD_RUN | (to_host ? EDU_DMA_CMD_TO_RAM : 0));
	for (int i = 0; i < 500; i++) {
		if (!(rd32(EDU_REG_DMA_CMD) & EDU_DMA_CMD_RUN))
			return 0;
		usleep(10000);
	}
	return -ETIMEDOUT;
}

/* Copy @len bytes from IOVA @a to IOVA @b through the edu buffer. */
static int raw_copy(uint64_t a, uint64_t b, uint32_t len)
{
	int ret = raw_dma(a, EDU_BUF_ADDR, len, false);

	return ret ? ret : raw_dma(EDU_BUF_ADDR, b, len, true);
}

static int wait_fd(int fd, int ms)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };
	uint64_t v;

	if (poll(&p, 1, ms) != 1)
		return -ETIMEDOUT;
	return read(fd, &v, sizeof(v)) == sizeof(v) ? 0 : -EIO;
}

/* Raise edu's interrupt by hand and wait for it on @fd. */
static int irq_roundtrip(struct vfio_dev *v, int fd, bool intx)
{
	int ret;

	wr32(EDU_REG_IRQ_RAISE, 0x1);
	ret = wait_fd(fd, 3000);
	wr32(EDU_REG_IRQ_ACK, rd32(EDU_REG_IRQ_STATUS));
	if (intx)
		vfio_irq_unmask(v);
	return ret;
}

/* ---- phase 1: the VFIO layer ---- */

static void dma_checks(struct vfio_dev *v)
{
	struct vfio_account acct = { .limit = 2 * PAGE };
	struct vfio_stats st0, st1;
	uint8_t *a = page_alloc(2), *b = page_alloc(2);
	uint64_t ia, ia2, ib, ihi;
	int ret;

	if (!a || !b) {
		result(0, "vfio: DMA buffers", "mmap failed");
		return;
	}
	for (unsigned int i = 0; i < 100; i++)
		a[i] = (uint8_t)(i * 7 + 3);
	memset(b, 0, PAGE);
	vfio_get_stats(v, &st0);
	ret = vfio_dma_map(v, a, PAGE, false, &acct, &ia);
	CHECK(!ret && ia && !(ia & (PAGE - 1)), "vfio: map a page for device reads",
	      "ret %d iova 0x%" PRIx64, ret, ia);
	ret = vfio_dma_map(v, a, PAGE, false, &acct, &ia2);
	vfio_get_stats(v, &st1);
	CHECK(!ret && ia2 == ia && st1.dma_maps == st0.dma_maps + 1 &&
	      st1.dma_shared == st0.dma_shared + 1,
	      "vfio: mapping the same page again shares it (refcount)",
	      "ret %d iova 0x%" PRIx64 " vs 0x%" PRIx64, ret, ia2, ia);
	ret = vfio_dma_map(v, b, PAGE, true, &acct, &ib);
	CHECK(ret == -EDQUOT && acct.bytes == 2 * PAGE, "vfio: account limit gives -EDQUOT",
	      "ret %d bytes %" PRIu64, ret, acct.bytes);
	ret = vfio_dma_map(v, b, PAGE, true, NULL, &ib);
	CHECK(!ret, "vfio: map a page for device writes", "ret %d", ret);
	if (!ret) {
		ret = raw_copy(ia, ib, 100);
		CHECK(!ret && !memcmp(a, b, 100) && b[100] == 0,
		      "vfio: edu DMA host -> device -> host moves exactly the bytes",
		      "ret %d b[0]=%u", ret, b[0]);
	}
	ret = raw_dma(EDU_BUF_ADDR, 0x7ff000, 16, true);	/* an IOVA nobody mapped */
	CHECK(!ret, "vfio: DMA to an unmapped IOVA completes without harm", "ret %d", ret);
	CHECK(!vfio_dma_unmap(v, ia, &acct) && !vfio_dma_unmap(v, ia, &acct) &&
	      acct.bytes == 0 && vfio_dma_unmap(v, ia, &acct) == -ENOENT,
	      "vfio: unmap drops references, the last one unmaps", "bytes %" PRIu64, acct.bytes);

	/* IOVAs above 4 GiB when edu reaches all 64 bits. */
	if (!strcmp(cfg, "edu64")) {
		vfio_set_dma_window(v, 4 * GIB, UINT64_MAX);
		memset(b + PAGE, 0, PAGE);
		ret = vfio_dma_map(v, a + PAGE, PAGE, false, NULL, &ihi);
		a[PAGE] = 0x5a;
		a[PAGE + 1] = 0xa5;
		CHECK(!ret && ihi >= 4 * GIB, "vfio: IOVA above 4 GiB from the reported ranges",
		      "ret %d iova 0x%" PRIx64, ret, ihi);
		if (!ret) {
			ret = raw_copy(ihi, ib, 2);
			CHECK(!ret && b[0] == 0x5a && b[1] == 0xa5,
			      "vfio: edu DMA from a 64-bit IOVA", "ret %d %x %x", ret, b[0], b[1]);
			vfio_dma_unmap(v, ihi, NULL);
		}
		vfio_set_dma_window(v, 0, UINT64_MAX);
	}
	vfio_dma_unmap(v, ib, NULL);
	munmap(a, 2 * PAGE);
	munmap(b, 2 * PAGE);
}

static void irq_checks(struct vfio_dev *v)
{
	int fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC), ret;

	CHECK(vfio_irq_count(v, VFIO_PCI_INTX_IRQ_INDEX) == 1 &&
	      vfio_irq_count(v, VFIO_PCI_MSI_IRQ_INDEX) >= 1,
	      "vfio: device has INTx and MSI", "intx %d msi %d",
	      vfio_irq_count(v, VFIO_PCI_INTX_IRQ_INDEX), vfio_irq_count(v, VFIO_PCI_MSI_IRQ_INDEX));
	ret = vfio_irq_enable(v, VFIO_PCI_INTX_IRQ_INDEX, &fd, 1);
	if (!ret)
		ret = irq_roundtrip(v, fd, true);
	if (!ret)
		ret = irq_roundtrip(v, fd, true);	/* unmasked again: fires twice */
	CHECK(!ret, "vfio: INTx reaches an eventfd (twice, unmask in between)", "ret %d", ret);
	vfio_irq_disable(v, VFIO_PCI_INTX_IRQ_INDEX);
	ret = vfio_irq_enable(v, VFIO_PCI_MSI_IRQ_INDEX, &fd, 1);
	if (!ret)
		ret = irq_roundtrip(v, fd, false);
	CHECK(!ret, "vfio: MSI reaches an eventfd", "ret %d", ret);
	CHECK(vfio_irq_enable(v, VFIO_PCI_MSI_IRQ_INDEX, &fd, 99) == -EINVAL,
	      "vfio: more vectors than the device has is -EINVAL", "accepted");
	vfio_irq_disable(v, VFIO_PCI_MSI_IRQ_INDEX);
	close(fd);
}

static void reset_checks(struct vfio_dev *v)
{
	int ret;

	if (!vfio_can_reset(v)) {
		CHECK(vfio_reset(v) == -EOPNOTSUPP,
		      "vfio: reset refused where the device cannot be reset alone # SKIP reset",
		      "not -EOPNOTSUPP");
		return;
	}
	wr32(EDU_REG_LIVENESS, 0x1234);
	ret = vfio_reset(v);
	CHECK(!ret, "vfio: VFIO_DEVICE_RESET", "ret %d", ret);
	ret = vfio_enable_bus_master(v);
	CHECK(!ret && (rd32(EDU_REG_ID) & 0xffff) == 0xed &&
	      (wr32(EDU_REG_LIVENESS, 7), rd32(EDU_REG_LIVENESS) == ~7u),
	      "vfio: edu alive after reset", "ret %d id 0x%x", ret, rd32(EDU_REG_ID));
	dma_checks(v);	/* DMA works again after the reset */
}

static void phase_vfio(void)
{
	struct vfio_range r[VFIO_MAX_IOVA_RANGES];
	struct vfio_region cfgr, bar0;
	char drv[64] = "";
	struct vfio_dev *v;
	uint16_t ids[2] = { 0 }, cmd = 0;
	uint32_t id = 0;
	unsigned int n;
	uint64_t len = 0;
	void *map = NULL;
	bool msi_hole = false;
	int group = -1, ret;

	ret = vfio_sysfs_group("/sys", bdf, &group);
	CHECK(!ret && group >= 0, "vfio: IOMMU group from sysfs", "ret %d", ret);
	printf("# %s is in IOMMU group %d\n", bdf, group);
	ret = vfio_sysfs_driver("/sys", bdf, drv, sizeof(drv));
	CHECK(!ret && !strcmp(drv, "vfio-pci"), "vfio: driver is vfio-pci", "ret %d '%s'", ret, drv);
	ret = vfio_open(NULL, bdf, &v);
	CHECK(!ret, "vfio: open (container, group, TYPE1v2, device fd)", "ret %d", ret);
	if (ret)
		return;
	CHECK(vfio_open(NULL, bdf, &(struct vfio_dev *){ NULL }) == -EBUSY,
	      "vfio: a second open of the group is -EBUSY", "not -EBUSY");
	n = vfio_iova_ranges(v, r, VFIO_MAX_IOVA_RANGES);
	for (unsigned int i = 0; i < n && i < VFIO_MAX_IOVA_RANGES; i++) {
		printf("# usable IOVA [0x%" PRIx64 ", 0x%" PRIx64 "]\n", r[i].start, r[i].last);
		if (r[i].start <= 0xfeefffffull && r[i].last >= 0xfee00000ull)
			msi_hole = true;
	}
	CHECK(n >= 2 && !msi_hole, "vfio: IOVA ranges exclude the MSI window",
	      "%u ranges, hole %d", n, msi_hole);
	CHECK(!vfio_get_region(v, VFIO_PCI_CONFIG_REGION_INDEX, &cfgr) && cfgr.size >= 256 &&
	      !vfio_get_region(v, VFIO_PCI_BAR0_REGION_INDEX, &bar0) && bar0.size == (1u << 20) &&
	      (bar0.flags & VFIO_REGION_INFO_FLAG_MMAP),
	      "vfio: region info (config space, BAR0 1 MiB mmappable)", "bar0 %" PRIu64, bar0.size);
	ret = vfio_region_read(v, VFIO_PCI_CONFIG_REGION_INDEX, 0, ids, 4);
	CHECK(!ret && ids[0] == EDU_VENDOR_ID && ids[1] == EDU_DEVICE_ID,
	      "vfio: config space reads 1234:11e8", "%04x:%04x", ids[0], ids[1]);
	CHECK(vfio_region_read(v, VFIO_PCI_BAR0_REGION_INDEX, bar0.size - 2, &id, 4) == -EINVAL &&
	      vfio_region_read(v, 99, 0, &id, 4) == -EINVAL,
	      "vfio: region access out of bounds is -EINVAL", "accepted");
	ret = vfio_region_read(v, VFIO_PCI_BAR0_REGION_INDEX, EDU_REG_ID, &id, 4);
	CHECK(!ret && id == 0x010000ed, "vfio: edu ID register by pread", "0x%x", id);
	ret = vfio_region_mmap(v, VFIO_PCI_BAR0_REGION_INDEX, &map, &len);
	bar = map;
	CHECK(!ret && len == bar0.size && rd32(EDU_REG_ID) == id,
	      "vfio: BAR0 mmap reads the same ID", "ret %d", ret);
	if (ret)
		goto out;
	ret = vfio_enable_bus_master(v);
	vfio_region_read(v, VFIO_PCI_CONFIG_REGION_INDEX, 4, &cmd, 2);
	CHECK(!ret && (cmd & 0x6) == 0x6, "vfio: bus mastering and memory decoding on",
	      "cmd 0x%x", cmd);
	dma_checks(v);
	irq_checks(v);
	reset_checks(v);
out:
	vfio_close(v);
}

/* ---- phase 2: edu DMA helpers ---- */

static void phase_edu_hw(void)
{
	struct edu_hw_stats st;
	struct edu_hw *hw;
	uint8_t *a = page_alloc(1), *b = page_alloc(1);
	uint64_t ia, ib;
	int ret;

	ret = edu_hw_open(NULL, bdf, &hw);
	CHECK(!ret, "edu_hw: open, ID, liveness, bus master, interrupt", "ret %d", ret);
	if (ret)
		return;
	edu_hw_get_stats(hw, &st);
	CHECK(st.msi == 1, "edu_hw: completion interrupt is MSI", "INTx");
	vfio_dma_map(edu_hw_vfio(hw), a, PAGE, false, NULL, &ia);
	vfio_dma_map(edu_hw_vfio(hw), b, PAGE, true, NULL, &ib);
	for (unsigned int i = 0; i < PAGE; i++)
		a[i] = (uint8_t)(i ^ 0x3c);
	ret = edu_hw_copy(hw, ia, ib, PAGE - 1);
	CHECK(!ret && !memcmp(a, b, PAGE - 1) && b[PAGE - 1] == 0,
	      "edu_hw: 4095-byte staged copy, completion by MSI", "ret %d", ret);
	CHECK(edu_hw_dma(hw, ia, 0, PAGE, false) == -EINVAL &&
	      edu_hw_dma(hw, ia, 4000, 96, false) == -EINVAL &&
	      edu_hw_dma(hw, ia, 0, 0, false) == -EINVAL,
	      "edu_hw: transfers reaching the buffer's end are refused", "accepted");
	edu_hw_get_stats(hw, &st);
	CHECK(st.dmas == 2 && st.irqs == 2 && !st.irq_misses && !st.timeouts,
	      "edu_hw: one MSI per transfer", "dmas %" PRIu64 " irqs %" PRIu64 " misses %" PRIu64,
	      st.dmas, st.irqs, st.irq_misses);
	edu_hw_close(hw);
	munmap(a, PAGE);
	munmap(b, PAGE);
}

/* ---- phase 3: the edu backend through dev_*() ---- */

#define VA	0x100000ull

static int run_job(struct dev *d, struct dev_vm *vm, uint32_t engine, uint64_t batch_va,
		   uint32_t len, struct dev_job_result *r)
{
	struct dev_submit s = { .vm = vm, .engine = engine, .batch_va = batch_va,
				.batch_len = len, .user = 42 };
	uint64_t id;
	int ret;

	ret = dev_submit(d, &s, &id);
	if (ret)
		return ret;
	for (int i = 0; i < 60; i++) {
		if (dev_reap(d, r, 1) == 1)
			return r->id == id ? 0 : -EPROTO;
		dev_wait_completion(d, 1000);
	}
	return -ETIMEDOUT;
}

static uint32_t *emit_store(uint32_t *c, uint64_t va, uint32_t v)
{
	*c++ = UGPU_ISA_HDR(UGPU_OP_STORE_DWORD, 0, UGPU_LEN_STORE_DWORD);
	*c++ = UGPU_ISA_LO(va);
	*c++ = UGPU_ISA_HI(va);
	*c++ = v;
	return c;
}

static void phase_backend(void)
{
	char spec[96];
	struct dev_job_result r;
	struct dev_vm *vm;
	struct dev *d;
	uint8_t *mem = page_alloc(3);	/* page 0: batches, 1: data, 2: read-only */
	uint32_t *c;
	struct dev_backing b = { .kind = DEV_BACKING_HOST };
	int ret;

	snprintf(spec, sizeof(spec), "edu:%s,dma_bits=%s", bdf, strcmp(cfg, "edu64") ? "28" : "64");
	ret = dev_open(spec, NULL, &d);
	CHECK(!ret && !strcmp(d->caps.backend, "edu"), "backend: dev_open edu", "ret %d", ret);
	if (ret)
		return;
	ret = dev_vm_create(d, &vm);
	b.host = mem;
	if (!ret)
		ret = dev_vm_map(vm, VA, 2 * PAGE, &b, DEV_MAP_WRITE);
	b.host = mem + 2 * PAGE;
	if (!ret)
		ret = dev_vm_map(vm, VA + 2 * PAGE, PAGE, &b, 0);
	CHECK(!ret, "backend: VM with host memory mapped (IOMMU per page)", "ret %d", ret);
	if (ret)
		goto out;

	/* STORE + FILL + COPY over host memory, read and written by edu DMA. */
	c = (uint32_t *)mem;
	c = emit_store(c, VA + PAGE, 0xdeadbeef);
	*c++ = UGPU_ISA_HDR(UGPU_OP_FILL, 0, UGPU_LEN_FILL);
	*c++ = UGPU_ISA_LO(VA + PAGE + 64);
	*c++ = 0;
	*c++ = 32;
	*c++ = 0;
	*c++ = 0x11223344;
	*c++ = UGPU_ISA_HDR(UGPU_OP_COPY, 0, UGPU_LEN_COPY);
	*c++ = UGPU_ISA_LO(VA + PAGE + 512);
	*c++ = 0;
	*c++ = UGPU_ISA_LO(VA + PAGE + 64);
	*c++ = 0;
	*c++ = 32;
	*c++ = 0;
	*c++ = UGPU_ISA_HDR(UGPU_OP_BATCH_END, 0, 1);
	mem[PAGE + 1000] = 0x77;	/* not touched by the job: must survive */
	ret = run_job(d, vm, 0, VA, (uint32_t)((uint8_t *)c - mem), &r);
	CHECK(!ret && !r.status && *(uint32_t *)(mem + PAGE) == 0xdeadbeef &&
	      *(uint32_t *)(mem + PAGE + 64 + 28) == 0x11223344 &&
	      !memcmp(mem + PAGE + 512, mem + PAGE + 64, 32) && mem[PAGE + 1000] == 0x77,
	      "backend: job stores, fills and copies host memory through edu DMA",
	      "ret %d status %d dword 0x%x", ret, r.status, *(uint32_t *)(mem + PAGE));

	/* A write to the read-only page faults. */
	c = (uint32_t *)(mem + 256);
	c = emit_store(c, VA + 2 * PAGE + 8, 1);
	*c++ = UGPU_ISA_HDR(UGPU_OP_BATCH_END, 0, 1);
	ret = run_job(d, vm, 1, VA + 256, 20, &r);
	CHECK(!ret && r.status == -EFAULT && r.fault.kind == DEV_FAULT_WRITE_RO &&
	      r.fault.va == VA + 2 * PAGE + 8 && !mem[2 * PAGE + 8],
	      "backend: write to a read-only mapping faults (WRITE_RO, exact VA)",
	      "ret %d status %d kind %u va 0x%" PRIx64, ret, r.status, r.fault.kind, r.fault.va);

	/* Zap the data page: the next access faults NOT_PRESENT. */
	dev_vm_zap(vm, VA + PAGE, PAGE);
	c = (uint32_t *)(mem + 512);
	c = emit_store(c, VA + PAGE + 4, 2);
	*c++ = UGPU_ISA_HDR(UGPU_OP_BATCH_END, 0, 1);
	ret = run_job(d, vm, 0, VA + 512, 20, &r);
	CHECK(!ret && r.status == -EFAULT && r.fault.kind == DEV_FAULT_NOT_PRESENT &&
	      *(uint32_t *)(mem + PAGE + 4) != 2,
	      "backend: access after zap faults (NOT_PRESENT), host memory untouched",
	      "ret %d status %d kind %u", ret, r.status, r.fault.kind);

	/* Engine reset (device reset where VFIO can), then a job works again. */
	ret = dev_reset_engine(d, 0);
	CHECK(!ret, "backend: engine reset (edu function reset where supported)", "ret %d", ret);
	b.host = mem + PAGE;
	dev_vm_map(vm, VA + PAGE, PAGE, &b, DEV_MAP_WRITE);
	c = (uint32_t *)(mem + 768);
	c = emit_store(c, VA + PAGE + 8, 0xc0ffee);
	*c++ = UGPU_ISA_HDR(UGPU_OP_BATCH_END, 0, 1);
	ret = run_job(d, vm, 0, VA + 768, 20, &r);
	CHECK(!ret && !r.status && *(uint32_t *)(mem + PAGE + 8) == 0xc0ffee,
	      "backend: job after reset", "ret %d status %d", ret, r.status);
out:
	dev_vm_destroy(vm);
	dev_close(d);
	munmap(mem, 3 * PAGE);
}

/* One page of device memory: a job touching two pages evicts as it goes. */
static void phase_small_pool(void)
{
	struct dev_backing b = { .kind = DEV_BACKING_HOST };
	uint8_t *mem = page_alloc(2);
	struct dev_job_result r;
	struct dev_vm *vm;
	struct dev *d;
	char spec[96];
	uint32_t *c;
	int ret;

	snprintf(spec, sizeof(spec), "edu:%s,pool=1", bdf);
	ret = dev_open(spec, NULL, &d);
	if (!ret) {
		ret = dev_vm_create(d, &vm);
		if (ret)
			dev_close(d);
	}
	CHECK(!ret, "backend: open with one page of device memory", "ret %d", ret);
	if (ret)
		return;
	b.host = mem;
	ret = dev_vm_map(vm, VA, 2 * PAGE, &b, DEV_MAP_WRITE);
	c = (uint32_t *)mem;
	c = emit_store(c, VA + PAGE + 16, 0xfeedf00d);
	c = emit_store(c, VA + 200, 0xabad1dea);	/* back in the batch page */
	c = emit_store(c, VA + PAGE + 20, 0x0ddba11);
	*c++ = UGPU_ISA_HDR(UGPU_OP_BATCH_END, 0, 1);
	if (!ret)
		ret = run_job(d, vm, 0, VA, (uint32_t)((uint8_t *)c - mem), &r);
	CHECK(!ret && !r.status && *(uint32_t *)(mem + PAGE + 16) == 0xfeedf00d &&
	      *(uint32_t *)(mem + 200) == 0xabad1dea && *(uint32_t *)(mem + PAGE + 20) == 0x0ddba11,
	      "backend: a job touching more pages than device memory evicts and completes",
	      "ret %d status %d", ret, ret ? 0 : r.status);
	dev_vm_destroy(vm);
	dev_close(d);
	munmap(mem, 2 * PAGE);
}

int main(int argc, char **argv)
{
	struct timespec t0, t1;

	if (argc != 3) {
		fprintf(stderr, "usage: vfio_hw_test <BDF> <config>\n");
		return 2;
	}
	bdf = argv[1];
	cfg = argv[2];
	clock_gettime(CLOCK_MONOTONIC, &t0);
	phase_vfio();
	phase_edu_hw();
	phase_backend();
	phase_small_pool();
	clock_gettime(CLOCK_MONOTONIC, &t1);
	printf("# vfio_hw_test: %d failures in %.1f s\n", failures,
	       (double)(t1.tv_sec - t0.tv_sec) + (t1.tv_nsec - t0.tv_nsec) / 1e9);
	return failures ? 1 : 0;
}
