// SPDX-License-Identifier: MIT
/*
 * Check suite for daemon/mm/uffd_watch.c against real client processes
 * (tests/helpers/uffd_client). The test plays the daemon: it pulls the
 * client's userfaultfd with a real watcher on a libevent loop run by a
 * thread of its own, inserts notifiers over client memory, makes the
 * client change its address space, and asserts exactly which notifiers
 * were invalidated, with which range and event, and that the others were
 * not. Also: exit gives RELEASE, faults are never trapped, -EBUSY/-EINVAL/
 * -EFAULT at registration, an unprivileged client, a dead watcher never
 * hangs the client, and the gate is taken before the events are read.
 */
#include <check.h>
#include <errno.h>
#include <event2/event.h>
#include <event2/thread.h>
#include <linux/userfaultfd.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "core/notifier.h"
#include "mm/gate.h"
#include "mm/uffd_watch.h"
#include "mm/vma.h"
#include "tests/lib/testutil.h"

#define PG 4096ul
#define MAX_NOTIFIERS 8
#define MAX_RECS 64

struct rec {
	int idx;
	uint64_t start, last;
	enum notifier_event event;
};

struct tnotifier {
	struct notifier n;
	int idx;
	bool inserted;
};

static struct {
	struct event_base *base;
	pthread_t loop;
	bool loop_running;
	struct notifier_mm nmm;
	struct mm_gate gate;
	struct uffd_watch *w;
	struct tu_proc child;
	pid_t pid;
	char tmpdir[64];		/* helper copy for another uid */
	char file[64];

	pthread_mutex_t lock;		/* the notifiers' user lock, and below */
	pthread_cond_t cond;
	struct tnotifier tn[MAX_NOTIFIERS];
	struct rec recs[MAX_RECS];
	int nrecs;
	int released;			/* ops->released calls */
	int before_lock;		/* ops->before_lock calls */
	bool closing_seen;		/* gate_closing() inside before_lock */
	unsigned long barriers;
} T;

/* ---- notifiers that record what hits them ---------------------------- */

static bool record_invalidate(struct notifier *n, const struct notifier_range *r,
			      uint64_t cur_seq)
{
	struct tnotifier *tn = container_of(n, struct tnotifier, n);

	pthread_mutex_lock(&T.lock);
	notifier_set_seq(n, cur_seq);
	if (T.nrecs < MAX_RECS)
		T.recs[T.nrecs++] = (struct rec){ tn->idx, r->start, r->last, r->event };
	pthread_cond_broadcast(&T.cond);
	pthread_mutex_unlock(&T.lock);
	return true;
}

static const struct notifier_ops rec_ops = { .invalidate = record_invalidate };

static void add_notifier(int idx, uint64_t start, uint64_t len)
{
	T.tn[idx].idx = idx;
	ck_assert_int_eq(notifier_insert(&T.tn[idx].n, &T.nmm, start, len, &rec_ops), 0);
	T.tn[idx].inserted = true;
}

/* Exactly @n records hit notifier @idx, equal to @want in order. */
static void expect_recs(int idx, int n, const struct rec *want)
{
	int i, got = 0;

	pthread_mutex_lock(&T.lock);
	for (i = 0; i < T.nrecs; i++) {
		const struct rec *r = &T.recs[i];

		if (r->idx != idx)
			continue;
		ck_assert_msg(got < n, "notifier %d: unexpected [%lx, %lx] event %d",
			      idx, r->start, r->last, r->event);
		ck_assert_msg(r->start == want[got].start && r->last == want[got].last &&
			      r->event == want[got].event,
			      "notifier %d #%d: got [%lx, %lx] ev %d, want [%lx, %lx] ev %d",
			      idx, got, r->start, r->last, r->event,
			      want[got].start, want[got].last, want[got].event);
		got++;
	}
	pthread_mutex_unlock(&T.lock);
	ck_assert_msg(got == n, "notifier %d: %d records, want %d", idx, got, n);
}

static void expect_none(int idx)
{
	expect_recs(idx, 0, NULL);
}

static void expect_one(int idx, uint64_t start, uint64_t end, enum notifier_event ev)
{
	struct rec r = { idx, start, end - 1, ev };

	expect_recs(idx, 1, &r);
}

static void clear_recs(void)
{
	pthread_mutex_lock(&T.lock);
	T.nrecs = 0;
	pthread_mutex_unlock(&T.lock);
}

/* ---- the event loop thread -------------------------------------------- */

static void *loop_main(void *arg)
{
	event_base_loop(T.base, EVLOOP_NO_EXIT_ON_EMPTY);
	return NULL;
}

