// SPDX-License-Identifier: MIT
/*
 * The sim's command processor: fetches the batch from GPU memory through
 * the VM's page tables (a small window, never past the page holding the
 * bytes it needs, so prefetch never faults on a page the batch does not
 * use), decodes each command against the table below (length, flags,
 * engine class), and executes it with the sim_mem_*() accessors. The
 * semantics of every opcode are written in uapi/ugpu_isa.h; this file
 * implements exactly those.
 */
#include <errno.h>
#include <string.h>

#include "dev/sim_internal.h"
#include "uapi/ugpu_isa.h"

#define PAGE	4096u
#define BATCH_END_REACHED	1

typedef int (*cmd_fn)(struct sim_ctx *c, const uint32_t *cmd, uint32_t flags);

struct cmd_desc {
	uint32_t len;		/* dwords, header included */
	uint32_t flags_max;	/* highest valid flags value */
	bool render_only;
	cmd_fn fn;
};

static uint64_t u64_at(const uint32_t *cmd, unsigned int i)
{
	return UGPU_ISA_U64(cmd[i], cmd[i + 1]);
}

static int op_batch_end(struct sim_ctx *c, const uint32_t *cmd, uint32_t flags)
{
	return BATCH_END_REACHED;
}

static int op_store_dword(struct sim_ctx *c, const uint32_t *cmd, uint32_t flags)
{
	uint64_t va = u64_at(cmd, 1);

	if (va & 3)
		return -EINVAL;
	return sim_mem_write(c, va, &cmd[3], 4);
}

static int op_fill(struct sim_ctx *c, const uint32_t *cmd, uint32_t flags)
{
	return sim_mem_fill(c, u64_at(cmd, 1), u64_at(cmd, 3), cmd[5]);
}

static int op_copy(struct sim_ctx *c, const uint32_t *cmd, uint32_t flags)
{
	uint64_t dst = u64_at(cmd, 1), src = u64_at(cmd, 3), size = u64_at(cmd, 5);

	if (!size)
		return 0;
	/* Overlap, modulo 2^64: one start lies inside the other range. */
	if (dst - src < size || src - dst < size)
		return -EINVAL;
	return sim_mem_copy(c, dst, src, size);
}

static int op_checksum(struct sim_ctx *c, const uint32_t *cmd, uint32_t flags)
{
	uint64_t dst = u64_at(cmd, 1), src = u64_at(cmd, 3), size = u64_at(cmd, 5);
	uint8_t *buf = c->eng->kbuf;
	uint32_t crc = 0xffffffffu;
	uint64_t off;
	int ret;

	if (dst & 3)
		return -EINVAL;
	for (off = 0; off < size; off += SIM_KCHUNK) {
		uint64_t n = size - off < SIM_KCHUNK ? size - off : SIM_KCHUNK;

		ret = sim_mem_read(c, src + off, buf, n);
		if (ret)
			return ret;
		crc = sim_crc32c(crc, buf, n);
	}
	crc = ~crc;
	return sim_mem_write(c, dst, &crc, 4);
}

static bool sem_true(uint32_t v, uint32_t op, uint32_t want)
{
	switch (op) {
	case UGPU_SEM_EQ:	return v == want;
	case UGPU_SEM_NE:	return v != want;
	case UGPU_SEM_GT:	return v > want;
	case UGPU_SEM_GTE:	return v >= want;
	case UGPU_SEM_LT:	return v < want;
	default:		return v <= want;	/* UGPU_SEM_LTE */
	}
}

/*
 * Polls with a backoff from 2 us to 1 ms, sleeping on the engine's
 * condition variable so a cancel or reset wakes it at once; the job's
 * deadline turns a wait that never ends into a hang (-EIO).
 */
static int op_semaphore_wait(struct sim_ctx *c, const uint32_t *cmd, uint32_t flags)
{
	uint64_t va = u64_at(cmd, 1), nap = 2000;
	uint32_t v;
	int ret;

	if (va & 3)
		return -EINVAL;
	for (;;) {
		ret = sim_mem_read(c, va, &v, 4);
		if (ret)
			return ret;
		if (sem_true(v, flags, cmd[3]))
			return 0;
		ret = sim_ctx_sleep(c, nap);
		if (ret)
			return ret;
		if (nap < 1000000)
			nap *= 2;
	}
}

static int op_timestamp(struct sim_ctx *c, const uint32_t *cmd, uint32_t flags)
{
	uint64_t va = u64_at(cmd, 1), t = sim_now_ns();

	if (va & 7)
		return -EINVAL;
	return sim_mem_write(c, va, &t, 8);
}

/* Elementwise over dword arrays in blocks of SIM_KCHUNK bytes. */
static int op_add_u32(struct sim_ctx *c, const uint32_t *cmd, uint32_t flags)
{
	uint64_t dst = u64_at(cmd, 1), a = u64_at(cmd, 3), b = u64_at(cmd, 5);
	uint32_t *x = (uint32_t *)c->eng->kbuf, *y = x + SIM_KCHUNK / 4;
	uint64_t bytes = (uint64_t)cmd[7] * 4, off;
	int ret;

	if ((dst | a | b) & 3)
		return -EINVAL;
	for (off = 0; off < bytes; off += SIM_KCHUNK) {
		uint64_t n = bytes - off < SIM_KCHUNK ? bytes - off : SIM_KCHUNK;

		ret = sim_mem_read(c, a + off, x, n);
		if (!ret)
			ret = sim_mem_read(c, b + off, y, n);
		if (ret)
			return ret;
		for (uint64_t i = 0; i < n / 4; i++)
			x[i] += y[i];
		ret = sim_mem_write(c, dst + off, x, n);
		if (ret)
			return ret;
	}
	return 0;
}

