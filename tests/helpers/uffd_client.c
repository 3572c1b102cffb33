// SPDX-License-Identifier: MIT
/*
 * uffd_client: a stand-in for a ugpu client process that tests drive one
 * line at a time on stdin; it answers each command with one line on
 * stdout, "ok [value...]" or "err <errno>" (addresses as 0x-hex). It does
 * what libugpu does at open (create a userfaultfd with
 * UFFD_USER_MODE_ONLY and no UFFDIO_API, report its number, close it once
 * the daemon pulled it) and every address-space change the watcher must
 * see. It never calls malloc, so brk belongs to the test.
 *
 *   pid                          ok <pid>
 *   uffd                         ok <fd>
 *   close FD                     ok
 *   mmap KIND LEN [ADDR]         ok <addr>  KIND anon | shanon | memfd |
 *                                           file:PATH; ADDR: MAP_FIXED there
 *   munmap ADDR LEN              ok
 *   madvise ADDR LEN ADVICE      ok         dontneed | free | remove | cold
 *   mremap ADDR OLD NEW [TO]     ok <addr>  in place, or MAYMOVE|FIXED to TO
 *   brk                          ok <current break>
 *   sbrk DELTA                   ok <previous break>
 *   touch ADDR LEN               ok         write one byte in every page
 *   fill ADDR LEN BYTE           ok
 *   peek ADDR                    ok <byte>
 *   uffd2 ADDR LEN               ok <fd>    own second uffd, range registered
 *   sleep MS                     ok
 *   exit [CODE]                  (exits, no reply)
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/userfaultfd.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#define MAX_ARGS 6

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

static void reply_err(int err)
{
	reply("err %d", err);
}

/* Next line from stdin into @line (NUL-terminated), or exit at EOF. */
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

static int64_t snum(const char *s)
{
	return strtoll(s, NULL, 0);
}

