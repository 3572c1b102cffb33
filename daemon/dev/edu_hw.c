// SPDX-License-Identifier: MIT
/*
 * The edu device's registers and DMA engine, through the VFIO layer:
 * BAR0 mapped into the daemon, bus mastering on, the interrupt on an
 * eventfd. One transfer at a time (the device has one engine): program
 * source, destination and count, start it with "interrupt when done",
 * sleep on the eventfd, acknowledge. A missing interrupt is not fatal:
 * the command register says whether the engine finished.
 */
#include <errno.h>
#include <linux/vfio.h>
#include <poll.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "dev/edu.h"
#include "dev/vfio.h"

#define PCI_VENDOR_OFF	0x00

struct edu_hw {
	struct vfio_dev *v;
	volatile uint8_t *bar;
	uint64_t bar_len;
	uint32_t id;
	int irq_fd;
	bool msi;
	pthread_mutex_t lock;		/* one transfer at a time; stats */
	struct edu_hw_stats st;		/* lock */
};

static uint32_t rd32(struct edu_hw *hw, uint32_t reg)
{
	return *(volatile uint32_t *)(hw->bar + reg);
}

static void wr32(struct edu_hw *hw, uint32_t reg, uint32_t val)
{
	*(volatile uint32_t *)(hw->bar + reg) = val;
}

/* One 8-byte access: edu takes 64-bit DMA addresses only that way. */
static void wr64(struct edu_hw *hw, uint32_t reg, uint64_t val)
{
	*(volatile uint64_t *)(hw->bar + reg) = val;
}

static int check_alive(struct edu_hw *hw)
{
	uint32_t probe = 0x5a5aa5a5u;

	hw->id = rd32(hw, EDU_REG_ID);
	if ((hw->id & 0xffff) != 0x00ed)
		return -ENODEV;
	wr32(hw, EDU_REG_LIVENESS, probe);
	return rd32(hw, EDU_REG_LIVENESS) == ~probe ? 0 : -EIO;
}

static int setup_irq(struct edu_hw *hw)
{
	int ret;

	if (vfio_irq_count(hw->v, VFIO_PCI_MSI_IRQ_INDEX) > 0) {
		ret = vfio_irq_enable(hw->v, VFIO_PCI_MSI_IRQ_INDEX, &hw->irq_fd, 1);
		if (!ret) {
			hw->msi = true;
			return 0;
		}
	}
	hw->msi = false;
	return vfio_irq_enable(hw->v, VFIO_PCI_INTX_IRQ_INDEX, &hw->irq_fd, 1);
}

int edu_hw_open(const char *sysfs, const char *bdf, struct edu_hw **out)
{
	struct edu_hw *hw;
	uint16_t ids[2];
	void *bar;
	int ret;

	hw = calloc(1, sizeof(*hw));
	if (!hw)
		return -ENOMEM;
	hw->irq_fd = -1;
	ret = vfio_open(sysfs, bdf, &hw->v);
	if (ret)
		goto err_free;
	ret = vfio_region_read(hw->v, VFIO_PCI_CONFIG_REGION_INDEX, PCI_VENDOR_OFF, ids, 4);
	if (ret)
		goto err_vfio;
	if (ids[0] != EDU_VENDOR_ID || ids[1] != EDU_DEVICE_ID) {
		ret = -ENODEV;
		goto err_vfio;
	}
	ret = vfio_region_mmap(hw->v, VFIO_PCI_BAR0_REGION_INDEX, &bar, &hw->bar_len);
	if (ret)
		goto err_vfio;
	hw->bar = bar;
	if (hw->bar_len < EDU_REG_DMA_CMD + 8) {
		ret = -ENODEV;
		goto err_vfio;
	}
	ret = check_alive(hw);
	if (ret)
		goto err_vfio;
	ret = vfio_enable_bus_master(hw->v);
	if (ret)
		goto err_vfio;
	hw->irq_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (hw->irq_fd < 0) {
		ret = -errno;
		goto err_vfio;
	}
	ret = setup_irq(hw);
	if (ret)
		goto err_fd;
	ret = -pthread_mutex_init(&hw->lock, NULL);
	if (ret)
		goto err_fd;
	hw->st.msi = hw->msi;
	*out = hw;
	return 0;

err_fd:
	close(hw->irq_fd);
err_vfio:
	vfio_close(hw->v);
err_free:
	free(hw);
	return ret;
}

void edu_hw_close(struct edu_hw *hw)
{
	if (!hw)
		return;
	vfio_close(hw->v);	/* turns the interrupt routing off first */
	close(hw->irq_fd);
	pthread_mutex_destroy(&hw->lock);
	free(hw);
}

