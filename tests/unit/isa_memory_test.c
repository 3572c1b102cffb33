/* SPDX-License-Identifier: MIT */
/*
 * Check suite for the ISA commands of uapi/ugpu_isa.h that write and read
 * memory ranges, as the sim executes them: one TCase each for
 * STORE_DWORD, FILL, COPY and CHECKSUM, covering zero sizes, unaligned
 * operands, overlap, ranges crossing pages, chunks and scattered
 * backing, and the exact first faulting VA. Every job runs on a real sim
 * device over daemon memory (tests/lib/isa_harness.c); the other
 * commands are in isa_test.c.
 */
#include <check.h>
#include <errno.h>
#include <string.h>
#include <sys/mman.h>

#include "dev/dev.h"
#include "tests/lib/isa_harness.h"
#include "tests/lib/suite.h"
#include "uapi/ugpu_isa.h"

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

/* ---- STORE_DWORD ---- */

START_TEST(store_basic)
{
	struct bb b = { .n = 0 };

	isa_store(&b, RW_VA + 8, 0x11223344u);
	isa_store(&b, RW_END - 4, 0xa5a5a5a5u);	/* last dword of the window */
	isa_end(&b);
	ck_assert_int_eq(isa_run(&b), 0);
	ck_assert_uint_eq(isa_rd32(RW_VA + 8), 0x11223344u);
	ck_assert_uint_eq(isa_rd32(RW_END - 4), 0xa5a5a5a5u);
	ck_assert_uint_eq(ISA.rw[8], 0x44);		/* little-endian */
}
END_TEST

START_TEST(store_unaligned)
{
	struct bb b = { .n = 0 };

	isa_store(&b, RW_VA + 2, 1);
	isa_end(&b);
	ck_assert_int_eq(isa_run(&b), -EINVAL);
	ck_assert_uint_eq(isa_rd32(RW_VA), 0);
}
END_TEST

START_TEST(store_faults)
{
	struct bb b = { .n = 0 };

	isa_store(&b, RW_END, 1);
	isa_end(&b);
	isa_expect_fault(&b, RW_END, DEV_FAULT_NOT_PRESENT, DEV_FAULT_F_WRITE);
	b.n = 0;
	isa_store(&b, RO_VA + 3 * PAGE + 12, 1);
	isa_end(&b);
	isa_expect_fault(&b, RO_VA + 3 * PAGE + 12, DEV_FAULT_WRITE_RO, DEV_FAULT_F_WRITE);
	ck_assert_uint_eq(ISA.ro[3 * PAGE + 12], 0);
	b.n = 0;
	isa_store(&b, 1ull << 48, 1);		/* past the VA space */
	isa_end(&b);
	isa_expect_fault(&b, 1ull << 48, DEV_FAULT_NOT_PRESENT, DEV_FAULT_F_WRITE);
}
END_TEST

/* ---- FILL ---- */

START_TEST(fill_unaligned_cross_page)
{
	struct bb b = { .n = 0 };
	uint64_t off = PAGE - 5, len = PAGE + 11;

	isa_fill(&b, RW_VA + off, len, 0x44332211u);
	isa_end(&b);
	ck_assert_int_eq(isa_run(&b), 0);
	ck_assert_uint_eq(ISA.rw[off - 1], 0);
	for (uint64_t i = 0; i < len; i++)
		ck_assert_uint_eq(ISA.rw[off + i], 0x11 + 0x11 * (i % 4));
	ck_assert_uint_eq(ISA.rw[off + len], 0);
}
END_TEST

START_TEST(fill_zero_size)
{
	struct bb b = { .n = 0 };

	isa_fill(&b, HOLE_VA, 0, 0xffffffffu);	/* touches nothing: no fault */
	isa_fill(&b, RW_VA, 0, 0xffffffffu);
	isa_end(&b);
	ck_assert_int_eq(isa_run(&b), 0);
	ck_assert_uint_eq(isa_rd32(RW_VA), 0);
}
END_TEST

START_TEST(fill_multi_chunk)
{
	struct bb b = { .n = 0 };
	uint64_t len = 3 * 1024 * 1024 + 7;

	isa_fill(&b, RW_VA + 1, len, 0xcdcdcdcdu);	/* memset path */
	isa_fill(&b, RW_VA + 2, 2, 0x01020304u);
	isa_end(&b);
	ck_assert_int_eq(isa_run(&b), 0);
	ck_assert_uint_eq(ISA.rw[0], 0);
	ck_assert_uint_eq(ISA.rw[1], 0xcd);
	ck_assert_uint_eq(ISA.rw[2], 0x04);
	ck_assert_uint_eq(ISA.rw[3], 0x03);
	ck_assert_uint_eq(ISA.rw[4], 0xcd);
	ck_assert_uint_eq(ISA.rw[len], 0xcd);
	ck_assert_uint_eq(ISA.rw[len + 1], 0);
}
END_TEST

