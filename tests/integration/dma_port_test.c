/* SPDX-License-Identifier: MIT */
/*
 * Integration suite for daemon/mm/dma_port and the sim device on a real
 * client's private memory. A helper process (tests/helpers/mem_client)
 * maps, protects, unmaps and hashes its own memory on command, and the
 * test reaches it from outside: transfers (one by one and many in flight
 * on io_uring), the client's current protections (a write to PROT_READ
 * memory fails and changes nothing), holes, the invalidation gate
 * holding accesses while closed, the client exiting (zombie, reaped),
 * its pid reused by another process (nothing reaches the newcomer), and
 * sim jobs whose VM maps the client's memory: copies both ways, faults
 * from the client side with the exact VA, the gate + zap sequence of an
 * invalidation, and a client that exits under a job.
 */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <linux/sched.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "dev/dev.h"
#include "mm/dma_port.h"
#include "mm/gate.h"
#include "mm/pidfd.h"
#include "tests/lib/testutil.h"
#include "uapi/ugpu_isa.h"

#define PAGE	4096ull
/* Where the client maps test memory; far from anything the test maps. */
#define CADDR	0x6f0000000000ull

static struct tu_proc cl;
static int pidfd = -1;
static struct mm_gate gate;
static struct dma_port *port;

static uint64_t fnv1a(const uint8_t *p, size_t len)
{
	uint64_t h = 0xcbf29ce484222325ull;

	while (len--) {
		h ^= *p++;
		h *= 0x100000001b3ull;
	}
	return h;
}

static void fill_rand(uint8_t *p, size_t len, uint32_t seed)
{
	for (size_t i = 0; i < len; i++) {
		seed = seed * 1103515245u + 12345u;
		p[i] = seed >> 16;
	}
}

