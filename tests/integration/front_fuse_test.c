// SPDX-License-Identifier: MIT
/*
 * Check suite for the FUSE front (daemon/front) against the kernel and
 * real client processes (tests/helpers/ioctl_client). The front is
 * mounted on a fresh directory with a tiny test core behind it: QUERY
 * echoes its input and reports the caller and the opener, WAIT parks
 * until the test kicks a libevent event, VM_DESTROY fails with ENOENT.
 * The loop runs in its own thread, as in ugpud; the test thread plays
 * the operator. Nothing here depends on timing: every wait is for a
 * state, bounded by TU_TIMEOUT_MS.
 */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <dirent.h>
#include <linux/magic.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>
#include <event2/thread.h>

#include "front/front.h"
#include "tests/lib/testutil.h"
#include "uapi/ugpu.h"

#define MAX_CLIENTS 3
#define MAX_PARKED 8
#define BIG_LEN 10000		/* the "big" info file: more than one buffer */
#define WAIT_STATUS 42		/* what a kicked WAIT reports */

struct tsession {
	pid_t pid;
	uid_t uid;
};

struct parked {
	struct front_req *req;
	struct ugpu_wait *wait;
};

static struct {
	struct event_base *base;
	struct event *kick;		/* completes every parked WAIT */
	struct front *f;
	pthread_t loop;
	bool loop_running;
	char dir[64];			/* the mount point */
	char card0[96];
	char tmpdir[256];		/* helper copy for other users */
	char user_helper[512];
	struct tu_proc c[MAX_CLIENTS];
	pid_t daemon;			/* a front in a child process */

	pthread_mutex_t lock;		/* protects everything below */
	pthread_cond_t cond;
	int opens, releases, cancels, ioctls, ended;
	int bad_session;		/* front_req_session() was wrong */
	pid_t last_release_pid;
	struct parked parked[MAX_PARKED];
	int n_parked;
} T;

/* ---- the test core ---------------------------------------------------- */

static void bump(int *counter)
{
	pthread_mutex_lock(&T.lock);
	(*counter)++;
	pthread_cond_broadcast(&T.cond);
	pthread_mutex_unlock(&T.lock);
}

static int t_open(void *core, const struct front_caller *who, void **session)
{
	struct tsession *s = calloc(1, sizeof(*s));

	if (!s)
		return -ENOMEM;
	s->pid = who->pid;
	s->uid = who->uid;
	*session = s;
	bump(&T.opens);
	return 0;
}

static void t_release(void *core, void *session)
{
	struct tsession *s = session;

	pthread_mutex_lock(&T.lock);
	T.last_release_pid = s->pid;
	T.releases++;
	pthread_cond_broadcast(&T.cond);
	pthread_mutex_unlock(&T.lock);
	free(s);
}

static int t_ioctl(void *core, void *session, const struct front_caller *who,
		   unsigned int cmd, void *data, size_t size, struct front_req *req)
{
	struct tsession *s = session;
	struct ugpu_query *q = data;
	int ret = 0;

	pthread_mutex_lock(&T.lock);
	T.ioctls++;
	switch (cmd) {
	case UGPU_IOCTL_QUERY:
		q->abi_version = UGPU_ABI_VERSION;
		q->num_engines = (__u32)who->pid;	/* the caller */
		q->features = (__u64)s->pid;		/* the opener */
		q->va_bits = q->extensions + 1;		/* proves data in */
		memcpy(q->backend, "test", 5);
		break;
	case UGPU_IOCTL_WAIT:
		if (front_req_session(req) != session)
			T.bad_session++;
		T.parked[T.n_parked].req = req;
		T.parked[T.n_parked].wait = data;
		T.n_parked++;
		ret = FRONT_PARKED;
		break;
	case UGPU_IOCTL_VM_DESTROY:
		ret = -ENOENT;
		break;
	default:
		ret = -EOPNOTSUPP;
	}
	pthread_cond_broadcast(&T.cond);
	pthread_mutex_unlock(&T.lock);
	return ret;
}

static void t_cancel(void *core, void *session, struct front_req *req)
{
	int i;

	pthread_mutex_lock(&T.lock);
	for (i = 0; i < T.n_parked; i++)
		if (T.parked[i].req == req)
			T.parked[i] = T.parked[--T.n_parked];
	T.cancels++;
	pthread_cond_broadcast(&T.cond);
	pthread_mutex_unlock(&T.lock);
}

