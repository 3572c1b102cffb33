// SPDX-License-Identifier: MIT
/*
 * The FUSE front suites' harness (fuse_harness.h): the test core behind
 * the front, the loop thread, mounting, the checked fixtures and the
 * ioctl_client processes with their commands.
 */
#include <check.h>
#include <errno.h>
#include <event2/event.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "tests/lib/fuse_harness.h"
#include "uapi/ugpu.h"

struct fuse_harness FF;

struct tsession {
	pid_t pid;
	uid_t uid;
};

/* ---- the test core ---------------------------------------------------- */

static void bump(int *counter)
{
	pthread_mutex_lock(&FF.lock);
	(*counter)++;
	pthread_cond_broadcast(&FF.cond);
	pthread_mutex_unlock(&FF.lock);
}

static int t_open(void *core, const struct front_caller *who, void **session)
{
	struct tsession *s = calloc(1, sizeof(*s));

	if (!s)
		return -ENOMEM;
	s->pid = who->pid;
	s->uid = who->uid;
	*session = s;
	bump(&FF.opens);
	return 0;
}

static void t_release(void *core, void *session)
{
	struct tsession *s = session;

	pthread_mutex_lock(&FF.lock);
	FF.last_release_pid = s->pid;
	FF.releases++;
	pthread_cond_broadcast(&FF.cond);
	pthread_mutex_unlock(&FF.lock);
	free(s);
}

static int t_ioctl(void *core, void *session, const struct front_caller *who,
		   unsigned int cmd, void *data, size_t size, struct front_req *req)
{
	struct tsession *s = session;
	struct ugpu_query *q = data;
	int ret = 0;

	pthread_mutex_lock(&FF.lock);
	FF.ioctls++;
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
			FF.bad_session++;
		FF.parked[FF.n_parked].req = req;
		FF.parked[FF.n_parked].wait = data;
		FF.n_parked++;
		ret = FRONT_PARKED;
		break;
	case UGPU_IOCTL_VM_DESTROY:
		ret = -ENOENT;
		break;
	default:
		ret = -EOPNOTSUPP;
	}
	pthread_cond_broadcast(&FF.cond);
	pthread_mutex_unlock(&FF.lock);
	return ret;
}

static void t_cancel(void *core, void *session, struct front_req *req)
{
	int i;

	pthread_mutex_lock(&FF.lock);
	for (i = 0; i < FF.n_parked; i++)
		if (FF.parked[i].req == req)
			FF.parked[i] = FF.parked[--FF.n_parked];
	FF.cancels++;
	pthread_cond_broadcast(&FF.cond);
	pthread_mutex_unlock(&FF.lock);
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
	pthread_mutex_lock(&FF.lock);
	n = snprintf(buf, size, "{\"opens\": %d, \"releases\": %d}\n", FF.opens, FF.releases);
	pthread_mutex_unlock(&FF.lock);
	return n;
}

static void t_ended(void *core)
{
	bump(&FF.ended);
}

static const char *const info_files[] = { "stats", "big", NULL };

const struct front_ops ff_test_ops = {
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

	pthread_mutex_lock(&FF.lock);
	n = FF.n_parked;
	memcpy(p, FF.parked, sizeof(p));
	FF.n_parked = 0;
	pthread_mutex_unlock(&FF.lock);
	for (i = 0; i < n; i++) {
		p[i].wait->status = WAIT_STATUS;
		front_req_complete(p[i].req, 0);
	}
}

/* Wait until *v >= want; false after TU_TIMEOUT_MS. */
bool ff_wait_count(const int *v, int want)
{
	struct timespec ts;
	bool ok;

	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_sec += TU_TIMEOUT_MS / 1000;
	pthread_mutex_lock(&FF.lock);
	while (*v < want && pthread_cond_timedwait(&FF.cond, &FF.lock, &ts) != ETIMEDOUT)
		;
	ok = *v >= want;
	pthread_mutex_unlock(&FF.lock);
	return ok;
}

int ff_count(const int *v)
{
	int n;

	pthread_mutex_lock(&FF.lock);
	n = *v;
	pthread_mutex_unlock(&FF.lock);
	return n;
}

/* ---- loop, mount, clients --------------------------------------------- */

static void *loop_main(void *arg)
{
	event_base_loop(FF.base, EVLOOP_NO_EXIT_ON_EMPTY);
	return NULL;
}

static void start_loop(void)
{
	ck_assert_int_eq(pthread_create(&FF.loop, NULL, loop_main, NULL), 0);
	FF.loop_running = true;
}

void ff_stop_loop(void)
{
	if (!FF.loop_running)
		return;
	event_base_loopbreak(FF.base);
	pthread_join(FF.loop, NULL);
	FF.loop_running = false;
}

bool ff_is_mounted(const char *dir)
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

void ff_start_front(const struct front_opts *opts)
{
	ck_assert_int_eq(front_fuse_start(FF.base, FF.dir, opts, &ff_test_ops, NULL, &FF.f), 0);
	ck_assert(ff_is_mounted(FF.dir));
	start_loop();
}

