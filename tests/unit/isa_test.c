/* SPDX-License-Identifier: MIT */
/*
 * Check suite for the ISA of uapi/ugpu_isa.h as the sim executes it: the
 * header encoding, then one TCase per opcode (NOP, BATCH_END, STORE_DWORD,
 * FILL, COPY, CHECKSUM, SEMAPHORE_WAIT, TIMESTAMP, ADD_U32, SAXPY_F32)
 * covering zero sizes, unaligned operands, ranges crossing pages and
 * chunks, and the exact first faulting VA, and one for invalid commands.
 * Every job runs on a real sim device over daemon memory: a writable
 * window with an unmapped page after it, a read-only window, a batch
 * buffer.
 */
#include <check.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

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

static struct dev *d;
static struct dev_vm *vm;
static uint8_t *rw, *ro;
static uint32_t *batch;

struct bb {
	uint32_t dw[256];
	unsigned int n;
};

static void emit(struct bb *b, unsigned int n, const uint32_t *dw)
{
	ck_assert_uint_le(b->n + n, 256);
	memcpy(&b->dw[b->n], dw, n * 4);
	b->n += n;
}

#define EMIT(b, ...)							\
	do {								\
		const uint32_t dw_[] = { __VA_ARGS__ };			\
		emit((b), sizeof(dw_) / 4, dw_);			\
	} while (0)

#define LOHI(v) UGPU_ISA_LO(v), UGPU_ISA_HI(v)

static void end(struct bb *b)
{
	EMIT(b, UGPU_ISA_HDR(UGPU_OP_BATCH_END, 0, 1));
}

static void store(struct bb *b, uint64_t va, uint32_t v)
{
	EMIT(b, UGPU_ISA_HDR(UGPU_OP_STORE_DWORD, 0, 4), LOHI(va), v);
}

static void fill(struct bb *b, uint64_t va, uint64_t size, uint32_t v)
{
	EMIT(b, UGPU_ISA_HDR(UGPU_OP_FILL, 0, 6), LOHI(va), LOHI(size), v);
}

static void copy(struct bb *b, uint64_t dst, uint64_t src, uint64_t size)
{
	EMIT(b, UGPU_ISA_HDR(UGPU_OP_COPY, 0, 7), LOHI(dst), LOHI(src), LOHI(size));
}

static void checksum(struct bb *b, uint64_t dst, uint64_t src, uint64_t size)
{
	EMIT(b, UGPU_ISA_HDR(UGPU_OP_CHECKSUM, 0, 7), LOHI(dst), LOHI(src), LOHI(size));
}

static void sem_wait(struct bb *b, uint32_t op, uint64_t va, uint32_t v)
{
	EMIT(b, UGPU_ISA_HDR(UGPU_OP_SEMAPHORE_WAIT, op, 4), LOHI(va), v);
}

static void add_u32(struct bb *b, uint64_t dst, uint64_t a, uint64_t x, uint32_t n)
{
	EMIT(b, UGPU_ISA_HDR(UGPU_OP_ADD_U32, 0, 8), LOHI(dst), LOHI(a), LOHI(x), n);
}

static void saxpy(struct bb *b, uint64_t y, uint64_t x, uint32_t n, float a)
{
	uint32_t bits;

	memcpy(&bits, &a, 4);
	EMIT(b, UGPU_ISA_HDR(UGPU_OP_SAXPY_F32, 0, 7), LOHI(y), LOHI(x), n, bits);
}

static void *map_anon(size_t len)
{
	void *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	ck_assert_ptr_ne(p, MAP_FAILED);
	return p;
}

static void map_host(uint64_t va, void *host, uint64_t size, uint32_t flags)
{
	struct dev_backing b = { .kind = DEV_BACKING_HOST, .host = host };

	ck_assert_int_eq(dev_vm_map(vm, va, size, &b, flags), 0);
}

