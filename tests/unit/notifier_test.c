// SPDX-License-Identifier: MIT
/*
 * Unit tests of the userspace interval notifier (daemon/core/notifier.c):
 * argument checks, which notifiers an invalidation reaches and with what
 * range, the sequence protocol, deferred insert/remove, non-blocking
 * invalidations and release. The concurrent proof is in
 * notifier_stress_test.c.
 */
#include <check.h>
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <unistd.h>

#include "core/notifier.h"

#define MAX_HITS 16

struct rec {
	struct notifier n;
	pthread_mutex_t *user_lock;
	int hits;
	struct notifier_range last_range;
	bool refuse;		/* return false (as if it had to sleep) */
};

static pthread_mutex_t user_lock = PTHREAD_MUTEX_INITIALIZER;

static bool rec_invalidate(struct notifier *n, const struct notifier_range *r,
			   uint64_t cur_seq)
{
	struct rec *rec = container_of(n, struct rec, n);

	if (rec->refuse && !(r->flags & NOTIFIER_RANGE_BLOCKABLE))
		return false;
	pthread_mutex_lock(&user_lock);
	notifier_set_seq(n, cur_seq);
	rec->hits++;
	rec->last_range = *r;
	pthread_mutex_unlock(&user_lock);
	return true;
}

static const struct notifier_ops rec_ops = { .invalidate = rec_invalidate };

static struct notifier_mm mm;

static void setup(void)
{
	ck_assert_int_eq(notifier_mm_init(&mm), 0);
}

static void teardown(void)
{
	notifier_mm_destroy(&mm);
}

static int invalidate(uint64_t start, uint64_t last, enum notifier_event ev, uint32_t flags)
{
	struct notifier_range r = { .start = start, .last = last, .event = ev, .flags = flags };
	int ret = notifier_invalidate_start(&mm, &r);

	if (!ret)
		notifier_invalidate_end(&mm);
	return ret;
}

START_TEST(insert_rejects_bad_ranges)
{
	struct rec a = { 0 };

	ck_assert_int_eq(notifier_insert(&a.n, &mm, 0x1000, 0, &rec_ops), -EINVAL);
	ck_assert_int_eq(notifier_insert(&a.n, &mm, UINT64_MAX - 4095, 8192, &rec_ops), -EOVERFLOW);
	ck_assert_int_eq(notifier_insert(&a.n, &mm, UINT64_MAX - 4095, 4096, &rec_ops), 0);
	notifier_remove(&a.n);
}
END_TEST

START_TEST(invalidate_reaches_exactly_the_overlapping)
{
	struct rec a = { 0 }, b = { 0 }, c = { 0 };

	ck_assert_int_eq(notifier_insert(&a.n, &mm, 0x1000, 0x1000, &rec_ops), 0);
	ck_assert_int_eq(notifier_insert(&b.n, &mm, 0x2000, 0x2000, &rec_ops), 0);
	ck_assert_int_eq(notifier_insert(&c.n, &mm, 0x10000, 0x1000, &rec_ops), 0);

	/* [0x1fff, 0x2000] touches the last byte of a and first byte of b. */
	ck_assert_int_eq(invalidate(0x1fff, 0x2000, NOTIFIER_EVENT_UNMAP, 0), 0);
	ck_assert_int_eq(a.hits, 1);
	ck_assert_int_eq(b.hits, 1);
	ck_assert_int_eq(c.hits, 0);
	ck_assert_uint_eq(b.last_range.start, 0x1fff);
	ck_assert_uint_eq(b.last_range.last, 0x2000);
	ck_assert_int_eq(b.last_range.event, NOTIFIER_EVENT_UNMAP);

	/* One byte past c, and the gap between b and c: nobody. */
	ck_assert_int_eq(invalidate(0x11000, 0x20000, NOTIFIER_EVENT_REMOVE, 0), 0);
	ck_assert_int_eq(invalidate(0x4000, 0xffff, NOTIFIER_EVENT_REMOVE, 0), 0);
	ck_assert_int_eq(a.hits + b.hits + c.hits, 2);

	notifier_remove(&a.n);
	notifier_remove(&b.n);
	notifier_remove(&c.n);
}
END_TEST

