/* SPDX-License-Identifier: MIT */
/*
 * `ugpu-bench copy`: how fast the sim GPU moves bytes, against what the
 * CPU and the kernel do with the same sizes in the same run.
 *
 *  1. Daemon memory (BOs): one COPY job and one FILL job per size vs
 *     memcpy/memset of the same size; the job time is submit to reaped
 *     result (what a client waits for), and "dev" the engine's own time.
 *  2. A client's private memory (a forked child, reached through a DMA
 *     port with its gate, as the daemon does): one COPY job into daemon
 *     memory vs one process_vm_readv of the same size; then 16 transfers
 *     in flight at once, spread over two submitters on both sides (the two
 *     engines vs two threads calling process_vm_readv); the port's own
 *     synchronous read; and one COPY job back into the client vs one
 *     process_vm_writev.
 * Each figure is the median of its repetitions, in GB/s (10^9 bytes/s).
 */
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bench.h"
#include "dev/dev.h"
#include "mm/dma_port.h"
#include "mm/gate.h"
#include "mm/pidfd.h"
#include "mm/vma.h"
#include "uapi/ugpu_isa.h"

#define MIB		(1024ull * 1024)
#define MAXSZ		(64 * MIB)
#define SRC_VA		0x100000000ull
#define DST_VA		0x200000000ull
#define PRIV_VA		0x300000000ull
#define BATCH_VA	0x400000000ull
#define SLOT		256u		/* bytes per batch slot */
#define NSLOTS		16u
#define BATCH_BYTES	4096u		/* NSLOTS * SLOT, one page */
#define INFLIGHT	16u
#define MAX_REPS	200u

static const uint64_t sizes[] = { 4096, 64 * 1024, MIB, 4 * MIB, 16 * MIB, 64 * MIB };

struct bench {
	struct dev *d;
	struct dev_vm *vm;
	uint8_t *src, *dst;
	uint32_t *batch;		/* NSLOTS slots */
	pid_t child;
	uint64_t caddr;			/* the child's buffer */
	int hold;			/* the child lives while this is open */
	int pidfd;
	struct mm_gate gate;
	bool gate_ok;
	struct dma_port *port;
	unsigned int reps_scale;	/* 1 normal, more for --quick */
};

static double gbps(uint64_t bytes, uint64_t ns)
{
	return ns ? (double)bytes / (double)ns : 0;
}

/* Repetitions for @size: enough bytes to smooth noise, bounded. */
static unsigned int reps_for(const struct bench *b, uint64_t size)
{
	uint64_t r = (512 * MIB) / size;

	r = r < 5 ? 5 : r > MAX_REPS ? MAX_REPS : r;
	r /= b->reps_scale;
	return r < 3 ? 3 : (unsigned int)r;
}

static void *map_prefaulted(uint64_t len)
{
	void *p = mmap(NULL, len, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);

	if (p == MAP_FAILED)
		return NULL;
	memset(p, 0x3c, len);
	return p;
}

/* Write one command + BATCH_END into slot @slot. */
static void put_cmd(struct bench *b, unsigned int slot, uint32_t op, uint64_t dst,
		    uint64_t src, uint64_t size)
{
	uint32_t *p = b->batch + slot * (SLOT / 4);

	if (op == UGPU_OP_COPY) {
		uint32_t c[] = { UGPU_ISA_HDR(UGPU_OP_COPY, 0, UGPU_LEN_COPY),
				 UGPU_ISA_LO(dst), UGPU_ISA_HI(dst), UGPU_ISA_LO(src),
				 UGPU_ISA_HI(src), UGPU_ISA_LO(size), UGPU_ISA_HI(size),
				 UGPU_ISA_HDR(UGPU_OP_BATCH_END, 0, 1) };

		memcpy(p, c, sizeof(c));
	} else {
		uint32_t c[] = { UGPU_ISA_HDR(UGPU_OP_FILL, 0, UGPU_LEN_FILL),
				 UGPU_ISA_LO(dst), UGPU_ISA_HI(dst), UGPU_ISA_LO(size),
				 UGPU_ISA_HI(size), 0x5a5a5a5a,
				 UGPU_ISA_HDR(UGPU_OP_BATCH_END, 0, 1) };

		memcpy(p, c, sizeof(c));
	}
}