static void setup(void)
{
	struct dev_config cfg = { .hang_timeout_ns = 30000000000ull };

	ck_assert_int_eq(dev_open("sim", &cfg, &d), 0);
	ck_assert_int_eq(dev_vm_create(d, &vm), 0);
	rw = map_anon(NPAGES * PAGE);
	ro = map_anon(RO_PAGES * PAGE);
	batch = map_anon(BATCH_BYTES);
	map_host(RW_VA, rw, NPAGES * PAGE, DEV_MAP_WRITE);
	map_host(RO_VA, ro, RO_PAGES * PAGE, 0);
	map_host(BATCH_VA, batch, BATCH_BYTES, 0);
}

static void teardown(void)
{
	dev_vm_destroy(vm);
	dev_close(d);
	munmap(rw, NPAGES * PAGE);
	munmap(ro, RO_PAGES * PAGE);
	munmap(batch, BATCH_BYTES);
}

/* Run the batch at @va (@len bytes) on @engine; return the job's result. */
static struct dev_job_result run_raw(uint32_t engine, uint64_t va, uint32_t len)
{
	struct dev_submit s = { .vm = vm, .engine = engine, .batch_va = va, .batch_len = len };
	struct dev_job_result r;
	uint64_t id;

	ck_assert_int_eq(dev_submit(d, &s, &id), 0);
	while (dev_reap(d, &r, 1) != 1)
		ck_assert_int_eq(dev_wait_completion(d, 10000), 1);
	ck_assert_uint_eq(r.id, id);
	return r;
}

static struct dev_job_result run_on(uint32_t engine, const struct bb *b)
{
	memcpy(batch, b->dw, b->n * 4);
	return run_raw(engine, BATCH_VA, b->n * 4);
}

static int run(const struct bb *b)
{
	return run_on(0, b).status;
}

static void expect_fault(const struct bb *b, uint64_t va, uint32_t kind, uint32_t flags)
{
	struct dev_job_result r = run_on(0, b);

	ck_assert_int_eq(r.status, -EFAULT);
	ck_assert_uint_eq(r.fault.va, va);
	ck_assert_uint_eq(r.fault.kind, kind);
	ck_assert_uint_eq(r.fault.flags, flags);
	ck_assert_uint_eq(r.fault.job_id, r.id);
}

static void pattern(uint8_t *p, size_t len, uint32_t seed)
{
	for (size_t i = 0; i < len; i++) {
		seed = seed * 1103515245u + 12345u;
		p[i] = seed >> 16;
	}
}

/* Bitwise reference, independent of the device's table or instruction. */
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

static uint32_t rd32(uint64_t va)
{
	uint32_t v;

	memcpy(&v, rw + (va - RW_VA), 4);
	return v;
}

/* ---- encoding ---- */

START_TEST(encode_header)
{
	uint32_t h = UGPU_ISA_HDR(UGPU_OP_SEMAPHORE_WAIT, UGPU_SEM_GTE, 4);

	ck_assert_uint_eq(h, 0x06030004u);
	ck_assert_uint_eq(UGPU_ISA_OP(h), UGPU_OP_SEMAPHORE_WAIT);
	ck_assert_uint_eq(UGPU_ISA_FLAGS(h), UGPU_SEM_GTE);
	ck_assert_uint_eq(UGPU_ISA_LEN(h), 4);
	ck_assert_uint_eq(UGPU_ISA_LEN(UGPU_ISA_HDR(0, 0, 0x12345)), 0x2345);
	ck_assert_uint_eq(UGPU_ISA_LO(0x123456789abcdef0ull), 0x9abcdef0u);
	ck_assert_uint_eq(UGPU_ISA_HI(0x123456789abcdef0ull), 0x12345678u);
	ck_assert_uint_eq(UGPU_ISA_U64(0x9abcdef0u, 0x12345678u), 0x123456789abcdef0ull);
	ck_assert_uint_eq(sizeof(struct ugpu_isa_add_u32) / 4, UGPU_ISA_MAX_CMD_LEN);
}
END_TEST

/* ---- NOP / BATCH_END ---- */

