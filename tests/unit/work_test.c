// SPDX-License-Identifier: MIT
/*
 * Unit tests of the worker pool (daemon/gpu/work.c): work runs on a
 * worker, its completion on the loop thread, every job exactly once,
 * and destroying the pool finishes what was queued.
 */
#include <check.h>
#include <errno.h>
#include <event2/event.h>
#include <pthread.h>
#include <stdlib.h>

#include "gpu/work.h"

#define JOBS 200

struct job {
	struct work w;
	pthread_t worker;
	int ran, done;
	bool done_on_loop;
};

static pthread_t loop_thread;
static int completed;

static void job_fn(struct work *w)
{
	struct job *j = container_of(w, struct job, w);

	j->worker = pthread_self();
	j->ran++;
}

static void job_done(struct work *w)
{
	struct job *j = container_of(w, struct job, w);

	j->done++;
	j->done_on_loop = pthread_equal(pthread_self(), loop_thread);
	completed++;
}

START_TEST(runs_each_once_completes_on_loop)
{
	struct event_base *base = event_base_new();
	static struct job jobs[JOBS];
	struct work_pool *p;

	loop_thread = pthread_self();
	completed = 0;
	ck_assert_int_eq(work_pool_create(base, 2, &p), 0);
	for (int i = 0; i < JOBS; i++) {
		jobs[i] = (struct job){ .w = { .fn = job_fn, .done = job_done } };
		work_queue(p, &jobs[i].w);
	}
	while (completed < JOBS)
		event_base_loop(base, EVLOOP_ONCE);
	for (int i = 0; i < JOBS; i++) {
		ck_assert_int_eq(jobs[i].ran, 1);
		ck_assert_int_eq(jobs[i].done, 1);
		ck_assert(jobs[i].done_on_loop);
		ck_assert(!pthread_equal(jobs[i].worker, loop_thread));
	}
	work_pool_destroy(p);
	event_base_free(base);
}
END_TEST

START_TEST(destroy_finishes_queued_work)
{
	struct event_base *base = event_base_new();
	static struct job jobs[JOBS];
	struct work_pool *p;

	loop_thread = pthread_self();
	completed = 0;
	ck_assert_int_eq(work_pool_create(base, 1, &p), 0);
	for (int i = 0; i < JOBS; i++) {
		jobs[i] = (struct job){ .w = { .fn = job_fn, .done = job_done } };
		work_queue(p, &jobs[i].w);
	}
	work_pool_destroy(p);	/* no loop turn: destroy runs the completions */
	ck_assert_int_eq(completed, JOBS);
	for (int i = 0; i < JOBS; i++)
		ck_assert_int_eq(jobs[i].ran + jobs[i].done, 2);
	event_base_free(base);
}
END_TEST

START_TEST(bad_thread_counts)
{
	struct event_base *base = event_base_new();
	struct work_pool *p;

	ck_assert_int_eq(work_pool_create(base, 0, &p), -EINVAL);
	ck_assert_int_eq(work_pool_create(base, 17, &p), -EINVAL);
	event_base_free(base);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("work");
	TCase *tc = tcase_create("pool");
	SRunner *sr;
	int failed;

	tcase_set_timeout(tc, 20);
	tcase_add_test(tc, runs_each_once_completes_on_loop);
	tcase_add_test(tc, destroy_finishes_queued_work);
	tcase_add_test(tc, bad_thread_counts);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