static int t_read_info(void *core, void *session, const char *name,
		       const struct front_caller *who, char *buf, size_t size)
{
	struct tsession *s = session;
	int n;

	if (s)
		return snprintf(buf, size, "{\"pid\": %d, \"uid\": %u}\n", (int)s->pid,
				(unsigned int)s->uid);
	if (!strcmp(name, "big")) {
		if (size >= BIG_LEN)
			memset(buf, 'x', BIG_LEN);
		return BIG_LEN;
	}
	pthread_mutex_lock(&T.lock);
	n = snprintf(buf, size, "{\"opens\": %d, \"releases\": %d}\n", T.opens, T.releases);
	pthread_mutex_unlock(&T.lock);
	return n;
}

static void t_ended(void *core)
{
	bump(&T.ended);
}

static const char *const info_files[] = { "stats", "big", NULL };

static const struct front_ops test_ops = {
	.open = t_open,
	.release = t_release,
	.ioctl = t_ioctl,
	.cancel = t_cancel,
	.read_info = t_read_info,
	.info_files = info_files,
	.ended = t_ended,
};

/* Loop thread: answer every parked WAIT. */
static void kick_cb(evutil_socket_t fd, short what, void *arg)
{
	struct parked p[MAX_PARKED];
	int i, n;

	pthread_mutex_lock(&T.lock);
	n = T.n_parked;
	memcpy(p, T.parked, sizeof(p));
	T.n_parked = 0;
	pthread_mutex_unlock(&T.lock);
	for (i = 0; i < n; i++) {
		p[i].wait->status = WAIT_STATUS;
		front_req_complete(p[i].req, 0);
	}
}

/* Wait until *v >= want; false after TU_TIMEOUT_MS. */
static bool wait_count(const int *v, int want)
{
	struct timespec ts;
	bool ok;

	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_sec += TU_TIMEOUT_MS / 1000;
	pthread_mutex_lock(&T.lock);
	while (*v < want && pthread_cond_timedwait(&T.cond, &T.lock, &ts) != ETIMEDOUT)
		;
	ok = *v >= want;
	pthread_mutex_unlock(&T.lock);
	return ok;
}

static int count(const int *v)
{
	int n;

	pthread_mutex_lock(&T.lock);
	n = *v;
	pthread_mutex_unlock(&T.lock);
	return n;
}

/* ---- loop, mount, clients --------------------------------------------- */

static void *loop_main(void *arg)
{
	event_base_loop(T.base, EVLOOP_NO_EXIT_ON_EMPTY);
	return NULL;
}

static void start_loop(void)
{
	ck_assert_int_eq(pthread_create(&T.loop, NULL, loop_main, NULL), 0);
	T.loop_running = true;
}

static void stop_loop(void)
{
	if (!T.loop_running)
		return;
	event_base_loopbreak(T.base);
	pthread_join(T.loop, NULL);
	T.loop_running = false;
}

static bool is_mounted(const char *dir)
{
	char line[1024], mp[512];
	bool found = false;
	FILE *fp;

	fp = fopen("/proc/self/mountinfo", "re");
	ck_assert_ptr_nonnull(fp);
	while (!found && fgets(line, sizeof(line), fp))
		found = sscanf(line, "%*s %*s %*s %*s %511s", mp) == 1 && !strcmp(mp, dir);
	fclose(fp);
	return found;
}

static void start_front(const struct front_opts *opts)
{
	ck_assert_int_eq(front_fuse_start(T.base, T.dir, opts, &test_ops, NULL, &T.f), 0);
	ck_assert(is_mounted(T.dir));
	start_loop();
}

