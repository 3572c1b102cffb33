// SPDX-License-Identifier: MIT
/*
 * DMA port: the device's path into one client's private memory.
 *
 * DOC: Mechanism
 *
 * A transfer may reach the client and nothing else, ever, and a GPU
 * write must respect what the client currently allows. What the kernel
 * offers, measured on this project's machines (kernel 6.18, 2 vCPUs;
 * `ugpu-bench copy` repeats every comparison in one run):
 *
 *  - process_vm_readv/writev name a *pid*. After the client exits and is
 *    reaped, the number can name another process: nothing binds the call
 *    to the client (a pidfd pins struct pid, not the number). Checking a
 *    pidfd before the call leaves a window; checking after only helps a
 *    read (discard the data), and not against exec, which keeps the pid
 *    and swaps the mm (a setuid image; a CLONE_VM sibling can even keep
 *    the old mm alive, so probing it proves nothing). Not safe by
 *    construction, so not used.
 *  - An fd on /proc/<pid>/mem is bound to the mm at open: after exit or
 *    exec every access returns 0 bytes (the mm has no users), and it
 *    never reaches a process that reuses the pid (dma_port_test proves
 *    it with clone3(set_tid)). Cost: each page goes through a kernel
 *    bounce page with its own GUP, so reads run at 5.3-7.5 GB/s for
 *    64 KiB-4 MiB and 3-4.5 GB/s for 16-64 MiB where process_vm_readv
 *    does 10-14 and 5-7: 50-65 %. Writes likewise, and with force
 *    semantics: they ignore PROT_READ.
 *  - PROCMAP_QUERY on an fd of /proc/<pid>/maps (mm/vma.h) is bound to
 *    the mm the same way and reports a VMA's permissions: 0.4-0.5 us.
 *
 * So every transfer uses the mm-bound mem fd, opened once per client,
 * and first checks the client's protection of its range on the mm-bound
 * maps fd: read permission for reads (PROT_NONE guard pages fault, as
 * the CPU would; the mem fd would read them), write permission for
 * writes. The check is made per transfer, each a bounded chunk, caching
 * the VMA only within one dma_port_io() call: under 1 % of a 256 KiB
 * transfer. The remaining window: an mprotect() by the client between
 * the check and the copy of that chunk is not seen (the kernel reports
 * no event for mprotect at all; exec-time revalidation in the driver
 * core is the other line of defence). With a pidfd given at open, the
 * port also proves it opened the right process: if the process is still
 * alive after both opens, /proc/<pid> named it. Open the port after the
 * client's exec (a port opened between fork and exec is bound to the mm
 * that exec throws away, and every access fails with -ESRCH).
 *
 * Several transfers of a chunk are in flight at once on an io_uring
 * queue: /proc/<pid>/mem has no non-blocking read, so io_uring hands each
 * to an io-wq worker, while the caller moves one transfer itself (and
 * small ones: a worker handoff costs tens of microseconds; 4 KiB reads
 * ran at 0.1 GB/s at depth 1 vs 3 GB/s by pread). On hosts with idle
 * cores the transfers overlap. On these VMs they cannot: two spinning
 * threads take 2.4 times as long as one, so the two vCPUs give one CPU
 * of throughput, and the queue measured within +-10 % of moving the
 * same transfers one by one. Queued transfers still in flight at the
 * caller's deadline are cancelled (-ETIME), which ends a job whose
 * transfers wait interruptibly. Not covered, by either path: a page the
 * kernel must fetch from somewhere that never answers (a private mapping
 * of a file on a hung FUSE server) is a killable wait that no cancel
 * reaches, so that transfer blocks its thread, inside the gate.
 *
 * DOC: Gate
 *
 * Callers bracket each bounded access with dma_port_enter()/leave()
 * (gate_enter/gate_leave on the client's gate), so an invalidation waits
 * at most for one chunk and the device does not touch the client's
 * memory while the uffd reader holds the gate.
 */
#include <errno.h>
#include <fcntl.h>
#include <liburing.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "mm/dma_port.h"
#include "mm/pidfd.h"
#include "mm/vma.h"

/* Transfers shorter than this run on the caller's thread. */
#define ASYNC_MIN	(32u * 1024)
#define CANCEL_TAG	UINT64_MAX

struct dma_port {
	int mem_fd;			/* /proc/<pid>/mem, O_RDWR, mm-bound */
	struct vma_src vma;		/* /proc/<pid>/maps, mm-bound */
	struct mm_gate *gate;		/* may be NULL */
	unsigned int refs;		/* atomic */
	bool gone;			/* atomic: the mm has no users left */
	struct dma_port_stats st;	/* atomic counters */
	void (*on_release)(void *arg);	/* after the last reference, or NULL */
	void *release_arg;
};

