/* SPDX-License-Identifier: MIT */
/*
 * The ugpu command-stream ISA: what an engine executes from a batch
 * buffer in GPU memory. A batch is a sequence of commands, each a header
 * dword followed by its operands, all little-endian dwords; execution
 * starts at the batch's first dword and stops at BATCH_END. Every
 * address is a 64-bit GPU virtual address of the job's VM, split into a
 * low and a high dword; every access goes through that VM's page tables,
 * and an access to a page that is not mapped, or a write to a page mapped
 * read-only, is a GPU page fault that ends the job with -EFAULT (the
 * first faulting byte's VA is reported). Any device (the sim, or a real
 * backend's firmware) implements exactly the semantics written here, and
 * libugpu's ugpu_cmd_*() helpers encode them.
 */
#ifndef UGPU_UAPI_UGPU_ISA_H
#define UGPU_UAPI_UGPU_ISA_H

#include <linux/types.h>

/*
 * DOC: Header dword
 *
 *   31        24 23        16 15                         0
 *  +------------+------------+----------------------------+
 *  |   opcode   |   flags    |  length in dwords (incl.   |
 *  |            |            |  this header), >= 1        |
 *  +------------+------------+----------------------------+
 *
 * Every command except NOP has a fixed length (UGPU_LEN_*); a header with
 * another length, a flag bit the opcode does not define, an unknown
 * opcode, or an opcode the engine's class does not run is an invalid
 * command. A zero dword (opcode NOP, length 0) is invalid too, so running
 * into zeroed memory stops at once.
 *
 * DOC: Job status
 *
 *   0          every command ran and BATCH_END was reached
 *   -EFAULT    GPU page fault (not-present page, or write to a read-only
 *              page; a client's memory that is unmapped, protected or
 *              gone counts the same). Commands before the faulting one
 *              completed; the faulting command may have written part of
 *              its destination below the fault address, and bytes above
 *              it in the same bounded chunk.
 *   -EINVAL    invalid command, misaligned operand, overlapping COPY,
 *              or the batch ended (batch_len) without BATCH_END
 *   -EIO       the job exceeded the device's time limit (hang; e.g. a
 *              SEMAPHORE_WAIT that is never satisfied) or its engine was
 *              reset; the engine then runs the next queued job
 *   -ECANCELED the job was cancelled
 *
 * DOC: Engine classes
 *
 *   RENDER     runs every opcode.
 *   COPY       runs NOP, BATCH_END, STORE_DWORD, FILL, COPY, CHECKSUM,
 *              SEMAPHORE_WAIT, TIMESTAMP; the arithmetic kernels
 *              (ADD_U32, SAXPY_F32) are invalid there.
 *
 * Batch rules: batch_va is 4-byte aligned, batch_len a non-zero multiple
 * of 4. Sizes are in bytes unless the field says "count" (elements).
 * Ranges whose end passes the VM's VA size fault at the first VA past it.
 */

/* Bumped whenever an opcode or a flag is added. */
#define UGPU_ISA_VERSION	1

#define UGPU_ISA_OP_SHIFT	24
#define UGPU_ISA_FLAGS_SHIFT	16
#define UGPU_ISA_FLAGS_MASK	0xffu
#define UGPU_ISA_LEN_MASK	0xffffu

#define UGPU_ISA_HDR(op, flags, len)					\
	((__u32)(((__u32)(op) << UGPU_ISA_OP_SHIFT) |			\
		 (((__u32)(flags) & UGPU_ISA_FLAGS_MASK) << UGPU_ISA_FLAGS_SHIFT) | \
		 ((__u32)(len) & UGPU_ISA_LEN_MASK)))
#define UGPU_ISA_OP(hdr)	((__u32)(hdr) >> UGPU_ISA_OP_SHIFT)
#define UGPU_ISA_FLAGS(hdr)	(((__u32)(hdr) >> UGPU_ISA_FLAGS_SHIFT) & UGPU_ISA_FLAGS_MASK)
#define UGPU_ISA_LEN(hdr)	((__u32)(hdr) & UGPU_ISA_LEN_MASK)

