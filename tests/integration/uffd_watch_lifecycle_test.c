// SPDX-License-Identifier: MIT
/*
 * Check suite for daemon/mm/uffd_watch.c, the watcher's life with real
 * client processes (tests/helpers/uffd_client): exit gives RELEASE (and
 * the watcher may be closed from it), faults are never trapped,
 * -EBUSY/-EINVAL/-EFAULT at registration and whole VMAs registered
 * without splitting them, an unprivileged client, a dead watcher never
 * hangs the client, the gate is taken before the events are read, and
 * the errors of opening a watcher. The events themselves are in
 * uffd_watch_events_test.c; the harness in tests/lib/uffd_harness.c.
 */
#include <check.h>
#include <errno.h>
#include <event2/event.h>
#include <event2/thread.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "core/notifier.h"
#include "mm/gate.h"
#include "mm/uffd_watch.h"
#include "mm/vma.h"
#include "tests/lib/suite.h"
#include "tests/lib/testutil.h"
#include "tests/lib/uffd_harness.h"

#ifndef UFFD_FEATURE_WP_ASYNC
#define UFFD_FEATURE_WP_ASYNC (1 << 15)
#endif

/* ---- exit --------------------------------------------------------------- */

static bool released(void *arg)
{
	bool r;

	pthread_mutex_lock(&UW.lock);
	r = UW.released > 0;
	pthread_mutex_unlock(&UW.lock);
	return r;
}

START_TEST(test_exit_release)
{
	struct uffd_watch_reg r, r2;
	uint64_t a = uw_ccmd("mmap anon %lu", 8 * PG);
	struct rec all = { 0, 0, UINT64_MAX, NOTIFIER_EVENT_RELEASE };
	int i;

	uw_reg(&r, a, 8 * PG);
	uw_add_notifier(0, a, PG);
	uw_add_notifier(1, a + 4 * PG, PG);
	uw_add_notifier(2, 0x1000, PG);		/* never mapped */
	tu_send(&UW.child, "exit 0");
	ck_assert(tu_wait_for(released, NULL, TU_TIMEOUT_MS));
	for (i = 0; i < 3; i++) {
		all.idx = i;
		uw_expect_recs(i, 1, &all);
	}
	ck_assert_int_eq(UW.released, 1);
	ck_assert(uw_stats().released);
	ck_assert_int_eq(gate_enter(&UW.gate), -ESRCH);
	uffd_watch_reg_init(&r2);
	ck_assert_int_eq(uffd_watch_register(UW.w, &r2, a, PG), -ESRCH);
	ck_assert_int_eq(uffd_watch_register(UW.w, &r, a, 2 * PG), -ESRCH);
	/* A later notifier is refused by the released mm. */
	ck_assert_int_eq(notifier_insert(&UW.tn[3].n, &UW.nmm, a, PG, &uw_rec_ops), -ESRCH);
	uffd_watch_unregister(UW.w, &r);
}
END_TEST

static void close_in_released(void *arg)
{
	/* The daemon's client teardown may run right here. */
	uffd_watch_close(UW.w);
	UW.w = NULL;
	uw_on_released(arg);
}

START_TEST(test_close_from_released)
{
	static const struct uffd_watch_ops ops = { .released = close_in_released };
	struct uffd_watch_reg r;
	uint64_t a;
	int fd;

	uw_spawn_client(false);
	fd = (int)uw_ccmd("uffd");
	ck_assert_int_eq(uffd_watch_open(UW.base, UW.pid, fd, &UW.nmm, &UW.gate, &ops,
					 NULL, &UW.w), 0);
	uw_ccmd("close %d", fd);
	uw_start_loop();
	a = uw_ccmd("mmap anon %lu", 8 * PG);
	uw_reg(&r, a, 8 * PG);
	uw_add_notifier(0, a, PG);
	tu_send(&UW.child, "exit 0");
	ck_assert(tu_wait_for(released, NULL, TU_TIMEOUT_MS));
	uw_barrier();
	ck_assert_ptr_null(UW.w);
	ck_assert(!r.linked);		/* close unlinked it */
	uffd_watch_unregister(NULL, &r);	/* a no-op on an unlinked handle */
	{
		struct rec all = { 0, 0, UINT64_MAX, NOTIFIER_EVENT_RELEASE };

		uw_expect_recs(0, 1, &all);
	}
}
END_TEST

/* ---- registration ----------------------------------------------------- */