/*
 * Submit slots [0, n) (on engine 0, or alternating between both) and
 * wait for all; 0 or -errno.
 */
static int run_slots(struct bench *b, unsigned int n, bool both, uint64_t *dev_ns)
{
	struct dev_job_result r[NSLOTS];
	unsigned int got = 0;
	uint64_t id;
	int ret;

	for (unsigned int i = 0; i < n; i++) {
		struct dev_submit s = { .vm = b->vm, .engine = both ? i % 2 : 0,
					.batch_va = BATCH_VA + i * SLOT, .batch_len = SLOT };

		ret = dev_submit(b->d, &s, &id);
		if (ret)
			return ret;
	}
	while (got < n) {
		ret = dev_reap(b->d, r + got, n - got);
		if (ret < 0)
			return ret;
		got += ret;
		if (!ret && dev_wait_completion(b->d, 60000) != 1)
			return -ETIMEDOUT;
	}
	for (unsigned int i = 0; i < n; i++)
		if (r[i].status)
			return r[i].status;
	if (dev_ns)
		*dev_ns = r[0].end_ns - r[0].start_ns;
	return 0;
}

/*
 * One measured operation: moves @bytes, returns 0 or -errno, and may
 * report the engine's own time in *dev_ns.
 */
struct op {
	int (*fn)(struct bench *b, const struct op *o, uint64_t *dev_ns);
	uint64_t size;		/* bytes per transfer */
	unsigned int n;		/* transfers */
	bool flag;		/* fn-specific: copy vs set, ... */
};

struct result {
	double base, sim, dev;	/* GB/s, medians */
};

/*
 * Run @base and @sim alternately, rep by rep, so both see the same
 * machine; the sim's dev figure is its first job's engine time.
 */
static int compare(struct bench *b, const struct op *base, const struct op *sim,
		   struct result *r)
{
	static uint64_t tb[MAX_REPS], ts[MAX_REPS], td[MAX_REPS];
	uint64_t bytes = base->size * base->n, t0;
	unsigned int reps = reps_for(b, bytes);
	int ret;

	for (unsigned int i = 0; i < reps; i++) {
		t0 = bench_now_ns();
		ret = base->fn(b, base, NULL);
		tb[i] = bench_now_ns() - t0;
		if (!ret && sim) {
			t0 = bench_now_ns();
			ret = sim->fn(b, sim, &td[i]);
			ts[i] = bench_now_ns() - t0;
		}
		if (ret)
			return ret;
	}
	r->base = gbps(bytes, bench_percentile(tb, reps, 50));
	r->sim = sim ? gbps(bytes, bench_percentile(ts, reps, 50)) : 0;
	r->dev = sim ? gbps(base->size, bench_percentile(td, reps, 50)) : 0;
	return 0;
}

/* The jobs already written in slots [0, o->n); o->flag: on both engines. */
static int op_jobs(struct bench *b, const struct op *o, uint64_t *dev_ns)
{
	return run_slots(b, o->n, o->flag, dev_ns);
}

/* o->n times memcpy (o->flag) or memset of o->size bytes. */
static int op_cpu(struct bench *b, const struct op *o, uint64_t *dev_ns)
{
	for (unsigned int i = 0; i < o->n; i++) {
		if (o->flag)
			memcpy(b->dst, b->src, o->size);
		else
			memset(b->dst, 0x5a, o->size);
		__asm__ volatile("" : : "r"(b->dst) : "memory");
	}
	return 0;
}

