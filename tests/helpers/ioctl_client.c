// SPDX-License-Identifier: MIT
/*
 * ioctl_client: a stand-in for a ugpu client process talking to a front
 * (FUSE card0 or CUSE) with raw syscalls, driven one line at a time on
 * stdin; each command is answered with one line on stdout, "ok [value...]"
 * or "err <errno>". SIGUSR1 has a handler without SA_RESTART, so a test
 * can interrupt a blocked ioctl with it.
 *
 *   pid                       ok <pid>
 *   open PATH                 ok <fd>            O_RDWR
 *   close FD                  ok
 *   query FD EXT              ok <abi> <engines> <va_bits> <features> <backend>
 *   wait FD FENCE             ok <status>        blocks in UGPU_IOCTL_WAIT
 *   raw FD CMD SIZE           ok                 ioctl CMD on SIZE zero bytes
 *   forkquery FD EXT          ok <pid> <engines> <features>   from a child
 *   threadquery FD EXT        ok <tid> <engines> from a second thread
 *   readfd FD                 ok <n>             read(2) of up to 64 bytes
 *   cat PATH                  ok <len> <first line, cut at 160>
 *   exit [CODE]               (exits, no reply)
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "uapi/ugpu.h"

#define MAX_ARGS 5

static char inbuf[4096];
static size_t inlen;

static void reply(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static void reply(const char *fmt, ...)
{
	char line[256];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(line, sizeof(line) - 1, fmt, ap);
	va_end(ap);
	if (n < 0)
		_exit(3);
	if ((size_t)n > sizeof(line) - 2)
		n = (int)sizeof(line) - 2;
	line[n++] = '\n';
	if (write(1, line, (size_t)n) != n)
		_exit(3);
}

/* Next line from stdin into @line, or exit at end of file. */
static void next_line(char *line, size_t len)
{
	for (;;) {
		char *nl = memchr(inbuf, '\n', inlen);
		ssize_t n;

		if (nl) {
			size_t l = (size_t)(nl - inbuf);

			if (l >= len)
				_exit(4);
			memcpy(line, inbuf, l);
			line[l] = '\0';
			inlen -= l + 1;
			memmove(inbuf, nl + 1, inlen);
			return;
		}
		if (inlen == sizeof(inbuf))
			_exit(4);
		n = read(0, inbuf + inlen, sizeof(inbuf) - inlen);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			_exit(0);
		inlen += (size_t)n;
	}
}

static uint64_t num(const char *s)
{
	return strtoull(s, NULL, 0);
}

static int query(int fd, uint64_t ext, struct ugpu_query *q)
{
	memset(q, 0, sizeof(*q));
	q->extensions = ext;
	return ioctl(fd, UGPU_IOCTL_QUERY, q) ? errno : 0;
}

static void do_query(int fd, uint64_t ext)
{
	struct ugpu_query q;
	int err = query(fd, ext, &q);

	if (err) {
		reply("err %d", err);
		return;
	}
	reply("ok %u %u %llu %llu %.16s", q.abi_version, q.num_engines,
	      (unsigned long long)q.va_bits, (unsigned long long)q.features,
	      (const char *)q.backend);
}

static void do_wait(int fd, uint64_t fence)
{
	struct ugpu_wait w = { .fence = fence, .timeout_abs_ns = -1 };

	if (ioctl(fd, UGPU_IOCTL_WAIT, &w))
		reply("err %d", errno);
	else
		reply("ok %d", w.status);
}

static void do_raw(int fd, unsigned long cmd, size_t size)
{
	static uint64_t buf[2048];

	memset(buf, 0, sizeof(buf));
	if (size > sizeof(buf))
		reply("err %d", E2BIG);
	else if (ioctl(fd, cmd, buf))
		reply("err %d", errno);
	else
		reply("ok");
}

