// SPDX-License-Identifier: MIT
/*
 * How a sim engine touches GPU memory: every access (read into the
 * engine, write from it, fill, copy) is cut into chunks of at most
 * SIM_CHUNK bytes. For one chunk the engine enters the VM's port gate
 * (if the VM reaches a client's memory), takes the VM's page-table lock
 * for read, translates the range into runs, and moves the bytes: memcpy
 * for daemon memory, transfers on the port for client memory (reads
 * first, then writes, several in flight). Then it lets go, so a zap or
 * an invalidation waits for one chunk at most and the next chunk sees
 * it. A fault ends the chunk at the first bad byte; a fault-mode VM's
 * handler may fix the mapping, and the access resumes there.
 *
 * DOC: Fault position
 *
 * Translation stops at the first page that is not present (or not
 * writable, for the destination), so bytes below it are done and the
 * fault VA is exact. Transfers to a client run in parallel within a
 * chunk: one that fails reports the first byte it did not move, the
 * lowest such offset wins (the source on a tie), and writes of the
 * second phase are cut at it; bytes above it that other transfers
 * already moved stay moved, as on a GPU with many memory requests in
 * flight.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "dev/sim_internal.h"

#define FAULT_STRIKES	3	/* handler "fixed" it, same fault again */

enum side_kind { SIDE_VM, SIDE_BUF, SIDE_PATTERN };

/* One end of an access: VM memory, an engine buffer, or a fill pattern. */
struct side {
	int kind;
	uint64_t va;		/* SIDE_VM */
	uint8_t *buf;		/* SIDE_BUF */
	uint32_t pattern;	/* SIDE_PATTERN */
};

struct xfer {
	struct side src, dst;
	uint64_t len;
};

/* Where one segment of one side lies. */
struct loc {
	uint8_t *host;		/* daemon memory or engine buffer */
	uint64_t caddr;		/* client address if @port */
	bool port;
};

struct phase {
	struct dma_op ops[SIM_MAX_OPS];
	uint64_t at[SIM_MAX_OPS];	/* chunk offset of each op */
	unsigned int n;
};

/* Scratch of one chunk; one per engine (too big for the stack). */
struct sim_chunk {
	uint64_t off;		/* offset of the chunk in the xfer */
	uint64_t len;		/* its length */
	uint64_t limit;		/* chunk offset of the first byte not done */
	bool faulted, fault_src, hang;
	struct dev_fault fault;
	struct dma_port *port;	/* the VM's port, if any */
	bool gated, port_dead, bounce_full;
	struct phase rd, wr;
};

int sim_mem_alloc(struct sim_engine *e)
{
	e->cs = malloc(sizeof(*e->cs));
	e->bounce = malloc(SIM_CHUNK);
	e->kbuf = malloc(2 * SIM_KCHUNK);
	e->fetch = malloc(SIM_FETCH);
	if (!e->cs || !e->bounce || !e->kbuf || !e->fetch) {
		sim_mem_free(e);
		return -ENOMEM;
	}
	return 0;
}

void sim_mem_free(struct sim_engine *e)
{
	free(e->cs);
	free(e->bounce);
	free(e->kbuf);
	free(e->fetch);
	e->cs = NULL;
	e->bounce = e->kbuf = NULL;
	e->fetch = NULL;
}

/* Byte i of the output is byte (phase + i) % 4 of @pattern, little-endian. */
static void fill_pattern(uint8_t *d, uint64_t len, uint32_t pattern, unsigned int phase)
{
	uint32_t rot = phase ? pattern >> (8 * phase) | pattern << (32 - 8 * phase) : pattern;
	uint64_t p64 = rot | (uint64_t)rot << 32, i;

	if (rot == (rot & 0xff) * 0x01010101u) {
		memset(d, rot & 0xff, len);
		return;
	}
	for (i = 0; i + 8 <= len; i += 8)
		memcpy(d + i, &p64, 8);
	for (; i < len; i++)
		d[i] = p64 >> (8 * (i & 7));
}