/* Split a 64-bit value into the lo/hi operand dwords, and join them. */
#define UGPU_ISA_LO(v)		((__u32)((__u64)(v) & 0xffffffffu))
#define UGPU_ISA_HI(v)		((__u32)((__u64)(v) >> 32))
#define UGPU_ISA_U64(lo, hi)	((__u64)(lo) | ((__u64)(hi) << 32))

/*
 * NOP: [hdr]  (+ length-1 ignored dwords, length 1..65535)
 *   Does nothing. The ignored dwords are skipped without being read, so
 *   a long NOP can pad a batch. No flags.
 */
#define UGPU_OP_NOP		0x00u

/*
 * BATCH_END: [hdr]  length 1
 *   Ends the job successfully. No flags.
 */
#define UGPU_OP_BATCH_END	0x01u
#define UGPU_LEN_BATCH_END	1u

/*
 * STORE_DWORD: [hdr, va_lo, va_hi, value]  length 4
 *   Writes @value to the dword at @va (4-byte aligned, else -EINVAL).
 */
#define UGPU_OP_STORE_DWORD	0x02u
#define UGPU_LEN_STORE_DWORD	4u
struct ugpu_isa_store_dword {
	__u32 hdr;
	__u32 va_lo, va_hi;
	__u32 value;
};

/*
 * FILL: [hdr, va_lo, va_hi, size_lo, size_hi, value]  length 6
 *   Writes @size bytes at @va (any alignment) with the 32-bit pattern
 *   @value repeated from @va on: byte i of the range gets byte (i % 4)
 *   of @value in little-endian order. @size 0 does nothing and touches no
 *   memory.
 */
#define UGPU_OP_FILL		0x03u
#define UGPU_LEN_FILL		6u
struct ugpu_isa_fill {
	__u32 hdr;
	__u32 va_lo, va_hi;
	__u32 size_lo, size_hi;
	__u32 value;
};

/*
 * COPY: [hdr, dst_lo, dst_hi, src_lo, src_hi, size_lo, size_hi]  length 7
 *   Copies @size bytes from @src to @dst, any alignment. The two VA
 *   ranges must not overlap (-EINVAL); two VAs mapping the same memory
 *   give undefined contents. A fault reports the lowest offset at which
 *   the source read or the destination write failed (the source VA if
 *   both fail at the same offset). @size 0 does nothing.
 */
#define UGPU_OP_COPY		0x04u
#define UGPU_LEN_COPY		7u
struct ugpu_isa_copy {
	__u32 hdr;
	__u32 dst_lo, dst_hi;
	__u32 src_lo, src_hi;
	__u32 size_lo, size_hi;
};

/*
 * CHECKSUM: [hdr, dst_lo, dst_hi, src_lo, src_hi, size_lo, size_hi]  length 7
 *   Computes CRC32C (Castagnoli, reflected polynomial 0x82f63b78, initial
 *   value and final xor 0xffffffff; "123456789" gives 0xe3069283) of the
 *   @size bytes at @src (any alignment) and writes it to the dword at
 *   @dst (4-byte aligned, else -EINVAL). @size 0 writes 0.
 */
#define UGPU_OP_CHECKSUM	0x05u
#define UGPU_LEN_CHECKSUM	7u
struct ugpu_isa_checksum {
	__u32 hdr;
	__u32 dst_lo, dst_hi;
	__u32 src_lo, src_hi;
	__u32 size_lo, size_hi;
};

/*
 * SEMAPHORE_WAIT: [hdr, va_lo, va_hi, value]  length 4, flags = compare
 *   Waits until the dword at @va (4-byte aligned) compares true against
 *   @value, unsigned: *va <op> value with <op> from the flags below. The
 *   dword is re-read through the page tables at each poll (another engine
 *   or the CPU may write it), so a mapping zapped while waiting faults. A
 *   wait that outlasts the job time limit ends the job with -EIO.
 */
