// SPDX-License-Identifier: MIT
/*
 * Shared test utilities: helper lookup, spawning with pipes (optionally
 * as another user), a line protocol with timeouts, condition waits.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <libgen.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "tests/lib/testutil.h"

long long tu_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int tu_helper_path(const char *name, char *buf, size_t len)
{
	const char *env = getenv("UGPU_TEST_HELPERS");
	char exe[PATH_MAX];
	ssize_t n;
	int r;

	if (env && *env) {
		r = snprintf(buf, len, "%s/%s", env, name);
	} else {
		n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
		if (n < 0)
			return -errno;
		exe[n] = '\0';
		r = snprintf(buf, len, "%s/../helpers/%s", dirname(exe), name);
	}
	if (r < 0 || (size_t)r >= len)
		return -ENAMETOOLONG;
	return access(buf, X_OK) ? -ENOENT : 0;
}

int tu_copy_for_user(const char *src, char *dir, size_t dirlen, char *dst, size_t dstlen)
{
	char buf[65536];
	int in, out, ret = 0;
	ssize_t n;

	if (snprintf(dir, dirlen, "/tmp/ugpu-test.XXXXXX") >= (int)dirlen)
		return -ENAMETOOLONG;
	if (!mkdtemp(dir))
		return -errno;
	if (chmod(dir, 0755)) {
		ret = -errno;
		goto err_dir;
	}
	if (snprintf(dst, dstlen, "%s/prog", dir) >= (int)dstlen) {
		ret = -ENAMETOOLONG;
		goto err_dir;
	}
	in = open(src, O_RDONLY | O_CLOEXEC);
	if (in < 0) {
		ret = -errno;
		goto err_dir;
	}
	out = open(dst, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0755);
	if (out < 0) {
		ret = -errno;
		goto err_in;
	}
	while ((n = read(in, buf, sizeof(buf))) > 0) {
		if (write(out, buf, (size_t)n) != n) {
			ret = -EIO;
			break;
		}
	}
	if (n < 0)
		ret = -errno;
	if (fchmod(out, 0755) && !ret)
		ret = -errno;
	close(out);
	close(in);
	if (ret)
		tu_rmdir(dir);
	return ret;

err_in:
	close(in);
err_dir:
	rmdir(dir);
	return ret;
}

void tu_rmdir(const char *dir)
{
	struct dirent *de;
	char path[PATH_MAX];
	DIR *d = opendir(dir);

	if (d) {
		while ((de = readdir(d))) {
			if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
				continue;
			snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
			unlink(path);
		}
		closedir(d);
	}
	rmdir(dir);
}

int tu_spawn(struct tu_proc *p, const char *path, char *const argv[],
	     const struct tu_spawn_opts *opts)
{
	int to_child[2], from_child[2];
	pid_t parent = getpid();
	int ret;

	if (pipe2(to_child, O_CLOEXEC))
		return -errno;
	if (pipe2(from_child, O_CLOEXEC)) {
		ret = -errno;
		goto err_to;
	}
	p->have = 0;
	p->pid = fork();
	if (p->pid < 0) {
		ret = -errno;
		goto err_from;
	}
	if (p->pid == 0) {
		/* Only async-signal-safe calls from here to exec. */
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (getppid() != parent)
			_exit(126);
		if (dup2(to_child[0], 0) < 0 || dup2(from_child[1], 1) < 0)
			_exit(126);
		if (opts && opts->as_user) {
			if (setgroups(0, NULL) || setgid(opts->gid) || setuid(opts->uid))
				_exit(126);
		}
		execv(path, argv);
		_exit(127);
	}
	close(to_child[0]);
	close(from_child[1]);
	p->in = to_child[1];
	p->out = from_child[0];
	return 0;

err_from:
	close(from_child[0]);
	close(from_child[1]);
err_to:
	close(to_child[0]);
	close(to_child[1]);
	return ret;
}

