/* SPDX-License-Identifier: MIT */
/*
 * GPU virtual address space of one VM, with drm_gpuvm semantics: page
 * granular mappings [va, va + size) -> (object, offset, flags) that never
 * overlap, where MAP over mapped addresses splits and replaces what was
 * there and UNMAP splits what it partly covers. Changes are two-phase:
 * va_plan_map()/va_plan_unmap() compute the steps (UNMAP, REMAP, MAP)
 * and make every allocation, va_plan_commit() applies them and cannot
 * fail, va_plan_abort() drops them. The split/merge rules, diagrams and
 * the locking are in the DOC sections of va_space.c.
 */
#ifndef UGPU_GPU_VA_SPACE_H
#define UGPU_GPU_VA_SPACE_H

#include <stddef.h>
#include <stdint.h>

#include "core/interval_tree.h"

#define VA_PAGE_SHIFT	12
#define VA_PAGE_SIZE	(UINT64_C(1) << VA_PAGE_SHIFT)
#define VA_BITS_MIN	VA_PAGE_SHIFT	/* a one-page space */
#define VA_BITS_MAX	63		/* keeps va_limit and mapped_bytes in 64 bits */

/*
 * One mapping. The engine owns the struct (allocated through the space's
 * ops) and never dereferences @obj; @priv is the driver's.
 */
struct va_mapping {
	struct itree_node node;		/* [va, va + size - 1] in space->tree */
	void *obj;			/* BO or userptr; may be NULL (sparse) */
	uint64_t offset;		/* byte offset of node.start into obj */
	uint32_t flags;			/* driver's, copied to split pieces */
	void *priv;			/* driver's, copied to split pieces */
};

/*
 * Every allocation the engine makes goes through these, so the daemon can
 * charge a client's quota and tests can inject failures. Both NULL: libc.
 */
struct va_space_ops {
	void *(*zalloc)(size_t size, void *arg);	/* zeroed, or NULL */
	void (*free)(void *p, void *arg);
};

/* All fields are read-only outside va_space.c; protected by the VM lock. */
struct va_space {
	struct itree tree;		/* the mappings; tree.count of them */
	uint64_t va_limit;		/* 2^va_bits: first address past the space */
	uint64_t mapped_bytes;		/* sum of mapping sizes */
	uint64_t seq;			/* +1 per commit; plans are taken at one seq */
	const struct va_space_ops *ops;
	void *ops_arg;
};

enum va_step_kind {
	VA_STEP_MAP,		/* insert @map */
	VA_STEP_REMAP,		/* replace @old by kept pieces @prev and/or @next */
	VA_STEP_UNMAP,		/* remove @old entirely */
};

/*
 * One step of a plan. For REMAP and UNMAP, [unmap_start, unmap_last] is
 * exactly the part of @old that stops being mapped (the whole of it for
 * UNMAP); @prev/@next are new mappings for what is kept below/above it,
 * with @old's obj, flags and priv and the offsets adjusted. For MAP,
 * [unmap_start, unmap_last] is the new mapping's range.
 */
struct va_step {
	enum va_step_kind kind;
	struct va_mapping *old;		/* REMAP, UNMAP */
	struct va_mapping *prev;	/* REMAP: kept head, or NULL */
	struct va_mapping *next;	/* REMAP: kept tail, or NULL */
	struct va_mapping *map;		/* MAP */
	uint64_t unmap_start, unmap_last;
};

enum va_plan_state {
	VA_PLAN_EMPTY,		/* zeroed, aborted or finished: owns nothing */
	VA_PLAN_PENDING,	/* planned: owns steps, prev/next/map pieces */
	VA_PLAN_COMMITTED,	/* applied: owns steps and the old mappings */
};

/*
 * A planned change. Steps are in address order of the old mappings they
 * touch, the MAP step (if any) last. Read-only for the caller except the
 * new mappings' priv.
 */
struct va_plan {
	enum va_plan_state state;
	struct va_space *space;
	uint64_t seq;			/* space->seq the plan was computed at */
	struct va_step *steps;
	size_t nsteps;
	uint64_t start, last;		/* the requested range, inclusive */
};

#define VA_PLAN_INIT { VA_PLAN_EMPTY, NULL, 0, NULL, 0, 0, 0 }

/**
 * va_space_init - make @s an empty VA space of 2^@va_bits bytes
 * @s:       the space
 * @va_bits: VA_BITS_MIN..VA_BITS_MAX
 * @ops:     allocator, or NULL for calloc/free
 * @ops_arg: passed to @ops
 *
 * Return: 0, or -EINVAL for a NULL @s, a @va_bits out of range, or @ops
 * with only one of its two functions.
 */
int va_space_init(struct va_space *s, unsigned int va_bits,
		  const struct va_space_ops *ops, void *ops_arg);