START_TEST(seq_protocol)
{
	struct rec a = { 0 };
	uint64_t seq, seq2;

	ck_assert_int_eq(notifier_insert(&a.n, &mm, 0x1000, 0x1000, &rec_ops), 0);
	/* A fresh notifier is at an odd seq that no idle mm has. */
	ck_assert(a.n.invalidate_seq & 1);
	ck_assert_uint_ne(a.n.invalidate_seq, mm.invalidate_seq);
	ck_assert_uint_eq(mm.invalidate_seq & 1, 0);

	seq = notifier_read_begin(&a.n);
	ck_assert(!notifier_check_retry(&a.n, seq));
	pthread_mutex_lock(&user_lock);
	ck_assert(!notifier_read_retry(&a.n, seq));
	pthread_mutex_unlock(&user_lock);

	/* An invalidation elsewhere does not disturb it. */
	ck_assert_int_eq(invalidate(0x3000, 0x3fff, NOTIFIER_EVENT_UNMAP, 0), 0);
	ck_assert(!notifier_check_retry(&a.n, seq));

	ck_assert_int_eq(invalidate(0x1800, 0x1800, NOTIFIER_EVENT_UNMAP, 0), 0);
	ck_assert(notifier_check_retry(&a.n, seq));
	pthread_mutex_lock(&user_lock);
	ck_assert(notifier_read_retry(&a.n, seq));
	pthread_mutex_unlock(&user_lock);
	ck_assert_uint_eq(mm.invalidate_seq & 1, 0);

	seq2 = notifier_read_begin(&a.n);
	ck_assert_uint_ne(seq2, seq);
	ck_assert(!notifier_read_retry(&a.n, seq2));
	notifier_remove(&a.n);
}
END_TEST

START_TEST(nonblocking_refusal_is_eagain)
{
	struct rec a = { 0 }, b = { 0 };
	uint64_t seq;

	a.refuse = true;
	ck_assert_int_eq(notifier_insert(&a.n, &mm, 0x1000, 0x1000, &rec_ops), 0);
	ck_assert_int_eq(notifier_insert(&b.n, &mm, 0x1000, 0x1000, &rec_ops), 0);
	seq = notifier_read_begin(&b.n);

	ck_assert_int_eq(invalidate(0x1000, 0x1fff, NOTIFIER_EVENT_UNMAP, 0), -EAGAIN);
	/* The failed invalidation was ended for us: the mm is idle again. */
	ck_assert_uint_eq(mm.active_invalidate_ranges, 0);
	ck_assert_uint_eq(mm.invalidate_seq & 1, 0);
	(void)seq;

	/* A blockable range cannot be refused: everyone is reached. */
	ck_assert_int_eq(invalidate(0x1000, 0x1fff, NOTIFIER_EVENT_UNMAP,
				    NOTIFIER_RANGE_BLOCKABLE), 0);
	ck_assert_int_ge(b.hits, 1);
	notifier_remove(&a.n);
	notifier_remove(&b.n);
}
END_TEST

/* A thread that records when read_begin returned. */
struct waiter {
	struct notifier *n;
	int done;
	uint64_t seq;
};

static void *read_begin_thread(void *arg)
{
	struct waiter *w = arg;

	w->seq = notifier_read_begin(w->n);
	__atomic_store_n(&w->done, 1, __ATOMIC_SEQ_CST);
	return NULL;
}

static void *remove_thread(void *arg)
{
	struct waiter *w = arg;

	notifier_remove(w->n);
	__atomic_store_n(&w->done, 1, __ATOMIC_SEQ_CST);
	return NULL;
}

/* Give a thread time to reach its wait; no assertion depends on timing. */
static void settle(void)
{
	usleep(20000);
}

