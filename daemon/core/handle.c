// SPDX-License-Identifier: MIT
/*
 * Handle tables: a growable array of object pointers indexed by id - 1,
 * with a hint so that allocation scans only from the lowest possibly
 * free slot.
 */
#include <errno.h>
#include <stdlib.h>

#include "core/handle.h"

void handle_table_init(struct handle_table *t, uint32_t max)
{
	t->slots = NULL;
	t->cap = 0;
	t->count = 0;
	t->hint = 0;
	t->max = max ? max : 1;
}

void handle_table_fini(struct handle_table *t)
{
	free(t->slots);
	t->slots = NULL;
	t->cap = t->count = t->hint = 0;
}

static int grow(struct handle_table *t)
{
	uint32_t cap = t->cap ? t->cap * 2 : 16;
	void **slots;

	if (cap > t->max)
		cap = t->max;
	slots = realloc(t->slots, (size_t)cap * sizeof(*slots));
	if (!slots)
		return -ENOMEM;
	for (uint32_t i = t->cap; i < cap; i++)
		slots[i] = NULL;
	t->slots = slots;
	t->cap = cap;
	return 0;
}

int handle_alloc(struct handle_table *t, void *obj, uint32_t *id)
{
	uint32_t i;
	int ret;

	if (t->count >= t->max)
		return -EDQUOT;
	if (t->count == t->cap) {
		ret = grow(t);
		if (ret)
			return ret;
	}
	for (i = t->hint; t->slots[i]; i++)
		;	/* count < cap guarantees a free slot at or above hint */
	t->slots[i] = obj;
	t->count++;
	t->hint = i + 1;
	*id = i + 1;
	return 0;
}

void *handle_lookup(const struct handle_table *t, uint32_t id)
{
	if (id == 0 || id > t->cap)
		return NULL;
	return t->slots[id - 1];
}

void *handle_remove(struct handle_table *t, uint32_t id)
{
	void *obj = handle_lookup(t, id);

	if (!obj)
		return NULL;
	t->slots[id - 1] = NULL;
	t->count--;
	if (id - 1 < t->hint)
		t->hint = id - 1;
	return obj;
}

uint32_t handle_next(const struct handle_table *t, uint32_t after)
{
	for (uint32_t i = after; i < t->cap; i++)
		if (t->slots[i])
			return i + 1;
	return 0;
}
