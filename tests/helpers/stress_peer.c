// SPDX-License-Identifier: MIT
/*
 * stress_peer: a client process driven line by line from stdin, for the
 * tests that need two or more clients in separate processes at chosen
 * moments (tests/integration/isolation_test.c, pidreuse_test.c). Usage:
 * `stress_peer <device>`; each command line gets one reply line: `ok`
 * with values, `err <-errno>`, or `bad <details>` for a failed `check`.
 * Commands (numbers in C syntax):
 *
 *   open | close | pid | exit
 *   vm | vm_destroy ID | bo BYTES | bo_destroy ID
 *   bo_write ID OFF VALUE | bo_read ID OFF
 *   host PAGES                 sealed host memory for batches; dword 0 is
 *                              the semaphore held jobs wait for
 *   bind_host VM VA            bind it
 *   map ADDR PAGES anon|memfd|sealed VALUE   map (ADDR 0: anywhere; else
 *                              exactly there), fill with VALUE: ok ADDR
 *   check ADDR PAGES VALUE     every dword equals VALUE
 *   peek ADDR                  ok VALUE of the dword there
 *   bind_up VM VA ADDR BYTES FLAGS | bind_bo VM VA BO BYTES | unbind VM VA BYTES
 *   store VM ENGINE VA VALUE [hold] [sig H] [wait H]
 *                              a job storing VALUE at VA: ok FENCE
 *   sem VALUE                  set the semaphore
 *   wait FENCE MS              ok RESULT (0, the job's error, -ETIME...)
 *   so_create | so_wait H MS | so_destroy H
 *   read PATH                  ok FIRST-LINE, or err -errno
 *   fork_bind VM VA ADDR BYTES a child tries userptr binds and an exec
 *                              through our device: ok R1 R2 R3 R4 R5
 *   fork_hold VM VA            a child keeps our device open, and on
 *                              SIGUSR1 tries to use it (lines `child ...`)
 *                              and exits: ok CHILD-PID
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "libclient/ugpu.h"
#include "uapi/ugpu.h"

#ifndef MAP_FIXED_NOREPLACE
#define MAP_FIXED_NOREPLACE 0x100000
#endif

#define PAGE		4096u
#define SLOT_BYTES	256u
#define WAIT_NS		(30ll * 1000000000ll)

static struct ugpu *dev;
static const char *path;
static uint32_t *host;		/* dword 0: semaphore; batches from page 1 */
static uint64_t host_va;
static unsigned int host_pages, slot;
static uint64_t last_fence;

static int xioctl(unsigned long cmd, void *arg)
{
	int ret;

	do {
		ret = ioctl(ugpu_fd(dev), cmd, arg);
	} while (ret < 0 && errno == EINTR);
	return ret < 0 ? -errno : ret;
}

static void reply(int ret)
{
	if (ret < 0)
		printf("err %d\n", ret);
	else
		printf("ok\n");
}

static void reply_val(int ret, uint64_t v)
{
	if (ret < 0)
		printf("err %d\n", ret);
	else
		printf("ok %" PRIu64 "\n", v);
}

static uint64_t num(const char *s)
{
	return s ? strtoull(s, NULL, 0) : 0;
}

/* A job storing @value at @va; with @hold it first waits for the semaphore. */
static int store(uint32_t vm, uint32_t engine, uint64_t va, uint32_t value, bool hold,
		 int sig, int wait, uint64_t *fence)
{
	struct ugpu_sync sy[2];
	struct ugpu_exec e = { .vm_id = vm, .engine = engine };
	struct ugpu_cmdbuf cb;
	unsigned int s, n = 0;
	int ret;

	if (!host)
		return -EINVAL;
	s = slot++ % ((host_pages - 1) * PAGE / SLOT_BYTES);
	ugpu_cmd_init(&cb, (uint8_t *)host + PAGE + s * SLOT_BYTES, SLOT_BYTES);
	if (hold)
		ugpu_cmd_semaphore_wait(&cb, host_va, UGPU_SEM_GTE, 1);
	ugpu_cmd_store_dword(&cb, va, value);
	ret = ugpu_cmd_end(&cb);
	if (ret)
		return ret;
	if (sig >= 0)
		sy[n++] = (struct ugpu_sync){ .type = UGPU_SYNC_SYNCOBJ, .handle = (uint32_t)sig,
					      .flags = UGPU_SYNC_FLAG_SIGNAL };
	if (wait >= 0)
		sy[n++] = (struct ugpu_sync){ .type = UGPU_SYNC_SYNCOBJ, .handle = (uint32_t)wait };
	e.batch_va = host_va + PAGE + s * SLOT_BYTES;
	e.batch_len = cb.len * 4;
	e.num_syncs = n;
	e.syncs_ptr = n ? (uintptr_t)sy : 0;
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	do {
		e.fence = 0;
		ret = xioctl(UGPU_IOCTL_EXEC, &e);
	} while (ret == -EAGAIN);
	if (!ret)
		*fence = last_fence = e.fence;
	return ret;
}