START_TEST(read_begin_waits_for_running_invalidation)
{
	struct rec a = { 0 };
	struct notifier_range r = { 0x1000, 0x1fff, NOTIFIER_EVENT_UNMAP, 0 };
	struct waiter w = { .n = &a.n };
	pthread_t t;

	ck_assert_int_eq(notifier_insert(&a.n, &mm, 0x1000, 0x1000, &rec_ops), 0);
	ck_assert_int_eq(notifier_invalidate_start(&mm, &r), 0);
	ck_assert_int_eq(a.hits, 1);
	pthread_create(&t, NULL, read_begin_thread, &w);
	settle();
	ck_assert_int_eq(__atomic_load_n(&w.done, __ATOMIC_SEQ_CST), 0);
	notifier_invalidate_end(&mm);
	pthread_join(t, NULL);
	ck_assert_int_eq(w.done, 1);
	ck_assert(!notifier_read_retry(&a.n, w.seq));
	notifier_remove(&a.n);
}
END_TEST

START_TEST(insert_during_invalidation_is_deferred)
{
	struct rec a = { 0 }, fresh = { 0 };
	struct notifier_range r = { 0x1000, 0x1fff, NOTIFIER_EVENT_UNMAP, 0 };
	struct waiter w = { .n = &fresh.n };
	pthread_t t;

	ck_assert_int_eq(notifier_insert(&a.n, &mm, 0x1000, 0x1000, &rec_ops), 0);
	ck_assert_int_eq(notifier_invalidate_start(&mm, &r), 0);

	ck_assert_int_eq(notifier_insert(&fresh.n, &mm, 0x1000, 0x1000, &rec_ops), 0);
	ck_assert(!fresh.n.in_tree);
	ck_assert_uint_eq(mm.itree.count, 1);
	/* It may be covered by the running invalidation: read_begin waits. */
	pthread_create(&t, NULL, read_begin_thread, &w);
	settle();
	ck_assert_int_eq(__atomic_load_n(&w.done, __ATOMIC_SEQ_CST), 0);

	notifier_invalidate_end(&mm);
	pthread_join(t, NULL);
	ck_assert(fresh.n.in_tree);
	ck_assert_uint_eq(mm.itree.count, 2);
	ck_assert_int_eq(fresh.hits, 0);

	/* From now on it is reached like any other. */
	ck_assert_int_eq(invalidate(0x1000, 0x1000, NOTIFIER_EVENT_UNMAP, 0), 0);
	ck_assert_int_eq(fresh.hits, 1);
	ck_assert(notifier_read_retry(&fresh.n, w.seq));
	notifier_remove(&a.n);
	notifier_remove(&fresh.n);
}
END_TEST

START_TEST(insert_then_remove_during_invalidation)
{
	struct rec a = { 0 }, fresh = { 0 };
	struct notifier_range r = { 0x1000, 0x1fff, NOTIFIER_EVENT_UNMAP, 0 };

	ck_assert_int_eq(notifier_insert(&a.n, &mm, 0x1000, 0x1000, &rec_ops), 0);
	ck_assert_int_eq(notifier_invalidate_start(&mm, &r), 0);
	ck_assert_int_eq(notifier_insert(&fresh.n, &mm, 0x5000, 0x1000, &rec_ops), 0);
	/* Never applied, so removing it does not wait. */
	notifier_remove(&fresh.n);
	ck_assert(list_empty(&mm.deferred));
	notifier_invalidate_end(&mm);
	ck_assert_uint_eq(mm.itree.count, 1);
	notifier_remove(&a.n);
}
END_TEST