/**
 * va_space_fini - remove and free every mapping of @s
 * @s:    the space; no plan of it may be pending
 * @drop: called on each mapping, in address order, before it is freed
 *        (to release @priv and the object reference), or NULL
 * @arg:  passed to @drop
 */
void va_space_fini(struct va_space *s,
		   void (*drop)(struct va_mapping *m, void *arg), void *arg);

/**
 * va_plan_map - plan mapping [@va, @va + @size) to (@obj, @offset, @flags)
 * @s:      the space
 * @va:     first address, page aligned
 * @size:   bytes, page aligned, not 0
 * @obj:    the object, never dereferenced; NULL is allowed
 * @offset: byte offset into @obj, page aligned
 * @flags:  stored as is
 * @plan:   overwritten with the plan (any previous content is ignored)
 *
 * Changes nothing in @s. Old mappings in the range become UNMAP or REMAP
 * steps; the new mapping is the last, MAP, step. Every mapping the
 * commit will insert is allocated here.
 *
 * Return: 0 and a pending @plan; -EINVAL for NULL @s or @plan, @size 0,
 * an unaligned @va, @size or @offset, or a range reaching past
 * s->va_limit; -EOVERFLOW if @va + @size or @offset + @size wraps;
 * -ENOMEM. On error @plan is empty and @s unchanged.
 */
int va_plan_map(struct va_space *s, uint64_t va, uint64_t size, void *obj,
		uint64_t offset, uint32_t flags, struct va_plan *plan);

/**
 * va_plan_unmap - plan unmapping whatever is mapped in [@va, @va + @size)
 * @s:    the space
 * @va:   first address, page aligned
 * @size: bytes, page aligned, not 0
 * @plan: overwritten with the plan
 *
 * Holes in the range are fine; a range with no mapping gives a pending
 * plan with no steps.
 *
 * Return: as va_plan_map(), without the @offset cases.
 */
int va_plan_unmap(struct va_space *s, uint64_t va, uint64_t size,
		  struct va_plan *plan);

/**
 * va_plan_commit - apply a pending plan to @s
 * @s:    the space the plan was computed on, unchanged since (same seq)
 * @plan: a pending plan
 *
 * Cannot fail. Removes every step's old mapping from @s (they stay
 * allocated, owned by @plan, until va_plan_fini()) and inserts the
 * prev/next pieces and the new mapping. A stale or foreign plan is a
 * caller bug and asserts.
 */
void va_plan_commit(struct va_space *s, struct va_plan *plan);

/**
 * va_plan_abort - drop a pending plan; @s stays as it was
 * @plan: a pending or empty plan (a committed one asserts: va_plan_fini())
 *
 * Frees the pieces the plan allocated (release anything hung on their
 * priv first) and leaves @plan empty.
 */
void va_plan_abort(struct va_plan *plan);

/**
 * va_plan_fini - release a plan in any state
 * @plan: the plan
 * @drop: for a committed plan, called on each step's old mapping (now out
 *        of the space) before it is freed, or NULL
 * @arg:  passed to @drop
 *
 * A committed plan frees its old mappings and steps; a pending one is
 * aborted; an empty one is left alone. @plan is empty afterwards.
 */
void va_plan_fini(struct va_plan *plan,
		  void (*drop)(struct va_mapping *m, void *arg), void *arg);

/**
 * va_find - the mapping that covers @va
 * @s:  the space
 * @va: any address
 *
 * Return: the mapping or NULL.
 */
struct va_mapping *va_find(const struct va_space *s, uint64_t va);

/**
 * va_iter_first - first mapping (by address) intersecting [@va, @va + @size)
 * @s:    the space
 * @va:   first address of the query
 * @size: bytes; 0 or a wrapping range gives NULL
 *
 * Return: the mapping or NULL.
 */
struct va_mapping *va_iter_first(const struct va_space *s, uint64_t va,
				 uint64_t size);

/**
 * va_iter_next - the mapping after @m intersecting the same query
 * @m:    a mapping returned by va_iter_first/next with this query
 * @va:   first address of the query
 * @size: bytes
 *
 * The space must not change between the calls of one iteration.
 * Return: the mapping or NULL.
 */
struct va_mapping *va_iter_next(const struct va_mapping *m, uint64_t va,
				uint64_t size);

/* Walk the mappings intersecting [va, va + size) in address order. */
#define va_for_each_mapping(m, s, va, size)				\
	for ((m) = va_iter_first((s), (va), (size)); (m);		\
	     (m) = va_iter_next((m), (va), (size)))

static inline uint64_t va_mapping_va(const struct va_mapping *m)
{
	return m->node.start;
}

static inline uint64_t va_mapping_size(const struct va_mapping *m)
{
	return m->node.last - m->node.start + 1;
}

static inline size_t va_space_count(const struct va_space *s)
{
	return s->tree.count;
}

#endif