START_TEST(nop_padding)
{
	struct bb b = { .n = 0 };

	EMIT(&b, UGPU_ISA_HDR(UGPU_OP_NOP, 0, 1));
	EMIT(&b, UGPU_ISA_HDR(UGPU_OP_NOP, 0, 3), 0xdead, 0xbeef);
	store(&b, RW_VA, 7);
	end(&b);
	ck_assert_int_eq(run(&b), 0);
	ck_assert_uint_eq(rd32(RW_VA), 7);
}
END_TEST

/* A long NOP is skipped, not fetched: its payload may span an unmapped page. */
START_TEST(nop_payload_not_fetched)
{
	uint32_t *p = (uint32_t *)rw;	/* NOP on page 0, page 1 unmapped, END on 2 */

	ck_assert_int_eq(dev_vm_zap(vm, RW_VA + PAGE, PAGE), 0);
	p[0] = UGPU_ISA_HDR(UGPU_OP_NOP, 0, (2 * PAGE) / 4);
	p[(2 * PAGE) / 4] = UGPU_ISA_HDR(UGPU_OP_BATCH_END, 0, 1);
	ck_assert_int_eq(run_raw(0, RW_VA, 3 * PAGE).status, 0);
}
END_TEST

START_TEST(end_stops_execution)
{
	struct bb b = { .n = 0 };

	end(&b);
	store(&b, RW_VA, 9);
	ck_assert_int_eq(run(&b), 0);
	ck_assert_uint_eq(rd32(RW_VA), 0);
}
END_TEST

START_TEST(end_missing)
{
	struct bb b = { .n = 0 };

	store(&b, RW_VA, 5);
	ck_assert_int_eq(run(&b), -EINVAL);
	ck_assert_uint_eq(rd32(RW_VA), 5);	/* commands before it ran */
}
END_TEST

START_TEST(batch_fault)
{
	struct dev_job_result r = run_raw(0, HOLE_VA + 8, 64);

	ck_assert_int_eq(r.status, -EFAULT);
	ck_assert_uint_eq(r.fault.va, HOLE_VA + 8);
	ck_assert_uint_eq(r.fault.kind, DEV_FAULT_NOT_PRESENT);
	ck_assert_uint_eq(r.fault.flags, 0);
}
END_TEST

/* ---- STORE_DWORD ---- */

START_TEST(store_basic)
{
	struct bb b = { .n = 0 };

	store(&b, RW_VA + 8, 0x11223344u);
	store(&b, RW_END - 4, 0xa5a5a5a5u);	/* last dword of the window */
	end(&b);
	ck_assert_int_eq(run(&b), 0);
	ck_assert_uint_eq(rd32(RW_VA + 8), 0x11223344u);
	ck_assert_uint_eq(rd32(RW_END - 4), 0xa5a5a5a5u);
	ck_assert_uint_eq(rw[8], 0x44);		/* little-endian */
}
END_TEST

START_TEST(store_unaligned)
{
	struct bb b = { .n = 0 };

	store(&b, RW_VA + 2, 1);
	end(&b);
	ck_assert_int_eq(run(&b), -EINVAL);
	ck_assert_uint_eq(rd32(RW_VA), 0);
}
END_TEST

START_TEST(store_faults)
{
	struct bb b = { .n = 0 };

	store(&b, RW_END, 1);
	end(&b);
	expect_fault(&b, RW_END, DEV_FAULT_NOT_PRESENT, DEV_FAULT_F_WRITE);
	b.n = 0;
	store(&b, RO_VA + 3 * PAGE + 12, 1);
	end(&b);
	expect_fault(&b, RO_VA + 3 * PAGE + 12, DEV_FAULT_WRITE_RO, DEV_FAULT_F_WRITE);
	ck_assert_uint_eq(ro[3 * PAGE + 12], 0);
	b.n = 0;
	store(&b, 1ull << 48, 1);		/* past the VA space */
	end(&b);
	expect_fault(&b, 1ull << 48, DEV_FAULT_NOT_PRESENT, DEV_FAULT_F_WRITE);
}
END_TEST

