// SPDX-License-Identifier: MIT
/*
 * Check suite for ugpuctl against the real daemon: each test starts
 * build/ugpud on a fresh FUSE mount, runs build/ugpuctl as a separate
 * process and checks what it prints and how it exits, with real client
 * processes (tests/helpers/ctl_client, raw ioctls) coming and going.
 * Programs are found through $UGPU_BUILD (set by scripts/run-tests.sh),
 * else dirname(/proc/self/exe)/../..; helpers through testutil. No
 * timing assumptions: every wait is for a state, bounded by
 * TU_TIMEOUT_MS. Each test ends by stopping the daemon with SIGTERM and
 * checking that it exits 0 and leaves no mount behind.
 */
#include <check.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <linux/magic.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/wait.h>
#include <unistd.h>

#include "tests/lib/testutil.h"

#define NOBODY 65534

struct run {
	int status;		/* wait status */
	char out[32768];
	char err[8192];
};

static struct {
	/* Per TCase, set up in the runner's process (unchecked fixture). */
	char build[PATH_MAX];
	char ugpud[PATH_MAX + 16];
	char ugpuctl[PATH_MAX + 16];
	char client[PATH_MAX];
	int client_found;		/* tu_helper_path()'s result */
	char base[64];			/* scratch dir for every test's files */
	char user_dir[2][256];		/* copies for NOBODY, or "" */
	int user_copied;		/* 0, or tu_copy_for_user()'s error */
	char user_ctl[512], user_client[512];

	/* Per test. */
	char dir[128];			/* the mount point, in base */
	char card0[160];
	struct tu_proc daemon;
	char bind_dir[128];		/* in base, or "" */
	char bind_file[192];		/* a bind mount of card0, or "" */
} T;

/* ---- programs --------------------------------------------------------- */

/* Where the programs are; asserted in the checked setup. */
static void find_programs(void)
{
	const char *env = getenv("UGPU_BUILD");
	char exe[PATH_MAX];
	ssize_t n;

	if (env && *env) {
		snprintf(T.build, sizeof(T.build), "%s", env);
	} else {
		n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
		exe[n > 0 ? n : 0] = '\0';
		/* build/tests/integration/X -> build */
		snprintf(T.build, sizeof(T.build), "%s/../..", dirname(exe));
	}
	snprintf(T.ugpud, sizeof(T.ugpud), "%s/ugpud", T.build);
	snprintf(T.ugpuctl, sizeof(T.ugpuctl), "%s/ugpuctl", T.build);
	T.client_found = tu_helper_path("ctl_client", T.client, sizeof(T.client));
}

/*
 * Run ugpuctl with @args (NULL-terminated), UGPU_DEVICE set to @env_dev
 * or unset, and collect its output and wait status.
 */
static void run_ctl_env(struct run *r, const char *env_dev, const char *arg, ...)
{
	char *argv[16];
	size_t lens[2] = { 0, 0 }, caps[2] = { sizeof(r->out) - 1, sizeof(r->err) - 1 };
	char *bufs[2] = { r->out, r->err };
	int out[2], err[2], open_fds = 2, i = 0;
	long long deadline = tu_now_ms() + TU_TIMEOUT_MS;
	va_list ap;
	pid_t pid;

	argv[i++] = T.ugpuctl;
	va_start(ap, arg);
	for (; arg && i < 15; arg = va_arg(ap, const char *))
		argv[i++] = (char *)arg;
	va_end(ap);
	argv[i] = NULL;

	ck_assert_int_eq(pipe2(out, O_CLOEXEC), 0);
	ck_assert_int_eq(pipe2(err, O_CLOEXEC), 0);
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		if (dup2(out[1], 1) < 0 || dup2(err[1], 2) < 0)
			_exit(126);
		if (env_dev)
			setenv("UGPU_DEVICE", env_dev, 1);
		else
			unsetenv("UGPU_DEVICE");
		execv(T.ugpuctl, argv);
		_exit(127);
	}
	close(out[1]);
	close(err[1]);
	while (open_fds) {
		struct pollfd pfd[2] = { { out[0], POLLIN, 0 }, { err[0], POLLIN, 0 } };
		long long left = deadline - tu_now_ms();
		int k;

		if (lens[0] == SIZE_MAX)
			pfd[0].fd = -1;
		if (lens[1] == SIZE_MAX)
			pfd[1].fd = -1;
		ck_assert_msg(left > 0, "ugpuctl %s did not finish", argv[1] ? argv[1] : "");
		if (poll(pfd, 2, (int)left) <= 0)
			continue;
		for (k = 0; k < 2; k++) {
			ssize_t n;

			if (pfd[k].fd < 0 || !pfd[k].revents)
				continue;
			n = read(pfd[k].fd, bufs[k] + lens[k], caps[k] - lens[k]);
			ck_assert_int_ge(n, 0);
			if (n == 0) {
				bufs[k][lens[k]] = '\0';
				lens[k] = SIZE_MAX;	/* done */
				open_fds--;
			} else {
				lens[k] += (size_t)n;
				ck_assert_uint_lt(lens[k], caps[k]);
			}
		}
	}
	close(out[0]);
	close(err[0]);
	ck_assert_int_eq(waitpid(pid, &r->status, 0), pid);
}