START_TEST(test_faults_not_trapped)
{
	struct uffd_watch_reg ra, rm;
	uint64_t a, m;

	/* Nobody reads the uffd: a trapped fault would hang the client. */
	uw_spawn_client(false);
	uw_attach();
	a = uw_ccmd("mmap anon %lu", 256 * PG);
	m = uw_ccmd("mmap memfd %lu", 64 * PG);
	uw_reg(&ra, a, 256 * PG);
	uw_reg(&rm, m, 64 * PG);
	uw_ccmd("touch 0x%lx %lu", a, 256 * PG);
	uw_ccmd("touch 0x%lx %lu", m, 64 * PG);
	uw_ccmd("fill 0x%lx %lu 7", a, 8 * PG);
	ck_assert_uint_eq(uw_ccmd("peek 0x%lx", a + 8 * PG - 1), 7);
	ck_assert_uint_eq(uw_stats().wakeups, 0);
	uffd_watch_unregister(UW.w, &ra);
	uffd_watch_unregister(UW.w, &rm);
}
END_TEST

START_TEST(test_register_errors)
{
	struct uffd_watch_reg r;
	uint64_t a = uw_ccmd("mmap anon %lu", 8 * PG);
	uint64_t f = uw_ccmd("mmap file:%s %lu", UW.file, 4 * PG);

	uffd_watch_reg_init(&r);
	ck_assert_int_eq(uffd_watch_register(UW.w, &r, a, 0), -EINVAL);
	ck_assert_int_eq(uffd_watch_register(UW.w, &r, UINT64_MAX - PG, 2 * PG), -EOVERFLOW);
	/*
	 * A regular file on disk: watchable only with WP_ASYNC (6.7+), which
	 * the watcher asks for when the kernel has it.
	 */
	if (uffd_watch_features(UW.w) & UFFD_FEATURE_WP_ASYNC) {
		ck_assert_int_eq(uffd_watch_register(UW.w, &r, f, PG), 0);
		uffd_watch_unregister(UW.w, &r);
	} else {
		ck_assert_int_eq(uffd_watch_register(UW.w, &r, f, PG), -EINVAL);
	}
	/* Holes. */
	uw_ccmd("munmap 0x%lx %lu", a + 4 * PG, PG);
	ck_assert_int_eq(uffd_watch_register(UW.w, &r, a + 4 * PG, PG), -EFAULT);
	ck_assert_int_eq(uffd_watch_register(UW.w, &r, a, 8 * PG), -EFAULT);
	ck_assert_int_eq(uffd_watch_register(UW.w, &r, 0x1000, PG), -EFAULT);
	ck_assert(!r.linked);
	/* Already registered to the client's own second uffd. */
	uw_ccmd("uffd2 0x%lx %lu", a + 5 * PG, 3 * PG);
	ck_assert_int_eq(uffd_watch_register(UW.w, &r, a + 6 * PG, PG), -EBUSY);
	ck_assert(!r.linked);
	/* The rest still works, and a failed re-registration keeps the old one. */
	ck_assert_int_eq(uffd_watch_register(UW.w, &r, a, 4 * PG), 0);
	ck_assert_int_eq(uffd_watch_register(UW.w, &r, a + 6 * PG, PG), -EBUSY);
	ck_assert(r.linked);
	ck_assert_uint_eq(uw_stats().spans, 1);
	uffd_watch_unregister(UW.w, &r);
	ck_assert_uint_eq(uw_stats().spans, 0);
}
END_TEST

