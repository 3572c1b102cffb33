/* SPDX-License-Identifier: MIT */
/*
 * mem_client: a stand-in client process whose memory tests reach from
 * outside (DMA port, sim jobs on its private memory). It obeys one
 * command per line on stdin and answers one line on stdout, "ok [value]"
 * or "err <errno>"; addresses and values are hex, lengths decimal.
 *
 *   map <len> [shared]        mmap anonymous memory    -> ok <addr>
 *   mapat <addr> <len>        same, at exactly <addr>   -> ok
 *   fill <addr> <len> <byte>  memset                    -> ok
 *   prot <addr> <len> none|r|rw                          -> ok
 *   unmap <addr> <len>                                   -> ok
 *   dontneed <addr> <len>     madvise(MADV_DONTNEED)     -> ok
 *   hash <addr> <len>         FNV-1a 64 of the bytes     -> ok <hash>
 *   peek <addr>               the dword there            -> ok <value>
 *   poke <addr> <value>       store a dword              -> ok
 *   pid                                                  -> ok <pid>
 *   exit                      exit(0), no answer
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

static uint64_t fnv1a(const uint8_t *p, size_t len)
{
	uint64_t h = 0xcbf29ce484222325ull;

	while (len--) {
		h ^= *p++;
		h *= 0x100000001b3ull;
	}
	return h;
}

static void reply(int ret)
{
	if (ret)
		printf("err %d\n", -ret);
	else
		printf("ok\n");
}

static int prot_of(const char *s)
{
	if (!strcmp(s, "none"))
		return PROT_NONE;
	if (!strcmp(s, "r"))
		return PROT_READ;
	return PROT_READ | PROT_WRITE;
}

static int run(char *line)
{
	char cmd[16] = "", arg[16] = "";
	uint64_t a = 0, b = 0, c = 0;
	void *p;
	int n;

	n = sscanf(line, "%15s %" SCNx64 " %" SCNu64 " %15s", cmd, &a, &b, arg);
	if (n < 1)
		return -EINVAL;
	if (!strcmp(cmd, "map")) {
		/* "map <len> [shared]": the length is the first number. */
		n = sscanf(line, "%15s %" SCNu64 " %15s", cmd, &b, arg);
		p = mmap(NULL, b, PROT_READ | PROT_WRITE,
			 (n == 3 && !strcmp(arg, "shared") ? MAP_SHARED : MAP_PRIVATE) |
			 MAP_ANONYMOUS, -1, 0);
		if (p == MAP_FAILED)
			return -errno;
		printf("ok %" PRIx64 "\n", (uint64_t)(uintptr_t)p);
		return 1;
	}
	if (!strcmp(cmd, "mapat")) {
		p = mmap((void *)(uintptr_t)a, b, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
		return p == MAP_FAILED ? -errno : 0;
	}
	if (!strcmp(cmd, "fill")) {
		c = strtoull(arg, NULL, 16);
		memset((void *)(uintptr_t)a, (int)c, b);
		return 0;
	}
	if (!strcmp(cmd, "prot"))
		return mprotect((void *)(uintptr_t)a, b, prot_of(arg)) ? -errno : 0;
	if (!strcmp(cmd, "unmap"))
		return munmap((void *)(uintptr_t)a, b) ? -errno : 0;
	if (!strcmp(cmd, "dontneed"))
		return madvise((void *)(uintptr_t)a, b, MADV_DONTNEED) ? -errno : 0;
	if (!strcmp(cmd, "hash")) {
		printf("ok %" PRIx64 "\n", fnv1a((const uint8_t *)(uintptr_t)a, b));
		return 1;
	}
	if (!strcmp(cmd, "peek")) {
		uint32_t v;

		memcpy(&v, (const void *)(uintptr_t)a, 4);	/* any alignment */
		printf("ok %x\n", v);
		return 1;
	}
	if (!strcmp(cmd, "poke")) {
		n = sscanf(line, "%15s %" SCNx64 " %" SCNx64, cmd, &a, &c);
		if (n != 3)
			return -EINVAL;
		uint32_t v = (uint32_t)c;

		memcpy((void *)(uintptr_t)a, &v, 4);
		return 0;
	}
	if (!strcmp(cmd, "pid")) {
		printf("ok %d\n", (int)getpid());
		return 1;
	}
	if (!strcmp(cmd, "exit"))
		exit(0);
	return -EINVAL;
}

int main(void)
{
	char line[256];

	setvbuf(stdout, NULL, _IOLBF, 0);
	while (fgets(line, sizeof(line), stdin)) {
		int ret = run(line);

		if (ret <= 0)
			reply(ret);
	}
	return 0;
}
