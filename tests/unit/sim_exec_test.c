/* SPDX-License-Identifier: MIT */
/*
 * Check suite for the sim device's engines and jobs (daemon/dev/sim*.c):
 * completion through the eventfd and dev_reap() in order, per-engine
 * queues and their limit, fault reports, hang detection with engine
 * reset while other jobs go on, dev_reset_engine(), cancel, two engines
 * at once (including one waiting on a semaphore the other signals), a
 * zap under a running job, fault-mode handlers, VM destruction and device
 * close with jobs in flight, shared memory as a zero-copy backing, and the
 * statistics.
 */
#include <check.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "dev/dev.h"
#include "uapi/ugpu_isa.h"

#define PAGE		4096u
#define RW_PAGES	2048u			/* 8 MiB */
#define RW_VA		0x10000000ull
#define BATCH_VA	0x30000000ull
#define SLOT		1024u			/* bytes per batch slot */
#define SLOTS		64u
#define HANG_NS		200000000ull		/* 200 ms */
#define DEPTH		8u

static struct dev *d;
static struct dev_vm *vm;
static uint8_t *rw;
static uint32_t *batch;

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
#define SEM(b, op, va, v) EMIT(b, UGPU_ISA_HDR(UGPU_OP_SEMAPHORE_WAIT, op, 4), LOHI(va), (v))
#define COPY(b, dst, src, n) \
	EMIT(b, UGPU_ISA_HDR(UGPU_OP_COPY, 0, 7), LOHI(dst), LOHI(src), LOHI(n))
#define FILL(b, va, n, v) EMIT(b, UGPU_ISA_HDR(UGPU_OP_FILL, 0, 6), LOHI(va), LOHI(n), (v))

/* Offsets in the RW window used as flags. */
#define MARK(i)		(RW_VA + 16 * (i))
#define DATA		(RW_VA + 64 * PAGE)

static struct dev_job_result stash[64];
static unsigned int nstash;

static void *map_anon(size_t len)
{
	void *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	ck_assert_ptr_ne(p, MAP_FAILED);
	return p;
}

static void map_host(struct dev_vm *v, uint64_t va, void *host, uint64_t size, uint32_t fl)
{
	struct dev_backing b = { .kind = DEV_BACKING_HOST, .host = host };

	ck_assert_int_eq(dev_vm_map(v, va, size, &b, fl), 0);
}

static void open_dev(uint64_t hang_ns)
{
	struct dev_config cfg = { .hang_timeout_ns = hang_ns, .queue_depth = DEPTH };

	ck_assert_int_eq(dev_open("sim", &cfg, &d), 0);
	ck_assert_int_eq(dev_vm_create(d, &vm), 0);
	rw = map_anon(RW_PAGES * PAGE);
	batch = map_anon(SLOTS * SLOT);
	map_host(vm, RW_VA, rw, RW_PAGES * PAGE, DEV_MAP_WRITE);
	map_host(vm, BATCH_VA, batch, SLOTS * SLOT, 0);
	nstash = 0;
}

static void setup(void)
{
	open_dev(HANG_NS);
}

/* Jobs of these tests must not be cut short by a hang. */
static void setup_slow(void)
{
	open_dev(60ull * 1000000000);
}

static void teardown(void)
{
	dev_vm_destroy(vm);
	dev_close(d);
	munmap(rw, RW_PAGES * PAGE);
	munmap(batch, SLOTS * SLOT);
}

static uint64_t submit_in(struct dev_vm *v, uint32_t engine, unsigned int slot,
			  const struct bb *b, uint64_t user, int expect)
{
	struct dev_submit s = {
		.vm = v, .engine = engine, .batch_va = BATCH_VA + slot * SLOT,
		.batch_len = b->n * 4, .user = user,
	};
	uint64_t id = 0;

	memcpy((uint8_t *)batch + slot * SLOT, b->dw, b->n * 4);
	ck_assert_int_eq(dev_submit(d, &s, &id), expect);
	return id;
}

static uint64_t submit(uint32_t engine, unsigned int slot, const struct bb *b)
{
	return submit_in(vm, engine, slot, b, slot, 0);
}