static int op_saxpy_f32(struct sim_ctx *c, const uint32_t *cmd, uint32_t flags)
{
	uint64_t yva = u64_at(cmd, 1), xva = u64_at(cmd, 3);
	float *x = (float *)c->eng->kbuf, *y = x + SIM_KCHUNK / 4, a;
	uint64_t bytes = (uint64_t)cmd[5] * 4, off;
	int ret;

	if ((yva | xva) & 3)
		return -EINVAL;
	memcpy(&a, &cmd[6], 4);
	for (off = 0; off < bytes; off += SIM_KCHUNK) {
		uint64_t n = bytes - off < SIM_KCHUNK ? bytes - off : SIM_KCHUNK;

		ret = sim_mem_read(c, xva + off, x, n);
		if (!ret)
			ret = sim_mem_read(c, yva + off, y, n);
		if (ret)
			return ret;
		for (uint64_t i = 0; i < n / 4; i++) {
			/* Two statements: round the product, no contraction. */
			volatile float p = a * x[i];

			y[i] = p + y[i];
		}
		ret = sim_mem_write(c, yva + off, y, n);
		if (ret)
			return ret;
	}
	return 0;
}

static const struct cmd_desc cmds[256] = {
	[UGPU_OP_BATCH_END] = { UGPU_LEN_BATCH_END, 0, false, op_batch_end },
	[UGPU_OP_STORE_DWORD] = { UGPU_LEN_STORE_DWORD, 0, false, op_store_dword },
	[UGPU_OP_FILL] = { UGPU_LEN_FILL, 0, false, op_fill },
	[UGPU_OP_COPY] = { UGPU_LEN_COPY, 0, false, op_copy },
	[UGPU_OP_CHECKSUM] = { UGPU_LEN_CHECKSUM, 0, false, op_checksum },
	[UGPU_OP_SEMAPHORE_WAIT] = { UGPU_LEN_SEMAPHORE_WAIT, UGPU_SEM_LTE, false,
				     op_semaphore_wait },
	[UGPU_OP_TIMESTAMP] = { UGPU_LEN_TIMESTAMP, 0, false, op_timestamp },
	[UGPU_OP_ADD_U32] = { UGPU_LEN_ADD_U32, 0, true, op_add_u32 },
	[UGPU_OP_SAXPY_F32] = { UGPU_LEN_SAXPY_F32, 0, true, op_saxpy_f32 },
};

/*
 * Copy @ndw dwords of the batch at @va into @out, refilling the window
 * from @va when they are not in it. A refill reads to the end of the page
 * holding @va (or of the batch), but at least the bytes asked for.
 */
static int fetch(struct sim_ctx *c, uint64_t va, uint64_t end, uint32_t ndw, uint32_t *out)
{
	uint64_t need = (uint64_t)ndw * 4, len;
	int ret;

	if (va < c->fetch_va || va + need > c->fetch_va + c->fetch_len) {
		len = PAGE - (va & (PAGE - 1));
		if (len > end - va)
			len = end - va;
		if (len < need)
			len = need;
		ret = sim_mem_read(c, va, c->eng->fetch, len);
		if (ret) {
			c->fetch_len = 0;
			return ret;
		}
		c->fetch_va = va;
		c->fetch_len = len;
	}
	memcpy(out, (uint8_t *)c->eng->fetch + (va - c->fetch_va), need);
	return 0;
}

int sim_exec_batch(struct sim_ctx *c)
{
	uint64_t va = c->job->batch_va, end = va + c->job->batch_len;
	uint32_t cmd[UGPU_ISA_MAX_CMD_LEN];
	int ret;

	c->fetch_va = 0;
	c->fetch_len = 0;
	for (;;) {
		const struct cmd_desc *d;
		uint32_t op, flags, len;

		ret = sim_ctx_check(c);
		if (ret)
			return ret;
		if (va >= end)
			return -EINVAL;		/* no BATCH_END */
		ret = fetch(c, va, end, 1, cmd);
		if (ret)
			return ret;
		op = UGPU_ISA_OP(cmd[0]);
		flags = UGPU_ISA_FLAGS(cmd[0]);
		len = UGPU_ISA_LEN(cmd[0]);
		if (!len || (uint64_t)len * 4 > end - va)
			return -EINVAL;
		if (op == UGPU_OP_NOP) {
			if (flags)
				return -EINVAL;
			va += (uint64_t)len * 4;
			continue;
		}
		d = &cmds[op];
		if (!d->fn || len != d->len || flags > d->flags_max)
			return -EINVAL;
		if (d->render_only && c->eng->class != DEV_ENGINE_RENDER)
			return -EINVAL;
		ret = fetch(c, va, end, len, cmd);
		if (!ret)
			ret = d->fn(c, cmd, flags);
		if (ret == BATCH_END_REACHED)
			return 0;
		if (ret)
			return ret;
		va += (uint64_t)len * 4;
	}
}
