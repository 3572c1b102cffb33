// SPDX-License-Identifier: MIT
/*
 * pidfd and kcmp system call wrappers. Called through syscall(2) with
 * fallback numbers, so they build against headers that predate them and
 * never clash with the libc wrappers of the same calls.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "mm/pidfd.h"

/* The same numbers on every architecture (the unified syscall table). */
#ifndef SYS_pidfd_open
#define SYS_pidfd_open 434
#endif
#ifndef SYS_pidfd_getfd
#define SYS_pidfd_getfd 438
#endif
#ifndef SYS_kcmp
#error "kcmp: no syscall number for this architecture"
#endif

#define KCMP_TYPE_VM 1		/* enum kcmp_type KCMP_VM, linux/kcmp.h */

int pidfd_open_pid(pid_t pid)
{
	long fd;

	if (pid <= 0)
		return -EINVAL;
	fd = syscall(SYS_pidfd_open, pid, 0);
	return fd < 0 ? -errno : (int)fd;
}

int pidfd_fetch_fd(int pidfd, int targetfd)
{
	long fd;

	if (targetfd < 0)
		return -EBADF;
	fd = syscall(SYS_pidfd_getfd, pidfd, targetfd, 0);
	return fd < 0 ? -errno : (int)fd;
}

int pidfd_exited(int pidfd)
{
	struct pollfd p = { .fd = pidfd, .events = POLLIN };
	int n;

	do
		n = poll(&p, 1, 0);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return -errno;
	if (p.revents & POLLNVAL)
		return -EBADF;
	return n > 0 && (p.revents & (POLLIN | POLLHUP)) ? 1 : 0;
}

pid_t pidfd_to_pid(int pidfd)
{
	char path[64], buf[512], *line;
	ssize_t n;
	long pid;
	int fd;

	snprintf(path, sizeof(path), "/proc/self/fdinfo/%d", pidfd);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return errno == ENOENT ? -EBADF : -errno;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n < 0)
		return -errno;
	buf[n] = '\0';
	line = strstr(buf, "\nPid:\t");
	if (!line)
		return -EBADF;		/* not a pidfd */
	pid = strtol(line + 6, NULL, 10);
	/* -1: reaped; 0: not in our pid namespace. */
	return pid > 0 ? (pid_t)pid : -ESRCH;
}

int same_mm(pid_t a, pid_t b)
{
	long r;

	if (a <= 0 || b <= 0)
		return -ESRCH;
	r = syscall(SYS_kcmp, a, b, KCMP_TYPE_VM, 0, 0);
	if (r < 0)
		return -errno;
	return r == 0;
}
