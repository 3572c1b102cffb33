// SPDX-License-Identifier: MIT
/*
 * Check suite for the public contract (API.md) end to end: each test
 * starts the real daemon (build/ugpud, sim backend) on a fresh FUSE
 * mount, runs scenarios of tests/helpers/api_client as real client
 * processes (root, a second process, uid 65534, forked children), asserts
 * their exit status and every "ok"/"not ok" line they print, and then
 * that the mount's `stats` returns to zero clients, VMs, BOs, userptrs
 * and bound bytes. Daemons with small quotas or a short hang timeout are
 * started for the tests that need them; one test SIGKILLs its daemon.
 * Teardown SIGTERMs the daemon, expects exit 0 and the mount gone. Every
 * wait is for a state, bounded (TU_TIMEOUT_MS); nothing asserts timing.
 */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <linux/magic.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/wait.h>
#include <unistd.h>

#include "tests/lib/testutil.h"

#define HELPER		"api_client"
#define RUN_MS		60000	/* one scenario, all its output */
#define NOBODY		65534

/* The quota daemon's limits, passed to it and to the quota scenario. */
#define Q_VMS		"3"
#define Q_BOS		"2"
#define Q_USERPTRS	"4"
#define Q_BOUND		"4194304"
#define Q_BO_BYTES	"1048576"
#define Q_INFLIGHT	"2"

static struct {
	pid_t pid;			/* the daemon, 0 when reaped */
	bool up;			/* started and not yet stopped */
	bool killed;			/* the test SIGKILLed it */
	char dir[64];			/* the mount point, one per TCase */
	char card0[128];
	char stats[128];
	char last_stats[1024];
} D;

/* A helper process and what it printed. */
struct run {
	struct tu_proc p;
	int oks, fails;
	bool done;
	char first_fail[512];
};

/* ---- the daemon ---------------------------------------------------------- */

static void ugpud_path(char *buf, size_t len)
{
	const char *env = getenv("UGPU_BUILD");
	char exe[PATH_MAX];
	ssize_t n;

	if (env && *env) {
		snprintf(buf, len, "%s/ugpud", env);
		return;
	}
	n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	ck_assert_msg(n > 0, "readlink /proc/self/exe: %s", strerror(errno));
	exe[n] = '\0';
	snprintf(buf, len, "%s/../../ugpud", dirname(exe));
}

/* A live FUSE mount, or a dead one (its daemon gone: ENOTCONN). */
static bool is_fuse_mount(const char *dir)
{
	struct statfs sf;

	if (statfs(dir, &sf))
		return errno == ENOTCONN || errno == ECONNABORTED;
	return sf.f_type == FUSE_SUPER_MAGIC;
}

static bool card0_opens(void *arg)
{
	int fd = open(D.card0, O_RDWR | O_CLOEXEC);

	if (fd < 0)
		return false;
	close(fd);
	return true;
}

static bool mount_gone(void *arg)
{
	return !is_fuse_mount(D.dir);
}

/* Wait for a mount left by an earlier test to go, else detach it. */
static bool unmount_leftover(void)
{
	bool left = !tu_wait_for(mount_gone, NULL, TU_TIMEOUT_MS);

	if (left)
		umount2(D.dir, MNT_DETACH);
	return left;
}

/*
 * Unchecked fixture (the runner process, once per TCase): the mount
 * point. A failing forked test exits without its checked teardown and
 * Check SIGKILLs the test's process group; the daemon runs in a group of
 * its own, dies of PDEATHSIG and its fusermount3 unmounts. Whatever is
 * left, this teardown removes.
 */
static void dir_setup(void)
{
	snprintf(D.dir, sizeof(D.dir), "/tmp/ugpu-api.XXXXXX");
	ck_assert_msg(mkdtemp(D.dir), "mkdtemp: %s", strerror(errno));
	snprintf(D.card0, sizeof(D.card0), "%s/card0", D.dir);
	snprintf(D.stats, sizeof(D.stats), "%s/stats", D.dir);
}

