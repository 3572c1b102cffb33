// SPDX-License-Identifier: MIT
/*
 * Check suite for the daemon's lifecycle (API.md "ugpud" and "daemon
 * gone"): SIGTERM drains jobs in flight (a job the client lets finish
 * completes, a job that never finishes is failed to its waiter), refuses
 * new work while draining, and ends with exit 0 and the mount gone;
 * after a SIGKILL every client call fails promptly and a new daemon on
 * the same mount directory serves new clients; SIGHUP rereads the
 * --config file's limits; the command line's help and usage errors. The
 * daemon is the real build/ugpud (sim backend, FUSE mount on its TCase's
 * directory; tests/lib/ugpud_harness.c), the clients are
 * tests/helpers/lifecycle_client processes whose `ok` / `not ok` lines
 * are asserted (tests/lib/client_harness.c). Every wait is for a state,
 * bounded by a generous limit; the only time bound asserted is the one
 * API.md gives (a never-ending job is failed within the drain time).
 */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "tests/lib/client_harness.h"
#include "tests/lib/suite.h"
#include "tests/lib/testutil.h"
#include "tests/lib/ugpud_harness.h"

#define HELPER		"lifecycle_client"
#define CASE_TIMEOUT	60		/* seconds, per test */
/* Longer than any test: only the drain may end a held job. */
#define HANG_MS		"60000"
/* ugpud drains for 5 s, then cancels and reports; this is the bound. */
#define DRAIN_BOUND_MS	10000

/*
 * The daemon, one mount point per TCase, made and swept by an unchecked
 * fixture in the runner process (tests/lib/ugpud_harness.c), and beside
 * it the --config file of the SIGHUP test. Each test stops its daemon
 * itself and asserts how that went.
 */
static struct ugpud D;
static char config[128];		/* DIR.conf */

static void dir_setup(void)
{
	ugpud_dir_setup(&D, "ugpu-life");
	snprintf(config, sizeof(config), "%s.conf", D.dir);
}

static void dir_teardown(void)
{
	ugpud_dir_teardown(&D);
	unlink(config);
}

/* Held jobs must not hang out before the drain ends them. */
static void daemon_start_nohang(void)
{
	static const char *const flags[] = { "--hang-timeout-ms", HANG_MS, NULL };

	ugpud_start(&D, flags);
}

/* A test that did not get to stop its daemon: no leftovers. */
static void teardown(void)
{
	ugpud_discard(&D);
}

static void run_scenario(const char *scenario, const char *arg)
{
	client_run(HELPER, scenario, D.card0, arg, 3 * TU_TIMEOUT_MS);
}

/* ---- 1. SIGTERM: jobs in flight that finish ---------------------------- */

START_TEST(test_term_jobs_finish)
{
	struct client h;

	daemon_start_nohang();
	client_start(&h, HELPER, "drain-finish", D.card0, NULL);
	client_expect(&h, "ready", TU_TIMEOUT_MS);
	ck_assert_int_eq(kill(D.pid, SIGTERM), 0);
	/* The client sees the drain, then lets its job finish. */
	ck_assert_int_eq(tu_send(&h.p, "release"), 0);
	client_expect(&h, "released", TU_TIMEOUT_MS);
	ugpud_assert_exit(&D, TU_TIMEOUT_MS);
	ck_assert_int_eq(tu_send(&h.p, "gone"), 0);
	client_finish(&h, TU_TIMEOUT_MS);
}
END_TEST

/* ---- 2. SIGTERM: a job that never finishes -------------------------------- */

