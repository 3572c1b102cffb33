/* SPDX-License-Identifier: MIT */
/*
 * The harness the FUSE front suites share (front_fuse_requests_test.c,
 * front_fuse_mount_test.c): the front of daemon/front mounted on a fresh
 * directory with a tiny test core behind it (QUERY echoes its input and
 * reports the caller and the opener, WAIT parks until the test kicks a
 * libevent event, VM_DESTROY fails with ENOENT), its loop in a thread of
 * its own as in ugpud, and real client processes
 * (tests/helpers/ioctl_client) driven by one-line commands. The test
 * thread plays the operator; every wait is for a state, bounded by
 * TU_TIMEOUT_MS. Functions assert (Check) what must not fail.
 */
#ifndef UGPU_TESTS_FUSE_HARNESS_H
#define UGPU_TESTS_FUSE_HARNESS_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "front/front.h"
#include "tests/lib/testutil.h"

#define MAX_CLIENTS 3
#define MAX_PARKED 8
#define BIG_LEN 10000		/* the "big" info file: more than one buffer */
#define WAIT_STATUS 42		/* what a kicked WAIT reports */

/* A WAIT the test core holds. */
struct parked {
	struct front_req *req;
	struct ugpu_wait *wait;
};

struct fuse_harness {
	struct event_base *base;
	struct event *kick;		/* completes every parked WAIT */
	struct front *f;
	pthread_t loop;
	bool loop_running;
	char dir[64];			/* the mount point */
	char card0[96];
	char tmpdir[256];		/* helper copy for other users */
	char user_helper[512];
	struct tu_proc c[MAX_CLIENTS];
	pid_t daemon;			/* a front in a child process */

	pthread_mutex_t lock;		/* protects everything below */
	pthread_cond_t cond;
	int opens, releases, cancels, ioctls, ended;
	int bad_session;		/* front_req_session() was wrong */
	pid_t last_release_pid;
	struct parked parked[MAX_PARKED];
	int n_parked;
};

extern struct fuse_harness FF;

/* The test core's ops, with "stats" and "big" info files. */
extern const struct front_ops ff_test_ops;

/**
 * ff_wait_count - wait until *@v >= @want (a counter of FF, under FF.lock)
 * @v:    the counter
 * @want: the value
 *
 * Return: false if it did not get there within TU_TIMEOUT_MS.
 */
bool ff_wait_count(const int *v, int want);

/**
 * ff_count - read a counter of FF under FF.lock
 * @v: the counter
 */
int ff_count(const int *v);

/**
 * ff_stop_loop - stop the loop thread (if running) and join it
 */
void ff_stop_loop(void);

/**
 * ff_is_mounted - is @dir a mount point of this mount namespace?
 * @dir: the directory
 */
bool ff_is_mounted(const char *dir);

/**
 * ff_start_front - mount the front with the test core at FF.dir, start the loop
 * @opts: NULL or the mount options
 */
void ff_start_front(const struct front_opts *opts);

/**
 * ff_setup - checked fixture: loop base, kick event, a fresh FF.dir; nothing mounted
 */
void ff_setup(void);

/**
 * ff_setup_running - checked fixture: ff_setup() and the front mounted and running
 */
void ff_setup_running(void);

/**
 * ff_teardown - checked fixture: kill clients and daemon, stop, assert unmounted
 */
void ff_teardown(void);

/**
 * ff_spawn_client - start client @i, as root or (@uid != 0) as uid:uid
 * @i:   index in FF.c
 * @uid: 0, or the user, from a copy of the helper it can reach
 *
 * Return: the client's pid.
 */
pid_t ff_spawn_client(int i, uid_t uid);

/**
 * ff_ccmd - run a command on client @i
 * @i:   the client
 * @out: NULL or receives the rest of an "ok" reply
 * @len: size of @out
 * @fmt: printf format of the command
 *
 * Return: 0 for "ok", the errno of "err N", or -1 for no reply.
 */
int ff_ccmd(int i, char *out, size_t len, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

/**
 * ff_client_open - client @i opens card0
 * @i: the client
 *
 * Return: the fd number in the client.
 */
int ff_client_open(int i);

/* What a QUERY through the test core returned. */
struct query_out {
	unsigned int abi, engines;
	unsigned long long va_bits, features;
	char backend[17];
};

/**
 * ff_client_query - client @i runs QUERY on its @fd with extensions @ext
 * @i:   the client
 * @fd:  its fd of card0
 * @ext: the extensions field (the test core returns it + 1 as va_bits)
 * @q:   receives the result
 */
void ff_client_query(int i, int fd, unsigned long long ext, struct query_out *q);

/**
 * ff_client_park - start a WAIT on client @i and return once the core holds it
 * @i:             the client
 * @fd:            its fd of card0
 * @parked_before: FF.n_parked before this one
 */
void ff_client_park(int i, int fd, int parked_before);

/**
 * ff_client_wait_reply - the reply to a WAIT sent with ff_client_park()
 * @i:      the client
 * @status: receives the WAIT's status on success
 *
 * Return: 0, or the errno the client got.
 */
int ff_client_wait_reply(int i, int *status);

#endif
