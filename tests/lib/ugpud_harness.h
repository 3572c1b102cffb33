/* SPDX-License-Identifier: MIT */
/*
 * The real daemon for integration tests: build/ugpud (sim backend)
 * started with --mount on a fresh directory, in a process group of its
 * own and with PDEATHSIG, so a failed forked test leaves neither it nor
 * its mount behind; stopped with SIGTERM, which must exit 0 and take the
 * mount with it. A mount an earlier test left dead is detached. Every
 * wait is for a state, bounded by TU_TIMEOUT_MS (SIGTERM: three times).
 * Functions assert (Check) what must not fail.
 */
#ifndef UGPU_TESTS_UGPUD_HARNESS_H
#define UGPU_TESTS_UGPUD_HARNESS_H

#include <stdbool.h>
#include <sys/types.h>

struct ugpud {
	pid_t pid;			/* the daemon, 0 when reaped */
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

#endif
