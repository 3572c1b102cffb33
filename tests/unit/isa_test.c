/* SPDX-License-Identifier: MIT */
/*
 * Check suite for the ISA of uapi/ugpu_isa.h as the sim executes it: the
 * header encoding, then one TCase per command that does not move memory
 * ranges (NOP, BATCH_END, SEMAPHORE_WAIT, TIMESTAMP, ADD_U32, SAXPY_F32)
 * covering zero sizes, unaligned operands, ranges crossing pages and the
 * exact first faulting VA, and one for invalid commands. STORE_DWORD,
 * FILL, COPY and CHECKSUM are in isa_memory_test.c. Every job runs on a
 * real sim device over daemon memory (tests/lib/isa_harness.c).
 */
#include <check.h>
#include <errno.h>
#include <string.h>

#include "dev/dev.h"
#include "tests/lib/isa_harness.h"
#include "tests/lib/suite.h"
#include "uapi/ugpu_isa.h"

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
	isa_store(&b, RW_VA, 7);
	isa_end(&b);
	ck_assert_int_eq(isa_run(&b), 0);
	ck_assert_uint_eq(isa_rd32(RW_VA), 7);
}
END_TEST

/* A long NOP is skipped, not fetched: its payload may span an unmapped page. */
START_TEST(nop_payload_not_fetched)
{
	uint32_t *p = (uint32_t *)ISA.rw;	/* NOP on page 0, page 1 unmapped, END on 2 */

	ck_assert_int_eq(dev_vm_zap(ISA.vm, RW_VA + PAGE, PAGE), 0);
	p[0] = UGPU_ISA_HDR(UGPU_OP_NOP, 0, (2 * PAGE) / 4);
	p[(2 * PAGE) / 4] = UGPU_ISA_HDR(UGPU_OP_BATCH_END, 0, 1);
	ck_assert_int_eq(isa_run_raw(0, RW_VA, 3 * PAGE).status, 0);
}
END_TEST

START_TEST(end_stops_execution)
{
	struct bb b = { .n = 0 };

	isa_end(&b);
	isa_store(&b, RW_VA, 9);
	ck_assert_int_eq(isa_run(&b), 0);
	ck_assert_uint_eq(isa_rd32(RW_VA), 0);
}
END_TEST

START_TEST(end_missing)
{
	struct bb b = { .n = 0 };

	isa_store(&b, RW_VA, 5);
	ck_assert_int_eq(isa_run(&b), -EINVAL);
	ck_assert_uint_eq(isa_rd32(RW_VA), 5);	/* commands before it ran */
}
END_TEST

START_TEST(batch_fault)
{
	struct dev_job_result r = isa_run_raw(0, HOLE_VA + 8, 64);

	ck_assert_int_eq(r.status, -EFAULT);
	ck_assert_uint_eq(r.fault.va, HOLE_VA + 8);
	ck_assert_uint_eq(r.fault.kind, DEV_FAULT_NOT_PRESENT);
	ck_assert_uint_eq(r.fault.flags, 0);
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

	memcpy(ISA.rw + 16, &(uint32_t){ 10 }, 4);
	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++)
		isa_sem_wait(&b, ok[i].op, RW_VA + 16, ok[i].want);
	isa_store(&b, RW_VA, 1);
	isa_end(&b);
	ck_assert_int_eq(isa_run(&b), 0);
	ck_assert_uint_eq(isa_rd32(RW_VA), 1);
}
END_TEST

START_TEST(sem_errors)
{
	struct bb b = { .n = 0 };

	isa_sem_wait(&b, UGPU_SEM_EQ, RW_VA + 2, 0);
	isa_end(&b);
	ck_assert_int_eq(isa_run(&b), -EINVAL);
	b.n = 0;
	isa_sem_wait(&b, UGPU_SEM_LTE + 1, RW_VA, 0);
	isa_end(&b);
	ck_assert_int_eq(isa_run(&b), -EINVAL);
	b.n = 0;
	isa_sem_wait(&b, UGPU_SEM_EQ, HOLE_VA + 4, 0);
	isa_end(&b);
	isa_expect_fault(&b, HOLE_VA + 4, DEV_FAULT_NOT_PRESENT, 0);
	b.n = 0;
	isa_sem_wait(&b, UGPU_SEM_EQ, RO_VA, 0);	/* read-only is fine to wait on */
	isa_end(&b);
	ck_assert_int_eq(isa_run(&b), 0);
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
	isa_end(&b);
	r = isa_run_on(1, &b);
	ck_assert_int_eq(r.status, 0);
	memcpy(&t0, ISA.rw + 8, 8);
	memcpy(&t1, ISA.rw + 16, 8);
	ck_assert_uint_ge(t0, r.start_ns);
	ck_assert_uint_ge(t1, t0);
	ck_assert_uint_le(t1, r.end_ns);
	b.n = 0;
	EMIT(&b, UGPU_ISA_HDR(UGPU_OP_TIMESTAMP, 0, 3), LOHI(RW_VA + 4));
	isa_end(&b);
	ck_assert_int_eq(isa_run(&b), -EINVAL);
}
END_TEST

/* ---- ADD_U32 ---- */

