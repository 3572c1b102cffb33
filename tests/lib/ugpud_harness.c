// SPDX-License-Identifier: MIT
/*
 * The real daemon for integration tests (ugpud_harness.h): finding the
 * binary, starting it on a mount point and waiting for card0, stopping
 * or killing it, and cleaning up the mounts a failed test left; reading
 * its stats file and waiting for it to forget every client.
 */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <linux/magic.h>
#include <signal.h>
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
#include "tests/lib/ugpud_harness.h"

void ugpud_path(char *buf, size_t len)
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
	struct ugpud *d = arg;
	int fd = open(d->card0, O_RDWR | O_CLOEXEC);

	if (fd < 0)
		return false;
	close(fd);
	return true;
}

bool ugpud_mount_gone(void *arg)
{
	struct ugpud *d = arg;

	return !is_fuse_mount(d->dir);
}

/* Wait for a mount left by an earlier test to go, else detach it. */
static bool unmount_leftover(struct ugpud *d)
{
	bool left = !tu_wait_for(ugpud_mount_gone, d, TU_TIMEOUT_MS);

	if (left)
		umount2(d->dir, MNT_DETACH);
	return left;
}

/*
 * A failing forked test exits without its checked teardown and Check
 * SIGKILLs the test's process group; the daemon runs in a group of its
 * own, dies of PDEATHSIG and its fusermount3 unmounts. Whatever is left,
 * ugpud_dir_teardown() removes.
 */
void ugpud_dir_setup(struct ugpud *d, const char *name)
{
	snprintf(d->dir, sizeof(d->dir), "/tmp/%s.XXXXXX", name);
	ck_assert_msg(mkdtemp(d->dir), "mkdtemp: %s", strerror(errno));
	snprintf(d->card0, sizeof(d->card0), "%s/card0", d->dir);
	snprintf(d->stats, sizeof(d->stats), "%s/stats", d->dir);
}

void ugpud_dir_teardown(struct ugpud *d)
{
	unmount_leftover(d);
	rmdir(d->dir);
}

/*
 * wait(2) for the daemon with a bound; one reaped already gives the
 * status it had. Return: 0, -ETIMEDOUT, -errno.
 */
static int daemon_wait(struct ugpud *d, int timeout_ms, int *status)
{
	long long deadline = tu_now_ms() + timeout_ms;
	pid_t r;

	if (d->pid <= 0) {
		*status = d->status;
		return 0;
	}
	for (;;) {
		r = waitpid(d->pid, status, WNOHANG);
		if (r == d->pid) {
			d->pid = 0;
			d->status = *status;
			return 0;
		}
		if (r < 0 && errno != EINTR)
			return -errno;
		if (tu_now_ms() >= deadline)
			return -ETIMEDOUT;
		usleep(1000);
	}
}

void ugpud_kill(struct ugpud *d)
{
	if (d->pid <= 0)
		return;
	kill(d->pid, SIGKILL);
	while (waitpid(d->pid, &d->status, 0) < 0 && errno == EINTR)
		;
	d->pid = 0;
}

bool ugpud_running(struct ugpud *d)
{
	int st = 0;
	pid_t r;

	if (d->pid <= 0)
		return false;
	r = waitpid(d->pid, &st, WNOHANG);
	if (r == d->pid) {
		d->pid = 0;
		d->status = st;
	}
	return r == 0;
}

