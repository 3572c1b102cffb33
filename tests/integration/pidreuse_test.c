// SPDX-License-Identifier: MIT
/*
 * Check suite for pid reuse (DESIGN.md section 2: no request may reach a
 * process other than the client that made it, also after that client
 * exits and its pid is reused). A client (tests/helpers/stress_peer)
 * binds private and shared memory at fixed addresses and leaves jobs
 * that would store a tag there: held on a semaphore, queued behind them,
 * and one deferred on a syncobj. It goes away; a new process takes its
 * pid - the global one, which is what the daemon sees through FUSE - by
 * setting /proc/sys/kernel/ns_last_pid (we are root) right before the
 * fork, retrying if another process took it first, and maps the same
 * addresses with a sentinel. Then the old semaphore is released through
 * the old client's memfd, and the new process's memory must still hold
 * the sentinel everywhere, while its own new client works normally.
 * Variants: the old client is SIGKILLed; it exits while a forked child
 * keeps its device open and then tries to use it; both live in pid
 * namespaces of their own (each is pid 1 there) with the same global pid.
 */
#include <check.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "tests/lib/suite.h"
#include "tests/lib/testutil.h"
#include "tests/lib/ugpud_harness.h"

#define HELPER		"stress_peer"
#define ADDR_X		"0x5d0000000000"	/* private memory */
#define ADDR_Y		"0x5d0000100000"	/* a sealed memfd: the daemon maps it */
#define ADDR_Z		"0x5d0000200000"	/* the new process's own */
#define VA_X		0x1000000ull
#define VA_Y		0x2000000ull
#define VA_Z		0x3000000ull
#define TAG		0x7a97a9u
#define SENTINEL	0x5e5e5e5eu
#define HOST_PAGES	4
#define STEER_TRIES	1000

enum variant { KILLED, CHILD_HOLDS, PIDNS };

static struct ugpud D;

static void dir_setup(void) { ugpud_dir_setup(&D, "ugpu-pid"); }
static void dir_teardown(void) { ugpud_dir_teardown(&D); }

static void setup(void)
{
	/* Held jobs stay held until the test releases them. */
	static const char *const extra[] = { "--hang-timeout-ms", "60000", NULL };

	ugpud_start(&D, extra);
}

static void teardown(void)
{
	if (D.up)
		ugpud_stop(&D);
}

/* ---- peers ------------------------------------------------------------------- */

struct peer {
	struct tu_proc p;
	const char *name;
};

/* fork() or, for @newpid, clone() into a new pid namespace; then exec the helper. */
static int spawn(struct tu_proc *p, bool newpid)
{
	char path[PATH_MAX];
	char *argv[] = { HELPER, D.card0, NULL };
	int in[2], out[2];
	pid_t pid;

	if (tu_helper_path(HELPER, path, sizeof(path)))
		return -ENOENT;
	if (!newpid)
		return tu_spawn(p, path, argv, NULL);
	if (pipe2(in, O_CLOEXEC) || pipe2(out, O_CLOEXEC))
		return -errno;
	p->have = 0;
	pid = (pid_t)syscall(SYS_clone, CLONE_NEWPID | SIGCHLD, NULL, NULL, NULL, 0);
	if (pid < 0)
		return -errno;
	if (pid == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (dup2(in[0], 0) < 0 || dup2(out[1], 1) < 0)
			_exit(126);
		execv(path, argv);
		_exit(127);
	}
	close(in[0]);
	close(out[1]);
	p->pid = pid;
	p->in = in[1];
	p->out = out[0];
	return 0;
}

static void set_last_pid(pid_t pid)
{
	char buf[32];
	int fd = open("/proc/sys/kernel/ns_last_pid", O_WRONLY | O_CLOEXEC);
	int n = snprintf(buf, sizeof(buf), "%d", (int)pid);

	ck_assert_msg(fd >= 0, "ns_last_pid: %s", strerror(errno));
	ck_assert_msg(write(fd, buf, (size_t)n) == n, "ns_last_pid: %s", strerror(errno));
	close(fd);
}

/* Start a peer whose global pid is @want, retrying while others take it. */
static void spawn_as(struct peer *pr, pid_t want, bool newpid)
{
	for (int i = 0; i < STEER_TRIES; i++) {
		set_last_pid(want - 1);
		ck_assert_int_eq(spawn(&pr->p, newpid), 0);
		if (pr->p.pid == want) {
			fprintf(stderr, "pidreuse: pid %d reused after %d tries\n", (int)want, i + 1);
			return;
		}
		tu_kill(&pr->p);
	}
	ck_abort_msg("no process of ours got pid %d in %d tries", (int)want, STEER_TRIES);
}

static void vcmd(struct peer *pr, char *reply, size_t len, const char *fmt, va_list ap)
{
	char line[512];
	int ret;

	vsnprintf(line, sizeof(line), fmt, ap);
	ret = tu_cmd(&pr->p, reply, len, "%s", line);
	ck_assert_msg(!ret, "%s: `%s`: no reply (%s)", pr->name, line, strerror(-ret));
	fprintf(stderr, "  [%s] %s -> %s\n", pr->name, line, reply);
}

