// SPDX-License-Identifier: MIT
/*
 * A client program for integration tests (client_harness.h): starting a
 * helper on the test's device, reading its check and protocol lines with
 * a deadline, and judging how it ended.
 */
#include <check.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>

#include "tests/lib/client_harness.h"

void client_start(struct client *h, const char *program, const char *scenario,
		  const char *device, const char *arg)
{
	char path[PATH_MAX];
	char *argv[] = { (char *)program, (char *)scenario, (char *)device, (char *)arg, NULL };
	int ret;

	memset(h, 0, sizeof(*h));
	h->program = program;
	h->scenario = scenario;
	ret = tu_helper_path(program, path, sizeof(path));
	ck_assert_msg(ret == 0, "helper %s not found (%d; set UGPU_TEST_HELPERS)", program, ret);
	ret = tu_spawn(&h->p, path, argv, NULL);
	ck_assert_msg(ret == 0, "spawn %s: %d", path, ret);
}

int client_until(struct client *h, const char *stop, long long deadline)
{
	int ret;

	for (;;) {
		long long left = deadline - tu_now_ms();

		ret = tu_read_line(&h->p, h->line, sizeof(h->line), left > 0 ? (int)left : 0);
		if (ret == -EPIPE)
			return stop ? -ENOMSG : 0;
		if (ret)
			return ret;
		fprintf(stderr, "  [%s] %s\n", h->scenario, h->line);
		if (!strncmp(h->line, "not ok", 6) && !h->bad++)
			snprintf(h->first_bad, sizeof(h->first_bad), "%s", h->line);
		if (stop && !strncmp(h->line, stop, strlen(stop)))
			return 0;
	}
}

void client_expect(struct client *h, const char *stop, int timeout_ms)
{
	int ret = client_until(h, stop, tu_now_ms() + timeout_ms);

	if (ret)
		tu_kill(&h->p);
	ck_assert_msg(ret == 0, "%s: no '%s' line: %s%s%s", h->scenario, stop, strerror(-ret),
		      h->bad ? "; first failure: " : "", h->first_bad);
	ck_assert_msg(!h->bad, "%s: %s", h->scenario, h->first_bad);
}

const char *client_finish_problem(struct client *h, int timeout_ms, char *buf, size_t len)
{
	int ret = client_until(h, NULL, tu_now_ms() + timeout_ms);
	int st = 0;

	if (ret) {
		tu_kill(&h->p);
		snprintf(buf, len, "%s %s did not finish: %s", h->program, h->scenario,
			 strerror(-ret));
		return buf;
	}
	if (tu_wait_exit(&h->p, TU_TIMEOUT_MS, &st)) {
		tu_kill(&h->p);
		snprintf(buf, len, "%s %s did not exit", h->program, h->scenario);
		return buf;
	}
	if (h->bad) {
		snprintf(buf, len, "%s %s: %d failed checks, first: %s", h->program, h->scenario,
			 h->bad, h->first_bad);
		return buf;
	}
	if (!WIFEXITED(st) || WEXITSTATUS(st)) {
		snprintf(buf, len, "%s %s ended with status %#x", h->program, h->scenario, st);
		return buf;
	}
	return NULL;
}

void client_finish(struct client *h, int timeout_ms)
{
	char buf[768];
	const char *why = client_finish_problem(h, timeout_ms, buf, sizeof(buf));

	ck_assert_msg(!why, "%s", why);
}

const char *client_run_problem(const char *program, const char *scenario, const char *device,
			       int timeout_ms, char *buf, size_t len)
{
	struct client h;

	client_start(&h, program, scenario, device, NULL);
	return client_finish_problem(&h, timeout_ms, buf, len);
}

void client_run(const char *program, const char *scenario, const char *device, const char *arg,
		int timeout_ms)
{
	struct client h;

	client_start(&h, program, scenario, device, arg);
	client_finish(&h, timeout_ms);
}