static void dir_teardown(void)
{
	unmount_leftover();
	rmdir(D.dir);
}

/* wait(2) for the daemon with a bound. Return: 0, -ETIMEDOUT, -errno. */
static int daemon_wait(int timeout_ms, int *status)
{
	long long deadline = tu_now_ms() + timeout_ms;
	pid_t r;

	for (;;) {
		r = waitpid(D.pid, status, WNOHANG);
		if (r == D.pid) {
			D.pid = 0;
			return 0;
		}
		if (r < 0 && errno != EINTR)
			return -errno;
		if (tu_now_ms() >= deadline)
			return -ETIMEDOUT;
		usleep(1000);
	}
}

/* SIGKILL the daemon and reap it. */
static void daemon_kill(void)
{
	if (D.pid <= 0)
		return;
	kill(D.pid, SIGKILL);
	while (waitpid(D.pid, NULL, 0) < 0 && errno == EINTR)
		;
	D.pid = 0;
}

/* Start ugpud --mount on the TCase's directory; @extra: more flags, NULL-ended. */
static void daemon_start(const char *const *extra)
{
	pid_t parent = getpid();
	char path[PATH_MAX];
	char *argv[32];
	int argc = 0, st = 0, fd;

	D.pid = 0;
	D.up = D.killed = false;
	ugpud_path(path, sizeof(path));
	ck_assert_msg(access(path, X_OK) == 0, "%s: %s (set UGPU_BUILD)", path, strerror(errno));
	/* A failed test's daemon may have left a dead mount: not this test's fault. */
	if (unmount_leftover())
		fprintf(stderr, "api_test: %s: detached a dead mount an earlier test left\n", D.dir);

	argv[argc++] = "ugpud";
	argv[argc++] = "--mount";
	argv[argc++] = D.dir;
	argv[argc++] = "--log-level";
	argv[argc++] = "warning";
	while (extra && *extra && argc < 30)
		argv[argc++] = (char *)*extra++;
	argv[argc] = NULL;
	D.pid = fork();
	ck_assert_msg(D.pid >= 0, "fork: %s", strerror(errno));
	if (D.pid == 0) {
		setpgid(0, 0);
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (getppid() != parent)
			_exit(126);
		fd = open("/dev/null", O_RDWR);
		if (fd < 0 || dup2(fd, 0) < 0 || dup2(fd, 1) < 0)
			_exit(126);
		execv(path, argv);
		_exit(127);
	}
	D.up = true;
	if (!tu_wait_for(card0_opens, NULL, TU_TIMEOUT_MS)) {
		int r = daemon_wait(0, &st);

		ck_abort_msg("%s never opened (daemon %s 0x%x)", D.card0,
			     r ? "running" : "exited", r ? 0 : st);
	}
}

/* SIGTERM: the daemon exits 0 and takes its mount with it. */
static void daemon_stop(void)
{
	int st = 0, r = 0;
	bool left;

	if (!D.up)
		return;
	D.up = false;
	if (!D.killed) {
		kill(D.pid, SIGTERM);
		r = daemon_wait(3 * TU_TIMEOUT_MS, &st);
		if (r)
			daemon_kill();
	}
	left = unmount_leftover();
	ck_assert_msg(r == 0, "ugpud ignored SIGTERM");
	ck_assert_msg(WIFEXITED(st) && WEXITSTATUS(st) == 0, "ugpud exit status 0x%x", st);
	ck_assert_msg(!left, "the mount outlived the daemon");
}

static void setup_default(void)
{
	daemon_start(NULL);
}

static void setup_nohang(void)
{
	static const char *const extra[] = { "--hang-timeout-ms", "60000", NULL };

	daemon_start(extra);
}

static void setup_hang(void)
{
	static const char *const extra[] = { "--hang-timeout-ms", "300", NULL };

	daemon_start(extra);
}