START_TEST(fill_fault_first_bad_va)
{
	struct bb b = { .n = 0 };

	isa_fill(&b, RW_END - 6, 10, 0x77777777u);
	isa_end(&b);
	isa_expect_fault(&b, RW_END, DEV_FAULT_NOT_PRESENT, DEV_FAULT_F_WRITE);
	for (int i = 1; i <= 6; i++)		/* the bytes below it were written */
		ck_assert_uint_eq(ISA.rw[NPAGES * PAGE - i], 0x77);
	b.n = 0;
	isa_fill(&b, RO_VA + 100, 1, 0);
	isa_end(&b);
	isa_expect_fault(&b, RO_VA + 100, DEV_FAULT_WRITE_RO, DEV_FAULT_F_WRITE);
}
END_TEST

/* ---- COPY ---- */

START_TEST(copy_unaligned_cross_page)
{
	struct bb b = { .n = 0 };
	uint64_t src = 3, dst = 5 * PAGE - 1, len = 2 * PAGE + 3;

	isa_pattern(ISA.rw, 4 * PAGE, 1);
	isa_copy(&b, RW_VA + dst, RW_VA + src, len);
	isa_end(&b);
	ck_assert_int_eq(isa_run(&b), 0);
	ck_assert_mem_eq(ISA.rw + dst, ISA.rw + src, len);
	ck_assert_uint_eq(ISA.rw[dst + len], 0);
	ck_assert_uint_eq(ISA.rw[dst - 1], 0);
}
END_TEST

START_TEST(copy_zero_and_overlap)
{
	struct bb b = { .n = 0 };

	isa_copy(&b, HOLE_VA, HOLE_VA, 0);		/* nothing, not even a check */
	isa_end(&b);
	ck_assert_int_eq(isa_run(&b), 0);
	b.n = 0;
	isa_copy(&b, RW_VA + 100, RW_VA, 101);
	isa_end(&b);
	ck_assert_int_eq(isa_run(&b), -EINVAL);
	b.n = 0;
	isa_copy(&b, RW_VA, RW_VA + 100, 101);
	isa_end(&b);
	ck_assert_int_eq(isa_run(&b), -EINVAL);
	b.n = 0;
	ISA.rw[0] = 0x5a;
	isa_copy(&b, RW_VA + 100, RW_VA, 100);	/* touching is fine */
	isa_end(&b);
	ck_assert_int_eq(isa_run(&b), 0);
	ck_assert_uint_eq(ISA.rw[100], 0x5a);
}
END_TEST

/* Pages of the source mapped in scrambled order: runs break per page. */
START_TEST(copy_scattered_backing)
{
	uint8_t *src = isa_map_anon(16 * PAGE);
	static const int order[16] = { 3, 0, 1, 2, 9, 10, 4, 15, 5, 6, 7, 8, 14, 11, 12, 13 };
	uint64_t va = 0x50000000ull;
	struct bb b = { .n = 0 };

	isa_pattern(src, 16 * PAGE, 2);
	for (int i = 0; i < 16; i++)
		isa_map_host(va + i * PAGE, src + order[i] * PAGE, PAGE, 0);
	isa_copy(&b, RW_VA + 1, va + 7, 16 * PAGE - 7);
	isa_end(&b);
	ck_assert_int_eq(isa_run(&b), 0);
	for (int i = 0; i < 16; i++) {
		uint64_t from = i ? 0 : 7, n = PAGE - from;

		ck_assert_mem_eq(ISA.rw + 1 + i * PAGE + from - 7, src + order[i] * PAGE + from, n);
	}
	munmap(src, 16 * PAGE);
}
END_TEST

START_TEST(copy_multi_chunk)
{
	struct bb b = { .n = 0 };
	uint64_t len = 2 * 1024 * 1024 - 13;

	isa_pattern(ISA.rw, len, 3);
	isa_copy(&b, RW_VA + 2 * 1024 * 1024 - 1, RW_VA, len);
	isa_end(&b);
	ck_assert_int_eq(isa_run(&b), 0);
	ck_assert_mem_eq(ISA.rw + 2 * 1024 * 1024 - 1, ISA.rw, len);
}
END_TEST

