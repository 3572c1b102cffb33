/* SPDX-License-Identifier: MIT */
/*
 * A client program for integration tests: one of tests/helpers, run as
 * `PROGRAM SCENARIO DEVICE [ARG]` against the test's daemon, that prints
 * one line per check, `ok <check>` or `not ok <check>: <detail>`, plus
 * protocol lines (`ready`, ...) where the test must act in between, and
 * exits 1 if a check failed. Its lines are read with a deadline, echoed
 * to stderr as `  [SCENARIO] LINE`, and its `not ok` lines counted, the
 * first kept for the assertion. The *_problem() functions return what
 * went wrong instead of asserting, so a test can report it together with
 * the daemon's state; the others assert (Check).
 */
#ifndef UGPU_TESTS_CLIENT_HARNESS_H
#define UGPU_TESTS_CLIENT_HARNESS_H

#include <stddef.h>

#include "tests/lib/testutil.h"

struct client {
	struct tu_proc p;
	const char *program;
	const char *scenario;
	int bad;			/* `not ok` lines read so far */
	char first_bad[512];
	char line[512];			/* the last line read */
};

/**
 * client_start - run `@program @scenario @device [@arg]`
 * @h:        receives the process
 * @program:  the helper's name (tests/helpers/<program>.c)
 * @scenario: its first argument
 * @device:   the device node, its second
 * @arg:      a third argument, or NULL
 */
void client_start(struct client *h, const char *program, const char *scenario,
		  const char *device, const char *arg);

/**
 * client_until - read lines until one starts with @stop, or to the end
 * @h:        the client
 * @stop:     the line's start; NULL: until it closes stdout
 * @deadline: tu_now_ms() by which to get there
 *
 * The line read last stays in @h->line.
 * Return: 0 once @stop was read or, without @stop, at the end; -ENOMSG
 * if the client ended without saying @stop; -ETIMEDOUT; -errno.
 */
int client_until(struct client *h, const char *stop, long long deadline);

/**
 * client_expect - assert that the client says @stop in time, with no failed check before
 * @h:          the client (killed if it does not)
 * @stop:       the line's start
 * @timeout_ms: how long it may take
 */
void client_expect(struct client *h, const char *stop, int timeout_ms);

/**
 * client_finish_problem - read to the end and reap: every check passed, exit 0?
 * @h:          the client (killed if it does not finish)
 * @timeout_ms: how long its output may take
 * @buf:        receives the problem, if any
 * @len:        size of @buf
 *
 * Return: NULL, or what went wrong (in @buf).
 */
const char *client_finish_problem(struct client *h, int timeout_ms, char *buf, size_t len);

/**
 * client_finish - assert that client_finish_problem() finds nothing wrong
 * @h:          the client
 * @timeout_ms: how long its output may take
 */
void client_finish(struct client *h, int timeout_ms);

/**
 * client_run_problem - run one scenario to its end: client_start(), client_finish_problem()
 * @program:    the helper
 * @scenario:   the scenario
 * @device:     the device node
 * @timeout_ms: how long its output may take
 * @buf:        receives the problem, if any
 * @len:        size of @buf
 *
 * Return: NULL, or what went wrong.
 */
const char *client_run_problem(const char *program, const char *scenario, const char *device,
			       int timeout_ms, char *buf, size_t len);

/**
 * client_run - run one scenario to its end and assert that all went well
 * @program:    the helper
 * @scenario:   the scenario
 * @device:     the device node
 * @arg:        a third argument, or NULL
 * @timeout_ms: how long its output may take
 */
void client_run(const char *program, const char *scenario, const char *device, const char *arg,
		int timeout_ms);

#endif
