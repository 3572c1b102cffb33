/* SPDX-License-Identifier: MIT */
/*
 * The structural checker for daemon/core/interval_tree, shared by its
 * suites (interval_tree_test.c and the randomized interval_tree_random_
 * test.c): parent links, start order, no red-red, equal black heights,
 * subtree_last and the node count, each failing the test with a message.
 */
#ifndef UGPU_TESTS_ITREE_CHECK_H
#define UGPU_TESTS_ITREE_CHECK_H

#include "core/interval_tree.h"

/**
 * tu_itree_check - verify every structural invariant of @t
 * @t: the tree
 *
 * Aborts the test (ck_abort_msg) at the first broken invariant.
 * Return: the black height of the tree.
 */
int tu_itree_check(const struct itree *t);

#endif