void ugpud_start(struct ugpud *d, const char *const *extra)
{
	pid_t parent = getpid();
	char path[PATH_MAX];
	char *argv[32];
	int argc = 0, st = 0, fd;

	d->pid = 0;
	d->status = 0;
	d->up = d->killed = false;
	ugpud_path(path, sizeof(path));
	ck_assert_msg(access(path, X_OK) == 0, "%s: %s (set UGPU_BUILD)", path, strerror(errno));
	/* A failed test's daemon may have left a dead mount: not this test's fault. */
	if (unmount_leftover(d))
		fprintf(stderr, "%s: %s: detached a dead mount an earlier test left\n",
			program_invocation_short_name, d->dir);

	argv[argc++] = "ugpud";
	argv[argc++] = "--mount";
	argv[argc++] = d->dir;
	argv[argc++] = "--log-level";
	argv[argc++] = "warning";
	while (extra && *extra && argc < 30)
		argv[argc++] = (char *)*extra++;
	argv[argc] = NULL;
	d->pid = fork();
	ck_assert_msg(d->pid >= 0, "fork: %s", strerror(errno));
	if (d->pid == 0) {
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
	d->up = true;
	if (!tu_wait_for(card0_opens, d, TU_TIMEOUT_MS)) {
		int r = daemon_wait(d, 0, &st);

		ck_abort_msg("%s never opened (daemon %s 0x%x)", d->card0,
			     r ? "running" : "exited", r ? 0 : st);
	}
}

void ugpud_stop(struct ugpud *d)
{
	int st = 0, r = 0;
	bool left;

	if (!d->up)
		return;
	d->up = false;
	if (!d->killed) {
		if (d->pid > 0)		/* else reaped already (ugpud_running()) */
			kill(d->pid, SIGTERM);
		r = daemon_wait(d, 3 * TU_TIMEOUT_MS, &st);
		if (r)
			ugpud_kill(d);
	}
	left = unmount_leftover(d);
	ck_assert_msg(r == 0, "ugpud ignored SIGTERM");
	ck_assert_msg(WIFEXITED(st) && WEXITSTATUS(st) == 0, "ugpud exit status 0x%x", st);
	ck_assert_msg(!left, "the mount outlived the daemon");
}

/* ---- stopped by the test, asserted by the test --------------------------- */

const char *ugpud_exit_problem(struct ugpud *d, int timeout_ms, char *buf, size_t len)
{
	int st = 0;

	if (daemon_wait(d, timeout_ms, &st)) {
		snprintf(buf, len, "ugpud did not exit within %d ms", timeout_ms);
		return buf;
	}
	d->up = false;
	if (!WIFEXITED(st) || WEXITSTATUS(st)) {
		snprintf(buf, len, "ugpud ended with status %#x", st);
		return buf;
	}
	/* It unmounts before it exits: no wait here. */
	if (!ugpud_mount_gone(d)) {
		snprintf(buf, len, "%s still mounted after ugpud exited", d->dir);
		return buf;
	}
	return NULL;
}

void ugpud_assert_exit(struct ugpud *d, int timeout_ms)
{
	char buf[256];
	const char *why = ugpud_exit_problem(d, timeout_ms, buf, sizeof(buf));

	ck_assert_msg(!why, "%s", why);
}

const char *ugpud_term_problem(struct ugpud *d, char *buf, size_t len)
{
	if (!d->up)
		return "ugpud was not running";
	/* pid 0: it died and was reaped; its status tells how. */
	if (d->pid > 0 && kill(d->pid, SIGTERM)) {
		snprintf(buf, len, "SIGTERM: %s", strerror(errno));
		return buf;
	}
	return ugpud_exit_problem(d, TU_TIMEOUT_MS, buf, len);
}

void ugpud_term(struct ugpud *d)
{
	char buf[256];
	const char *why = ugpud_term_problem(d, buf, sizeof(buf));

	ck_assert_msg(!why, "%s", why);
}

void ugpud_discard(struct ugpud *d)
{
	if (!d->up)
		return;
	d->up = false;
	ugpud_kill(d);
	unmount_leftover(d);
}

/* ---- stats --------------------------------------------------------------- */

int ugpud_stats_text(struct ugpud *d, char *buf, size_t len)
{
	int fd = open(d->stats, O_RDONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return -errno;
	n = read(fd, buf, len - 1);
	if (n < 0)
		n = -errno;
	close(fd);
	if (n <= 0)
		return n < 0 ? (int)n : -ENODATA;
	buf[n] = '\0';
	return 0;
}

long long ugpud_stats_field(const char *json, const char *key)
{
	char pat[64];
	const char *p;

	snprintf(pat, sizeof(pat), "\"%s\":", key);
	p = strstr(json, pat);
	return p ? strtoll(p + strlen(pat), NULL, 10) : -1;
}

bool ugpud_stats_idle_json(const char *json)
{
	static const char *const keys[] = { "clients", "vms", "bos", "userptrs", "bound_bytes" };

	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
		if (ugpud_stats_field(json, keys[i]))
			return false;
	return true;
}

int ugpud_stats(struct ugpud *d, struct ugpud_stats *st)
{
	char buf[4096];
	int ret = ugpud_stats_text(d, buf, sizeof(buf));

	if (ret)
		return ret;
	st->clients = ugpud_stats_field(buf, "clients");
	st->vms = ugpud_stats_field(buf, "vms");
	st->bos = ugpud_stats_field(buf, "bos");
	st->userptrs = ugpud_stats_field(buf, "userptrs");
	st->bound_bytes = ugpud_stats_field(buf, "bound_bytes");
	st->jobs_submitted = ugpud_stats_field(buf, "jobs_submitted");
	st->jobs_completed = ugpud_stats_field(buf, "jobs_completed");
	st->jobs_failed = ugpud_stats_field(buf, "jobs_failed");
	st->invalidations = ugpud_stats_field(buf, "invalidations");
	return 0;
}

struct idle_wait {
	struct ugpud *d;
	struct ugpud_stats st;
};

/* Idle, or dead (no use waiting: the caller tells which). */
static bool idle_or_dead(void *arg)
{
	struct idle_wait *w = arg;
	struct ugpud_stats *st = &w->st;

	if (!ugpud_running(w->d))
		return true;
	return !ugpud_stats(w->d, st) && !st->clients && !st->vms && !st->bos &&
	       !st->userptrs && !st->bound_bytes;
}

const char *ugpud_idle_problem(struct ugpud *d, char *buf, size_t len)
{
	struct idle_wait w = { .d = d, .st = { -1, -1, -1, -1, -1, -1, -1, -1, -1 } };
	bool done = tu_wait_for(idle_or_dead, &w, TU_TIMEOUT_MS);

	if (!ugpud_running(d))
		return "ugpud died";
	if (!done) {
		snprintf(buf, len, "stats not back to zero: clients %lld vms %lld bos %lld "
			 "userptrs %lld bound_bytes %lld", w.st.clients, w.st.vms, w.st.bos,
			 w.st.userptrs, w.st.bound_bytes);
		return buf;
	}
	return NULL;
}

void ugpud_assert_idle(struct ugpud *d)
{
	char buf[256];
	const char *why = ugpud_idle_problem(d, buf, sizeof(buf));

	ck_assert_msg(!why, "%s", why);
}
