/* SPDX-License-Identifier: MIT */
/*
 * GPU virtual address space engine: keeps a VM's mappings in an interval
 * tree and turns each MAP or UNMAP request into a plan of steps that say,
 * for every old mapping touched, which of its pages disappear and which
 * pieces are kept, so the driver can update page tables and object
 * references exactly, prepare everything that can fail before the layout
 * changes, and then commit without a failure path.
 */
#include <assert.h>
#include <errno.h>
#include <stdlib.h>

#include "core/list.h"
#include "gpu/va_space.h"

/**
 * DOC: Overview
 *
 * A VA space covers [0, 2^va_bits). A mapping binds the pages of
 * [va, va + size) to (obj, offset): page va + k * 4096 shows byte
 * offset + k * 4096 of obj. Addresses, sizes and offsets are multiples of
 * 4096. Mappings never overlap; they are kept as closed intervals
 * [va, va + size - 1] in an interval tree (daemon/core/interval_tree.h),
 * so the mappings meeting a range are found in O(log n + k) and, not
 * overlapping, come out in address order.
 *
 * Nothing changes the space directly. va_plan_map() and va_plan_unmap()
 * compute a &struct va_plan: an array of steps, one per old mapping the
 * request meets (in address order), then one MAP step for a map request.
 *
 * - VA_STEP_UNMAP: the old mapping lies wholly inside the request and
 *   goes away; [unmap_start, unmap_last] is all of it.
 * - VA_STEP_REMAP: the old mapping sticks out of the request on one side
 *   or both. It goes away and new mappings @prev (the part below the
 *   request) and/or @next (the part above) take its place, with the same
 *   obj, flags and priv and the offset moved along with the start; only
 *   [unmap_start, unmap_last] = old intersected with the request stops
 *   being mapped. Only the first and the last old mapping of a request
 *   can be remapped.
 * - VA_STEP_MAP: the new mapping; [unmap_start, unmap_last] is its range.
 *
 * So the union of the unmap ranges of the UNMAP and REMAP steps is exactly
 * the set of mapped pages inside the request, each page in one range, and
 * no page outside the request changes what it shows.
 *
 * The planner allocates every mapping the commit will insert (at most
 * three: prev, next and the new one) and the step array, through the
 * space's &struct va_space_ops; va_plan_commit() only moves tree nodes
 * and cannot fail.
 */

