// SPDX-License-Identifier: MIT
/*
 * Check suite for the driver core's behaviour end to end: each test starts
 * a fresh ugpud (sim backend, FUSE mount on a fresh directory, quota flags
 * where the test needs them), runs the real client program
 * tests/helpers/gpu_client with one scenario against DIR/card0, and then
 * checks that the daemon forgot the client (DIR/stats back to zero
 * clients, VMs, BOs, userptrs and bound bytes), that it still runs, and
 * that SIGTERM makes it exit 0 and unmount. The scenarios' own checks are
 * the helper's `ok` / `not ok` lines; a failing one is quoted in the
 * assertion. Nothing here depends on timing: every wait is for a state,
 * bounded by a generous limit.
 */
#include <check.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/wait.h>
#include <unistd.h>

#include "tests/lib/testutil.h"

#define SCENARIO_MS	(6 * TU_TIMEOUT_MS)	/* a scenario's whole run */
#define CASE_TIMEOUT	120			/* seconds, per test */
/* Longer than any wait here: only cancellation may end a held job. */
#define HANG_MS		"60000"

/*
 * Each TCase's mounts live under one base directory, made and swept by an
 * unchecked fixture in the runner process: a test that fails exits at the
 * failed assertion, its daemon dies with it, and only the sweep is left
 * to unmount and remove what it had.
 */
static char base[64];

static struct {
	char dir[128];
	char card0[160];
	char stats[160];
	struct tu_proc daemon;
	bool running;
} D;

struct stats {
	long long clients, vms, bos, userptrs, bound_bytes;
	long long jobs_submitted, jobs_completed, jobs_failed, invalidations;
};

static void ugpud_path(char *buf, size_t len)
{
	const char *b = getenv("UGPU_BUILD");
	char exe[PATH_MAX];
	ssize_t n;

	if (b && *b) {
		snprintf(buf, len, "%s/ugpud", b);
		return;
	}
	/* build/tests/integration/gpu_test -> build/ugpud */
	n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	ck_assert_int_gt(n, 0);
	exe[n] = '\0';
	snprintf(buf, len, "%s/../../ugpud", dirname(exe));
}

static bool is_mounted(const char *dir)
{
	char line[4096], mnt[PATH_MAX];
	bool found = false;
	FILE *f = fopen("/proc/self/mountinfo", "re");

	if (!f)
		return false;
	while (!found && fgets(line, sizeof(line), f))
		if (sscanf(line, "%*s %*s %*s %*s %4095s", mnt) == 1 && !strcmp(mnt, dir))
			found = true;
	fclose(f);
	return found;
}

static bool card0_opens(void *arg)
{
	int fd = open(D.card0, O_RDWR | O_CLOEXEC);

	if (fd < 0)
		return waitpid(D.daemon.pid, NULL, WNOHANG) != 0;	/* died: stop */
	close(fd);
	return true;
}

/* Leave the daemon's pid in the base directory for the sweep. */
static void note_pid(pid_t pid)
{
	char path[PATH_MAX];
	FILE *f;

	snprintf(path, sizeof(path), "%s.pid", D.dir);
	f = fopen(path, "we");
	if (f) {
		fprintf(f, "%d\n", (int)pid);
		fclose(f);
	}
}

static void daemon_start(const char *const *extra)
{
	char path[PATH_MAX];
	char *argv[32];
	int n = 0;

	ugpud_path(path, sizeof(path));
	ck_assert_msg(access(path, X_OK) == 0, "no ugpud at %s (set UGPU_BUILD)", path);
	ck_assert_msg(base[0], "no base directory for the mounts");
	snprintf(D.dir, sizeof(D.dir), "%s/mnt.XXXXXX", base);
	ck_assert_ptr_nonnull(mkdtemp(D.dir));
	snprintf(D.card0, sizeof(D.card0), "%s/card0", D.dir);
	snprintf(D.stats, sizeof(D.stats), "%s/stats", D.dir);

	argv[n++] = path;
	argv[n++] = "--mount";
	argv[n++] = D.dir;
	argv[n++] = "--log-level";
	argv[n++] = "warning";
	argv[n++] = "--hang-timeout-ms";
	argv[n++] = HANG_MS;
	for (int i = 0; extra && extra[i]; i++)
		argv[n++] = (char *)extra[i];
	argv[n] = NULL;
	ck_assert_int_eq(tu_spawn(&D.daemon, path, argv, NULL), 0);
	D.running = true;
	note_pid(D.daemon.pid);
	ck_assert_msg(tu_wait_for(card0_opens, NULL, TU_TIMEOUT_MS), "%s never opened",
		      D.card0);
	ck_assert_msg(waitpid(D.daemon.pid, NULL, WNOHANG) == 0, "ugpud exited at start");
}