struct vfio_dev *edu_hw_vfio(struct edu_hw *hw)
{
	return hw->v;
}

/* Wait for the interrupt, then make sure the engine is done. Lock held. */
static int wait_done(struct edu_hw *hw)
{
	struct pollfd p = { .fd = hw->irq_fd, .events = POLLIN };
	uint64_t v;
	int n;

	do
		n = poll(&p, 1, EDU_DMA_TIMEOUT_MS);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return -errno;
	if (n > 0 && read(hw->irq_fd, &v, sizeof(v)) == sizeof(v))
		hw->st.irqs++;
	if (rd32(hw, EDU_REG_DMA_CMD) & EDU_DMA_CMD_RUN) {
		hw->st.timeouts++;
		return -ETIMEDOUT;
	}
	if (!n)
		hw->st.irq_misses++;
	wr32(hw, EDU_REG_IRQ_ACK, rd32(hw, EDU_REG_IRQ_STATUS));
	/* INTx is masked by the kernel when it fires: unmask after the ack. */
	if (!hw->msi)
		vfio_irq_unmask(hw->v);
	return 0;
}

/* One transfer; hw->lock held. */
static int dma_locked(struct edu_hw *hw, uint64_t iova, uint32_t buf_off, uint32_t len,
		      bool to_host)
{
	uint64_t stale;
	int ret;

	/* An interrupt left over from a timed-out transfer must not count. */
	while (read(hw->irq_fd, &stale, sizeof(stale)) == sizeof(stale))
		;
	if (to_host) {
		wr64(hw, EDU_REG_DMA_SRC, EDU_BUF_ADDR + buf_off);
		wr64(hw, EDU_REG_DMA_DST, iova);
	} else {
		wr64(hw, EDU_REG_DMA_SRC, iova);
		wr64(hw, EDU_REG_DMA_DST, EDU_BUF_ADDR + buf_off);
	}
	wr64(hw, EDU_REG_DMA_COUNT, len);
	wr64(hw, EDU_REG_DMA_CMD, EDU_DMA_CMD_RUN | EDU_DMA_CMD_IRQ |
	     (to_host ? EDU_DMA_CMD_TO_RAM : 0));
	ret = wait_done(hw);
	if (!ret)
		hw->st.dmas++;
	return ret;
}

/* Strictly inside: a transfer ending at the buffer's end aborts QEMU 7.2. */
static bool dma_args_ok(uint64_t iova, uint32_t buf_off, uint32_t len)
{
	return len && buf_off < EDU_BUF_SIZE && len < EDU_BUF_SIZE - buf_off &&
	       iova && iova + len > iova;
}

int edu_hw_dma(struct edu_hw *hw, uint64_t iova, uint32_t buf_off, uint32_t len,
	       bool to_host)
{
	int ret;

	if (!dma_args_ok(iova, buf_off, len))
		return -EINVAL;
	pthread_mutex_lock(&hw->lock);
	ret = dma_locked(hw, iova, buf_off, len, to_host);
	pthread_mutex_unlock(&hw->lock);
	return ret;
}

int edu_hw_copy(struct edu_hw *hw, uint64_t src, uint64_t dst, uint32_t len)
{
	int ret;

	if (!dma_args_ok(src, 0, len) || !dma_args_ok(dst, 0, len))
		return -EINVAL;
	pthread_mutex_lock(&hw->lock);
	ret = dma_locked(hw, src, 0, len, false);
	if (!ret)
		ret = dma_locked(hw, dst, 0, len, true);
	pthread_mutex_unlock(&hw->lock);
	return ret;
}

int edu_hw_reset(struct edu_hw *hw)
{
	int ret;

	pthread_mutex_lock(&hw->lock);
	ret = vfio_reset(hw->v);
	if (ret)
		goto out;
	hw->st.resets++;
	/* The reset restores config space; set what we rely on again anyway. */
	ret = vfio_enable_bus_master(hw->v);
	if (!ret && check_alive(hw))
		ret = -EIO;
	if (!ret) {
		wr32(hw, EDU_REG_IRQ_ACK, rd32(hw, EDU_REG_IRQ_STATUS));
		if (!hw->msi)
			vfio_irq_unmask(hw->v);
	}
out:
	pthread_mutex_unlock(&hw->lock);
	return ret;
}

void edu_hw_get_stats(struct edu_hw *hw, struct edu_hw_stats *st)
{
	pthread_mutex_lock(&hw->lock);
	*st = hw->st;
	pthread_mutex_unlock(&hw->lock);
}
