// SPDX-License-Identifier: MIT
/*
 * stress_window: the deterministic core of the race storm's
 * old-memory-write check (tests/stress/race_stress.c runs it; see
 * RELIABILITY.md). Usage: `stress_window <device> <rounds>
 * sealed|unsealed`. A sealed memfd is memory the daemon maps itself (zero
 * copy, no DMA port in the VM); an unsealed one is reached through the
 * DMA port by address. Prints `ok`/`not ok` and `# figure` lines, exits 1
 * if a device write landed after munmap returned.
 */
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "libclient/ugpu.h"

#ifndef MAP_FIXED_NOREPLACE
#define MAP_FIXED_NOREPLACE 0x100000
#endif

#define PAGE		4096u
#define DW		(PAGE / 4)
#define VA_HOST		0x100000ull
#define VA_RANGE	0x10000000ull
#define POISON_BIT	0xc0000000u
#define WAIT_NS		(60ll * 1000000000ll)

static uint32_t rnd(uint32_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 17;
	*s ^= *s << 5;
	return *s;
}

static void fill32(void *p, uint32_t v, size_t bytes)
{
	uint32_t *d = p;

	for (size_t i = 0; i < bytes / 4; i++)
		d[i] = v;
}

#define HW_BYTES	(1u << 20)	/* one device chunk */
#define HW_FILLS	512u

/*
 * A VM whose only client memory is a memfd (sealed: the daemon maps it
 * itself; unsealed: the DMA port reaches it by address). A job fills the
 * bound 1 MiB again and again; once it runs, the client munmaps the range
 * and, as soon as munmap returns, poisons the same file pages through a
 * second mapping, from the end backwards (a device copy in progress runs
 * forwards, so the two meet). Whatever the job did after munmap returned
 * shows as its tag in the file: there must be none.
 */
static int host_window(const char *dev, unsigned int rounds, bool sealed)
{
	struct ugpu *d;
	struct ugpu_cmdbuf cb;
	uint32_t vm, *host, *view, *range, tag = 0x100, seed = 0x2545f491;
	unsigned int late = 0, faulted = 0, done = 0, first_bad = 0;
	int fd, ret, nfail = 0;

	ret = ugpu_open(dev, &d);
	if (!ret)
		ret = ugpu_vm_create(d, 0, &vm);
	host = ret ? NULL : ugpu_host_alloc(d, 8 * PAGE);
	fd = memfd_create("host-window", MFD_CLOEXEC | MFD_ALLOW_SEALING);
	if (ret || !host || fd < 0 || ftruncate(fd, HW_BYTES) ||
	    (sealed && fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW))) {
		printf("not ok host-window setup: %d %s\n", ret, strerror(errno));
		return 1;
	}
	view = mmap(NULL, HW_BYTES, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	range = mmap(NULL, HW_BYTES, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	memset(host, 0, 8 * PAGE);
	if (view == MAP_FAILED || range == MAP_FAILED ||
	    ugpu_vm_bind_userptr(d, vm, VA_HOST, host, 8 * PAGE, 0) ||
	    ugpu_vm_bind_userptr(d, vm, VA_RANGE, range, HW_BYTES, 0)) {
		printf("not ok host-window bind\n");
		return 1;
	}
	for (unsigned int r = 0; r < rounds; r++) {
		volatile uint32_t *started = host;	/* page 0; the batch: pages 1-7 */
		uint64_t fence;
		int st;

		tag++;
		*started = 0;
		ugpu_cmd_init(&cb, host + DW, 7 * PAGE);
		ugpu_cmd_store_dword(&cb, VA_HOST, tag);
		for (unsigned int k = 0; k < HW_FILLS; k++)
			ugpu_cmd_fill(&cb, VA_RANGE, HW_BYTES, tag);
		ret = ugpu_cmd_end(&cb);
		if (!ret)
			ret = ugpu_exec(d, vm, 0, VA_HOST + PAGE, cb.len * 4, &fence);
		if (ret) {
			printf("not ok host-window exec: %d\n", ret);
			return 1;
		}
		while (*started != tag)
			sched_yield();
		for (uint32_t k = rnd(&seed) % 16; k; k--)
			sched_yield();
		if (munmap(range, HW_BYTES))
			return 1;
		for (int64_t off = HW_BYTES - PAGE; off >= 0; off -= PAGE)
			fill32((uint8_t *)view + off, POISON_BIT | r, PAGE);
		st = ugpu_wait(d, fence, WAIT_NS);
		if (st == -EFAULT)
			faulted++;
		else if (st == 0)
			done++;
		else if (!nfail++)
			printf("# host-window round %u: job ended %d (%s)\n", r, st, strerror(-st));
		for (uint32_t i = 0; i < HW_BYTES / 4; i++)
			if (view[i] != (POISON_BIT | r)) {
				if (!late++)
					first_bad = i;
				printf("# host-window round %u: dword %u is %#x (job tag %#x) after "
				       "munmap returned and the page was poisoned\n", r, i, view[i],
				       tag);
				break;
			}
		if (mmap(range, HW_BYTES, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_FIXED_NOREPLACE,
			 fd, 0) != range)
			return 1;
	}
	printf("# figure host_window_rounds %u\n# figure host_window_job_faulted %u\n"
	       "# figure host_window_job_completed %u\n# figure host_window_late_rounds %u\n",
	       rounds, faulted, done, late);
	printf("%s host-window (%s memfd): no device write lands in the file after munmap "
	       "returned", late ? "not ok" : "ok", sealed ? "sealed" : "unsealed");
	if (late)
		printf(": %u of %u rounds, first at dword %u", late, rounds, first_bad);
	printf("\n");
	if (nfail)
		printf("not ok host-window: %d jobs ended other than 0/-EFAULT\n", nfail);
	ugpu_close(d);
	return late || nfail ? 1 : 0;
}

int main(int argc, char **argv)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	signal(SIGPIPE, SIG_IGN);
	if (argc != 4) {
		fprintf(stderr, "usage: stress_window <device> <rounds> sealed|unsealed\n");
		return 2;
	}
	return host_window(argv[1], (unsigned int)strtoul(argv[2], NULL, 0),
			   !strcmp(argv[3], "sealed"));
}