static int host_part(struct bench *b)
{
	struct op jobs = { op_jobs, 0, 1, false }, queued = { op_jobs, 0, INFLIGHT, false };
	struct result c, f, q;
	int ret;

	printf("daemon memory, GB/s: one job (submit..reaped; dev = the engine's own time)\n"
	       "vs the CPU, and %u jobs queued on one engine vs %u memcpy\n", INFLIGHT, INFLIGHT);
	printf("%10s %7s %7s %7s %5s | %7s %7s %7s %5s | %7s %7s %5s\n", "size", "memcpy",
	       "COPY", "dev", "%", "memset", "FILL", "dev", "%", "memcpy", "COPYx16", "%");
	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		uint64_t sz = sizes[i];
		struct op cpy = { op_cpu, sz, 1, true }, set = { op_cpu, sz, 1, false };
		struct op cpyn = { op_cpu, sz, INFLIGHT, true };

		jobs.size = queued.size = sz;
		put_cmd(b, 0, UGPU_OP_COPY, DST_VA, SRC_VA, sz);
		ret = compare(b, &cpy, &jobs, &c);
		put_cmd(b, 0, UGPU_OP_FILL, DST_VA, 0, sz);
		if (!ret)
			ret = compare(b, &set, &jobs, &f);
		for (unsigned int k = 0; k < INFLIGHT; k++)
			put_cmd(b, k, UGPU_OP_COPY, DST_VA, SRC_VA, sz);
		if (!ret)
			ret = compare(b, &cpyn, &queued, &q);
		if (ret)
			return ret;
		printf("%9" PRIu64 "K %7.2f %7.2f %7.2f %4.0f%% | %7.2f %7.2f %7.2f %4.0f%% | "
		       "%7.2f %7.2f %4.0f%%\n", sz / 1024, c.base, c.sim, c.dev,
		       100 * c.sim / c.base, f.base, f.sim, f.dev, 100 * f.sim / f.base,
		       q.base, q.sim, 100 * q.sim / q.base);
	}
	return 0;
}

struct pvr_arg {
	struct bench *b;
	uint64_t size;
	unsigned int first, n;
	bool write;
	int err;
};

static void *pvr_thread(void *arg)
{
	struct pvr_arg *a = arg;

	for (unsigned int i = a->first; i < a->first + a->n; i++) {
		struct iovec l = { (a->write ? a->b->src : a->b->dst) + i * a->size, a->size };
		struct iovec r = { (void *)(uintptr_t)(a->b->caddr + i * a->size), a->size };
		ssize_t n = a->write ? process_vm_writev(a->b->child, &l, 1, &r, 1, 0) :
				       process_vm_readv(a->b->child, &l, 1, &r, 1, 0);

		if (n != (ssize_t)a->size)
			a->err = n < 0 ? -errno : -EIO;
	}
	return NULL;
}

/* process_vm_readv (or, with o->flag, writev): o->n transfers, 1 or 2 threads. */
static int op_pvrw(struct bench *b, const struct op *o, uint64_t *dev_ns)
{
	unsigned int threads = o->n > 1 ? 2 : 1;
	struct pvr_arg a[2];
	pthread_t th[2];

	for (unsigned int k = 0; k < threads; k++) {
		a[k] = (struct pvr_arg){ b, o->size, k * (o->n / threads), o->n / threads,
					 o->flag, 0 };
		if (threads == 1)
			pvr_thread(&a[k]);
		else if (pthread_create(&th[k], NULL, pvr_thread, &a[k]))
			return -EAGAIN;
	}
	for (unsigned int k = 0; threads > 1 && k < threads; k++)
		pthread_join(th[k], NULL);
	for (unsigned int k = 0; k < threads; k++)
		if (a[k].err)
			return a[k].err;
	return 0;
}

/* The port's own synchronous read, gate and permission check included. */
static int op_port_read(struct bench *b, const struct op *o, uint64_t *dev_ns)
{
	return dma_port_read(b->port, b->caddr, b->dst, o->size, NULL);
}

