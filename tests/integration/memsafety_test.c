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
 * (sim backend, FUSE mount on a fresh directory) and runs the client
 * program tests/helpers/memsafety_client, whose `ok` / `not ok` lines
 * are asserted; afterwards the daemon must still run, serve a new
 * client, return its stats to zero and exit 0 on SIGTERM. Every wait is
 * for a state, bounded by a generous limit; nothing asserts timing.
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
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "tests/lib/suite.h"
#include "tests/lib/testutil.h"

#define HELPER		"memsafety_client"
#define CASE_TIMEOUT	60		/* seconds, per test */
#define SCENARIO_MS	(3 * TU_TIMEOUT_MS)
/* Long jobs (a 16 MiB CHECKSUM under ASan) must not count as hangs. */
#define HANG_MS		"60000"

/*
 * Each TCase's mounts live under one base directory, made and swept by an
 * unchecked fixture in the runner process: a failed test exits at its
 * assertion, its daemon dies with it (PDEATHSIG), and the sweep unmounts
 * and removes whatever is left.
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
};

/* ---- the daemon ---------------------------------------------------------- */

static void ugpud_path(char *buf, size_t len)
{
	const char *b = getenv("UGPU_BUILD");
	char exe[PATH_MAX];
	ssize_t n;

	if (b && *b) {
		snprintf(buf, len, "%s/ugpud", b);
		return;
	}
	/* build/tests/integration/memsafety_test -> build/ugpud */
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

static void setup(void)
{
	char path[PATH_MAX];
	char *argv[] = {
		"ugpud", "--mount", D.dir, "--log-level", "warning",
		"--hang-timeout-ms", HANG_MS, NULL,
	};

	memset(&D, 0, sizeof(D));
	D.daemon.pid = -1;
	ugpud_path(path, sizeof(path));
	ck_assert_msg(access(path, X_OK) == 0, "no ugpud at %s (set UGPU_BUILD)", path);
	ck_assert_msg(base[0], "no base directory for the mounts");
	snprintf(D.dir, sizeof(D.dir), "%s/mnt.XXXXXX", base);
	ck_assert_ptr_nonnull(mkdtemp(D.dir));
	snprintf(D.card0, sizeof(D.card0), "%s/card0", D.dir);
	snprintf(D.stats, sizeof(D.stats), "%s/stats", D.dir);
	ck_assert_int_eq(tu_spawn(&D.daemon, path, argv, NULL), 0);
	D.running = true;
	note_pid(D.daemon.pid);
	ck_assert_msg(tu_wait_for(card0_opens, NULL, TU_TIMEOUT_MS), "%s never opened",
		      D.card0);
	ck_assert_msg(waitpid(D.daemon.pid, NULL, WNOHANG) == 0, "ugpud exited at start");
}

/* A test that did not get to stop its daemon: no leftovers. */
static void teardown(void)
{
	if (D.running) {
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

/* SIGTERM: exit 0 and no mount left behind. */
static void daemon_stop(void)
{
	int st = 0;

	ck_assert_int_eq(kill(D.daemon.pid, SIGTERM), 0);
	ck_assert_msg(tu_wait_exit(&D.daemon, TU_TIMEOUT_MS, &st) == 0,
		      "ugpud did not exit on SIGTERM");
	D.running = false;
	ck_assert_msg(WIFEXITED(st) && WEXITSTATUS(st) == 0, "ugpud ended with status %#x", st);
	ck_assert_msg(!is_mounted(D.dir), "%s still mounted after ugpud exited", D.dir);
}

/* Is @pid still a ugpud (not a reused number)? */
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
	snprintf(base, sizeof(base), "/tmp/ugpu-memsafety.XXXXXX");
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

/* ---- stats ---------------------------------------------------------------- */

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
	return 0;
}

static bool stats_idle(void *arg)
{
	struct stats *st = arg;

	return !read_stats(st) && !st->clients && !st->vms && !st->bos && !st->userptrs &&
	       !st->bound_bytes;
}

/* Every client gone: the daemon holds nothing for them, and still runs. */
static void assert_idle(void)
{
	struct stats st = { -1, -1, -1, -1, -1 };

	ck_assert_msg(waitpid(D.daemon.pid, NULL, WNOHANG) == 0, "ugpud died");
	ck_assert_msg(tu_wait_for(stats_idle, &st, TU_TIMEOUT_MS),
		      "stats not back to zero: clients %lld vms %lld bos %lld userptrs %lld "
		      "bound_bytes %lld", st.clients, st.vms, st.bos, st.userptrs,
		      st.bound_bytes);
}

/* ---- the client ------------------------------------------------------------ */

static void helper_start(struct tu_proc *p, const char *scenario)
{
	char path[PATH_MAX];
	char *argv[] = { HELPER, (char *)scenario, D.card0, NULL };

	ck_assert_int_eq(tu_helper_path(HELPER, path, sizeof(path)), 0);
	ck_assert_int_eq(tu_spawn(p, path, argv, NULL), 0);
}

/*
 * Read the helper's lines until @stop (NULL: its end), echo them, keep
 * the first `not ok`. Return the number of `not ok` lines, -ENOMSG if it
 * ended without saying @stop, or -errno if it did not get there in time.
 */
static int helper_lines(struct tu_proc *p, const char *scenario, const char *stop,
			char *first_bad, size_t len)
{
	long long end = tu_now_ms() + SCENARIO_MS;
	char line[1024];
	int bad = 0, ret;

	for (;;) {
		long long left = end - tu_now_ms();

		ret = tu_read_line(p, line, sizeof(line), left > 0 ? (int)left : 0);
		if (ret == -EPIPE)
			return stop ? -ENOMSG : bad;
		if (ret)
			return ret;
		fprintf(stderr, "  [%s] %s\n", scenario, line);
		if (!strncmp(line, "not ok", 6) && !bad++)
			snprintf(first_bad, len, "%s", line);
		if (stop && !strcmp(line, stop))
			return bad;
	}
}

/* Run @scenario to its end: every check passed, exit 0. */
static void run_scenario(const char *scenario)
{
	char first_bad[1024] = "";
	struct tu_proc p;
	int bad, st = 0;

	helper_start(&p, scenario);
	bad = helper_lines(&p, scenario, NULL, first_bad, sizeof(first_bad));
	if (bad < 0)
		tu_kill(&p);
	ck_assert_msg(bad >= 0, "%s did not finish: %s", scenario, strerror(-bad));
	if (tu_wait_exit(&p, TU_TIMEOUT_MS, &st)) {
		tu_kill(&p);
		ck_abort_msg("%s did not exit", scenario);
	}
	ck_assert_msg(!bad, "%s: %d failed checks, first: %s", scenario, bad, first_bad);
	ck_assert_msg(WIFEXITED(st) && WEXITSTATUS(st) == 0, "%s ended with status %#x",
		      scenario, st);
}

/* The daemon survived: stats readable, a new client works, all released. */
static void assert_survived(void)
{
	struct stats st;

	ck_assert_msg(waitpid(D.daemon.pid, NULL, WNOHANG) == 0, "ugpud died");
	ck_assert_int_eq(read_stats(&st), 0);
	run_scenario("smoke");
	assert_idle();
	daemon_stop();
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
	char first_bad[1024] = "";
	struct stats st;
	struct tu_proc p;
	int bad;

	helper_start(&p, "pwrite-loop");
	bad = helper_lines(&p, "pwrite-loop", "ready", first_bad, sizeof(first_bad));
	if (bad)
		tu_kill(&p);
	ck_assert_msg(bad == 0, "pwrite-loop did not get ready: %s",
		      bad < 0 ? strerror(-bad) : first_bad);
	/* It loops on 256 MiB pwrites: catch it inside one. */
	ck_assert_msg(tu_wait_for(in_ioctl, &p.pid, TU_TIMEOUT_MS),
		      "the client was never seen inside the pwrite ioctl");
	tu_kill(&p);
	ck_assert_int_eq(read_stats(&st), 0);
	assert_idle();
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

	tcase_add_unchecked_fixture(tc, base_setup, base_sweep);
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
