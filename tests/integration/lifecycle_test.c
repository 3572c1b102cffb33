// SPDX-License-Identifier: MIT
/*
 * Check suite for the daemon's lifecycle (API.md "ugpud" and "daemon
 * gone"): SIGTERM drains jobs in flight (a job the client lets finish
 * completes, a job that never finishes is failed to its waiter), refuses
 * new work while draining, and ends with exit 0 and the mount gone;
 * after a SIGKILL every client call fails promptly and a new daemon on
 * the same mount directory serves new clients; SIGHUP rereads the
 * --config file's limits; the command line's help and usage errors. The
 * daemon is the real build/ugpud (sim backend, FUSE mount on a fresh
 * directory), the clients are tests/helpers/lifecycle_client processes
 * whose `ok` / `not ok` lines are asserted. Every wait is for a state,
 * bounded by a generous limit; the only time bound asserted is the one
 * API.md gives (a never-ending job is failed within the drain time).
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

#include "tests/lib/suite.h"
#include "tests/lib/testutil.h"

#define HELPER		"lifecycle_client"
#define CASE_TIMEOUT	60		/* seconds, per test */
/* Longer than any test: only the drain may end a held job. */
#define HANG_MS		"60000"
/* ugpud drains for 5 s, then cancels and reports; this is the bound. */
#define DRAIN_BOUND_MS	10000

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

/* A helper process and what it printed. */
struct helper {
	struct tu_proc p;
	const char *scenario;
	int bad;
	char first_bad[512];
	char line[512];			/* the last line read */
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
	/* build/tests/integration/lifecycle_test -> build/ugpud */
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

/* Start ugpud on D.dir (made fresh unless @reuse); @extra: more flags. */
static void daemon_start_on(bool reuse, const char *const *extra)
{
	char path[PATH_MAX];
	char *argv[32];
	int n = 0;

	ugpud_path(path, sizeof(path));
	ck_assert_msg(access(path, X_OK) == 0, "no ugpud at %s (set UGPU_BUILD)", path);
	if (!reuse) {
		ck_assert_msg(base[0], "no base directory for the mounts");
		snprintf(D.dir, sizeof(D.dir), "%s/mnt.XXXXXX", base);
		ck_assert_ptr_nonnull(mkdtemp(D.dir));
		snprintf(D.card0, sizeof(D.card0), "%s/card0", D.dir);
		snprintf(D.stats, sizeof(D.stats), "%s/stats", D.dir);
	}
	argv[n++] = "ugpud";
	argv[n++] = "--mount";
	argv[n++] = D.dir;
	argv[n++] = "--log-level";
	argv[n++] = "warning";
	for (int i = 0; extra && extra[i] && n < 31; i++)
		argv[n++] = (char *)extra[i];
	argv[n] = NULL;
	ck_assert_int_eq(tu_spawn(&D.daemon, path, argv, NULL), 0);
	D.running = true;
	note_pid(D.daemon.pid);
	ck_assert_msg(tu_wait_for(card0_opens, NULL, TU_TIMEOUT_MS), "%s never opened",
		      D.card0);
	ck_assert_msg(waitpid(D.daemon.pid, NULL, WNOHANG) == 0, "ugpud exited at start");
}

static void daemon_start(const char *const *extra)
{
	daemon_start_on(false, extra);
}

/* Held jobs must not hang out before the drain ends them. */
static void daemon_start_nohang(void)
{
	static const char *const flags[] = { "--hang-timeout-ms", HANG_MS, NULL };

	daemon_start(flags);
}

/* The daemon exits (by itself, after a signal) with 0 and unmounts. */
static void assert_exited_clean(int timeout_ms)
{
	int st = 0;

	ck_assert_msg(tu_wait_exit(&D.daemon, timeout_ms, &st) == 0,
		      "ugpud did not exit within %d ms", timeout_ms);
	D.running = false;
	ck_assert_msg(WIFEXITED(st) && WEXITSTATUS(st) == 0, "ugpud ended with status %#x", st);
	ck_assert_msg(!is_mounted(D.dir), "%s still mounted after ugpud exited", D.dir);
}

static void daemon_stop(void)
{
	ck_assert_int_eq(kill(D.daemon.pid, SIGTERM), 0);
	assert_exited_clean(TU_TIMEOUT_MS);
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
	snprintf(base, sizeof(base), "/tmp/ugpu-life.XXXXXX");
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
		if (rmdir(path))
			unlink(path);	/* a config file */
	}
	if (d)
		closedir(d);
	rmdir(base);
	base[0] = '\0';
}