/* What one permission check of the port costs: a PROCMAP_QUERY. */
static int time_vma_query(struct bench *b)
{
	uint64_t t[MAX_REPS], t0;
	struct vma_src src;
	struct vma_info vi;
	int ret;

	ret = vma_open(b->child, &src);
	if (ret)
		return ret;
	for (unsigned int r = 0; r < MAX_REPS && !ret; r++) {
		t0 = bench_now_ns();
		for (int k = 0; k < 100 && !ret; k++)
			ret = vma_find(&src, b->caddr + k * 4096, false, &vi);
		t[r] = bench_now_ns() - t0;
	}
	vma_close(&src);
	if (!ret)
		printf("\npermission check (vma_find on the mm-bound maps fd): %.2f us\n",
		       bench_percentile(t, MAX_REPS, 50) / 100.0 / 1000.0);
	return ret;
}

/* One size of the private-memory table. */
static int private_row(struct bench *b, uint64_t sz)
{
	struct op jobs1 = { op_jobs, sz, 1, false }, jobsn = { op_jobs, sz, INFLIGHT, true };
	struct op rd = { op_pvrw, sz, 1, false }, rdn = { op_pvrw, sz, INFLIGHT, false };
	struct op wr = { op_pvrw, sz, 1, true }, port = { op_port_read, sz, 1, false };
	struct result r1, rn = { 0 }, w, m;
	bool many = sz * INFLIGHT <= MAXSZ;
	int ret;

	put_cmd(b, 0, UGPU_OP_COPY, DST_VA, PRIV_VA, sz);
	ret = compare(b, &rd, &jobs1, &r1);
	if (!ret)
		ret = compare(b, &port, NULL, &m);
	put_cmd(b, 0, UGPU_OP_COPY, PRIV_VA, SRC_VA, sz);
	if (!ret)
		ret = compare(b, &wr, &jobs1, &w);
	for (unsigned int k = 0; many && k < INFLIGHT; k++)
		put_cmd(b, k, UGPU_OP_COPY, DST_VA + k * sz, PRIV_VA + k * sz, sz);
	if (!ret && many)
		ret = compare(b, &rdn, &jobsn, &rn);
	if (ret)
		return ret;
	printf("%9" PRIu64 "K %7.2f %7.2f %4.0f%% | ", sz / 1024, r1.base, r1.sim,
	       100 * r1.sim / r1.base);
	if (many)
		printf("%7.2f %8.2f %4.0f%% | ", rn.base, rn.sim, 100 * rn.sim / rn.base);
	else
		printf("%7s %8s %5s | ", "-", "-", "");
	printf("%7.2f | %7.2f %7.2f %4.0f%%\n", m.base, w.base, w.sim, 100 * w.sim / w.base);
	return 0;
}

static int private_part(struct bench *b)
{
	int ret;

	ret = time_vma_query(b);
	if (ret)
		return ret;
	printf("client private memory, GB/s: reads into daemon memory (pvr = process_vm_readv,\n"
	       "x16 = 16 transfers over two engines / two threads, memfd = the port's own\n"
	       "synchronous read), and writes back (pvw = process_vm_writev)\n");
	printf("%10s %7s %7s %5s | %7s %8s %5s | %7s | %7s %7s %5s\n", "size", "pvr", "COPY",
	       "%", "pvr x16", "COPY x16", "%", "memfd", "pvw", "COPY", "%");
	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]) && !ret; i++)
		ret = private_row(b, sizes[i]);
	return ret;
}

/* A child with MAXSZ of touched private memory; returns its pid. */
static pid_t spawn_child(uint64_t *addr, int *hold)
{
	int ready[2], stay[2];
	uint64_t a;
	pid_t pid;

	if (pipe(ready) || pipe(stay))
		return -errno;
	pid = fork();
	if (pid < 0)
		return -errno;
	if (!pid) {
		void *p = map_prefaulted(MAXSZ);
		char c;

		a = (uintptr_t)p;
		if (!p || write(ready[1], &a, sizeof(a)) != sizeof(a))
			_exit(1);
		close(stay[1]);
		while (read(stay[0], &c, 1) > 0)
			;
		_exit(0);		/* the parent closed its end */
	}
	close(ready[1]);
	close(stay[0]);
	if (read(ready[0], &a, sizeof(a)) != sizeof(a)) {
		close(ready[0]);
		close(stay[1]);
		return -EIO;
	}
	close(ready[0]);
	*addr = a;
	*hold = stay[1];
	return pid;
}

