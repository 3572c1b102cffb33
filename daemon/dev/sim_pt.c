// SPDX-License-Identifier: MIT
/*
 * The sim GPU's page tables: per VM a 4-level radix tree of 512-entry
 * tables over a 48-bit VA space with 4 KiB pages, like x86-64's. Leaf
 * entries (PTEs) hold a page-aligned backing address (daemon memory, or
 * a client address reached through the VM's port) and present/writable/
 * port bits. Translation hands out runs (contiguous VAs onto contiguous
 * backing with equal flags) so a large access costs one memcpy or one
 * transfer per run, not per page. Nothing here locks: the VM's pt_lock
 * is held for read around translation and for write around map/zap.
 *
 *   VA bits:  47..39   38..30   29..21   20..12   11..0
 *             level 3  level 2  level 1  leaf     page offset
 *             (root)   dir      dir      PTEs
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "dev/sim_internal.h"

#define ENTRIES		512u
#define LEVELS		4		/* root at level 3, leaves at level 0 */
#define PAGE_SHIFT	12
#define VA_TOP		(1ull << SIM_VA_BITS)

/* Bytes one entry of a table at @level covers. */
static uint64_t entry_span(int level)
{
	return 1ull << (PAGE_SHIFT + 9 * level);
}

static unsigned int index_at(uint64_t va, int level)
{
	return (va >> (PAGE_SHIFT + 9 * level)) & (ENTRIES - 1);
}

static uint64_t *table_alloc(struct sim_pt *pt)
{
	uint64_t *t = calloc(ENTRIES, sizeof(*t));

	if (t)
		pt->tables++;
	return t;
}

static void free_tree(struct sim_pt *pt, uint64_t *t, int level)
{
	if (level > 0)
		for (unsigned int i = 0; i < ENTRIES; i++)
			if (t[i])
				free_tree(pt, (uint64_t *)(uintptr_t)t[i], level - 1);
	free(t);
	pt->tables--;
}

int sim_pt_init(struct sim_pt *pt)
{
	pt->tables = 0;
	pt->root = table_alloc(pt);
	return pt->root ? 0 : -ENOMEM;
}

void sim_pt_fini(struct sim_pt *pt)
{
	if (pt->root)
		free_tree(pt, pt->root, LEVELS - 1);
	pt->root = NULL;
}

/* The leaf table covering @va, or NULL; allocates missing tables if @alloc. */
static uint64_t *leaf_of(struct sim_pt *pt, uint64_t va, bool alloc)
{
	uint64_t *t = pt->root;

	for (int level = LEVELS - 1; level > 0; level--) {
		uint64_t *e = &t[index_at(va, level)];

		if (!*e) {
			uint64_t *n;

			if (!alloc)
				return NULL;
			n = table_alloc(pt);
			if (!n)
				return NULL;
			*e = (uintptr_t)n;
		}
		t = (uint64_t *)(uintptr_t)*e;
	}
	return t;
}

int sim_pt_map(struct sim_pt *pt, uint64_t va, uint64_t size, uint64_t addr,
	       uint64_t flags)
{
	uint64_t leaf_span = entry_span(1), end = va + size, v;

	/* Pass 1 allocates, so a failure leaves every PTE as it was. */
	for (v = va; v < end; v = (v | (leaf_span - 1)) + 1)
		if (!leaf_of(pt, v, true))
			return -ENOMEM;
	for (v = va; v < end;) {
		uint64_t *leaf = leaf_of(pt, v, false);
		unsigned int i = index_at(v, 0);

		for (; i < ENTRIES && v < end; i++, v += 1ull << PAGE_SHIFT)
			leaf[i] = (addr + (v - va)) | flags | SIM_PTE_PRESENT;
	}
	return 0;
}

/*
 * Clear [start, end) below table @t at @level, which covers VAs from
 * @base. Subtrees the range covers whole are freed, so unmapping big
 * ranges gives their tables back.
 */
static void zap_level(struct sim_pt *pt, uint64_t *t, int level, uint64_t base,
		      uint64_t start, uint64_t end)
{
	uint64_t span = entry_span(level);
	unsigned int first = (start - base) / span, last = (end - 1 - base) / span;

	for (unsigned int i = first; i <= last; i++) {
		uint64_t eb = base + i * span;
		uint64_t s = start > eb ? start : eb;
		uint64_t e = end < eb + span ? end : eb + span;

		if (!t[i])
			continue;
		if (level == 0) {
			t[i] = 0;
		} else if (s == eb && e == eb + span) {
			free_tree(pt, (uint64_t *)(uintptr_t)t[i], level - 1);
			t[i] = 0;
		} else {
			zap_level(pt, (uint64_t *)(uintptr_t)t[i], level - 1, eb, s, e);
		}
	}
}

void sim_pt_zap(struct sim_pt *pt, uint64_t va, uint64_t size)
{
	uint64_t end = va + size;

	if (end > VA_TOP || end < va)
		end = VA_TOP;
	if (va < end)
		zap_level(pt, pt->root, LEVELS - 1, 0, va, end);
}

uint64_t sim_pt_lookup(const struct sim_pt *pt, uint64_t va)
{
	uint64_t *leaf;

	if (va >= VA_TOP)
		return 0;
	leaf = leaf_of((struct sim_pt *)pt, va, false);
	return leaf ? leaf[index_at(va, 0)] : 0;
}

/*
 * The run starting at @va, at most @max bytes (max > 0), for a read or
 * (@write) a write. Returns 0, or -EFAULT with *@fault_kind if the page
 * of @va itself is not present (or past the VA space) or read-only for a
 * write; a later bad page just ends the run before it.
 */
int sim_pt_run(const struct sim_pt *pt, uint64_t va, uint64_t max, bool write,
	       struct sim_run *run, uint32_t *fault_kind)
{
	const uint64_t page = 1ull << PAGE_SHIFT;
	uint64_t pte = sim_pt_lookup(pt, va), want, len, v;
	uint64_t *leaf;
	unsigned int i;

	if (!(pte & SIM_PTE_PRESENT)) {
		*fault_kind = DEV_FAULT_NOT_PRESENT;
		return -EFAULT;
	}
	if (write && !(pte & SIM_PTE_WRITE)) {
		*fault_kind = DEV_FAULT_WRITE_RO;
		return -EFAULT;
	}
	run->flags = pte & SIM_PTE_FLAGS;
	run->addr = (pte & ~SIM_PTE_FLAGS) + (va & (page - 1));
	len = page - (va & (page - 1));
	want = pte + page;	/* the next page's PTE if contiguous */
	v = (va & ~(page - 1)) + page;
	while (len < max && v < VA_TOP) {
		leaf = leaf_of((struct sim_pt *)pt, v, false);
		if (!leaf)
			break;
		for (i = index_at(v, 0); i < ENTRIES && len < max; i++) {
			if (leaf[i] != want)
				goto out;
			len += page;
			want += page;
			v += page;
		}
	}
out:
	run->len = len < max ? len : max;
	return 0;
}