struct dma_queue {
	struct io_uring ring;
	unsigned int depth;
};

static void stat_add(uint64_t *c, uint64_t v)
{
	__atomic_add_fetch(c, v, __ATOMIC_RELAXED);
}

int dma_port_open(pid_t pid, int pidfd, struct mm_gate *gate, struct dma_port **out)
{
	struct dma_port *p;
	char path[64];
	int ret;

	if (pid <= 0)
		return -ESRCH;
	p = calloc(1, sizeof(*p));
	if (!p)
		return -ENOMEM;
	snprintf(path, sizeof(path), "/proc/%d/mem", (int)pid);
	p->mem_fd = open(path, O_RDWR | O_CLOEXEC);
	if (p->mem_fd < 0) {
		ret = errno == ENOENT ? -ESRCH : -errno;
		goto err_free;
	}
	ret = vma_open(pid, &p->vma);
	if (ret)
		goto err_mem;
	if (pidfd >= 0) {
		/* Alive now, so alive at both opens: they reached it. */
		ret = pidfd_exited(pidfd);
		if (ret) {
			ret = ret > 0 ? -ESRCH : ret;
			goto err_vma;
		}
	}
	p->gate = gate;
	p->refs = 1;
	*out = p;
	return 0;

err_vma:
	vma_close(&p->vma);
err_mem:
	close(p->mem_fd);
err_free:
	free(p);
	return ret;
}

struct dma_port *dma_port_get(struct dma_port *p)
{
	__atomic_add_fetch(&p->refs, 1, __ATOMIC_RELAXED);
	return p;
}

void dma_port_put(struct dma_port *p)
{
	void (*fn)(void *arg);
	void *arg;

	if (!p || __atomic_sub_fetch(&p->refs, 1, __ATOMIC_ACQ_REL))
		return;
	fn = p->on_release;
	arg = p->release_arg;
	vma_close(&p->vma);
	close(p->mem_fd);
	free(p);
	if (fn)
		fn(arg);
}

void dma_port_on_release(struct dma_port *p, void (*fn)(void *arg), void *arg)
{
	p->on_release = fn;
	p->release_arg = arg;
}

int dma_port_enter(struct dma_port *p)
{
	if (!p->gate)
		return 0;
	return gate_enter(p->gate);
}

void dma_port_leave(struct dma_port *p)
{
	if (p->gate)
		gate_leave(p->gate);
}

void dma_port_get_stats(struct dma_port *p, struct dma_port_stats *st)
{
	st->bytes_read = __atomic_load_n(&p->st.bytes_read, __ATOMIC_RELAXED);
	st->bytes_written = __atomic_load_n(&p->st.bytes_written, __ATOMIC_RELAXED);
	st->ops_sync = __atomic_load_n(&p->st.ops_sync, __ATOMIC_RELAXED);
	st->ops_async = __atomic_load_n(&p->st.ops_async, __ATOMIC_RELAXED);
	st->vma_queries = __atomic_load_n(&p->st.vma_queries, __ATOMIC_RELAXED);
	st->denied = __atomic_load_n(&p->st.denied, __ATOMIC_RELAXED);
}

/* The last VMA looked up in one dma_port_io() call: [start, end). */
struct vma_cache {
	uint64_t start, end;
	uint32_t prot;
};

/*
 * How many bytes of @op, from its start, the client currently lets us
 * access that way; *@why gets the reason it stops short (else 0).
 */
static uint32_t allowed(struct dma_port *p, struct vma_cache *c, const struct dma_op *op,
			int *why)
{
	uint32_t need = op->write ? VMA_WRITE : VMA_READ;
	uint64_t a = op->addr, end = op->addr + op->len;
	struct vma_info vi;
	int ret;

	*why = 0;
	if (end < a)
		end = UINT64_MAX;	/* no VMA reaches the top: faults below */
	while (a < end) {
		if (a < c->start || a >= c->end) {
			stat_add(&p->st.vma_queries, 1);
			ret = vma_find(&p->vma, a, false, &vi);
			if (ret) {
				*why = ret == -ENOENT ? -EFAULT : ret;
				break;
			}
			c->start = vi.start;
			c->end = vi.end;
			c->prot = vi.prot;
		}
		if (!(c->prot & need)) {
			*why = -EACCES;
			break;
		}
		a = c->end;
	}
	if (*why) {
		stat_add(&p->st.denied, 1);
		if (*why == -ESRCH)
			__atomic_store_n(&p->gone, true, __ATOMIC_RELAXED);
	}
	return (a < end ? a : end) - op->addr;
}

