// SPDX-License-Identifier: MIT
/*
 * Check suite for isolation between clients, end to end: a real ugpud and
 * client processes of tests/helpers/stress_peer, driven command by
 * command. A second client (another process) cannot use, observe or
 * destroy the first one's VMs, BOs, fences or syncobjs: every id it does
 * not own is -ENOENT, fence numbers name its own fences only, its objects
 * with the same numbers are its own, and destroying them leaves the
 * first client's alone; both see the operator view (DIR/stats). A client
 * of another uid cannot read a client's file under DIR/clients/ (EACCES)
 * but can read its own. A forked child cannot bind userptrs or run
 * userptr jobs through its parent's open device (-EFAULT). Each test
 * ends with DIR/stats back to zero and the daemon exiting 0 on SIGTERM.
 */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "tests/lib/suite.h"
#include "tests/lib/testutil.h"
#include "tests/lib/ugpud_harness.h"

#define HELPER		"stress_peer"
#define NOBODY		65534
#define OTHER_UID	65533
#define VA_HOST		"0x100000"
#define VA_UP		0x1000000ull
#define PAGE		4096

static struct ugpud D;

static void dir_setup(void) { ugpud_dir_setup(&D, "ugpu-iso"); }
static void dir_teardown(void) { ugpud_dir_teardown(&D); }
static void setup(void)
{
	/* Held jobs stay held for the whole test. */
	static const char *const extra[] = { "--hang-timeout-ms", "60000", NULL };

	ugpud_start(&D, extra);
}

static void teardown(void)
{
	if (D.up)
		ugpud_stop(&D);
}

/* ---- peers ----------------------------------------------------------------- */

struct peer {
	struct tu_proc p;
	const char *name;
	char dir[PATH_MAX];	/* the helper's copy for another uid */
	int pid;
};

static void peer_start(struct peer *pr, const char *name, uid_t uid)
{
	struct tu_spawn_opts opts = { .as_user = true, .uid = uid, .gid = uid };
	char src[PATH_MAX], prog[PATH_MAX];
	char *argv[] = { HELPER, D.card0, NULL };

	pr->name = name;
	pr->dir[0] = '\0';
	ck_assert_int_eq(tu_helper_path(HELPER, src, sizeof(src)), 0);
	if (uid) {
		ck_assert_int_eq(tu_copy_for_user(src, pr->dir, sizeof(pr->dir), prog,
						  sizeof(prog)), 0);
		ck_assert_int_eq(tu_spawn(&pr->p, prog, argv, &opts), 0);
	} else {
		ck_assert_int_eq(tu_spawn(&pr->p, src, argv, NULL), 0);
	}
	pr->pid = pr->p.pid;
}