START_TEST(copy_fault_first_bad_va)
{
	struct bb b = { .n = 0 };

	/* Source runs into the hole after the window: fault at RW_END. */
	isa_pattern(ISA.rw + NPAGES * PAGE - 64, 64, 4);
	isa_copy(&b, RW_VA, RW_END - 64, 128);
	isa_end(&b);
	isa_expect_fault(&b, RW_END, DEV_FAULT_NOT_PRESENT, 0);
	ck_assert_mem_eq(ISA.rw, ISA.rw + NPAGES * PAGE - 64, 64);
	/* Destination read-only from its first byte. */
	b.n = 0;
	isa_copy(&b, RO_VA + 5, RW_VA, 16);
	isa_end(&b);
	isa_expect_fault(&b, RO_VA + 5, DEV_FAULT_WRITE_RO, DEV_FAULT_F_WRITE);
	/* Destination hits the hole earlier than the source does. */
	b.n = 0;
	isa_copy(&b, RW_END - 10, RO_VA + RO_PAGES * PAGE - 20, 40);
	isa_end(&b);
	isa_expect_fault(&b, RW_END, DEV_FAULT_NOT_PRESENT, DEV_FAULT_F_WRITE);
	/* Both at offset 0: the source is reported. */
	b.n = 0;
	isa_copy(&b, HOLE_VA + PAGE, HOLE_VA, 8);
	isa_end(&b);
	isa_expect_fault(&b, HOLE_VA, DEV_FAULT_NOT_PRESENT, 0);
}
END_TEST

/* ---- CHECKSUM ---- */

START_TEST(checksum_known_value)
{
	struct bb b = { .n = 0 };

	memcpy(ISA.rw + PAGE - 4, "123456789", 9);	/* unaligned, crosses a page */
	isa_checksum(&b, RW_VA + 64, RW_VA + PAGE - 4, 9);
	isa_checksum(&b, RW_VA + 68, HOLE_VA, 0);
	isa_end(&b);
	ISA.rw[68] = 0xff;
	ck_assert_int_eq(isa_run(&b), 0);
	ck_assert_uint_eq(isa_rd32(RW_VA + 64), 0xe3069283u);
	ck_assert_uint_eq(isa_rd32(RW_VA + 68), 0);
}
END_TEST

START_TEST(checksum_large)
{
	struct bb b = { .n = 0 };
	uint64_t len = 300 * 1024 + 3;

	isa_pattern(ISA.rw + PAGE, len, 5);
	isa_checksum(&b, RW_VA, RW_VA + PAGE, len);
	isa_end(&b);
	ck_assert_int_eq(isa_run(&b), 0);
	ck_assert_uint_eq(isa_rd32(RW_VA), ref_crc32c(ISA.rw + PAGE, len));
}
END_TEST

START_TEST(checksum_errors)
{
	struct bb b = { .n = 0 };

	isa_checksum(&b, RW_VA + 2, RW_VA, 4);
	isa_end(&b);
	ck_assert_int_eq(isa_run(&b), -EINVAL);
	b.n = 0;
	isa_checksum(&b, RW_VA, RW_END - 3, 4);
	isa_end(&b);
	isa_expect_fault(&b, RW_END, DEV_FAULT_NOT_PRESENT, 0);
	b.n = 0;
	isa_checksum(&b, RO_VA, RW_VA, 4);
	isa_end(&b);
	isa_expect_fault(&b, RO_VA, DEV_FAULT_WRITE_RO, DEV_FAULT_F_WRITE);
}
END_TEST

static Suite *isa_memory_suite(void)
{
	Suite *s = suite_create("isa_memory");
	TCase *tc;

	tc = tu_tcase(s, "store_dword", 20, isa_setup, isa_teardown);
	tcase_add_test(tc, store_basic);
	tcase_add_test(tc, store_unaligned);
	tcase_add_test(tc, store_faults);
	tc = tu_tcase(s, "fill", 20, isa_setup, isa_teardown);
	tcase_add_test(tc, fill_unaligned_cross_page);
	tcase_add_test(tc, fill_zero_size);
	tcase_add_test(tc, fill_multi_chunk);
	tcase_add_test(tc, fill_fault_first_bad_va);
	tc = tu_tcase(s, "copy", 20, isa_setup, isa_teardown);
	tcase_add_test(tc, copy_unaligned_cross_page);
	tcase_add_test(tc, copy_zero_and_overlap);
	tcase_add_test(tc, copy_scattered_backing);
	tcase_add_test(tc, copy_multi_chunk);
	tcase_add_test(tc, copy_fault_first_bad_va);
	tc = tu_tcase(s, "checksum", 20, isa_setup, isa_teardown);
	tcase_add_test(tc, checksum_known_value);
	tcase_add_test(tc, checksum_large);
	tcase_add_test(tc, checksum_errors);
	return s;
}

int main(void)
{
	return tu_run_suite(isa_memory_suite());
}