/* ---- FILL ---- */

START_TEST(fill_unaligned_cross_page)
{
	struct bb b = { .n = 0 };
	uint64_t off = PAGE - 5, len = PAGE + 11;

	fill(&b, RW_VA + off, len, 0x44332211u);
	end(&b);
	ck_assert_int_eq(run(&b), 0);
	ck_assert_uint_eq(rw[off - 1], 0);
	for (uint64_t i = 0; i < len; i++)
		ck_assert_uint_eq(rw[off + i], 0x11 + 0x11 * (i % 4));
	ck_assert_uint_eq(rw[off + len], 0);
}
END_TEST

START_TEST(fill_zero_size)
{
	struct bb b = { .n = 0 };

	fill(&b, HOLE_VA, 0, 0xffffffffu);	/* touches nothing: no fault */
	fill(&b, RW_VA, 0, 0xffffffffu);
	end(&b);
	ck_assert_int_eq(run(&b), 0);
	ck_assert_uint_eq(rd32(RW_VA), 0);
}
END_TEST

START_TEST(fill_multi_chunk)
{
	struct bb b = { .n = 0 };
	uint64_t len = 3 * 1024 * 1024 + 7;

	fill(&b, RW_VA + 1, len, 0xcdcdcdcdu);	/* memset path */
	fill(&b, RW_VA + 2, 2, 0x01020304u);
	end(&b);
	ck_assert_int_eq(run(&b), 0);
	ck_assert_uint_eq(rw[0], 0);
	ck_assert_uint_eq(rw[1], 0xcd);
	ck_assert_uint_eq(rw[2], 0x04);
	ck_assert_uint_eq(rw[3], 0x03);
	ck_assert_uint_eq(rw[4], 0xcd);
	ck_assert_uint_eq(rw[len], 0xcd);
	ck_assert_uint_eq(rw[len + 1], 0);
}
END_TEST

START_TEST(fill_fault_first_bad_va)
{
	struct bb b = { .n = 0 };

	fill(&b, RW_END - 6, 10, 0x77777777u);
	end(&b);
	expect_fault(&b, RW_END, DEV_FAULT_NOT_PRESENT, DEV_FAULT_F_WRITE);
	for (int i = 1; i <= 6; i++)		/* the bytes below it were written */
		ck_assert_uint_eq(rw[NPAGES * PAGE - i], 0x77);
	b.n = 0;
	fill(&b, RO_VA + 100, 1, 0);
	end(&b);
	expect_fault(&b, RO_VA + 100, DEV_FAULT_WRITE_RO, DEV_FAULT_F_WRITE);
}
END_TEST

/* ---- COPY ---- */

START_TEST(copy_unaligned_cross_page)
{
	struct bb b = { .n = 0 };
	uint64_t src = 3, dst = 5 * PAGE - 1, len = 2 * PAGE + 3;

	pattern(rw, 4 * PAGE, 1);
	copy(&b, RW_VA + dst, RW_VA + src, len);
	end(&b);
	ck_assert_int_eq(run(&b), 0);
	ck_assert_mem_eq(rw + dst, rw + src, len);
	ck_assert_uint_eq(rw[dst + len], 0);
	ck_assert_uint_eq(rw[dst - 1], 0);
}
END_TEST

START_TEST(copy_zero_and_overlap)
{
	struct bb b = { .n = 0 };

	copy(&b, HOLE_VA, HOLE_VA, 0);		/* nothing, not even a check */
	end(&b);
	ck_assert_int_eq(run(&b), 0);
	b.n = 0;
	copy(&b, RW_VA + 100, RW_VA, 101);
	end(&b);
	ck_assert_int_eq(run(&b), -EINVAL);
	b.n = 0;
	copy(&b, RW_VA, RW_VA + 100, 101);
	end(&b);
	ck_assert_int_eq(run(&b), -EINVAL);
	b.n = 0;
	rw[0] = 0x5a;
	copy(&b, RW_VA + 100, RW_VA, 100);	/* touching is fine */
	end(&b);
	ck_assert_int_eq(run(&b), 0);
	ck_assert_uint_eq(rw[100], 0x5a);
}
END_TEST