/* Send a command to the client; the reply must start with @want. */
static void ccmd(char *reply, size_t len, const char *want, const char *fmt, ...)
{
	char line[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	ck_assert_int_eq(tu_cmd(&cl, reply, len, "%s", line), 0);
	ck_assert_msg(!strncmp(reply, want, strlen(want)), "'%s' -> '%s'", line, reply);
}

#define COK(...)							\
	do {								\
		char r_[128];						\
		ccmd(r_, sizeof(r_), "ok", __VA_ARGS__);		\
	} while (0)

static uint64_t chash(uint64_t addr, uint64_t len)
{
	char r[128];

	ccmd(r, sizeof(r), "ok ", "hash %" PRIx64 " %" PRIu64, addr, len);
	return strtoull(r + 3, NULL, 16);
}

static uint32_t cpeek(uint64_t addr)
{
	char r[128];

	ccmd(r, sizeof(r), "ok ", "peek %" PRIx64, addr);
	return strtoul(r + 3, NULL, 16);
}

/* Map @len bytes at CADDR in the client, every byte @byte. */
static void cmap(uint64_t len, int byte)
{
	COK("mapat %" PRIx64 " %" PRIu64, CADDR, len);
	COK("fill %" PRIx64 " %" PRIu64 " %x", CADDR, len, byte);
}

static void setup(void)
{
	char path[PATH_MAX];
	char *argv[] = { path, NULL };

	ck_assert_int_eq(tu_helper_path("mem_client", path, sizeof(path)), 0);
	ck_assert_int_eq(tu_spawn(&cl, path, argv, NULL), 0);
	/*
	 * Its first answer proves it runs mem_client: a port opened before
	 * the exec would be bound to the forked mm that exec throws away.
	 */
	COK("pid");
	pidfd = pidfd_open_pid(cl.pid);
	ck_assert_int_ge(pidfd, 0);
	ck_assert_int_eq(gate_init(&gate), 0);
	ck_assert_int_eq(dma_port_open(cl.pid, pidfd, &gate, &port), 0);
}

static void teardown(void)
{
	dma_port_put(port);
	port = NULL;
	tu_kill(&cl);
	gate_destroy(&gate);
	close(pidfd);
}

static void client_exit(void)
{
	ck_assert_int_eq(tu_send(&cl, "exit"), 0);
	ck_assert_int_eq(tu_wait_exit(&cl, TU_TIMEOUT_MS, NULL), 0);
}

/* ---- transfers ---- */

START_TEST(read_write)
{
	uint64_t len = 1 << 20;
	uint8_t *buf = malloc(len);
	size_t done = 0;

	cmap(len, 0x11);
	ck_assert_int_eq(dma_port_read(port, CADDR, buf, len, &done), 0);
	ck_assert_uint_eq(done, len);
	for (uint64_t i = 0; i < len; i += 4099)
		ck_assert_uint_eq(buf[i], 0x11);
	fill_rand(buf, len, 1);
	ck_assert_int_eq(dma_port_write(port, CADDR + 3, buf, 300001, &done), 0);
	ck_assert_uint_eq(done, 300001);
	ck_assert_uint_eq(chash(CADDR + 3, 300001), fnv1a(buf, 300001));
	ck_assert_uint_eq(cpeek(CADDR) & 0xffffff, 0x111111);
	free(buf);
}
END_TEST

static void io_many(struct dma_queue *q)
{
	enum { N = 12, OP = 256 * 1024 };
	uint8_t *in = malloc((size_t)N * OP), *out = malloc((size_t)N * OP);
	struct dma_op ops[N];
	struct dma_port_stats st;

	cmap((uint64_t)N * OP, 0);
	fill_rand(out, (size_t)N * OP, 2);
	for (int i = 0; i < N; i++)
		ops[i] = (struct dma_op){ .addr = CADDR + (uint64_t)i * OP,
					  .buf = out + (size_t)i * OP, .len = OP, .write = 1 };
	ck_assert_int_eq(dma_port_enter(port), 0);
	ck_assert_int_eq(dma_port_io(port, q, ops, N, 0), 0);
	dma_port_leave(port);
	for (int i = 0; i < N; i++) {
		ck_assert_uint_eq(ops[i].done, OP);
		ck_assert_int_eq(ops[i].err, 0);
		ops[i].buf = in + (size_t)i * OP;
		ops[i].write = 0;
	}
	ck_assert_int_eq(dma_port_enter(port), 0);
	ck_assert_int_eq(dma_port_io(port, q, ops, N, 0), 0);
	dma_port_leave(port);
	ck_assert_mem_eq(in, out, (size_t)N * OP);
	ck_assert_uint_eq(chash(CADDR, (uint64_t)N * OP), fnv1a(out, (size_t)N * OP));
	dma_port_get_stats(port, &st);
	ck_assert_uint_eq(st.bytes_read, (uint64_t)N * OP);
	ck_assert_uint_eq(st.bytes_written, (uint64_t)N * OP);
	ck_assert_uint_eq(st.ops_async + st.ops_sync, 2 * N);
	if (q)	/* the caller moves one transfer of each call itself */
		ck_assert_uint_eq(st.ops_async, 2 * (N - 1));
	free(in);
	free(out);
}

START_TEST(io_in_flight)
{
	struct dma_queue *q;
	int ret = dma_queue_create(4, &q);

	if (ret == -ENOSYS || ret == -EPERM) {
		fprintf(stderr, "io_in_flight: io_uring unavailable here, skipped\n");
		return;
	}
	ck_assert_int_eq(ret, 0);
	io_many(q);
	dma_queue_destroy(q);
	ck_assert_int_eq(dma_queue_create(0, &q), -EINVAL);
	ck_assert_int_eq(dma_queue_create(257, &q), -EINVAL);
}
END_TEST

START_TEST(io_one_by_one)
{
	io_many(NULL);
}
END_TEST

/* ---- protections and holes ---- */

START_TEST(write_readonly_refused)
{
	uint8_t buf[3 * PAGE];
	uint64_t before;
	size_t done = 0;

	cmap(3 * PAGE, 0x22);
	COK("prot %" PRIx64 " %llu r", CADDR + PAGE, PAGE);
	before = chash(CADDR + PAGE, 2 * PAGE);
	memset(buf, 0x33, sizeof(buf));
	ck_assert_int_eq(dma_port_write(port, CADDR + 10, buf, sizeof(buf) - 20, &done), -EACCES);
	ck_assert_uint_eq(done, PAGE - 10);		/* exactly up to the page */
	ck_assert_uint_eq(chash(CADDR + PAGE, 2 * PAGE), before);
	ck_assert_uint_eq(cpeek(CADDR + PAGE - 4), 0x33333333);
	/* Reading it is fine; the current protection is what counts. */
	ck_assert_int_eq(dma_port_read(port, CADDR, buf, sizeof(buf), &done), 0);
	COK("prot %" PRIx64 " %llu rw", CADDR + PAGE, PAGE);
	memset(buf, 0x44, 4);
	ck_assert_int_eq(dma_port_write(port, CADDR + PAGE, buf, 4, &done), 0);
	ck_assert_uint_eq(cpeek(CADDR + PAGE), 0x44444444);
}
END_TEST

START_TEST(read_prot_none_refused)
{
	uint8_t buf[2 * PAGE];
	size_t done = 1;

	cmap(2 * PAGE, 0x44);
	COK("prot %" PRIx64 " %llu none", CADDR + PAGE, PAGE);
	ck_assert_int_eq(dma_port_read(port, CADDR + PAGE - 1, buf, 2, &done), -EACCES);
	ck_assert_uint_eq(done, 1);
	ck_assert_uint_eq(buf[0], 0x44);
}
END_TEST

START_TEST(hole_faults)
{
	uint8_t buf[3 * PAGE];
	size_t done = 1;

	cmap(3 * PAGE, 0x55);
	COK("unmap %" PRIx64 " %llu", CADDR + PAGE, PAGE);
	ck_assert_int_eq(dma_port_read(port, CADDR, buf, sizeof(buf), &done), -EFAULT);
	ck_assert_uint_eq(done, PAGE);
	ck_assert_int_eq(dma_port_write(port, CADDR + PAGE + 8, buf, 4, &done), -EFAULT);
	ck_assert_uint_eq(done, 0);
	ck_assert_int_eq(dma_port_read(port, UINT64_MAX - 8, buf, 16, &done), -EFAULT);
	ck_assert_uint_eq(done, 0);
	/* After DONTNEED the private pages read back as zeroes, like the CPU's. */
	COK("dontneed %" PRIx64 " %llu", CADDR, PAGE);
	ck_assert_int_eq(dma_port_read(port, CADDR, buf, PAGE, &done), 0);
	ck_assert_uint_eq(buf[0], 0);
	ck_assert_uint_eq(buf[PAGE - 1], 0);
}
END_TEST

/* ---- gate ---- */

struct reader {
	uint8_t buf[PAGE];
	int ret;
	int finished;		/* atomic */
};

static void *read_thread(void *arg)
{
	struct reader *r = arg;

	r->ret = dma_port_read(port, CADDR, r->buf, PAGE, NULL);
	__atomic_store_n(&r->finished, 1, __ATOMIC_RELEASE);
	return NULL;
}

START_TEST(gate_holds_access)
{
	struct timespec ms50 = { 0, 50000000 };
	struct reader r = { .ret = 1 };
	pthread_t t;

	cmap(PAGE, 0x66);
	gate_close_begin(&gate);
	gate_lock(&gate);
	ck_assert_int_eq(pthread_create(&t, NULL, read_thread, &r), 0);
	nanosleep(&ms50, NULL);
	/* Not a timing check: while closed it must not get through at all. */
	ck_assert_int_eq(__atomic_load_n(&r.finished, __ATOMIC_ACQUIRE), 0);
	COK("fill %" PRIx64 " %llu 77", CADDR, PAGE);	/* the client changes it meanwhile */
	gate_unlock(&gate);
	pthread_join(t, NULL);
	ck_assert_int_eq(r.ret, 0);
	ck_assert_uint_eq(r.buf[0], 0x77);
}
END_TEST

START_TEST(gate_killed)
{
	uint8_t buf[16];

	cmap(PAGE, 0);
	gate_kill(&gate);
	ck_assert_int_eq(dma_port_enter(port), -ESRCH);
	ck_assert_int_eq(dma_port_read(port, CADDR, buf, sizeof(buf), NULL), -ESRCH);
	ck_assert_int_eq(dma_port_write(port, CADDR, buf, sizeof(buf), NULL), -ESRCH);
}
END_TEST

/* ---- exit and pid reuse ---- */

START_TEST(client_exit_fails_cleanly)
{
	struct dma_port *other;
	uint8_t buf[64];
	size_t done = 1;

	cmap(PAGE, 0x12);
	ck_assert_int_eq(tu_send(&cl, "exit"), 0);
	/* Zombie first: the mm is gone already, the pid not yet free. */
	while (pidfd_exited(pidfd) != 1)
		usleep(1000);
	ck_assert_int_eq(dma_port_read(port, CADDR, buf, sizeof(buf), &done), -ESRCH);
	ck_assert_uint_eq(done, 0);
	ck_assert_int_eq(dma_port_write(port, CADDR, buf, sizeof(buf), &done), -ESRCH);
	ck_assert_int_eq(tu_wait_exit(&cl, TU_TIMEOUT_MS, NULL), 0);
	ck_assert_int_eq(dma_port_read(port, CADDR, buf, sizeof(buf), &done), -ESRCH);
	/* A port cannot be opened for it any more, with or without its pidfd. */
	ck_assert_int_eq(dma_port_open(cl.pid, pidfd, &gate, &other), -ESRCH);
	ck_assert_int_eq(dma_port_open(0, -1, NULL, &other), -ESRCH);
}
END_TEST

static pid_t clone_with_pid(pid_t want)
{
	struct clone_args a;

	memset(&a, 0, sizeof(a));
	a.exit_signal = SIGCHLD;
	a.set_tid = (uintptr_t)&want;
	a.set_tid_size = 1;
	return syscall(SYS_clone3, &a, sizeof(a));
}

/*
 * The client exits and another process gets its pid, with memory at the
 * same address: the old port reaches neither, a fresh one reaches it.
 */
START_TEST(pid_reuse_reaches_nothing)
{
	static const char secret[] = "another process's secret";
	int go[2], ready[2], status;
	struct dma_port *fresh;
	pid_t old = cl.pid, np;
	char buf[sizeof(secret)];
	char c;

	cmap(PAGE, 0);
	client_exit();
	ck_assert_int_eq(pipe(go), 0);
	ck_assert_int_eq(pipe(ready), 0);
	np = clone_with_pid(old);
	if (np < 0) {
		fprintf(stderr, "pid_reuse: clone3(set_tid) unavailable (%s), skipped\n",
			strerror(errno));
		return;
	}
	if (np == 0) {
		char *m = mmap((void *)(uintptr_t)CADDR, PAGE, PROT_READ | PROT_WRITE,
			       MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);

		if (m == MAP_FAILED)
			_exit(2);
		memcpy(m, secret, sizeof(secret));
		if (write(ready[1], "r", 1) != 1 || read(go[0], &c, 1) != 1)
			_exit(3);
		_exit(memcmp(m, secret, sizeof(secret)) ? 1 : 0);
	}
	ck_assert_int_eq(np, old);
	close(ready[1]);
	close(go[0]);
	if (read(ready[0], &c, 1) != 1) {
		waitpid(np, &status, 0);
		ck_abort_msg("the newcomer failed to set up (status %#x)", status);
	}
	memset(buf, 0, sizeof(buf));
	ck_assert_int_eq(dma_port_read(port, CADDR, buf, sizeof(buf), NULL), -ESRCH);
	ck_assert_int_eq(buf[0], 0);
	ck_assert_int_eq(dma_port_write(port, CADDR, "XXXX", 4, NULL), -ESRCH);
	/* Control: the newcomer is really there, at that address. */
	ck_assert_int_eq(dma_port_open(np, -1, NULL, &fresh), 0);
	ck_assert_int_eq(dma_port_read(fresh, CADDR, buf, sizeof(buf), NULL), 0);
	ck_assert_str_eq(buf, secret);
	dma_port_put(fresh);
	ck_assert_int_eq(write(go[1], "g", 1), 1);
	ck_assert_int_eq(waitpid(np, &status, 0), np);
	ck_assert(WIFEXITED(status));
	ck_assert_int_eq(WEXITSTATUS(status), 0);	/* its memory untouched */
	close(go[1]);
	close(ready[0]);
}
END_TEST

/* ---- sim jobs on the client's memory ---- */

#define P_VA	0x100000000ull		/* client memory */
#define H_VA	0x200000000ull		/* daemon memory (a "BO") */
#define B_VA	0x300000000ull		/* batch */
#define CLEN	(3ull << 20)		/* 3 MiB: several chunks and transfers */

static struct dev *d;
static struct dev_vm *vm;
static uint8_t *host, *bat;

static void sim_setup(void)
{
	struct dev_config cfg = { .hang_timeout_ns = 30ull * 1000000000 };
	struct dev_backing b = { .kind = DEV_BACKING_PORT };

	setup();
	ck_assert_int_eq(dev_open("sim", &cfg, &d), 0);
	ck_assert_int_eq(dev_vm_create(d, &vm), 0);
	host = mmap(NULL, CLEN, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	bat = mmap(NULL, PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ck_assert_ptr_ne(host, MAP_FAILED);
	ck_assert_ptr_ne(bat, MAP_FAILED);
	cmap(CLEN, 0xc1);
	b.port = port;
	b.addr = CADDR;
	ck_assert_int_eq(dev_vm_map(vm, P_VA, CLEN, &b, DEV_MAP_WRITE), 0);
	b = (struct dev_backing){ .kind = DEV_BACKING_HOST, .host = host };
	ck_assert_int_eq(dev_vm_map(vm, H_VA, CLEN, &b, DEV_MAP_WRITE), 0);
	b.host = bat;
	ck_assert_int_eq(dev_vm_map(vm, B_VA, PAGE, &b, 0), 0);
}

static void sim_teardown(void)
{
	dev_vm_destroy(vm);
	dev_close(d);
	munmap(host, CLEN);
	munmap(bat, PAGE);
	teardown();
}

struct bb {
	uint32_t dw[64];
	unsigned int n;
};

#define EMIT(b, ...)							\
	do {								\
		const uint32_t dw_[] = { __VA_ARGS__ };			\
		memcpy(&(b)->dw[(b)->n], dw_, sizeof(dw_));		\
		(b)->n += sizeof(dw_) / 4;				\
	} while (0)
#define LOHI(v) UGPU_ISA_LO(v), UGPU_ISA_HI(v)
#define END(b) EMIT(b, UGPU_ISA_HDR(UGPU_OP_BATCH_END, 0, 1))
#define STORE(b, va, v) EMIT(b, UGPU_ISA_HDR(UGPU_OP_STORE_DWORD, 0, 4), LOHI(va), (v))
#define COPY(b, dst, src, n) \
	EMIT(b, UGPU_ISA_HDR(UGPU_OP_COPY, 0, 7), LOHI(dst), LOHI(src), LOHI(n))
#define FILL(b, va, n, v) EMIT(b, UGPU_ISA_HDR(UGPU_OP_FILL, 0, 6), LOHI(va), LOHI(n), (v))
#define CRC(b, dst, src, n) \
	EMIT(b, UGPU_ISA_HDR(UGPU_OP_CHECKSUM, 0, 7), LOHI(dst), LOHI(src), LOHI(n))

static uint64_t submit(uint32_t engine, const struct bb *b)
{
	struct dev_submit s = { .vm = vm, .engine = engine, .batch_va = B_VA,
				.batch_len = b->n * 4 };
	uint64_t id;

	memcpy(bat, b->dw, b->n * 4);
	ck_assert_int_eq(dev_submit(d, &s, &id), 0);
	return id;
}

static struct dev_job_result wait_one(void)
{
	struct dev_job_result r;

	while (dev_reap(d, &r, 1) != 1)
		ck_assert_int_eq(dev_wait_completion(d, 20000), 1);
	return r;
}

static uint32_t ref_crc32c(const uint8_t *p, size_t len)
{
	uint32_t c = 0xffffffffu;

	while (len--) {
		c ^= *p++;
		for (int k = 0; k < 8; k++)
			c = c & 1 ? (c >> 1) ^ 0x82f63b78u : c >> 1;
	}
	return ~c;
}

START_TEST(sim_copy_both_ways)
{
	struct bb b = { .n = 0 };
	uint64_t half = CLEN / 2;
	uint8_t *orig = malloc(CLEN);
	uint32_t crc;

	fill_rand(host, CLEN, 3);
	memcpy(orig, host, CLEN);
	COPY(&b, P_VA + 1, H_VA + 5, half);		/* daemon -> client */
	COPY(&b, H_VA + half, P_VA + 1, half - 1);	/* client -> daemon */
	FILL(&b, P_VA + half + 7, 1000, 0xa1b2c3d4);	/* through the bounce */
	COPY(&b, P_VA + half + 4096, P_VA + half + 7, 1000);	/* client -> client */
	STORE(&b, P_VA + CLEN - 4, 0xfeedf00d);
	CRC(&b, H_VA, P_VA + 1, 100);
	END(&b);
	submit(1, &b);
	ck_assert_int_eq(wait_one().status, 0);
	ck_assert_uint_eq(chash(CADDR + 1, half), fnv1a(orig + 5, half));
	ck_assert_mem_eq(host + half, orig + 5, half - 1);
	ck_assert_uint_eq(cpeek(CADDR + half + 7), 0xa1b2c3d4u);
	ck_assert_uint_eq(cpeek(CADDR + half + 4096), 0xa1b2c3d4u);
	ck_assert_uint_eq(chash(CADDR + half + 4096, 1000), chash(CADDR + half + 7, 1000));
	ck_assert_uint_eq(cpeek(CADDR + CLEN - 4), 0xfeedf00d);
	ck_assert_uint_eq(cpeek(CADDR) & 0xff, 0xc1);
	memcpy(&crc, host, 4);
	ck_assert_uint_eq(crc, ref_crc32c(orig + 5, 100));
	free(orig);
}
END_TEST

START_TEST(sim_client_readonly_faults)
{
	struct bb b = { .n = 0 };
	struct dev_job_result r;
	uint64_t before;

	COK("prot %" PRIx64 " %llu r", CADDR + 2 * PAGE, PAGE);
	before = chash(CADDR + 2 * PAGE, PAGE);
	FILL(&b, P_VA + PAGE + 100, 2 * PAGE, 0);
	END(&b);
	submit(0, &b);
	r = wait_one();
	ck_assert_int_eq(r.status, -EFAULT);
	ck_assert_uint_eq(r.fault.va, P_VA + 2 * PAGE);
	ck_assert_uint_eq(r.fault.kind, DEV_FAULT_WRITE_RO);
	ck_assert_uint_eq(r.fault.flags, DEV_FAULT_F_WRITE | DEV_FAULT_F_BACKING);
	ck_assert_uint_eq(chash(CADDR + 2 * PAGE, PAGE), before);
	ck_assert_uint_eq(cpeek(CADDR + 2 * PAGE - 4), 0);	/* below it: written */
	/* A GPU read of it is fine. */
	b.n = 0;
	COPY(&b, H_VA, P_VA + 2 * PAGE, PAGE);
	END(&b);
	submit(0, &b);
	ck_assert_int_eq(wait_one().status, 0);
	ck_assert_uint_eq(host[0], 0xc1);
}
END_TEST

START_TEST(sim_client_unmapped_faults)
{
	struct bb b = { .n = 0 };
	struct dev_job_result r;

	COK("unmap %" PRIx64 " %llu", CADDR + 5 * PAGE, PAGE);
	COPY(&b, H_VA, P_VA + 4 * PAGE + 8, 2 * PAGE);
	END(&b);
	submit(1, &b);
	r = wait_one();
	ck_assert_int_eq(r.status, -EFAULT);
	ck_assert_uint_eq(r.fault.va, P_VA + 5 * PAGE);
	ck_assert_uint_eq(r.fault.kind, DEV_FAULT_NOT_PRESENT);
	ck_assert_uint_eq(r.fault.flags, DEV_FAULT_F_BACKING);
	ck_assert_uint_eq(host[PAGE - 9], 0xc1);
}
END_TEST

/*
 * The invalidation sequence: the gate is taken, the client replaces its
 * memory, the PTEs are zapped, the gate opens. A job submitted meanwhile
 * waits, then faults; it never sees the new memory.
 */
START_TEST(sim_gate_then_zap)
{
	struct bb b = { .n = 0 };
	struct dev_job_result r;

	memset(host, 0, CLEN);
	COPY(&b, H_VA, P_VA, CLEN);
	END(&b);
	gate_close_begin(&gate);
	gate_lock(&gate);
	submit(0, &b);
	usleep(50000);
	ck_assert_int_eq(dev_reap(d, &r, 1), 0);	/* held at the gate */
	COK("unmap %" PRIx64 " %llu", CADDR, CLEN);
	cmap(CLEN, 0xee);
	ck_assert_int_eq(dev_vm_zap(vm, P_VA, CLEN), 0);
	gate_unlock(&gate);
	r = wait_one();
	ck_assert_int_eq(r.status, -EFAULT);
	ck_assert_uint_eq(r.fault.va, P_VA);
	ck_assert_uint_eq(r.fault.flags, 0);		/* the PTE, not the client */
	for (uint64_t i = 0; i < CLEN; i += 997)
		ck_assert_uint_ne(host[i], 0xee);
}
END_TEST

/* The batch itself may live in the client's private memory. */
START_TEST(sim_batch_in_client_memory)
{
	struct dev_submit sub = { .vm = vm, .engine = 0, .batch_va = P_VA + PAGE - 12 };
	struct bb b = { .n = 0 };
	struct dev_job_result r;
	uint64_t id;

	STORE(&b, H_VA + 16, 0x600df00d);	/* straddles a page of the client */
	COPY(&b, H_VA + 32, P_VA, 8);
	END(&b);
	ck_assert_int_eq(dma_port_write(port, CADDR + PAGE - 12, b.dw, b.n * 4, NULL), 0);
	sub.batch_len = b.n * 4;
	ck_assert_int_eq(dev_submit(d, &sub, &id), 0);
	r = wait_one();
	ck_assert_int_eq(r.status, 0);
	ck_assert_uint_eq(((uint32_t *)host)[4], 0x600df00d);
	ck_assert_uint_eq(host[32], 0xc1);
}
END_TEST

START_TEST(sim_client_exits)
{
	struct bb b = { .n = 0 };
	struct dev_job_result r;

	client_exit();
	COPY(&b, H_VA, P_VA + 8, 64);
	STORE(&b, H_VA, 1);
	END(&b);
	submit(0, &b);
	r = wait_one();
	ck_assert_int_eq(r.status, -EFAULT);
	ck_assert_uint_eq(r.fault.va, P_VA + 8);
	ck_assert_uint_eq(r.fault.flags, DEV_FAULT_F_BACKING);
	/* The daemon noticed and killed the gate: same, without a syscall. */
	gate_kill(&gate);
	b.n = 0;
	STORE(&b, P_VA, 1);
	END(&b);
	submit(1, &b);
	r = wait_one();
	ck_assert_int_eq(r.status, -EFAULT);
	ck_assert_uint_eq(r.fault.va, P_VA);
	ck_assert_uint_eq(r.fault.flags, DEV_FAULT_F_WRITE | DEV_FAULT_F_BACKING);
	/* Daemon memory of the same VM is still reachable. */
	b.n = 0;
	STORE(&b, H_VA + 8, 0x5a5a);
	END(&b);
	submit(1, &b);
	ck_assert_int_eq(wait_one().status, 0);
	ck_assert_uint_eq(host[8], 0x5a);
}
END_TEST

static Suite *dma_port_suite(void)
{
	Suite *s = suite_create("dma_port");
	TCase *tc;

#define TC(name, su, td, ...)						\
	do {								\
		tc = tcase_create(name);				\
		tcase_set_timeout(tc, 30);				\
		tcase_add_checked_fixture(tc, su, td);			\
		__VA_ARGS__						\
		suite_add_tcase(s, tc);					\
	} while (0)

	TC("transfers", setup, teardown, tcase_add_test(tc, read_write);
	   tcase_add_test(tc, io_in_flight);
	   tcase_add_test(tc, io_one_by_one););
	TC("protections", setup, teardown, tcase_add_test(tc, write_readonly_refused);
	   tcase_add_test(tc, read_prot_none_refused);
	   tcase_add_test(tc, hole_faults););
	TC("gate", setup, teardown, tcase_add_test(tc, gate_holds_access);
	   tcase_add_test(tc, gate_killed););
	TC("exit", setup, teardown, tcase_add_test(tc, client_exit_fails_cleanly);
	   tcase_add_test(tc, pid_reuse_reaches_nothing););
	TC("sim", sim_setup, sim_teardown, tcase_add_test(tc, sim_copy_both_ways);
	   tcase_add_test(tc, sim_client_readonly_faults);
	   tcase_add_test(tc, sim_client_unmapped_faults);
	   tcase_add_test(tc, sim_gate_then_zap);
	   tcase_add_test(tc, sim_batch_in_client_memory);
	   tcase_add_test(tc, sim_client_exits););
#undef TC
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(dma_port_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