/* Account a completed transfer of @n bytes (or -errno) of @op. */
static void account(struct dma_port *p, struct dma_op *op, long n)
{
	if (n > 0) {
		op->done += n;
		stat_add(op->write ? &p->st.bytes_written : &p->st.bytes_read, n);
		return;
	}
	/*
	 * 0 bytes: the mm has no users (exit, exec). -EIO: the page at
	 * addr + done could not be reached (unmapped since the check).
	 */
	if (!n) {
		op->err = -ESRCH;
		__atomic_store_n(&p->gone, true, __ATOMIC_RELAXED);
	} else if (n == -EIO) {
		op->err = -EFAULT;
	} else if (n != -EINTR && n != -EAGAIN) {
		op->err = n;
	}
}

static void xfer_sync(struct dma_port *p, struct dma_op *op, uint32_t limit)
{
	stat_add(&p->st.ops_sync, 1);
	while (op->done < limit && !op->err) {
		char *b = (char *)op->buf + op->done;
		off_t at = (off_t)(op->addr + op->done);
		size_t len = limit - op->done;
		ssize_t n;

		n = op->write ? pwrite(p->mem_fd, b, len, at) : pread(p->mem_fd, b, len, at);
		account(p, op, n < 0 ? -errno : n);
	}
}

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + ts.tv_nsec;
}

static void prep(struct dma_port *p, struct io_uring_sqe *sqe, struct dma_op *op,
		 uint32_t limit, uint64_t tag)
{
	char *b = (char *)op->buf + op->done;

	if (op->write)
		io_uring_prep_write(sqe, p->mem_fd, b, limit - op->done, op->addr + op->done);
	else
		io_uring_prep_read(sqe, p->mem_fd, b, limit - op->done, op->addr + op->done);
	/* No non-blocking path exists for this file: skip straight to io-wq. */
	sqe->flags |= IOSQE_ASYNC;
	io_uring_sqe_set_data64(sqe, tag);
}

/* Cancel everything in flight and reap it; what was cut short is -ETIME. */
static void cancel_all(struct dma_port *p, struct dma_queue *q, struct dma_op *ops,
		       const uint32_t *limit, unsigned int inflight)
{
	struct io_uring_sqe *sqe = io_uring_get_sqe(&q->ring);
	struct io_uring_cqe *cqe;

	if (sqe) {
		io_uring_prep_cancel64(sqe, 0, IORING_ASYNC_CANCEL_ANY);
		io_uring_sqe_set_data64(sqe, CANCEL_TAG);
		io_uring_submit(&q->ring);
		inflight++;
	}
	while (inflight && !io_uring_wait_cqe(&q->ring, &cqe)) {
		uint64_t tag = io_uring_cqe_get_data64(cqe);

		if (tag != CANCEL_TAG) {
			struct dma_op *op = &ops[tag];

			/* Cut short by the cancel: not the transfer's own error. */
			account(p, op, cqe->res == -ECANCELED ? -EINTR : cqe->res);
			if (op->done < limit[tag] && !op->err)
				op->err = -ETIME;
		}
		io_uring_cqe_seen(&q->ring, cqe);
		inflight--;
	}
}

/* Queued transfers of one dma_port_io() batch. */
struct batch {
	struct dma_op *ops;
	const uint32_t *limit;
	const bool *async;
	unsigned int n;
	unsigned int next;	/* first op not yet considered for queueing */
	unsigned int inflight;
};

/* Queue transfers until the queue holds q->depth of them. */
static void fill(struct dma_port *p, struct dma_queue *q, struct batch *b)
{
	struct io_uring_sqe *sqe;

	while (b->inflight < q->depth) {
		while (b->next < b->n && !b->async[b->next])
			b->next++;
		if (b->next == b->n || !(sqe = io_uring_get_sqe(&q->ring)))
			break;
		prep(p, sqe, &b->ops[b->next], b->limit[b->next], b->next);
		stat_add(&p->st.ops_async, 1);
		b->next++;
		b->inflight++;
	}
	io_uring_submit(&q->ring);
}

static int wait_cqe(struct dma_queue *q, struct io_uring_cqe **cqe, uint64_t deadline)
{
	struct __kernel_timespec ts = { 0 };
	uint64_t now;

	if (!deadline)
		return io_uring_wait_cqe(&q->ring, cqe);
	now = now_ns();
	if (now < deadline) {
		ts.tv_sec = (deadline - now) / 1000000000u;
		ts.tv_nsec = (deadline - now) % 1000000000u;
	}
	return io_uring_wait_cqe_timeout(&q->ring, cqe, &ts);
}

/*
 * Reap queued transfers, resubmit short ones from where they stopped,
 * keep the queue full, and cancel what is left at the deadline.
 */
