/* SPDX-License-Identifier: MIT */
/*
 * QEMU's edu PCI device (1234:11e8) as ugpu drives it through the VFIO
 * layer: its registers in BAR0, its DMA engine that moves bytes between
 * an IOVA and a 4 KiB buffer inside the device, and its interrupt (MSI,
 * or INTx when MSI cannot be had) delivered on an eventfd. The edu
 * backend (--backend edu:<BDF>, edu.c) is built on these calls, and the
 * hardware tests (tests/hw) call them directly.
 *
 * Facts of the device that shape the calls (measured, see
 * notes/vfio-on-qemu-edu.md): the buffer is reachable only by DMA, not
 * through the BAR; a transfer may not end exactly at the end of the
 * buffer (QEMU 7.2 aborts the VM), so every transfer here stays strictly
 * inside it; each transfer takes 100 ms of virtual time; by default the
 * device masks DMA addresses to 28 bits (a larger dma_mask is a QEMU
 * option the driver cannot discover, so the backend is told: dma_bits).
 */
#ifndef UGPU_DEV_EDU_H
#define UGPU_DEV_EDU_H

#include <stdbool.h>
#include <stdint.h>

#include "dev/dev.h"

#define EDU_VENDOR_ID		0x1234
#define EDU_DEVICE_ID		0x11e8

/* BAR0 registers (32-bit below 0x80, 32- or 64-bit from 0x80). */
#define EDU_REG_ID		0x00	/* 0xRRrr00ed */
#define EDU_REG_LIVENESS	0x04	/* reads back the inverse */
#define EDU_REG_IRQ_STATUS	0x24
#define EDU_REG_IRQ_RAISE	0x60
#define EDU_REG_IRQ_ACK		0x64
#define EDU_REG_DMA_SRC		0x80
#define EDU_REG_DMA_DST		0x88
#define EDU_REG_DMA_COUNT	0x90
#define EDU_REG_DMA_CMD		0x98

#define EDU_DMA_CMD_RUN		0x1
#define EDU_DMA_CMD_TO_RAM	0x2	/* buffer -> IOVA; clear: IOVA -> buffer */
#define EDU_DMA_CMD_IRQ		0x4
#define EDU_IRQ_DMA		0x100	/* irq status bit of a finished DMA */

#define EDU_BUF_ADDR		0x40000	/* the buffer in the device's DMA space */
#define EDU_BUF_SIZE		4096u
#define EDU_DMA_TIMEOUT_MS	5000	/* 100 ms of virtual time, with margin */

struct edu_hw;
struct vfio_dev;

/**
 * struct edu_hw_stats - counters of one edu device
 * @dmas:        transfers completed
 * @irqs:        completion interrupts received
 * @irq_misses:  transfers found complete without their interrupt
 * @timeouts:    transfers that never completed
 * @resets:      device resets
 * @msi:         1 if the interrupt is MSI, 0 if INTx
 */
struct edu_hw_stats {
	uint64_t dmas, irqs, irq_misses, timeouts, resets;
	uint32_t msi;
};

/**
 * edu_hw_open - take the edu device at @bdf through VFIO and set it up
 * @sysfs: sysfs root, NULL for "/sys"
 * @bdf:   PCI address
 * @out:   receives the device
 *
 * Opens it (vfio_open()), maps BAR0, checks the ID and liveness
 * registers, enables memory decoding and bus mastering, and routes the
 * interrupt to an eventfd: MSI if the device has it, else INTx.
 * Return: 0, -ENODEV (not an edu), or vfio_open()'s and the setup's -errno.
 */
int edu_hw_open(const char *sysfs, const char *bdf, struct edu_hw **out);

/**
 * edu_hw_close - interrupts off, device released
 * @hw: the device, or NULL
 */
void edu_hw_close(struct edu_hw *hw);

/**
 * edu_hw_vfio - the VFIO device under @hw, to DMA-map memory for it
 * @hw: the device
 */
struct vfio_dev *edu_hw_vfio(struct edu_hw *hw);

/**
 * edu_hw_dma - one DMA transfer, waited for (interrupt, with a timeout)
 * @hw:        the device
 * @iova:      the host side, DMA-mapped for the device (writable for
 *             @to_host)
 * @buf_off:   offset in the device buffer
 * @len:       bytes; @buf_off + @len must stay strictly below EDU_BUF_SIZE
 * @to_host:   true: buffer -> @iova; false: @iova -> buffer
 *
 * Transfers are serialized (the device has one DMA engine); the caller
 * sleeps for the transfer. An interrupt that does not come is recovered
 * by reading the command register.
 * Return: 0, -EINVAL (arguments), -ETIMEDOUT (the engine never finished:
 * reset the device), -errno of the interrupt wait.
 */
int edu_hw_dma(struct edu_hw *hw, uint64_t iova, uint32_t buf_off, uint32_t len,
	       bool to_host);

/**
 * edu_hw_copy - copy @len bytes from @src to @dst through the device
 * buffer: two transfers (in, out) with no other transfer between them
 * @hw:  the device
 * @src: IOVA read by the device
 * @dst: IOVA written by the device (mapped writable)
 * @len: 1..EDU_BUF_SIZE - 1
 *
 * Return: as edu_hw_dma().
 */
int edu_hw_copy(struct edu_hw *hw, uint64_t src, uint64_t dst, uint32_t len);

/**
 * edu_hw_reset - reset the device through VFIO and set it up again
 * @hw: the device
 *
 * Waits for a transfer in progress. Bus mastering and the ID are checked
 * again afterwards.
 * Return: 0, -EOPNOTSUPP (no reset for this device: edu needs to sit
 * behind a PCIe root port), -EIO (the device did not come back), -errno.
 */
int edu_hw_reset(struct edu_hw *hw);

/**
 * edu_hw_get_stats - a snapshot of @hw's counters
 * @hw: the device
 * @st: receives them
 */
void edu_hw_get_stats(struct edu_hw *hw, struct edu_hw_stats *st);

/**
 * edu_lost_writes - bounced writes the edu backend dropped because the
 * client memory behind them was invalidated while the job ran
 * @d: an edu device (dev_open("edu:...")); 0 for any other backend
 */
uint64_t edu_lost_writes(struct dev *d);

extern const struct dev_ops edu_dev_ops;

#endif
