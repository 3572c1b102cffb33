// SPDX-License-Identifier: MIT
/*
 * The uffd_watch suites' harness (uffd_harness.h): recording notifiers,
 * the event loop thread and its barrier, the client and its commands,
 * the watcher and the checked fixtures.
 */
#include <check.h>
#include <errno.h>
#include <event2/event.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "tests/lib/uffd_harness.h"

struct uffd_harness UW;

/* ---- notifiers that record what hits them ---------------------------- */

static bool record_invalidate(struct notifier *n, const struct notifier_range *r,
			      uint64_t cur_seq)
{
	struct tnotifier *tn = container_of(n, struct tnotifier, n);

	pthread_mutex_lock(&UW.lock);
	notifier_set_seq(n, cur_seq);
	if (UW.nrecs < MAX_RECS)
		UW.recs[UW.nrecs++] = (struct rec){ tn->idx, r->start, r->last, r->event };
	pthread_cond_broadcast(&UW.cond);
	pthread_mutex_unlock(&UW.lock);
	return true;
}

const struct notifier_ops uw_rec_ops = { .invalidate = record_invalidate };

void uw_add_notifier(int idx, uint64_t start, uint64_t len)
{
	UW.tn[idx].idx = idx;
	ck_assert_int_eq(notifier_insert(&UW.tn[idx].n, &UW.nmm, start, len, &uw_rec_ops), 0);
	UW.tn[idx].inserted = true;
}

