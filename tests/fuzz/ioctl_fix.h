/* SPDX-License-Identifier: MIT */
/*
 * The client side of the ioctl harness (tests/fuzz/ioctl_fuzz.c), in
 * ioctl_fix.c: the client memory the daemon reaches (regions of a
 * reservation, a sealed memfd, an unmapped hole), the handles the daemon
 * handed out, and the fixups that make an ioctl struct from the input
 * plausible (FIX_* bits) and always safe: the pointers through which the
 * daemon writes, or registers userfaultfd ranges, never leave the
 * harness's client memory, since the client is the fuzzer's own process.
 */
#ifndef UGPU_TESTS_FUZZ_IOCTL_FIX_H
#define UGPU_TESTS_FUZZ_IOCTL_FIX_H

#include <stdbool.h>
#include <stdint.h>

#include "fuzz.h"

#define PAGE		4096ull

/* What the fix byte of an ioctl op asks for. */
#define FIX_CLEAN	(1u << 0)	/* zero extensions, pads, reserved, out fields */
#define FIX_HANDLE	(1u << 1)	/* handles and ids from earlier replies */
#define FIX_PTR		(1u << 2)	/* pointers into client memory, arrays filled */
#define FIX_TIME	(1u << 3)	/* timeouts near now */
#define FIX_SHAPE	(1u << 4)	/* sizes, counts, VAs small and aligned */
#define FIX_CUSE	(1u << 5)	/* unrestricted ioctl: the CUSE retry round first */
#define FIX_PREINT	(1u << 6)	/* the caller is interrupted before it parks */
#define FIX_FOREIGN	(1u << 7)	/* the caller is another process */

/*
 * Client memory, low to high in one reservation, a PROT_NONE guard page
 * between every two regions so that no two merge into one VMA: private
 * 256K, guard (R_GUARD), shared 256K (the memfd's first half), guard,
 * read-only 64K, guard, scratch 64K (the harness's own: bind and sync
 * arrays), guard. R_HOLE is low memory nothing maps.
 */
enum { R_PRIV, R_SHARED, R_RO, R_SCRATCH, R_GUARD, R_HOLE, NREGIONS };
#define M(r)		(1u << (r))
/* Where userptrs and BO_PREAD may point (never scratch). */
#define USERPTR_REGIONS	(M(R_PRIV) | M(R_SHARED) | M(R_RO) | M(R_GUARD) | M(R_HOLE))

struct region {
	uint64_t base, size;
};

extern struct region fx_reg[NREGIONS];
extern int fx_memfd;			/* sealed F_SEAL_SHRINK, MEMFD_SIZE bytes */
#define MEMFD_SIZE	(512 * 1024ull)

/* UGPU_FUZZ_AVOID switches (see ioctl_fix.c), read by fx_init(). */
extern bool fx_avoid_gate_uaf;

/**
 * fx_init - map the client memory, read UGPU_FUZZ_AVOID; once
 */
void fx_init(void);

/**
 * fx_reset - zero the client memory and forget the handles (each input)
 */
void fx_reset(void);

/**
 * fx_region_of - the region of @mask holding @addr (or the guard page
 * after it), or -1
 */
int fx_region_of(uint64_t addr, unsigned int mask);

/**
 * fx_record_reply - remember the handle or fence a successful @cmd
 * answered with in @buf, for FIX_HANDLE
 */
void fx_record_reply(unsigned int cmd, const void *buf);

/**
 * fx_fix_struct - make the struct of @cmd at @data plausible per @fix,
 * then safe (fx_confine_struct)
 * @in: the input, for arrays the struct points to (FIX_PTR)
 *
 * Return: a userfaultfd the caller closes after the ioctl, or -1.
 */
int fx_fix_struct(unsigned int cmd, void *data, struct fuzz_in *in, uint8_t fix);

/**
 * fx_confine_struct - what every struct reaching the core gets, whatever
 * the input: userptr ranges and BO_PREAD destinations in client memory,
 * bind arrays in scratch (and their userptrs confined in place)
 */
void fx_confine_struct(unsigned int cmd, void *data);

#endif