int tu_send(struct tu_proc *p, const char *fmt, ...)
{
	char line[1024];
	va_list ap;
	size_t off = 0;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(line, sizeof(line) - 1, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sizeof(line) - 1)
		return -EMSGSIZE;
	line[n++] = '\n';
	while (off < (size_t)n) {
		ssize_t w = write(p->in, line + off, (size_t)n - off);

		if (w < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		off += (size_t)w;
	}
	return 0;
}

static int take_line(struct tu_proc *p, char *line, size_t len)
{
	char *nl = memchr(p->buf, '\n', p->have);
	size_t n;

	if (!nl)
		return -EAGAIN;
	n = (size_t)(nl - p->buf);
	if (n >= len)
		return -EMSGSIZE;
	memcpy(line, p->buf, n);
	line[n] = '\0';
	p->have -= n + 1;
	memmove(p->buf, nl + 1, p->have);
	return 0;
}

int tu_read_line(struct tu_proc *p, char *line, size_t len, int timeout_ms)
{
	long long deadline = tu_now_ms() + timeout_ms;

	for (;;) {
		struct pollfd pfd = { .fd = p->out, .events = POLLIN };
		int ret, wait_ms;
		ssize_t n;

		ret = take_line(p, line, len);
		if (ret != -EAGAIN)
			return ret;
		if (p->have == sizeof(p->buf))
			return -EMSGSIZE;
		wait_ms = -1;
		if (timeout_ms >= 0) {
			long long left = deadline - tu_now_ms();

			if (left <= 0)
				return -ETIMEDOUT;
			wait_ms = (int)left;
		}
		ret = poll(&pfd, 1, wait_ms);
		if (ret < 0 && errno != EINTR)
			return -errno;
		if (ret <= 0)
			continue;
		n = read(p->out, p->buf + p->have, sizeof(p->buf) - p->have);
		if (n < 0 && errno != EINTR)
			return -errno;
		if (n == 0)
			return -EPIPE;
		if (n > 0)
			p->have += (size_t)n;
	}
}

bool tu_line_ready(struct tu_proc *p)
{
	struct pollfd pfd = { .fd = p->out, .events = POLLIN };

	if (memchr(p->buf, '\n', p->have))
		return true;
	return poll(&pfd, 1, 0) > 0;
}

int tu_cmd(struct tu_proc *p, char *reply, size_t len, const char *fmt, ...)
{
	char line[1024];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sizeof(line))
		return -EMSGSIZE;
	n = tu_send(p, "%s", line);
	if (n)
		return n;
	return tu_read_line(p, reply, len, TU_TIMEOUT_MS);
}

static void close_pipes(struct tu_proc *p)
{
	if (p->in >= 0)
		close(p->in);
	if (p->out >= 0)
		close(p->out);
	p->in = p->out = -1;
}

int tu_wait_exit(struct tu_proc *p, int timeout_ms, int *status)
{
	long long deadline = tu_now_ms() + timeout_ms;
	int st;

	if (p->pid <= 0)
		return -ECHILD;
	for (;;) {
		pid_t r = waitpid(p->pid, &st, WNOHANG);

		if (r < 0 && errno != EINTR)
			return -errno;
		if (r == p->pid)
			break;
		if (timeout_ms >= 0 && tu_now_ms() >= deadline)
			return -ETIMEDOUT;
		usleep(1000);
	}
	p->pid = 0;
	close_pipes(p);
	if (status)
		*status = st;
	return 0;
}

void tu_kill(struct tu_proc *p)
{
	if (p->pid <= 0)
		return;
	kill(p->pid, SIGKILL);
	while (waitpid(p->pid, NULL, 0) < 0 && errno == EINTR)
		;
	p->pid = 0;
	close_pipes(p);
}

bool tu_wait_for(bool (*cond)(void *arg), void *arg, int timeout_ms)
{
	long long deadline = tu_now_ms() + timeout_ms;

	for (;;) {
		if (cond(arg))
			return true;
		if (tu_now_ms() >= deadline)
			return false;
		usleep(1000);
	}
}