static void setup(void)
{
	memset(&D, 0, sizeof(D));
	D.daemon.pid = -1;
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

/* ---- stats ---------------------------------------------------------------- */

struct stats {
	long long clients, vms, bos, userptrs, bound_bytes;
};

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

	ck_assert_msg(tu_wait_for(stats_idle, &st, TU_TIMEOUT_MS),
		      "stats not back to zero: clients %lld vms %lld bos %lld userptrs %lld "
		      "bound_bytes %lld", st.clients, st.vms, st.bos, st.userptrs,
		      st.bound_bytes);
	ck_assert_msg(waitpid(D.daemon.pid, NULL, WNOHANG) == 0, "ugpud died");
}

/* ---- helpers -------------------------------------------------------------- */

static void helper_start(struct helper *h, const char *scenario, const char *arg)
{
	char path[PATH_MAX];
	char *argv[] = { HELPER, (char *)scenario, D.card0, (char *)arg, NULL };

	memset(h, 0, sizeof(*h));
	h->scenario = scenario;
	ck_assert_int_eq(tu_helper_path(HELPER, path, sizeof(path)), 0);
	ck_assert_int_eq(tu_spawn(&h->p, path, argv, NULL), 0);
}

/*
 * Read the helper's lines until one starts with @stop (NULL: until it
 * closes stdout), by @deadline (tu_now_ms() scale). Echo them and keep
 * the first `not ok`. Return 0 when @stop was read or, without @stop, at
 * the end; -ENOMSG if it ended without saying @stop; -ETIMEDOUT.
 */
static int helper_until(struct helper *h, const char *stop, long long deadline)
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

/* The helper says @stop in time, with no failed check before it. */
static void helper_expect(struct helper *h, const char *stop, int timeout_ms)
{
	int ret = helper_until(h, stop, tu_now_ms() + timeout_ms);

	if (ret)
		tu_kill(&h->p);
	ck_assert_msg(ret == 0, "%s: no '%s' line: %s%s%s", h->scenario, stop, strerror(-ret),
		      h->bad ? "; first failure: " : "", h->first_bad);
	ck_assert_msg(!h->bad, "%s: %s", h->scenario, h->first_bad);
}

/* The helper runs to its end: every check passed, exit 0. */
static void helper_finish(struct helper *h, int timeout_ms)
{
	int ret = helper_until(h, NULL, tu_now_ms() + timeout_ms);
	int st = 0;

	if (ret)
		tu_kill(&h->p);
	ck_assert_msg(ret == 0, "%s did not finish: %s", h->scenario, strerror(-ret));
	ck_assert_msg(tu_wait_exit(&h->p, TU_TIMEOUT_MS, &st) == 0, "%s did not exit",
		      h->scenario);
	ck_assert_msg(!h->bad, "%s: %d failed checks, first: %s", h->scenario, h->bad,
		      h->first_bad);
	ck_assert_msg(WIFEXITED(st) && WEXITSTATUS(st) == 0, "%s ended with status %#x",
		      h->scenario, st);
}

static void run_scenario(const char *scenario, const char *arg)
{
	struct helper h;

	helper_start(&h, scenario, arg);
	helper_finish(&h, 3 * TU_TIMEOUT_MS);
}

/* ---- 1. SIGTERM: jobs in flight that finish ---------------------------- */

START_TEST(test_term_jobs_finish)
{
	struct helper h;

	daemon_start_nohang();
	helper_start(&h, "drain-finish", NULL);
	helper_expect(&h, "ready", TU_TIMEOUT_MS);
	ck_assert_int_eq(kill(D.daemon.pid, SIGTERM), 0);
	/* The client sees the drain, then lets its job finish. */
	ck_assert_int_eq(tu_send(&h.p, "release"), 0);
	helper_expect(&h, "released", TU_TIMEOUT_MS);
	assert_exited_clean(TU_TIMEOUT_MS);
	ck_assert_int_eq(tu_send(&h.p, "gone"), 0);
	helper_finish(&h, TU_TIMEOUT_MS);
}
END_TEST