static void barrier(void);

static void start_loop(void)
{
	ck_assert_int_eq(pthread_create(&T.loop, NULL, loop_main, NULL), 0);
	T.loop_running = true;
	/* event_base_loop() clears a loopbreak that came before it started. */
	barrier();
}

static void stop_loop(void)
{
	if (!T.loop_running)
		return;
	event_base_loopbreak(T.base);
	pthread_join(T.loop, NULL);
	T.loop_running = false;
}

static void barrier_cb(evutil_socket_t fd, short what, void *arg)
{
	pthread_mutex_lock(&T.lock);
	T.barriers++;
	pthread_cond_broadcast(&T.cond);
	pthread_mutex_unlock(&T.lock);
}

/*
 * Wait until the loop ran everything that was active before: the client
 * returned from its call, so the callback that read its events (and
 * applied them before returning) has at least started.
 */
static void barrier(void)
{
	struct timeval now = { 0, 0 };
	struct timespec until;
	unsigned long want;

	ck_assert(T.loop_running);
	pthread_mutex_lock(&T.lock);
	want = T.barriers + 1;
	pthread_mutex_unlock(&T.lock);
	ck_assert_int_eq(event_base_once(T.base, -1, EV_TIMEOUT, barrier_cb, NULL, &now), 0);
	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += TU_TIMEOUT_MS / 1000;
	pthread_mutex_lock(&T.lock);
	while (T.barriers < want) {
		if (pthread_cond_timedwait(&T.cond, &T.lock, &until) == ETIMEDOUT)
			break;
	}
	ck_assert_msg(T.barriers >= want, "event loop stuck");
	pthread_mutex_unlock(&T.lock);
}

/* ---- the client ------------------------------------------------------- */

static int vcmd(char *reply, size_t len, const char *fmt, va_list ap)
{
	char line[256];

	vsnprintf(line, sizeof(line), fmt, ap);
	return tu_cmd(&T.child, reply, len, "%s", line);
}