/* Note a fault at chunk offset @at; the lowest wins, the source on a tie. */
static void note_fault(struct sim_chunk *cs, uint64_t at, const struct side *s,
		       bool src, uint32_t kind, uint32_t flags)
{
	if (cs->faulted && (at > cs->limit || (at == cs->limit && (cs->fault_src || !src))))
		return;
	cs->limit = at;
	cs->faulted = true;
	cs->fault_src = src;
	cs->fault.va = s->va + cs->off + at;
	cs->fault.kind = kind;
	cs->fault.flags = flags | (src ? 0 : DEV_FAULT_F_WRITE);
}

/* A port transfer that stopped short: fault, or hang on -ETIME. */
static void note_op(struct sim_chunk *cs, const struct dma_op *op, uint64_t at,
		    const struct side *s, bool src)
{
	uint32_t kind = DEV_FAULT_NOT_PRESENT;

	if (op->err == -ETIME) {
		cs->hang = true;
		return;
	}
	if (op->err == -EACCES && op->write)
		kind = DEV_FAULT_WRITE_RO;
	note_fault(cs, at + op->done, s, src, kind, DEV_FAULT_F_BACKING);
}

static bool add_op(struct phase *ph, uint64_t caddr, uint8_t *buf, uint64_t len,
		   uint64_t at, bool write)
{
	while (len) {
		uint64_t n = len < SIM_PORT_OP ? len : SIM_PORT_OP;
		struct dma_op *op;

		if (ph->n == SIM_MAX_OPS)
			return false;
		op = &ph->ops[ph->n];
		op->addr = caddr;
		op->buf = buf;
		op->len = n;
		op->write = write;
		ph->at[ph->n++] = at;
		caddr += n;
		buf += n;
		at += n;
		len -= n;
	}
	return true;
}

/* Ops a segment needs, to keep a chunk within the op arrays. */
static unsigned int ops_for(uint64_t len)
{
	return (len + SIM_PORT_OP - 1) / SIM_PORT_OP;
}

/* Move one segment of @len bytes at chunk offset @at, or queue its transfers. */
static bool segment(struct sim_ctx *c, const struct xfer *x, const struct loc *s,
		    const struct loc *d, uint64_t at, uint64_t len)
{
	struct sim_chunk *cs = c->eng->cs;
	uint8_t *bounce = c->eng->bounce + at;
	unsigned int need = ops_for(len);

	if ((s->port && cs->rd.n + need > SIM_MAX_OPS) ||
	    (d->port && cs->wr.n + need > SIM_MAX_OPS))
		return false;
	if (x->src.kind == SIDE_PATTERN) {
		if (!d->port) {
			fill_pattern(d->host, len, x->src.pattern, (cs->off + at) & 3);
			return true;
		}
		if (!cs->bounce_full) {
			fill_pattern(c->eng->bounce, cs->len, x->src.pattern, cs->off & 3);
			cs->bounce_full = true;
		}
		return add_op(&cs->wr, d->caddr, bounce, len, at, true);
	}
	if (s->port && d->port)
		return add_op(&cs->rd, s->caddr, bounce, len, at, false) &&
		       add_op(&cs->wr, d->caddr, bounce, len, at, true);
	if (s->port)
		return add_op(&cs->rd, s->caddr, d->host, len, at, false);
	if (d->port)
		return add_op(&cs->wr, d->caddr, s->host, len, at, true);
	memcpy(d->host, s->host, len);
	return true;
}

/*
 * Where side @sd is at chunk offset @at. For VM memory *@left bytes of
 * the current run remain (0: translate anew); a buffer or a pattern is
 * one run to the end of the chunk. Returns false on a fault (noted).
 */