/**
 * DOC: Split and Merge
 *
 * Requests split; nothing merges. Two neighbours that happen to continue
 * each other (same obj and flags, contiguous offsets) stay two mappings,
 * as in drm_gpuvm, because the driver may hang different state on each
 * (priv, page-table granularity) and merging would turn a MAP into a
 * change of mappings it never named. A MAP identical to an existing
 * mapping still replaces it (UNMAP + MAP); the driver may notice and skip
 * the page-table work. The cases, with pages 0..5 on top and "a@2" for
 * obj a at offset page 2 (the offset of the mapping's first page):
 *
 * Map into an empty range (or a range of holes only): one step.
 *
 *	         0     1     2     3     4     5
 *	before:  .     .     .     .     .
 *	request: |b@0        |
 *	after:   |b@0        |
 *	steps:   MAP b@0 [0,2)
 *
 * Map exactly over one mapping: it is unmapped whole.
 *
 *	before:  |a@0        |
 *	request: |b@0        |
 *	after:   |b@0        |
 *	steps:   UNMAP a@0 [0,2); MAP b@0 [0,2)
 *
 * Map over the middle of one mapping: remap with prev and next.
 *
 *	before:  |a@0                    |
 *	request:       |b@0        |
 *	after:   |a@0  |b@0        |a@3  |
 *	steps:   REMAP a@0, unmap [1,3), prev a@0 [0,1), next a@3 [3,4);
 *	         MAP b@0 [1,3)
 *
 * Map over the head of a mapping: remap with next only.
 *
 *	before:  |a@0                    |
 *	request: |b@0        |
 *	after:   |b@0        |a@2        |
 *	steps:   REMAP a@0, unmap [0,2), next a@2 [2,4); MAP b@0 [0,2)
 *
 * Map over the tail of a mapping: remap with prev only.
 *
 *	before:  |a@0                    |
 *	request:             |b@0        |
 *	after:   |a@0        |b@0        |
 *	steps:   REMAP a@0, unmap [2,4), prev a@0 [0,2); MAP b@0 [2,4)
 *
 * Map across several mappings: the first and last are remapped (or
 * unmapped, if covered whole), everything between them unmapped.
 *
 *	before:  |a@0        |c@7  |  .  |d@0        |
 *	request:       |b@0                    |
 *	after:   |a@0  |b@0                    |d@1  |
 *	steps:   REMAP a@0, unmap [1,2), prev a@0 [0,1);
 *	         UNMAP c@7 [2,3);
 *	         REMAP d@0, unmap [4,5), next d@1 [5,6);
 *	         MAP b@0 [1,5)
 *
 * Unmap is the same without the MAP step ("x" marks the request).
 * Of the middle of a mapping:
 *
 *	before:  |a@0                    |
 *	request:       |xxxxxxxxxxx|
 *	after:   |a@0  |  .     .  |a@3  |
 *	steps:   REMAP a@0, unmap [1,3), prev a@0 [0,1), next a@3 [3,4)
 *
 * Of the head, of the tail:
 *
 *	before:  |a@0                    |
 *	request: |xxxxx|
 *	after:   |  .  |a@1              |
 *	steps:   REMAP a@0, unmap [0,1), next a@1 [1,4)
 *
 *	before:  |a@0                    |
 *	request:                   |xxxxx|
 *	after:   |a@0              |  .  |
 *	steps:   REMAP a@0, unmap [3,4), prev a@0 [0,3)
 *
 * Of a whole mapping:
 *
 *	before:  |a@0                    |
 *	request: |xxxxxxxxxxxxxxxxxxxxxxx|
 *	after:   |  .     .     .     .  |
 *	steps:   UNMAP a@0 [0,4)
 *
 * Of several mappings and holes: holes are skipped, not errors.
 *
 *	before:  |a@0        |  .  |c@4  |  .  |
 *	request:       |xxxxxxxxxxxxxxxxxxxxxxx|
 *	after:   |a@0  |  .     .     .     .  |
 *	steps:   REMAP a@0, unmap [1,2), prev a@0 [0,1); UNMAP c@4 [3,4)
 *
 * Of holes only: a pending plan with no steps, whose commit changes
 * nothing but the seq.
 *
 *	before:  |a@0  |  .     .  |c@0  |
 *	request:       |xxxxxxxxxxx|
 *	after:   |a@0  |  .     .  |c@0  |
 *	steps:   (none)
 */

/**
 * DOC: Two-phase updates
 *
 * A driver's bind looks like this:
 *
 *	err = va_plan_map(s, va, size, bo, offset, flags, &plan);
 *	if (err)
 *		return err;
 *	for each step:                      may fail: undo and va_plan_abort()
 *		take a reference on obj of each new mapping (prev, next, map),
 *		allocate page-table memory, set priv of the new mappings
 *	va_plan_commit(s, &plan);           cannot fail
 *	for each step:
 *		UNMAP/REMAP: zap [unmap_start, unmap_last] of old
 *		MAP:         write the PTEs of map
 *	va_plan_fini(&plan, drop_old, vm);  drop_old: unreference old->obj
 *	                                    and old->priv
 *
 * The pieces of a REMAP start with a copy of old's priv pointer: a driver
 * whose priv is owned per mapping replaces it (or takes a reference on
 * it) in the first loop, before anything can see two owners.
 *
 * Between plan and commit the space is untouched, so the old mappings
 * can still be read and the plan can be dropped at any point. After the
 * commit the old mappings are out of the tree but stay allocated, owned
 * by the plan, until va_plan_fini(): the driver still reads their obj and
 * priv while it zaps. With bind queues (DESIGN §5) the commit happens at
 * the ioctl, so later binds plan against the new layout, while the
 * page-table writes of the steps wait for the bind's in-fences.
 */

/**
 * DOC: Locking
 *
 * The engine has no lock. The VM's vm->lock (DESIGN §4) protects the
 * space: held for write from va_plan_map()/va_plan_unmap() through
 * va_plan_commit() or va_plan_abort(), for read around va_find() and
 * iterations. A plan records the space's seq, which every commit bumps;
 * committing a plan computed before another commit is a bug that
 * va_plan_commit() asserts on, since its steps name a layout that is
 * gone. va_plan_fini() of a committed plan touches only mappings that
 * are out of the space and may run after vm->lock is dropped.
 */

static void *zalloc(const struct va_space *s, size_t size)
{
	if (s->ops)
		return s->ops->zalloc(size, s->ops_arg);
	return calloc(1, size);
}

static void release(const struct va_space *s, void *p)
{
	if (!p)
		return;
	if (s->ops)
		s->ops->free(p, s->ops_arg);
	else
		free(p);
}