/* The result of job @id; results of other jobs reaped meanwhile are kept. */
static struct dev_job_result wait_id(uint64_t id)
{
	struct dev_job_result r;
	unsigned int got;

	for (;;) {
		for (unsigned int i = 0; i < nstash; i++) {
			if (stash[i].id == id) {
				r = stash[i];
				stash[i] = stash[--nstash];
				return r;
			}
		}
		for (got = 0; nstash < 64 && dev_reap(d, &stash[nstash], 1) == 1; got++)
			nstash++;
		if (!got)
			ck_assert_int_eq(dev_wait_completion(d, 10000), 1);
	}
}

static uint32_t *u32(uint64_t va)
{
	return (uint32_t *)(rw + (va - RW_VA));
}

/* Wait (bounded) until a job has stored @v at @va: it is running. */
static void wait_value(uint64_t va, uint32_t v)
{
	struct timespec ms = { 0, 1000000 };

	for (int i = 0; i < 20000; i++) {
		if (__atomic_load_n(u32(va), __ATOMIC_ACQUIRE) == v)
			return;
		nanosleep(&ms, NULL);
	}
	ck_abort_msg("value %u never appeared", v);
}

static void cpu_store(uint64_t va, uint32_t v)
{
	__atomic_store_n(u32(va), v, __ATOMIC_RELEASE);
}

/* ---- completion ---- */

START_TEST(completion_in_order)
{
	struct dev_job_result r[8];
	uint64_t ids[5];
	int n = 0;

	/* Job i waits for i, then writes i + 1: only in-order execution ends. */
	for (unsigned int i = 0; i < 5; i++) {
		struct bb b = { .n = 0 };

		SEM(&b, UGPU_SEM_EQ, MARK(0), i);
		STORE(&b, MARK(0), i + 1);
		END(&b);
		ids[i] = submit(0, i, &b);
		if (i)
			ck_assert_uint_gt(ids[i], ids[i - 1]);
	}
	while (n < 5) {
		int k = dev_reap(d, r + n, 8 - n);

		ck_assert_int_ge(k, 0);
		if (!k)
			ck_assert_int_eq(dev_wait_completion(d, 10000), 1);
		n += k;
	}
	for (int i = 0; i < 5; i++) {
		ck_assert_uint_eq(r[i].id, ids[i]);
		ck_assert_int_eq(r[i].status, 0);
		ck_assert_uint_eq(r[i].user, (uint64_t)i);
		ck_assert_uint_eq(r[i].engine, 0);
		ck_assert_uint_le(r[i].submit_ns, r[i].start_ns);
		ck_assert_uint_le(r[i].start_ns, r[i].end_ns);
		if (i)
			ck_assert_uint_ge(r[i].start_ns, r[i - 1].end_ns);
	}
	ck_assert_uint_eq(*u32(MARK(0)), 5);
	ck_assert_int_eq(dev_reap(d, r, 8), 0);
	ck_assert_int_eq(dev_reap(d, r, 0), 0);
}
END_TEST

START_TEST(queue_limit)
{
	struct bb b = { .n = 0 };
	uint64_t ids[DEPTH];

	SEM(&b, UGPU_SEM_EQ, MARK(1), 1);
	END(&b);
	for (unsigned int i = 0; i < DEPTH; i++)
		ids[i] = submit(0, i, &b);
	submit_in(vm, 0, DEPTH, &b, 0, -ENOSPC);
	submit(1, DEPTH, &b);			/* the other engine has room */
	cpu_store(MARK(1), 1);
	for (unsigned int i = 0; i < DEPTH; i++)
		ck_assert_int_eq(wait_id(ids[i]).status, 0);
	ids[0] = submit(0, 0, &b);		/* room again */
	ck_assert_int_eq(wait_id(ids[0]).status, 0);
}
END_TEST

/* ---- faults ---- */

