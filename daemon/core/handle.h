/* SPDX-License-Identifier: MIT */
/*
 * Per-client handle tables: small integer ids (VMs, BOs, syncobjs) that a
 * client names objects by. Ids start at 1 (0 is never valid) and the
 * lowest free id is reused, like GEM handles; a table belongs to one
 * client, so an id of another client's object simply is not found
 * (-ENOENT at the caller). Not thread-safe: the client's lock protects it.
 */
#ifndef UGPU_CORE_HANDLE_H
#define UGPU_CORE_HANDLE_H

#include <stddef.h>
#include <stdint.h>

struct handle_table {
	void **slots;		/* slots[id - 1] */
	uint32_t cap;		/* allocated slots */
	uint32_t count;		/* used slots */
	uint32_t hint;		/* no free slot below this index */
	uint32_t max;		/* most ids at once (quota) */
};

/**
 * handle_table_init - empty table allowing at most @max ids at once
 * @t:   the table
 * @max: the limit (1 .. UINT32_MAX - 1)
 */
void handle_table_init(struct handle_table *t, uint32_t max);

/**
 * handle_table_fini - free the table (not the objects)
 * @t: the table
 */
void handle_table_fini(struct handle_table *t);

/**
 * handle_alloc - give @obj the lowest free id
 * @t:   the table
 * @obj: non-NULL object pointer
 * @id:  receives the id
 *
 * Return: 0, -EDQUOT when @t->max ids are in use, -ENOMEM.
 */
int handle_alloc(struct handle_table *t, void *obj, uint32_t *id);

/**
 * handle_lookup - the object of @id, or NULL
 * @t:  the table
 * @id: any value (hostile input is fine)
 */
void *handle_lookup(const struct handle_table *t, uint32_t id);

/**
 * handle_remove - free @id and return its object, or NULL if unused
 * @t:  the table
 * @id: any value
 */
void *handle_remove(struct handle_table *t, uint32_t id);

/**
 * handle_next - iterate: the first used id greater than @after, or 0
 * @t:     the table
 * @after: 0 to start
 */
uint32_t handle_next(const struct handle_table *t, uint32_t after);

#endif
