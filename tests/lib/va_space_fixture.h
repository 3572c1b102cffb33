/* SPDX-License-Identifier: MIT */
/*
 * The fixture the va_space suites share (va_space_test.c,
 * va_space_split_test.c): a 2^20-byte space over an allocator that can be
 * told to fail and counts what is live, four distinct objects to map,
 * and checks that the space holds exactly the expected mappings, given
 * in pages and half-open like the DOC of daemon/gpu/va_space.c.
 */
#ifndef UGPU_TESTS_VA_SPACE_FIXTURE_H
#define UGPU_TESTS_VA_SPACE_FIXTURE_H

#include <stddef.h>
#include <stdint.h>

#include "gpu/va_space.h"

#define PG		VA_PAGE_SIZE
#define P(n)		((uint64_t)(n) * PG)
#define N(a)		(sizeof(a) / sizeof((a)[0]))

/* The objects mappings point at: only their addresses matter. */
#define A	((void *)&VS.objs[0])
#define B	((void *)&VS.objs[1])
#define C	((void *)&VS.objs[2])
#define D	((void *)&VS.objs[3])

struct va_fixture {
	struct va_space sp;	/* set up by vs_setup() */
	long alloc_budget;	/* allocations left before failing; -1: no limit */
	long live_allocs;	/* allocations not yet freed */
	char objs[4];
};

extern struct va_fixture VS;

/* An expected mapping: [s, e) in pages (e == 0: no mapping), obj, off. */
struct xmap {
	uint64_t s, e;
	void *obj;
	uint64_t off;		/* pages */
};

/**
 * vs_zalloc - the fixture's allocator: fails when the budget is spent
 * @size: bytes, zeroed
 * @arg:  unused
 *
 * Return: the memory, or NULL once VS.alloc_budget reached 0.
 */
void *vs_zalloc(size_t size, void *arg);

/**
 * vs_setup - checked fixture: VS.sp empty (20 VA bits), no budget, no allocation
 */
void vs_setup(void);

/**
 * vs_teardown - checked fixture: finish VS.sp and assert nothing leaked
 */
void vs_teardown(void);

/**
 * vs_check_map - assert mapping @m is @x
 * @m:    the mapping, or NULL
 * @x:    what it must be (x->e == 0: that there is none)
 * @what: names the mapping in the failure message
 */
void vs_check_map(const struct va_mapping *m, const struct xmap *x, const char *what);

/**
 * vs_check_space - assert @s holds exactly the @n mappings @x, in address order
 * @s: the space
 * @x: the mappings
 * @n: how many
 *
 * Also checks va_space_count() and mapped_bytes against them.
 */
void vs_check_space(const struct va_space *s, const struct xmap *x, size_t n);

/**
 * vs_map_now - map [@s, @e) pages of VS.sp to @obj at page offset @off
 * @s:   first page
 * @e:   page after the last
 * @obj: the object
 * @off: offset in pages
 *
 * Plans, commits and finishes the plan; asserts that planning worked.
 */
void vs_map_now(uint64_t s, uint64_t e, void *obj, uint64_t off);

#endif