static int setup_vm(struct bench *b)
{
	struct dev_backing h = { .kind = DEV_BACKING_HOST };
	int ret;

	ret = dev_open("sim", NULL, &b->d);
	if (ret)
		return ret;
	ret = dev_vm_create(b->d, &b->vm);
	if (ret)
		return ret;
	h.host = b->src;
	ret = dev_vm_map(b->vm, SRC_VA, MAXSZ, &h, 0);
	h.host = b->dst;
	if (!ret)
		ret = dev_vm_map(b->vm, DST_VA, MAXSZ, &h, DEV_MAP_WRITE);
	h.host = b->batch;
	if (!ret)
		ret = dev_vm_map(b->vm, BATCH_VA, BATCH_BYTES, &h, 0);
	return ret;
}

/* The child, its port (with a gate, as in the daemon) and its mapping. */
static int run_private(struct bench *b)
{
	struct dev_backing pb = { .kind = DEV_BACKING_PORT };
	int ret;

	b->child = spawn_child(&b->caddr, &b->hold);
	if (b->child < 0)
		return b->child;
	ret = gate_init(&b->gate);
	if (ret)
		return ret;
	b->gate_ok = true;
	b->pidfd = pidfd_open_pid(b->child);
	if (b->pidfd < 0)
		return b->pidfd;
	ret = dma_port_open(b->child, b->pidfd, &b->gate, &b->port);
	if (ret)
		return ret;
	pb.port = b->port;
	pb.addr = b->caddr;
	ret = dev_vm_map(b->vm, PRIV_VA, MAXSZ, &pb, DEV_MAP_WRITE);
	return ret ? ret : private_part(b);
}

/* Undo whatever of the setup happened, in reverse. */
static void cleanup(struct bench *b)
{
	dev_vm_destroy(b->vm);
	dev_close(b->d);
	dma_port_put(b->port);
	if (b->pidfd >= 0)
		close(b->pidfd);
	if (b->gate_ok)
		gate_destroy(&b->gate);
	if (b->hold >= 0)
		close(b->hold);		/* the child exits */
	if (b->child > 0)
		waitpid(b->child, NULL, 0);
	if (b->src)
		munmap(b->src, MAXSZ);
	if (b->dst)
		munmap(b->dst, MAXSZ);
	if (b->batch)
		munmap(b->batch, BATCH_BYTES);
}

static int bench_copy(int argc, char **argv)
{
	struct bench b = { .reps_scale = 1, .hold = -1, .pidfd = -1 };
	int ret;

	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--quick")) {
			b.reps_scale = 8;
		} else {
			fprintf(stderr, "usage: ugpu-bench copy [--quick]\n");
			return 2;
		}
	}
	b.src = map_prefaulted(MAXSZ);
	b.dst = map_prefaulted(MAXSZ);
	b.batch = map_prefaulted(BATCH_BYTES);
	ret = b.src && b.dst && b.batch ? 0 : -ENOMEM;
	if (!ret)
		ret = setup_vm(&b);
	if (!ret)
		ret = host_part(&b);
	if (!ret)
		ret = run_private(&b);
	cleanup(&b);
	if (ret) {
		fprintf(stderr, "copy: %s\n", strerror(-ret));
		return 1;
	}
	return 0;
}

static struct bench_cmd copy_cmd = {
	.name = "copy",
	.help = "sim COPY/FILL vs memcpy/memset; private-memory COPY vs process_vm_readv",
	.run = bench_copy,
};
BENCH_REGISTER(copy_cmd)
