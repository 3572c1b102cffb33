/* SPDX-License-Identifier: MIT */
/*
 * Shared test utilities: finding the helper programs the build puts in
 * build/tests/helpers, running a helper (optionally as another user) with
 * its stdin/stdout on pipes, a line protocol with timeouts over them, and
 * waiting for a condition without timing assumptions. No Check calls in
 * here: every function returns 0/-errno and the test asserts.
 */
#ifndef UGPU_TESTS_TESTUTIL_H
#define UGPU_TESTS_TESTUTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

/* A generous bound for anything a test waits on. */
#define TU_TIMEOUT_MS 10000

/**
 * tu_helper_path - path of helper program @name
 * @name: the helper's file name (tests/helpers/<name>.c)
 * @buf:  receives the path
 * @len:  size of @buf
 *
 * Looks in $UGPU_TEST_HELPERS, else in dirname(/proc/self/exe)/../helpers.
 * Return: 0, -ENOENT if the program is not there, -ENAMETOOLONG.
 */
int tu_helper_path(const char *name, char *buf, size_t len);

/**
 * tu_copy_for_user - copy executable @src into a fresh 0755 directory
 * @src:    the program
 * @dir:    receives the new directory (mkdtemp under /tmp), for tu_rmdir()
 * @dirlen: size of @dir
 * @dst:    receives the copy's path
 * @dstlen: size of @dst
 *
 * For running a helper as a user who cannot reach the build tree.
 * Return: 0 or -errno.
 */
int tu_copy_for_user(const char *src, char *dir, size_t dirlen, char *dst, size_t dstlen);

/**
 * tu_rmdir - remove a directory made by tu_copy_for_user() and its files
 * @dir: the directory
 */
void tu_rmdir(const char *dir);

struct tu_proc {
	pid_t pid;
	int in;			/* we write: the child's stdin */
	int out;		/* we read: the child's stdout */
	size_t have;		/* bytes buffered in buf */
	char buf[4096];
};

struct tu_spawn_opts {
	bool as_user;		/* drop to uid/gid (no supplementary groups) */
	uid_t uid;
	gid_t gid;
};

/**
 * tu_spawn - run @path with @argv, stdin and stdout on pipes
 * @p:    receives the process
 * @path: the program
 * @argv: its arguments, NULL-terminated (argv[0] included)
 * @opts: NULL or how to run it
 *
 * The child gets SIGKILL when the spawning thread exits, so a failed
 * test leaves no helper behind. stderr is inherited.
 * Return: 0 or -errno.
 */
int tu_spawn(struct tu_proc *p, const char *path, char *const argv[],
	     const struct tu_spawn_opts *opts);

/**
 * tu_send - write one line (a newline is appended) to the child's stdin
 * @p:   the process
 * @fmt: printf format
 *
 * Return: 0 or -errno (-EPIPE if the child is gone).
 */
int tu_send(struct tu_proc *p, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/**
 * tu_read_line - read one line from the child's stdout
 * @p:          the process
 * @line:       receives the line, without its newline
 * @len:        size of @line
 * @timeout_ms: how long to wait; < 0 forever
 *
 * Return: 0, -ETIMEDOUT, -EPIPE (end of file), -EMSGSIZE, -errno.
 */
int tu_read_line(struct tu_proc *p, char *line, size_t len, int timeout_ms);

/**
 * tu_line_ready - would tu_read_line() return at once?
 * @p: the process
 *
 * Return: true if a full line or end of file is available.
 */
bool tu_line_ready(struct tu_proc *p);

/**
 * tu_cmd - send a command line and read the reply line
 * @p:     the process
 * @reply: receives the reply
 * @len:   size of @reply
 * @fmt:   printf format of the command
 *
 * Waits TU_TIMEOUT_MS for the reply.
 * Return: as tu_read_line(), or tu_send()'s error.
 */
int tu_cmd(struct tu_proc *p, char *reply, size_t len, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

/**
 * tu_wait_exit - reap the child
 * @p:          the process
 * @timeout_ms: how long to wait; < 0 forever
 * @status:     NULL or receives the wait status
 *
 * Closes the pipes once reaped.
 * Return: 0, -ETIMEDOUT (still running), -errno.
 */
int tu_wait_exit(struct tu_proc *p, int timeout_ms, int *status);

/**
 * tu_kill - SIGKILL the child (if still there), reap it, close the pipes
 * @p: the process; a no-op once reaped
 */
void tu_kill(struct tu_proc *p);

/**
 * tu_wait_for - poll @cond until it returns true
 * @cond:       the condition
 * @arg:        its argument
 * @timeout_ms: how long to try
 *
 * Return: true if @cond became true in time.
 */
bool tu_wait_for(bool (*cond)(void *arg), void *arg, int timeout_ms);

/**
 * tu_now_ms - CLOCK_MONOTONIC in milliseconds
 */
long long tu_now_ms(void);

#endif
