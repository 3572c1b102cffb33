// SPDX-License-Identifier: MIT
/*
 * Check suite for the driver core's behaviour end to end: each test starts
 * a fresh ugpud (sim backend, FUSE mount on its TCase's directory, quota
 * flags where the test needs them; tests/lib/ugpud_harness.c), runs one
 * scenario of a real client program, tests/helpers/gpu_<group> (sync,
 * fault, race, stale, sched, bind), against DIR/card0, and then checks
 * that the daemon forgot the client (DIR/stats back to zero clients,
 * VMs, BOs, userptrs and bound bytes), that it still runs, and that
 * SIGTERM makes it exit 0 and unmount. The scenarios' own checks are the
 * helper's `ok` / `not ok` lines (tests/lib/client_harness.c); a failing
 * one is quoted in the assertion. Nothing here depends on timing: every
 * wait is for a state, bounded by a generous limit.
 */
#include <check.h>
#include <sys/wait.h>

#include "tests/lib/client_harness.h"
#include "tests/lib/suite.h"
#include "tests/lib/testutil.h"
#include "tests/lib/ugpud_harness.h"

#define SCENARIO_MS	(6 * TU_TIMEOUT_MS)	/* a scenario's whole run */
#define CASE_TIMEOUT	120			/* seconds, per test */
/* Longer than any wait here: only cancellation may end a held job. */
#define HANG_MS		"60000"

/* The client programs, by scenario group (tests/helpers/gpu_*.c). */
#define SYNC		"gpu_sync"
#define FAULT		"gpu_fault"
#define RACE		"gpu_race"
#define STALE		"gpu_stale"
#define SCHED		"gpu_sched"
#define BIND		"gpu_bind"

/*
 * The daemon, one mount point per TCase (an unchecked fixture in the
 * runner process makes it and detaches whatever a failed test left).
 * Each test stops its daemon itself and asserts how that went.
 */
static struct ugpud D;

static void dir_setup(void)
{
	ugpud_dir_setup(&D, "ugpu-gpu");
}

static void dir_teardown(void)
{
	ugpud_dir_teardown(&D);
}

static void setup_default(void)
{
	static const char *const flags[] = { "--hang-timeout-ms", HANG_MS, NULL };

	ugpud_start(&D, flags);
}

static void setup_quota(void)
{
	static const char *const flags[] = {
		"--hang-timeout-ms", HANG_MS,
		"--max-vms", "2", "--max-bos", "3", "--max-userptrs", "4",
		"--max-inflight", "4", "--max-bound-bytes", "16777216",
		"--max-bo-bytes", "8388608", NULL,
	};

	ugpud_start(&D, flags);
}

/* Teardown of a test that did not get to stop its daemon: no leftovers. */
static void teardown(void)
{
	ugpud_discard(&D);
}

static void run_scenario(const char *program, const char *scenario)
{
	client_run(program, scenario, D.card0, NULL, SCENARIO_MS);
}

/*
 * The scenario, then the daemon's state after it, whatever the scenario's
 * outcome (a failing scenario must not hide a leak or a crash): every
 * client forgotten, still running, and SIGTERM makes it exit 0 and
 * unmount.
 */
static void scenario_test(const char *program, const char *scenario)
{
	char b1[768], b2[256], b3[256];
	const char *run = client_run_problem(program, scenario, D.card0, SCENARIO_MS, b1,
					     sizeof(b1));
	const char *idle = ugpud_idle_problem(&D, b2, sizeof(b2));
	const char *stop = ugpud_term_problem(&D, b3, sizeof(b3));

	ck_assert_msg(!run && !idle && !stop, "%s%s%s%s%s", run ? run : "",
		      run && (idle || stop) ? "; " : "", idle ? idle : "",
		      idle && stop ? "; " : "", stop ? stop : "");
}

/* ---- 1. syncobjs and bind queues --------------------------------------- */

START_TEST(test_sync_chain)
{
	scenario_test(SYNC, "sync-chain");
}
END_TEST

/* ---- 2. fault mode ---------------------------------------------------- */

START_TEST(test_fault_mode_replace)
{
	scenario_test(FAULT, "fault-replace");
}
END_TEST

START_TEST(test_normal_vm_replace_faults)
{
	scenario_test(FAULT, "nofault-replace");
}
END_TEST

START_TEST(test_fault_mode_unmapped_faults)
{
	scenario_test(FAULT, "fault-unmap");
}
END_TEST

/* ---- 3, 4. address-space churn ------------------------------------------ */

START_TEST(test_invalidate_race)
{
	scenario_test(RACE, "invalidate-race");
}
END_TEST

START_TEST(test_replace_then_revalidate)
{
	scenario_test(STALE, "replace-revalidate");
}
END_TEST

