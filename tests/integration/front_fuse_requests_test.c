// SPDX-License-Identifier: MIT
/*
 * Check suite for the FUSE front (daemon/front) against the kernel and
 * real client processes (tests/helpers/ioctl_client), the requests: an
 * ioctl's data in and out and its malformed forms, who the caller is
 * (forked child, thread), WAIT parked and completed later or interrupted
 * and cancelled, release on close and on SIGKILL (also while parked),
 * and the info files with their permissions. The front is mounted over a
 * tiny test core (tests/lib/fuse_harness.c); mounting and stopping are
 * in front_fuse_mount_test.c. Nothing here depends on timing.
 */
#include <check.h>
#include <dirent.h>
#include <errno.h>
#include <event2/event.h>
#include <event2/thread.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>

#include "tests/lib/fuse_harness.h"
#include "tests/lib/suite.h"
#include "uapi/ugpu.h"

/* ---- ioctl ------------------------------------------------------------ */

START_TEST(test_query_round_trip)
{
	pid_t pid = ff_spawn_client(0, 0);
	int fd = ff_client_open(0);
	struct query_out q;

	ff_client_query(0, fd, 41, &q);
	ck_assert_uint_eq(q.abi, UGPU_ABI_VERSION);
	ck_assert_uint_eq(q.va_bits, 42);
	ck_assert_uint_eq(q.engines, (unsigned int)pid);
	ck_assert_uint_eq(q.features, (unsigned long long)pid);
	ck_assert_str_eq(q.backend, "test");
	ck_assert_int_eq(ff_count(&FF.opens), 1);
}
END_TEST

START_TEST(test_malformed_ioctls)
{
	int fd, before;

	ff_spawn_client(0, 0);
	fd = ff_client_open(0);
	before = ff_count(&FF.ioctls);
	/* Another driver's type, an unknown number: not ours. */
	ck_assert_int_eq(ff_ccmd(0, NULL, 0, "raw %d %lu 72", fd,
				 (unsigned long)_IOWR('v', 0x00, struct ugpu_query)), ENOTTY);
	ck_assert_int_eq(ff_ccmd(0, NULL, 0, "raw %d %lu 8", fd,
				 (unsigned long)_IOWR('u', 0x7f, __u64)), ENOTTY);
	/* A known number with another size or direction. */
	ck_assert_int_eq(ff_ccmd(0, NULL, 0, "raw %d %lu 8", fd,
				 (unsigned long)_IOWR('u', 0x00, __u64)), EINVAL);
	ck_assert_int_eq(ff_ccmd(0, NULL, 0, "raw %d %lu 72", fd,
				 (unsigned long)_IOR('u', 0x00, struct ugpu_query)), EINVAL);
	ck_assert_int_eq(ff_ccmd(0, NULL, 0, "raw %d %lu 0", fd,
				 (unsigned long)_IO('u', 0x00)), EINVAL);
	ck_assert_int_eq(ff_count(&FF.ioctls), before);
	/* The core's own errno comes back exactly. */
	ck_assert_int_eq(ff_ccmd(0, NULL, 0, "raw %d %lu 32", fd,
				 (unsigned long)UGPU_IOCTL_VM_DESTROY), ENOENT);
	ck_assert_int_eq(ff_count(&FF.ioctls), before + 1);
	/* card0 is no byte stream. */
	ck_assert_int_eq(ff_ccmd(0, NULL, 0, "readfd %d", fd), EINVAL);
}
END_TEST

/* ---- the caller ------------------------------------------------------- */

START_TEST(test_forked_child_is_the_caller)
{
	pid_t opener = ff_spawn_client(0, 0);
	int fd = ff_client_open(0);
	unsigned long long features;
	unsigned int engines;
	int child;
	char out[96];

	ck_assert_int_eq(ff_ccmd(0, out, sizeof(out), "forkquery %d 0", fd), 0);
	ck_assert_int_eq(sscanf(out, "%d %u %llu", &child, &engines, &features), 3);
	ck_assert_int_ne(child, opener);
	ck_assert_uint_eq(engines, (unsigned int)child);	/* ioctl caller */
	ck_assert_uint_eq(features, (unsigned long long)opener);	/* opener */
	ck_assert_int_eq(ff_count(&FF.opens), 1);
}
END_TEST

START_TEST(test_thread_caller_is_its_tid)
{
	pid_t pid = ff_spawn_client(0, 0);
	int fd = ff_client_open(0);
	unsigned int engines;
	int tid;
	char out[64];

	ck_assert_int_eq(ff_ccmd(0, out, sizeof(out), "threadquery %d 0", fd), 0);
	ck_assert_int_eq(sscanf(out, "%d %u", &tid, &engines), 2);
	ck_assert_int_ne(tid, pid);
	ck_assert_uint_eq(engines, (unsigned int)tid);
}
END_TEST

