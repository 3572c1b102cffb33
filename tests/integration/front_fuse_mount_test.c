// SPDX-License-Identifier: MIT
/*
 * Check suite for the FUSE front (daemon/front), its mount's life: a
 * dead mount left by a SIGKILLed daemon is detached, a restart after
 * SIGKILL works, a live mount is -EBUSY, card0's owner and mode, missing
 * ops are rejected; front_stop() answers parked requests and unmounts,
 * and the kernel ending the session (a forced unmount) is seen. Clients
 * are real processes (tests/helpers/ioctl_client) over the test core of
 * tests/lib/fuse_harness.c; the requests are in
 * front_fuse_requests_test.c. Nothing here depends on timing.
 */
#include <check.h>
#include <dirent.h>
#include <errno.h>
#include <event2/event.h>
#include <event2/thread.h>
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

#include "front/front.h"
#include "tests/lib/fuse_harness.h"
#include "tests/lib/suite.h"

/* ---- stale mounts ----------------------------------------------------- */

/*
 * A daemon in a child process: mounts a front at FF.dir, reports the
 * result on `ready`, then serves until killed.
 */
static void run_daemon(const struct front_opts *opts)
{
	int p[2], ret = -1;
	struct event_base *base;
	struct front *f;

	ck_assert_int_eq(prctl(PR_SET_CHILD_SUBREAPER, 1), 0);
	ck_assert_int_eq(pipe(p), 0);
	FF.daemon = fork();
	ck_assert_int_ge(FF.daemon, 0);
	if (FF.daemon == 0) {
		close(p[0]);
		base = event_base_new();
		if (base)
			ret = front_fuse_start(base, FF.dir, opts, &ff_test_ops, NULL, &f);
		if (write(p[1], &ret, sizeof(ret)) != sizeof(ret) || ret)
			_exit(1);
		event_base_loop(base, EVLOOP_NO_EXIT_ON_EMPTY);
		_exit(0);
	}
	close(p[1]);
	ck_assert_int_eq(read(p[0], &ret, sizeof(ret)), sizeof(ret));
	close(p[0]);
	ck_assert_int_eq(ret, 0);
}

/* Our children running (or just ended as) fusermount3. */
static int watchers(pid_t *pids, int max)
{
	char path[300], buf[512], comm[64];
	struct dirent *de;
	int n = 0, ppid;
	FILE *fp;
	DIR *d;

	d = opendir("/proc");
	ck_assert_ptr_nonnull(d);
	while (n < max && (de = readdir(d))) {
		if (de->d_name[0] < '1' || de->d_name[0] > '9')
			continue;
		snprintf(path, sizeof(path), "/proc/%s/stat", de->d_name);
		fp = fopen(path, "re");
		if (!fp)
			continue;
		if (fgets(buf, sizeof(buf), fp) &&
		    sscanf(buf, "%*d %63s %*c %d", comm, &ppid) == 2 &&
		    ppid == getpid() && !strcmp(comm, "(fusermount3)"))
			pids[n++] = atoi(de->d_name);
		fclose(fp);
	}
	closedir(d);
	return n;
}

/*
 * SIGKILL the daemon child. Its auto_unmount watcher is orphaned to us
 * (a subreaper, see run_daemon) and reaped here once it has done its job,
 * so no zombie outlives the test where init does not reap.
 */
static void kill_daemon(void)
{
	pid_t pids[4];
	int i, n;

	ck_assert_int_eq(kill(FF.daemon, SIGKILL), 0);
	ck_assert_int_eq(waitpid(FF.daemon, NULL, 0), FF.daemon);
	FF.daemon = 0;
	n = watchers(pids, 4);
	for (i = 0; i < n; i++)
		ck_assert_int_eq(waitpid(pids[i], NULL, 0), pids[i]);
}

/* A client can use the mount at FF.dir. */
static void check_usable(void)
{
	struct query_out q;
	int fd;

	ff_spawn_client(0, 0);
	fd = ff_client_open(0);
	ff_client_query(0, fd, 9, &q);
	ck_assert_uint_eq(q.va_bits, 10);
	tu_kill(&FF.c[0]);
}

START_TEST(test_dead_mount_is_detached)
{
	struct front_opts opts = { .no_auto_unmount = true };
	struct statfs sfs;

	run_daemon(&opts);
	check_usable();
	kill_daemon();
	/* Nobody unmounts it: every call fails. */
	ck_assert_int_eq(statfs(FF.dir, &sfs), -1);
	ck_assert_int_eq(errno, ENOTCONN);

	ff_start_front(NULL);
	ck_assert_int_eq(statfs(FF.dir, &sfs), 0);
	ck_assert_uint_eq(sfs.f_type, FUSE_SUPER_MAGIC);
	check_usable();
}
END_TEST