static void setup_default(void)
{
	daemon_start(NULL);
}

static void setup_quota(void)
{
	static const char *const flags[] = {
		"--max-vms", "2", "--max-bos", "3", "--max-userptrs", "4",
		"--max-inflight", "4", "--max-bound-bytes", "16777216",
		"--max-bo-bytes", "8388608", NULL,
	};

	daemon_start(flags);
}

/* Is @pid still the daemon we started (not a reused number)? */
static bool is_ugpud(int pid)
{
	char path[64], comm[32] = "";
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/comm", pid);
	f = fopen(path, "re");
	if (!f)
		return false;
	if (!fgets(comm, sizeof(comm), f))
		comm[0] = '\0';
	fclose(f);
	return !strcmp(comm, "ugpud\n");
}

static void base_setup(void)
{
	snprintf(base, sizeof(base), "/tmp/ugpu-gpu.XXXXXX");
	if (!mkdtemp(base))
		base[0] = '\0';
}

/* After the TCase: unmount and remove whatever its tests left behind. */
static void base_sweep(void)
{
	char path[PATH_MAX];
	struct dirent *de;
	DIR *d;

	if (!base[0])
		return;
	d = opendir(base);
	while (d && (de = readdir(d))) {
		size_t n = strlen(de->d_name);
		int pid = 0;
		FILE *f;

		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		snprintf(path, sizeof(path), "%s/%s", base, de->d_name);
		if (n > 4 && !strcmp(de->d_name + n - 4, ".pid")) {
			/* A daemon of a failed test may outlive it: ours to end. */
			f = fopen(path, "re");
			if (f && fscanf(f, "%d", &pid) == 1 && pid > 0 && is_ugpud(pid))
				kill(pid, SIGKILL);
			if (f)
				fclose(f);
			unlink(path);
			continue;
		}
		for (int i = 0; i < 100 && is_mounted(path); i++)
			if (umount2(path, MNT_DETACH))
				usleep(10000);
		rmdir(path);
	}
	if (d)
		closedir(d);
	rmdir(base);
	base[0] = '\0';
}

/* Teardown of a test that did not get to daemon_stop(): no leftovers. */
static void teardown(void)
{
	if (D.running) {
		kill(D.daemon.pid, SIGTERM);
		if (tu_wait_exit(&D.daemon, TU_TIMEOUT_MS, NULL))
			tu_kill(&D.daemon);
		D.running = false;
	}
	if (D.dir[0]) {
		char pidfile[PATH_MAX];

		if (is_mounted(D.dir))
			umount2(D.dir, MNT_DETACH);
		rmdir(D.dir);
		snprintf(pidfile, sizeof(pidfile), "%s.pid", D.dir);
		unlink(pidfile);
		D.dir[0] = '\0';
	}
}

static long long field(const char *json, const char *name)
{
	char key[64];
	const char *p;

	snprintf(key, sizeof(key), "\"%s\":", name);
	p = strstr(json, key);
	return p ? strtoll(p + strlen(key), NULL, 10) : -1;
}

