/* SPDX-License-Identifier: MIT */
/*
 * The real daemon for integration tests: build/ugpud (sim backend)
 * started with --mount on a fresh directory, in a process group of its
 * own and with PDEATHSIG, so a failed forked test leaves neither it nor
 * its mount behind; stopped with SIGTERM, which must exit 0 and take the
 * mount with it. A mount an earlier test left dead is detached. Every
 * wait is for a state, bounded by TU_TIMEOUT_MS (SIGTERM: three times).
 * Functions assert (Check) what must not fail; the *_problem() ones
 * return what is wrong instead, so a test can report several at once.
 * Suites that stop the daemon themselves, and assert how it went, use
 * ugpud_term() or ugpud_assert_exit() and tear down with ugpud_discard();
 * the stats file is read into struct ugpud_stats.
 */
#ifndef UGPU_TESTS_UGPUD_HARNESS_H
#define UGPU_TESTS_UGPUD_HARNESS_H

#include <stdbool.h>
#include <sys/types.h>

struct ugpud {
	pid_t pid;			/* the daemon, 0 when reaped */
	int status;			/* its wait status, once reaped */
	bool up;			/* started and not yet stopped */
	bool killed;			/* the test SIGKILLed it */
	char dir[64];			/* the mount point */
	char card0[128];
	char stats[128];
};

/**
 * ugpud_dir_setup - make the mount point: a fresh directory /tmp/<@name>.XXXXXX
 * @d:    the daemon (card0 and stats paths are set too)
 * @name: the directory's prefix
 *
 * For an unchecked fixture: the runner process makes it once per TCase.
 */
void ugpud_dir_setup(struct ugpud *d, const char *name);

/**
 * ugpud_dir_teardown - detach whatever mount is left on @d's directory, remove it
 * @d: the daemon
 */
void ugpud_dir_teardown(struct ugpud *d);

/**
 * ugpud_start - start ugpud --mount on @d's directory and wait for card0
 * @d:     the daemon
 * @extra: more flags, NULL-terminated, or NULL
 *
 * Finds the daemon in $UGPU_BUILD, else next to the test's build tree.
 */
void ugpud_start(struct ugpud *d, const char *const *extra);

/**
 * ugpud_stop - SIGTERM the daemon (unless the test killed it) and assert
 *		that it exits 0 and its mount goes
 * @d: the daemon; a no-op unless started
 */
void ugpud_stop(struct ugpud *d);

/**
 * ugpud_kill - SIGKILL the daemon and reap it
 * @d: the daemon; a no-op once reaped
 */
void ugpud_kill(struct ugpud *d);

/**
 * ugpud_mount_gone - is @d's directory no FUSE mount (live or dead) any more?
 * @d: the daemon (void * for tu_wait_for())
 */
bool ugpud_mount_gone(void *d);

/**
 * ugpud_path - the daemon binary: $UGPU_BUILD/ugpud, else next to the test's build tree
 * @buf: receives the path
 * @len: size of @buf
 */
void ugpud_path(char *buf, size_t len);

/**
 * ugpud_running - is the daemon still running (started, not exited)?
 * @d: the daemon; reaped (pid 0, status kept) if it has exited
 */
bool ugpud_running(struct ugpud *d);

/**
 * ugpud_exit_problem - wait for the daemon to exit after a signal the test sent
 * @d:          the daemon
 * @timeout_ms: how long it may take
 * @buf:        receives the problem, if any
 * @len:        size of @buf
 *
 * The daemon must exit within @timeout_ms, with status 0, and its mount
 * must be gone the moment it has exited. A daemon that does not exit is
 * left running (ugpud_discard() ends it).
 * Return: NULL, or what is wrong (@buf or a constant string).
 */
const char *ugpud_exit_problem(struct ugpud *d, int timeout_ms, char *buf, size_t len);

/**
 * ugpud_assert_exit - assert that ugpud_exit_problem() finds nothing wrong
 * @d:          the daemon
 * @timeout_ms: how long it may take to exit
 */
void ugpud_assert_exit(struct ugpud *d, int timeout_ms);

/**
 * ugpud_term_problem - SIGTERM the daemon, then ugpud_exit_problem() within TU_TIMEOUT_MS
 * @d:   the daemon; it must be running
 * @buf: receives the problem, if any
 * @len: size of @buf
 *
 * Return: NULL, or what is wrong.
 */
const char *ugpud_term_problem(struct ugpud *d, char *buf, size_t len);

/**
 * ugpud_term - assert that ugpud_term_problem() finds nothing wrong
 * @d: the daemon
 */
void ugpud_term(struct ugpud *d);

/**
 * ugpud_discard - teardown for a test that stops its daemon itself
 * @d: the daemon
 *
 * If the test did not get to stop it: SIGKILL, reap, detach the mount.
 * Asserts nothing (the test has already failed).
 */
void ugpud_discard(struct ugpud *d);

/* What DIR/stats says; a field it does not have reads -1. */
struct ugpud_stats {
	long long clients, vms, bos, userptrs, bound_bytes;
	long long jobs_submitted, jobs_completed, jobs_failed, invalidations;
};

/**
 * ugpud_stats_text - read DIR/stats as it is (JSON)
 * @d:   the daemon
 * @buf: receives the text, NUL-terminated
 * @len: size of @buf
 *
 * Return: 0, -ENODATA if it is empty, or -errno.
 */
int ugpud_stats_text(struct ugpud *d, char *buf, size_t len);

/**
 * ugpud_stats_field - the number after "@key": in @json
 * @json: the stats text
 * @key:  the field
 *
 * Return: the number, or -1 if @json has no such field.
 */
long long ugpud_stats_field(const char *json, const char *key);

/**
 * ugpud_stats - read DIR/stats into @st
 * @d:  the daemon
 * @st: receives the fields
 *
 * Return: as ugpud_stats_text().
 */
int ugpud_stats(struct ugpud *d, struct ugpud_stats *st);

/**
 * ugpud_stats_idle_json - does this stats JSON show no clients, VMs, BOs,
 * userptrs or bound bytes?
 * @json: the text of DIR/stats
 */
bool ugpud_stats_idle_json(const char *json);

/**
 * ugpud_idle_problem - every client gone: the daemon holds nothing for them and still runs
 * @d:   the daemon
 * @buf: receives the problem, if any
 * @len: size of @buf
 *
 * Waits (TU_TIMEOUT_MS) for stats to show zero clients, VMs, BOs,
 * userptrs and bound bytes.
 * Return: NULL, or what is wrong.
 */
const char *ugpud_idle_problem(struct ugpud *d, char *buf, size_t len);

/**
 * ugpud_assert_idle - assert that ugpud_idle_problem() finds nothing wrong
 * @d: the daemon
 */
void ugpud_assert_idle(struct ugpud *d);

#endif