static void setup(void)
{
	memset(&T, 0, sizeof(T));
	pthread_mutex_init(&T.lock, NULL);
	pthread_cond_init(&T.cond, NULL);
	T.base = event_base_new();
	ck_assert_ptr_nonnull(T.base);
	T.kick = event_new(T.base, -1, 0, kick_cb, NULL);
	ck_assert_ptr_nonnull(T.kick);
	strcpy(T.dir, "/tmp/ugpu-front-XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(T.dir));
	snprintf(T.card0, sizeof(T.card0), "%s/card0", T.dir);
}

static void setup_running(void)
{
	setup();
	start_front(NULL);
}

static void teardown(void)
{
	int i;

	/* Clients first, while the loop can still answer a parked one. */
	for (i = 0; i < MAX_CLIENTS; i++)
		tu_kill(&T.c[i]);
	if (T.daemon > 0) {
		kill(T.daemon, SIGKILL);
		waitpid(T.daemon, NULL, 0);
	}
	stop_loop();
	front_stop(T.f);
	ck_assert(!is_mounted(T.dir));
	while (is_mounted(T.dir))	/* a failed test left one: do not leak it */
		umount2(T.dir, MNT_DETACH);
	rmdir(T.dir);
	event_free(T.kick);
	event_base_free(T.base);
	if (T.tmpdir[0])
		tu_rmdir(T.tmpdir);
	pthread_cond_destroy(&T.cond);
	pthread_mutex_destroy(&T.lock);
}

/* Client i, as root or (uid != 0) as uid:uid from a copy it can reach. */
static pid_t spawn_client(int i, uid_t uid)
{
	struct tu_spawn_opts opts = { .as_user = true, .uid = uid, .gid = uid };
	char *argv[] = { "ioctl_client", NULL };
	char path[512], reply[64];

	ck_assert_int_eq(tu_helper_path("ioctl_client", path, sizeof(path)), 0);
	if (!uid) {
		ck_assert_int_eq(tu_spawn(&T.c[i], path, argv, NULL), 0);
	} else {
		if (!T.tmpdir[0])
			ck_assert_int_eq(tu_copy_for_user(path, T.tmpdir, sizeof(T.tmpdir),
							  T.user_helper,
							  sizeof(T.user_helper)), 0);
		ck_assert_int_eq(tu_spawn(&T.c[i], T.user_helper, argv, &opts), 0);
	}
	ck_assert_int_eq(tu_cmd(&T.c[i], reply, sizeof(reply), "pid"), 0);
	ck_assert_int_eq(strncmp(reply, "ok ", 3), 0);
	return (pid_t)atoi(reply + 3);
}

/*
 * Run a command on client i. Return 0 for "ok" (the rest of the reply in
 * out), the errno of "err N", or -1 for no reply.
 */
static int ccmd(int i, char *out, size_t len, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static int ccmd(int i, char *out, size_t len, const char *fmt, ...)
{
	char line[256], reply[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	if (tu_cmd(&T.c[i], reply, sizeof(reply), "%s", line))
		return -1;
	if (!strncmp(reply, "err ", 4))
		return atoi(reply + 4);
	ck_assert_msg(!strncmp(reply, "ok", 2), "%s: '%s'", line, reply);
	if (out)
		snprintf(out, len, "%s", reply[2] ? reply + 3 : "");
	return 0;
}

/* Client i opens card0; returns the fd number in the client. */
static int client_open(int i)
{
	char out[32];

	ck_assert_int_eq(ccmd(i, out, sizeof(out), "open %s", T.card0), 0);
	return atoi(out);
}

struct query_out {
	unsigned int abi, engines;
	unsigned long long va_bits, features;
	char backend[17];
};

static void client_query(int i, int fd, unsigned long long ext, struct query_out *q)
{
	char out[128];

	ck_assert_int_eq(ccmd(i, out, sizeof(out), "query %d %llu", fd, ext), 0);
	ck_assert_int_eq(sscanf(out, "%u %u %llu %llu %16s", &q->abi, &q->engines,
				&q->va_bits, &q->features, q->backend), 5);
}

/* Start a WAIT on client i and return once the core holds it. */
static void client_park(int i, int fd, int parked_before)
{
	ck_assert_int_eq(tu_send(&T.c[i], "wait %d 7", fd), 0);
	ck_assert(wait_count(&T.n_parked, parked_before + 1));
	ck_assert(!tu_line_ready(&T.c[i]));
}

/* The reply to a WAIT sent with client_park(): 0 and status, or errno. */
static int client_wait_reply(int i, int *status)
{
	char reply[64];

	ck_assert_int_eq(tu_read_line(&T.c[i], reply, sizeof(reply), TU_TIMEOUT_MS), 0);
	if (!strncmp(reply, "err ", 4))
		return atoi(reply + 4);
	ck_assert_int_eq(sscanf(reply, "ok %d", status), 1);
	return 0;
}

/* ---- ioctl ------------------------------------------------------------ */

START_TEST(test_query_round_trip)
{
	pid_t pid = spawn_client(0, 0);
	int fd = client_open(0);
	struct query_out q;

	client_query(0, fd, 41, &q);
	ck_assert_uint_eq(q.abi, UGPU_ABI_VERSION);
	ck_assert_uint_eq(q.va_bits, 42);
	ck_assert_uint_eq(q.engines, (unsigned int)pid);
	ck_assert_uint_eq(q.features, (unsigned long long)pid);
	ck_assert_str_eq(q.backend, "test");
	ck_assert_int_eq(count(&T.opens), 1);
}
END_TEST

START_TEST(test_malformed_ioctls)
{
	int fd, before;

	spawn_client(0, 0);
	fd = client_open(0);
	before = count(&T.ioctls);
	/* Another driver's type, an unknown number: not ours. */
	ck_assert_int_eq(ccmd(0, NULL, 0, "raw %d %lu 72", fd,
			      (unsigned long)_IOWR('v', 0x00, struct ugpu_query)), ENOTTY);
	ck_assert_int_eq(ccmd(0, NULL, 0, "raw %d %lu 8", fd,
			      (unsigned long)_IOWR('u', 0x7f, __u64)), ENOTTY);
	/* A known number with another size or direction. */
	ck_assert_int_eq(ccmd(0, NULL, 0, "raw %d %lu 8", fd,
			      (unsigned long)_IOWR('u', 0x00, __u64)), EINVAL);
	ck_assert_int_eq(ccmd(0, NULL, 0, "raw %d %lu 72", fd,
			      (unsigned long)_IOR('u', 0x00, struct ugpu_query)), EINVAL);
	ck_assert_int_eq(ccmd(0, NULL, 0, "raw %d %lu 0", fd,
			      (unsigned long)_IO('u', 0x00)), EINVAL);
	ck_assert_int_eq(count(&T.ioctls), before);
	/* The core's own errno comes back exactly. */
	ck_assert_int_eq(ccmd(0, NULL, 0, "raw %d %lu 32", fd,
			      (unsigned long)UGPU_IOCTL_VM_DESTROY), ENOENT);
	ck_assert_int_eq(count(&T.ioctls), before + 1);
	/* card0 is no byte stream. */
	ck_assert_int_eq(ccmd(0, NULL, 0, "readfd %d", fd), EINVAL);
}
END_TEST

/* ---- the caller ------------------------------------------------------- */

START_TEST(test_forked_child_is_the_caller)
{
	pid_t opener = spawn_client(0, 0);
	int fd = client_open(0);
	unsigned long long features;
	unsigned int engines;
	int child;
	char out[96];

	ck_assert_int_eq(ccmd(0, out, sizeof(out), "forkquery %d 0", fd), 0);
	ck_assert_int_eq(sscanf(out, "%d %u %llu", &child, &engines, &features), 3);
	ck_assert_int_ne(child, opener);
	ck_assert_uint_eq(engines, (unsigned int)child);	/* ioctl caller */
	ck_assert_uint_eq(features, (unsigned long long)opener);	/* opener */
	ck_assert_int_eq(count(&T.opens), 1);
}
END_TEST

START_TEST(test_thread_caller_is_its_tid)
{
	pid_t pid = spawn_client(0, 0);
	int fd = client_open(0);
	unsigned int engines;
	int tid;
	char out[64];

	ck_assert_int_eq(ccmd(0, out, sizeof(out), "threadquery %d 0", fd), 0);
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

	spawn_client(0, 0);
	spawn_client(1, 0);
	fd0 = client_open(0);
	client_park(0, fd0, 0);

	/* The loop is not blocked: other requests are served meanwhile. */
	fd1 = client_open(1);
	client_query(1, fd1, 1, &q);
	ck_assert_uint_eq(q.va_bits, 2);
	ck_assert_int_eq(ccmd(1, out, sizeof(out), "cat %s/stats", T.dir), 0);
	ck_assert(!tu_line_ready(&T.c[0]));

	event_active(T.kick, EV_TIMEOUT, 0);
	ck_assert_int_eq(client_wait_reply(0, &status), 0);
	ck_assert_int_eq(status, WAIT_STATUS);
	ck_assert_int_eq(count(&T.cancels), 0);
	ck_assert_int_eq(count(&T.bad_session), 0);
	/* The file works on after its wait. */
	client_query(0, fd0, 5, &q);
	ck_assert_uint_eq(q.va_bits, 6);
}
END_TEST

START_TEST(test_interrupted_wait_is_cancelled)
{
	struct query_out q;
	int fd, status;

	spawn_client(0, 0);
	fd = client_open(0);
	client_park(0, fd, 0);
	ck_assert_int_eq(kill(T.c[0].pid, SIGUSR1), 0);
	ck_assert_int_eq(client_wait_reply(0, &status), EINTR);
	ck_assert(wait_count(&T.cancels, 1));
	ck_assert_int_eq(count(&T.n_parked), 0);
	client_query(0, fd, 0, &q);
	ck_assert_int_eq(count(&T.releases), 0);
}
END_TEST

/* ---- release ---------------------------------------------------------- */

START_TEST(test_release_on_close)
{
	pid_t pid = spawn_client(0, 0);
	int fd = client_open(0);

	ck_assert_int_eq(ccmd(0, NULL, 0, "close %d", fd), 0);
	ck_assert(wait_count(&T.releases, 1));
	ck_assert_int_eq(count(&T.last_release_pid), pid);
}
END_TEST

START_TEST(test_release_on_sigkill)
{
	pid_t pid = spawn_client(0, 0);

	client_open(0);
	tu_kill(&T.c[0]);
	ck_assert(wait_count(&T.releases, 1));
	ck_assert_int_eq(count(&T.last_release_pid), pid);
}
END_TEST

START_TEST(test_release_on_sigkill_while_parked)
{
	pid_t pid = spawn_client(0, 0);
	int fd = client_open(0);

	client_park(0, fd, 0);
	/* The kernel keeps the dying caller until the request is answered. */
	tu_kill(&T.c[0]);
	ck_assert(wait_count(&T.releases, 1));
	ck_assert_int_eq(count(&T.cancels), 1);
	ck_assert_int_eq(count(&T.n_parked), 0);
	ck_assert_int_eq(count(&T.last_release_pid), pid);
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
	pid_t pid = spawn_client(0, 0);
	struct stat st;
	int fd;

	ck_assert(dir_has(T.dir, "card0"));
	ck_assert(dir_has(T.dir, "stats"));
	ck_assert(dir_has(T.dir, "big"));
	ck_assert(dir_has(T.dir, "clients"));

	fd = client_open(0);
	client_open(0);	/* a second open by the same pid */
	ck_assert_int_eq(ccmd(0, out, sizeof(out), "cat %s/stats", T.dir), 0);
	ck_assert_str_eq(out, "28 {\"opens\": 2, \"releases\": 0}");
	ck_assert_int_eq(ccmd(0, out, sizeof(out), "cat %s/big", T.dir), 0);
	ck_assert_int_eq(atoi(out), BIG_LEN);

	/* One file per open; the second open of a pid gets a suffix. */
	snprintf(name, sizeof(name), "%d", (int)pid);
	snprintf(path, sizeof(path), "%s/clients", T.dir);
	ck_assert(dir_has(path, name));
	snprintf(name, sizeof(name), "%d.2", (int)pid);
	ck_assert(dir_has(path, name));

	/* Read-only, even for root. */
	snprintf(path, sizeof(path), "%s/stats", T.dir);
	ck_assert_int_eq(open(path, O_RDWR), -1);
	ck_assert_int_eq(errno, EACCES);
	ck_assert_int_eq(stat(path, &st), 0);
	ck_assert_uint_eq(st.st_mode, S_IFREG | 0444);
	ck_assert_int_eq(stat(T.card0, &st), 0);
	ck_assert_uint_eq(st.st_mode, S_IFREG | 0666);

	/* A closed client's file is gone. */
	ck_assert_int_eq(ccmd(0, NULL, 0, "close %d", fd), 0);
	ck_assert(wait_count(&T.releases, 1));
	snprintf(path, sizeof(path), "%s/clients/%d", T.dir, (int)pid);
	ck_assert_int_eq(stat(path, &st), -1);
	ck_assert_int_eq(errno, ENOENT);
}
END_TEST

START_TEST(test_client_file_permissions)
{
	pid_t root_pid = spawn_client(0, 0);
	pid_t user_pid = spawn_client(1, 65534);
	char out[256], expect[64], user_file[160], root_file[160];
	struct stat st;

	spawn_client(2, 65533);
	client_open(0);
	client_open(1);
	snprintf(user_file, sizeof(user_file), "%s/clients/%d", T.dir, (int)user_pid);
	snprintf(root_file, sizeof(root_file), "%s/clients/%d", T.dir, (int)root_pid);

	ck_assert_int_eq(stat(user_file, &st), 0);
	ck_assert_uint_eq(st.st_mode, S_IFREG | 0400);
	ck_assert_uint_eq(st.st_uid, 65534);
	ck_assert_uint_eq(st.st_gid, 65534);

	/* The owner reads its own file, root reads every file ... */
	snprintf(expect, sizeof(expect), "{\"pid\": %d, \"uid\": 65534}", (int)user_pid);
	ck_assert_int_eq(ccmd(1, out, sizeof(out), "cat %s", user_file), 0);
	ck_assert_str_eq(strchr(out, ' ') + 1, expect);
	ck_assert_int_eq(ccmd(0, out, sizeof(out), "cat %s", user_file), 0);
	ck_assert_str_eq(strchr(out, ' ') + 1, expect);
	/* ... nobody else does. */
	ck_assert_int_eq(ccmd(1, NULL, 0, "cat %s", root_file), EACCES);
	ck_assert_int_eq(ccmd(2, NULL, 0, "cat %s", user_file), EACCES);
	/* Everyone may read stats and open card0. */
	ck_assert_int_eq(ccmd(2, out, sizeof(out), "cat %s/stats", T.dir), 0);
	client_open(2);
}
END_TEST

/* ---- stale mounts ----------------------------------------------------- */

/*
 * A daemon in a child process: mounts a front at T.dir, reports the
 * result on `ready`, then serves until killed.
 */
static void run_daemon(const struct front_opts *opts)
{
	int p[2], ret = -1;
	struct event_base *base;
	struct front *f;

	ck_assert_int_eq(prctl(PR_SET_CHILD_SUBREAPER, 1), 0);
	ck_assert_int_eq(pipe(p), 0);
	T.daemon = fork();
	ck_assert_int_ge(T.daemon, 0);
	if (T.daemon == 0) {
		close(p[0]);
		base = event_base_new();
		if (base)
			ret = front_fuse_start(base, T.dir, opts, &test_ops, NULL, &f);
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

	ck_assert_int_eq(kill(T.daemon, SIGKILL), 0);
	ck_assert_int_eq(waitpid(T.daemon, NULL, 0), T.daemon);
	T.daemon = 0;
	n = watchers(pids, 4);
	for (i = 0; i < n; i++)
		ck_assert_int_eq(waitpid(pids[i], NULL, 0), pids[i]);
}

/* A client can use the mount at T.dir. */
static void check_usable(void)
{
	struct query_out q;
	int fd;

	spawn_client(0, 0);
	fd = client_open(0);
	client_query(0, fd, 9, &q);
	ck_assert_uint_eq(q.va_bits, 10);
	tu_kill(&T.c[0]);
}

START_TEST(test_dead_mount_is_detached)
{
	struct front_opts opts = { .no_auto_unmount = true };
	struct statfs sfs;

	run_daemon(&opts);
	check_usable();
	kill_daemon();
	/* Nobody unmounts it: every call fails. */
	ck_assert_int_eq(statfs(T.dir, &sfs), -1);
	ck_assert_int_eq(errno, ENOTCONN);

	start_front(NULL);
	ck_assert_int_eq(statfs(T.dir, &sfs), 0);
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
	start_front(NULL);
	check_usable();
}
END_TEST

START_TEST(test_live_mount_is_busy)
{
	struct front *f2 = NULL;

	start_front(NULL);
	ck_assert_int_eq(front_fuse_start(T.base, T.dir, NULL, &test_ops, NULL, &f2), -EBUSY);
	ck_assert_ptr_null(f2);
	check_usable();
}
END_TEST

START_TEST(test_card0_owner_and_mode)
{
	struct front_opts opts = { .uid = 65534, .gid = 65534, .mode = 0600 };
	struct stat st;

	start_front(&opts);
	ck_assert_int_eq(stat(T.card0, &st), 0);
	ck_assert_uint_eq(st.st_mode, S_IFREG | 0600);
	ck_assert_uint_eq(st.st_uid, 65534);
	ck_assert_uint_eq(st.st_gid, 65534);
	spawn_client(0, 65534);
	spawn_client(1, 65533);
	client_open(0);
	ck_assert_int_eq(ccmd(1, NULL, 0, "open %s", T.card0), EACCES);
	ck_assert_int_eq(count(&T.opens), 1);
}
END_TEST

START_TEST(test_missing_ops_rejected)
{
	struct front_ops ops = test_ops;
	struct front *f2 = NULL;

	ops.cancel = NULL;
	ck_assert_int_eq(front_fuse_start(T.base, T.dir, NULL, &ops, NULL, &f2), -EINVAL);
	ck_assert_int_eq(front_fuse_start(T.base, "", NULL, &test_ops, NULL, &f2), -EINVAL);
	ck_assert_ptr_null(f2);
	ck_assert(!is_mounted(T.dir));
}
END_TEST

/* ---- stop, and the kernel ending the session -------------------------- */

START_TEST(test_stop_answers_parked_and_unmounts)
{
	int fd0, status;

	spawn_client(0, 0);
	spawn_client(1, 0);
	fd0 = client_open(0);
	client_open(1);
	client_park(0, fd0, 0);

	stop_loop();
	front_stop(T.f);
	T.f = NULL;
	ck_assert_int_eq(client_wait_reply(0, &status), ENODEV);
	ck_assert_int_eq(count(&T.cancels), 1);
	ck_assert_int_eq(count(&T.releases), 2);
	ck_assert(!is_mounted(T.dir));
	/* The auto_unmount watcher (our child) was reaped too. */
	tu_kill(&T.c[0]);
	tu_kill(&T.c[1]);
	ck_assert_int_eq(waitpid(-1, NULL, WNOHANG), -1);
	ck_assert_int_eq(errno, ECHILD);
}
END_TEST

START_TEST(test_kernel_ends_session)
{
	struct query_out q;
	int fd, err;

	spawn_client(0, 0);
	fd = client_open(0);
	client_query(0, fd, 0, &q);
	/* A forced unmount aborts the connection, even with card0 open. */
	ck_assert_int_eq(umount2(T.dir, MNT_FORCE), -1);
	ck_assert_int_eq(errno, EBUSY);
	ck_assert(wait_count(&T.ended, 1));
	ck_assert_int_eq(count(&T.releases), 1);
	err = ccmd(0, NULL, 0, "query %d 0", fd);
	ck_assert_int_eq(err, ENOTCONN);
	/* front_stop takes away the dead mount it leaves. */
	stop_loop();
	front_stop(T.f);
	T.f = NULL;
	ck_assert(!is_mounted(T.dir));
}
END_TEST

static TCase *tcase(Suite *s, const char *name, void (*fixture)(void))
{
	TCase *tc = tcase_create(name);

	tcase_add_checked_fixture(tc, fixture, teardown);
	tcase_set_timeout(tc, 30);
	suite_add_tcase(s, tc);
	return tc;
}

static Suite *front_fuse_suite(void)
{
	Suite *s = suite_create("front_fuse");
	TCase *tc;

	tc = tcase(s, "ioctl", setup_running);
	tcase_add_test(tc, test_query_round_trip);
	tcase_add_test(tc, test_malformed_ioctls);

	tc = tcase(s, "caller", setup_running);
	tcase_add_test(tc, test_forked_child_is_the_caller);
	tcase_add_test(tc, test_thread_caller_is_its_tid);

	tc = tcase(s, "parked", setup_running);
	tcase_add_test(tc, test_parked_completes_later);
	tcase_add_test(tc, test_interrupted_wait_is_cancelled);

	tc = tcase(s, "release", setup_running);
	tcase_add_test(tc, test_release_on_close);
	tcase_add_test(tc, test_release_on_sigkill);
	tcase_add_test(tc, test_release_on_sigkill_while_parked);

	tc = tcase(s, "info", setup_running);
	tcase_add_test(tc, test_info_files);
	tcase_add_test(tc, test_client_file_permissions);

	tc = tcase(s, "mount", setup);	/* these mount for themselves */
	tcase_add_test(tc, test_dead_mount_is_detached);
	tcase_add_test(tc, test_restart_after_sigkill);
	tcase_add_test(tc, test_live_mount_is_busy);
	tcase_add_test(tc, test_card0_owner_and_mode);
	tcase_add_test(tc, test_missing_ops_rejected);

	tc = tcase(s, "stop", setup_running);
	tcase_add_test(tc, test_stop_answers_parked_and_unmounts);
	tcase_add_test(tc, test_kernel_ends_session);
	return s;
}

int main(void)
{
	SRunner *sr;
	int failed;

	evthread_use_pthreads();
	sr = srunner_create(front_fuse_suite());
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
