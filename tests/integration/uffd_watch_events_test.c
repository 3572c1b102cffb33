// SPDX-License-Identifier: MIT
/*
 * Check suite for daemon/mm/uffd_watch.c, the events: real client
 * processes (tests/helpers/uffd_client) change their address space under
 * notifiers and the test asserts exactly which notifiers were
 * invalidated, with which range and event, and that the others were not:
 * munmap whole and partial, MAP_FIXED over a mapping, brk shrinking,
 * mremap shrinking and moving (UNMAP, REMAP), madvise DONTNEED and FREE
 * and shmem hole punching (REMOVE). The watcher's lifetime is in
 * uffd_watch_lifecycle_test.c; the harness in tests/lib/uffd_harness.c.
 */
#include <check.h>
#include <event2/thread.h>
#include <linux/userfaultfd.h>
#include <stdint.h>

#include "core/notifier.h"
#include "mm/uffd_watch.h"
#include "tests/lib/suite.h"
#include "tests/lib/uffd_harness.h"

/* ---- unmap family ------------------------------------------------------ */

START_TEST(test_munmap_whole)
{
	struct uffd_watch_reg ra, rb;
	uint64_t a = uw_ccmd("mmap anon %lu", 16 * PG);
	uint64_t b = uw_ccmd("mmap anon %lu", 4 * PG);

	uw_reg(&ra, a + 2 * PG, 4 * PG);
	uw_reg(&rb, b, 4 * PG);
	uw_add_notifier(0, a + 2 * PG, 2 * PG);
	uw_add_notifier(1, a + 8 * PG, 2 * PG);
	uw_add_notifier(2, b, 4 * PG);
	uw_ccmd("munmap 0x%lx %lu", a, 16 * PG);
	uw_barrier();
	/* The whole VMA was registered: both notifiers see the exact range. */
	uw_expect_one(0, a, a + 16 * PG, NOTIFIER_EVENT_UNMAP);
	uw_expect_one(1, a, a + 16 * PG, NOTIFIER_EVENT_UNMAP);
	uw_expect_none(2);
	ck_assert_uint_eq(uw_stats().ev_unmap, 1);
	ck_assert_uint_eq(uw_stats().ev_other, 0);
	uffd_watch_unregister(UW.w, &ra);
	uffd_watch_unregister(UW.w, &rb);
}
END_TEST

START_TEST(test_munmap_partial)
{
	struct uffd_watch_reg r;
	uint64_t a = uw_ccmd("mmap anon %lu", 16 * PG);

	uw_reg(&r, a, 16 * PG);
	uw_add_notifier(0, a + 2 * PG, 2 * PG);
	uw_add_notifier(1, a + 8 * PG, 2 * PG);
	uw_add_notifier(2, a + 4 * PG, PG);	/* adjacent, not touched */
	uw_ccmd("munmap 0x%lx %lu", a + 3 * PG, PG);
	uw_barrier();
	uw_expect_one(0, a + 3 * PG, a + 4 * PG, NOTIFIER_EVENT_UNMAP);
	uw_expect_none(1);
	uw_expect_none(2);

	/* An event over registered memory that no notifier covers: filtered. */
	uw_clear_recs();
	uw_ccmd("munmap 0x%lx %lu", a + 12 * PG, 2 * PG);
	uw_barrier();
	uw_expect_none(0);
	uw_expect_none(1);
	uw_expect_none(2);
	ck_assert_uint_eq(uw_stats().ev_unmap, 2);
	ck_assert_uint_eq(uw_stats().invalidations, 2);
	uffd_watch_unregister(UW.w, &r);
}
END_TEST