static void setup_quota(void)
{
	static const char *const extra[] = {
		"--max-vms", Q_VMS, "--max-bos", Q_BOS, "--max-userptrs", Q_USERPTRS,
		"--max-bound-bytes", Q_BOUND, "--max-bo-bytes", Q_BO_BYTES,
		"--max-inflight", Q_INFLIGHT, "--hang-timeout-ms", "60000", NULL,
	};

	daemon_start(extra);
}

static void teardown(void)
{
	daemon_stop();
}

/* ---- stats --------------------------------------------------------------- */

static int stats_read(char *buf, size_t len)
{
	int fd = open(D.stats, O_RDONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return -errno;
	n = read(fd, buf, len - 1);
	close(fd);
	if (n < 0)
		return -errno;
	buf[n] = '\0';
	return 0;
}

static bool stats_field(const char *json, const char *key, unsigned long long *v)
{
	char pat[64];
	const char *at;

	snprintf(pat, sizeof(pat), "\"%s\":", key);
	at = strstr(json, pat);
	if (!at)
		return false;
	at += strlen(pat);
	while (*at == ' ')
		at++;
	*v = strtoull(at, NULL, 10);
	return true;
}

static bool stats_zero(void *arg)
{
	static const char *const keys[] = { "clients", "vms", "bos", "userptrs", "bound_bytes" };
	unsigned long long v;
	size_t i;

	if (stats_read(D.last_stats, sizeof(D.last_stats)))
		return false;
	for (i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
		if (!stats_field(D.last_stats, keys[i], &v) || v)
			return false;
	return true;
}

/* Every client gone: clients, vms, bos, userptrs, bound_bytes back to 0. */
static void assert_stats_settle(void)
{
	ck_assert_msg(tu_wait_for(stats_zero, NULL, TU_TIMEOUT_MS),
		      "stats did not return to zero: %s", D.last_stats);
}

/* ---- helper processes ---------------------------------------------------- */

/* Start `api_client SCENARIO card0 EXTRA...` from @prog (NULL: the build's). */
static void run_spawn(struct run *r, const char *prog, const struct tu_spawn_opts *opts,
		      const char *scenario, const char *const *extra)
{
	char path[PATH_MAX];
	char *argv[16];
	int argc = 0, ret;

	memset(r, 0, sizeof(*r));
	if (!prog) {
		ret = tu_helper_path(HELPER, path, sizeof(path));
		ck_assert_msg(ret == 0, "helper %s not found (%d; set UGPU_TEST_HELPERS)", HELPER, ret);
		prog = path;
	}
	argv[argc++] = HELPER;
	argv[argc++] = (char *)scenario;
	argv[argc++] = D.card0;
	while (extra && *extra && argc < 15)
		argv[argc++] = (char *)*extra++;
	argv[argc] = NULL;
	ret = tu_spawn(&r->p, prog, argv, opts);
	ck_assert_msg(ret == 0, "spawn %s: %d", prog, ret);
}

/* The NULL-terminated variadic arguments after @last, as an array. */
#define COLLECT(arr, last) do {						\
		va_list ap_;						\
		size_t n_ = 0;						\
									\
		va_start(ap_, last);					\
		while (n_ < sizeof(arr) / sizeof(arr[0]) - 1 &&		\
		       (arr[n_] = va_arg(ap_, const char *)))		\
			n_++;						\
		arr[n_] = NULL;						\
		va_end(ap_);						\
	} while (0)

/* Account one line; true if it starts with @prefix. */
static bool take(struct run *r, const char *line, const char *prefix)
{
	if (!strncmp(line, "ok ", 3)) {
		r->oks++;
	} else if (!strncmp(line, "not ok ", 7)) {
		if (!r->fails++)
			snprintf(r->first_fail, sizeof(r->first_fail), "%s", line);
		fprintf(stderr, "api_test: %s\n", line);
	} else if (!strncmp(line, "done ", 5)) {
		r->done = true;
	}
	return prefix && !strncmp(line, prefix, strlen(prefix));
}

/* Read lines until one starts with @prefix; it is copied to @out. */
static void run_until(struct run *r, const char *prefix, char *out, size_t len)
{
	long long deadline = tu_now_ms() + RUN_MS;
	char line[1024];
	int ret;

	for (;;) {
		ret = tu_read_line(&r->p, line, sizeof(line), (int)(deadline - tu_now_ms()));
		ck_assert_msg(ret == 0, "waiting for \"%s\": %s (first failure: %s)", prefix,
			      ret == -EPIPE ? "helper exited" : strerror(-ret), r->first_fail);
		if (take(r, line, prefix))
			break;
	}
	if (out && len) {
		size_t n = strnlen(line, len - 1);

		memcpy(out, line, n);
		out[n] = '\0';
	}
}

/* Read to the end; the helper must exit 0 having printed "done". */
static void run_finish(struct run *r, const char *what)
{
	long long deadline = tu_now_ms() + RUN_MS;
	char line[1024];
	int ret, st = 0;

	for (;;) {
		ret = tu_read_line(&r->p, line, sizeof(line), (int)(deadline - tu_now_ms()));
		if (ret)
			break;
		take(r, line, NULL);
	}
	if (ret == -ETIMEDOUT)
		tu_kill(&r->p);
	ck_assert_msg(ret == -EPIPE, "%s: helper output: %s", what, strerror(-ret));
	ret = tu_wait_exit(&r->p, TU_TIMEOUT_MS, &st);
	if (ret)
		tu_kill(&r->p);
	ck_assert_msg(ret == 0, "%s: helper did not exit", what);
	ck_assert_msg(!WIFSIGNALED(st), "%s: helper killed by signal %d%s (first failure: %s)",
		      what, WTERMSIG(st), WTERMSIG(st) == SIGALRM ? ", a call hung" : "",
		      r->first_fail);
	ck_assert_msg(r->fails == 0, "%s: %d check(s) failed, first: %s", what, r->fails,
		      r->first_fail);
	ck_assert_msg(WIFEXITED(st) && WEXITSTATUS(st) == 0, "%s: helper status 0x%x", what, st);
	ck_assert_msg(r->done, "%s: no \"done\" line", what);
	ck_assert_msg(r->oks > 0, "%s: no check ran", what);
}

static void run_begin(struct run *r, const char *scenario, ...)
{
	const char *extra[12];

	COLLECT(extra, scenario);
	run_spawn(r, NULL, NULL, scenario, extra);
}

/* Run a scenario to its end as root, then check the daemon settled. */
static void scenario(const char *name, ...)
{
	const char *extra[12];
	struct run r;

	COLLECT(extra, name);
	run_spawn(&r, NULL, NULL, name, extra);
	run_finish(&r, name);
	assert_stats_settle();
}

/* ---- the error table ------------------------------------------------------ */

START_TEST(test_errors)
{
	scenario("errors", NULL);
}
END_TEST

START_TEST(test_two_clients_one_process)
{
	scenario("two-clients", NULL);
}
END_TEST

START_TEST(test_two_client_processes)
{
	struct run a, b;
	char line[128], vm_s[16], bo_s[16];
	unsigned int vm, bo;

	run_begin(&a, "hold", NULL);
	run_until(&a, "ids ", line, sizeof(line));
	ck_assert_msg(sscanf(line, "ids %u %u", &vm, &bo) == 2, "bad line '%s'", line);
	snprintf(vm_s, sizeof(vm_s), "%u", vm);
	snprintf(bo_s, sizeof(bo_s), "%u", bo);
	run_begin(&b, "foreign", vm_s, bo_s, NULL);
	run_finish(&b, "foreign");
	ck_assert_int_eq(tu_send(&a.p, "go"), 0);
	run_finish(&a, "hold");
	assert_stats_settle();
}
END_TEST

START_TEST(test_probe)
{
	scenario("probe", NULL);
}
END_TEST

START_TEST(test_forked_child)
{
	scenario("fork", NULL);
}
END_TEST

START_TEST(test_quota)
{
	scenario("quota", Q_VMS, Q_BOS, Q_USERPTRS, Q_BOUND, Q_BO_BYTES, Q_INFLIGHT, NULL);
}
END_TEST

/* ---- userptr semantics --------------------------------------------------- */

START_TEST(test_userptr_store)
{
	scenario("userptr-store", NULL);
}
END_TEST

START_TEST(test_invalidate)
{
	scenario("invalidate", NULL);
}
END_TEST

START_TEST(test_dontneed)
{
	scenario("dontneed", NULL);
}
END_TEST

START_TEST(test_sync_unmap)
{
	scenario("sync-unmap", NULL);
}
END_TEST

START_TEST(test_unmap_running)
{
	scenario("unmap-running", NULL);
}
END_TEST

START_TEST(test_readonly)
{
	scenario("readonly", NULL);
}
END_TEST

START_TEST(test_partial_unbind)
{
	scenario("partial-unbind", NULL);
}
END_TEST

START_TEST(test_replace)
{
	scenario("replace", NULL);
}
END_TEST

START_TEST(test_misaligned)
{
	scenario("misaligned", NULL);
}
END_TEST

START_TEST(test_host_alloc)
{
	scenario("host-alloc", NULL);
}
END_TEST

START_TEST(test_protect)
{
	scenario("protect", NULL);
}
END_TEST

START_TEST(test_backing)
{
	scenario("backing", NULL);
}
END_TEST

START_TEST(test_backing_file)
{
	scenario("backing-file", NULL);
}
END_TEST

START_TEST(test_batch_memory)
{
	scenario("batch-memory", NULL);
}
END_TEST

START_TEST(test_invalidation_storm)
{
	scenario("storm", "300", NULL);
}
END_TEST

START_TEST(test_big)
{
	scenario("big", "256", NULL);
}
END_TEST

/* ---- objects, query, fences ---------------------------------------------- */

START_TEST(test_query)
{
	scenario("query", NULL);
}
END_TEST

START_TEST(test_bo)
{
	scenario("bo", NULL);
}
END_TEST

START_TEST(test_fence)
{
	scenario("fence", NULL);
}
END_TEST

START_TEST(test_hang)
{
	scenario("hang", NULL);
}
END_TEST

/* ---- client and daemon lifetime ------------------------------------------- */

START_TEST(test_exit_busy)
{
	struct run r;

	run_begin(&r, "exit-busy", "exit", NULL);
	run_finish(&r, "exit-busy exit");
	assert_stats_settle();
	/* The dead client's jobs do not block the engines. */
	scenario("userptr-store", NULL);
}
END_TEST

START_TEST(test_killed_busy)
{
	struct run r;

	run_begin(&r, "exit-busy", "hold", NULL);
	run_until(&r, "ready", NULL, 0);
	ck_assert_msg(r.fails == 0, "before the kill: %s", r.first_fail);
	tu_kill(&r.p);
	assert_stats_settle();
	scenario("userptr-store", NULL);
}
END_TEST

START_TEST(test_close_busy)
{
	struct run r;

	run_begin(&r, "exit-busy", "close", NULL);
	run_finish(&r, "exit-busy close");
	assert_stats_settle();
	scenario("userptr-store", NULL);
}
END_TEST

START_TEST(test_non_root)
{
	static const char *const names[] = {
		"query", "errors", "userptr-store", "invalidate", "dontneed", "host-alloc",
		"sync-unmap", "readonly",
	};
	struct tu_spawn_opts opts = { .as_user = true, .uid = NOBODY, .gid = NOBODY };
	char src[PATH_MAX], dir[PATH_MAX], prog[PATH_MAX];
	struct run r;
	size_t i;
	int ret;

	ck_assert_int_eq(tu_helper_path(HELPER, src, sizeof(src)), 0);
	ret = tu_copy_for_user(src, dir, sizeof(dir), prog, sizeof(prog));
	ck_assert_msg(ret == 0, "copy helper: %d", ret);
	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		run_spawn(&r, prog, &opts, names[i], NULL);
		run_finish(&r, names[i]);
		assert_stats_settle();
	}
	tu_rmdir(dir);
}
END_TEST

