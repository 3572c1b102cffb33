// SPDX-License-Identifier: MIT
/*
 * Concurrent proof of the notifier's collision-retry protocol. Reader
 * threads play a driver revalidating a userptr: read_begin -> fetch a
 * versioned "page" -> user lock -> read_retry -> commit. Invalidator
 * threads play the client changing its memory: invalidate_start ->
 * bump the page versions of the range -> invalidate_end. A commit must
 * never see a version older than the page's current one. Half of the
 * readers insert a fresh notifier per iteration, so inserts and removes
 * land inside running invalidations (the deferred list).
 *
 * The test must be able to fail: `make check-mutants` builds it against
 * notifier.c with -DNOTIFIER_BREAK=1 (set_seq skipped) and =2 (no
 * deferred list) and expects a failure from each.
 *
 * UGPU_STRESS_ITERS overrides the number of commits (default 10^6).
 */
#include <check.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

#include "core/notifier.h"

#define PAGES		4
#define PAGE		4096ull
#define BASE		0x100000ull
#define READERS		4
#define INVALIDATORS	2

struct page {
	uint64_t version;	/* atomic: bumped inside invalidate start/end */
	struct notifier n;	/* long-lived notifier on this page */
};

static struct notifier_mm mm;
static struct page pages[PAGES];
static pthread_rwlock_t user_lock;	/* like vm->userptr_notifier_lock */
static uint64_t target;
static uint64_t commits, retries, stale, fresh_commits, invalidations;
static int stop;

static bool page_invalidate(struct notifier *n, const struct notifier_range *r,
			    uint64_t cur_seq)
{
	pthread_rwlock_wrlock(&user_lock);
	notifier_set_seq(n, cur_seq);
	pthread_rwlock_unlock(&user_lock);
	return true;
}

static const struct notifier_ops page_ops = { .invalidate = page_invalidate };

static uint64_t rnd(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

static void spin(unsigned int n)
{
	for (volatile unsigned int i = 0; i < n; i++)
		;
}

/* One revalidation of page p through notifier n; true once committed. */
static bool revalidate(struct notifier *n, unsigned int p, uint64_t *s)
{
	uint64_t seq, v;

	seq = notifier_read_begin(n);
	v = __atomic_load_n(&pages[p].version, __ATOMIC_ACQUIRE);
	spin(rnd(s) % 256);	/* "get pages" takes a while */
	if (notifier_check_retry(n, seq)) {
		__atomic_add_fetch(&retries, 1, __ATOMIC_RELAXED);
		return false;
	}
	pthread_rwlock_rdlock(&user_lock);
	if (notifier_read_retry(n, seq)) {
		pthread_rwlock_unlock(&user_lock);
		__atomic_add_fetch(&retries, 1, __ATOMIC_RELAXED);
		return false;
	}
	/* Commit: what we fetched must be what the page holds now. */
	if (v != __atomic_load_n(&pages[p].version, __ATOMIC_ACQUIRE))
		__atomic_add_fetch(&stale, 1, __ATOMIC_RELAXED);
	pthread_rwlock_unlock(&user_lock);
	__atomic_add_fetch(&commits, 1, __ATOMIC_RELAXED);
	return true;
}

static void *reader(void *arg)
{
	uint64_t s = 0x9e3779b97f4a7c15ull * ((uintptr_t)arg + 1);
	bool fresh = (uintptr_t)arg & 1;
	struct notifier own;

	while (!__atomic_load_n(&stop, __ATOMIC_RELAXED) &&
	       __atomic_load_n(&commits, __ATOMIC_RELAXED) < target &&
	       !__atomic_load_n(&stale, __ATOMIC_RELAXED)) {
		unsigned int p = rnd(&s) % PAGES;

		if (!fresh) {
			revalidate(&pages[p].n, p, &s);
			continue;
		}
		/* A userptr bound just now: insert, revalidate, unbind. */
		if (notifier_insert(&own, &mm, BASE + p * PAGE, PAGE, &page_ops))
			abort();
		while (!revalidate(&own, p, &s) &&
		       !__atomic_load_n(&stop, __ATOMIC_RELAXED))
			;
		__atomic_add_fetch(&fresh_commits, 1, __ATOMIC_RELAXED);
		notifier_remove(&own);
	}
	return NULL;
}

static void *invalidator(void *arg)
{
	uint64_t s = 0xd1b54a32d192ed03ull * ((uintptr_t)arg + 1);

	while (!__atomic_load_n(&stop, __ATOMIC_RELAXED)) {
		unsigned int p = rnd(&s) % PAGES;
		unsigned int np = 1 + rnd(&s) % 2;
		struct notifier_range r = {
			.start = BASE + p * PAGE + rnd(&s) % PAGE,
			.event = NOTIFIER_EVENT_UNMAP,
			.flags = NOTIFIER_RANGE_BLOCKABLE,
		};

		if (p + np > PAGES)
			np = PAGES - p;
		r.last = BASE + (p + np) * PAGE - 1 - rnd(&s) % PAGE;
		if (r.last < r.start)
			r.last = r.start;
		if (notifier_invalidate_start(&mm, &r))
			abort();
		spin(rnd(&s) % 1024);	/* zapping takes a while */
		for (uint64_t q = (r.start - BASE) / PAGE; q <= (r.last - BASE) / PAGE; q++)
			__atomic_add_fetch(&pages[q].version, 1, __ATOMIC_RELEASE);
		notifier_invalidate_end(&mm);
		__atomic_add_fetch(&invalidations, 1, __ATOMIC_RELAXED);
	}
	return NULL;
}

START_TEST(no_stale_commit)
{
	pthread_t rd[READERS], inv[INVALIDATORS];
	const char *env = getenv("UGPU_STRESS_ITERS");

	target = env ? strtoull(env, NULL, 0) : 1000000;
	ck_assert_int_eq(notifier_mm_init(&mm), 0);
	pthread_rwlock_init(&user_lock, NULL);
	for (unsigned int p = 0; p < PAGES; p++)
		ck_assert_int_eq(notifier_insert(&pages[p].n, &mm, BASE + p * PAGE,
						 PAGE, &page_ops), 0);

	for (uintptr_t i = 0; i < INVALIDATORS; i++)
		pthread_create(&inv[i], NULL, invalidator, (void *)i);
	for (uintptr_t i = 0; i < READERS; i++)
		pthread_create(&rd[i], NULL, reader, (void *)i);
	for (int i = 0; i < READERS; i++)
		pthread_join(rd[i], NULL);
	__atomic_store_n(&stop, 1, __ATOMIC_RELAXED);
	for (int i = 0; i < INVALIDATORS; i++)
		pthread_join(inv[i], NULL);

	printf("notifier stress: %llu commits (%llu through fresh notifiers), "
	       "%llu retries, %llu invalidations, %llu stale\n",
	       (unsigned long long)commits, (unsigned long long)fresh_commits,
	       (unsigned long long)retries, (unsigned long long)invalidations,
	       (unsigned long long)stale);
	ck_assert_uint_eq(stale, 0);
	ck_assert_uint_ge(commits, target);
	ck_assert_uint_gt(retries, 0);		/* collisions did happen */
	ck_assert_uint_gt(fresh_commits, 0);

	for (unsigned int p = 0; p < PAGES; p++)
		notifier_remove(&pages[p].n);
	ck_assert_uint_eq(mm.itree.count, 0);
	notifier_mm_destroy(&mm);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("notifier_stress");
	TCase *tc = tcase_create("collision_retry");
	SRunner *sr;
	int failed;

	tcase_set_timeout(tc, 240);
	tcase_add_test(tc, no_stale_commit);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