/* Pages of the source mapped in scrambled order: runs break per page. */
START_TEST(copy_scattered_backing)
{
	uint8_t *src = map_anon(16 * PAGE);
	static const int order[16] = { 3, 0, 1, 2, 9, 10, 4, 15, 5, 6, 7, 8, 14, 11, 12, 13 };
	uint64_t va = 0x50000000ull;
	struct bb b = { .n = 0 };

	pattern(src, 16 * PAGE, 2);
	for (int i = 0; i < 16; i++)
		map_host(va + i * PAGE, src + order[i] * PAGE, PAGE, 0);
	copy(&b, RW_VA + 1, va + 7, 16 * PAGE - 7);
	end(&b);
	ck_assert_int_eq(run(&b), 0);
	for (int i = 0; i < 16; i++) {
		uint64_t from = i ? 0 : 7, n = PAGE - from;

		ck_assert_mem_eq(rw + 1 + i * PAGE + from - 7, src + order[i] * PAGE + from, n);
	}
	munmap(src, 16 * PAGE);
}
END_TEST

START_TEST(copy_multi_chunk)
{
	struct bb b = { .n = 0 };
	uint64_t len = 2 * 1024 * 1024 - 13;

	pattern(rw, len, 3);
	copy(&b, RW_VA + 2 * 1024 * 1024 - 1, RW_VA, len);
	end(&b);
	ck_assert_int_eq(run(&b), 0);
	ck_assert_mem_eq(rw + 2 * 1024 * 1024 - 1, rw, len);
}
END_TEST

START_TEST(copy_fault_first_bad_va)
{
	struct bb b = { .n = 0 };

	/* Source runs into the hole after the window: fault at RW_END. */
	pattern(rw + NPAGES * PAGE - 64, 64, 4);
	copy(&b, RW_VA, RW_END - 64, 128);
	end(&b);
	expect_fault(&b, RW_END, DEV_FAULT_NOT_PRESENT, 0);
	ck_assert_mem_eq(rw, rw + NPAGES * PAGE - 64, 64);
	/* Destination read-only from its first byte. */
	b.n = 0;
	copy(&b, RO_VA + 5, RW_VA, 16);
	end(&b);
	expect_fault(&b, RO_VA + 5, DEV_FAULT_WRITE_RO, DEV_FAULT_F_WRITE);
	/* Destination hits the hole earlier than the source does. */
	b.n = 0;
	copy(&b, RW_END - 10, RO_VA + RO_PAGES * PAGE - 20, 40);
	end(&b);
	expect_fault(&b, RW_END, DEV_FAULT_NOT_PRESENT, DEV_FAULT_F_WRITE);
	/* Both at offset 0: the source is reported. */
	b.n = 0;
	copy(&b, HOLE_VA + PAGE, HOLE_VA, 8);
	end(&b);
	expect_fault(&b, HOLE_VA, DEV_FAULT_NOT_PRESENT, 0);
}
END_TEST

/* ---- CHECKSUM ---- */

START_TEST(checksum_known_value)
{
	struct bb b = { .n = 0 };

	memcpy(rw + PAGE - 4, "123456789", 9);	/* unaligned, crosses a page */
	checksum(&b, RW_VA + 64, RW_VA + PAGE - 4, 9);
	checksum(&b, RW_VA + 68, HOLE_VA, 0);
	end(&b);
	rw[68] = 0xff;
	ck_assert_int_eq(run(&b), 0);
	ck_assert_uint_eq(rd32(RW_VA + 64), 0xe3069283u);
	ck_assert_uint_eq(rd32(RW_VA + 68), 0);
}
END_TEST