static void cmd_map(char **a)
{
	uint64_t addr = num(a[1]);
	size_t len = num(a[2]) * PAGE;
	const char *kind = a[3] ? a[3] : "anon";
	int flags = addr ? MAP_FIXED_NOREPLACE : 0, fd = -1;
	uint32_t *p;

	if (!strcmp(kind, "anon")) {
		flags |= MAP_PRIVATE | MAP_ANONYMOUS;
	} else {
		fd = memfd_create("peer", MFD_CLOEXEC | MFD_ALLOW_SEALING);
		if (fd < 0 || ftruncate(fd, (off_t)len) ||
		    (!strcmp(kind, "sealed") && fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW)))
			return reply(-errno);
		flags |= MAP_SHARED;
	}
	p = mmap((void *)(uintptr_t)addr, len, PROT_READ | PROT_WRITE, flags, fd, 0);
	if (fd >= 0)
		close(fd);
	if (p == MAP_FAILED)
		return reply(-errno);
	if (addr && (uintptr_t)p != addr) {
		munmap(p, len);
		return reply(-EEXIST);
	}
	for (size_t i = 0; i < len / 4; i++)
		p[i] = (uint32_t)num(a[4]);
	printf("ok %#" PRIxPTR "\n", (uintptr_t)p);
}

static void cmd_check(char **a)
{
	const uint32_t *p = (const uint32_t *)(uintptr_t)num(a[1]);
	size_t n = num(a[2]) * PAGE / 4;
	uint32_t want = (uint32_t)num(a[3]);

	for (size_t i = 0; i < n; i++)
		if (p[i] != want) {
			printf("bad dword %zu is %#x, want %#x\n", i, p[i], want);
			return;
		}
	printf("ok\n");
}

static void cmd_read(char **a)
{
	char buf[512];
	ssize_t n;
	int fd = open(a[1], O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return reply(-errno);
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n < 0)
		return reply(-errno);
	buf[n] = '\0';
	buf[strcspn(buf, "\n")] = '\0';
	printf("ok %s\n", buf);
}

/* Run @fn in a forked child; its int results come back through a pipe. */
static int in_child(void (*fn)(char **a, int *res), char **a, int *res, int n)
{
	int fds[2], st;
	pid_t pid;

	if (pipe2(fds, O_CLOEXEC))
		return -errno;
	pid = fork();
	if (pid < 0)
		return -errno;
	if (pid == 0) {
		close(fds[0]);
		fn(a, res);
		if (write(fds[1], res, (size_t)n * sizeof(int)) < 0)
			_exit(1);
		_exit(0);
	}
	close(fds[1]);
	if (read(fds[0], res, (size_t)n * sizeof(int)) != (ssize_t)(n * sizeof(int)))
		n = -EIO;
	close(fds[0]);
	waitpid(pid, &st, 0);
	return n;
}

static void child_binds(char **a, int *res)
{
	uint32_t vm = (uint32_t)num(a[1]);
	uint64_t va = num(a[2]);
	const void *addr = (const void *)(uintptr_t)num(a[3]);
	uint64_t bytes = num(a[4]), fence;

	res[0] = ugpu_vm_bind_userptr(dev, vm, va, addr, bytes, 0);
	res[1] = ugpu_vm_bind_userptr(dev, vm, va, addr, bytes, UGPU_BIND_PROBE);
	res[2] = ugpu_vm_bind_userptr(dev, vm, va, addr, bytes, UGPU_BIND_READONLY);
	res[3] = ugpu_vm_bind_userptr(dev, vm, va + bytes, host, PAGE, 0);
	res[4] = store(vm, 0, va, 0xc41d, false, -1, -1, &fence);
}