static bool locate(struct sim_ctx *c, const struct side *sd, bool src, uint64_t at,
		   uint64_t n, struct sim_run *run, uint64_t *left, struct loc *l)
{
	struct sim_chunk *cs = c->eng->cs;
	uint32_t kind;

	if (sd->kind == SIDE_BUF) {
		l->host = sd->buf + cs->off + at;
		l->port = false;
		*left = n - at;
		return true;
	}
	if (sd->kind == SIDE_PATTERN) {
		l->host = NULL;
		l->port = false;
		*left = n - at;
		return true;
	}
	if (!*left) {
		if (sim_pt_run(&c->vm->pt, sd->va + cs->off + at, n - at, !src, run, &kind)) {
			note_fault(cs, at, sd, src, kind, 0);
			return false;
		}
		if ((run->flags & SIM_PTE_PORT) && cs->port_dead) {
			note_fault(cs, at, sd, src, DEV_FAULT_NOT_PRESENT, DEV_FAULT_F_BACKING);
			return false;
		}
		*left = run->len;
	}
	l->port = run->flags & SIM_PTE_PORT;
	l->host = l->port ? NULL : (uint8_t *)(uintptr_t)run->addr;
	l->caddr = run->addr;
	return true;
}

/* Translate [off, off + n) of @x and move what is daemon memory. */
static void walk(struct sim_ctx *c, const struct xfer *x, uint64_t n)
{
	struct sim_chunk *cs = c->eng->cs;
	struct sim_run sr = { 0 }, dr = { 0 };
	uint64_t sleft = 0, dleft = 0, at = 0;
	struct loc s, d;

	while (at < n) {
		uint64_t seg;

		if (!locate(c, &x->src, true, at, n, &sr, &sleft, &s) ||
		    !locate(c, &x->dst, false, at, n, &dr, &dleft, &d))
			return;
		seg = sleft < dleft ? sleft : dleft;
		if (!segment(c, x, &s, &d, at, seg))
			break;		/* op arrays full: the chunk ends here */
		sr.addr += seg;
		sleft -= seg;
		dr.addr += seg;
		dleft -= seg;
		at += seg;
	}
	cs->limit = at;
}

static void run_phase(struct sim_ctx *c, struct phase *ph, const struct side *s, bool src)
{
	struct sim_chunk *cs = c->eng->cs;
	unsigned int i, n = 0;

	/* Cut at the lowest fault so far; nothing above it is written. */
	for (i = 0; i < ph->n; i++) {
		struct dma_op *op = &ph->ops[i];

		if (ph->at[i] >= cs->limit)
			break;
		if (ph->at[i] + op->len > cs->limit)
			op->len = cs->limit - ph->at[i];
		n++;
	}
	if (!n)
		return;
	if (!dma_port_io(cs->port, c->eng->dq, ph->ops, n, c->deadline))
		return;
	for (i = 0; i < n; i++)
		if (ph->ops[i].err)
			note_op(cs, &ph->ops[i], ph->at[i], s, src);
}

static void chunk_lock(struct sim_ctx *c, struct sim_chunk *cs)
{
	struct sim_vm *vm = c->vm;

	for (;;) {
		/* Pairs with the release store in sim_vm_map(). */
		cs->port = __atomic_load_n(&vm->port, __ATOMIC_ACQUIRE);
		cs->gated = cs->port_dead = false;
		if (cs->port) {
			if (dma_port_enter(cs->port))
				cs->port_dead = true;	/* client gone: port pages fault */
			else
				cs->gated = true;
		}
		pthread_rwlock_rdlock(&vm->pt_lock);
		if (vm->port == cs->port)
			return;
		/* The first port mapping raced with us: redo with its gate. */
		pthread_rwlock_unlock(&vm->pt_lock);
		if (cs->gated)
			dma_port_leave(cs->port);
	}
}

static void chunk_unlock(struct sim_ctx *c, struct sim_chunk *cs)
{
	pthread_rwlock_unlock(&c->vm->pt_lock);
	if (cs->gated)
		dma_port_leave(cs->port);
}