static void peer_end(struct peer *pr)
{
	int st = 0;

	tu_send(&pr->p, "exit");
	if (tu_wait_exit(&pr->p, TU_TIMEOUT_MS, &st))
		tu_kill(&pr->p);
	if (pr->dir[0])
		tu_rmdir(pr->dir);
	ck_assert_msg(WIFEXITED(st) && WEXITSTATUS(st) == 0, "%s ended with %#x", pr->name, st);
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

/* A command that must work: its value (0 if none). */
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

/* A command's result: 0 for ok, else its -errno. */
static int res(struct peer *pr, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static int res(struct peer *pr, const char *fmt, ...)
{
	char reply[512];
	va_list ap;

	va_start(ap, fmt);
	vcmd(pr, reply, sizeof(reply), fmt, ap);
	va_end(ap);
	if (!strncmp(reply, "ok", 2))
		return 0;
	ck_assert_msg(!strncmp(reply, "err ", 4), "%s: `%s`: %s", pr->name, fmt, reply);
	return atoi(reply + 4);
}

#define EXPECT(got, want, what)							\
	ck_assert_msg((got) == (want), "%s: got %d (%s), want %d (%s)", what, (got),	\
		      strerror(-(got)), (want), strerror(-(want)))

static bool stats_idle(void *arg)
{
	char *buf = arg;
	ssize_t n;
	int fd = open(D.stats, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return false;
	n = read(fd, buf, 1023);
	close(fd);
	if (n <= 0)
		return false;
	buf[n] = '\0';
	return ugpud_stats_idle_json(buf);
}

static void finish(void)
{
	char buf[1024] = "";

	ck_assert_msg(tu_wait_for(stats_idle, buf, TU_TIMEOUT_MS), "stats not back to zero: %s",
		      buf);
	ugpud_stop(&D);
}

/* A client with one VM and its host area bound (batches, semaphore). */
static void client(struct peer *pr)
{
	ok(pr, "open");
	ck_assert_int_eq(ok(pr, "vm"), 1);
	ok(pr, "host 4");
	ok(pr, "bind_host 1 " VA_HOST);
}

/* ---- objects, fences, syncobjs ------------------------------------------------ */

START_TEST(test_objects)
{
	struct peer a, b;
	long long fa_held, fa_done, fb;

	peer_start(&a, "A", 0);
	peer_start(&b, "B", 0);
	client(&a);
	client(&b);
	/* A owns VMs 1..3, BOs 1..3, syncobjs 1..3; B owns VM 1, BO 1, syncobj 1. */
	ck_assert_int_eq(ok(&a, "vm"), 2);
	ck_assert_int_eq(ok(&a, "vm"), 3);
	for (int i = 1; i <= 3; i++) {
		ck_assert_int_eq(ok(&a, "bo 65536"), i);
		ck_assert_int_eq(ok(&a, "so_create"), i);
	}
	ck_assert_int_eq(ok(&b, "bo 65536"), 1);
	ck_assert_int_eq(ok(&b, "so_create"), 1);
	ok(&a, "bo_write 1 0 0xaaaa");
	ok(&a, "bo_write 3 0 0xaaa3");
	ok(&a, "map 0x5b0000000000 1 anon 0");
	ok(&a, "bind_up 2 0x1000000 0x5b0000000000 4096 0");
	/* A's fence 1 stays held (engine 1); fence 2 is done (engine 0, B's too). */
	fa_held = ok(&a, "store 1 1 0x100100 0xa1 hold sig 2");
	fa_done = ok(&a, "store 1 0 0x100104 0xa2");
	ck_assert_int_eq(fa_held, 1);
	ck_assert_int_eq(fa_done, 2);
	EXPECT(res(&a, "wait 2 10000"), 0, "A: its fence 2 completes");

	/* B uses ids it does not own. */
	EXPECT(res(&b, "vm_destroy 2"), -ENOENT, "B destroys A's VM 2");
	EXPECT(res(&b, "vm_destroy 3"), -ENOENT, "B destroys A's VM 3");
	EXPECT(res(&b, "bo_destroy 2"), -ENOENT, "B destroys A's BO 2");
	EXPECT(res(&b, "bo_read 3 0"), -ENOENT, "B reads A's BO 3");
	EXPECT(res(&b, "bo_write 3 0 0xbad"), -ENOENT, "B writes A's BO 3");
	EXPECT(res(&b, "bind_bo 1 0x2000000 3 65536"), -ENOENT, "B binds A's BO 3");
	EXPECT(res(&b, "bind_bo 2 0x2000000 1 65536"), -ENOENT, "B binds into A's VM 2");
	EXPECT(res(&b, "bind_up 2 0x3000000 0x100000 4096 0"), -ENOENT,
	       "B binds userptr into A's VM 2");
	EXPECT(res(&b, "unbind 2 0x1000000 4096"), -ENOENT, "B unbinds in A's VM 2");
	EXPECT(res(&b, "store 2 0 0x1000000 0xbad"), -ENOENT, "B execs on A's VM 2");
	EXPECT(res(&b, "so_destroy 3"), -ENOENT, "B destroys A's syncobj 3");
	EXPECT(res(&b, "store 1 0 0x100100 0xbad wait 2"), -ENOENT,
	       "B execs waiting on A's syncobj 2");
	EXPECT(res(&b, "store 1 0 0x100100 0xbad sig 3"), -ENOENT,
	       "B execs signalling A's syncobj 3");
	ck_assert_int_eq(ok(&b, "so_wait 2 0"), -ENOENT);

	/* Fence numbers: B has none yet, then only its own. */
	ck_assert_int_eq(ok(&b, "wait 1 0"), -EINVAL);
	fb = ok(&b, "store 1 0 0x100100 0xb1");
	ck_assert_int_eq(fb, 1);
	EXPECT(res(&b, "wait 1 10000"), 0, "B waits its fence 1 (A's fence 1 is held)");
	ck_assert_int_eq(ok(&b, "wait 1 10000"), 0);
	ck_assert_int_eq(ok(&b, "wait 2 0"), -EINVAL);
	ck_assert_int_eq(ok(&a, "wait 1 0"), -ETIME);

	/* Same numbers, own objects: B's BO 1 is not A's, and goes alone. */
	ck_assert_int_eq(ok(&b, "bo_read 1 0"), 0);
	ok(&b, "bo_write 1 0 0xbbbb");
	ck_assert_int_eq(ok(&a, "bo_read 1 0"), 0xaaaa);
	ok(&b, "vm_destroy 1");
	ok(&b, "bo_destroy 1");
	ok(&b, "so_destroy 1");
	ck_assert_int_eq(ok(&a, "bo_read 1 0"), 0xaaaa);
	ck_assert_int_eq(ok(&a, "bo_read 3 0"), 0xaaa3);
	ck_assert_int_eq(ok(&a, "wait 1 0"), -ETIME);
	ck_assert_int_eq(ok(&a, "so_wait 1 0"), -EINVAL);	/* nothing submitted to it */

	/* A's held job and its VM were never touched: release and run. */
	ok(&a, "sem 1");
	ck_assert_int_eq(ok(&a, "wait 1 10000"), 0);
	ck_assert_int_eq(ok(&a, "so_wait 2 10000"), 0);
	ck_assert_int_eq(ok(&a, "store 1 0 0x100108 0xa3"), 3);
	ck_assert_int_eq(ok(&a, "wait 3 10000"), 0);
	/* Both see the operator's totals. */
	ok(&a, "read %s", D.stats);
	ok(&b, "read %s", D.stats);
	peer_end(&b);
	peer_end(&a);
	finish();
}
END_TEST

/* ---- per-client files ----------------------------------------------------------- */

START_TEST(test_client_files)
{
	struct peer a, b, c;
	char path[256];
	char buf[512];
	int fd;

	peer_start(&a, "root", 0);
	peer_start(&b, "nobody", NOBODY);
	peer_start(&c, "other", OTHER_UID);
	client(&a);
	client(&b);
	client(&c);
	a.pid = (int)ok(&a, "pid");
	b.pid = (int)ok(&b, "pid");
	c.pid = (int)ok(&c, "pid");

	snprintf(path, sizeof(path), "%s/clients/%d", D.dir, b.pid);
	ok(&b, "read %s", path);
	EXPECT(res(&c, "read %s", path), -EACCES, "uid 65533 reads uid 65534's client file");
	fd = open(path, O_RDONLY | O_CLOEXEC);	/* root reads everyone's */
	ck_assert_msg(fd >= 0, "root cannot read %s: %s", path, strerror(errno));
	ck_assert_int_gt(read(fd, buf, sizeof(buf) - 1), 0);
	close(fd);
	snprintf(path, sizeof(path), "%s/clients/%d", D.dir, a.pid);
	EXPECT(res(&b, "read %s", path), -EACCES, "uid 65534 reads root's client file");
	ok(&a, "read %s", path);
	snprintf(path, sizeof(path), "%s/clients/%d", D.dir, c.pid);
	EXPECT(res(&b, "read %s", path), -EACCES, "uid 65534 reads uid 65533's client file");
	ok(&c, "read %s", path);
	/* The operator view is for everyone. */
	ok(&b, "read %s", D.stats);
	peer_end(&c);
	peer_end(&b);
	peer_end(&a);
	finish();
}
END_TEST

/* ---- a forked child ------------------------------------------------------------- */

START_TEST(test_forked_child)
{
	char reply[512];
	struct peer a;
	int r[5];

	peer_start(&a, "parent", 0);
	client(&a);
	ok(&a, "map 0x5c0000000000 2 anon 0x11");
	ok(&a, "bind_up 1 0x1000000 0x5c0000000000 4096 0");
	tu_cmd(&a.p, reply, sizeof(reply), "fork_bind 1 0x2000000 0x5c0000000000 4096");
	fprintf(stderr, "  [parent] fork_bind -> %s\n", reply);
	ck_assert_int_eq(sscanf(reply, "ok %d %d %d %d %d", &r[0], &r[1], &r[2], &r[3], &r[4]), 5);
	EXPECT(r[0], -EFAULT, "child: userptr bind through the parent's device");
	EXPECT(r[1], -EFAULT, "child: PROBE userptr bind");
	EXPECT(r[2], -EFAULT, "child: READONLY userptr bind");
	EXPECT(r[3], -EFAULT, "child: userptr bind of the parent's shared host memory");
	EXPECT(r[4], -EFAULT, "child: exec on a VM with userptrs");
	/* The parent's device is unharmed and nothing of the child's happened. */
	ok(&a, "check 0x5c0000000000 2 0x11");
	ck_assert_int_eq(ok(&a, "store 1 0 0x1000004 0x22"), 1);
	ck_assert_int_eq(ok(&a, "wait 1 10000"), 0);
	ok(&a, "bind_up 1 0x2000000 0x5c0000001000 4096 0");
	ck_assert_int_eq(ok(&a, "store 1 1 0x2000000 0x11"), 2);
	ck_assert_int_eq(ok(&a, "wait 2 10000"), 0);
	ok(&a, "check 0x5c0000001000 1 0x11");
	peer_end(&a);
	finish();
}
END_TEST

int main(void)
{
	Suite *s = suite_create("isolation");
	TCase *tc;

	tc = tu_tcase(s, "objects", 60, setup, teardown);
	tcase_add_unchecked_fixture(tc, dir_setup, dir_teardown);
	tcase_add_test(tc, test_objects);
	tc = tu_tcase(s, "client_files", 60, setup, teardown);
	tcase_add_unchecked_fixture(tc, dir_setup, dir_teardown);
	tcase_add_test(tc, test_client_files);
	tc = tu_tcase(s, "forked_child", 60, setup, teardown);
	tcase_add_unchecked_fixture(tc, dir_setup, dir_teardown);
	tcase_add_test(tc, test_forked_child);
	return tu_run_suite(s);
}
