/* SPDX-License-Identifier: MIT */
/*
 * Process handles for client tracking: a pidfd names one process for its
 * whole life (never a later process that reuses the pid), becomes
 * readable when it exits, and lets the daemon (CAP_SYS_PTRACE) copy an fd
 * out of the client's table by number (pidfd_getfd), the only way fds
 * travel from client to daemon (DESIGN.md §2). Plus the same-address-space
 * test that keeps forked children away from userptr (kcmp KCMP_VM). The
 * names avoid glibc's <sys/pidfd.h> wrappers, which older systems lack.
 */
#ifndef UGPU_MM_PIDFD_H
#define UGPU_MM_PIDFD_H

#include <sys/types.h>

/**
 * pidfd_open_pid - open a pidfd on process @pid
 * @pid: a thread-group leader's pid
 *
 * Return: the fd (close-on-exec) or -errno (-ESRCH: no such process,
 * -EINVAL: @pid is not a thread-group leader or not positive).
 */
int pidfd_open_pid(pid_t pid);

/**
 * pidfd_fetch_fd - duplicate fd number @targetfd of the process behind @pidfd
 * @pidfd:    a pidfd
 * @targetfd: an fd number in that process
 *
 * Needs ptrace-attach rights over the process (root or CAP_SYS_PTRACE
 * for clients of other users). The new fd is close-on-exec and shares
 * the open file description (flags, offset) with the client's.
 * Return: the new fd or -errno (-EBADF: no such fd in the target,
 * -ESRCH: the process exited, -EPERM: not allowed).
 */
int pidfd_fetch_fd(int pidfd, int targetfd);

/**
 * pidfd_exited - has the process behind @pidfd exited (zombie or reaped)?
 * @pidfd: a pidfd
 *
 * Does not block. While this returns 0, the pid number the process had
 * still belongs to it, so a lookup by pid made before the call (e.g.
 * opening /proc/<pid>/...) reached this very process.
 * Return: 1 exited, 0 running, -errno.
 */
int pidfd_exited(int pidfd);

/**
 * pidfd_to_pid - the pid (in our pid namespace) of the process behind @pidfd
 * @pidfd: a pidfd
 *
 * Reads /proc/self/fdinfo. The answer may be stale by the time it is
 * used: check pidfd_exited() after whatever it was used for.
 * Return: the pid, -ESRCH if the process was reaped (or is not visible
 * in our namespace), -EBADF if @pidfd is not a pidfd, or -errno.
 */
pid_t pidfd_to_pid(int pidfd);

/**
 * same_mm - do processes @a and @b share one address space?
 * @a: a pid
 * @b: a pid
 *
 * kcmp(KCMP_VM); needs ptrace-read rights on both. The pids are looked up
 * at the call, so the caller must know neither was reused (e.g. both are
 * requesters of an in-flight call, or checked with a pidfd afterwards).
 * Return: 1 same mm, 0 different, -errno (-ESRCH, -EPERM, -ENOSYS
 * without CONFIG_KCMP).
 */
int same_mm(pid_t a, pid_t b);

#endif
