/* SPDX-License-Identifier: MIT */
/*
 * Interval tree over 64-bit addresses: an augmented red-black tree of
 * closed intervals [start, last], each node caching the largest `last`
 * in its subtree so a stabbing/overlap query visits O(log n + k) nodes.
 * Nodes are embedded in their owners (notifiers, VMAs, mappings); the
 * tree never allocates. Not thread-safe: the owner's lock protects it.
 */
#ifndef UGPU_CORE_INTERVAL_TREE_H
#define UGPU_CORE_INTERVAL_TREE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct itree_node {
	uint64_t start;			/* first address, inclusive */
	uint64_t last;			/* last address, inclusive */
	uint64_t subtree_last;		/* max(last) over this subtree */
	struct itree_node *parent, *left, *right;
	bool red;
};

struct itree {
	struct itree_node *root;
	size_t count;
};

#define ITREE_INIT { NULL, 0 }

/**
 * itree_range - convert (start, len) into a closed interval
 * @start: first address
 * @len:   length in bytes
 * @last:  receives start + len - 1
 *
 * Return: 0, -EINVAL if @len is 0, -EOVERFLOW if start + len - 1 does
 * not fit in 64 bits.
 */
int itree_range(uint64_t start, uint64_t len, uint64_t *last);

/**
 * itree_init - make @t an empty tree
 * @t: the tree
 */
void itree_init(struct itree *t);

/**
 * itree_insert - add @n, whose start/last are set and start <= last
 * @t: the tree
 * @n: a node not in any tree; duplicates and overlaps are allowed
 */
void itree_insert(struct itree *t, struct itree_node *n);

/**
 * itree_remove - take @n out of @t
 * @t: the tree @n is in
 * @n: the node
 */
void itree_remove(struct itree *t, struct itree_node *n);

/**
 * itree_iter_first - first node (in start order) intersecting [start, last]
 * @t:     the tree
 * @start: query start, inclusive
 * @last:  query end, inclusive
 *
 * Return: the node or NULL.
 */
struct itree_node *itree_iter_first(const struct itree *t, uint64_t start,
				    uint64_t last);

/**
 * itree_iter_next - next node after @n (in start order) intersecting the query
 * @n:     a node returned by itree_iter_first/next with the same query
 * @start: query start, inclusive
 * @last:  query end, inclusive
 *
 * The tree must not change between the calls of one iteration.
 * Return: the node or NULL.
 */
struct itree_node *itree_iter_next(const struct itree_node *n, uint64_t start,
				   uint64_t last);

/**
 * itree_first - the node with the smallest start (any), or NULL
 * @t: the tree
 */
struct itree_node *itree_first(const struct itree *t);

/**
 * itree_next - the in-order successor of @n, or NULL
 * @n: a node of a tree
 */
struct itree_node *itree_next(const struct itree_node *n);

#endif