START_TEST(test_map_fixed_over)
{
	struct uffd_watch_reg r;
	uint64_t a = uw_ccmd("mmap anon %lu", 16 * PG);
	struct uffd_watch_stats st;

	uw_reg(&r, a + 8 * PG, 2 * PG);
	/* Registering again with nothing changed costs no system call. */
	st = uw_stats();
	ck_assert_int_eq(uffd_watch_register(UW.w, &r, a + 8 * PG, 2 * PG), 0);
	ck_assert_uint_eq(uw_stats().register_cached, st.register_cached + 1);
	ck_assert_uint_eq(uw_stats().register_ioctls, st.register_ioctls);

	uw_add_notifier(0, a + 8 * PG, 2 * PG);
	uw_add_notifier(1, a, 2 * PG);
	uw_ccmd("mmap anon %lu 0x%lx", 2 * PG, a + 8 * PG);
	uw_barrier();
	uw_expect_one(0, a + 8 * PG, a + 10 * PG, NOTIFIER_EVENT_UNMAP);
	uw_expect_none(1);

	/* The new VMA is not registered: the next register call must redo it. */
	st = uw_stats();
	ck_assert_int_eq(uffd_watch_register(UW.w, &r, a + 8 * PG, 2 * PG), 0);
	ck_assert_uint_eq(uw_stats().register_cached, st.register_cached);
	ck_assert_uint_gt(uw_stats().register_ioctls, st.register_ioctls);
	uw_clear_recs();
	uw_ccmd("mmap anon %lu 0x%lx", PG, a + 9 * PG);
	uw_barrier();
	uw_expect_one(0, a + 9 * PG, a + 10 * PG, NOTIFIER_EVENT_UNMAP);
	uw_expect_none(1);
	uffd_watch_unregister(UW.w, &r);
}
END_TEST

START_TEST(test_brk_shrink)
{
	struct uffd_watch_reg r;
	uint64_t cur = uw_ccmd("brk");

	if (cur & (PG - 1))
		cur = uw_ccmd("sbrk %lu", PG - (cur & (PG - 1))) + (PG - (cur & (PG - 1)));
	ck_assert_uint_eq(uw_ccmd("sbrk %lu", 16 * PG), cur);
	uw_reg(&r, cur, 16 * PG);
	uw_add_notifier(0, cur + 8 * PG, 2 * PG);
	uw_add_notifier(1, cur, PG);
	ck_assert_uint_eq(uw_ccmd("sbrk -%lu", 8 * PG), cur + 16 * PG);
	uw_barrier();
	uw_expect_one(0, cur + 8 * PG, cur + 16 * PG, NOTIFIER_EVENT_UNMAP);
	uw_expect_none(1);
	uffd_watch_unregister(UW.w, &r);
}
END_TEST

START_TEST(test_mremap_shrink)
{
	struct uffd_watch_reg r;
	uint64_t a = uw_ccmd("mmap anon %lu", 8 * PG);

	uw_reg(&r, a, 8 * PG);
	uw_add_notifier(0, a + 6 * PG, PG);
	uw_add_notifier(1, a, PG);
	ck_assert_uint_eq(uw_ccmd("mremap 0x%lx %lu %lu", a, 8 * PG, 4 * PG), a);
	uw_barrier();
	uw_expect_one(0, a + 4 * PG, a + 8 * PG, NOTIFIER_EVENT_UNMAP);
	uw_expect_none(1);
	uffd_watch_unregister(UW.w, &r);
}
END_TEST

START_TEST(test_mremap_move)
{
	struct uffd_watch_reg ra, rb;
	uint64_t a = uw_ccmd("mmap anon %lu", 8 * PG);
	uint64_t b = uw_ccmd("mmap anon %lu", 8 * PG);
	struct rec want[2];

	uw_ccmd("touch 0x%lx %lu", a, 8 * PG);
	uw_reg(&ra, a, 8 * PG);
	uw_reg(&rb, b, 8 * PG);
	uw_add_notifier(0, a + PG, PG);		/* moves away */
	uw_add_notifier(1, b + 2 * PG, PG);	/* is replaced */
	uw_add_notifier(2, a + 6 * PG, PG);	/* stays */
	uw_add_notifier(3, b + 6 * PG, PG);	/* stays */
	ck_assert_uint_eq(uw_ccmd("mremap 0x%lx %lu %lu 0x%lx", a, 4 * PG, 4 * PG, b), b);
	uw_barrier();
	/* The old range: REMAP, then UNMAP of the same range. */
	want[0] = (struct rec){ 0, a, a + 4 * PG - 1, NOTIFIER_EVENT_REMAP };
	want[1] = (struct rec){ 0, a, a + 4 * PG - 1, NOTIFIER_EVENT_UNMAP };
	uw_expect_recs(0, 2, want);
	/* The destination was unmapped first. */
	uw_expect_one(1, b, b + 4 * PG, NOTIFIER_EVENT_UNMAP);
	uw_expect_none(2);
	uw_expect_none(3);
	ck_assert_uint_eq(uw_stats().ev_remap, 1);
	ck_assert_uint_eq(uw_ccmd("peek 0x%lx", b), 0x5a);
	uffd_watch_unregister(UW.w, &ra);
	uffd_watch_unregister(UW.w, &rb);
}
END_TEST