void ff_setup(void)
{
	memset(&FF, 0, sizeof(FF));
	pthread_mutex_init(&FF.lock, NULL);
	pthread_cond_init(&FF.cond, NULL);
	FF.base = event_base_new();
	ck_assert_ptr_nonnull(FF.base);
	FF.kick = event_new(FF.base, -1, 0, kick_cb, NULL);
	ck_assert_ptr_nonnull(FF.kick);
	strcpy(FF.dir, "/tmp/ugpu-front-XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(FF.dir));
	snprintf(FF.card0, sizeof(FF.card0), "%s/card0", FF.dir);
}

void ff_setup_running(void)
{
	ff_setup();
	ff_start_front(NULL);
}

void ff_teardown(void)
{
	int i;

	/* Clients first, while the loop can still answer a parked one. */
	for (i = 0; i < MAX_CLIENTS; i++)
		tu_kill(&FF.c[i]);
	if (FF.daemon > 0) {
		kill(FF.daemon, SIGKILL);
		waitpid(FF.daemon, NULL, 0);
	}
	ff_stop_loop();
	front_stop(FF.f);
	ck_assert(!ff_is_mounted(FF.dir));
	while (ff_is_mounted(FF.dir))	/* a failed test left one: do not leak it */
		umount2(FF.dir, MNT_DETACH);
	rmdir(FF.dir);
	event_free(FF.kick);
	event_base_free(FF.base);
	if (FF.tmpdir[0])
		tu_rmdir(FF.tmpdir);
	pthread_cond_destroy(&FF.cond);
	pthread_mutex_destroy(&FF.lock);
}

/* Client i, as root or (uid != 0) as uid:uid from a copy it can reach. */
pid_t ff_spawn_client(int i, uid_t uid)
{
	struct tu_spawn_opts opts = { .as_user = true, .uid = uid, .gid = uid };
	char *argv[] = { "ioctl_client", NULL };
	char path[512], reply[64];

	ck_assert_int_eq(tu_helper_path("ioctl_client", path, sizeof(path)), 0);
	if (!uid) {
		ck_assert_int_eq(tu_spawn(&FF.c[i], path, argv, NULL), 0);
	} else {
		if (!FF.tmpdir[0])
			ck_assert_int_eq(tu_copy_for_user(path, FF.tmpdir, sizeof(FF.tmpdir),
							  FF.user_helper,
							  sizeof(FF.user_helper)), 0);
		ck_assert_int_eq(tu_spawn(&FF.c[i], FF.user_helper, argv, &opts), 0);
	}
	ck_assert_int_eq(tu_cmd(&FF.c[i], reply, sizeof(reply), "pid"), 0);
	ck_assert_int_eq(strncmp(reply, "ok ", 3), 0);
	return (pid_t)atoi(reply + 3);
}

/*
 * Run a command on client i. Return 0 for "ok" (the rest of the reply in
 * out), the errno of "err N", or -1 for no reply.
 */
int ff_ccmd(int i, char *out, size_t len, const char *fmt, ...)
{
	char line[256], reply[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	if (tu_cmd(&FF.c[i], reply, sizeof(reply), "%s", line))
		return -1;
	if (!strncmp(reply, "err ", 4))
		return atoi(reply + 4);
	ck_assert_msg(!strncmp(reply, "ok", 2), "%s: '%s'", line, reply);
	if (out)
		snprintf(out, len, "%s", reply[2] ? reply + 3 : "");
	return 0;
}

/* Client i opens card0; returns the fd number in the client. */
int ff_client_open(int i)
{
	char out[32];

	ck_assert_int_eq(ff_ccmd(i, out, sizeof(out), "open %s", FF.card0), 0);
	return atoi(out);
}

void ff_client_query(int i, int fd, unsigned long long ext, struct query_out *q)
{
	char out[128];

	ck_assert_int_eq(ff_ccmd(i, out, sizeof(out), "query %d %llu", fd, ext), 0);
	ck_assert_int_eq(sscanf(out, "%u %u %llu %llu %16s", &q->abi, &q->engines,
				&q->va_bits, &q->features, q->backend), 5);
}

/* Start a WAIT on client i and return once the core holds it. */
void ff_client_park(int i, int fd, int parked_before)
{
	ck_assert_int_eq(tu_send(&FF.c[i], "wait %d 7", fd), 0);
	ck_assert(ff_wait_count(&FF.n_parked, parked_before + 1));
	ck_assert(!tu_line_ready(&FF.c[i]));
}

/* The reply to a WAIT sent with ff_client_park(): 0 and status, or errno. */
int ff_client_wait_reply(int i, int *status)
{
	char reply[64];

	ck_assert_int_eq(tu_read_line(&FF.c[i], reply, sizeof(reply), TU_TIMEOUT_MS), 0);
	if (!strncmp(reply, "err ", 4))
		return atoi(reply + 4);
	ck_assert_int_eq(sscanf(reply, "ok %d", status), 1);
	return 0;
}
