/* SPDX-License-Identifier: MIT */
/*
 * The harness the ISA suites share (isa_test.c, isa_memory_test.c): a
 * real sim device and VM over daemon memory, with a writable window
 * that has an unmapped page after it, a read-only window and a batch
 * buffer; an encoder per command of uapi/ugpu_isa.h into a small batch
 * builder; and running a batch to its result. Every function asserts
 * (Check) on what must not fail, so the tests read as the ISA does.
 */
#ifndef UGPU_TESTS_ISA_HARNESS_H
#define UGPU_TESTS_ISA_HARNESS_H

#include <stddef.h>
#include <stdint.h>

#include "dev/dev.h"
#include "uapi/ugpu_isa.h"

#define PAGE		4096u
#define NPAGES		1024u			/* 4 MiB writable window */
#define RW_VA		0x10000000ull
#define RW_END		(RW_VA + NPAGES * PAGE)	/* unmapped page here */
#define RO_VA		0x20000000ull
#define RO_PAGES	4u
#define BATCH_VA	0x30000000ull
#define BATCH_BYTES	(64u * 1024)
#define HOLE_VA		0x40000000ull		/* never mapped */

/* Set up by isa_setup(), torn down by isa_teardown(). */
struct isa_fixture {
	struct dev *d;
	struct dev_vm *vm;
	uint8_t *rw, *ro;	/* host memory of the RW_VA and RO_VA windows */
	uint32_t *batch;	/* host memory at BATCH_VA */
};

extern struct isa_fixture ISA;

/* A batch being built: up to 256 dwords. */
struct bb {
	uint32_t dw[256];
	unsigned int n;
};

/**
 * isa_emit - append @n dwords to @b
 * @b:  the batch
 * @n:  how many
 * @dw: the dwords
 */
void isa_emit(struct bb *b, unsigned int n, const uint32_t *dw);

/* Append the dwords given as arguments. */
#define EMIT(b, ...)							\
	do {								\
		const uint32_t dw_[] = { __VA_ARGS__ };			\
		isa_emit((b), sizeof(dw_) / 4, dw_);			\
	} while (0)

#define LOHI(v) UGPU_ISA_LO(v), UGPU_ISA_HI(v)

/* Encoders: append one command of uapi/ugpu_isa.h with these operands. */
void isa_end(struct bb *b);
void isa_store(struct bb *b, uint64_t va, uint32_t v);
void isa_fill(struct bb *b, uint64_t va, uint64_t size, uint32_t v);
void isa_copy(struct bb *b, uint64_t dst, uint64_t src, uint64_t size);
void isa_checksum(struct bb *b, uint64_t dst, uint64_t src, uint64_t size);
void isa_sem_wait(struct bb *b, uint32_t op, uint64_t va, uint32_t v);
void isa_add_u32(struct bb *b, uint64_t dst, uint64_t a, uint64_t x, uint32_t n);
void isa_saxpy(struct bb *b, uint64_t y, uint64_t x, uint32_t n, float a);

/**
 * isa_map_anon - private anonymous read-write memory, asserted
 * @len: bytes
 *
 * Return: the memory (munmap() it).
 */
void *isa_map_anon(size_t len);

/**
 * isa_map_host - map host memory into the VM, asserted
 * @va:    GPU address
 * @host:  the memory
 * @size:  bytes
 * @flags: DEV_MAP_*
 */
void isa_map_host(uint64_t va, void *host, uint64_t size, uint32_t flags);

/**
 * isa_setup - checked fixture: open the sim, create the VM, map the windows
 */
void isa_setup(void);

/**
 * isa_teardown - checked fixture: undo isa_setup()
 */
void isa_teardown(void);

/**
 * isa_run_raw - run the batch at @va (@len bytes) on @engine
 * @engine: the engine
 * @va:     GPU address of the batch
 * @len:    its length in bytes
 *
 * Return: the job's result.
 */
struct dev_job_result isa_run_raw(uint32_t engine, uint64_t va, uint32_t len);

/**
 * isa_run_on - copy @b into the batch buffer and run it on @engine
 * @engine: the engine
 * @b:      the batch
 *
 * Return: the job's result.
 */
struct dev_job_result isa_run_on(uint32_t engine, const struct bb *b);

/**
 * isa_run - run @b on engine 0
 * @b: the batch
 *
 * Return: the job's status.
 */
int isa_run(const struct bb *b);

/**
 * isa_expect_fault - run @b on engine 0 and assert that it faulted
 * @b:     the batch
 * @va:    the first faulting address it must report
 * @kind:  DEV_FAULT_* kind
 * @flags: DEV_FAULT_F_* flags
 */
void isa_expect_fault(const struct bb *b, uint64_t va, uint32_t kind, uint32_t flags);

/**
 * isa_pattern - fill @p with a pseudo-random byte pattern from @seed
 * @p:    the memory
 * @len:  bytes
 * @seed: the same seed gives the same bytes
 */
void isa_pattern(uint8_t *p, size_t len, uint32_t seed);

/**
 * isa_rd32 - the dword at @va of the writable window
 * @va: an address in [RW_VA, RW_END - 4]
 */
uint32_t isa_rd32(uint64_t va);

#endif