START_TEST(fault_report)
{
	struct bb b = { .n = 0 };
	struct dev_job_result r;
	struct dev_stats st;
	uint64_t id;

	STORE(&b, MARK(2), 1);
	FILL(&b, RW_VA + RW_PAGES * PAGE - 8, 12, 0x01010101);
	STORE(&b, MARK(2), 2);
	END(&b);
	id = submit(1, 0, &b);
	r = wait_id(id);
	ck_assert_int_eq(r.status, -EFAULT);
	ck_assert_uint_eq(r.fault.va, RW_VA + RW_PAGES * PAGE);
	ck_assert_uint_eq(r.fault.kind, DEV_FAULT_NOT_PRESENT);
	ck_assert_uint_eq(r.fault.flags, DEV_FAULT_F_WRITE);
	ck_assert_uint_eq(r.fault.job_id, id);
	ck_assert_uint_eq(r.fault.engine, 1);
	ck_assert_uint_eq(*u32(MARK(2)), 1);	/* stopped at the fault */
	b.n = 0;
	STORE(&b, MARK(2), 3);
	END(&b);
	ck_assert_int_eq(wait_id(submit(1, 1, &b)).status, 0);	/* engine goes on */
	ck_assert_uint_eq(*u32(MARK(2)), 3);
	dev_get_stats(d, &st);
	ck_assert_uint_eq(st.faults, 1);
	ck_assert_uint_eq(st.jobs_failed, 1);
	ck_assert_uint_eq(st.jobs_completed, 1);
}
END_TEST

/* A zap while a job polls a semaphore: the next poll faults there. */
START_TEST(zap_under_running_job)
{
	uint64_t sem = RW_VA + 100 * PAGE + 8;
	struct bb b = { .n = 0 };
	struct dev_job_result r;
	uint64_t id;

	STORE(&b, MARK(3), 1);
	SEM(&b, UGPU_SEM_EQ, sem, 1);
	END(&b);
	id = submit(0, 0, &b);
	wait_value(MARK(3), 1);
	ck_assert_int_eq(dev_vm_zap(vm, RW_VA + 100 * PAGE, PAGE), 0);
	r = wait_id(id);
	ck_assert_int_eq(r.status, -EFAULT);
	ck_assert_uint_eq(r.fault.va, sem);
	ck_assert_uint_eq(r.fault.kind, DEV_FAULT_NOT_PRESENT);
	ck_assert_uint_eq(r.fault.flags, 0);
}
END_TEST

/* ---- hang, reset, cancel ---- */

START_TEST(hang_resets_engine)
{
	struct bb hang = { .n = 0 }, ok = { .n = 0 }, big = { .n = 0 };
	struct dev_job_result r;
	struct dev_stats st;
	uint64_t a, bq, c;

	SEM(&hang, UGPU_SEM_EQ, MARK(4), 0xdead);	/* never */
	END(&hang);
	STORE(&ok, MARK(5), 7);
	END(&ok);
	FILL(&big, DATA, 4 * 1024 * 1024, 0x5a5a5a5a);
	END(&big);
	a = submit(0, 0, &hang);
	bq = submit(0, 1, &ok);			/* queued behind the hang */
	c = submit(1, 2, &big);			/* other engine, meanwhile */
	ck_assert_int_eq(wait_id(c).status, 0);
	r = wait_id(a);
	ck_assert_int_eq(r.status, -EIO);
	ck_assert_uint_ge(r.end_ns - r.start_ns, HANG_NS);
	ck_assert_int_eq(wait_id(bq).status, 0);
	ck_assert_uint_eq(*u32(MARK(5)), 7);
	ck_assert_uint_eq(rw[64 * PAGE + 4 * 1024 * 1024 - 1], 0x5a);
	dev_get_stats(d, &st);
	ck_assert_uint_eq(st.hangs, 1);
	ck_assert_uint_eq(st.resets, 1);
}
END_TEST

