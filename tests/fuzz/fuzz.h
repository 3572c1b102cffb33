/* SPDX-License-Identifier: MIT */
/*
 * What the libFuzzer harnesses of tests/fuzz share: the table of ioctls, a reader that turns
 * the fuzzer's bytes into numbers (reading past the end gives zeroes, so
 * every input is a valid program, and a short input just ends early) and
 * FUZZ_REQUIRE, the invariant check that turns a broken invariant into a
 * crash libFuzzer records (the message says which invariant, the stack
 * where). Harnesses are built by scripts/check-fuzz.sh only.
 */
#ifndef UGPU_TESTS_FUZZ_FUZZ_H
#define UGPU_TESTS_FUZZ_FUZZ_H

#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/ioctl.h>

#include "uapi/ugpu.h"

struct fuzz_in {
	const uint8_t *p;
	size_t n;
};

static inline size_t fuzz_left(const struct fuzz_in *in)
{
	return in->n;
}

/* Copy up to @len bytes into @buf, zero-filling what the input lacks. */
static inline void fuzz_bytes(struct fuzz_in *in, void *buf, size_t len)
{
	size_t k = len < in->n ? len : in->n;

	memcpy(buf, in->p, k);
	memset((uint8_t *)buf + k, 0, len - k);
	in->p += k;
	in->n -= k;
}

static inline uint8_t fuzz_u8(struct fuzz_in *in)
{
	uint8_t v;

	fuzz_bytes(in, &v, 1);
	return v;
}

static inline uint16_t fuzz_u16(struct fuzz_in *in)
{
	uint16_t v;

	fuzz_bytes(in, &v, 2);
	return v;
}

static inline uint32_t fuzz_u32(struct fuzz_in *in)
{
	uint32_t v;

	fuzz_bytes(in, &v, 4);
	return v;
}

static inline uint64_t fuzz_u64(struct fuzz_in *in)
{
	uint64_t v;

	fuzz_bytes(in, &v, 8);
	return v;
}

/*
 * Every ioctl of uapi/ugpu.h, by number (a new ioctl goes here too, so
 * the harnesses send it and their model of the command checks knows it).
 */
static const unsigned int fuzz_abi[] = {
	UGPU_IOCTL_QUERY, UGPU_IOCTL_CLIENT_INIT, UGPU_IOCTL_VM_CREATE,
	UGPU_IOCTL_VM_DESTROY, UGPU_IOCTL_BO_CREATE, UGPU_IOCTL_BO_IMPORT,
	UGPU_IOCTL_BO_DESTROY, UGPU_IOCTL_BO_PREAD, UGPU_IOCTL_BO_PWRITE,
	UGPU_IOCTL_VM_BIND, UGPU_IOCTL_EXEC, UGPU_IOCTL_WAIT,
	UGPU_IOCTL_SYNCOBJ_CREATE, UGPU_IOCTL_SYNCOBJ_DESTROY,
	UGPU_IOCTL_SYNCOBJ_WAIT, UGPU_IOCTL_STATS, UGPU_IOCTL_COMPLETION_PAGE,
};

#define FUZZ_NABI	(sizeof(fuzz_abi) / sizeof(fuzz_abi[0]))

/*
 * What the transports must answer for @cmd with these FUSE ioctl @flags
 * and buffer sizes, from the ABI alone: -ENOTTY (not ours, or no such
 * number), -EINVAL (another size or direction; or an amount of data that
 * is neither the struct nor an empty unrestricted first round), 1 (ask
 * the kernel for a retry with the struct), or 0 (to the core).
 */
static inline int fuzz_expected_check(unsigned int cmd, unsigned int flags,
				      size_t in_size, size_t out_size)
{
	unsigned int nr = _IOC_NR(cmd), size = _IOC_SIZE(cmd);

	if (_IOC_TYPE(cmd) != UGPU_IOCTL_BASE || nr >= FUZZ_NABI)
		return -ENOTTY;
	if (cmd != fuzz_abi[nr])
		return -EINVAL;
	if (in_size == ((_IOC_DIR(cmd) & _IOC_WRITE) ? size : 0) &&
	    out_size == ((_IOC_DIR(cmd) & _IOC_READ) ? size : 0))
		return 0;
	if (!(flags & 2 /* FUSE_IOCTL_UNRESTRICTED */) || in_size || out_size)
		return -EINVAL;
	return 1;
}

/* The direction bits of an ioctl number (the uapi macro shifts an int). */
#define DIRBITS		((unsigned int)_IOC_DIRMASK << _IOC_DIRSHIFT)

/* A broken invariant: say which, then crash so libFuzzer keeps the input. */
#define FUZZ_REQUIRE(cond, ...)						\
	do {								\
		if (!(cond)) {						\
			fprintf(stderr, "%s:%d: invariant broken: %s: ",	\
				__FILE__, __LINE__, #cond);		\
			fprintf(stderr, __VA_ARGS__);			\
			fputc('\n', stderr);				\
			abort();					\
		}							\
	} while (0)

#endif