#define run_ctl(r, ...) run_ctl_env(r, NULL, __VA_ARGS__, NULL)

static int exit_code(const struct run *r)
{
	return WIFEXITED(r->status) ? WEXITSTATUS(r->status) : 128 + WTERMSIG(r->status);
}

/* Integer @key of a flat JSON object, found textually. */
static bool json_u64(const char *json, const char *key, unsigned long long *v)
{
	char pat[64], *end;
	const char *p;

	snprintf(pat, sizeof(pat), "\"%s\":", key);
	p = strstr(json, pat);
	if (!p)
		return false;
	p += strlen(pat);
	if (*p < '0' || *p > '9')
		return false;
	*v = strtoull(p, &end, 10);
	return *end == ',' || *end == '}';
}

static const char *const required[] = {
	"clients", "vms", "bos", "userptrs", "bound_bytes", "jobs_submitted",
	"jobs_completed", "jobs_failed", "invalidations", "exec_retries", NULL,
};

/* `status --json` printed exactly one flat object, on one line. */
static void assert_one_object(const struct run *r)
{
	size_t n = strlen(r->out);

	ck_assert_msg(exit_code(r) == 0, "exit %d: %s", exit_code(r), r->err);
	ck_assert_uint_gt(n, 2);
	ck_assert_msg(r->out[0] == '{' && r->out[n - 2] == '}' && r->out[n - 1] == '\n',
		      "not one object: %s", r->out);
	ck_assert_ptr_null(memchr(r->out, '\n', n - 1));
	ck_assert_ptr_eq(strchr(r->out, '{'), strrchr(r->out, '{'));
	ck_assert_ptr_eq(strchr(r->out, '}'), strrchr(r->out, '}'));
	ck_assert_ptr_null(strchr(r->out, '['));
}

struct counts {
	unsigned long long clients, vms, bos, userptrs, bound;
};

static bool status_is(void *arg)
{
	const struct counts *want = arg;
	struct counts got;
	struct run r;

	run_ctl(&r, "--device", T.card0, "status", "--json");
	if (exit_code(&r) != 0 || !json_u64(r.out, "clients", &got.clients) ||
	    !json_u64(r.out, "vms", &got.vms) || !json_u64(r.out, "bos", &got.bos) ||
	    !json_u64(r.out, "userptrs", &got.userptrs) ||
	    !json_u64(r.out, "bound_bytes", &got.bound))
		return false;
	return got.clients == want->clients && got.vms == want->vms &&
	       got.bos == want->bos && got.userptrs == want->userptrs &&
	       got.bound == want->bound;
}

/* ---- the daemon --------------------------------------------------------- */

static bool is_fuse(const char *path)
{
	struct statfs sfs;

	return statfs(path, &sfs) == 0 && sfs.f_type == (typeof(sfs.f_type))FUSE_SUPER_MAGIC;
}

/* Is something mounted at @path? (Also a dead FUSE mount, which statfs
 * cannot see: ENOTCONN.) Our paths have no spaces to escape. */