START_TEST(reset_engine)
{
	struct bb b = { .n = 0 }, ok = { .n = 0 };
	struct dev_stats st;
	uint64_t a, q;

	STORE(&b, MARK(6), 1);
	SEM(&b, UGPU_SEM_EQ, MARK(7), 1);
	END(&b);
	STORE(&ok, MARK(6), 2);
	END(&ok);
	a = submit(1, 0, &b);
	q = submit(1, 1, &ok);
	wait_value(MARK(6), 1);
	ck_assert_int_eq(dev_reset_engine(d, 1), 0);
	ck_assert_int_eq(wait_id(a).status, -EIO);
	ck_assert_int_eq(wait_id(q).status, 0);		/* queued job survives */
	ck_assert_int_eq(dev_reset_engine(d, 0), 0);	/* idle: just counted */
	ck_assert_int_eq(dev_reset_engine(d, 2), -EINVAL);
	dev_get_stats(d, &st);
	ck_assert_uint_eq(st.resets, 2);
	ck_assert_uint_eq(st.hangs, 0);
}
END_TEST

START_TEST(cancel_jobs)
{
	struct bb b = { .n = 0 }, ok = { .n = 0 };
	struct dev_job_result r;
	struct dev_stats st;
	uint64_t run, queued, done;

	STORE(&ok, MARK(8), 5);
	END(&ok);
	done = submit(0, 2, &ok);
	ck_assert_int_eq(wait_id(done).status, 0);
	ck_assert_int_eq(dev_cancel(d, done), -ENOENT);
	ck_assert_int_eq(dev_cancel(d, 12345), -ENOENT);

	STORE(&b, MARK(8), 1);
	SEM(&b, UGPU_SEM_EQ, MARK(9), 1);
	END(&b);
	run = submit(0, 0, &b);
	queued = submit(0, 1, &ok);
	wait_value(MARK(8), 1);
	ck_assert_int_eq(dev_cancel(d, queued), 0);
	r = wait_id(queued);
	ck_assert_int_eq(r.status, -ECANCELED);
	ck_assert_uint_eq(r.start_ns, 0);
	ck_assert_int_eq(dev_cancel(d, run), 0);
	ck_assert_int_eq(wait_id(run).status, -ECANCELED);
	ck_assert_uint_eq(*u32(MARK(8)), 1);		/* the queued one never ran */
	dev_get_stats(d, &st);
	ck_assert_uint_eq(st.jobs_cancelled, 2);
	ck_assert_uint_eq(st.jobs_failed, 2);
	ck_assert_uint_eq(st.resets, 0);
}
END_TEST

/* ---- two engines ---- */

START_TEST(engines_concurrent)
{
	struct bb w = { .n = 0 }, s = { .n = 0 }, c0 = { .n = 0 }, c1 = { .n = 0 };
	uint64_t len = 1024 * 1024, ids[4];

	for (uint64_t i = 0; i < len; i++)
		rw[64 * PAGE + i] = i * 7;
	/* Render waits for the copy engine's signal, after its copy. */
	SEM(&w, UGPU_SEM_GTE, MARK(10), 1);
	COPY(&w, DATA + 2 * len, DATA + len, len);
	END(&w);
	COPY(&s, DATA + len, DATA, len);
	STORE(&s, MARK(10), 1);
	END(&s);
	ids[0] = submit(0, 0, &w);
	ids[1] = submit(1, 1, &s);
	/* And a second round of plain copies on both at once. */
	FILL(&c0, DATA + 3 * len, len / 2, 0x11111111);
	END(&c0);
	FILL(&c1, DATA + 3 * len + len / 2, len / 2, 0x22222222);
	END(&c1);
	ids[2] = submit(0, 2, &c0);
	ids[3] = submit(1, 3, &c1);
	for (int i = 0; i < 4; i++)
		ck_assert_int_eq(wait_id(ids[i]).status, 0);
	ck_assert_mem_eq(rw + 64 * PAGE + 2 * len, rw + 64 * PAGE, len);
	ck_assert_uint_eq(rw[64 * PAGE + 3 * len], 0x11);
	ck_assert_uint_eq(rw[64 * PAGE + 4 * len - 1], 0x22);
}
END_TEST

/* ---- fault-mode handler ---- */

struct handler_state {
	int calls;
	int mode;		/* 0 map the page, 1 refuse, 2 "fix" nothing */
	struct dev_fault last;
	uint8_t *page;
};

