// SPDX-License-Identifier: MIT
/*
 * What the gpu, lifecycle and memsafety client programs share
 * (client_common.h): reporting each check as a line, the clock and
 * bounded waits, a client with a VM, a control page and batch slots, and
 * main().
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "tests/helpers/lib/client_common.h"

int cc_nfail;
const char *cc_arg;

/* ---- reporting -------------------------------------------------------- */

bool cc_expect(bool good, const char *check, const char *fmt, ...)
{
	va_list ap;

	if (good) {
		printf("ok %s\n", check);
		return true;
	}
	cc_nfail++;
	printf("not ok %s: ", check);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	return false;
}

const char *cc_ename(int ret)
{
	return ret ? strerror(ret < 0 ? -ret : ret) : "success";
}

bool cc_expect_ret(int got, int want, const char *check)
{
	return cc_expect(got == want, check, "got %d (%s), want %d (%s)", got, cc_ename(got),
			 want, cc_ename(want));
}

bool cc_expect_quota(int got, const char *check)
{
	return cc_expect(got == -EDQUOT || got == -ENOSPC, check,
			 "got %d (%s), want -EDQUOT or -ENOSPC", got, cc_ename(got));
}

void cc_note(const char *fmt, ...)
{
	va_list ap;

	printf("# ");
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
}

/* ---- the clock, bounded waits, memory ---------------------------------- */

long long cc_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000ll + ts.tv_nsec / 1000000;
}

int64_t cc_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * SEC + ts.tv_nsec;
}

void cc_nap(void)
{
	struct timespec d = { 0, 1000000 };

	nanosleep(&d, NULL);
}

bool cc_poll_u32(volatile uint32_t *p, uint32_t want)
{
	long long end = cc_now_ms() + POLL_MS;

	while (__atomic_load_n(p, __ATOMIC_ACQUIRE) != want) {
		if (cc_now_ms() > end)
			return false;
		cc_nap();
	}
	return true;
}

/* /proc/self/task/<tid>/syscall: the call's number, then its arguments. */
bool cc_in_ioctl(pid_t tid, int fd)
{
	char path[64], buf[256];
	long nr = -1;
	unsigned long long a0 = ~0ull;
	ssize_t n;
	int f, got;

	snprintf(path, sizeof(path), "/proc/self/task/%d/syscall", (int)tid);
	f = open(path, O_RDONLY | O_CLOEXEC);
	if (f < 0)
		return false;
	n = read(f, buf, sizeof(buf) - 1);
	close(f);
	if (n <= 0)
		return false;
	buf[n] = '\0';
	got = sscanf(buf, "%ld %llx", &nr, &a0);
	if (got < 1 || nr != SYS_ioctl)
		return false;
	return fd < 0 || (got == 2 && a0 == (unsigned long long)fd);
}

void *cc_map_anon(size_t len)
{
	void *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	return p == MAP_FAILED ? NULL : p;
}

bool cc_all_u32(const void *mem, size_t bytes, uint32_t v, size_t *bad)
{
	const uint32_t *p = mem;

	for (size_t i = 0; i < bytes / 4; i++) {
		if (p[i] != v) {
			if (bad)
				*bad = i;
			return false;
		}
	}
	return true;
}

bool cc_expect_all(const void *mem, size_t bytes, uint32_t v, const char *check)
{
	size_t bad = 0;
	bool good = cc_all_u32(mem, bytes, v, &bad);

	return cc_expect(good, check, "dword %zu is %#x, want %#x", bad,
			 good ? v : ((const uint32_t *)mem)[bad], v);
}

/* ---- a client with a VM, a control page and batch slots ---------------- */