static bool mount_point(const char *path)
{
	char line[1024], mp[512];
	bool found = false;
	FILE *f = fopen("/proc/self/mountinfo", "re");

	while (f && !found && fgets(line, sizeof(line), f))
		found = sscanf(line, "%*s %*s %*s %*s %511s", mp) == 1 && !strcmp(mp, path);
	if (f)
		fclose(f);
	return found;
}

static bool mounted(void *arg)
{
	return is_fuse(T.dir) && access(T.card0, F_OK) == 0;
}

static bool unmounted(void *arg)
{
	return !mount_point(T.dir);
}

static void start_daemon(void)
{
	char *argv[] = { T.ugpud, "--mount", T.dir, "--log-level", "warning", NULL };

	ck_assert_int_eq(tu_spawn(&T.daemon, T.ugpud, argv, NULL), 0);
	ck_assert_msg(tu_wait_for(mounted, NULL, TU_TIMEOUT_MS), "ugpud did not mount %s",
		      T.dir);
}

/* SIGTERM, wait, and check the exit status and that the mount is gone. */
static void stop_daemon(void)
{
	int status = 0;

	ck_assert_int_gt(T.daemon.pid, 0);
	ck_assert_int_eq(kill(T.daemon.pid, SIGTERM), 0);
	ck_assert_int_eq(tu_wait_exit(&T.daemon, TU_TIMEOUT_MS, &status), 0);
	ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0,
		      "ugpud ended with status %#x", status);
	ck_assert_msg(tu_wait_for(unmounted, NULL, TU_TIMEOUT_MS), "%s still mounted",
		      T.dir);
}

/*
 * Unchecked fixture, in the runner's process. In fork mode a failed
 * assertion _exit()s the test process before the checked teardown, so
 * everything a test makes lives in T.base, and this sweeps it: mounts
 * detached, files and directories removed. The test's daemon and
 * helpers die with it (tu_spawn's PR_SET_PDEATHSIG).
 */
static void suite_setup(void)
{
	find_programs();
	snprintf(T.base, sizeof(T.base), "/tmp/ugpuctl-test.XXXXXX");
	if (!mkdtemp(T.base) || chmod(T.base, 0755))
		T.base[0] = '\0';
	T.user_copied = -EPERM;
	T.user_dir[0][0] = T.user_dir[1][0] = '\0';
	if (geteuid() == 0) {
		T.user_copied = tu_copy_for_user(T.ugpuctl, T.user_dir[0],
						 sizeof(T.user_dir[0]), T.user_ctl,
						 sizeof(T.user_ctl));
		if (!T.user_copied)
			T.user_copied = tu_copy_for_user(T.client, T.user_dir[1],
							 sizeof(T.user_dir[1]),
							 T.user_client,
							 sizeof(T.user_client));
	}
}

static void detach(const char *path)
{
	pid_t pid;

	if (!mount_point(path) || !umount2(path, MNT_DETACH) || geteuid() == 0)
		return;
	pid = fork();
	if (pid == 0) {
		execlp("fusermount3", "fusermount3", "-u", "-z", path, (char *)NULL);
		_exit(127);
	}
	if (pid > 0)
		waitpid(pid, NULL, 0);
}

static void suite_teardown(void)
{
	char path[PATH_MAX], file[PATH_MAX + 8];
	struct dirent *de;
	DIR *d;
	int i;

	d = T.base[0] ? opendir(T.base) : NULL;
	while (d && (de = readdir(d))) {
		if (de->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "%s/%s", T.base, de->d_name);
		snprintf(file, sizeof(file), "%s/dev", path);
		detach(file);
		detach(path);
		tu_rmdir(path);
	}
	if (d)
		closedir(d);
	if (T.base[0])
		rmdir(T.base);
	for (i = 0; i < 2; i++)
		if (T.user_dir[i][0])
			tu_rmdir(T.user_dir[i]);
}

static void setup(void)
{
	ck_assert_msg(T.base[0], "no scratch directory");
	ck_assert_msg(access(T.ugpud, X_OK) == 0, "no %s", T.ugpud);
	ck_assert_msg(access(T.ugpuctl, X_OK) == 0, "no %s", T.ugpuctl);
	ck_assert_msg(T.client_found == 0, "no ctl_client helper");
	T.daemon.pid = 0;
	T.daemon.in = T.daemon.out = -1;
	T.bind_file[0] = T.bind_dir[0] = '\0';
	snprintf(T.dir, sizeof(T.dir), "%s/mnt.XXXXXX", T.base);
	ck_assert_ptr_nonnull(mkdtemp(T.dir));
	snprintf(T.card0, sizeof(T.card0), "%s/card0", T.dir);
}