START_TEST(test_daemon_gone)
{
	struct run r;
	bool unmounted;

	run_begin(&r, "gone", NULL);
	run_until(&r, "ready", NULL, 0);
	ck_assert_msg(r.fails == 0, "before the kill: %s", r.first_fail);
	daemon_kill();
	D.killed = true;
	ck_assert_int_eq(tu_send(&r.p, "go"), 0);
	/* auto_unmount: a SIGKILLed daemon leaves no dead mount behind. */
	unmounted = tu_wait_for(mount_gone, NULL, TU_TIMEOUT_MS);
	if (!unmounted)
		fprintf(stderr, "api_test: %s still mounted after the daemon was killed\n", D.dir);
	run_finish(&r, "gone");
	ck_assert_msg(unmounted, "%s still mounted after the daemon was killed", D.dir);
}
END_TEST

/* ---- suite --------------------------------------------------------------- */

static TCase *tcase(Suite *s, const char *name, void (*setup)(void), int timeout)
{
	TCase *tc = tcase_create(name);

	tcase_add_unchecked_fixture(tc, dir_setup, dir_teardown);
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, timeout);
	suite_add_tcase(s, tc);
	return tc;
}

static Suite *api_suite(void)
{
	Suite *s = suite_create("api");
	TCase *tc;

	tc = tcase(s, "errors", setup_default, 60);
	tcase_add_test(tc, test_errors);
	tcase_add_test(tc, test_two_clients_one_process);
	tcase_add_test(tc, test_two_client_processes);
	tcase_add_test(tc, test_probe);
	tcase_add_test(tc, test_forked_child);

	tc = tcase(s, "quota", setup_quota, 60);
	tcase_add_test(tc, test_quota);

	tc = tcase(s, "userptr", setup_default, 60);
	tcase_add_test(tc, test_userptr_store);
	tcase_add_test(tc, test_invalidate);
	tcase_add_test(tc, test_dontneed);
	tcase_add_test(tc, test_sync_unmap);
	tcase_add_test(tc, test_unmap_running);
	tcase_add_test(tc, test_readonly);
	tcase_add_test(tc, test_partial_unbind);
	tcase_add_test(tc, test_replace);
	tcase_add_test(tc, test_misaligned);
	tcase_add_test(tc, test_host_alloc);
	tcase_add_test(tc, test_protect);
	tcase_add_test(tc, test_backing);
	tcase_add_test(tc, test_backing_file);
	tcase_add_test(tc, test_batch_memory);
	tcase_add_test(tc, test_invalidation_storm);

	tc = tcase(s, "big", setup_default, 120);
	tcase_add_test(tc, test_big);

	tc = tcase(s, "objects", setup_default, 60);
	tcase_add_test(tc, test_query);
	tcase_add_test(tc, test_bo);

	tc = tcase(s, "fences", setup_nohang, 60);
	tcase_add_test(tc, test_fence);

	tc = tcase(s, "hang", setup_hang, 60);
	tcase_add_test(tc, test_hang);

	tc = tcase(s, "lifetime", setup_default, 60);
	tcase_add_test(tc, test_exit_busy);
	tcase_add_test(tc, test_killed_busy);
	tcase_add_test(tc, test_close_busy);
	tcase_add_test(tc, test_non_root);

	tc = tcase(s, "daemon_gone", setup_nohang, 60);
	tcase_add_test(tc, test_daemon_gone);
	return s;
}

int main(void)
{
	SRunner *sr;
	int failed;

	sr = srunner_create(api_suite());
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
