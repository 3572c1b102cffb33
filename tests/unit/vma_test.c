// SPDX-License-Identifier: MIT
/*
 * Check suite for daemon/mm/vma.c: VMA lookups in a real child process
 * (tests/helpers/uffd_client), through PROCMAP_QUERY and through the text
 * fallback (forced by clearing have_query), which must agree field by
 * field; spans and their holes (-EFAULT); and a process that is gone,
 * including one whose pid was handed to a new process (clone3 set_tid),
 * which must give -ESRCH and never describe the newcomer.
 */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <linux/sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "mm/vma.h"
#include "tests/lib/testutil.h"

#define PG 4096ull

static struct tu_proc child;
static char file_path[64];

static void start_child(void)
{
	char path[512];
	char *argv[] = { "uffd_client", NULL };

	ck_assert_int_eq(tu_helper_path("uffd_client", path, sizeof(path)), 0);
	ck_assert_int_eq(tu_spawn(&child, path, argv, NULL), 0);
	snprintf(file_path, sizeof(file_path), "/tmp/ugpu-vma-test.%d", (int)getpid());
}

static void stop_child(void)
{
	tu_kill(&child);
	unlink(file_path);
}

/* Send a command, expect "ok <value>", return the value. */
static uint64_t cmd(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static uint64_t cmd(const char *fmt, ...)
{
	char line[256], reply[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	ck_assert_int_eq(tu_cmd(&child, reply, sizeof(reply), "%s", line), 0);
	ck_assert_msg(!strncmp(reply, "ok", 2), "'%s' -> '%s'", line, reply);
	return strtoull(reply + 2, NULL, 0);
}

static pid_t child_pid(void)
{
	return (pid_t)cmd("pid");
}

/* Open @pid's source in PROCMAP_QUERY (@text false) or text mode. */
static void open_src(pid_t pid, bool text, struct vma_src *src)
{
	ck_assert_int_eq(vma_open(pid, src), 0);
	ck_assert(src->have_query);	/* kernel 6.18 has it */
	if (text)
		src->have_query = false;
}

/* ---- lookups ---------------------------------------------------------- */

static void check_lookups(bool text)
{
	struct vma_src src;
	struct vma_info v;
	uint64_t a, m, f, brk;

	a = cmd("mmap anon %llu", 16 * PG);
	cmd("munmap 0x%llx %llu", (unsigned long long)a + 12 * PG, 4 * PG);
	m = cmd("mmap memfd %llu", 4 * PG);
	f = cmd("mmap file:%s %llu", file_path, 8 * PG);
	cmd("munmap 0x%llx %llu", (unsigned long long)f, PG);	/* pgoff 4096 */
	brk = cmd("brk");
	cmd("sbrk %llu", 4 * PG);
	open_src(child_pid(), text, &src);

	ck_assert_int_eq(vma_find(&src, a + 5 * PG + 17, false, &v), 0);
	ck_assert_uint_eq(v.start, a);
	ck_assert_uint_eq(v.end, a + 12 * PG);
	ck_assert_uint_eq(v.prot, VMA_READ | VMA_WRITE);
	ck_assert_uint_eq(v.inode, 0);
	ck_assert_uint_eq(v.pgoff, 0);
	ck_assert_str_eq(v.name, "");

	/* A hole: exact lookup fails, "or next" finds what follows. */
	if (vma_find(&src, a + 12 * PG, false, &v) == 0)
		ck_assert_uint_ne(v.start, a);	/* something else mapped there */
	else
		ck_assert_int_eq(vma_find(&src, a + 12 * PG, false, &v), -ENOENT);
	ck_assert_int_eq(vma_find(&src, a + 12 * PG, true, &v), 0);
	ck_assert_uint_ge(v.start, a + 12 * PG);

	ck_assert_int_eq(vma_find(&src, m, false, &v), 0);
	ck_assert_uint_eq(v.start, m);
	ck_assert_uint_eq(v.end, m + 4 * PG);
	ck_assert_uint_eq(v.prot, VMA_READ | VMA_WRITE | VMA_SHARED);
	ck_assert_uint_ne(v.inode, 0);
	ck_assert_msg(!strncmp(v.name, "/memfd:uffd_client", 18), "name '%s'", v.name);

	ck_assert_int_eq(vma_find(&src, f + 3 * PG, false, &v), 0);
	ck_assert_uint_eq(v.start, f + PG);
	ck_assert_uint_eq(v.pgoff, PG);
	ck_assert_uint_ne(v.dev_major + v.dev_minor, 0);
	ck_assert_str_eq(v.name, file_path);

	ck_assert_int_eq(vma_find(&src, brk, false, &v), 0);
	ck_assert_str_eq(v.name, "[heap]");

	/* Nothing above the top of user space. */
	ck_assert_int_eq(vma_find(&src, UINT64_MAX - PG, true, &v), -ENOENT);
	vma_close(&src);
}

START_TEST(test_lookup_query)
{
	check_lookups(false);
}
END_TEST

START_TEST(test_lookup_text)
{
	check_lookups(true);
}
END_TEST

static bool same_vma(const struct vma_info *a, const struct vma_info *b)
{
	return a->start == b->start && a->end == b->end && a->prot == b->prot &&
	       a->dev_major == b->dev_major && a->dev_minor == b->dev_minor &&
	       a->inode == b->inode && a->pgoff == b->pgoff &&
	       !strcmp(a->name, b->name);
}

/* Every VMA of a varied child, walked both ways, must be identical. */
START_TEST(test_query_text_agree)
{
	struct vma_src q, t;
	struct vma_info vq, vt;
	uint64_t addr = 0, f, sa;
	int n = 0, rq, rt;

	cmd("mmap anon %llu", 16 * PG);
	cmd("mmap memfd %llu", 4 * PG);
	sa = cmd("mmap shanon %llu", 4 * PG);
	f = cmd("mmap file:%s %llu", file_path, 8 * PG);
	cmd("munmap 0x%llx %llu", (unsigned long long)f + 2 * PG, PG);
	cmd("sbrk %llu", 2 * PG);
	open_src(child_pid(), false, &q);
	open_src(child_pid(), true, &t);

	for (;;) {
		rq = vma_find(&q, addr, true, &vq);
		rt = vma_find(&t, addr, true, &vt);
		ck_assert_int_eq(rq, rt);
		if (rq)
			break;
		ck_assert_msg(same_vma(&vq, &vt),
			      "query %lx-%lx %x %u:%u %lu %lx '%s' vs text %lx-%lx %x %u:%u %lu %lx '%s'",
			      vq.start, vq.end, vq.prot, vq.dev_major, vq.dev_minor, vq.inode, vq.pgoff, vq.name,
			      vt.start, vt.end, vt.prot, vt.dev_major, vt.dev_minor, vt.inode, vt.pgoff, vt.name);
		if (vq.start == sa)
			ck_assert_msg(!strncmp(vq.name, "/dev/zero", 9), "'%s'", vq.name);
		/* The middle of a VMA finds the same one. */
		ck_assert_int_eq(vma_find(&t, vq.start + (vq.end - vq.start) / 2, false, &vt), 0);
		ck_assert(same_vma(&vq, &vt));
		addr = vq.end;
		n++;
	}
	ck_assert_int_eq(rq, -ENOENT);
	ck_assert_int_gt(n, 10);
	vma_close(&q);
	vma_close(&t);
}
END_TEST

/* ---- spans ------------------------------------------------------------ */

static void check_spans(bool text)
{
	struct vma_src src;
	uint64_t a, s, e;

	/* [guard hole][anon 4][memfd 4][anon 2][hole][anon 2][guard hole] */
	a = cmd("mmap anon %llu", 16 * PG);
	cmd("munmap 0x%llx %llu", (unsigned long long)a, PG);
	cmd("munmap 0x%llx %llu", (unsigned long long)a + 15 * PG, PG);
	cmd("mmap memfd %llu 0x%llx", 4 * PG, (unsigned long long)a + 5 * PG);
	cmd("munmap 0x%llx %llu", (unsigned long long)a + 11 * PG, PG);
	open_src(child_pid(), text, &src);

	/* Inside one VMA: that VMA. */
	ck_assert_int_eq(vma_span(&src, a + PG + 8, a + 2 * PG, &s, &e), 0);
	ck_assert_uint_eq(s, a + PG);
	ck_assert_uint_eq(e, a + 5 * PG);
	/* Across adjacent VMAs of different kinds: all of them. */
	ck_assert_int_eq(vma_span(&src, a + 4 * PG, a + 9 * PG, &s, &e), 0);
	ck_assert_uint_eq(s, a + PG);
	ck_assert_uint_eq(e, a + 11 * PG);
	ck_assert_int_eq(vma_span(&src, a + 12 * PG, a + 15 * PG - 1, NULL, &e), 0);
	ck_assert_uint_eq(e, a + 15 * PG);
	/* Holes at the start, in the middle, at the end. */
	ck_assert_int_eq(vma_span(&src, a, a + 3 * PG, &s, &e), -EFAULT);
	ck_assert_int_eq(vma_span(&src, a + 10 * PG, a + 12 * PG, &s, &e), -EFAULT);
	ck_assert_int_eq(vma_span(&src, a + 11 * PG, a + 11 * PG, &s, &e), -EFAULT);
	ck_assert_int_eq(vma_span(&src, a + 14 * PG, a + 15 * PG, &s, &e), -EFAULT);
	ck_assert_int_eq(vma_span(&src, a + 2 * PG, a + 14 * PG, &s, &e), -EFAULT);
	ck_assert_int_eq(vma_span(&src, UINT64_MAX - PG, UINT64_MAX, &s, &e), -EFAULT);
	/* last before start. */
	ck_assert_int_eq(vma_span(&src, a + 2 * PG, a + PG, &s, &e), -EINVAL);
	vma_close(&src);
}

START_TEST(test_span_query)
{
	check_spans(false);
}
END_TEST

START_TEST(test_span_text)
{
	check_spans(true);
}
END_TEST

/* ---- a process that is gone -------------------------------------------- */

/* A child with exactly pid @pid (clone3 set_tid, root only); it pauses. */
static pid_t spawn_with_pid(pid_t pid)
{
	struct clone_args args;
	long r;

	memset(&args, 0, sizeof(args));
	args.exit_signal = SIGCHLD;
	args.set_tid = (uintptr_t)&pid;
	args.set_tid_size = 1;
	r = syscall(SYS_clone3, &args, sizeof(args));
	if (r == 0) {
		for (;;)
			pause();
	}
	return r < 0 ? -errno : (pid_t)r;
}

START_TEST(test_gone_and_pid_reused)
{
	struct vma_src q, t, fresh;
	struct vma_info v;
	pid_t pid = child_pid(), again;
	int status;

	open_src(pid, false, &q);
	open_src(pid, true, &t);
	ck_assert_int_eq(vma_find(&q, 0, true, &v), 0);
	ck_assert_int_eq(vma_find(&t, 0, true, &v), 0);

	tu_send(&child, "exit 0");
	ck_assert_int_eq(tu_wait_exit(&child, TU_TIMEOUT_MS, &status), 0);
	ck_assert(WIFEXITED(status));

	ck_assert_int_eq(vma_find(&q, 0, true, &v), -ESRCH);
	ck_assert_int_eq(vma_find(&t, 0, true, &v), -ESRCH);
	ck_assert_int_eq(vma_span(&q, 0, PG, NULL, NULL), -ESRCH);
	ck_assert_int_eq(vma_span(&t, 0, PG, NULL, NULL), -ESRCH);

	/* Hand the pid to a new process: the old sources still refuse. */
	again = spawn_with_pid(pid);
	ck_assert_int_eq(again, pid);
	ck_assert_int_eq(vma_open(pid, &fresh), 0);	/* the newcomer */
	ck_assert_int_eq(vma_find(&fresh, 0, true, &v), 0);
	ck_assert_int_eq(vma_find(&q, 0, true, &v), -ESRCH);
	ck_assert_int_eq(vma_find(&t, 0, true, &v), -ESRCH);
	ck_assert_int_eq(vma_span(&q, v.start, v.start, NULL, NULL), -ESRCH);
	vma_close(&fresh);
	kill(again, SIGKILL);
	waitpid(again, NULL, 0);
	vma_close(&q);
	vma_close(&t);

	/* No such process at all. */
	ck_assert_int_eq(vma_open(pid, &fresh), -ESRCH);
	ck_assert_int_eq(vma_open(-1, &fresh), -ESRCH);
}
END_TEST

START_TEST(test_zombie)
{
	struct vma_src src;
	pid_t pid = fork();

	ck_assert_int_ge(pid, 0);
	if (pid == 0)
		_exit(0);
	/* Wait until it is a zombie without reaping it. */
	for (;;) {
		siginfo_t si = { 0 };

		ck_assert_int_eq(waitid(P_PID, (id_t)pid, &si, WEXITED | WNOWAIT), 0);
		if (si.si_pid == pid)
			break;
	}
	ck_assert_int_eq(vma_open(pid, &src), -ESRCH);
	waitpid(pid, NULL, 0);
}
END_TEST

START_TEST(test_not_allowed)
{
	struct vma_src src;
	pid_t pid = fork();
	int status;

	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		if (setgroups(0, NULL) || setgid(65534) || setuid(65534))
			_exit(2);
		_exit(vma_open(1, &src) == -EACCES ? 0 : 1);
	}
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	ck_assert(WIFEXITED(status));
	ck_assert_int_eq(WEXITSTATUS(status), 0);
}
END_TEST

static Suite *vma_suite(void)
{
	Suite *s = suite_create("vma");
	TCase *tc;

	tc = tcase_create("lookup");
	tcase_add_checked_fixture(tc, start_child, stop_child);
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, test_lookup_query);
	tcase_add_test(tc, test_lookup_text);
	tcase_add_test(tc, test_query_text_agree);
	suite_add_tcase(s, tc);

	tc = tcase_create("span");
	tcase_add_checked_fixture(tc, start_child, stop_child);
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, test_span_query);
	tcase_add_test(tc, test_span_text);
	suite_add_tcase(s, tc);

	tc = tcase_create("gone");
	tcase_add_checked_fixture(tc, start_child, stop_child);
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, test_gone_and_pid_reused);
	tcase_add_test(tc, test_zombie);
	tcase_add_test(tc, test_not_allowed);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(vma_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
