// SPDX-License-Identifier: MIT
/*
 * Unit tests of fences (daemon/core/fence.c): signal once, callbacks
 * exactly once and in order, removal, waits with deadlines, signaling
 * from another thread, and references held across callbacks.
 */
#include <check.h>
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <time.h>

#include "core/fence.h"

static int64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000ll + ts.tv_nsec;
}

struct counted {
	struct fence_cb cb;
	int calls;
	int status_seen;
	int order;
};

static int order_counter;

static void count_cb(struct fence *f, struct fence_cb *cb)
{
	struct counted *c = container_of(cb, struct counted, cb);

	c->calls++;
	fence_is_signaled(f, &c->status_seen);
	c->order = ++order_counter;
}

START_TEST(signal_once_with_status)
{
	struct fence *f = fence_create();
	int st = 1;

	ck_assert_ptr_nonnull(f);
	ck_assert(!fence_is_signaled(f, &st));
	ck_assert_int_eq(st, 1);
	ck_assert_int_eq(fence_signal(f, -EFAULT), 0);
	ck_assert_int_eq(fence_signal(f, 0), -EALREADY);
	ck_assert(fence_is_signaled(f, &st));
	ck_assert_int_eq(st, -EFAULT);
	fence_put(f);

	f = fence_create_signaled(-EIO);
	ck_assert(fence_is_signaled(f, &st));
	ck_assert_int_eq(st, -EIO);
	fence_put(f);
}
END_TEST

START_TEST(callbacks_once_in_order)
{
	struct fence *f = fence_create();
	struct counted a = { 0 }, b = { 0 }, c = { 0 }, late = { 0 };

	order_counter = 0;
	ck_assert_int_eq(fence_add_cb(f, &a.cb, count_cb), 0);
	ck_assert_int_eq(fence_add_cb(f, &b.cb, count_cb), 0);
	ck_assert_int_eq(fence_add_cb(f, &c.cb, count_cb), 0);
	ck_assert(fence_remove_cb(f, &b.cb));
	ck_assert(!fence_remove_cb(f, &b.cb));
	fence_signal(f, -EIO);
	fence_signal(f, 0);
	ck_assert_int_eq(a.calls, 1);
	ck_assert_int_eq(b.calls, 0);
	ck_assert_int_eq(c.calls, 1);
	ck_assert_int_eq(a.status_seen, -EIO);
	ck_assert_int_lt(a.order, c.order);
	ck_assert(!fence_remove_cb(f, &a.cb));
	ck_assert_int_eq(fence_add_cb(f, &late.cb, count_cb), -EALREADY);
	ck_assert_int_eq(late.calls, 0);
	fence_put(f);
}
END_TEST

/* A callback that drops the last reference of the fence it runs on. */
static void put_cb(struct fence *f, struct fence_cb *cb)
{
	fence_put(f);
	free(cb);
}

START_TEST(callback_may_drop_last_reference)
{
	struct fence *f = fence_create();
	struct fence_cb *cb = malloc(sizeof(*cb));

	fence_get(f);				/* the callback's reference */
	ck_assert_int_eq(fence_add_cb(f, cb, put_cb), 0);
	fence_put(f);				/* ours */
	fence_signal(f, 0);			/* frees f after the callback */
}
END_TEST

static void *signal_later(void *arg)
{
	struct timespec d = { 0, 20 * 1000 * 1000 };

	nanosleep(&d, NULL);
	fence_signal(arg, -EFAULT);
	return NULL;
}

START_TEST(wait_deadlines)
{
	struct fence *f = fence_create();
	pthread_t t;

	ck_assert_int_eq(fence_wait(f, 0), -ETIME);
	ck_assert_int_eq(fence_wait(f, now_ns() + 1000000), -ETIME);
	pthread_create(&t, NULL, signal_later, f);
	ck_assert_int_eq(fence_wait(f, -1), -EFAULT);
	pthread_join(t, NULL);
	ck_assert_int_eq(fence_wait(f, 0), -EFAULT);
	fence_put(f);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("fence");
	TCase *tc = tcase_create("fence");
	SRunner *sr;
	int failed;

	tcase_set_timeout(tc, 10);
	tcase_add_test(tc, signal_once_with_status);
	tcase_add_test(tc, callbacks_once_in_order);
	tcase_add_test(tc, callback_may_drop_last_reference);
	tcase_add_test(tc, wait_deadlines);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