static int handler(struct dev_vm *v, void *priv, const struct dev_fault *f)
{
	struct handler_state *h = priv;
	struct dev_backing b = { .kind = DEV_BACKING_HOST, .host = h->page };

	h->calls++;
	h->last = *f;
	if (h->mode == 1)
		return -EFAULT;
	if (h->mode == 2)
		return 0;
	return dev_vm_map(v, f->va & ~(uint64_t)(PAGE - 1), PAGE, &b, DEV_MAP_WRITE);
}

START_TEST(fault_handler)
{
	struct handler_state h = { .mode = 0 };
	uint64_t va = 0x70000000ull;
	struct bb b = { .n = 0 };
	struct dev_job_result r;

	h.page = map_anon(PAGE);
	ck_assert_int_eq(dev_vm_set_fault_handler(vm, handler, &h), 0);
	STORE(&b, va + 40, 0xabcd);
	END(&b);
	ck_assert_int_eq(wait_id(submit(0, 0, &b)).status, 0);
	ck_assert_int_eq(h.calls, 1);
	ck_assert_uint_eq(h.last.va, va + 40);
	ck_assert_uint_eq(h.last.kind, DEV_FAULT_NOT_PRESENT);
	ck_assert_uint_eq(h.last.flags, DEV_FAULT_F_WRITE);
	ck_assert_uint_eq(h.last.engine, 0);
	ck_assert_uint_eq(((uint32_t *)h.page)[10], 0xabcd);

	h.mode = 1;
	h.calls = 0;
	b.n = 0;
	STORE(&b, va + PAGE, 1);
	END(&b);
	r = wait_id(submit(0, 1, &b));
	ck_assert_int_eq(r.status, -EFAULT);
	ck_assert_uint_eq(r.fault.va, va + PAGE);
	ck_assert_int_eq(h.calls, 1);

	h.mode = 2;		/* claims success, changes nothing: bounded */
	h.calls = 0;
	ck_assert_int_eq(wait_id(submit(0, 2, &b)).status, -EFAULT);
	ck_assert_int_eq(h.calls, 3);

	ck_assert_int_eq(dev_vm_set_fault_handler(vm, NULL, NULL), 0);
	h.calls = 0;
	ck_assert_int_eq(wait_id(submit(0, 3, &b)).status, -EFAULT);
	ck_assert_int_eq(h.calls, 0);
	munmap(h.page, PAGE);
}
END_TEST

/* ---- lifetime ---- */

START_TEST(vm_destroy_cancels)
{
	struct dev_vm *v2;
	struct bb b = { .n = 0 }, ok = { .n = 0 };
	uint64_t run, q1, q2;

	ck_assert_int_eq(dev_vm_create(d, &v2), 0);
	map_host(v2, RW_VA, rw, RW_PAGES * PAGE, DEV_MAP_WRITE);
	map_host(v2, BATCH_VA, batch, SLOTS * SLOT, 0);
	STORE(&b, MARK(11), 1);
	SEM(&b, UGPU_SEM_EQ, MARK(12), 1);
	END(&b);
	STORE(&ok, MARK(13), 1);
	END(&ok);
	run = submit_in(v2, 0, 0, &b, 0, 0);
	q1 = submit_in(v2, 0, 1, &ok, 0, 0);
	q2 = submit_in(v2, 1, 1, &b, 0, 0);	/* might be running or queued */
	wait_value(MARK(11), 1);
	dev_vm_destroy(v2);
	ck_assert_int_eq(wait_id(q1).status, -ECANCELED);
	ck_assert_int_eq(wait_id(run).status, -ECANCELED);
	ck_assert_int_eq(wait_id(q2).status, -ECANCELED);
	ck_assert_uint_eq(*u32(MARK(13)), 0);
	/* The device goes on with the other VM. */
	ck_assert_int_eq(wait_id(submit(0, 2, &ok)).status, 0);
}
END_TEST