START_TEST(test_register_whole_vmas)
{
	struct uffd_watch_reg r[3];
	struct vma_src src;
	struct vma_info v0, v;
	uint64_t a = uw_ccmd("mmap anon %lu", 64 * PG);
	int i;

	/* Small ranges inside one VMA (maybe merged with neighbours) must not split it. */
	ck_assert_int_eq(vma_open(UW.pid, &src), 0);
	ck_assert_int_eq(vma_find(&src, a, false, &v0), 0);
	for (i = 0; i < 3; i++)
		uw_reg(&r[i], a + (uint64_t)(10 + 20 * i) * PG + 100, 50);
	ck_assert_int_eq(vma_find(&src, a + 30 * PG, false, &v), 0);
	ck_assert_uint_eq(v.start, v0.start);
	ck_assert_uint_eq(v.end, v0.end);

	/* Unregistering one keeps events for the others (their spans overlap). */
	uw_add_notifier(0, a + 30 * PG, PG);
	uw_add_notifier(1, a + 10 * PG, PG);
	uffd_watch_unregister(UW.w, &r[0]);
	uw_ccmd("munmap 0x%lx %lu", a + 30 * PG, PG);
	uw_barrier();
	uw_expect_one(0, a + 30 * PG, a + 31 * PG, NOTIFIER_EVENT_UNMAP);
	/* After the last one, nothing is registered: no event at all. */
	uffd_watch_unregister(UW.w, &r[1]);
	uffd_watch_unregister(UW.w, &r[2]);
	ck_assert_uint_eq(uw_stats().spans, 0);
	/* Unregistering split nothing either. */
	ck_assert_int_eq(vma_find(&src, a + 5 * PG, false, &v), 0);
	ck_assert_uint_eq(v.start, v0.start);
	ck_assert_uint_eq(v.end, a + 30 * PG);
	uw_clear_recs();
	uw_ccmd("munmap 0x%lx %lu", a + 10 * PG, PG);
	uw_ccmd("munmap 0x%lx %lu", a + 50 * PG, PG);
	uw_barrier();
	uw_expect_none(1);
	ck_assert_uint_eq(uw_stats().ev_unmap, 1);
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

	uw_spawn_client(true);
	snprintf(proc, sizeof(proc), "/proc/%d", (int)UW.pid);
	ck_assert_int_eq(stat(proc, &sb), 0);
	ck_assert_uint_eq(sb.st_uid, 65534);
	ck_assert_uint_eq(sb.st_gid, 65534);
	uw_attach();
	uw_start_loop();
	a = uw_ccmd("mmap anon %lu", 8 * PG);
	uw_reg(&r, a, 8 * PG);
	uw_add_notifier(0, a + 2 * PG, PG);
	uw_add_notifier(1, a + 6 * PG, PG);
	uw_ccmd("madvise 0x%lx %lu dontneed", a, 4 * PG);
	uw_ccmd("munmap 0x%lx %lu", a + 2 * PG, 2 * PG);
	uw_barrier();
	{
		struct rec want[2] = {
			{ 0, a, a + 4 * PG - 1, NOTIFIER_EVENT_REMOVE },
			{ 0, a + 2 * PG, a + 4 * PG - 1, NOTIFIER_EVENT_UNMAP },
		};
		uw_expect_recs(0, 2, want);
	}
	uw_expect_none(1);
	uffd_watch_unregister(UW.w, &r);
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
	UW.base = event_base_new();
	if (!UW.base)
		_exit(1);
	if (uffd_watch_open(UW.base, UW.pid, uffd, &UW.nmm, &UW.gate, NULL, NULL, &w))
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

	uw_spawn_client(false);
	uffd = (int)uw_ccmd("uffd");
	a = uw_ccmd("mmap anon %lu", 8 * PG);
	ck_assert_int_eq(pipe(pipefd), 0);
	wp = fork();
	ck_assert_int_ge(wp, 0);
	if (wp == 0)
		watcher_process(uffd, a, pipefd[1]);
	ck_assert_int_eq(read(pipefd[0], &c, 1), 1);
	uw_ccmd("close %d", uffd);

	/* The event is never read: the client blocks in munmap... */
	ck_assert_int_eq(tu_send(&UW.child, "munmap 0x%lx %lu", a, PG), 0);
	ck_assert_int_eq(tu_read_line(&UW.child, line, sizeof(line), 200), -ETIMEDOUT);
	/* ...until the watcher dies, which releases it. */
	kill(wp, SIGKILL);
	ck_assert_int_eq(waitpid(wp, &status, 0), wp);
	ck_assert_int_eq(tu_read_line(&UW.child, line, sizeof(line), TU_TIMEOUT_MS), 0);
	ck_assert_str_eq(line, "ok");
	/* Registered memory left behind never blocks again. */
	uw_ccmd("munmap 0x%lx %lu", a + 4 * PG, 4 * PG);
	close(pipefd[0]);
	close(pipefd[1]);
}
END_TEST

/* ---- the gate ---------------------------------------------------------- */

static bool closing_seen(void *arg)
{
	bool r;

	pthread_mutex_lock(&UW.lock);
	r = UW.before_lock > 0 && UW.closing_seen;
	pthread_mutex_unlock(&UW.lock);
	return r;
}

static bool have_recs(void *arg)
{
	bool r;

	pthread_mutex_lock(&UW.lock);
	r = UW.nrecs > 0;
	pthread_mutex_unlock(&UW.lock);
	return r;
}