static void setup_daemon(void)
{
	setup();
	start_daemon();
}

/* The orderly end of a test that did not fail. */
static void teardown(void)
{
	if (T.bind_file[0]) {
		umount2(T.bind_file, MNT_DETACH);
		unlink(T.bind_file);
		rmdir(T.bind_dir);
		T.bind_file[0] = '\0';
	}
	if (T.daemon.pid > 0) {
		kill(T.daemon.pid, SIGTERM);
		if (tu_wait_exit(&T.daemon, TU_TIMEOUT_MS, NULL))
			tu_kill(&T.daemon);
	}
	detach(T.dir);
	rmdir(T.dir);
}

/* Start ctl_client on card0, as NOBODY if @as_nobody; return its pid. */
static pid_t start_client(struct tu_proc *c, bool as_nobody)
{
	struct tu_spawn_opts opts = { .as_user = true, .uid = NOBODY, .gid = NOBODY };
	char *argv[] = { as_nobody ? T.user_client : T.client, T.card0, NULL };
	char line[128];
	int pid = 0;

	ck_assert_int_eq(tu_spawn(c, argv[0], argv, as_nobody ? &opts : NULL), 0);
	ck_assert_int_eq(tu_read_line(c, line, sizeof(line), TU_TIMEOUT_MS), 0);
	ck_assert_msg(sscanf(line, "ready %d", &pid) == 1, "ctl_client: %s", line);
	ck_assert_int_eq(pid, c->pid);
	return pid;
}

/* ---- tests ------------------------------------------------------------ */

START_TEST(test_status_json_idle)
{
	const char *const *k;
	unsigned long long v;
	struct run r;

	run_ctl(&r, "--device", T.card0, "status", "--json");
	assert_one_object(&r);
	ck_assert_str_eq(r.err, "");
	for (k = required; *k; k++) {
		ck_assert_msg(json_u64(r.out, *k, &v), "no integer field %s in %s", *k, r.out);
		ck_assert_msg(v == 0, "%s = %llu with no clients", *k, v);
	}
	/* The FUSE stats file carries more than struct ugpu_stats. */
	ck_assert_msg(json_u64(r.out, "jobs_running", &v), "%s", r.out);

	/* ugpuctl itself never counts: ask again, still no client. */
	run_ctl(&r, "status", "--json", "--device", T.card0);
	assert_one_object(&r);
	ck_assert(json_u64(r.out, "clients", &v));
	ck_assert_uint_eq(v, 0);
	stop_daemon();
}
END_TEST

START_TEST(test_status_device_lookup)
{
	unsigned long long v;
	struct run r;

	/* $UGPU_DEVICE, as libugpu. */
	run_ctl_env(&r, T.card0, "status", "--json", NULL);
	assert_one_object(&r);
	ck_assert(json_u64(r.out, "clients", &v));

	/* The mount directory stands for its card0. */
	run_ctl(&r, "--device", T.dir, "status", "--json");
	assert_one_object(&r);

	/* --device wins over $UGPU_DEVICE. */
	run_ctl_env(&r, "/nonexistent/card0", "--device", T.card0, "status", NULL);
	ck_assert_int_eq(exit_code(&r), 0);

	/* The table for humans. */
	run_ctl(&r, "--device", T.card0, "status");
	ck_assert_int_eq(exit_code(&r), 0);
	ck_assert_ptr_nonnull(strstr(r.out, "clients"));
	ck_assert_ptr_nonnull(strstr(r.out, "exec retries"));
	ck_assert_ptr_nonnull(strstr(r.out, T.card0));
	stop_daemon();
}
END_TEST