static uint64_t min_u64(uint64_t a, uint64_t b)
{
	return a < b ? a : b;
}

static uint64_t max_u64(uint64_t a, uint64_t b)
{
	return a > b ? a : b;
}

static struct va_mapping *to_mapping(const struct itree_node *n)
{
	return n ? container_of(n, struct va_mapping, node) : NULL;
}

int va_space_init(struct va_space *s, unsigned int va_bits,
		  const struct va_space_ops *ops, void *ops_arg)
{
	if (!s || va_bits < VA_BITS_MIN || va_bits > VA_BITS_MAX)
		return -EINVAL;
	if (ops && (!ops->zalloc || !ops->free))
		return -EINVAL;

	itree_init(&s->tree);
	s->va_limit = UINT64_C(1) << va_bits;
	s->mapped_bytes = 0;
	s->seq = 0;
	s->ops = ops;
	s->ops_arg = ops_arg;
	return 0;
}

void va_space_fini(struct va_space *s,
		   void (*drop)(struct va_mapping *m, void *arg), void *arg)
{
	struct itree_node *n;

	if (!s)
		return;
	while ((n = itree_first(&s->tree))) {
		struct va_mapping *m = to_mapping(n);

		itree_remove(&s->tree, n);
		s->mapped_bytes -= va_mapping_size(m);
		if (drop)
			drop(m, arg);
		release(s, m);
	}
	s->seq++;
}

/*
 * Validate a request range: page aligned, not empty, not wrapping, inside
 * the space. Stores the inclusive end in *@last.
 */
static int check_range(const struct va_space *s, uint64_t va, uint64_t size,
		       uint64_t *last)
{
	int err;

	if (size == 0 || (va | size) & (VA_PAGE_SIZE - 1))
		return -EINVAL;
	err = itree_range(va, size, last);
	if (err)
		return err;
	if (*last >= s->va_limit)
		return -EINVAL;
	return 0;
}

/* Fill @piece as the part [start, last] of @old. */
static void make_piece(struct va_mapping *piece, const struct va_mapping *old,
		       uint64_t start, uint64_t last)
{
	piece->node.start = start;
	piece->node.last = last;
	piece->obj = old->obj;
	piece->offset = old->offset + (start - old->node.start);
	piece->flags = old->flags;
	piece->priv = old->priv;
}

/*
 * Plan the removal of [start, last] from @s followed, if @req is not
 * NULL, by the insertion of a copy of @req. Mappings do not overlap, so
 * the ones meeting the range come in address order, only the first can
 * start below @start and only the last can end above @last.
 */
static int plan_range(struct va_space *s, uint64_t start, uint64_t last,
		      const struct va_mapping *req, struct va_plan *plan)
{
	const struct itree_node *first = NULL, *end = NULL, *n;
	struct va_mapping *prev = NULL, *next = NULL, *map = NULL;
	struct va_step *steps = NULL, *st;
	size_t nold = 0, nsteps;

	for (n = itree_iter_first(&s->tree, start, last); n;
	     n = itree_iter_next(n, start, last)) {
		if (!first)
			first = n;
		end = n;
		nold++;
	}
	/* nold <= 2^51 (one page each), so the array size cannot wrap. */
	nsteps = nold + (req != NULL);

	if (nsteps) {
		steps = zalloc(s, nsteps * sizeof(*steps));
		if (!steps)
			goto err_nomem;
	}
	if (first && first->start < start) {
		prev = zalloc(s, sizeof(*prev));
		if (!prev)
			goto err_nomem;
	}
	if (end && end->last > last) {
		next = zalloc(s, sizeof(*next));
		if (!next)
			goto err_nomem;
	}
	if (req) {
		map = zalloc(s, sizeof(*map));
		if (!map)
			goto err_nomem;
		*map = *req;
	}

	st = steps;
	for (n = first; n; n = itree_iter_next(n, start, last), st++) {
		struct va_mapping *old = to_mapping(n);

		st->old = old;
		st->unmap_start = max_u64(n->start, start);
		st->unmap_last = min_u64(n->last, last);
		if (n == first && prev) {
			make_piece(prev, old, n->start, start - 1);
			st->prev = prev;
		}
		if (n == end && next) {
			make_piece(next, old, last + 1, n->last);
			st->next = next;
		}
		st->kind = st->prev || st->next ? VA_STEP_REMAP : VA_STEP_UNMAP;
	}
	if (map) {
		st->kind = VA_STEP_MAP;
		st->map = map;
		st->unmap_start = start;
		st->unmap_last = last;
	}

	plan->state = VA_PLAN_PENDING;
	plan->space = s;
	plan->seq = s->seq;
	plan->steps = steps;
	plan->nsteps = nsteps;
	plan->start = start;
	plan->last = last;
	return 0;

err_nomem:
	release(s, map);
	release(s, next);
	release(s, prev);
	release(s, steps);
	return -ENOMEM;
}