static int read_stats(struct stats *st)
{
	char buf[4096];
	ssize_t n;
	int fd = open(D.stats, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return -errno;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return n < 0 ? -errno : -ENODATA;
	buf[n] = '\0';
	st->clients = field(buf, "clients");
	st->vms = field(buf, "vms");
	st->bos = field(buf, "bos");
	st->userptrs = field(buf, "userptrs");
	st->bound_bytes = field(buf, "bound_bytes");
	st->jobs_submitted = field(buf, "jobs_submitted");
	st->jobs_completed = field(buf, "jobs_completed");
	st->jobs_failed = field(buf, "jobs_failed");
	st->invalidations = field(buf, "invalidations");
	return 0;
}

static bool stats_idle(void *arg)
{
	struct stats *st = arg;

	return !read_stats(st) && !st->clients && !st->vms && !st->bos && !st->userptrs &&
	       !st->bound_bytes;
}

/*
 * Every client gone: the daemon holds nothing for them any more, and it
 * still runs. Return NULL, or what is wrong (in @buf).
 */
static const char *idle_problem(char *buf, size_t len)
{
	struct stats st = { 0 };

	if (!tu_wait_for(stats_idle, &st, TU_TIMEOUT_MS)) {
		snprintf(buf, len, "stats not back to zero: clients %lld vms %lld bos %lld "
			 "userptrs %lld bound_bytes %lld", st.clients, st.vms, st.bos,
			 st.userptrs, st.bound_bytes);
		return buf;
	}
	if (waitpid(D.daemon.pid, NULL, WNOHANG) != 0)
		return "ugpud died";
	return NULL;
}

static void assert_idle(void)
{
	char buf[256];
	const char *why = idle_problem(buf, sizeof(buf));

	ck_assert_msg(!why, "%s", why);
}

/* SIGTERM: exit 0 and no mount left behind. Return NULL or the problem. */
static const char *stop_problem(char *buf, size_t len)
{
	int st = 0;

	if (!D.running)
		return "ugpud was not running";
	if (kill(D.daemon.pid, SIGTERM) || tu_wait_exit(&D.daemon, TU_TIMEOUT_MS, &st))
		return "ugpud did not exit on SIGTERM";
	D.running = false;
	if (!WIFEXITED(st) || WEXITSTATUS(st)) {
		snprintf(buf, len, "ugpud ended with status %#x", st);
		return buf;
	}
	if (is_mounted(D.dir)) {
		snprintf(buf, len, "%s still mounted after ugpud exited", D.dir);
		return buf;
	}
	return NULL;
}

static void daemon_stop(void)
{
	char buf[256];
	const char *why = stop_problem(buf, sizeof(buf));

	ck_assert_msg(!why, "%s", why);
}

static void helper_start(struct tu_proc *p, const char *scenario)
{
	char path[PATH_MAX];
	char *argv[] = { "gpu_client", (char *)scenario, D.card0, NULL };

	ck_assert_int_eq(tu_helper_path("gpu_client", path, sizeof(path)), 0);
	ck_assert_int_eq(tu_spawn(p, path, argv, NULL), 0);
}

/*
 * Read the helper's lines until it closes stdout (or @stop_at is read),
 * echo them, and keep the first `not ok` line. Return the number of
 * `not ok` lines, -ENOMSG if it ended without saying @stop_at, or -errno
 * if it did not finish in time.
 */
static int helper_lines(struct tu_proc *p, const char *scenario, const char *stop_at,
			char *first_bad, size_t len)
{
	long long end = tu_now_ms() + SCENARIO_MS;
	char line[1024];
	int bad = 0, ret;

	for (;;) {
		long long left = end - tu_now_ms();

		ret = tu_read_line(p, line, sizeof(line), left > 0 ? (int)left : 0);
		if (ret == -EPIPE)
			return stop_at && !bad ? -ENOMSG : bad;
		if (ret)
			return ret;
		fprintf(stderr, "  [%s] %s\n", scenario, line);
		if (!strncmp(line, "not ok", 6) && !bad++)
			snprintf(first_bad, len, "%s", line);
		if (stop_at && !strcmp(line, stop_at))
			return bad;
	}
}

/*
 * Run one scenario to its end; it must pass every check and exit 0.
 * Return NULL, or what went wrong (in @buf).
 */
static const char *scenario_problem(const char *scenario, char *buf, size_t len)
{
	char first_bad[1024] = "";
	struct tu_proc p;
	int bad, st = 0;

	helper_start(&p, scenario);
	bad = helper_lines(&p, scenario, NULL, first_bad, sizeof(first_bad));
	if (bad < 0) {
		tu_kill(&p);
		snprintf(buf, len, "gpu_client %s did not finish: %s", scenario,
			 strerror(-bad));
		return buf;
	}
	if (tu_wait_exit(&p, TU_TIMEOUT_MS, &st)) {
		tu_kill(&p);
		snprintf(buf, len, "gpu_client %s did not exit", scenario);
		return buf;
	}
	if (bad) {
		snprintf(buf, len, "gpu_client %s: %d failed checks, first: %s", scenario, bad,
			 first_bad);
		return buf;
	}
	if (!WIFEXITED(st) || WEXITSTATUS(st)) {
		snprintf(buf, len, "gpu_client %s ended with status %#x", scenario, st);
		return buf;
	}
	return NULL;
}

static void run_scenario(const char *scenario)
{
	char buf[1200];
	const char *why = scenario_problem(scenario, buf, sizeof(buf));

	ck_assert_msg(!why, "%s", why);
}

/*
 * The scenario, then the daemon's state after it, whatever the scenario's
 * outcome (a failing scenario must not hide a leak or a crash).
 */
static void scenario_test(const char *scenario)
{
	char b1[1200], b2[256], b3[256];
	const char *run = scenario_problem(scenario, b1, sizeof(b1));
	const char *idle = idle_problem(b2, sizeof(b2));
	const char *stop = stop_problem(b3, sizeof(b3));

	ck_assert_msg(!run && !idle && !stop, "%s%s%s%s%s", run ? run : "",
		      run && (idle || stop) ? "; " : "", idle ? idle : "",
		      idle && stop ? "; " : "", stop ? stop : "");
}

/* ---- 1. syncobjs and bind queues --------------------------------------- */

START_TEST(test_sync_chain)
{
	scenario_test("sync-chain");
}
END_TEST

/* ---- 2. fault mode ---------------------------------------------------- */

START_TEST(test_fault_mode_replace)
{
	scenario_test("fault-replace");
}
END_TEST

START_TEST(test_normal_vm_replace_faults)
{
	scenario_test("nofault-replace");
}
END_TEST

START_TEST(test_fault_mode_unmapped_faults)
{
	scenario_test("fault-unmap");
}
END_TEST

/* ---- 3, 4. address-space churn ------------------------------------------ */

START_TEST(test_invalidate_race)
{
	scenario_test("invalidate-race");
}
END_TEST

START_TEST(test_replace_then_revalidate)
{
	scenario_test("replace-revalidate");
}
END_TEST

START_TEST(test_replace_same_vma)
{
	scenario_test("replace-same-vma");
}
END_TEST

START_TEST(test_unrelated_mm_churn)
{
	scenario_test("unrelated-mm");
}
END_TEST

/* ---- 5. process exit while busy ---------------------------------------- */

static void exit_busy(bool sigkill)
{
	char first_bad[1024] = "";
	struct stats before = { 0 }, after = { 0 };
	struct tu_proc p;
	int bad, st = 0;

	helper_start(&p, "exit-busy");
	bad = helper_lines(&p, "exit-busy", "ready", first_bad, sizeof(first_bad));
	if (bad)
		tu_kill(&p);
	ck_assert_msg(bad == 0, "exit-busy did not get ready: %s",
		      bad < 0 ? strerror(-bad) : first_bad);
	ck_assert_int_eq(read_stats(&before), 0);
	ck_assert_int_gt(before.clients, 0);
	ck_assert_int_gt(before.userptrs, 0);
	if (sigkill) {
		tu_kill(&p);
	} else {
		ck_assert_int_eq(tu_send(&p, "exit"), 0);
		ck_assert_int_eq(tu_wait_exit(&p, TU_TIMEOUT_MS, &st), 0);
		ck_assert_msg(WIFEXITED(st) && WEXITSTATUS(st) == 0, "exit-busy status %#x", st);
	}
	assert_idle();
	ck_assert_int_eq(read_stats(&after), 0);
	ck_assert_msg(after.jobs_failed > before.jobs_failed,
		      "jobs_failed did not increase: %lld -> %lld", before.jobs_failed,
		      after.jobs_failed);
	/* The daemon still serves a new client. */
	run_scenario("smoke");
	assert_idle();
	daemon_stop();
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
	scenario_test("fairness");
}
END_TEST

/* ---- 7. quotas -------------------------------------------------------- */

START_TEST(test_quotas)
{
	scenario_test("quotas");
}
END_TEST

/* ---- 8. the client's own protections ----------------------------------- */

START_TEST(test_readonly_private)
{
	scenario_test("readonly");
}
END_TEST

START_TEST(test_readonly_shared)
{
	scenario_test("readonly-shared");
}
END_TEST

/* ---- 9. bind variants ------------------------------------------------- */

START_TEST(test_bind_variants)
{
	scenario_test("bind-variants");
}
END_TEST

/* ---- 10. two clients -------------------------------------------------- */

START_TEST(test_isolation)
{
	scenario_test("isolation");
}
END_TEST

static TCase *tcase(Suite *s, const char *name, void (*setup)(void))
{
	TCase *tc = tcase_create(name);

	tcase_add_unchecked_fixture(tc, base_setup, base_sweep);
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, CASE_TIMEOUT);
	suite_add_tcase(s, tc);
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
	SRunner *sr = srunner_create(gpu_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