START_TEST(checksum_large)
{
	struct bb b = { .n = 0 };
	uint64_t len = 300 * 1024 + 3;

	pattern(rw + PAGE, len, 5);
	checksum(&b, RW_VA, RW_VA + PAGE, len);
	end(&b);
	ck_assert_int_eq(run(&b), 0);
	ck_assert_uint_eq(rd32(RW_VA), ref_crc32c(rw + PAGE, len));
}
END_TEST

START_TEST(checksum_errors)
{
	struct bb b = { .n = 0 };

	checksum(&b, RW_VA + 2, RW_VA, 4);
	end(&b);
	ck_assert_int_eq(run(&b), -EINVAL);
	b.n = 0;
	checksum(&b, RW_VA, RW_END - 3, 4);
	end(&b);
	expect_fault(&b, RW_END, DEV_FAULT_NOT_PRESENT, 0);
	b.n = 0;
	checksum(&b, RO_VA, RW_VA, 4);
	end(&b);
	expect_fault(&b, RO_VA, DEV_FAULT_WRITE_RO, DEV_FAULT_F_WRITE);
}
END_TEST

/* ---- SEMAPHORE_WAIT ---- */

START_TEST(sem_all_compares)
{
	static const struct { uint32_t op, want; } ok[] = {
		{ UGPU_SEM_EQ, 10 }, { UGPU_SEM_NE, 11 }, { UGPU_SEM_GT, 9 },
		{ UGPU_SEM_GTE, 10 }, { UGPU_SEM_LT, 11 }, { UGPU_SEM_LTE, 10 },
		{ UGPU_SEM_GT, 0 }, { UGPU_SEM_LT, 0xffffffffu },
	};
	struct bb b = { .n = 0 };

	memcpy(rw + 16, &(uint32_t){ 10 }, 4);
	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++)
		sem_wait(&b, ok[i].op, RW_VA + 16, ok[i].want);
	store(&b, RW_VA, 1);
	end(&b);
	ck_assert_int_eq(run(&b), 0);
	ck_assert_uint_eq(rd32(RW_VA), 1);
}
END_TEST

START_TEST(sem_errors)
{
	struct bb b = { .n = 0 };

	sem_wait(&b, UGPU_SEM_EQ, RW_VA + 2, 0);
	end(&b);
	ck_assert_int_eq(run(&b), -EINVAL);
	b.n = 0;
	sem_wait(&b, UGPU_SEM_LTE + 1, RW_VA, 0);
	end(&b);
	ck_assert_int_eq(run(&b), -EINVAL);
	b.n = 0;
	sem_wait(&b, UGPU_SEM_EQ, HOLE_VA + 4, 0);
	end(&b);
	expect_fault(&b, HOLE_VA + 4, DEV_FAULT_NOT_PRESENT, 0);
	b.n = 0;
	sem_wait(&b, UGPU_SEM_EQ, RO_VA, 0);	/* read-only is fine to wait on */
	end(&b);
	ck_assert_int_eq(run(&b), 0);
}
END_TEST

/* ---- TIMESTAMP ---- */

START_TEST(timestamp_basic)
{
	struct bb b = { .n = 0 };
	struct dev_job_result r;
	uint64_t t0, t1;

	EMIT(&b, UGPU_ISA_HDR(UGPU_OP_TIMESTAMP, 0, 3), LOHI(RW_VA + 8));
	EMIT(&b, UGPU_ISA_HDR(UGPU_OP_TIMESTAMP, 0, 3), LOHI(RW_VA + 16));
	end(&b);
	r = run_on(1, &b);
	ck_assert_int_eq(r.status, 0);
	memcpy(&t0, rw + 8, 8);
	memcpy(&t1, rw + 16, 8);
	ck_assert_uint_ge(t0, r.start_ns);
	ck_assert_uint_ge(t1, t0);
	ck_assert_uint_le(t1, r.end_ns);
	b.n = 0;
	EMIT(&b, UGPU_ISA_HDR(UGPU_OP_TIMESTAMP, 0, 3), LOHI(RW_VA + 4));
	end(&b);
	ck_assert_int_eq(run(&b), -EINVAL);
}
END_TEST

