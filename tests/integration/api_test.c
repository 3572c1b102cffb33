// SPDX-License-Identifier: MIT
/*
 * Check suite for the public contract (API.md) end to end: each test
 * starts the real daemon (build/ugpud, sim backend) on a fresh FUSE
 * mount (tests/lib/ugpud_harness.c), runs scenarios of the api_* helper
 * programs (tests/helpers/api_*.c) as real client processes (root, a
 * second process, uid 65534, forked children), asserts their exit status
 * and every "ok"/"not ok" line they print, and then that the mount's
 * `stats` returns to zero clients, VMs, BOs, userptrs and bound bytes.
 * Daemons with small quotas or a short hang timeout are started for the
 * tests that need them; one test SIGKILLs its daemon. Teardown SIGTERMs
 * the daemon, expects exit 0 and the mount gone. Every wait is for a
 * state, bounded (TU_TIMEOUT_MS); nothing asserts timing.
 */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "tests/lib/suite.h"
#include "tests/lib/testutil.h"
#include "tests/lib/ugpud_harness.h"

#define RUN_MS		60000	/* one scenario, all its output */
#define NOBODY		65534

/* The quota daemon's limits, passed to it and to the quota scenario. */
#define Q_VMS		"3"
#define Q_BOS		"2"
#define Q_USERPTRS	"4"
#define Q_BOUND		"4194304"
#define Q_BO_BYTES	"1048576"
#define Q_INFLIGHT	"2"

static struct ugpud D;			/* the daemon, one mount point per TCase */
static char last_stats[1024];

/* A helper process and what it printed. */
struct run {
	struct tu_proc p;
	int oks, fails;
	bool done;
	char first_fail[512];
};

/* Each helper program, then the scenarios it runs. */
static const char *const programs[][11] = {
	{ "api_errors", "errors", "two-clients", "hold", "foreign", "probe", "fork", "quota" },
	{ "api_userptr", "userptr-store", "invalidate", "dontneed", "sync-unmap", "unmap-running",
	  "readonly", "partial-unbind", "replace", "storm" },
	{ "api_memory", "big", "misaligned", "host-alloc", "protect", "backing", "backing-file",
	  "batch-memory" },
	{ "api_objects", "query", "bo", "fence", "hang" },
	{ "api_lifetime", "gone", "exit-busy" },
};

/* The helper program that runs @scenario. */
static const char *program_of(const char *scenario)
{
	size_t i, j;

	for (i = 0; i < sizeof(programs) / sizeof(programs[0]); i++)
		for (j = 1; j < sizeof(programs[0]) / sizeof(programs[0][0]) && programs[i][j]; j++)
			if (!strcmp(programs[i][j], scenario))
				return programs[i][0];
	ck_abort_msg("no helper program runs scenario %s", scenario);
	return NULL;
}

/* ---- the daemon ---------------------------------------------------------- */

/* Unchecked fixture (the runner process, once per TCase): the mount point. */
static void dir_setup(void)
{
	ugpud_dir_setup(&D, "ugpu-api");
}

static void dir_teardown(void)
{
	ugpud_dir_teardown(&D);
}

static void setup_default(void)
{
	ugpud_start(&D, NULL);
}

static void setup_nohang(void)
{
	static const char *const extra[] = { "--hang-timeout-ms", "60000", NULL };

	ugpud_start(&D, extra);
}

static void setup_hang(void)
{
	static const char *const extra[] = { "--hang-timeout-ms", "300", NULL };

	ugpud_start(&D, extra);
}

static void setup_quota(void)
{
	static const char *const extra[] = {
		"--max-vms", Q_VMS, "--max-bos", Q_BOS, "--max-userptrs", Q_USERPTRS,
		"--max-bound-bytes", Q_BOUND, "--max-bo-bytes", Q_BO_BYTES,
		"--max-inflight", Q_INFLIGHT, "--hang-timeout-ms", "60000", NULL,
	};

	ugpud_start(&D, extra);
}

static void teardown(void)
{
	ugpud_stop(&D);
}

/* ---- stats --------------------------------------------------------------- */

static bool stats_zero(void *arg)
{
	static const char *const keys[] = { "clients", "vms", "bos", "userptrs", "bound_bytes" };
	size_t i;

	if (ugpud_stats_text(&D, last_stats, sizeof(last_stats)))
		return false;
	for (i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
		if (ugpud_stats_field(last_stats, keys[i]))
			return false;
	return true;
}

/* Every client gone: clients, vms, bos, userptrs, bound_bytes back to 0. */
static void assert_stats_settle(void)
{
	ck_assert_msg(tu_wait_for(stats_zero, NULL, TU_TIMEOUT_MS),
		      "stats did not return to zero: %s", last_stats);
}

/* ---- helper processes ---------------------------------------------------- */

/* Start `api_<group> SCENARIO card0 EXTRA...` from @prog (NULL: the build's). */
static void run_spawn(struct run *r, const char *prog, const struct tu_spawn_opts *opts,
		      const char *scenario, const char *const *extra)
{
	char path[PATH_MAX];
	char *argv[16];
	int argc = 0, ret;

	memset(r, 0, sizeof(*r));
	if (!prog) {
		ret = tu_helper_path(program_of(scenario), path, sizeof(path));
		ck_assert_msg(ret == 0, "helper %s not found (%d; set UGPU_TEST_HELPERS)",
			      program_of(scenario), ret);
		prog = path;
	}
	argv[argc++] = (char *)program_of(scenario);
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

	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		ck_assert_int_eq(tu_helper_path(program_of(names[i]), src, sizeof(src)), 0);
		ret = tu_copy_for_user(src, dir, sizeof(dir), prog, sizeof(prog));
		ck_assert_msg(ret == 0, "copy helper: %d", ret);
		run_spawn(&r, prog, &opts, names[i], NULL);
		run_finish(&r, names[i]);
		assert_stats_settle();
		tu_rmdir(dir);
	}
}
END_TEST

START_TEST(test_daemon_gone)
{
	struct run r;
	bool unmounted;

	run_begin(&r, "gone", NULL);
	run_until(&r, "ready", NULL, 0);
	ck_assert_msg(r.fails == 0, "before the kill: %s", r.first_fail);
	ugpud_kill(&D);
	D.killed = true;
	ck_assert_int_eq(tu_send(&r.p, "go"), 0);
	/* auto_unmount: a SIGKILLed daemon leaves no dead mount behind. */
	unmounted = tu_wait_for(ugpud_mount_gone, &D, TU_TIMEOUT_MS);
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
	return tu_run_suite(api_suite());
}