START_TEST(test_term_job_never_finishes)
{
	struct client h;
	long long t0;
	int ret;

	daemon_start_nohang();
	client_start(&h, HELPER, "drain-hang", D.card0, NULL);
	client_expect(&h, "ready", TU_TIMEOUT_MS);
	t0 = tu_now_ms();
	ck_assert_int_eq(kill(D.pid, SIGTERM), 0);
	ret = client_until(&h, "waited", t0 + DRAIN_BOUND_MS);
	if (ret)
		tu_kill(&h.p);
	ck_assert_msg(ret == 0, "the waiter did not return within %d ms of SIGTERM: %s",
		      DRAIN_BOUND_MS, strerror(-ret));
	ret = atoi(h.line + strlen("waited"));
	fprintf(stderr, "lifecycle_test: ugpu_wait on a job cancelled by SIGTERM: %d (%s)\n",
		ret, strerror(-ret));
	ck_assert_msg(ret == -ECANCELED || ret == -EIO || ret == -ENODEV || ret == -ENOTCONN,
		      "ugpu_wait returned %d (%s)", ret, strerror(-ret));
	ugpud_assert_exit(&D, TU_TIMEOUT_MS);
	ck_assert_int_eq(tu_send(&h.p, "gone"), 0);
	client_finish(&h, TU_TIMEOUT_MS);
}
END_TEST

/* ---- 3. SIGTERM: no new work while draining ------------------------------- */

START_TEST(test_term_refuses_new_work)
{
	struct client h;

	daemon_start_nohang();
	client_start(&h, HELPER, "drain-refuse", D.card0, NULL);
	client_expect(&h, "ready", TU_TIMEOUT_MS);
	ck_assert_int_eq(kill(D.pid, SIGTERM), 0);
	ck_assert_int_eq(tu_send(&h.p, "check"), 0);
	client_finish(&h, TU_TIMEOUT_MS);
	ugpud_assert_exit(&D, TU_TIMEOUT_MS);
}
END_TEST

/* ---- 4. restart after a crash -------------------------------------------- */

START_TEST(test_restart_after_crash)
{
	struct client h;

	daemon_start_nohang();
	client_start(&h, HELPER, "crash", D.card0, NULL);
	client_expect(&h, "ready", TU_TIMEOUT_MS);
	ugpud_kill(&D);
	D.killed = true;
	/* Every call fails and munmap returns, promptly: bounded here. */
	ck_assert_int_eq(tu_send(&h.p, "go"), 0);
	client_finish(&h, TU_TIMEOUT_MS);

	ugpud_start(&D, NULL);		/* on the same mount directory */
	run_scenario("smoke", NULL);
	ugpud_assert_idle(&D);
	ugpud_term(&D);
}
END_TEST

/* ---- 5. SIGHUP rereads the config file ------------------------------------- */

static void write_config(const char *path, const char *text)
{
	char tmp[PATH_MAX];
	FILE *f;

	snprintf(tmp, sizeof(tmp), "%s.new", path);
	f = fopen(tmp, "we");
	ck_assert_ptr_nonnull(f);
	ck_assert_int_ge(fputs(text, f), 0);
	ck_assert_int_eq(fclose(f), 0);
	ck_assert_int_eq(rename(tmp, path), 0);	/* the daemon never reads half */
}

START_TEST(test_sighup_reloads_limits)
{
	const char *flags[] = { "--config", config, NULL };

	write_config(config, "# lifecycle_test\nmax-vms = 2\n");
	ugpud_start(&D, flags);
	run_scenario("vms", "2");
	ugpud_assert_idle(&D);

	write_config(config, "# lifecycle_test, reloaded\nmax-vms = 4\n");
	ck_assert_int_eq(kill(D.pid, SIGHUP), 0);
	/* New clients until one sees the new quota (SIGHUP is asynchronous). */
	run_scenario("vms-reload", "4");
	ugpud_assert_idle(&D);
	ugpud_term(&D);
	unlink(config);
}
END_TEST

/* ---- 6. the command line --------------------------------------------------- */

/*
 * Run ugpud with @args (no mount is made by any of them); return its
 * exit status and, in @out, what it printed on stdout. Its stderr (usage
 * text on errors) is discarded.
 */