/* ---- 2. SIGTERM: a job that never finishes -------------------------------- */

START_TEST(test_term_job_never_finishes)
{
	struct helper h;
	long long t0;
	int ret;

	daemon_start_nohang();
	helper_start(&h, "drain-hang", NULL);
	helper_expect(&h, "ready", TU_TIMEOUT_MS);
	t0 = tu_now_ms();
	ck_assert_int_eq(kill(D.daemon.pid, SIGTERM), 0);
	ret = helper_until(&h, "waited", t0 + DRAIN_BOUND_MS);
	if (ret)
		tu_kill(&h.p);
	ck_assert_msg(ret == 0, "the waiter did not return within %d ms of SIGTERM: %s",
		      DRAIN_BOUND_MS, strerror(-ret));
	ret = atoi(h.line + strlen("waited"));
	fprintf(stderr, "lifecycle_test: ugpu_wait on a job cancelled by SIGTERM: %d (%s)\n",
		ret, strerror(-ret));
	ck_assert_msg(ret == -ECANCELED || ret == -EIO || ret == -ENODEV || ret == -ENOTCONN,
		      "ugpu_wait returned %d (%s)", ret, strerror(-ret));
	assert_exited_clean(TU_TIMEOUT_MS);
	ck_assert_int_eq(tu_send(&h.p, "gone"), 0);
	helper_finish(&h, TU_TIMEOUT_MS);
}
END_TEST

/* ---- 3. SIGTERM: no new work while draining ------------------------------- */

START_TEST(test_term_refuses_new_work)
{
	struct helper h;

	daemon_start_nohang();
	helper_start(&h, "drain-refuse", NULL);
	helper_expect(&h, "ready", TU_TIMEOUT_MS);
	ck_assert_int_eq(kill(D.daemon.pid, SIGTERM), 0);
	ck_assert_int_eq(tu_send(&h.p, "check"), 0);
	helper_finish(&h, TU_TIMEOUT_MS);
	assert_exited_clean(TU_TIMEOUT_MS);
}
END_TEST

/* ---- 4. restart after a crash -------------------------------------------- */

START_TEST(test_restart_after_crash)
{
	struct helper h;

	daemon_start_nohang();
	helper_start(&h, "crash", NULL);
	helper_expect(&h, "ready", TU_TIMEOUT_MS);
	tu_kill(&D.daemon);
	D.running = false;
	/* Every call fails and munmap returns, promptly: bounded here. */
	ck_assert_int_eq(tu_send(&h.p, "go"), 0);
	helper_finish(&h, TU_TIMEOUT_MS);

	daemon_start_on(true, NULL);
	run_scenario("smoke", NULL);
	assert_idle();
	daemon_stop();
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
	char cfg[PATH_MAX];
	const char *flags[] = { "--config", cfg, NULL };

	ck_assert_msg(base[0], "no base directory");
	snprintf(cfg, sizeof(cfg), "%s/ugpud.conf", base);
	write_config(cfg, "# lifecycle_test\nmax-vms = 2\n");
	daemon_start(flags);
	run_scenario("vms", "2");
	assert_idle();

	write_config(cfg, "# lifecycle_test, reloaded\nmax-vms = 4\n");
	ck_assert_int_eq(kill(D.daemon.pid, SIGHUP), 0);
	/* New clients until one sees the new quota (SIGHUP is asynchronous). */
	run_scenario("vms-reload", "4");
	assert_idle();
	daemon_stop();
	unlink(cfg);
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
	char dir[PATH_MAX];
	const char *args[] = { "--mount", dir, "--cuse", "ugpu-lifecycle-test", NULL };
	char out[8192];

	snprintf(dir, sizeof(dir), "%s/never-mounted", base[0] ? base : "/tmp");
	ck_assert_int_eq(ugpud_cli(args, out, sizeof(out)), 2);
	ck_assert_msg(!is_mounted(dir), "%s was mounted", dir);
}
END_TEST

static TCase *tcase(Suite *s, const char *name)
{
	TCase *tc = tu_tcase(s, name, CASE_TIMEOUT, setup, teardown);

	tcase_add_unchecked_fixture(tc, base_setup, base_sweep);
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