static void do_mmap(char **a, int n)
{
	uint64_t len = num(a[2]);
	int flags, fd = -1;
	void *p, *at = NULL;

	if (n > 3)
		at = (void *)(uintptr_t)num(a[3]);
	if (!strcmp(a[1], "anon")) {
		flags = MAP_PRIVATE | MAP_ANONYMOUS;
	} else if (!strcmp(a[1], "shanon")) {
		flags = MAP_SHARED | MAP_ANONYMOUS;
	} else if (!strcmp(a[1], "memfd")) {
		flags = MAP_SHARED;
		fd = memfd_create("uffd_client", MFD_CLOEXEC);
	} else if (!strncmp(a[1], "file:", 5)) {
		flags = MAP_SHARED;
		fd = open(a[1] + 5, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	} else {
		reply_err(EINVAL);
		return;
	}
	if (flags & MAP_SHARED && !(flags & MAP_ANONYMOUS)) {
		if (fd < 0 || ftruncate(fd, (off_t)len)) {
			reply_err(errno);
			if (fd >= 0)
				close(fd);
			return;
		}
	}
	if (at)
		flags |= MAP_FIXED;
	p = mmap(at, len, PROT_READ | PROT_WRITE, flags, fd, 0);
	if (fd >= 0)
		close(fd);
	if (p == MAP_FAILED)
		reply_err(errno);
	else
		reply("ok %p", p);
}

static void do_madvise(char **a)
{
	static const struct { const char *name; int advice; } advs[] = {
		{ "dontneed", MADV_DONTNEED }, { "free", MADV_FREE },
		{ "remove", MADV_REMOVE }, { "cold", MADV_COLD },
		{ "pageout", MADV_PAGEOUT },
	};
	size_t i;

	for (i = 0; i < sizeof(advs) / sizeof(advs[0]); i++) {
		if (strcmp(a[3], advs[i].name))
			continue;
		if (madvise((void *)(uintptr_t)num(a[1]), num(a[2]), advs[i].advice))
			reply_err(errno);
		else
			reply("ok");
		return;
	}
	reply_err(EINVAL);
}

static void do_mremap(char **a, int n)
{
	void *old = (void *)(uintptr_t)num(a[1]), *p;

	if (n > 4)
		p = mremap(old, num(a[2]), num(a[3]), MREMAP_MAYMOVE | MREMAP_FIXED,
			   (void *)(uintptr_t)num(a[4]));
	else
		p = mremap(old, num(a[2]), num(a[3]), 0);
	if (p == MAP_FAILED)
		reply_err(errno);
	else
		reply("ok %p", p);
}

static void do_touch(char **a, uint8_t value, uint64_t step)
{
	volatile uint8_t *p = (volatile uint8_t *)(uintptr_t)num(a[1]);
	uint64_t len = num(a[2]), off;

	for (off = 0; off < len; off += step)
		p[off] = value;
	reply("ok");
}

static void do_uffd2(char **a)
{
	struct uffdio_api api = { .api = UFFD_API };
	struct uffdio_register reg = {
		.range = { .start = num(a[1]), .len = num(a[2]) },
		.mode = UFFDIO_REGISTER_MODE_WP,
	};
	long fd;

	fd = syscall(SYS_userfaultfd, UFFD_USER_MODE_ONLY | O_CLOEXEC | O_NONBLOCK);
	if (fd < 0) {
		reply_err(errno);
		return;
	}
	if (ioctl((int)fd, UFFDIO_API, &api) || ioctl((int)fd, UFFDIO_REGISTER, &reg)) {
		reply_err(errno);
		close((int)fd);
		return;
	}
	reply("ok %ld", fd);
}

static void run(char **a, int n)
{
	const char *c = a[0];

	if (!strcmp(c, "pid")) {
		reply("ok %d", (int)getpid());
	} else if (!strcmp(c, "uffd")) {
		long fd = syscall(SYS_userfaultfd,
				  UFFD_USER_MODE_ONLY | O_CLOEXEC | O_NONBLOCK);

		if (fd < 0)
			reply_err(errno);
		else
			reply("ok %ld", fd);
	} else if (!strcmp(c, "close") && n == 2) {
		if (close((int)snum(a[1])))
			reply_err(errno);
		else
			reply("ok");
	} else if (!strcmp(c, "mmap") && n >= 3) {
		do_mmap(a, n);
	} else if (!strcmp(c, "munmap") && n == 3) {
		if (munmap((void *)(uintptr_t)num(a[1]), num(a[2])))
			reply_err(errno);
		else
			reply("ok");
	} else if (!strcmp(c, "madvise") && n == 4) {
		do_madvise(a);
	} else if (!strcmp(c, "mremap") && n >= 4) {
		do_mremap(a, n);
	} else if (!strcmp(c, "brk")) {
		reply("ok %p", sbrk(0));
	} else if (!strcmp(c, "sbrk") && n == 2) {
		void *p = sbrk((intptr_t)snum(a[1]));

		if (p == (void *)-1)
			reply_err(errno);
		else
			reply("ok %p", p);
	} else if (!strcmp(c, "touch") && n == 3) {
		do_touch(a, 0x5a, (uint64_t)sysconf(_SC_PAGESIZE));
	} else if (!strcmp(c, "fill") && n == 4) {
		do_touch(a, (uint8_t)num(a[3]), 1);
	} else if (!strcmp(c, "peek") && n == 2) {
		reply("ok %u", *(volatile uint8_t *)(uintptr_t)num(a[1]));
	} else if (!strcmp(c, "uffd2") && n == 3) {
		do_uffd2(a);
	} else if (!strcmp(c, "sleep") && n == 2) {
		struct timespec ts = {
			.tv_sec = (time_t)(num(a[1]) / 1000),
			.tv_nsec = (long)(num(a[1]) % 1000) * 1000000,
		};

		nanosleep(&ts, NULL);
		reply("ok");
	} else if (!strcmp(c, "exit")) {
		_exit(n > 1 ? (int)snum(a[1]) : 0);
	} else {
		reply_err(EINVAL);
	}
}

int main(void)
{
	char line[1024];

	for (;;) {
		char *a[MAX_ARGS], *save = NULL, *tok;
		int n = 0;

		next_line(line, sizeof(line));
		for (tok = strtok_r(line, " \t", &save); tok && n < MAX_ARGS;
		     tok = strtok_r(NULL, " \t", &save))
			a[n++] = tok;
		if (n)
			run(a, n);
	}
}