/* One chunk: [off, off + n) of @x. *@done: bytes done from @off. */
static int chunk(struct sim_ctx *c, const struct xfer *x, uint64_t off, uint64_t n,
		 uint64_t *done)
{
	struct sim_chunk *cs = c->eng->cs;

	cs->off = off;
	cs->len = n;
	cs->limit = n;
	cs->faulted = cs->hang = cs->bounce_full = false;
	cs->rd.n = cs->wr.n = 0;
	memset(&cs->fault, 0, sizeof(cs->fault));

	chunk_lock(c, cs);
	walk(c, x, n);
	run_phase(c, &cs->rd, &x->src, true);
	if (!cs->hang)
		run_phase(c, &cs->wr, &x->dst, false);
	chunk_unlock(c, cs);

	*done = cs->limit;
	if (x->src.kind == SIDE_VM)
		c->bytes_read += cs->limit;
	if (x->dst.kind == SIDE_VM)
		c->bytes_written += cs->limit;
	if (cs->hang) {
		c->hung = true;
		return -EIO;
	}
	if (cs->faulted) {
		c->fault = cs->fault;
		c->fault.job_id = c->job->res.id;
		c->fault.engine = c->eng->idx;
		return -EFAULT;
	}
	return 0;
}

/*
 * A fault-mode VM's handler decides: 0 resumes at the fault. The same
 * fault again without progress, FAULT_STRIKES times, fails the job.
 */
static int handle_fault(struct sim_ctx *c, uint64_t done, uint64_t *last_va,
			unsigned int *strikes)
{
	struct sim_vm *vm = c->vm;
	dev_fault_fn fn;
	void *priv;

	pthread_rwlock_rdlock(&vm->pt_lock);
	fn = vm->fault_fn;
	priv = vm->fault_priv;
	pthread_rwlock_unlock(&vm->pt_lock);
	if (!fn)
		return -EFAULT;
	if (!done && c->fault.va == *last_va) {
		if (++*strikes >= FAULT_STRIKES)
			return -EFAULT;
	} else {
		*strikes = 0;
	}
	*last_va = c->fault.va;
	return fn(&vm->base, priv, &c->fault) ? -EFAULT : 0;
}

static int xfer_run(struct sim_ctx *c, const struct xfer *x)
{
	uint64_t off = 0, done, last_va = UINT64_MAX;
	unsigned int strikes = 0;
	int ret;

	while (off < x->len) {
		ret = sim_ctx_check(c);
		if (ret)
			return ret;
		ret = chunk(c, x, off, x->len - off < SIM_CHUNK ? x->len - off : SIM_CHUNK,
			    &done);
		off += done;
		if (ret == -EFAULT)
			ret = handle_fault(c, done, &last_va, &strikes);
		if (ret)
			return ret;
	}
	return 0;
}

int sim_mem_read(struct sim_ctx *c, uint64_t va, void *buf, uint64_t len)
{
	struct xfer x = {
		.src = { .kind = SIDE_VM, .va = va },
		.dst = { .kind = SIDE_BUF, .buf = buf },
		.len = len,
	};

	return xfer_run(c, &x);
}

int sim_mem_write(struct sim_ctx *c, uint64_t va, const void *buf, uint64_t len)
{
	struct xfer x = {
		.src = { .kind = SIDE_BUF, .buf = (uint8_t *)buf },
		.dst = { .kind = SIDE_VM, .va = va },
		.len = len,
	};

	return xfer_run(c, &x);
}

int sim_mem_fill(struct sim_ctx *c, uint64_t va, uint64_t len, uint32_t pattern)
{
	struct xfer x = {
		.src = { .kind = SIDE_PATTERN, .pattern = pattern },
		.dst = { .kind = SIDE_VM, .va = va },
		.len = len,
	};

	return xfer_run(c, &x);
}

int sim_mem_copy(struct sim_ctx *c, uint64_t dst, uint64_t src, uint64_t len)
{
	struct xfer x = {
		.src = { .kind = SIDE_VM, .va = src },
		.dst = { .kind = SIDE_VM, .va = dst },
		.len = len,
	};

	return xfer_run(c, &x);
}