/* ---- parked requests -------------------------------------------------- */

START_TEST(test_parked_completes_later)
{
	struct query_out q;
	int fd0, fd1, status = 0;
	char out[256];

	ff_spawn_client(0, 0);
	ff_spawn_client(1, 0);
	fd0 = ff_client_open(0);
	ff_client_park(0, fd0, 0);

	/* The loop is not blocked: other requests are served meanwhile. */
	fd1 = ff_client_open(1);
	ff_client_query(1, fd1, 1, &q);
	ck_assert_uint_eq(q.va_bits, 2);
	ck_assert_int_eq(ff_ccmd(1, out, sizeof(out), "cat %s/stats", FF.dir), 0);
	ck_assert(!tu_line_ready(&FF.c[0]));

	event_active(FF.kick, EV_TIMEOUT, 0);
	ck_assert_int_eq(ff_client_wait_reply(0, &status), 0);
	ck_assert_int_eq(status, WAIT_STATUS);
	ck_assert_int_eq(ff_count(&FF.cancels), 0);
	ck_assert_int_eq(ff_count(&FF.bad_session), 0);
	/* The file works on after its wait. */
	ff_client_query(0, fd0, 5, &q);
	ck_assert_uint_eq(q.va_bits, 6);
}
END_TEST

START_TEST(test_interrupted_wait_is_cancelled)
{
	struct query_out q;
	int fd, status;

	ff_spawn_client(0, 0);
	fd = ff_client_open(0);
	ff_client_park(0, fd, 0);
	ck_assert_int_eq(kill(FF.c[0].pid, SIGUSR1), 0);
	ck_assert_int_eq(ff_client_wait_reply(0, &status), EINTR);
	ck_assert(ff_wait_count(&FF.cancels, 1));
	ck_assert_int_eq(ff_count(&FF.n_parked), 0);
	ff_client_query(0, fd, 0, &q);
	ck_assert_int_eq(ff_count(&FF.releases), 0);
}
END_TEST

/* ---- release ---------------------------------------------------------- */

START_TEST(test_release_on_close)
{
	pid_t pid = ff_spawn_client(0, 0);
	int fd = ff_client_open(0);

	ck_assert_int_eq(ff_ccmd(0, NULL, 0, "close %d", fd), 0);
	ck_assert(ff_wait_count(&FF.releases, 1));
	ck_assert_int_eq(ff_count(&FF.last_release_pid), pid);
}
END_TEST

START_TEST(test_release_on_sigkill)
{
	pid_t pid = ff_spawn_client(0, 0);

	ff_client_open(0);
	tu_kill(&FF.c[0]);
	ck_assert(ff_wait_count(&FF.releases, 1));
	ck_assert_int_eq(ff_count(&FF.last_release_pid), pid);
}
END_TEST

START_TEST(test_release_on_sigkill_while_parked)
{
	pid_t pid = ff_spawn_client(0, 0);
	int fd = ff_client_open(0);

	ff_client_park(0, fd, 0);
	/* The kernel keeps the dying caller until the request is answered. */
	tu_kill(&FF.c[0]);
	ck_assert(ff_wait_count(&FF.releases, 1));
	ck_assert_int_eq(ff_count(&FF.cancels), 1);
	ck_assert_int_eq(ff_count(&FF.n_parked), 0);
	ck_assert_int_eq(ff_count(&FF.last_release_pid), pid);
}
END_TEST

/* ---- info files ------------------------------------------------------- */

static bool dir_has(const char *dir, const char *name)
{
	struct dirent *de;
	bool found = false;
	DIR *d = opendir(dir);

	ck_assert_ptr_nonnull(d);
	while (!found && (de = readdir(d)))
		found = !strcmp(de->d_name, name);
	closedir(d);
	return found;
}