START_TEST(test_client_comes_and_goes)
{
	struct counts one = { 1, 1, 1, 0, 0 }, zero = { 0 };
	struct tu_proc c;
	char line[64], pat[64];
	unsigned long long v;
	struct run r;
	pid_t pid;

	pid = start_client(&c, false);
	ck_assert_msg(tu_wait_for(status_is, &one, TU_TIMEOUT_MS),
		      "status never showed 1 client, 1 VM, 1 BO");

	run_ctl(&r, "--device", T.card0, "clients", "--json");
	ck_assert_msg(exit_code(&r) == 0, "%s", r.err);
	snprintf(pat, sizeof(pat), "\"pid\":%d,", (int)pid);
	ck_assert_msg(strstr(r.out, pat), "pid %d not in %s", (int)pid, r.out);
	ck_assert(json_u64(r.out, "not_shown", &v));
	ck_assert_uint_eq(v, 0);

	run_ctl(&r, "--device", T.card0, "clients");
	ck_assert_int_eq(exit_code(&r), 0);
	snprintf(pat, sizeof(pat), "\n%d ", (int)pid);
	ck_assert_msg(strstr(r.out, pat), "pid %d not in\n%s", (int)pid, r.out);

	run_ctl(&r, "--device", T.card0, "vms", "--json");
	ck_assert_int_eq(exit_code(&r), 0);
	ck_assert(json_u64(r.out, "vms", &v));
	ck_assert_uint_eq(v, 1);

	/* Closing the device releases everything; the process lives on. */
	ck_assert_int_eq(tu_cmd(&c, line, sizeof(line), "close"), 0);
	ck_assert_str_eq(line, "closed");
	ck_assert_msg(tu_wait_for(status_is, &zero, TU_TIMEOUT_MS),
		      "counters did not return to 0 after close");
	run_ctl(&r, "--device", T.card0, "clients", "--json");
	ck_assert_int_eq(exit_code(&r), 0);
	snprintf(pat, sizeof(pat), "\"pid\":%d,", (int)pid);
	ck_assert_ptr_null(strstr(r.out, pat));

	ck_assert_int_eq(tu_send(&c, "exit"), 0);
	ck_assert_int_eq(tu_wait_exit(&c, TU_TIMEOUT_MS, NULL), 0);
	stop_daemon();
}
END_TEST

START_TEST(test_client_killed)
{
	struct counts one = { 1, 1, 1, 0, 0 }, zero = { 0 };
	struct tu_proc c;

	start_client(&c, false);
	ck_assert(tu_wait_for(status_is, &one, TU_TIMEOUT_MS));
	tu_kill(&c);
	ck_assert_msg(tu_wait_for(status_is, &zero, TU_TIMEOUT_MS),
		      "counters did not return to 0 after SIGKILL");
	stop_daemon();
}
END_TEST

START_TEST(test_top_frames)
{
	struct tu_proc c;
	const char *p;
	struct run r;
	int frames = 0;

	start_client(&c, false);
	run_ctl(&r, "--device", T.card0, "top", "--count", "3", "--interval", "20");
	ck_assert_msg(exit_code(&r) == 0, "%s", r.err);
	/* stdout is a pipe: no clear-screen or other escape codes. */
	ck_assert_ptr_null(strchr(r.out, '\033'));
	for (p = r.out; (p = strstr(p, "ugpuctl top - ")); p++)
		frames++;
	ck_assert_int_eq(frames, 3);
	ck_assert_ptr_nonnull(strstr(r.out, "PID"));
	tu_kill(&c);
	stop_daemon();
}
END_TEST