START_TEST(close_with_jobs_in_flight)
{
	struct bb b = { .n = 0 };

	STORE(&b, MARK(14), 1);
	SEM(&b, UGPU_SEM_EQ, MARK(15), 1);
	END(&b);
	submit(0, 0, &b);
	submit(0, 1, &b);
	submit(1, 2, &b);
	wait_value(MARK(14), 1);
	/* teardown destroys the VM and closes with results unreaped */
}
END_TEST

/* Shared memory (a memfd mapped twice): the GPU writes what the other view reads. */
START_TEST(memfd_zero_copy)
{
	int fd = memfd_create("sim_exec_test", MFD_CLOEXEC);
	struct bb b = { .n = 0 };
	uint8_t *view, *other;

	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(ftruncate(fd, 4 * PAGE), 0);
	view = mmap(NULL, 4 * PAGE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	other = mmap(NULL, 4 * PAGE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	ck_assert_ptr_ne(view, MAP_FAILED);
	ck_assert_ptr_ne(other, MAP_FAILED);
	map_host(vm, 0x60000000ull, view, 4 * PAGE, DEV_MAP_WRITE);
	other[5] = 0x42;
	COPY(&b, 0x60000000ull + 2 * PAGE, 0x60000000ull, 16);
	FILL(&b, 0x60000000ull + PAGE - 2, 4, 0x99999999);
	END(&b);
	ck_assert_int_eq(wait_id(submit(0, 0, &b)).status, 0);
	ck_assert_uint_eq(other[2 * PAGE + 5], 0x42);
	ck_assert_uint_eq(other[PAGE + 1], 0x99);
	ck_assert_int_eq(dev_vm_zap(vm, 0x60000000ull, 4 * PAGE), 0);
	munmap(view, 4 * PAGE);
	munmap(other, 4 * PAGE);
	close(fd);
}
END_TEST

START_TEST(stats_counters)
{
	struct bb b = { .n = 0 };
	struct dev_stats st;

	FILL(&b, DATA, 10000, 0);
	COPY(&b, DATA + 20000, DATA, 5000);
	END(&b);
	ck_assert_int_eq(wait_id(submit(1, 0, &b)).status, 0);
	dev_get_stats(d, &st);
	ck_assert_uint_eq(st.jobs_submitted, 1);
	ck_assert_uint_eq(st.jobs_completed, 1);
	ck_assert_uint_eq(st.jobs_failed, 0);
	ck_assert_uint_eq(st.engine_jobs[1], 1);
	ck_assert_uint_eq(st.engine_jobs[0], 0);
	/* One fetch of the whole (short) batch + the copy's source. */
	ck_assert_uint_eq(st.bytes_read, b.n * 4 + 5000);
	ck_assert_uint_eq(st.bytes_written, 15000);
}
END_TEST

static Suite *sim_exec_suite(void)
{
	Suite *s = suite_create("sim_exec");
	TCase *tc;

#define TC(name, setup_fn, ...)						\
	do {								\
		tc = tcase_create(name);				\
		tcase_set_timeout(tc, 30);				\
		tcase_add_checked_fixture(tc, setup_fn, teardown);	\
		__VA_ARGS__						\
		suite_add_tcase(s, tc);					\
	} while (0)

	TC("completion", setup_slow, tcase_add_test(tc, completion_in_order);
	   tcase_add_test(tc, queue_limit););
	TC("faults", setup_slow, tcase_add_test(tc, fault_report);
	   tcase_add_test(tc, zap_under_running_job););
	TC("hang", setup, tcase_add_test(tc, hang_resets_engine););
	TC("reset_cancel", setup_slow, tcase_add_test(tc, reset_engine);
	   tcase_add_test(tc, cancel_jobs););
	TC("engines", setup_slow, tcase_add_test(tc, engines_concurrent););
	TC("fault_handler", setup_slow, tcase_add_test(tc, fault_handler););
	TC("lifetime", setup_slow, tcase_add_test(tc, vm_destroy_cancels);
	   tcase_add_test(tc, close_with_jobs_in_flight););
	TC("backings", setup_slow, tcase_add_test(tc, memfd_zero_copy););
	TC("stats", setup_slow, tcase_add_test(tc, stats_counters););
#undef TC
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(sim_exec_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
