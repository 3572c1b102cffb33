// SPDX-License-Identifier: MIT
/*
 * Command-buffer encoding: the ugpu_cmd_*() helpers write the commands of
 * uapi/ugpu_isa.h into CPU-visible memory the GPU will read the batch
 * from. A command that does not fit is not written; the buffer is then
 * marked overflowed (len > cap) so every later call, and ugpu_cmd_end(),
 * reports -ENOSPC too and a cut batch cannot be submitted by mistake.
 */
#include <errno.h>
#include <string.h>

#include "uapi/ugpu_isa.h"
#include "ugpu.h"

void ugpu_cmd_init(struct ugpu_cmdbuf *cb, void *mem, uint64_t bytes)
{
	cb->cs = mem;
	cb->len = 0;
	cb->cap = bytes / 4 > UINT32_MAX - 1 ? UINT32_MAX - 1 : (uint32_t)(bytes / 4);
}

static int emit(struct ugpu_cmdbuf *cb, const uint32_t *dw, uint32_t n)
{
	if (!cb || !cb->cs)
		return -EINVAL;
	if (cb->len > cb->cap || cb->cap - cb->len < n) {
		cb->len = cb->cap + 1;
		return -ENOSPC;
	}
	memcpy(cb->cs + cb->len, dw, n * 4);
	cb->len += n;
	return 0;
}

int ugpu_cmd_store_dword(struct ugpu_cmdbuf *cb, uint64_t va, uint32_t value)
{
	const uint32_t dw[] = {
		UGPU_ISA_HDR(UGPU_OP_STORE_DWORD, 0, UGPU_LEN_STORE_DWORD),
		UGPU_ISA_LO(va), UGPU_ISA_HI(va), value,
	};

	return emit(cb, dw, UGPU_LEN_STORE_DWORD);
}

int ugpu_cmd_fill(struct ugpu_cmdbuf *cb, uint64_t va, uint64_t size, uint32_t value)
{
	const uint32_t dw[] = {
		UGPU_ISA_HDR(UGPU_OP_FILL, 0, UGPU_LEN_FILL),
		UGPU_ISA_LO(va), UGPU_ISA_HI(va), UGPU_ISA_LO(size), UGPU_ISA_HI(size), value,
	};

	return emit(cb, dw, UGPU_LEN_FILL);
}

int ugpu_cmd_copy(struct ugpu_cmdbuf *cb, uint64_t dst_va, uint64_t src_va, uint64_t size)
{
	const uint32_t dw[] = {
		UGPU_ISA_HDR(UGPU_OP_COPY, 0, UGPU_LEN_COPY),
		UGPU_ISA_LO(dst_va), UGPU_ISA_HI(dst_va), UGPU_ISA_LO(src_va),
		UGPU_ISA_HI(src_va), UGPU_ISA_LO(size), UGPU_ISA_HI(size),
	};

	return emit(cb, dw, UGPU_LEN_COPY);
}

int ugpu_cmd_checksum(struct ugpu_cmdbuf *cb, uint64_t dst_va, uint64_t src_va,
		      uint64_t size)
{
	const uint32_t dw[] = {
		UGPU_ISA_HDR(UGPU_OP_CHECKSUM, 0, UGPU_LEN_CHECKSUM),
		UGPU_ISA_LO(dst_va), UGPU_ISA_HI(dst_va), UGPU_ISA_LO(src_va),
		UGPU_ISA_HI(src_va), UGPU_ISA_LO(size), UGPU_ISA_HI(size),
	};

	return emit(cb, dw, UGPU_LEN_CHECKSUM);
}

int ugpu_cmd_add_u32(struct ugpu_cmdbuf *cb, uint64_t dst_va, uint64_t a_va,
		     uint64_t b_va, uint32_t count)
{
	const uint32_t dw[] = {
		UGPU_ISA_HDR(UGPU_OP_ADD_U32, 0, UGPU_LEN_ADD_U32),
		UGPU_ISA_LO(dst_va), UGPU_ISA_HI(dst_va), UGPU_ISA_LO(a_va), UGPU_ISA_HI(a_va),
		UGPU_ISA_LO(b_va), UGPU_ISA_HI(b_va), count,
	};

	return emit(cb, dw, UGPU_LEN_ADD_U32);
}

int ugpu_cmd_saxpy_f32(struct ugpu_cmdbuf *cb, uint64_t y_va, uint64_t x_va,
		       uint32_t count, float a)
{
	uint32_t abits;

	memcpy(&abits, &a, sizeof(abits));
	const uint32_t dw[] = {
		UGPU_ISA_HDR(UGPU_OP_SAXPY_F32, 0, UGPU_LEN_SAXPY_F32),
		UGPU_ISA_LO(y_va), UGPU_ISA_HI(y_va), UGPU_ISA_LO(x_va), UGPU_ISA_HI(x_va),
		count, abits,
	};

	return emit(cb, dw, UGPU_LEN_SAXPY_F32);
}

int ugpu_cmd_semaphore_wait(struct ugpu_cmdbuf *cb, uint64_t va, uint32_t op,
			    uint32_t value)
{
	const uint32_t dw[] = {
		UGPU_ISA_HDR(UGPU_OP_SEMAPHORE_WAIT, op, UGPU_LEN_SEMAPHORE_WAIT),
		UGPU_ISA_LO(va), UGPU_ISA_HI(va), value,
	};

	if (op > UGPU_SEM_LTE)
		return -EINVAL;
	return emit(cb, dw, UGPU_LEN_SEMAPHORE_WAIT);
}

int ugpu_cmd_timestamp(struct ugpu_cmdbuf *cb, uint64_t va)
{
	const uint32_t dw[] = {
		UGPU_ISA_HDR(UGPU_OP_TIMESTAMP, 0, UGPU_LEN_TIMESTAMP),
		UGPU_ISA_LO(va), UGPU_ISA_HI(va),
	};

	return emit(cb, dw, UGPU_LEN_TIMESTAMP);
}

int ugpu_cmd_end(struct ugpu_cmdbuf *cb)
{
	const uint32_t dw[] = { UGPU_ISA_HDR(UGPU_OP_BATCH_END, 0, UGPU_LEN_BATCH_END) };

	return emit(cb, dw, UGPU_LEN_BATCH_END);
}