/* A command that must answer "ok [value]": returns the value. */
static uint64_t ccmd(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static uint64_t ccmd(const char *fmt, ...)
{
	char reply[256];
	va_list ap;
	int ret;

	va_start(ap, fmt);
	ret = vcmd(reply, sizeof(reply), fmt, ap);
	va_end(ap);
	ck_assert_msg(ret == 0, "%s: no reply (%d)", fmt, ret);
	ck_assert_msg(!strncmp(reply, "ok", 2), "%s: '%s'", fmt, reply);
	return strtoull(reply + 2, NULL, 0);
}

static void spawn_client(bool as_nobody)
{
	struct tu_spawn_opts opts = { .as_user = true, .uid = 65534, .gid = 65534 };
	char path[512], copy[512];
	char *argv[] = { "uffd_client", NULL };

	ck_assert_int_eq(tu_helper_path("uffd_client", path, sizeof(path)), 0);
	if (as_nobody) {
		ck_assert_int_eq(tu_copy_for_user(path, T.tmpdir, sizeof(T.tmpdir),
						  copy, sizeof(copy)), 0);
		ck_assert_int_eq(tu_spawn(&T.child, copy, argv, &opts), 0);
	} else {
		ck_assert_int_eq(tu_spawn(&T.child, path, argv, NULL), 0);
	}
	T.pid = (pid_t)ccmd("pid");
}

/* ---- the watcher ------------------------------------------------------ */

static void on_before_lock(void *arg)
{
	pthread_mutex_lock(&T.lock);
	T.before_lock++;
	T.closing_seen = gate_closing(&T.gate);
	pthread_cond_broadcast(&T.cond);
	pthread_mutex_unlock(&T.lock);
}

static void on_released(void *arg)
{
	pthread_mutex_lock(&T.lock);
	T.released++;
	pthread_cond_broadcast(&T.cond);
	pthread_mutex_unlock(&T.lock);
}

static const struct uffd_watch_ops watch_ops = {
	.before_lock = on_before_lock,
	.released = on_released,
};

/* Pull the client's uffd into a watcher; the client closes its copy. */
static void attach(void)
{
	int fd = (int)ccmd("uffd");

	ck_assert_int_eq(uffd_watch_open(T.base, T.pid, fd, &T.nmm, &T.gate,
					 &watch_ops, NULL, &T.w), 0);
	ccmd("close %d", fd);
}

static void setup(void)
{
	memset(&T, 0, sizeof(T));
	pthread_mutex_init(&T.lock, NULL);
	pthread_cond_init(&T.cond, NULL);
	T.base = event_base_new();
	ck_assert_ptr_nonnull(T.base);
	ck_assert_int_eq(notifier_mm_init(&T.nmm), 0);
	ck_assert_int_eq(gate_init(&T.gate), 0);
	snprintf(T.file, sizeof(T.file), "/tmp/ugpu-uffd-test.%d", (int)getpid());
}

static void teardown(void)
{
	int i;

	stop_loop();
	uffd_watch_close(T.w);
	tu_kill(&T.child);
	for (i = 0; i < MAX_NOTIFIERS; i++)
		if (T.tn[i].inserted)
			notifier_remove(&T.tn[i].n);
	notifier_mm_destroy(&T.nmm);
	gate_destroy(&T.gate);
	event_base_free(T.base);
	if (T.tmpdir[0])
		tu_rmdir(T.tmpdir);
	unlink(T.file);
	pthread_cond_destroy(&T.cond);
	pthread_mutex_destroy(&T.lock);
}

/* Client running, watcher attached, loop running. */
static void setup_running(void)
{
	setup();
	spawn_client(false);
	attach();
	start_loop();
}

static void reg(struct uffd_watch_reg *r, uint64_t start, uint64_t len)
{
	uffd_watch_reg_init(r);
	ck_assert_int_eq(uffd_watch_register(T.w, r, start, len), 0);
}

static struct uffd_watch_stats stats(void)
{
	struct uffd_watch_stats st;

	uffd_watch_get_stats(T.w, &st);
	return st;
}

/* ---- unmap family ------------------------------------------------------ */

START_TEST(test_munmap_whole)
{
	struct uffd_watch_reg ra, rb;
	uint64_t a = ccmd("mmap anon %lu", 16 * PG);
	uint64_t b = ccmd("mmap anon %lu", 4 * PG);

	reg(&ra, a + 2 * PG, 4 * PG);
	reg(&rb, b, 4 * PG);
	add_notifier(0, a + 2 * PG, 2 * PG);
	add_notifier(1, a + 8 * PG, 2 * PG);
	add_notifier(2, b, 4 * PG);
	ccmd("munmap 0x%lx %lu", a, 16 * PG);
	barrier();
	/* The whole VMA was registered: both notifiers see the exact range. */
	expect_one(0, a, a + 16 * PG, NOTIFIER_EVENT_UNMAP);
	expect_one(1, a, a + 16 * PG, NOTIFIER_EVENT_UNMAP);
	expect_none(2);
	ck_assert_uint_eq(stats().ev_unmap, 1);
	ck_assert_uint_eq(stats().ev_other, 0);
	uffd_watch_unregister(T.w, &ra);
	uffd_watch_unregister(T.w, &rb);
}
END_TEST

START_TEST(test_munmap_partial)
{
	struct uffd_watch_reg r;
	uint64_t a = ccmd("mmap anon %lu", 16 * PG);

	reg(&r, a, 16 * PG);
	add_notifier(0, a + 2 * PG, 2 * PG);
	add_notifier(1, a + 8 * PG, 2 * PG);
	add_notifier(2, a + 4 * PG, PG);	/* adjacent, not touched */
	ccmd("munmap 0x%lx %lu", a + 3 * PG, PG);
	barrier();
	expect_one(0, a + 3 * PG, a + 4 * PG, NOTIFIER_EVENT_UNMAP);
	expect_none(1);
	expect_none(2);

	/* An event over registered memory that no notifier covers: filtered. */
	clear_recs();
	ccmd("munmap 0x%lx %lu", a + 12 * PG, 2 * PG);
	barrier();
	expect_none(0);
	expect_none(1);
	expect_none(2);
	ck_assert_uint_eq(stats().ev_unmap, 2);
	ck_assert_uint_eq(stats().invalidations, 2);
	uffd_watch_unregister(T.w, &r);
}
END_TEST

START_TEST(test_map_fixed_over)
{
	struct uffd_watch_reg r;
	uint64_t a = ccmd("mmap anon %lu", 16 * PG);
	struct uffd_watch_stats st;

	reg(&r, a + 8 * PG, 2 * PG);
	/* Registering again with nothing changed costs no system call. */
	st = stats();
	ck_assert_int_eq(uffd_watch_register(T.w, &r, a + 8 * PG, 2 * PG), 0);
	ck_assert_uint_eq(stats().register_cached, st.register_cached + 1);
	ck_assert_uint_eq(stats().register_ioctls, st.register_ioctls);

	add_notifier(0, a + 8 * PG, 2 * PG);
	add_notifier(1, a, 2 * PG);
	ccmd("mmap anon %lu 0x%lx", 2 * PG, a + 8 * PG);
	barrier();
	expect_one(0, a + 8 * PG, a + 10 * PG, NOTIFIER_EVENT_UNMAP);
	expect_none(1);

	/* The new VMA is not registered: the next register call must redo it. */
	st = stats();
	ck_assert_int_eq(uffd_watch_register(T.w, &r, a + 8 * PG, 2 * PG), 0);
	ck_assert_uint_eq(stats().register_cached, st.register_cached);
	ck_assert_uint_gt(stats().register_ioctls, st.register_ioctls);
	clear_recs();
	ccmd("mmap anon %lu 0x%lx", PG, a + 9 * PG);
	barrier();
	expect_one(0, a + 9 * PG, a + 10 * PG, NOTIFIER_EVENT_UNMAP);
	expect_none(1);
	uffd_watch_unregister(T.w, &r);
}
END_TEST

START_TEST(test_brk_shrink)
{
	struct uffd_watch_reg r;
	uint64_t cur = ccmd("brk");

	if (cur & (PG - 1))
		cur = ccmd("sbrk %lu", PG - (cur & (PG - 1))) + (PG - (cur & (PG - 1)));
	ck_assert_uint_eq(ccmd("sbrk %lu", 16 * PG), cur);
	reg(&r, cur, 16 * PG);
	add_notifier(0, cur + 8 * PG, 2 * PG);
	add_notifier(1, cur, PG);
	ck_assert_uint_eq(ccmd("sbrk -%lu", 8 * PG), cur + 16 * PG);
	barrier();
	expect_one(0, cur + 8 * PG, cur + 16 * PG, NOTIFIER_EVENT_UNMAP);
	expect_none(1);
	uffd_watch_unregister(T.w, &r);
}
END_TEST

START_TEST(test_mremap_shrink)
{
	struct uffd_watch_reg r;
	uint64_t a = ccmd("mmap anon %lu", 8 * PG);

	reg(&r, a, 8 * PG);
	add_notifier(0, a + 6 * PG, PG);
	add_notifier(1, a, PG);
	ck_assert_uint_eq(ccmd("mremap 0x%lx %lu %lu", a, 8 * PG, 4 * PG), a);
	barrier();
	expect_one(0, a + 4 * PG, a + 8 * PG, NOTIFIER_EVENT_UNMAP);
	expect_none(1);
	uffd_watch_unregister(T.w, &r);
}
END_TEST

START_TEST(test_mremap_move)
{
	struct uffd_watch_reg ra, rb;
	uint64_t a = ccmd("mmap anon %lu", 8 * PG);
	uint64_t b = ccmd("mmap anon %lu", 8 * PG);
	struct rec want[2];

	ccmd("touch 0x%lx %lu", a, 8 * PG);
	reg(&ra, a, 8 * PG);
	reg(&rb, b, 8 * PG);
	add_notifier(0, a + PG, PG);		/* moves away */
	add_notifier(1, b + 2 * PG, PG);	/* is replaced */
	add_notifier(2, a + 6 * PG, PG);	/* stays */
	add_notifier(3, b + 6 * PG, PG);	/* stays */
	ck_assert_uint_eq(ccmd("mremap 0x%lx %lu %lu 0x%lx", a, 4 * PG, 4 * PG, b), b);
	barrier();
	/* The old range: REMAP, then UNMAP of the same range. */
	want[0] = (struct rec){ 0, a, a + 4 * PG - 1, NOTIFIER_EVENT_REMAP };
	want[1] = (struct rec){ 0, a, a + 4 * PG - 1, NOTIFIER_EVENT_UNMAP };
	expect_recs(0, 2, want);
	/* The destination was unmapped first. */
	expect_one(1, b, b + 4 * PG, NOTIFIER_EVENT_UNMAP);
	expect_none(2);
	expect_none(3);
	ck_assert_uint_eq(stats().ev_remap, 1);
	ck_assert_uint_eq(ccmd("peek 0x%lx", b), 0x5a);
	uffd_watch_unregister(T.w, &ra);
	uffd_watch_unregister(T.w, &rb);
}
END_TEST

/* ---- remove family ----------------------------------------------------- */

static void check_madvise(const char *advice)
{
	struct uffd_watch_reg r;
	uint64_t a = ccmd("mmap anon %lu", 16 * PG);

	ccmd("touch 0x%lx %lu", a, 16 * PG);
	reg(&r, a, 16 * PG);
	add_notifier(0, a + PG, 2 * PG);
	add_notifier(1, a + 10 * PG, PG);
	ccmd("madvise 0x%lx %lu %s", a, 4 * PG, advice);
	barrier();
	expect_one(0, a, a + 4 * PG, NOTIFIER_EVENT_REMOVE);
	expect_none(1);
	ck_assert_uint_eq(stats().ev_remove, 1);
	ck_assert_uint_eq(stats().ev_unmap, 0);
	uffd_watch_unregister(T.w, &r);
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
	uint64_t m = ccmd("mmap memfd %lu", 8 * PG);

	ck_assert(uffd_watch_features(T.w) & UFFD_FEATURE_WP_HUGETLBFS_SHMEM);
	ccmd("touch 0x%lx %lu", m, 8 * PG);
	reg(&r, m, 8 * PG);
	add_notifier(0, m + 2 * PG, 2 * PG);
	add_notifier(1, m + 6 * PG, PG);
	ccmd("madvise 0x%lx %lu remove", m + 2 * PG, 2 * PG);
	barrier();
	expect_one(0, m + 2 * PG, m + 4 * PG, NOTIFIER_EVENT_REMOVE);
	expect_none(1);
	ck_assert_uint_eq(ccmd("peek 0x%lx", m + 2 * PG), 0);
	ck_assert_uint_eq(ccmd("peek 0x%lx", m + 6 * PG), 0x5a);
	uffd_watch_unregister(T.w, &r);
}
END_TEST

/* ---- exit --------------------------------------------------------------- */

static bool released(void *arg)
{
	bool r;

	pthread_mutex_lock(&T.lock);
	r = T.released > 0;
	pthread_mutex_unlock(&T.lock);
	return r;
}

START_TEST(test_exit_release)
{
	struct uffd_watch_reg r, r2;
	uint64_t a = ccmd("mmap anon %lu", 8 * PG);
	struct rec all = { 0, 0, UINT64_MAX, NOTIFIER_EVENT_RELEASE };
	int i;

	reg(&r, a, 8 * PG);
	add_notifier(0, a, PG);
	add_notifier(1, a + 4 * PG, PG);
	add_notifier(2, 0x1000, PG);		/* never mapped */
	tu_send(&T.child, "exit 0");
	ck_assert(tu_wait_for(released, NULL, TU_TIMEOUT_MS));
	for (i = 0; i < 3; i++) {
		all.idx = i;
		expect_recs(i, 1, &all);
	}
	ck_assert_int_eq(T.released, 1);
	ck_assert(stats().released);
	ck_assert_int_eq(gate_enter(&T.gate), -ESRCH);
	uffd_watch_reg_init(&r2);
	ck_assert_int_eq(uffd_watch_register(T.w, &r2, a, PG), -ESRCH);
	ck_assert_int_eq(uffd_watch_register(T.w, &r, a, 2 * PG), -ESRCH);
	/* A later notifier is refused by the released mm. */
	ck_assert_int_eq(notifier_insert(&T.tn[3].n, &T.nmm, a, PG, &rec_ops), -ESRCH);
	uffd_watch_unregister(T.w, &r);
}
END_TEST

static void close_in_released(void *arg)
{
	/* The daemon's client teardown may run right here. */
	uffd_watch_close(T.w);
	T.w = NULL;
	on_released(arg);
}

START_TEST(test_close_from_released)
{
	static const struct uffd_watch_ops ops = { .released = close_in_released };
	struct uffd_watch_reg r;
	uint64_t a;
	int fd;

	spawn_client(false);
	fd = (int)ccmd("uffd");
	ck_assert_int_eq(uffd_watch_open(T.base, T.pid, fd, &T.nmm, &T.gate, &ops,
					 NULL, &T.w), 0);
	ccmd("close %d", fd);
	start_loop();
	a = ccmd("mmap anon %lu", 8 * PG);
	reg(&r, a, 8 * PG);
	add_notifier(0, a, PG);
	tu_send(&T.child, "exit 0");
	ck_assert(tu_wait_for(released, NULL, TU_TIMEOUT_MS));
	barrier();
	ck_assert_ptr_null(T.w);
	ck_assert(!r.linked);		/* close unlinked it */
	uffd_watch_unregister(NULL, &r);	/* a no-op on an unlinked handle */
	{
		struct rec all = { 0, 0, UINT64_MAX, NOTIFIER_EVENT_RELEASE };

		expect_recs(0, 1, &all);
	}
}
END_TEST

/* ---- registration ----------------------------------------------------- */

START_TEST(test_faults_not_trapped)
{
	struct uffd_watch_reg ra, rm;
	uint64_t a, m;

	/* Nobody reads the uffd: a trapped fault would hang the client. */
	spawn_client(false);
	attach();
	a = ccmd("mmap anon %lu", 256 * PG);
	m = ccmd("mmap memfd %lu", 64 * PG);
	reg(&ra, a, 256 * PG);
	reg(&rm, m, 64 * PG);
	ccmd("touch 0x%lx %lu", a, 256 * PG);
	ccmd("touch 0x%lx %lu", m, 64 * PG);
	ccmd("fill 0x%lx %lu 7", a, 8 * PG);
	ck_assert_uint_eq(ccmd("peek 0x%lx", a + 8 * PG - 1), 7);
	ck_assert_uint_eq(stats().wakeups, 0);
	uffd_watch_unregister(T.w, &ra);
	uffd_watch_unregister(T.w, &rm);
}
END_TEST

START_TEST(test_register_errors)
{
	struct uffd_watch_reg r;
	uint64_t a = ccmd("mmap anon %lu", 8 * PG);
	uint64_t f = ccmd("mmap file:%s %lu", T.file, 4 * PG);

	uffd_watch_reg_init(&r);
	ck_assert_int_eq(uffd_watch_register(T.w, &r, a, 0), -EINVAL);
	ck_assert_int_eq(uffd_watch_register(T.w, &r, UINT64_MAX - PG, 2 * PG), -EOVERFLOW);
	/* A regular file on disk: userfaultfd cannot watch it. */
	ck_assert_int_eq(uffd_watch_register(T.w, &r, f, PG), -EINVAL);
	/* Holes. */
	ccmd("munmap 0x%lx %lu", a + 4 * PG, PG);
	ck_assert_int_eq(uffd_watch_register(T.w, &r, a + 4 * PG, PG), -EFAULT);
	ck_assert_int_eq(uffd_watch_register(T.w, &r, a, 8 * PG), -EFAULT);
	ck_assert_int_eq(uffd_watch_register(T.w, &r, 0x1000, PG), -EFAULT);
	ck_assert(!r.linked);
	/* Already registered to the client's own second uffd. */
	ccmd("uffd2 0x%lx %lu", a + 5 * PG, 3 * PG);
	ck_assert_int_eq(uffd_watch_register(T.w, &r, a + 6 * PG, PG), -EBUSY);
	ck_assert(!r.linked);
	/* The rest still works, and a failed re-registration keeps the old one. */
	ck_assert_int_eq(uffd_watch_register(T.w, &r, a, 4 * PG), 0);
	ck_assert_int_eq(uffd_watch_register(T.w, &r, a + 6 * PG, PG), -EBUSY);
	ck_assert(r.linked);
	ck_assert_uint_eq(stats().spans, 1);
	uffd_watch_unregister(T.w, &r);
	ck_assert_uint_eq(stats().spans, 0);
}
END_TEST

START_TEST(test_register_whole_vmas)
{
	struct uffd_watch_reg r[3];
	struct vma_src src;
	struct vma_info v0, v;
	uint64_t a = ccmd("mmap anon %lu", 64 * PG);
	int i;

	/* Small ranges inside one VMA (maybe merged with neighbours) must not split it. */
	ck_assert_int_eq(vma_open(T.pid, &src), 0);
	ck_assert_int_eq(vma_find(&src, a, false, &v0), 0);
	for (i = 0; i < 3; i++)
		reg(&r[i], a + (uint64_t)(10 + 20 * i) * PG + 100, 50);
	ck_assert_int_eq(vma_find(&src, a + 30 * PG, false, &v), 0);
	ck_assert_uint_eq(v.start, v0.start);
	ck_assert_uint_eq(v.end, v0.end);

	/* Unregistering one keeps events for the others (their spans overlap). */
	add_notifier(0, a + 30 * PG, PG);
	add_notifier(1, a + 10 * PG, PG);
	uffd_watch_unregister(T.w, &r[0]);
	ccmd("munmap 0x%lx %lu", a + 30 * PG, PG);
	barrier();
	expect_one(0, a + 30 * PG, a + 31 * PG, NOTIFIER_EVENT_UNMAP);
	/* After the last one, nothing is registered: no event at all. */
	uffd_watch_unregister(T.w, &r[1]);
	uffd_watch_unregister(T.w, &r[2]);
	ck_assert_uint_eq(stats().spans, 0);
	/* Unregistering split nothing either. */
	ck_assert_int_eq(vma_find(&src, a + 5 * PG, false, &v), 0);
	ck_assert_uint_eq(v.start, v0.start);
	ck_assert_uint_eq(v.end, a + 30 * PG);
	clear_recs();
	ccmd("munmap 0x%lx %lu", a + 10 * PG, PG);
	ccmd("munmap 0x%lx %lu", a + 50 * PG, PG);
	barrier();
	expect_none(1);
	ck_assert_uint_eq(stats().ev_unmap, 1);
	vma_close(&src);
}
END_TEST

/* ---- another user ------------------------------------------------------ */

START_TEST(test_unprivileged_client)
{
	struct uffd_watch_reg r;
	struct stat sb;
	char proc[64];
	uint64_t a;

	spawn_client(true);
	snprintf(proc, sizeof(proc), "/proc/%d", (int)T.pid);
	ck_assert_int_eq(stat(proc, &sb), 0);
	ck_assert_uint_eq(sb.st_uid, 65534);
	ck_assert_uint_eq(sb.st_gid, 65534);
	attach();
	start_loop();
	a = ccmd("mmap anon %lu", 8 * PG);
	reg(&r, a, 8 * PG);
	add_notifier(0, a + 2 * PG, PG);
	add_notifier(1, a + 6 * PG, PG);
	ccmd("madvise 0x%lx %lu dontneed", a, 4 * PG);
	ccmd("munmap 0x%lx %lu", a + 2 * PG, 2 * PG);
	barrier();
	{
		struct rec want[2] = {
			{ 0, a, a + 4 * PG - 1, NOTIFIER_EVENT_REMOVE },
			{ 0, a + 2 * PG, a + 4 * PG - 1, NOTIFIER_EVENT_UNMAP },
		};
		expect_recs(0, 2, want);
	}
	expect_none(1);
	uffd_watch_unregister(T.w, &r);
}
END_TEST

/* ---- a watcher that dies ------------------------------------------------ */

/* In a forked process: pull the uffd, register, report, never read. */
static void watcher_process(int uffd, uint64_t a, int ready_fd)
{
	struct uffd_watch_reg r;
	struct uffd_watch *w;
	char c = 'r';

	/* The parent's base shares its epoll fd: never use it here. */
	T.base = event_base_new();
	if (!T.base)
		_exit(1);
	if (uffd_watch_open(T.base, T.pid, uffd, &T.nmm, &T.gate, NULL, NULL, &w))
		_exit(2);
	uffd_watch_reg_init(&r);
	if (uffd_watch_register(w, &r, a, 8 * PG))
		_exit(3);
	if (write(ready_fd, &c, 1) != 1)
		_exit(4);
	for (;;)
		pause();
}

START_TEST(test_watcher_dies)
{
	int pipefd[2], uffd, status;
	uint64_t a;
	char c, line[64];
	pid_t wp;

	spawn_client(false);
	uffd = (int)ccmd("uffd");
	a = ccmd("mmap anon %lu", 8 * PG);
	ck_assert_int_eq(pipe(pipefd), 0);
	wp = fork();
	ck_assert_int_ge(wp, 0);
	if (wp == 0)
		watcher_process(uffd, a, pipefd[1]);
	ck_assert_int_eq(read(pipefd[0], &c, 1), 1);
	ccmd("close %d", uffd);

	/* The event is never read: the client blocks in munmap... */
	ck_assert_int_eq(tu_send(&T.child, "munmap 0x%lx %lu", a, PG), 0);
	ck_assert_int_eq(tu_read_line(&T.child, line, sizeof(line), 200), -ETIMEDOUT);
	/* ...until the watcher dies, which releases it. */
	kill(wp, SIGKILL);
	ck_assert_int_eq(waitpid(wp, &status, 0), wp);
	ck_assert_int_eq(tu_read_line(&T.child, line, sizeof(line), TU_TIMEOUT_MS), 0);
	ck_assert_str_eq(line, "ok");
	/* Registered memory left behind never blocks again. */
	ccmd("munmap 0x%lx %lu", a + 4 * PG, 4 * PG);
	close(pipefd[0]);
	close(pipefd[1]);
}
END_TEST

/* ---- the gate ---------------------------------------------------------- */

static bool closing_seen(void *arg)
{
	bool r;

	pthread_mutex_lock(&T.lock);
	r = T.before_lock > 0 && T.closing_seen;
	pthread_mutex_unlock(&T.lock);
	return r;
}

static bool have_recs(void *arg)
{
	bool r;

	pthread_mutex_lock(&T.lock);
	r = T.nrecs > 0;
	pthread_mutex_unlock(&T.lock);
	return r;
}

START_TEST(test_gate_before_read)
{
	struct uffd_watch_reg r;
	uint64_t a = ccmd("mmap anon %lu", 8 * PG);
	char line[64];

	reg(&r, a, 8 * PG);
	add_notifier(0, a, PG);
	ck_assert(!gate_closing(&T.gate));

	/* A device access in progress. */
	ck_assert_int_eq(gate_enter(&T.gate), 0);
	ck_assert_int_eq(tu_send(&T.child, "munmap 0x%lx %lu", a, 8 * PG), 0);
	/* The watcher saw the event and closed the gate before reading... */
	ck_assert(tu_wait_for(closing_seen, NULL, TU_TIMEOUT_MS));
	ck_assert(gate_closing(&T.gate));
	/* ...and cannot read it (the client stays blocked) or apply it. */
	usleep(50000);
	ck_assert(!tu_line_ready(&T.child));
	ck_assert(!have_recs(NULL));
	ck_assert_uint_eq(stats().ev_unmap, 0);
	gate_leave(&T.gate);

	ck_assert(tu_wait_for(have_recs, NULL, TU_TIMEOUT_MS));
	ck_assert_int_eq(tu_read_line(&T.child, line, sizeof(line), TU_TIMEOUT_MS), 0);
	ck_assert_str_eq(line, "ok");
	barrier();
	expect_one(0, a, a + 8 * PG, NOTIFIER_EVENT_UNMAP);
	ck_assert(!gate_closing(&T.gate));
	ck_assert_uint_eq(stats().wakeups, 1);
	uffd_watch_unregister(T.w, &r);
}
END_TEST

/* ---- open errors ------------------------------------------------------- */

START_TEST(test_open_errors)
{
	struct uffd_watch *w = NULL;
	int fd;

	spawn_client(false);
	/* Not a userfaultfd: the client's stdin. */
	ck_assert_int_eq(uffd_watch_open(T.base, T.pid, 0, &T.nmm, &T.gate, NULL, NULL, &w), -ENOTTY);
	/* No such fd in the client. */
	ck_assert_int_eq(uffd_watch_open(T.base, T.pid, 999, &T.nmm, &T.gate, NULL, NULL, &w), -EBADF);
	/* Pulled twice: the second UFFDIO_API fails. */
	fd = (int)ccmd("uffd");
	ck_assert_int_eq(uffd_watch_open(T.base, T.pid, fd, &T.nmm, &T.gate, NULL, NULL, &T.w), 0);
	ck_assert_int_eq(uffd_watch_open(T.base, T.pid, fd, &T.nmm, &T.gate, NULL, NULL, &w), -EINVAL);
	ck_assert_ptr_null(w);
	/* A process that is gone. */
	tu_send(&T.child, "exit 0");
	ck_assert_int_eq(tu_wait_exit(&T.child, TU_TIMEOUT_MS, NULL), 0);
	ck_assert_int_eq(uffd_watch_open(T.base, T.pid, fd, &T.nmm, &T.gate, NULL, NULL, &w), -ESRCH);
}
END_TEST

static Suite *uffd_watch_suite(void)
{
	Suite *s = suite_create("uffd_watch");
	TCase *tc;

	tc = tcase_create("unmap");
	tcase_add_checked_fixture(tc, setup_running, teardown);
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, test_munmap_whole);
	tcase_add_test(tc, test_munmap_partial);
	tcase_add_test(tc, test_map_fixed_over);
	tcase_add_test(tc, test_brk_shrink);
	tcase_add_test(tc, test_mremap_shrink);
	tcase_add_test(tc, test_mremap_move);
	suite_add_tcase(s, tc);

	tc = tcase_create("remove");
	tcase_add_checked_fixture(tc, setup_running, teardown);
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, test_madvise_dontneed);
	tcase_add_test(tc, test_madvise_free);
	tcase_add_test(tc, test_shmem_remove);
	suite_add_tcase(s, tc);

	tc = tcase_create("exit");
	tcase_add_checked_fixture(tc, setup_running, teardown);
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, test_exit_release);
	suite_add_tcase(s, tc);

	tc = tcase_create("register");
	tcase_add_checked_fixture(tc, setup_running, teardown);
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, test_register_errors);
	tcase_add_test(tc, test_register_whole_vmas);
	suite_add_tcase(s, tc);

	/* These set up for themselves (no loop, or another client). */
	tc = tcase_create("clients");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, test_faults_not_trapped);
	tcase_add_test(tc, test_unprivileged_client);
	tcase_add_test(tc, test_watcher_dies);
	tcase_add_test(tc, test_open_errors);
	tcase_add_test(tc, test_close_from_released);
	suite_add_tcase(s, tc);

	tc = tcase_create("gate");
	tcase_add_checked_fixture(tc, setup_running, teardown);
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, test_gate_before_read);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr;
	int failed;

	evthread_use_pthreads();
	sr = srunner_create(uffd_watch_suite());
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