int cc_ctx_open(struct cc_ctx *c, const char *path, uint32_t vm_flags)
{
	struct ugpu_info info;
	int ret;

	memset(c, 0, sizeof(*c));
	ret = ugpu_open(path, &c->dev);
	if (ret)
		return ret;
	ret = ugpu_query(c->dev, &info);
	if (ret)
		goto err;
	c->engines = info.num_engines;
	c->features = info.features;
	ret = ugpu_vm_create(c->dev, vm_flags, &c->vm);
	if (ret)
		goto err;
	c->host = ugpu_host_alloc(c->dev, HOST_BYTES);
	if (!c->host) {
		ret = -ENOMEM;
		goto err;
	}
	memset(c->host, 0, HOST_BYTES);
	c->ctl = (volatile uint32_t *)c->host;
	ret = ugpu_vm_bind_userptr(c->dev, c->vm, VA_HOST, c->host, HOST_BYTES, 0);
	if (ret)
		goto err_host;
	return 0;

err_host:
	ugpu_host_free(c->dev, c->host, HOST_BYTES);
	c->host = NULL;
err:
	ugpu_close(c->dev);
	c->dev = NULL;
	return ret;
}

bool cc_ctx_open_ok(struct cc_ctx *c, const char *path, uint32_t vm_flags, const char *who)
{
	char check[96];

	snprintf(check, sizeof(check), "%s%sopen, VM, host memory bound", who ? who : "",
		 who ? ": " : "");
	return cc_expect_ret(cc_ctx_open(c, path, vm_flags), 0, check);
}

void cc_ctx_close(struct cc_ctx *c)
{
	if (!c->dev)
		return;
	ugpu_close(c->dev);
	ugpu_host_free(NULL, c->host, HOST_BYTES);
	c->dev = NULL;
}

void cc_batch(struct cc_ctx *c, unsigned int slot, struct ugpu_cmdbuf *cb)
{
	ugpu_cmd_init(cb, c->host + PAGE + (size_t)slot * SLOT_BYTES, SLOT_BYTES);
}

void cc_batch_gated(struct cc_ctx *c, unsigned int slot, struct ugpu_cmdbuf *cb,
		    unsigned int started_idx)
{
	cc_batch(c, slot, cb);
	ugpu_cmd_store_dword(cb, VA_CTL + started_idx * 4, 1);
	ugpu_cmd_semaphore_wait(cb, VA_CTL + CTL_SEM * 4, UGPU_SEM_GTE, 1);
}

void cc_ctl_set(struct cc_ctx *c, unsigned int idx, uint32_t v)
{
	__atomic_store_n(&c->ctl[idx], v, __ATOMIC_RELEASE);
}

int cc_submit(struct cc_ctx *c, unsigned int slot, struct ugpu_cmdbuf *cb, uint32_t engine,
	      uint64_t *fence)
{
	int ret = ugpu_cmd_end(cb);

	if (ret)
		return ret;
	__atomic_thread_fence(__ATOMIC_RELEASE);
	return ugpu_exec(c->dev, c->vm, engine, VA_SLOT(slot), cb->len * 4, fence);
}

int cc_run_store(struct cc_ctx *c, unsigned int slot, uint64_t va, uint32_t value)
{
	struct ugpu_cmdbuf cb;
	uint64_t fence;
	int ret;

	cc_batch(c, slot, &cb);
	ugpu_cmd_store_dword(&cb, va, value);
	ret = cc_submit(c, slot, &cb, 0, &fence);
	return ret ? ret : ugpu_wait(c->dev, fence, WAIT_NS);
}

/* ---- main ------------------------------------------------------------- */

int cc_main(int argc, char **argv, const struct cc_scenario *table, size_t n)
{
	const char *me = program_invocation_short_name;

	setvbuf(stdout, NULL, _IOLBF, 0);
	if (argc < 3 || argc > 4) {
		fprintf(stderr, "usage: %s <scenario> <device> [arg]\n", me);
		return 2;
	}
	cc_arg = argc > 3 ? argv[3] : NULL;
	for (size_t i = 0; i < n; i++) {
		if (strcmp(argv[1], table[i].name))
			continue;
		table[i].fn(argv[2]);
		fflush(stdout);
		return cc_nfail ? 1 : 0;
	}
	fprintf(stderr, "%s: unknown scenario '%s'\n", me, argv[1]);
	return 2;
}
