/* SPDX-License-Identifier: MIT */
/*
 * Intrusive circular doubly-linked lists, the shape every daemon object
 * uses to sit on a list without allocating: embed a struct list_node,
 * recover the container with container_of(). Nothing here locks; the
 * owner of the list documents which lock protects it.
 */
#ifndef UGPU_CORE_LIST_H
#define UGPU_CORE_LIST_H

#include <stdbool.h>
#include <stddef.h>

#define container_of(ptr, type, member) \
	((type *)((char *)(ptr) - offsetof(type, member)))

struct list_node {
	struct list_node *next, *prev;
};

#define LIST_INIT(name) { &(name), &(name) }

static inline void list_init(struct list_node *h)
{
	h->next = h;
	h->prev = h;
}

static inline bool list_empty(const struct list_node *h)
{
	return h->next == h;
}

/* A node that was list_init()ed or list_del_init()ed is on no list. */
static inline bool list_linked(const struct list_node *n)
{
	return n->next != n;
}

static inline void list_add_between(struct list_node *n, struct list_node *prev,
				    struct list_node *next)
{
	next->prev = n;
	n->next = next;
	n->prev = prev;
	prev->next = n;
}

static inline void list_add(struct list_node *n, struct list_node *h)
{
	list_add_between(n, h, h->next);
}

static inline void list_add_tail(struct list_node *n, struct list_node *h)
{
	list_add_between(n, h->prev, h);
}

static inline void list_del_init(struct list_node *n)
{
	n->next->prev = n->prev;
	n->prev->next = n->next;
	list_init(n);
}

#define list_entry(ptr, type, member) container_of(ptr, type, member)
#define list_first_entry(h, type, member) list_entry((h)->next, type, member)

#define list_for_each_entry(pos, h, member)                                  \
	for (pos = list_entry((h)->next, __typeof__(*pos), member);           \
	     &pos->member != (h);                                              \
	     pos = list_entry(pos->member.next, __typeof__(*pos), member))

#define list_for_each_entry_safe(pos, n, h, member)                          \
	for (pos = list_entry((h)->next, __typeof__(*pos), member),           \
	     n = list_entry(pos->member.next, __typeof__(*pos), member);       \
	     &pos->member != (h);                                              \
	     pos = n, n = list_entry(n->member.next, __typeof__(*n), member))

#endif
