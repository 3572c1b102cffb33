// SPDX-License-Identifier: MIT
/*
 * The interval tree's structural checker (itree_check.h): a recursive
 * walk that fails the test at the first broken red-black or
 * subtree_last invariant.
 */
#include <inttypes.h>

#include "tests/lib/itree_check.h"
#include "tests/lib/suite.h"

/*
 * Walk the subtree at @n, checking parent links, start order against
 * *@prev_start, no red-red, and subtree_last. Returns the black height
 * (missing children count as 0) and adds the node count to *@count.
 */
static int check_subtree(const struct itree_node *n,
			 const struct itree_node *parent,
			 const struct itree_node **prev, size_t *count)
{
	int lh, rh;
	uint64_t want;

	if (!n)
		return 0;
	REQUIRE(n->parent == parent, "node [%" PRIu64 ",%" PRIu64
		"]: parent link broken", n->start, n->last);
	REQUIRE(n->start <= n->last, "node with start > last");
	REQUIRE(!(n->red && parent && parent->red), "red node under red parent");

	lh = check_subtree(n->left, n, prev, count);

	REQUIRE(!*prev || (*prev)->start <= n->start,
		"in-order walk not sorted: %" PRIu64 " before %" PRIu64,
		(*prev)->start, n->start);
	*prev = n;
	(*count)++;

	rh = check_subtree(n->right, n, prev, count);
	REQUIRE(lh == rh, "black heights differ: %d vs %d", lh, rh);

	want = n->last;
	if (n->left && n->left->subtree_last > want)
		want = n->left->subtree_last;
	if (n->right && n->right->subtree_last > want)
		want = n->right->subtree_last;
	REQUIRE(n->subtree_last == want, "subtree_last %" PRIu64 ", want %"
		PRIu64, n->subtree_last, want);

	return lh + !n->red;
}

int tu_itree_check(const struct itree *t)
{
	const struct itree_node *prev = NULL;
	size_t count = 0;
	int bh;

	REQUIRE(!t->root || !t->root->red, "red root");
	bh = check_subtree(t->root, NULL, &prev, &count);
	REQUIRE(count == t->count, "count %zu, tree holds %zu", t->count, count);
	return bh;
}