/* The STATS ioctl path: card0 bind-mounted where no `stats` file is. */
START_TEST(test_stats_ioctl)
{
	unsigned long long v;
	const char *const *k;
	struct tu_proc c;
	struct counts one = { 1, 1, 1, 0, 0 };
	struct run r;
	int fd;

	if (geteuid() != 0)
		return;				/* bind mounts need root */
	snprintf(T.bind_dir, sizeof(T.bind_dir), "%s/bind.XXXXXX", T.base);
	ck_assert_ptr_nonnull(mkdtemp(T.bind_dir));
	snprintf(T.bind_file, sizeof(T.bind_file), "%s/dev", T.bind_dir);
	fd = open(T.bind_file, O_CREAT | O_WRONLY | O_CLOEXEC, 0600);
	ck_assert_int_ge(fd, 0);
	close(fd);
	ck_assert_int_eq(mount(T.card0, T.bind_file, NULL, MS_BIND, NULL), 0);

	start_client(&c, false);
	ck_assert(tu_wait_for(status_is, &one, TU_TIMEOUT_MS));
	run_ctl(&r, "--device", T.bind_file, "status", "--json");
	assert_one_object(&r);
	for (k = required; *k; k++)
		ck_assert_msg(json_u64(r.out, *k, &v), "no %s in %s", *k, r.out);
	ck_assert(json_u64(r.out, "clients", &v));
	ck_assert_uint_eq(v, 1);
	ck_assert(json_u64(r.out, "bos", &v));
	ck_assert_uint_eq(v, 1);
	/* Only struct ugpu_stats: the stats file's extra fields are absent. */
	ck_assert_ptr_null(strstr(r.out, "jobs_running"));

	run_ctl(&r, "--device", T.bind_file, "status");
	ck_assert_int_eq(exit_code(&r), 0);
	ck_assert_ptr_nonnull(strstr(r.out, "STATS ioctl"));

	/* No clients/ beside it: said plainly, exit 1. */
	run_ctl(&r, "--device", T.bind_file, "clients");
	ck_assert_int_eq(exit_code(&r), 1);
	ck_assert_ptr_nonnull(strstr(r.err, "FUSE mount"));
	ck_assert_str_eq(r.out, "");

	tu_kill(&c);
	ck_assert_int_eq(umount2(T.bind_file, 0), 0);
	unlink(T.bind_file);
	rmdir(T.bind_dir);
	T.bind_file[0] = '\0';
	stop_daemon();
}
END_TEST