/* Writes (pid, err, engines, features) to the pipe; the parent replies. */
static void do_forkquery(int fd, uint64_t ext)
{
	struct { int pid, err; struct ugpu_query q; } r;
	int p[2], status;
	pid_t pid;

	if (pipe(p)) {
		reply("err %d", errno);
		return;
	}
	pid = fork();
	if (pid == 0) {
		r.pid = getpid();
		r.err = query(fd, ext, &r.q);
		_exit(write(p[1], &r, sizeof(r)) == sizeof(r) ? 0 : 1);
	}
	close(p[1]);
	if (pid < 0 || read(p[0], &r, sizeof(r)) != sizeof(r))
		r.err = EIO;
	close(p[0]);
	if (pid > 0)
		waitpid(pid, &status, 0);
	if (r.err)
		reply("err %d", r.err);
	else
		reply("ok %d %u %llu", r.pid, r.q.num_engines,
		      (unsigned long long)r.q.features);
}

struct thread_query {
	int fd, err, tid;
	uint64_t ext;
	struct ugpu_query q;
};

static void *thread_query(void *arg)
{
	struct thread_query *t = arg;

	t->tid = (int)syscall(SYS_gettid);
	t->err = query(t->fd, t->ext, &t->q);
	return NULL;
}

static void do_threadquery(int fd, uint64_t ext)
{
	struct thread_query t = { .fd = fd, .ext = ext };
	pthread_t th;
	int err;

	err = pthread_create(&th, NULL, thread_query, &t);
	if (err) {
		reply("err %d", err);
		return;
	}
	pthread_join(th, NULL);
	if (t.err)
		reply("err %d", t.err);
	else
		reply("ok %d %u", t.tid, t.q.num_engines);
}

static void do_cat(const char *path)
{
	static char buf[1 << 16];
	size_t len = 0, i;
	ssize_t n;
	int fd;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		reply("err %d", errno);
		return;
	}
	while (len < sizeof(buf) - 1 &&
	       (n = read(fd, buf + len, sizeof(buf) - 1 - len)) > 0)
		len += (size_t)n;
	close(fd);
	buf[len] = '\0';
	for (i = 0; i < len && buf[i] != '\n'; i++)
		;
	buf[i < 160 ? i : 160] = '\0';
	reply("ok %zu %s", len, buf);
}

static void on_sigusr1(int sig)
{
}

int main(void)
{
	struct sigaction sa = { .sa_handler = on_sigusr1 };	/* no SA_RESTART */
	char line[512], *a[MAX_ARGS], *save;
	char buf[64];
	int n, fd;
	ssize_t r;

	sigaction(SIGUSR1, &sa, NULL);
	for (;;) {
		next_line(line, sizeof(line));
		n = 0;
		for (a[n] = strtok_r(line, " ", &save); a[n] && n < MAX_ARGS - 1;
		     a[n] = strtok_r(NULL, " ", &save))
			n++;
		if (!n)
			continue;
		fd = n > 1 ? (int)num(a[1]) : -1;
		if (!strcmp(a[0], "pid")) {
			reply("ok %d", (int)getpid());
		} else if (!strcmp(a[0], "open") && n == 2) {
			fd = open(a[1], O_RDWR | O_CLOEXEC);
			if (fd < 0)
				reply("err %d", errno);
			else
				reply("ok %d", fd);
		} else if (!strcmp(a[0], "close") && n == 2) {
			close(fd);
			reply("ok");
		} else if (!strcmp(a[0], "query") && n == 3) {
			do_query(fd, num(a[2]));
		} else if (!strcmp(a[0], "wait") && n == 3) {
			do_wait(fd, num(a[2]));
		} else if (!strcmp(a[0], "raw") && n == 4) {
			do_raw(fd, (unsigned long)num(a[2]), (size_t)num(a[3]));
		} else if (!strcmp(a[0], "forkquery") && n == 3) {
			do_forkquery(fd, num(a[2]));
		} else if (!strcmp(a[0], "threadquery") && n == 3) {
			do_threadquery(fd, num(a[2]));
		} else if (!strcmp(a[0], "readfd") && n == 2) {
			r = read(fd, buf, sizeof(buf));
			if (r < 0)
				reply("err %d", errno);
			else
				reply("ok %zd", r);
		} else if (!strcmp(a[0], "cat") && n == 2) {
			do_cat(a[1]);
		} else if (!strcmp(a[0], "exit")) {
			_exit(n > 1 ? (int)num(a[1]) : 0);
		} else {
			reply("err %d", EINVAL);
		}
	}
}