START_TEST(test_gate_before_read)
{
	struct uffd_watch_reg r;
	uint64_t a = uw_ccmd("mmap anon %lu", 8 * PG);
	char line[64];

	uw_reg(&r, a, 8 * PG);
	uw_add_notifier(0, a, PG);
	ck_assert(!gate_closing(&UW.gate));

	/* A device access in progress. */
	ck_assert_int_eq(gate_enter(&UW.gate), 0);
	ck_assert_int_eq(tu_send(&UW.child, "munmap 0x%lx %lu", a, 8 * PG), 0);
	/* The watcher saw the event and closed the gate before reading... */
	ck_assert(tu_wait_for(closing_seen, NULL, TU_TIMEOUT_MS));
	ck_assert(gate_closing(&UW.gate));
	/* ...and cannot read it (the client stays blocked) or apply it. */
	usleep(50000);
	ck_assert(!tu_line_ready(&UW.child));
	ck_assert(!have_recs(NULL));
	ck_assert_uint_eq(uw_stats().ev_unmap, 0);
	gate_leave(&UW.gate);

	ck_assert(tu_wait_for(have_recs, NULL, TU_TIMEOUT_MS));
	ck_assert_int_eq(tu_read_line(&UW.child, line, sizeof(line), TU_TIMEOUT_MS), 0);
	ck_assert_str_eq(line, "ok");
	uw_barrier();
	uw_expect_one(0, a, a + 8 * PG, NOTIFIER_EVENT_UNMAP);
	ck_assert(!gate_closing(&UW.gate));
	ck_assert_uint_eq(uw_stats().wakeups, 1);
	uffd_watch_unregister(UW.w, &r);
}
END_TEST

/* ---- open errors ------------------------------------------------------- */

START_TEST(test_open_errors)
{
	struct uffd_watch *w = NULL;
	int fd;

	uw_spawn_client(false);
	/* Not a userfaultfd: the client's stdin. */
	ck_assert_int_eq(uffd_watch_open(UW.base, UW.pid, 0, &UW.nmm, &UW.gate, NULL, NULL, &w),
			 -ENOTTY);
	/* No such fd in the client. */
	ck_assert_int_eq(uffd_watch_open(UW.base, UW.pid, 999, &UW.nmm, &UW.gate, NULL, NULL, &w),
			 -EBADF);
	/* Pulled twice: the second UFFDIO_API fails. */
	fd = (int)uw_ccmd("uffd");
	ck_assert_int_eq(uffd_watch_open(UW.base, UW.pid, fd, &UW.nmm, &UW.gate, NULL, NULL, &UW.w),
			 0);
	ck_assert_int_eq(uffd_watch_open(UW.base, UW.pid, fd, &UW.nmm, &UW.gate, NULL, NULL, &w),
			 -EINVAL);
	ck_assert_ptr_null(w);
	/* A process that is gone. */
	tu_send(&UW.child, "exit 0");
	ck_assert_int_eq(tu_wait_exit(&UW.child, TU_TIMEOUT_MS, NULL), 0);
	ck_assert_int_eq(uffd_watch_open(UW.base, UW.pid, fd, &UW.nmm, &UW.gate, NULL, NULL, &w),
			 -ESRCH);
}
END_TEST

static Suite *uffd_watch_lifecycle_suite(void)
{
	Suite *s = suite_create("uffd_watch_lifecycle");
	TCase *tc;

	tc = tu_tcase(s, "exit", 30, uw_setup_running, uw_teardown);
	tcase_add_test(tc, test_exit_release);

	tc = tu_tcase(s, "register", 30, uw_setup_running, uw_teardown);
	tcase_add_test(tc, test_register_errors);
	tcase_add_test(tc, test_register_whole_vmas);

	/* These set up for themselves (no loop, or another client). */
	tc = tu_tcase(s, "clients", 30, uw_setup, uw_teardown);
	tcase_add_test(tc, test_faults_not_trapped);
	tcase_add_test(tc, test_unprivileged_client);
	tcase_add_test(tc, test_watcher_dies);
	tcase_add_test(tc, test_open_errors);
	tcase_add_test(tc, test_close_from_released);

	tc = tu_tcase(s, "gate", 30, uw_setup_running, uw_teardown);
	tcase_add_test(tc, test_gate_before_read);
	return s;
}

int main(void)
{
	evthread_use_pthreads();
	return tu_run_suite(uffd_watch_lifecycle_suite());
}