/* ---- ADD_U32 ---- */

START_TEST(add_basic_and_wrap)
{
	uint32_t *a = (uint32_t *)rw, *x = a + 4096, *dst = a + 8192;
	uint32_t n = 3000;		/* 12000 bytes: crosses pages */
	struct bb b = { .n = 0 };

	for (uint32_t i = 0; i < n; i++) {
		a[i] = i * 2654435761u;
		x[i] = 0xffffffffu - i;
	}
	add_u32(&b, RW_VA + 8192 * 4, RW_VA, RW_VA + 4096 * 4, n);
	add_u32(&b, RW_VA + 4096 * 4, RW_VA + 4096 * 4, RW_VA + 4096 * 4, 1); /* in place */
	add_u32(&b, HOLE_VA, HOLE_VA, HOLE_VA, 0);
	end(&b);
	ck_assert_int_eq(run(&b), 0);
	for (uint32_t i = 0; i < n; i++)
		ck_assert_uint_eq(dst[i], (uint32_t)(i * 2654435761u + 0xffffffffu - i));
	ck_assert_uint_eq(x[0], 0xfffffffeu);
	ck_assert_uint_eq(dst[n], 0);
}
END_TEST

START_TEST(add_large)
{
	uint32_t *a = (uint32_t *)rw, *x = a + 65536 * 3;
	uint32_t n = 65536 * 3;		/* 768 KiB each, several kernel blocks */
	struct bb b = { .n = 0 };

	for (uint32_t i = 0; i < n; i++) {
		a[i] = i;
		x[i] = 3 * i;
	}
	add_u32(&b, RW_VA, RW_VA, RW_VA + n * 4ull, n);
	end(&b);
	ck_assert_int_eq(run(&b), 0);
	for (uint32_t i = 0; i < n; i++)
		ck_assert_uint_eq(a[i], 4 * i);
}
END_TEST

START_TEST(add_errors)
{
	struct bb b = { .n = 0 };

	add_u32(&b, RW_VA, RW_VA + 1, RW_VA, 1);
	end(&b);
	ck_assert_int_eq(run(&b), -EINVAL);
	ck_assert_int_eq(run_on(1, &b).status, -EINVAL);
	b.n = 0;
	add_u32(&b, RW_VA, RW_VA, RW_VA, 1);
	end(&b);
	ck_assert_int_eq(run_on(1, &b).status, -EINVAL);	/* copy engine */
	b.n = 0;
	add_u32(&b, RW_VA, RW_VA, RW_END - 8, 4);
	end(&b);
	expect_fault(&b, RW_END, DEV_FAULT_NOT_PRESENT, 0);
	b.n = 0;
	add_u32(&b, RO_VA, RW_VA, RW_VA, 4);
	end(&b);
	expect_fault(&b, RO_VA, DEV_FAULT_WRITE_RO, DEV_FAULT_F_WRITE);
}
END_TEST

/* ---- SAXPY_F32 ---- */

START_TEST(saxpy_basic)
{
	float *x = (float *)(rw + PAGE - 8), *y = (float *)(rw + 3 * PAGE), want[2000];
	uint32_t n = 2000;
	float a = 1.5f;
	struct bb b = { .n = 0 };

	for (uint32_t i = 0; i < n; i++) {
		volatile float p;

		x[i] = (float)i / 7.0f;
		y[i] = 100.0f - (float)i * 0.25f;
		p = a * x[i];
		want[i] = p + y[i];
	}
	saxpy(&b, RW_VA + 3 * PAGE, RW_VA + PAGE - 8, n, a);
	saxpy(&b, HOLE_VA, HOLE_VA, 0, a);
	end(&b);
	ck_assert_int_eq(run(&b), 0);
	ck_assert_mem_eq(y, want, n * 4);
}
END_TEST