static void cmd_fork_bind(char **a)
{
	int r[5], n = in_child(child_binds, a, r, 5);

	if (n < 0)
		return reply(n);
	printf("ok %d %d %d %d %d\n", r[0], r[1], r[2], r[3], r[4]);
}

static volatile sig_atomic_t go;

static void on_usr1(int sig) { go = 1; }

/* The child of fork_hold: outlives us holding our device, then tries it. */
static void hold_child(uint32_t vm, uint64_t va, uint64_t old_fence)
{
	uint64_t fence = 0;
	int ret;

	prctl(PR_SET_PDEATHSIG, 0);
	while (!go)
		pause();
	ret = store(vm, 0, va, 0xc41d, false, -1, -1, &fence);
	printf("child exec %d\n", ret);
	if (!ret)
		printf("child exec-wait %d\n", ugpu_wait(dev, fence, WAIT_NS));
	printf("child wait-old %d\n", old_fence ? ugpu_wait(dev, old_fence, WAIT_NS) : -EINVAL);
	printf("child bind %d\n", ugpu_vm_bind_userptr(dev, vm, va, host, PAGE, 0));
	printf("child done\n");
	fflush(stdout);
	_exit(0);
}

static void cmd_fork_hold(char **a)
{
	struct sigaction sa = { .sa_handler = on_usr1 };
	pid_t pid;

	sigaction(SIGUSR1, &sa, NULL);
	fflush(stdout);
	pid = fork();
	if (pid < 0)
		return reply(-errno);
	if (pid == 0)
		hold_child((uint32_t)num(a[1]), num(a[2]), last_fence);
	printf("ok %d\n", (int)pid);
}

static void cmd_store(char **a)
{
	bool hold = false;
	int sig = -1, wait = -1;
	uint64_t fence = 0;
	int ret;

	for (int i = 5; a[i]; i++) {
		if (!strcmp(a[i], "hold"))
			hold = true;
		else if (!strcmp(a[i], "sig") && a[i + 1])
			sig = (int)num(a[++i]);
		else if (!strcmp(a[i], "wait") && a[i + 1])
			wait = (int)num(a[++i]);
	}
	ret = store((uint32_t)num(a[1]), (uint32_t)num(a[2]), num(a[3]), (uint32_t)num(a[4]),
		    hold, sig, wait, &fence);
	reply_val(ret, fence);
}

static void cmd_so(char **a)
{
	if (!strcmp(a[0], "so_create")) {
		struct ugpu_syncobj_create c = { 0 };
		int ret = xioctl(UGPU_IOCTL_SYNCOBJ_CREATE, &c);

		return reply_val(ret, c.handle);
	}
	if (!strcmp(a[0], "so_destroy")) {
		struct ugpu_syncobj_destroy d = { .handle = (uint32_t)num(a[1]) };

		return reply(xioctl(UGPU_IOCTL_SYNCOBJ_DESTROY, &d));
	}
	{
		struct ugpu_syncobj_wait w = { .handle = (uint32_t)num(a[1]) };
		struct timespec t;

		clock_gettime(CLOCK_MONOTONIC, &t);
		w.timeout_abs_ns = t.tv_sec * 1000000000ll + t.tv_nsec +
				   (int64_t)num(a[2]) * 1000000ll;
		printf("ok %d\n", xioctl(UGPU_IOCTL_SYNCOBJ_WAIT, &w));
	}
}

static void cmd_host(char **a)
{
	host_pages = (unsigned int)num(a[1]);
	if (host_pages < 2)
		return reply(-EINVAL);
	host = ugpu_host_alloc(dev, (uint64_t)host_pages * PAGE);
	if (!host)
		return reply(-ENOMEM);
	memset(host, 0, (size_t)host_pages * PAGE);
	printf("ok %#" PRIxPTR "\n", (uintptr_t)host);
}