#define UGPU_OP_SEMAPHORE_WAIT	0x06u
#define UGPU_LEN_SEMAPHORE_WAIT	4u
#define UGPU_SEM_EQ		0x0u
#define UGPU_SEM_NE		0x1u
#define UGPU_SEM_GT		0x2u
#define UGPU_SEM_GTE		0x3u
#define UGPU_SEM_LT		0x4u
#define UGPU_SEM_LTE		0x5u
struct ugpu_isa_semaphore_wait {
	__u32 hdr;
	__u32 va_lo, va_hi;
	__u32 value;
};

/*
 * TIMESTAMP: [hdr, va_lo, va_hi]  length 3
 *   Writes the device clock (CLOCK_MONOTONIC nanoseconds for the sim) as
 *   a little-endian qword at @va (8-byte aligned, else -EINVAL).
 */
#define UGPU_OP_TIMESTAMP	0x07u
#define UGPU_LEN_TIMESTAMP	3u
struct ugpu_isa_timestamp {
	__u32 hdr;
	__u32 va_lo, va_hi;
};

/*
 * ADD_U32 (render only): [hdr, dst_lo, dst_hi, a_lo, a_hi, b_lo, b_hi, count]
 * length 8
 *   dst[i] = a[i] + b[i] modulo 2^32 for i < @count; all three arrays
 *   4-byte aligned (else -EINVAL). @dst may equal @a or @b (in place);
 *   any other overlap gives undefined contents. @count 0 does nothing.
 */
#define UGPU_OP_ADD_U32		0x10u
#define UGPU_LEN_ADD_U32	8u
struct ugpu_isa_add_u32 {
	__u32 hdr;
	__u32 dst_lo, dst_hi;
	__u32 a_lo, a_hi;
	__u32 b_lo, b_hi;
	__u32 count;
};

/*
 * SAXPY_F32 (render only): [hdr, y_lo, y_hi, x_lo, x_hi, count, a]  length 7
 *   y[i] = a * x[i] + y[i] for i < @count in IEEE-754 single precision,
 *   the product rounded before the sum (no fused multiply-add); @a is
 *   the float's bit pattern. Arrays 4-byte aligned (else -EINVAL); @x and
 *   @y equal or disjoint. @count 0 does nothing.
 */
#define UGPU_OP_SAXPY_F32	0x11u
#define UGPU_LEN_SAXPY_F32	7u
struct ugpu_isa_saxpy_f32 {
	__u32 hdr;
	__u32 y_lo, y_hi;
	__u32 x_lo, x_hi;
	__u32 count;
	__u32 a;
};

_Static_assert(sizeof(struct ugpu_isa_store_dword) == UGPU_LEN_STORE_DWORD * 4, "store_dword");
_Static_assert(sizeof(struct ugpu_isa_fill) == UGPU_LEN_FILL * 4, "fill");
_Static_assert(sizeof(struct ugpu_isa_copy) == UGPU_LEN_COPY * 4, "copy");
_Static_assert(sizeof(struct ugpu_isa_checksum) == UGPU_LEN_CHECKSUM * 4, "checksum");
_Static_assert(sizeof(struct ugpu_isa_semaphore_wait) == UGPU_LEN_SEMAPHORE_WAIT * 4,
	       "semaphore_wait");
_Static_assert(sizeof(struct ugpu_isa_timestamp) == UGPU_LEN_TIMESTAMP * 4, "timestamp");
_Static_assert(sizeof(struct ugpu_isa_add_u32) == UGPU_LEN_ADD_U32 * 4, "add_u32");
_Static_assert(sizeof(struct ugpu_isa_saxpy_f32) == UGPU_LEN_SAXPY_F32 * 4, "saxpy_f32");

/* The longest fixed-length command, in dwords. */
#define UGPU_ISA_MAX_CMD_LEN	8u

#endif
