// SPDX-License-Identifier: MIT
/*
 * The ISA suites' harness (isa_harness.h): the sim device and its
 * windows, the batch builder and encoders, running a batch.
 */
#include <check.h>
#include <errno.h>
#include <string.h>
#include <sys/mman.h>

#include "tests/lib/isa_harness.h"

struct isa_fixture ISA;

void isa_emit(struct bb *b, unsigned int n, const uint32_t *dw)
{
	ck_assert_uint_le(b->n + n, 256);
	memcpy(&b->dw[b->n], dw, n * 4);
	b->n += n;
}

void isa_end(struct bb *b)
{
	EMIT(b, UGPU_ISA_HDR(UGPU_OP_BATCH_END, 0, 1));
}

void isa_store(struct bb *b, uint64_t va, uint32_t v)
{
	EMIT(b, UGPU_ISA_HDR(UGPU_OP_STORE_DWORD, 0, 4), LOHI(va), v);
}

void isa_fill(struct bb *b, uint64_t va, uint64_t size, uint32_t v)
{
	EMIT(b, UGPU_ISA_HDR(UGPU_OP_FILL, 0, 6), LOHI(va), LOHI(size), v);
}

void isa_copy(struct bb *b, uint64_t dst, uint64_t src, uint64_t size)
{
	EMIT(b, UGPU_ISA_HDR(UGPU_OP_COPY, 0, 7), LOHI(dst), LOHI(src), LOHI(size));
}

void isa_checksum(struct bb *b, uint64_t dst, uint64_t src, uint64_t size)
{
	EMIT(b, UGPU_ISA_HDR(UGPU_OP_CHECKSUM, 0, 7), LOHI(dst), LOHI(src), LOHI(size));
}

void isa_sem_wait(struct bb *b, uint32_t op, uint64_t va, uint32_t v)
{
	EMIT(b, UGPU_ISA_HDR(UGPU_OP_SEMAPHORE_WAIT, op, 4), LOHI(va), v);
}

void isa_add_u32(struct bb *b, uint64_t dst, uint64_t a, uint64_t x, uint32_t n)
{
	EMIT(b, UGPU_ISA_HDR(UGPU_OP_ADD_U32, 0, 8), LOHI(dst), LOHI(a), LOHI(x), n);
}

void isa_saxpy(struct bb *b, uint64_t y, uint64_t x, uint32_t n, float a)
{
	uint32_t bits;

	memcpy(&bits, &a, 4);
	EMIT(b, UGPU_ISA_HDR(UGPU_OP_SAXPY_F32, 0, 7), LOHI(y), LOHI(x), n, bits);
}

void *isa_map_anon(size_t len)
{
	void *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	ck_assert_ptr_ne(p, MAP_FAILED);
	return p;
}

void isa_map_host(uint64_t va, void *host, uint64_t size, uint32_t flags)
{
	struct dev_backing b = { .kind = DEV_BACKING_HOST, .host = host };

	ck_assert_int_eq(dev_vm_map(ISA.vm, va, size, &b, flags), 0);
}

void isa_setup(void)
{
	struct dev_config cfg = { .hang_timeout_ns = 30000000000ull };

	ck_assert_int_eq(dev_open("sim", &cfg, &ISA.d), 0);
	ck_assert_int_eq(dev_vm_create(ISA.d, &ISA.vm), 0);
	ISA.rw = isa_map_anon(NPAGES * PAGE);
	ISA.ro = isa_map_anon(RO_PAGES * PAGE);
	ISA.batch = isa_map_anon(BATCH_BYTES);
	isa_map_host(RW_VA, ISA.rw, NPAGES * PAGE, DEV_MAP_WRITE);
	isa_map_host(RO_VA, ISA.ro, RO_PAGES * PAGE, 0);
	isa_map_host(BATCH_VA, ISA.batch, BATCH_BYTES, 0);
}

void isa_teardown(void)
{
	dev_vm_destroy(ISA.vm);
	dev_close(ISA.d);
	munmap(ISA.rw, NPAGES * PAGE);
	munmap(ISA.ro, RO_PAGES * PAGE);
	munmap(ISA.batch, BATCH_BYTES);
}

struct dev_job_result isa_run_raw(uint32_t engine, uint64_t va, uint32_t len)
{
	struct dev_submit s = { .vm = ISA.vm, .engine = engine, .batch_va = va, .batch_len = len };
	struct dev_job_result r;
	uint64_t id;

	ck_assert_int_eq(dev_submit(ISA.d, &s, &id), 0);
	while (dev_reap(ISA.d, &r, 1) != 1)
		ck_assert_int_eq(dev_wait_completion(ISA.d, 10000), 1);
	ck_assert_uint_eq(r.id, id);
	return r;
}

struct dev_job_result isa_run_on(uint32_t engine, const struct bb *b)
{
	memcpy(ISA.batch, b->dw, b->n * 4);
	return isa_run_raw(engine, BATCH_VA, b->n * 4);
}

int isa_run(const struct bb *b)
{
	return isa_run_on(0, b).status;
}

void isa_expect_fault(const struct bb *b, uint64_t va, uint32_t kind, uint32_t flags)
{
	struct dev_job_result r = isa_run_on(0, b);

	ck_assert_int_eq(r.status, -EFAULT);
	ck_assert_uint_eq(r.fault.va, va);
	ck_assert_uint_eq(r.fault.kind, kind);
	ck_assert_uint_eq(r.fault.flags, flags);
	ck_assert_uint_eq(r.fault.job_id, r.id);
}

void isa_pattern(uint8_t *p, size_t len, uint32_t seed)
{
	for (size_t i = 0; i < len; i++) {
		seed = seed * 1103515245u + 12345u;
		p[i] = seed >> 16;
	}
}

uint32_t isa_rd32(uint64_t va)
{
	uint32_t v;

	memcpy(&v, ISA.rw + (va - RW_VA), 4);
	return v;
}