static long long ok(struct peer *pr, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static long long ok(struct peer *pr, const char *fmt, ...)
{
	char reply[512];
	va_list ap;

	va_start(ap, fmt);
	vcmd(pr, reply, sizeof(reply), fmt, ap);
	va_end(ap);
	ck_assert_msg(!strncmp(reply, "ok", 2), "%s: `%s` failed: %s", pr->name, fmt, reply);
	return strtoll(reply + 2, NULL, 0);
}

/* ---- the daemon's state --------------------------------------------------------- */

static bool read_stats(char *buf, size_t len)
{
	ssize_t n;
	int fd = open(D.stats, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return false;
	n = read(fd, buf, len - 1);
	close(fd);
	if (n <= 0)
		return false;
	buf[n] = '\0';
	return true;
}

/* Only the new process's client is left, and nothing of the old one runs. */
static bool only_new_client(void *arg)
{
	char *buf = arg;

	return read_stats(buf, 1024) && ugpud_stats_field(buf, "clients") == 1 &&
	       ugpud_stats_field(buf, "vms") == 1 && ugpud_stats_field(buf, "jobs_running") == 0;
}

static bool stats_idle(void *arg)
{
	char *buf = arg;

	return read_stats(buf, 1024) && ugpud_stats_idle_json(buf);
}

/*
 * The per-client file of @pid's client: `<pid>`, or `<pid>.<n>` if a
 * client of that pid (the old one) still had the name when it opened.
 */
static void client_file(pid_t pid, char *path, size_t len)
{
	char want[32], dir[200];
	struct dirent *de;
	DIR *d;

	snprintf(dir, sizeof(dir), "%s/clients", D.dir);
	d = opendir(dir);
	ck_assert_msg(d, "%s: %s", dir, strerror(errno));
	snprintf(want, sizeof(want), "%d", (int)pid);
	while ((de = readdir(d))) {
		size_t n = strlen(want);

		if (!strncmp(de->d_name, want, n) && (!de->d_name[n] || de->d_name[n] == '.')) {
			snprintf(path, len, "%s/%.40s", dir, de->d_name);
			closedir(d);
			return;
		}
	}
	closedir(d);
	ck_abort_msg("no file of pid %d under %s/clients", (int)pid, D.dir);
}

/* ---- the scenario --------------------------------------------------------------- */

/* The old client: memory at X and Y bound, jobs that would store TAG there. */
static uintptr_t old_client(struct peer *o)
{
	uintptr_t host;

	ok(o, "open");
	ck_assert_int_eq(ok(o, "vm"), 1);
	host = (uintptr_t)ok(o, "host %d", HOST_PAGES);
	ok(o, "bind_host 1 0x100000");
	ok(o, "map " ADDR_X " 4 anon 0");
	ok(o, "map " ADDR_Y " 4 sealed 0");
	ok(o, "bind_up 1 %#llx " ADDR_X " 16384 0", VA_X);
	ok(o, "bind_up 1 %#llx " ADDR_Y " 16384 0", VA_Y);
	ck_assert_int_eq(ok(o, "so_create"), 1);
	/* Engine 0: one held job, one queued behind it. */
	ok(o, "store 1 0 %#llx %#x hold", VA_X, TAG);
	ok(o, "store 1 0 %#llx %#x hold", VA_Y + 4, TAG);
	/* Engine 1: held and signalling a syncobj; deferred on it; queued. */
	ok(o, "store 1 1 %#llx %#x hold sig 1", VA_Y, TAG);
	ok(o, "store 1 1 %#llx %#x wait 1", VA_X + 8, TAG);
	ok(o, "store 1 1 %#llx %#x hold", VA_X + 0x3000, TAG);
	return host;
}

/* A mapping of the old client's semaphore page (its host memfd), kept past its exit. */
static volatile uint32_t *grab_semaphore(pid_t pid, uintptr_t host)
{
	char path[128];
	void *p;
	int fd;

	snprintf(path, sizeof(path), "/proc/%d/map_files/%lx-%lx", (int)pid,
		 (unsigned long)host, (unsigned long)host + HOST_PAGES * 4096ul);
	fd = open(path, O_RDWR | O_CLOEXEC);
	ck_assert_msg(fd >= 0, "%s: %s", path, strerror(errno));
	p = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	close(fd);
	ck_assert_msg(p != MAP_FAILED, "mmap the old semaphore: %s", strerror(errno));
	return p;
}

/* The child of fork_hold reports on the old pipe; its lines up to `child done`. */
static void child_results(struct peer *o, int *exec_ret, int *bind_ret)
{
	char line[256];

	*exec_ret = *bind_ret = 1;
	for (;;) {
		int ret = tu_read_line(&o->p, line, sizeof(line), 3 * TU_TIMEOUT_MS);

		ck_assert_msg(!ret, "the old client's child: %s", strerror(-ret));
		fprintf(stderr, "  [old child] %s\n", line);
		sscanf(line, "child exec %d", exec_ret);
		sscanf(line, "child bind %d", bind_ret);
		if (!strcmp(line, "child done"))
			return;
	}
}

static void pid_reuse(enum variant v)
{
	struct peer o = { .name = "old" }, n = { .name = "new" };
	volatile uint32_t *sem;
	char buf[1024] = "", path[256];
	int child = 0, exec_ret, bind_ret;
	uintptr_t host;
	pid_t pid;

	ck_assert_int_eq(spawn(&o.p, v == PIDNS), 0);
	pid = o.p.pid;
	host = old_client(&o);
	if (v == PIDNS)
		ck_assert_int_eq(ok(&o, "pid"), 1);
	sem = grab_semaphore(pid, host);
	if (v == CHILD_HOLDS) {
		child = (int)ok(&o, "fork_hold 1 %#llx", VA_X + 0x1000);
		tu_send(&o.p, "exit");
		while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
			;
		o.p.pid = 0;		/* reaped; its pipes stay: the child writes there */
	} else {
		tu_kill(&o.p);
	}

	spawn_as(&n, pid, v == PIDNS);
	ok(&n, "map " ADDR_X " 4 anon %#x", SENTINEL);
	ok(&n, "map " ADDR_Y " 4 sealed %#x", SENTINEL);
	ok(&n, "open");
	ck_assert_int_eq(ok(&n, "vm"), 1);
	ok(&n, "host %d", HOST_PAGES);
	ok(&n, "bind_host 1 0x100000");

	/* Let every leftover of the old client go, and its child try its device. */
	*sem = 1;
	if (v == CHILD_HOLDS) {
		kill(child, SIGUSR1);
		child_results(&o, &exec_ret, &bind_ret);
		ck_assert_msg(exec_ret < 0, "the old client's child ran a job (%d)", exec_ret);
		ck_assert_int_eq(bind_ret, -EFAULT);
	}
	/* A job of the new client on each engine: the old ones are over by then. */
	ok(&n, "store 1 0 0x100100 1");
	ok(&n, "store 1 1 0x100104 2");
	ck_assert_int_eq(ok(&n, "wait 1 30000"), 0);
	ck_assert_int_eq(ok(&n, "wait 2 30000"), 0);
	ck_assert_msg(tu_wait_for(only_new_client, buf, 3 * TU_TIMEOUT_MS),
		      "the old client is not gone: %s", buf);

	/* Nothing the daemon did for the old client reached the new process. */
	ok(&n, "check " ADDR_X " 4 %#x", SENTINEL);
	ok(&n, "check " ADDR_Y " 4 %#x", SENTINEL);
	/* Its own client works normally, at the same pid. */
	ok(&n, "map " ADDR_Z " 1 anon 0");
	ok(&n, "bind_up 1 %#llx " ADDR_Z " 4096 0", VA_Z);
	ok(&n, "store 1 0 %#llx 0x77", VA_Z + 4);
	ck_assert_int_eq(ok(&n, "wait 3 30000"), 0);
	ck_assert_int_eq(ok(&n, "peek %#llx", 0x5d0000200004ull), 0x77);
	client_file(pid, path, sizeof(path));
	ok(&n, "read %s", path);
	{
		char want[64];
		int fd = open(path, O_RDONLY | O_CLOEXEC);
		ssize_t len = fd < 0 ? -1 : read(fd, buf, sizeof(buf) - 1);

		if (fd >= 0)
			close(fd);
		ck_assert_msg(len > 0, "%s: %s", path, strerror(errno));
		buf[len] = '\0';
		snprintf(want, sizeof(want), "\"pid\":%d,", (int)pid);
		ck_assert_msg(strstr(buf, want) && strstr(buf, "\"exited\":false"),
			      "the new client's file: %s", buf);
	}
	ok(&n, "check " ADDR_X " 4 %#x", SENTINEL);

	munmap((void *)sem, 4096);
	tu_send(&n.p, "exit");
	ck_assert_int_eq(tu_wait_exit(&n.p, TU_TIMEOUT_MS, NULL), 0);
	if (o.p.out >= 0)
		close(o.p.out), close(o.p.in);
	ck_assert_msg(tu_wait_for(stats_idle, buf, TU_TIMEOUT_MS), "stats not back to zero: %s",
		      buf);
	ugpud_stop(&D);
}

START_TEST(test_killed)
{
	pid_reuse(KILLED);
}
END_TEST

START_TEST(test_child_holds_device)
{
	pid_reuse(CHILD_HOLDS);
}
END_TEST

START_TEST(test_pid_namespaces)
{
	pid_reuse(PIDNS);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("pidreuse");
	TCase *tc;

	tc = tu_tcase(s, "killed", 90, setup, teardown);
	tcase_add_unchecked_fixture(tc, dir_setup, dir_teardown);
	tcase_add_test(tc, test_killed);
	tc = tu_tcase(s, "child_holds_device", 90, setup, teardown);
	tcase_add_unchecked_fixture(tc, dir_setup, dir_teardown);
	tcase_add_test(tc, test_child_holds_device);
	tc = tu_tcase(s, "pid_namespaces", 90, setup, teardown);
	tcase_add_unchecked_fixture(tc, dir_setup, dir_teardown);
	tcase_add_test(tc, test_pid_namespaces);
	return tu_run_suite(s);
}