START_TEST(test_replace_same_vma)
{
	scenario_test(STALE, "replace-same-vma");
}
END_TEST

START_TEST(test_unrelated_mm_churn)
{
	scenario_test(RACE, "unrelated-mm");
}
END_TEST

/* ---- 5. process exit while busy ---------------------------------------- */

static void exit_busy(bool sigkill)
{
	struct ugpud_stats before = { 0 }, after = { 0 };
	struct client h;
	int st = 0;

	client_start(&h, SCHED, "exit-busy", D.card0, NULL);
	client_expect(&h, "ready", SCENARIO_MS);
	ck_assert_int_eq(ugpud_stats(&D, &before), 0);
	ck_assert_int_gt(before.clients, 0);
	ck_assert_int_gt(before.userptrs, 0);
	if (sigkill) {
		tu_kill(&h.p);
	} else {
		ck_assert_int_eq(tu_send(&h.p, "exit"), 0);
		ck_assert_int_eq(tu_wait_exit(&h.p, TU_TIMEOUT_MS, &st), 0);
		ck_assert_msg(WIFEXITED(st) && WEXITSTATUS(st) == 0, "exit-busy status %#x", st);
	}
	ugpud_assert_idle(&D);
	ck_assert_int_eq(ugpud_stats(&D, &after), 0);
	ck_assert_msg(after.jobs_failed > before.jobs_failed,
		      "jobs_failed did not increase: %lld -> %lld", before.jobs_failed,
		      after.jobs_failed);
	/* The daemon still serves a new client. */
	run_scenario(SCHED, "smoke");
	ugpud_assert_idle(&D);
	ugpud_term(&D);
}

START_TEST(test_exit_while_busy)
{
	exit_busy(false);
}
END_TEST

START_TEST(test_killed_while_busy)
{
	exit_busy(true);
}
END_TEST

/* ---- 6. fairness ------------------------------------------------------ */

START_TEST(test_fairness)
{
	scenario_test(SCHED, "fairness");
}
END_TEST

/* ---- 7. quotas -------------------------------------------------------- */

START_TEST(test_quotas)
{
	scenario_test(SCHED, "quotas");
}
END_TEST

/* ---- 8. the client's own protections ----------------------------------- */

START_TEST(test_readonly_private)
{
	scenario_test(FAULT, "readonly");
}
END_TEST

START_TEST(test_readonly_shared)
{
	scenario_test(FAULT, "readonly-shared");
}
END_TEST

/* ---- 9. bind variants ------------------------------------------------- */

START_TEST(test_bind_variants)
{
	scenario_test(BIND, "bind-variants");
}
END_TEST

/* ---- 10. two clients -------------------------------------------------- */

START_TEST(test_isolation)
{
	scenario_test(BIND, "isolation");
}
END_TEST

static TCase *tcase(Suite *s, const char *name, void (*setup)(void))
{
	TCase *tc = tu_tcase(s, name, CASE_TIMEOUT, setup, teardown);

	tcase_add_unchecked_fixture(tc, dir_setup, dir_teardown);
	return tc;
}

static Suite *gpu_suite(void)
{
	Suite *s = suite_create("gpu");
	TCase *tc;

	tc = tcase(s, "sync_chain", setup_default);
	tcase_add_test(tc, test_sync_chain);

	tc = tcase(s, "fault_mode", setup_default);
	tcase_add_test(tc, test_fault_mode_replace);
	tcase_add_test(tc, test_normal_vm_replace_faults);
	tcase_add_test(tc, test_fault_mode_unmapped_faults);

	tc = tcase(s, "invalidate_race", setup_default);
	tcase_add_test(tc, test_invalidate_race);
	tcase_add_test(tc, test_replace_then_revalidate);
	tcase_add_test(tc, test_replace_same_vma);

	tc = tcase(s, "unrelated_mm", setup_default);
	tcase_add_test(tc, test_unrelated_mm_churn);

	tc = tcase(s, "exit_busy", setup_default);
	tcase_add_test(tc, test_exit_while_busy);
	tcase_add_test(tc, test_killed_while_busy);

	tc = tcase(s, "fairness", setup_default);
	tcase_add_test(tc, test_fairness);

	tc = tcase(s, "quotas", setup_quota);
	tcase_add_test(tc, test_quotas);

	tc = tcase(s, "readonly", setup_default);
	tcase_add_test(tc, test_readonly_private);
	tcase_add_test(tc, test_readonly_shared);

	tc = tcase(s, "bind_variants", setup_default);
	tcase_add_test(tc, test_bind_variants);

	tc = tcase(s, "isolation", setup_default);
	tcase_add_test(tc, test_isolation);
	return s;
}

int main(void)
{
	return tu_run_suite(gpu_suite());
}