int va_plan_map(struct va_space *s, uint64_t va, uint64_t size, void *obj,
		uint64_t offset, uint32_t flags, struct va_plan *plan)
{
	struct va_mapping req = { .obj = obj, .offset = offset, .flags = flags };
	uint64_t last;
	int err;

	if (!plan)
		return -EINVAL;
	*plan = (struct va_plan)VA_PLAN_INIT;
	if (!s || offset & (VA_PAGE_SIZE - 1))
		return -EINVAL;
	err = check_range(s, va, size, &last);
	if (err)
		return err;
	if (offset > UINT64_MAX - (size - 1))
		return -EOVERFLOW;

	req.node.start = va;
	req.node.last = last;
	return plan_range(s, va, last, &req, plan);
}

int va_plan_unmap(struct va_space *s, uint64_t va, uint64_t size,
		  struct va_plan *plan)
{
	uint64_t last;
	int err;

	if (!plan)
		return -EINVAL;
	*plan = (struct va_plan)VA_PLAN_INIT;
	if (!s)
		return -EINVAL;
	err = check_range(s, va, size, &last);
	if (err)
		return err;
	return plan_range(s, va, last, NULL, plan);
}

static void insert(struct va_space *s, struct va_mapping *m)
{
	if (!m)
		return;
	itree_insert(&s->tree, &m->node);
	s->mapped_bytes += va_mapping_size(m);
}

void va_plan_commit(struct va_space *s, struct va_plan *plan)
{
	size_t i;

	assert(s && plan && plan->state == VA_PLAN_PENDING);
	assert(plan->space == s && plan->seq == s->seq);

	/* Every old mapping goes before the MAP step, the last one, inserts. */
	for (i = 0; i < plan->nsteps; i++) {
		struct va_step *st = &plan->steps[i];

		if (st->kind == VA_STEP_MAP) {
			insert(s, st->map);
			continue;
		}
		itree_remove(&s->tree, &st->old->node);
		s->mapped_bytes -= va_mapping_size(st->old);
		insert(s, st->prev);
		insert(s, st->next);
	}
	s->seq++;
	plan->state = VA_PLAN_COMMITTED;
}

void va_plan_abort(struct va_plan *plan)
{
	size_t i;

	if (!plan || plan->state == VA_PLAN_EMPTY)
		return;
	assert(plan->state == VA_PLAN_PENDING);

	for (i = 0; i < plan->nsteps; i++) {
		struct va_step *st = &plan->steps[i];

		release(plan->space, st->prev);
		release(plan->space, st->next);
		release(plan->space, st->map);
	}
	release(plan->space, plan->steps);
	*plan = (struct va_plan)VA_PLAN_INIT;
}

void va_plan_fini(struct va_plan *plan,
		  void (*drop)(struct va_mapping *m, void *arg), void *arg)
{
	size_t i;

	if (!plan || plan->state == VA_PLAN_EMPTY)
		return;
	if (plan->state == VA_PLAN_PENDING) {
		va_plan_abort(plan);
		return;
	}

	for (i = 0; i < plan->nsteps; i++) {
		struct va_mapping *old = plan->steps[i].old;

		if (!old)
			continue;
		if (drop)
			drop(old, arg);
		release(plan->space, old);
	}
	release(plan->space, plan->steps);
	*plan = (struct va_plan)VA_PLAN_INIT;
}

struct va_mapping *va_find(const struct va_space *s, uint64_t va)
{
	if (!s || va >= s->va_limit)
		return NULL;
	return to_mapping(itree_iter_first(&s->tree, va, va));
}

struct va_mapping *va_iter_first(const struct va_space *s, uint64_t va,
				 uint64_t size)
{
	uint64_t last;

	if (!s || itree_range(va, size, &last))
		return NULL;
	return to_mapping(itree_iter_first(&s->tree, va, last));
}

struct va_mapping *va_iter_next(const struct va_mapping *m, uint64_t va,
				uint64_t size)
{
	uint64_t last;

	if (!m || itree_range(va, size, &last))
		return NULL;
	return to_mapping(itree_iter_next(&m->node, va, last));
}