static void command(char **a)
{
	uint32_t id = 0;
	int ret;

	if (!strcmp(a[0], "open")) {
		reply(ugpu_open(path, &dev));
	} else if (!strcmp(a[0], "close")) {
		ugpu_close(dev);
		dev = NULL;
		reply(0);
	} else if (!strcmp(a[0], "pid")) {
		printf("ok %d\n", (int)getpid());
	} else if (!strcmp(a[0], "exit")) {
		fflush(stdout);
		_exit(0);
	} else if (!strcmp(a[0], "vm")) {
		ret = ugpu_vm_create(dev, 0, &id);
		reply_val(ret, id);
	} else if (!strcmp(a[0], "vm_destroy")) {
		reply(ugpu_vm_destroy(dev, (uint32_t)num(a[1])));
	} else if (!strcmp(a[0], "bo")) {
		ret = ugpu_bo_create(dev, num(a[1]), 0, &id);
		reply_val(ret, id);
	} else if (!strcmp(a[0], "bo_destroy")) {
		reply(ugpu_bo_destroy(dev, (uint32_t)num(a[1])));
	} else if (!strcmp(a[0], "bo_write")) {
		id = (uint32_t)num(a[3]);
		reply(ugpu_bo_pwrite(dev, (uint32_t)num(a[1]), num(a[2]), &id, 4));
	} else if (!strcmp(a[0], "bo_read")) {
		ret = ugpu_bo_pread(dev, (uint32_t)num(a[1]), num(a[2]), &id, 4);
		reply_val(ret, id);
	} else if (!strcmp(a[0], "host")) {
		cmd_host(a);
	} else if (!strcmp(a[0], "bind_host")) {
		host_va = num(a[2]);
		reply(ugpu_vm_bind_userptr(dev, (uint32_t)num(a[1]), host_va, host,
					   (uint64_t)host_pages * PAGE, 0));
	} else if (!strcmp(a[0], "map")) {
		cmd_map(a);
	} else if (!strcmp(a[0], "check")) {
		cmd_check(a);
	} else if (!strcmp(a[0], "peek")) {
		printf("ok %#x\n", *(volatile uint32_t *)(uintptr_t)num(a[1]));
	} else if (!strcmp(a[0], "bind_up")) {
		reply(ugpu_vm_bind_userptr(dev, (uint32_t)num(a[1]), num(a[2]),
					   (const void *)(uintptr_t)num(a[3]), num(a[4]),
					   (uint32_t)num(a[5])));
	} else if (!strcmp(a[0], "bind_bo")) {
		reply(ugpu_vm_bind_bo(dev, (uint32_t)num(a[1]), num(a[2]), (uint32_t)num(a[3]), 0,
				      num(a[4]), 0));
	} else if (!strcmp(a[0], "unbind")) {
		reply(ugpu_vm_unbind(dev, (uint32_t)num(a[1]), num(a[2]), num(a[3])));
	} else if (!strcmp(a[0], "store")) {
		cmd_store(a);
	} else if (!strcmp(a[0], "sem")) {
		__atomic_store_n(&host[0], (uint32_t)num(a[1]), __ATOMIC_SEQ_CST);
		reply(host ? 0 : -EINVAL);
	} else if (!strcmp(a[0], "wait")) {
		printf("ok %d\n", ugpu_wait(dev, num(a[1]), (int64_t)num(a[2]) * 1000000ll));
	} else if (!strncmp(a[0], "so_", 3)) {
		cmd_so(a);
	} else if (!strcmp(a[0], "read")) {
		cmd_read(a);
	} else if (!strcmp(a[0], "fork_bind")) {
		cmd_fork_bind(a);
	} else if (!strcmp(a[0], "fork_hold")) {
		cmd_fork_hold(a);
	} else {
		printf("err %d unknown command\n", -EINVAL);
	}
}

int main(int argc, char **argv)
{
	char line[1024];

	setvbuf(stdout, NULL, _IOLBF, 0);
	signal(SIGPIPE, SIG_IGN);
	if (argc != 2) {
		fprintf(stderr, "usage: stress_peer <device>\n");
		return 2;
	}
	path = argv[1];
	while (fgets(line, sizeof(line), stdin)) {
		char *a[16] = { 0 }, *save = NULL;
		int n = 0;

		for (char *t = strtok_r(line, " \t\n", &save); t && n < 15;
		     t = strtok_r(NULL, " \t\n", &save))
			a[n++] = t;
		if (n)
			command(a);
	}
	return 0;
}