START_TEST(test_restart_after_sigkill)
{
	run_daemon(NULL);
	check_usable();
	/* fusermount3 unmounts, eventually; we may come before it or after. */
	kill_daemon();
	ff_start_front(NULL);
	check_usable();
}
END_TEST

START_TEST(test_live_mount_is_busy)
{
	struct front *f2 = NULL;

	ff_start_front(NULL);
	ck_assert_int_eq(front_fuse_start(FF.base, FF.dir, NULL, &ff_test_ops, NULL, &f2), -EBUSY);
	ck_assert_ptr_null(f2);
	check_usable();
}
END_TEST

START_TEST(test_card0_owner_and_mode)
{
	struct front_opts opts = { .uid = 65534, .gid = 65534, .mode = 0600 };
	struct stat st;

	ff_start_front(&opts);
	ck_assert_int_eq(stat(FF.card0, &st), 0);
	ck_assert_uint_eq(st.st_mode, S_IFREG | 0600);
	ck_assert_uint_eq(st.st_uid, 65534);
	ck_assert_uint_eq(st.st_gid, 65534);
	ff_spawn_client(0, 65534);
	ff_spawn_client(1, 65533);
	ff_client_open(0);
	ck_assert_int_eq(ff_ccmd(1, NULL, 0, "open %s", FF.card0), EACCES);
	ck_assert_int_eq(ff_count(&FF.opens), 1);
}
END_TEST

START_TEST(test_missing_ops_rejected)
{
	struct front_ops ops = ff_test_ops;
	struct front *f2 = NULL;

	ops.cancel = NULL;
	ck_assert_int_eq(front_fuse_start(FF.base, FF.dir, NULL, &ops, NULL, &f2), -EINVAL);
	ck_assert_int_eq(front_fuse_start(FF.base, "", NULL, &ff_test_ops, NULL, &f2), -EINVAL);
	ck_assert_ptr_null(f2);
	ck_assert(!ff_is_mounted(FF.dir));
}
END_TEST

/* ---- stop, and the kernel ending the session -------------------------- */

START_TEST(test_stop_answers_parked_and_unmounts)
{
	int fd0, status;

	ff_spawn_client(0, 0);
	ff_spawn_client(1, 0);
	fd0 = ff_client_open(0);
	ff_client_open(1);
	ff_client_park(0, fd0, 0);

	ff_stop_loop();
	front_stop(FF.f);
	FF.f = NULL;
	ck_assert_int_eq(ff_client_wait_reply(0, &status), ENODEV);
	ck_assert_int_eq(ff_count(&FF.cancels), 1);
	ck_assert_int_eq(ff_count(&FF.releases), 2);
	ck_assert(!ff_is_mounted(FF.dir));
	/* The auto_unmount watcher (our child) was reaped too. */
	tu_kill(&FF.c[0]);
	tu_kill(&FF.c[1]);
	ck_assert_int_eq(waitpid(-1, NULL, WNOHANG), -1);
	ck_assert_int_eq(errno, ECHILD);
}
END_TEST

START_TEST(test_kernel_ends_session)
{
	struct query_out q;
	int fd, err;

	ff_spawn_client(0, 0);
	fd = ff_client_open(0);
	ff_client_query(0, fd, 0, &q);
	/* A forced unmount aborts the connection, even with card0 open. */
	ck_assert_int_eq(umount2(FF.dir, MNT_FORCE), -1);
	ck_assert_int_eq(errno, EBUSY);
	ck_assert(ff_wait_count(&FF.ended, 1));
	ck_assert_int_eq(ff_count(&FF.releases), 1);
	err = ff_ccmd(0, NULL, 0, "query %d 0", fd);
	ck_assert_int_eq(err, ENOTCONN);
	/* front_stop takes away the dead mount it leaves. */
	ff_stop_loop();
	front_stop(FF.f);
	FF.f = NULL;
	ck_assert(!ff_is_mounted(FF.dir));
}
END_TEST

static Suite *front_fuse_mount_suite(void)
{
	Suite *s = suite_create("front_fuse_mount");
	TCase *tc;

	/* These mount for themselves. */
	tc = tu_tcase(s, "mount", 30, ff_setup, ff_teardown);
	tcase_add_test(tc, test_dead_mount_is_detached);
	tcase_add_test(tc, test_restart_after_sigkill);
	tcase_add_test(tc, test_live_mount_is_busy);
	tcase_add_test(tc, test_card0_owner_and_mode);
	tcase_add_test(tc, test_missing_ops_rejected);

	tc = tu_tcase(s, "stop", 30, ff_setup_running, ff_teardown);
	tcase_add_test(tc, test_stop_answers_parked_and_unmounts);
	tcase_add_test(tc, test_kernel_ends_session);
	return s;
}

int main(void)
{
	evthread_use_pthreads();
	return tu_run_suite(front_fuse_mount_suite());
}