/* Exactly @n records hit notifier @idx, equal to @want in order. */
void uw_expect_recs(int idx, int n, const struct rec *want)
{
	int i, got = 0;

	pthread_mutex_lock(&UW.lock);
	for (i = 0; i < UW.nrecs; i++) {
		const struct rec *r = &UW.recs[i];

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
	pthread_mutex_unlock(&UW.lock);
	ck_assert_msg(got == n, "notifier %d: %d records, want %d", idx, got, n);
}

void uw_expect_none(int idx)
{
	uw_expect_recs(idx, 0, NULL);
}

void uw_expect_one(int idx, uint64_t start, uint64_t end, enum notifier_event ev)
{
	struct rec r = { idx, start, end - 1, ev };

	uw_expect_recs(idx, 1, &r);
}

void uw_clear_recs(void)
{
	pthread_mutex_lock(&UW.lock);
	UW.nrecs = 0;
	pthread_mutex_unlock(&UW.lock);
}

/* ---- the event loop thread -------------------------------------------- */

static void *loop_main(void *arg)
{
	event_base_loop(UW.base, EVLOOP_NO_EXIT_ON_EMPTY);
	return NULL;
}

void uw_start_loop(void)
{
	ck_assert_int_eq(pthread_create(&UW.loop, NULL, loop_main, NULL), 0);
	UW.loop_running = true;
	/* event_base_loop() clears a loopbreak that came before it started. */
	uw_barrier();
}

static void stop_loop(void)
{
	if (!UW.loop_running)
		return;
	event_base_loopbreak(UW.base);
	pthread_join(UW.loop, NULL);
	UW.loop_running = false;
}

static void barrier_cb(evutil_socket_t fd, short what, void *arg)
{
	pthread_mutex_lock(&UW.lock);
	UW.barriers++;
	pthread_cond_broadcast(&UW.cond);
	pthread_mutex_unlock(&UW.lock);
}

/*
 * Wait until the loop ran everything that was active before: the client
 * returned from its call, so the callback that read its events (and
 * applied them before returning) has at least started.
 */
void uw_barrier(void)
{
	struct timeval now = { 0, 0 };
	struct timespec until;
	unsigned long want;

	ck_assert(UW.loop_running);
	pthread_mutex_lock(&UW.lock);
	want = UW.barriers + 1;
	pthread_mutex_unlock(&UW.lock);
	ck_assert_int_eq(event_base_once(UW.base, -1, EV_TIMEOUT, barrier_cb, NULL, &now), 0);
	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += TU_TIMEOUT_MS / 1000;
	pthread_mutex_lock(&UW.lock);
	while (UW.barriers < want) {
		if (pthread_cond_timedwait(&UW.cond, &UW.lock, &until) == ETIMEDOUT)
			break;
	}
	ck_assert_msg(UW.barriers >= want, "event loop stuck");
	pthread_mutex_unlock(&UW.lock);
}

/* ---- the client ------------------------------------------------------- */

static int vcmd(char *reply, size_t len, const char *fmt, va_list ap)
{
	char line[256];

	vsnprintf(line, sizeof(line), fmt, ap);
	return tu_cmd(&UW.child, reply, len, "%s", line);
}

/* A command that must answer "ok [value]": returns the value. */
uint64_t uw_ccmd(const char *fmt, ...)
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

void uw_spawn_client(bool as_nobody)
{
	struct tu_spawn_opts opts = { .as_user = true, .uid = 65534, .gid = 65534 };
	char path[512], copy[512];
	char *argv[] = { "uffd_client", NULL };

	ck_assert_int_eq(tu_helper_path("uffd_client", path, sizeof(path)), 0);
	if (as_nobody) {
		ck_assert_int_eq(tu_copy_for_user(path, UW.tmpdir, sizeof(UW.tmpdir),
						  copy, sizeof(copy)), 0);
		ck_assert_int_eq(tu_spawn(&UW.child, copy, argv, &opts), 0);
	} else {
		ck_assert_int_eq(tu_spawn(&UW.child, path, argv, NULL), 0);
	}
	UW.pid = (pid_t)uw_ccmd("pid");
}

/* ---- the watcher ------------------------------------------------------ */

static void on_before_lock(void *arg)
{
	pthread_mutex_lock(&UW.lock);
	UW.before_lock++;
	UW.closing_seen = gate_closing(&UW.gate);
	pthread_cond_broadcast(&UW.cond);
	pthread_mutex_unlock(&UW.lock);
}

void uw_on_released(void *arg)
{
	pthread_mutex_lock(&UW.lock);
	UW.released++;
	pthread_cond_broadcast(&UW.cond);
	pthread_mutex_unlock(&UW.lock);
}

static const struct uffd_watch_ops watch_ops = {
	.before_lock = on_before_lock,
	.released = uw_on_released,
};

/* Pull the client's uffd into a watcher; the client closes its copy. */
void uw_attach(void)
{
	int fd = (int)uw_ccmd("uffd");

	ck_assert_int_eq(uffd_watch_open(UW.base, UW.pid, fd, &UW.nmm, &UW.gate,
					 &watch_ops, NULL, &UW.w), 0);
	uw_ccmd("close %d", fd);
}

void uw_setup(void)
{
	memset(&UW, 0, sizeof(UW));
	pthread_mutex_init(&UW.lock, NULL);
	pthread_cond_init(&UW.cond, NULL);
	UW.base = event_base_new();
	ck_assert_ptr_nonnull(UW.base);
	ck_assert_int_eq(notifier_mm_init(&UW.nmm), 0);
	ck_assert_int_eq(gate_init(&UW.gate), 0);
	snprintf(UW.file, sizeof(UW.file), "/tmp/ugpu-uffd-test.%d", (int)getpid());
}

void uw_teardown(void)
{
	int i;

	stop_loop();
	uffd_watch_close(UW.w);
	tu_kill(&UW.child);
	for (i = 0; i < MAX_NOTIFIERS; i++)
		if (UW.tn[i].inserted)
			notifier_remove(&UW.tn[i].n);
	notifier_mm_destroy(&UW.nmm);
	gate_destroy(&UW.gate);
	event_base_free(UW.base);
	if (UW.tmpdir[0])
		tu_rmdir(UW.tmpdir);
	unlink(UW.file);
	pthread_cond_destroy(&UW.cond);
	pthread_mutex_destroy(&UW.lock);
}

/* Client running, watcher attached, loop running. */
void uw_setup_running(void)
{
	uw_setup();
	uw_spawn_client(false);
	uw_attach();
	uw_start_loop();
}

void uw_reg(struct uffd_watch_reg *r, uint64_t start, uint64_t len)
{
	uffd_watch_reg_init(r);
	ck_assert_int_eq(uffd_watch_register(UW.w, r, start, len), 0);
}

struct uffd_watch_stats uw_stats(void)
{
	struct uffd_watch_stats st;

	uffd_watch_get_stats(UW.w, &st);
	return st;
}