START_TEST(add_basic_and_wrap)
{
	uint32_t *a = (uint32_t *)ISA.rw, *x = a + 4096, *dst = a + 8192;
	uint32_t n = 3000;		/* 12000 bytes: crosses pages */
	struct bb b = { .n = 0 };

	for (uint32_t i = 0; i < n; i++) {
		a[i] = i * 2654435761u;
		x[i] = 0xffffffffu - i;
	}
	isa_add_u32(&b, RW_VA + 8192 * 4, RW_VA, RW_VA + 4096 * 4, n);
	isa_add_u32(&b, RW_VA + 4096 * 4, RW_VA + 4096 * 4, RW_VA + 4096 * 4, 1); /* in place */
	isa_add_u32(&b, HOLE_VA, HOLE_VA, HOLE_VA, 0);
	isa_end(&b);
	ck_assert_int_eq(isa_run(&b), 0);
	for (uint32_t i = 0; i < n; i++)
		ck_assert_uint_eq(dst[i], (uint32_t)(i * 2654435761u + 0xffffffffu - i));
	ck_assert_uint_eq(x[0], 0xfffffffeu);
	ck_assert_uint_eq(dst[n], 0);
}
END_TEST

START_TEST(add_large)
{
	uint32_t *a = (uint32_t *)ISA.rw, *x = a + 65536 * 3;
	uint32_t n = 65536 * 3;		/* 768 KiB each, several kernel blocks */
	struct bb b = { .n = 0 };

	for (uint32_t i = 0; i < n; i++) {
		a[i] = i;
		x[i] = 3 * i;
	}
	isa_add_u32(&b, RW_VA, RW_VA, RW_VA + n * 4ull, n);
	isa_end(&b);
	ck_assert_int_eq(isa_run(&b), 0);
	for (uint32_t i = 0; i < n; i++)
		ck_assert_uint_eq(a[i], 4 * i);
}
END_TEST

START_TEST(add_errors)
{
	struct bb b = { .n = 0 };

	isa_add_u32(&b, RW_VA, RW_VA + 1, RW_VA, 1);
	isa_end(&b);
	ck_assert_int_eq(isa_run(&b), -EINVAL);
	ck_assert_int_eq(isa_run_on(1, &b).status, -EINVAL);
	b.n = 0;
	isa_add_u32(&b, RW_VA, RW_VA, RW_VA, 1);
	isa_end(&b);
	ck_assert_int_eq(isa_run_on(1, &b).status, -EINVAL);	/* copy engine */
	b.n = 0;
	isa_add_u32(&b, RW_VA, RW_VA, RW_END - 8, 4);
	isa_end(&b);
	isa_expect_fault(&b, RW_END, DEV_FAULT_NOT_PRESENT, 0);
	b.n = 0;
	isa_add_u32(&b, RO_VA, RW_VA, RW_VA, 4);
	isa_end(&b);
	isa_expect_fault(&b, RO_VA, DEV_FAULT_WRITE_RO, DEV_FAULT_F_WRITE);
}
END_TEST

/* ---- SAXPY_F32 ---- */

START_TEST(saxpy_basic)
{
	float *x = (float *)(ISA.rw + PAGE - 8), *y = (float *)(ISA.rw + 3 * PAGE), want[2000];
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
	isa_saxpy(&b, RW_VA + 3 * PAGE, RW_VA + PAGE - 8, n, a);
	isa_saxpy(&b, HOLE_VA, HOLE_VA, 0, a);
	isa_end(&b);
	ck_assert_int_eq(isa_run(&b), 0);
	ck_assert_mem_eq(y, want, n * 4);
}
END_TEST

START_TEST(saxpy_errors)
{
	struct bb b = { .n = 0 };

	isa_saxpy(&b, RW_VA + 2, RW_VA + 64, 1, 1.0f);
	isa_end(&b);
	ck_assert_int_eq(isa_run(&b), -EINVAL);
	b.n = 0;
	isa_saxpy(&b, RW_VA, RW_VA + 64, 1, 1.0f);
	isa_end(&b);
	ck_assert_int_eq(isa_run_on(1, &b).status, -EINVAL);
	b.n = 0;
	isa_saxpy(&b, RO_VA, RW_VA, 1, 1.0f);
	isa_end(&b);
	isa_expect_fault(&b, RO_VA, DEV_FAULT_WRITE_RO, DEV_FAULT_F_WRITE);
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

		isa_emit(&b, 1, bad[i]);
		if (i != 5)
			isa_end(&b);
		ck_assert_int_eq(isa_run(&b), -EINVAL);
	}
}
END_TEST

static Suite *isa_suite(void)
{
	Suite *s = suite_create("isa");
	TCase *tc;

	tc = tu_tcase(s, "encoding", 0, NULL, NULL);
	tcase_add_test(tc, encode_header);
	tc = tu_tcase(s, "nop_end", 20, isa_setup, isa_teardown);
	tcase_add_test(tc, nop_padding);
	tcase_add_test(tc, nop_payload_not_fetched);
	tcase_add_test(tc, end_stops_execution);
	tcase_add_test(tc, end_missing);
	tcase_add_test(tc, batch_fault);
	tc = tu_tcase(s, "semaphore_wait", 20, isa_setup, isa_teardown);
	tcase_add_test(tc, sem_all_compares);
	tcase_add_test(tc, sem_errors);
	tc = tu_tcase(s, "timestamp", 20, isa_setup, isa_teardown);
	tcase_add_test(tc, timestamp_basic);
	tc = tu_tcase(s, "add_u32", 20, isa_setup, isa_teardown);
	tcase_add_test(tc, add_basic_and_wrap);
	tcase_add_test(tc, add_large);
	tcase_add_test(tc, add_errors);
	tc = tu_tcase(s, "saxpy_f32", 20, isa_setup, isa_teardown);
	tcase_add_test(tc, saxpy_basic);
	tcase_add_test(tc, saxpy_errors);
	tc = tu_tcase(s, "invalid", 20, isa_setup, isa_teardown);
	tcase_add_test(tc, invalid_commands);
	return s;
}

int main(void)
{
	return tu_run_suite(isa_suite());
}