START_TEST(test_info_files)
{
	char out[256], path[160], name[32];
	pid_t pid = ff_spawn_client(0, 0);
	struct stat st;
	int fd;

	ck_assert(dir_has(FF.dir, "card0"));
	ck_assert(dir_has(FF.dir, "stats"));
	ck_assert(dir_has(FF.dir, "big"));
	ck_assert(dir_has(FF.dir, "clients"));

	fd = ff_client_open(0);
	ff_client_open(0);	/* a second open by the same pid */
	ck_assert_int_eq(ff_ccmd(0, out, sizeof(out), "cat %s/stats", FF.dir), 0);
	ck_assert_str_eq(out, "28 {\"opens\": 2, \"releases\": 0}");
	ck_assert_int_eq(ff_ccmd(0, out, sizeof(out), "cat %s/big", FF.dir), 0);
	ck_assert_int_eq(atoi(out), BIG_LEN);

	/* One file per open; the second open of a pid gets a suffix. */
	snprintf(name, sizeof(name), "%d", (int)pid);
	snprintf(path, sizeof(path), "%s/clients", FF.dir);
	ck_assert(dir_has(path, name));
	snprintf(name, sizeof(name), "%d.2", (int)pid);
	ck_assert(dir_has(path, name));

	/* Read-only, even for root. */
	snprintf(path, sizeof(path), "%s/stats", FF.dir);
	ck_assert_int_eq(open(path, O_RDWR), -1);
	ck_assert_int_eq(errno, EACCES);
	ck_assert_int_eq(stat(path, &st), 0);
	ck_assert_uint_eq(st.st_mode, S_IFREG | 0444);
	ck_assert_int_eq(stat(FF.card0, &st), 0);
	ck_assert_uint_eq(st.st_mode, S_IFREG | 0666);

	/* A closed client's file is gone. */
	ck_assert_int_eq(ff_ccmd(0, NULL, 0, "close %d", fd), 0);
	ck_assert(ff_wait_count(&FF.releases, 1));
	snprintf(path, sizeof(path), "%s/clients/%d", FF.dir, (int)pid);
	ck_assert_int_eq(stat(path, &st), -1);
	ck_assert_int_eq(errno, ENOENT);
}
END_TEST

START_TEST(test_client_file_permissions)
{
	pid_t root_pid = ff_spawn_client(0, 0);
	pid_t user_pid = ff_spawn_client(1, 65534);
	char out[256], expect[64], user_file[160], root_file[160];
	struct stat st;

	ff_spawn_client(2, 65533);
	ff_client_open(0);
	ff_client_open(1);
	snprintf(user_file, sizeof(user_file), "%s/clients/%d", FF.dir, (int)user_pid);
	snprintf(root_file, sizeof(root_file), "%s/clients/%d", FF.dir, (int)root_pid);

	ck_assert_int_eq(stat(user_file, &st), 0);
	ck_assert_uint_eq(st.st_mode, S_IFREG | 0400);
	ck_assert_uint_eq(st.st_uid, 65534);
	ck_assert_uint_eq(st.st_gid, 65534);

	/* The owner reads its own file, root reads every file ... */
	snprintf(expect, sizeof(expect), "{\"pid\": %d, \"uid\": 65534}", (int)user_pid);
	ck_assert_int_eq(ff_ccmd(1, out, sizeof(out), "cat %s", user_file), 0);
	ck_assert_str_eq(strchr(out, ' ') + 1, expect);
	ck_assert_int_eq(ff_ccmd(0, out, sizeof(out), "cat %s", user_file), 0);
	ck_assert_str_eq(strchr(out, ' ') + 1, expect);
	/* ... nobody else does. */
	ck_assert_int_eq(ff_ccmd(1, NULL, 0, "cat %s", root_file), EACCES);
	ck_assert_int_eq(ff_ccmd(2, NULL, 0, "cat %s", user_file), EACCES);
	/* Everyone may read stats and open card0. */
	ck_assert_int_eq(ff_ccmd(2, out, sizeof(out), "cat %s/stats", FF.dir), 0);
	ff_client_open(2);
}
END_TEST

static Suite *front_fuse_requests_suite(void)
{
	Suite *s = suite_create("front_fuse_requests");
	TCase *tc;

	tc = tu_tcase(s, "ioctl", 30, ff_setup_running, ff_teardown);
	tcase_add_test(tc, test_query_round_trip);
	tcase_add_test(tc, test_malformed_ioctls);

	tc = tu_tcase(s, "caller", 30, ff_setup_running, ff_teardown);
	tcase_add_test(tc, test_forked_child_is_the_caller);
	tcase_add_test(tc, test_thread_caller_is_its_tid);

	tc = tu_tcase(s, "parked", 30, ff_setup_running, ff_teardown);
	tcase_add_test(tc, test_parked_completes_later);
	tcase_add_test(tc, test_interrupted_wait_is_cancelled);

	tc = tu_tcase(s, "release", 30, ff_setup_running, ff_teardown);
	tcase_add_test(tc, test_release_on_close);
	tcase_add_test(tc, test_release_on_sigkill);
	tcase_add_test(tc, test_release_on_sigkill_while_parked);

	tc = tu_tcase(s, "info", 30, ff_setup_running, ff_teardown);
	tcase_add_test(tc, test_info_files);
	tcase_add_test(tc, test_client_file_permissions);
	return s;
}

int main(void)
{
	evthread_use_pthreads();
	return tu_run_suite(front_fuse_requests_suite());
}