/* Run the NOBODY copy of ugpuctl with @cmd; its stdout in @out. */
static int run_ctl_as_nobody(const char *cmd, char *out, size_t len)
{
	struct tu_spawn_opts opts = { .as_user = true, .uid = NOBODY, .gid = NOBODY };
	char *argv[] = { T.user_ctl, "--device", T.card0, (char *)cmd, "--json", NULL };
	struct tu_proc p;
	int status, ret;

	ck_assert_int_eq(tu_spawn(&p, T.user_ctl, argv, &opts), 0);
	close(p.in);
	p.in = -1;
	ret = tu_read_line(&p, out, len, TU_TIMEOUT_MS);
	ck_assert_msg(ret == 0, "no output from ugpuctl %s as nobody: %d", cmd, ret);
	ck_assert_int_eq(tu_wait_exit(&p, TU_TIMEOUT_MS, &status), 0);
	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

START_TEST(test_clients_of_other_users)
{
	struct counts two = { 2, 2, 2, 0, 0 };
	struct tu_proc mine, theirs;
	char out[4096], pat[64];
	unsigned long long v;
	pid_t nobody_pid, root_pid;
	struct run r;

	if (geteuid() != 0)
		return;				/* needs a second uid */
	ck_assert_int_eq(T.user_copied, 0);
	root_pid = start_client(&theirs, false);
	nobody_pid = start_client(&mine, true);
	ck_assert(tu_wait_for(status_is, &two, TU_TIMEOUT_MS));

	/* nobody sees its own client only, and is told one is hidden. */
	ck_assert_int_eq(run_ctl_as_nobody("clients", out, sizeof(out)), 0);
	snprintf(pat, sizeof(pat), "\"pid\":%d,", (int)nobody_pid);
	ck_assert_msg(strstr(out, pat), "%s", out);
	snprintf(pat, sizeof(pat), "\"pid\":%d,", (int)root_pid);
	ck_assert_msg(!strstr(out, pat), "%s", out);
	ck_assert(json_u64(out, "not_shown", &v));
	ck_assert_uint_eq(v, 1);

	/* The device totals are for everyone. */
	ck_assert_int_eq(run_ctl_as_nobody("status", out, sizeof(out)), 0);
	ck_assert(json_u64(out, "clients", &v));
	ck_assert_uint_eq(v, 2);

	/* root sees both. */
	run_ctl(&r, "--device", T.card0, "clients", "--json");
	ck_assert_int_eq(exit_code(&r), 0);
	ck_assert_msg(strstr(r.out, pat), "%s", r.out);
	ck_assert(json_u64(r.out, "not_shown", &v));
	ck_assert_uint_eq(v, 0);

	tu_kill(&mine);
	tu_kill(&theirs);
	stop_daemon();
}
END_TEST

START_TEST(test_daemon_not_running)
{
	char missing[192];
	struct run r;

	/* An empty mount point: the daemon is not there. */
	run_ctl(&r, "--device", T.card0, "status", "--json");
	ck_assert_int_eq(exit_code(&r), 1);
	ck_assert_str_eq(r.out, "");
	ck_assert_ptr_nonnull(strstr(r.err, "cannot reach ugpud"));
	ck_assert_ptr_nonnull(strstr(r.err, T.card0));

	run_ctl_env(&r, T.card0, "clients", NULL);
	ck_assert_int_eq(exit_code(&r), 1);
	ck_assert_ptr_nonnull(strstr(r.err, "cannot reach ugpud"));

	snprintf(missing, sizeof(missing), "%s/nothing/card0", T.dir);
	run_ctl(&r, "--device", missing, "top", "--count", "1");
	ck_assert_int_eq(exit_code(&r), 1);
	ck_assert_ptr_nonnull(strstr(r.err, "cannot reach ugpud"));

	/* And after a daemon was there and stopped. */
	start_daemon();
	stop_daemon();
	run_ctl(&r, "--device", T.card0, "status");
	ck_assert_int_eq(exit_code(&r), 1);
	ck_assert_ptr_nonnull(strstr(r.err, "cannot reach ugpud"));
}
END_TEST

START_TEST(test_bad_usage)
{
	static const char *const bad[][4] = {
		{ NULL },
		{ "frob", NULL },
		{ "status", "--bogus", NULL },
		{ "status", "extra", NULL },
		{ "--device", NULL },
		{ "--bogus", "status", NULL },
		{ "top", "--interval", "abc", NULL },
		{ "top", "--interval", NULL },
		{ "top", "--count", "0", NULL },
		{ "top", "--json", NULL },
		{ "clients", "--interval", "10", NULL },
	};
	struct run r;
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		run_ctl(&r, bad[i][0], bad[i][1], bad[i][2], bad[i][3]);
		ck_assert_msg(exit_code(&r) == 2, "case %zu: exit %d", i, exit_code(&r));
		ck_assert_msg(strstr(r.err, "Usage: ugpuctl"), "case %zu: %s", i, r.err);
		ck_assert_str_eq(r.out, "");
	}

	run_ctl(&r, "--help");
	ck_assert_int_eq(exit_code(&r), 0);
	ck_assert_ptr_nonnull(strstr(r.out, "status [--json]"));
	ck_assert_ptr_nonnull(strstr(r.out, "top [--interval MS] [--count N]"));
	run_ctl(&r, "status", "--help");
	ck_assert_int_eq(exit_code(&r), 0);
	run_ctl(&r, "help");
	ck_assert_int_eq(exit_code(&r), 0);
}
END_TEST

static Suite *ugpuctl_suite(void)
{
	Suite *s = suite_create("ugpuctl");
	TCase *tc;

	tc = tcase_create("status");
	tcase_add_unchecked_fixture(tc, suite_setup, suite_teardown);
	tcase_add_checked_fixture(tc, setup_daemon, teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_status_json_idle);
	tcase_add_test(tc, test_status_device_lookup);
	tcase_add_test(tc, test_stats_ioctl);
	suite_add_tcase(s, tc);

	tc = tcase_create("clients");
	tcase_add_unchecked_fixture(tc, suite_setup, suite_teardown);
	tcase_add_checked_fixture(tc, setup_daemon, teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_client_comes_and_goes);
	tcase_add_test(tc, test_client_killed);
	tcase_add_test(tc, test_clients_of_other_users);
	tcase_add_test(tc, test_top_frames);
	suite_add_tcase(s, tc);

	tc = tcase_create("errors");
	tcase_add_unchecked_fixture(tc, suite_setup, suite_teardown);
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_daemon_not_running);
	tcase_add_test(tc, test_bad_usage);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr;
	int failed;

	sr = srunner_create(ugpuctl_suite());
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
