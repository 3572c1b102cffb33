/* SPDX-License-Identifier: MIT */
/*
 * The harness the uffd_watch suites share (uffd_watch_events_test.c,
 * uffd_watch_lifecycle_test.c). The test plays the daemon: a real client
 * process (tests/helpers/uffd_client) driven by one-line commands, its
 * userfaultfd pulled into a watcher (daemon/mm/uffd_watch.c) on a
 * libevent loop run by a thread of its own, and notifiers over client
 * memory that record every invalidation (index, range, event) for the
 * test to assert exactly. Functions assert (Check) what must not fail.
 */
#ifndef UGPU_TESTS_UFFD_HARNESS_H
#define UGPU_TESTS_UFFD_HARNESS_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "core/notifier.h"
#include "mm/gate.h"
#include "mm/uffd_watch.h"
#include "tests/lib/testutil.h"

#define PG 4096ul
#define MAX_NOTIFIERS 8
#define MAX_RECS 64

/* One invalidation a notifier saw. */
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

struct uffd_harness {
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
};

extern struct uffd_harness UW;

/* Notifier ops that record each invalidation in UW.recs. */
extern const struct notifier_ops uw_rec_ops;

/**
 * uw_add_notifier - insert recording notifier @idx over [@start, @start + @len)
 * @idx:   index in UW.tn, and in its records
 * @start: client address
 * @len:   bytes
 */
void uw_add_notifier(int idx, uint64_t start, uint64_t len);

/**
 * uw_expect_recs - assert that exactly @n records hit notifier @idx, @want in order
 * @idx:  the notifier
 * @n:    how many
 * @want: the records
 */
void uw_expect_recs(int idx, int n, const struct rec *want);

/**
 * uw_expect_none - assert that nothing hit notifier @idx
 * @idx: the notifier
 */
void uw_expect_none(int idx);

/**
 * uw_expect_one - assert that notifier @idx saw exactly [@start, @end) with @ev
 * @idx:   the notifier
 * @start: first address
 * @end:   address after the last
 * @ev:    the event
 */
void uw_expect_one(int idx, uint64_t start, uint64_t end, enum notifier_event ev);

/**
 * uw_clear_recs - forget every record so far
 */
void uw_clear_recs(void);

/**
 * uw_start_loop - run UW.base's loop in a thread of its own
 */
void uw_start_loop(void);

/**
 * uw_barrier - wait until the loop ran everything that was active before
 *
 * Once the client returned from a call, the callback that read its
 * events (and applied them before returning) has at least started.
 */
void uw_barrier(void);

/**
 * uw_ccmd - send a command to the client; it must answer "ok [value]"
 * @fmt: printf format of the command
 *
 * Return: the value (0 if none).
 */
uint64_t uw_ccmd(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/**
 * uw_spawn_client - start the client (as root, or as nobody from a copy)
 * @as_nobody: run it as uid/gid 65534
 *
 * Sets UW.child and UW.pid.
 */
void uw_spawn_client(bool as_nobody);

/**
 * uw_on_released - watcher op: count a RELEASE in UW.released
 * @arg: unused
 */
void uw_on_released(void *arg);

/**
 * uw_attach - pull the client's uffd into a watcher (UW.w); the client closes its copy
 */
void uw_attach(void);

/**
 * uw_setup - checked fixture: loop base, notifier mm and gate; no client yet
 */
void uw_setup(void);

/**
 * uw_teardown - checked fixture: stop and free everything, kill the client
 */
void uw_teardown(void);

/**
 * uw_setup_running - checked fixture: client running, watcher attached, loop running
 */
void uw_setup_running(void);

/**
 * uw_reg - uffd_watch_register() @r over [@start, @start + @len), asserted
 * @r:     the registration handle (initialized here)
 * @start: client address
 * @len:   bytes
 */
void uw_reg(struct uffd_watch_reg *r, uint64_t start, uint64_t len);

/**
 * uw_stats - the watcher's counters now
 */
struct uffd_watch_stats uw_stats(void);

#endif