/* ---- remove family ----------------------------------------------------- */

static void check_madvise(const char *advice)
{
	struct uffd_watch_reg r;
	uint64_t a = uw_ccmd("mmap anon %lu", 16 * PG);

	uw_ccmd("touch 0x%lx %lu", a, 16 * PG);
	uw_reg(&r, a, 16 * PG);
	uw_add_notifier(0, a + PG, 2 * PG);
	uw_add_notifier(1, a + 10 * PG, PG);
	uw_ccmd("madvise 0x%lx %lu %s", a, 4 * PG, advice);
	uw_barrier();
	uw_expect_one(0, a, a + 4 * PG, NOTIFIER_EVENT_REMOVE);
	uw_expect_none(1);
	ck_assert_uint_eq(uw_stats().ev_remove, 1);
	ck_assert_uint_eq(uw_stats().ev_unmap, 0);
	uffd_watch_unregister(UW.w, &r);
}

START_TEST(test_madvise_dontneed)
{
	check_madvise("dontneed");
}
END_TEST

START_TEST(test_madvise_free)
{
	check_madvise("free");
}
END_TEST

START_TEST(test_shmem_remove)
{
	struct uffd_watch_reg r;
	uint64_t m = uw_ccmd("mmap memfd %lu", 8 * PG);

	ck_assert(uffd_watch_features(UW.w) & UFFD_FEATURE_WP_HUGETLBFS_SHMEM);
	uw_ccmd("touch 0x%lx %lu", m, 8 * PG);
	uw_reg(&r, m, 8 * PG);
	uw_add_notifier(0, m + 2 * PG, 2 * PG);
	uw_add_notifier(1, m + 6 * PG, PG);
	uw_ccmd("madvise 0x%lx %lu remove", m + 2 * PG, 2 * PG);
	uw_barrier();
	uw_expect_one(0, m + 2 * PG, m + 4 * PG, NOTIFIER_EVENT_REMOVE);
	uw_expect_none(1);
	ck_assert_uint_eq(uw_ccmd("peek 0x%lx", m + 2 * PG), 0);
	ck_assert_uint_eq(uw_ccmd("peek 0x%lx", m + 6 * PG), 0x5a);
	uffd_watch_unregister(UW.w, &r);
}
END_TEST
static Suite *uffd_watch_events_suite(void)
{
	Suite *s = suite_create("uffd_watch_events");
	TCase *tc;

	tc = tu_tcase(s, "unmap", 30, uw_setup_running, uw_teardown);
	tcase_add_test(tc, test_munmap_whole);
	tcase_add_test(tc, test_munmap_partial);
	tcase_add_test(tc, test_map_fixed_over);
	tcase_add_test(tc, test_brk_shrink);
	tcase_add_test(tc, test_mremap_shrink);
	tcase_add_test(tc, test_mremap_move);

	tc = tu_tcase(s, "remove", 30, uw_setup_running, uw_teardown);
	tcase_add_test(tc, test_madvise_dontneed);
	tcase_add_test(tc, test_madvise_free);
	tcase_add_test(tc, test_shmem_remove);
	return s;
}

int main(void)
{
	evthread_use_pthreads();
	return tu_run_suite(uffd_watch_events_suite());
}
