// SPDX-License-Identifier: MIT
/*
 * Check suite for the daemon's safety against client memory that goes
 * bad under it: BO import accepts only memfds sealed against shrinking
 * (and is zero copy), userptrs on shared memory the client truncates fail
 * their jobs with -EFAULT instead of crashing the daemon, large BO
 * pread/pwrite (copied on a daemon worker) are checked end to end by a
 * GPU CRC32C, fail cleanly on holes, leave the event loop free for other
 * ioctls and survive the client's SIGKILL, and a forked child cannot copy
 * through its parent's device. Each test starts the real build/ugpud
 * (sim backend, FUSE mount on its TCase's directory;
 * tests/lib/ugpud_harness.c) and runs the client program
 * tests/helpers/memsafety_client, whose `ok` / `not ok` lines are
 * asserted (tests/lib/client_harness.c); afterwards the daemon must
 * still run, serve a new client, return its stats to zero and exit 0 on
 * SIGTERM. Every wait is for a state, bounded by a generous limit;
 * nothing asserts timing.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#include "tests/lib/client_harness.h"
#include "tests/lib/suite.h"
#include "tests/lib/testutil.h"
#include "tests/lib/ugpud_harness.h"

#define HELPER		"memsafety_client"
#define CASE_TIMEOUT	60		/* seconds, per test */
#define SCENARIO_MS	(3 * TU_TIMEOUT_MS)
/* Long jobs (a 16 MiB CHECKSUM under ASan) must not count as hangs. */
#define HANG_MS		"60000"

/*
 * The daemon, one mount point per TCase, made and swept by an unchecked
 * fixture in the runner process (tests/lib/ugpud_harness.c). Each test
 * stops its daemon itself and asserts how that went.
 */
static struct ugpud D;

static void dir_setup(void)
{
	ugpud_dir_setup(&D, "ugpu-memsafety");
}

static void dir_teardown(void)
{
	ugpud_dir_teardown(&D);
}

static void setup(void)
{
	static const char *const flags[] = { "--hang-timeout-ms", HANG_MS, NULL };

	ugpud_start(&D, flags);
}

/* A test that did not get to stop its daemon: no leftovers. */
static void teardown(void)
{
	ugpud_discard(&D);
}

/* Run @scenario to its end: every check passed, exit 0. */
static void run_scenario(const char *scenario)
{
	client_run(HELPER, scenario, D.card0, NULL, SCENARIO_MS);
}

/* The daemon survived: stats readable, a new client works, all released. */
static void assert_survived(void)
{
	struct ugpud_stats st;

	ck_assert_msg(ugpud_running(&D), "ugpud died");
	ck_assert_int_eq(ugpud_stats(&D, &st), 0);
	run_scenario("smoke");
	ugpud_assert_idle(&D);
	ugpud_term(&D);
}

static void scenario_test(const char *scenario)
{
	run_scenario(scenario);
	assert_survived();
}

/* ---- 1. BO import ------------------------------------------------------ */

START_TEST(test_bo_import)
{
	scenario_test("import");
}
END_TEST

/* ---- 2. truncation under a userptr --------------------------------------- */

START_TEST(test_truncate_unsealed_memfd)
{
	scenario_test("truncate-memfd");
}
END_TEST

START_TEST(test_truncate_sealed_host_alloc)
{
	scenario_test("truncate-sealed");
}
END_TEST

START_TEST(test_truncate_shared_anonymous)
{
	scenario_test("truncate-anon");
}
END_TEST

/* ---- 3. large BO pread/pwrite -------------------------------------------- */

START_TEST(test_large_rw)
{
	scenario_test("large-rw");
}
END_TEST

START_TEST(test_large_rw_beside_ioctls)
{
	scenario_test("large-concurrent");
}
END_TEST

/* The system call @pid's main thread is blocked in, or -1. */
static long proc_syscall(pid_t pid)
{
	char path[64], buf[64];
	long nr = -1;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/syscall", (int)pid);
	f = fopen(path, "re");
	if (!f)
		return -1;
	if (fgets(buf, sizeof(buf), f) && buf[0] >= '0' && buf[0] <= '9')
		nr = strtol(buf, NULL, 10);
	fclose(f);
	return nr;
}

static bool in_ioctl(void *arg)
{
	return proc_syscall(*(pid_t *)arg) == SYS_ioctl;
}

START_TEST(test_killed_in_large_pwrite)
{
	struct ugpud_stats st;
	struct client h;

	client_start(&h, HELPER, "pwrite-loop", D.card0, NULL);
	client_expect(&h, "ready", SCENARIO_MS);
	/* It loops on 256 MiB pwrites: catch it inside one. */
	ck_assert_msg(tu_wait_for(in_ioctl, &h.p.pid, TU_TIMEOUT_MS),
		      "the client was never seen inside the pwrite ioctl");
	tu_kill(&h.p);
	ck_assert_int_eq(ugpud_stats(&D, &st), 0);
	ugpud_assert_idle(&D);
	assert_survived();
}
END_TEST

/* ---- 4. a forked child ------------------------------------------------- */

START_TEST(test_forked_child_rw)
{
	scenario_test("fork-rw");
}
END_TEST

static TCase *tcase(Suite *s, const char *name)
{
	TCase *tc = tu_tcase(s, name, CASE_TIMEOUT, setup, teardown);

	tcase_add_unchecked_fixture(tc, dir_setup, dir_teardown);
	return tc;
}

static Suite *memsafety_suite(void)
{
	Suite *s = suite_create("memsafety");
	TCase *tc;

	tc = tcase(s, "bo_import");
	tcase_add_test(tc, test_bo_import);

	tc = tcase(s, "truncation");
	tcase_add_test(tc, test_truncate_unsealed_memfd);
	tcase_add_test(tc, test_truncate_sealed_host_alloc);
	tcase_add_test(tc, test_truncate_shared_anonymous);

	tc = tcase(s, "large_rw");
	tcase_add_test(tc, test_large_rw);
	tcase_add_test(tc, test_large_rw_beside_ioctls);

	tc = tcase(s, "killed_in_copy");
	tcase_add_test(tc, test_killed_in_large_pwrite);

	tc = tcase(s, "forked_child");
	tcase_add_test(tc, test_forked_child_rw);
	return s;
}

int main(void)
{
	return tu_run_suite(memsafety_suite());
}
