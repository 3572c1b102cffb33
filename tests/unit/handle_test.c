// SPDX-License-Identifier: MIT
/*
 * Unit tests of the per-client handle tables (daemon/core/handle.c): id
 * allocation order and reuse, hostile lookups, the quota, iteration.
 */
#include <check.h>
#include <errno.h>
#include <stdlib.h>

#include "core/handle.h"

static int objs[64];

START_TEST(ids_start_at_one_and_reuse_lowest)
{
	struct handle_table t;
	uint32_t id;

	handle_table_init(&t, 100);
	for (int i = 0; i < 40; i++) {
		ck_assert_int_eq(handle_alloc(&t, &objs[i], &id), 0);
		ck_assert_uint_eq(id, (uint32_t)i + 1);
	}
	ck_assert_ptr_eq(handle_remove(&t, 7), &objs[6]);
	ck_assert_ptr_eq(handle_remove(&t, 3), &objs[2]);
	ck_assert_ptr_null(handle_remove(&t, 3));
	ck_assert_int_eq(handle_alloc(&t, &objs[50], &id), 0);
	ck_assert_uint_eq(id, 3);
	ck_assert_int_eq(handle_alloc(&t, &objs[51], &id), 0);
	ck_assert_uint_eq(id, 7);
	ck_assert_int_eq(handle_alloc(&t, &objs[52], &id), 0);
	ck_assert_uint_eq(id, 41);
	ck_assert_ptr_eq(handle_lookup(&t, 7), &objs[51]);
	handle_table_fini(&t);
}
END_TEST

START_TEST(hostile_lookups)
{
	struct handle_table t;
	uint32_t id;

	handle_table_init(&t, 100);
	ck_assert_ptr_null(handle_lookup(&t, 1));
	ck_assert_int_eq(handle_alloc(&t, &objs[0], &id), 0);
	ck_assert_ptr_null(handle_lookup(&t, 0));
	ck_assert_ptr_null(handle_lookup(&t, 2));
	ck_assert_ptr_null(handle_lookup(&t, 17));
	ck_assert_ptr_null(handle_lookup(&t, UINT32_MAX));
	ck_assert_ptr_null(handle_remove(&t, 0));
	ck_assert_ptr_null(handle_remove(&t, UINT32_MAX));
	ck_assert_uint_eq(t.count, 1);
	handle_table_fini(&t);
}
END_TEST

START_TEST(quota)
{
	struct handle_table t;
	uint32_t id;

	handle_table_init(&t, 5);
	for (int i = 0; i < 5; i++)
		ck_assert_int_eq(handle_alloc(&t, &objs[i], &id), 0);
	ck_assert_int_eq(handle_alloc(&t, &objs[5], &id), -EDQUOT);
	handle_remove(&t, 2);
	ck_assert_int_eq(handle_alloc(&t, &objs[5], &id), 0);
	ck_assert_uint_eq(id, 2);
	handle_table_fini(&t);
}
END_TEST

START_TEST(iteration)
{
	struct handle_table t;
	uint32_t id, seen = 0;

	handle_table_init(&t, 100);
	for (int i = 0; i < 30; i++)
		handle_alloc(&t, &objs[i], &id);
	for (uint32_t i = 1; i <= 30; i += 3)
		handle_remove(&t, i);
	for (id = handle_next(&t, 0); id; id = handle_next(&t, id)) {
		ck_assert_uint_ne(id % 3, 1);
		seen++;
	}
	ck_assert_uint_eq(seen, 20);
	handle_table_fini(&t);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("handle");
	TCase *tc = tcase_create("table");
	SRunner *sr;
	int failed;

	tcase_set_timeout(tc, 10);
	tcase_add_test(tc, ids_start_at_one_and_reuse_lowest);
	tcase_add_test(tc, hostile_lookups);
	tcase_add_test(tc, quota);
	tcase_add_test(tc, iteration);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