static int ugpud_cli(const char *const *args, char *out, size_t len)
{
	char path[PATH_MAX], line[512];
	char *argv[16];
	struct tu_proc p;
	size_t used = 0;
	int n = 0, st = 0, err, saved, null, ret;

	ugpud_path(path, sizeof(path));
	argv[n++] = "ugpud";
	while (args && *args && n < 15)
		argv[n++] = (char *)*args++;
	argv[n] = NULL;

	null = open("/dev/null", O_WRONLY | O_CLOEXEC);
	saved = fcntl(2, F_DUPFD_CLOEXEC, 3);
	ck_assert_msg(null >= 0 && saved >= 0, "/dev/null: %s", strerror(errno));
	fflush(stderr);
	dup2(null, 2);
	err = tu_spawn(&p, path, argv, NULL);
	dup2(saved, 2);
	close(saved);
	close(null);
	ck_assert_int_eq(err, 0);

	out[0] = '\0';
	while (!(ret = tu_read_line(&p, line, sizeof(line), TU_TIMEOUT_MS))) {
		int w = snprintf(out + used, len - used, "%s\n", line);

		if (w > 0 && (size_t)w < len - used)
			used += (size_t)w;
	}
	if (tu_wait_exit(&p, TU_TIMEOUT_MS, &st)) {
		tu_kill(&p);
		ck_abort_msg("ugpud %s did not exit", argv[1]);
	}
	ck_assert_msg(ret == -EPIPE, "reading ugpud's output: %s", strerror(-ret));
	ck_assert_msg(WIFEXITED(st), "ugpud %s ended with status %#x", argv[1], st);
	return WEXITSTATUS(st);
}

START_TEST(test_cli_help)
{
	static const char *const help[] = { "--help", NULL };
	static const char *const words[] = { "--mount", "--cuse", "--backend", "--config" };
	char out[8192];

	ck_assert_int_eq(ugpud_cli(help, out, sizeof(out)), 0);
	for (size_t i = 0; i < sizeof(words) / sizeof(words[0]); i++)
		ck_assert_msg(strstr(out, words[i]), "--help does not mention %s:\n%s", words[i],
			      out);
}
END_TEST

START_TEST(test_cli_unknown_option)
{
	static const char *const args[] = { "--no-such-option", NULL };
	char out[8192];

	ck_assert_int_eq(ugpud_cli(args, out, sizeof(out)), 2);
}
END_TEST

START_TEST(test_cli_mount_and_cuse)
{
	const char *args[] = { "--mount", D.dir, "--cuse", "ugpu-lifecycle-test", NULL };
	char out[8192];

	ck_assert_int_eq(ugpud_cli(args, out, sizeof(out)), 2);
	ck_assert_msg(ugpud_mount_gone(&D), "%s was mounted", D.dir);
}
END_TEST

static TCase *tcase(Suite *s, const char *name)
{
	TCase *tc = tu_tcase(s, name, CASE_TIMEOUT, NULL, teardown);

	tcase_add_unchecked_fixture(tc, dir_setup, dir_teardown);
	return tc;
}

static Suite *lifecycle_suite(void)
{
	Suite *s = suite_create("lifecycle");
	TCase *tc;

	tc = tcase(s, "term_drain");
	tcase_add_test(tc, test_term_jobs_finish);
	tcase_add_test(tc, test_term_job_never_finishes);

	tc = tcase(s, "term_refuse");
	tcase_add_test(tc, test_term_refuses_new_work);

	tc = tcase(s, "crash_restart");
	tcase_add_test(tc, test_restart_after_crash);

	tc = tcase(s, "sighup");
	tcase_add_test(tc, test_sighup_reloads_limits);

	tc = tcase(s, "cli");
	tcase_add_test(tc, test_cli_help);
	tcase_add_test(tc, test_cli_unknown_option);
	tcase_add_test(tc, test_cli_mount_and_cuse);
	return s;
}

int main(void)
{
	return tu_run_suite(lifecycle_suite());
}