static void drain(struct dma_port *p, struct dma_queue *q, struct batch *b,
		  uint64_t deadline)
{
	struct io_uring_cqe *cqe;
	int ret;

	while (b->inflight) {
		ret = wait_cqe(q, &cqe, deadline);
		if (ret == -EINTR)
			continue;
		if (ret) {
			/* -ETIME, or the ring itself failed: stop everything. */
			cancel_all(p, q, b->ops, b->limit, b->inflight);
			return;
		}
		do {
			uint64_t tag = io_uring_cqe_get_data64(cqe);
			struct dma_op *op = &b->ops[tag];
			struct io_uring_sqe *sqe;

			account(p, op, cqe->res);
			io_uring_cqe_seen(&q->ring, cqe);
			b->inflight--;
			if (op->done == b->limit[tag] || op->err)
				continue;
			sqe = io_uring_get_sqe(&q->ring);
			if (sqe) {
				prep(p, sqe, op, b->limit[tag], tag);
				b->inflight++;
			} else {
				xfer_sync(p, op, b->limit[tag]);
			}
		} while (!io_uring_peek_cqe(&q->ring, &cqe));
		fill(p, q, b);
	}
}

int dma_port_io(struct dma_port *p, struct dma_queue *q, struct dma_op *ops,
		unsigned int n, uint64_t deadline_ns)
{
	struct vma_cache c = { 0, 0, 0 };
	uint32_t limit[64];
	int why[64];
	bool async[64];
	unsigned int i, base, m, nasync, mine = 0;

	for (base = 0; base < n; base += m) {
		struct batch b = { .ops = ops + base, .limit = limit, .async = async };

		m = n - base < 64 ? n - base : 64;
		b.n = m;
		nasync = 0;
		for (i = 0; i < m; i++) {
			b.ops[i].done = 0;
			b.ops[i].err = 0;
			if (__atomic_load_n(&p->gone, __ATOMIC_RELAXED)) {
				limit[i] = 0;
				why[i] = -ESRCH;
			} else {
				limit[i] = allowed(p, &c, &b.ops[i], &why[i]);
			}
			async[i] = q && limit[i] >= ASYNC_MIN;
			if (async[i])
				mine = i;
			nasync += async[i];
		}
		/*
		 * The caller moves one large transfer itself while the queue
		 * moves the others: with one, or no spare CPU, that is as fast
		 * as doing them all here; with spare CPUs they overlap.
		 */
		if (nasync)
			async[mine] = false;
		if (nasync > 1)
			fill(p, q, &b);
		for (i = 0; i < m; i++)
			if (!async[i] && limit[i])
				xfer_sync(p, &b.ops[i], limit[i]);
		if (nasync > 1)
			drain(p, q, &b, deadline_ns);
		for (i = 0; i < m; i++)	/* the checked prefix went through: */
			if (!b.ops[i].err && b.ops[i].done == limit[i])
				b.ops[i].err = why[i];	/* now the refusal counts */
	}
	for (i = 0; i < n; i++)
		if (ops[i].err)
			return ops[i].err;
	return 0;
}

static int rw_chunks(struct dma_port *p, uint64_t addr, void *buf, size_t len,
		     size_t *done, bool write)
{
	size_t off = 0;
	int ret = 0;

	while (off < len) {
		struct dma_op op = {
			.addr = addr + off,
			.buf = (char *)buf + off,
			.len = len - off < DMA_PORT_CHUNK ? len - off : DMA_PORT_CHUNK,
			.write = write,
		};

		ret = dma_port_enter(p);
		if (ret)
			break;
		ret = dma_port_io(p, NULL, &op, 1, 0);
		dma_port_leave(p);
		off += op.done;
		if (ret)
			break;
		/* No progress and no error (an address at the very top): a fault. */
		if (!op.done) {
			ret = -EFAULT;
			break;
		}
	}
	if (done)
		*done = off;
	return ret;
}

int dma_port_read(struct dma_port *p, uint64_t addr, void *buf, size_t len, size_t *done)
{
	return rw_chunks(p, addr, buf, len, done, false);
}

int dma_port_write(struct dma_port *p, uint64_t addr, const void *buf, size_t len,
		   size_t *done)
{
	return rw_chunks(p, addr, (void *)buf, len, done, true);
}

int dma_queue_create(unsigned int depth, struct dma_queue **out)
{
	struct dma_queue *q;
	int ret;

	if (!depth || depth > 256)
		return -EINVAL;
	q = calloc(1, sizeof(*q));
	if (!q)
		return -ENOMEM;
	/* Room for a full window plus the cancel request. */
	ret = io_uring_queue_init(depth * 2, &q->ring, 0);
	if (ret) {
		free(q);
		return ret;
	}
	q->depth = depth;
	*out = q;
	return 0;
}

void dma_queue_destroy(struct dma_queue *q)
{
	if (!q)
		return;
	io_uring_queue_exit(&q->ring);
	free(q);
}