START_TEST(saxpy_errors)
{
	struct bb b = { .n = 0 };

	saxpy(&b, RW_VA + 2, RW_VA + 64, 1, 1.0f);
	end(&b);
	ck_assert_int_eq(run(&b), -EINVAL);
	b.n = 0;
	saxpy(&b, RW_VA, RW_VA + 64, 1, 1.0f);
	end(&b);
	ck_assert_int_eq(run_on(1, &b).status, -EINVAL);
	b.n = 0;
	saxpy(&b, RO_VA, RW_VA, 1, 1.0f);
	end(&b);
	expect_fault(&b, RO_VA, DEV_FAULT_WRITE_RO, DEV_FAULT_F_WRITE);
}
END_TEST

/* ---- invalid commands ---- */

START_TEST(invalid_commands)
{
	static const uint32_t bad[][2] = {
		{ 0, 0 },					/* zero dword */
		{ UGPU_ISA_HDR(0x7f, 0, 1), 0 },		/* unknown opcode */
		{ UGPU_ISA_HDR(UGPU_OP_NOP, 1, 1), 0 },		/* NOP with flags */
		{ UGPU_ISA_HDR(UGPU_OP_BATCH_END, 0, 2), 0 },	/* wrong length */
		{ UGPU_ISA_HDR(UGPU_OP_BATCH_END, 1, 1), 0 },	/* undefined flag */
		{ UGPU_ISA_HDR(UGPU_OP_STORE_DWORD, 0, 4), 0 },	/* past batch_len */
	};

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct bb b = { .n = 0 };

		emit(&b, 1, bad[i]);
		if (i != 5)
			end(&b);
		ck_assert_int_eq(run(&b), -EINVAL);
	}
}
END_TEST

static Suite *isa_suite(void)
{
	Suite *s = suite_create("isa");
	TCase *tc;

#define TC(name, ...)							\
	do {								\
		tc = tcase_create(name);				\
		tcase_set_timeout(tc, 20);				\
		tcase_add_checked_fixture(tc, setup, teardown);		\
		__VA_ARGS__						\
		suite_add_tcase(s, tc);					\
	} while (0)

	tc = tcase_create("encoding");
	tcase_add_test(tc, encode_header);
	suite_add_tcase(s, tc);
	TC("nop_end", tcase_add_test(tc, nop_padding);
	   tcase_add_test(tc, nop_payload_not_fetched);
	   tcase_add_test(tc, end_stops_execution);
	   tcase_add_test(tc, end_missing);
	   tcase_add_test(tc, batch_fault););
	TC("store_dword", tcase_add_test(tc, store_basic);
	   tcase_add_test(tc, store_unaligned);
	   tcase_add_test(tc, store_faults););
	TC("fill", tcase_add_test(tc, fill_unaligned_cross_page);
	   tcase_add_test(tc, fill_zero_size);
	   tcase_add_test(tc, fill_multi_chunk);
	   tcase_add_test(tc, fill_fault_first_bad_va););
	TC("copy", tcase_add_test(tc, copy_unaligned_cross_page);
	   tcase_add_test(tc, copy_zero_and_overlap);
	   tcase_add_test(tc, copy_scattered_backing);
	   tcase_add_test(tc, copy_multi_chunk);
	   tcase_add_test(tc, copy_fault_first_bad_va););
	TC("checksum", tcase_add_test(tc, checksum_known_value);
	   tcase_add_test(tc, checksum_large);
	   tcase_add_test(tc, checksum_errors););
	TC("semaphore_wait", tcase_add_test(tc, sem_all_compares);
	   tcase_add_test(tc, sem_errors););
	TC("timestamp", tcase_add_test(tc, timestamp_basic););
	TC("add_u32", tcase_add_test(tc, add_basic_and_wrap);
	   tcase_add_test(tc, add_large);
	   tcase_add_test(tc, add_errors););
	TC("saxpy_f32", tcase_add_test(tc, saxpy_basic);
	   tcase_add_test(tc, saxpy_errors););
	TC("invalid", tcase_add_test(tc, invalid_commands););
#undef TC
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(isa_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