START_TEST(remove_waits_for_running_invalidation)
{
	struct rec a = { 0 };
	struct notifier_range r = { 0x1000, 0x1fff, NOTIFIER_EVENT_UNMAP, 0 };
	struct waiter w = { .n = &a.n };
	pthread_t t;

	ck_assert_int_eq(notifier_insert(&a.n, &mm, 0x1000, 0x1000, &rec_ops), 0);
	ck_assert_int_eq(notifier_invalidate_start(&mm, &r), 0);
	pthread_create(&t, NULL, remove_thread, &w);
	settle();
	/* Still in the frozen tree; the callback may still be using it. */
	ck_assert_int_eq(__atomic_load_n(&w.done, __ATOMIC_SEQ_CST), 0);
	ck_assert_uint_eq(mm.itree.count, 1);
	notifier_invalidate_end(&mm);
	pthread_join(t, NULL);
	ck_assert_uint_eq(mm.itree.count, 0);
}
END_TEST

START_TEST(insert_while_active_but_idle_tree)
{
	struct rec fresh = { 0 };
	struct notifier_range r = { 0x9000, 0x9fff, NOTIFIER_EVENT_UNMAP, 0 };
	uint64_t before = mm.invalidate_seq;

	/* An invalidation that hits nobody leaves the seq even... */
	ck_assert_int_eq(notifier_invalidate_start(&mm, &r), 0);
	ck_assert_uint_eq(mm.invalidate_seq, before);
	/* ...but an insert now cannot know if it is covered: it goes in and
	 * marks the mm invalidating so its first read_begin waits for end. */
	ck_assert_int_eq(notifier_insert(&fresh.n, &mm, 0x9000, 0x1000, &rec_ops), 0);
	ck_assert(fresh.n.in_tree);
	ck_assert_uint_eq(mm.invalidate_seq, before | 1);
	ck_assert_uint_eq(fresh.n.invalidate_seq, mm.invalidate_seq);
	notifier_invalidate_end(&mm);
	ck_assert_uint_eq(mm.invalidate_seq, before + 2);
	notifier_remove(&fresh.n);
}
END_TEST

START_TEST(release_reaches_all_once)
{
	struct rec a = { 0 }, b = { 0 }, late = { 0 };

	ck_assert_int_eq(notifier_insert(&a.n, &mm, 0, 0x1000, &rec_ops), 0);
	ck_assert_int_eq(notifier_insert(&b.n, &mm, UINT64_MAX - 0xfff, 0x1000, &rec_ops), 0);
	notifier_release(&mm);
	ck_assert_int_eq(a.hits, 1);
	ck_assert_int_eq(b.hits, 1);
	ck_assert_int_eq(a.last_range.event, NOTIFIER_EVENT_RELEASE);
	ck_assert_uint_eq(a.last_range.start, 0);
	ck_assert_uint_eq(a.last_range.last, UINT64_MAX);
	ck_assert(a.last_range.flags & NOTIFIER_RANGE_BLOCKABLE);

	notifier_release(&mm);
	ck_assert_int_eq(a.hits, 1);
	ck_assert_int_eq(notifier_insert(&late.n, &mm, 0x1000, 0x1000, &rec_ops), -ESRCH);
	notifier_remove(&a.n);
	notifier_remove(&b.n);
}
END_TEST

static Suite *notifier_suite(void)
{
	Suite *s = suite_create("notifier");
	TCase *tc;

	tc = tcase_create("arguments");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 10);
	tcase_add_test(tc, insert_rejects_bad_ranges);
	suite_add_tcase(s, tc);

	tc = tcase_create("invalidation");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 10);
	tcase_add_test(tc, invalidate_reaches_exactly_the_overlapping);
	tcase_add_test(tc, seq_protocol);
	tcase_add_test(tc, nonblocking_refusal_is_eagain);
	tcase_add_test(tc, read_begin_waits_for_running_invalidation);
	suite_add_tcase(s, tc);

	tc = tcase_create("deferred");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 10);
	tcase_add_test(tc, insert_during_invalidation_is_deferred);
	tcase_add_test(tc, insert_then_remove_during_invalidation);
	tcase_add_test(tc, remove_waits_for_running_invalidation);
	tcase_add_test(tc, insert_while_active_but_idle_tree);
	suite_add_tcase(s, tc);

	tc = tcase_create("release");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 10);
	tcase_add_test(tc, release_reaches_all_once);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(notifier_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
