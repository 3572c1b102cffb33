/* SPDX-License-Identifier: MIT */
/*
 * Check suite for daemon/core/interval_tree: itree_range() errors, the
 * empty tree, single nodes, the 0 and UINT64_MAX edges, in-order walks
 * and removal shapes, each checked against the red-black and
 * subtree_last invariants (tests/lib/itree_check.c). The fixed-seed
 * randomized runs against a brute-force model are in
 * interval_tree_random_test.c.
 */
#include <check.h>
#include <errno.h>
#include <stdint.h>

#include "core/interval_tree.h"
#include "tests/lib/itree_check.h"
#include "tests/lib/suite.h"

#define MAX64 UINT64_MAX

static size_t walk_count(const struct itree *t)
{
	const struct itree_node *n;
	size_t k = 0;

	for (n = itree_first(t); n; n = itree_next(n))
		k++;
	return k;
}

static size_t query_count(const struct itree *t, uint64_t s, uint64_t l)
{
	const struct itree_node *n;
	size_t k = 0;

	for (n = itree_iter_first(t, s, l); n; n = itree_iter_next(n, s, l))
		k++;
	return k;
}

static void node_set(struct itree_node *n, uint64_t s, uint64_t l)
{
	n->start = s;
	n->last = l;
}

/* ---- itree_range ---- */

START_TEST(range_ok)
{
	uint64_t last = 12345;

	ck_assert_int_eq(itree_range(0, 1, &last), 0);
	ck_assert_uint_eq(last, 0);
	ck_assert_int_eq(itree_range(0x1000, 0x1000, &last), 0);
	ck_assert_uint_eq(last, 0x1fff);
	ck_assert_int_eq(itree_range(0, MAX64, &last), 0);
	ck_assert_uint_eq(last, MAX64 - 1);
	ck_assert_int_eq(itree_range(1, MAX64, &last), 0);
	ck_assert_uint_eq(last, MAX64);
	ck_assert_int_eq(itree_range(MAX64, 1, &last), 0);
	ck_assert_uint_eq(last, MAX64);
	ck_assert_int_eq(itree_range(MAX64 - 9, 10, &last), 0);
	ck_assert_uint_eq(last, MAX64);
}
END_TEST

START_TEST(range_errors)
{
	uint64_t last = 777;

	ck_assert_int_eq(itree_range(0, 0, &last), -EINVAL);
	ck_assert_int_eq(itree_range(MAX64, 0, &last), -EINVAL);
	ck_assert_int_eq(itree_range(0x1000, 0, &last), -EINVAL);
	ck_assert_int_eq(itree_range(MAX64, 2, &last), -EOVERFLOW);
	ck_assert_int_eq(itree_range(2, MAX64, &last), -EOVERFLOW);
	ck_assert_int_eq(itree_range(MAX64, MAX64, &last), -EOVERFLOW);
	ck_assert_int_eq(itree_range(MAX64 - 9, 11, &last), -EOVERFLOW);
	ck_assert_int_eq(itree_range(1ULL << 63, 1ULL << 63, &last), 0);
	ck_assert_uint_eq(last, MAX64);
	last = 777;
	ck_assert_int_eq(itree_range((1ULL << 63) + 1, 1ULL << 63, &last),
			 -EOVERFLOW);
	/* Failures leave the output alone. */
	ck_assert_uint_eq(last, 777);
}
END_TEST

/* ---- empty tree ---- */

START_TEST(empty_tree)
{
	struct itree t = ITREE_INIT, u;

	ck_assert_ptr_null(t.root);
	ck_assert_uint_eq(t.count, 0);
	ck_assert_ptr_null(itree_first(&t));
	ck_assert_ptr_null(itree_iter_first(&t, 0, MAX64));
	ck_assert_ptr_null(itree_iter_first(&t, 0, 0));
	ck_assert_ptr_null(itree_iter_first(&t, MAX64, MAX64));
	tu_itree_check(&t);

	u.root = (struct itree_node *)&t;	/* garbage */
	u.count = 99;
	itree_init(&u);
	ck_assert_ptr_null(u.root);
	ck_assert_uint_eq(u.count, 0);
	ck_assert_ptr_null(itree_first(&u));
}
END_TEST

START_TEST(empty_after_removals)
{
	struct itree t = ITREE_INIT;
	struct itree_node n[3];

	node_set(&n[0], 10, 20);
	node_set(&n[1], 15, 15);
	node_set(&n[2], 0, MAX64);
	for (int i = 0; i < 3; i++)
		itree_insert(&t, &n[i]);
	itree_remove(&t, &n[1]);
	itree_remove(&t, &n[2]);
	itree_remove(&t, &n[0]);
	ck_assert_ptr_null(t.root);
	ck_assert_uint_eq(t.count, 0);
	ck_assert_ptr_null(itree_first(&t));
	ck_assert_ptr_null(itree_iter_first(&t, 0, MAX64));
}
END_TEST

/* ---- single nodes ---- */

START_TEST(single_node)
{
	struct itree t = ITREE_INIT;
	struct itree_node n;

	node_set(&n, 100, 199);
	itree_insert(&t, &n);
	tu_itree_check(&t);
	ck_assert_uint_eq(t.count, 1);
	ck_assert_ptr_eq(t.root, &n);
	ck_assert(!n.red);
	ck_assert_uint_eq(n.subtree_last, 199);
	ck_assert_ptr_eq(itree_first(&t), &n);
	ck_assert_ptr_null(itree_next(&n));

	/* Touching either end counts: the interval is closed. */
	ck_assert_ptr_eq(itree_iter_first(&t, 100, 100), &n);
	ck_assert_ptr_eq(itree_iter_first(&t, 199, 199), &n);
	ck_assert_ptr_eq(itree_iter_first(&t, 0, 100), &n);
	ck_assert_ptr_eq(itree_iter_first(&t, 199, MAX64), &n);
	ck_assert_ptr_eq(itree_iter_first(&t, 150, 160), &n);
	ck_assert_ptr_eq(itree_iter_first(&t, 0, MAX64), &n);
	ck_assert_ptr_null(itree_iter_next(&n, 0, MAX64));

	ck_assert_ptr_null(itree_iter_first(&t, 0, 99));
	ck_assert_ptr_null(itree_iter_first(&t, 200, 300));
	ck_assert_ptr_null(itree_iter_first(&t, 200, MAX64));
	ck_assert_ptr_null(itree_iter_first(&t, 99, 99));
	/* An empty query (start > last) finds nothing. */
	ck_assert_ptr_null(itree_iter_first(&t, 150, 149));

	itree_remove(&t, &n);
	ck_assert_ptr_null(t.root);
	ck_assert_uint_eq(t.count, 0);
}
END_TEST

START_TEST(single_point)
{
	struct itree t = ITREE_INIT;
	struct itree_node n;

	node_set(&n, 7, 7);
	itree_insert(&t, &n);
	ck_assert_ptr_eq(itree_iter_first(&t, 7, 7), &n);
	ck_assert_ptr_null(itree_iter_first(&t, 6, 6));
	ck_assert_ptr_null(itree_iter_first(&t, 8, 8));
	ck_assert_ptr_eq(itree_iter_first(&t, 6, 8), &n);
	itree_remove(&t, &n);
	tu_itree_check(&t);
}
END_TEST

START_TEST(duplicates)
{
	struct itree t = ITREE_INIT;
	struct itree_node n[16];
	const struct itree_node *it;
	int i;

	for (i = 0; i < 16; i++) {
		node_set(&n[i], 5, 9);
		itree_insert(&t, &n[i]);
		tu_itree_check(&t);
	}
	ck_assert_uint_eq(query_count(&t, 9, 9), 16);
	ck_assert_uint_eq(query_count(&t, 0, 5), 16);
	ck_assert_uint_eq(query_count(&t, 10, MAX64), 0);
	ck_assert_uint_eq(query_count(&t, 0, 4), 0);
	/* Equal starts come back in insertion order. */
	for (i = 0, it = itree_first(&t); it; it = itree_next(it), i++)
		ck_assert_ptr_eq(it, &n[i]);
	for (i = 0; i < 16; i += 2)
		itree_remove(&t, &n[i]);
	tu_itree_check(&t);
	ck_assert_uint_eq(query_count(&t, 6, 6), 8);
}
END_TEST

/* ---- 0 / UINT64_MAX edges ---- */

START_TEST(edge_full_range)
{
	struct itree t = ITREE_INIT;
	struct itree_node all, lo, hi;

	node_set(&all, 0, MAX64);
	itree_insert(&t, &all);
	ck_assert_uint_eq(all.subtree_last, MAX64);
	ck_assert_ptr_eq(itree_iter_first(&t, 0, 0), &all);
	ck_assert_ptr_eq(itree_iter_first(&t, MAX64, MAX64), &all);
	ck_assert_ptr_eq(itree_iter_first(&t, 0, MAX64), &all);
	ck_assert_ptr_eq(itree_iter_first(&t, 1ULL << 63, 1ULL << 63), &all);
	ck_assert_ptr_null(itree_iter_next(&all, 0, MAX64));

	node_set(&lo, 0, 0);
	node_set(&hi, MAX64, MAX64);
	itree_insert(&t, &hi);
	itree_insert(&t, &lo);
	tu_itree_check(&t);

	ck_assert_uint_eq(query_count(&t, 0, 0), 2);
	ck_assert_uint_eq(query_count(&t, MAX64, MAX64), 2);
	ck_assert_uint_eq(query_count(&t, 0, MAX64), 3);
	ck_assert_uint_eq(query_count(&t, 1, MAX64 - 1), 1);
	ck_assert_uint_eq(query_count(&t, MAX64 - 1, MAX64), 2);

	/* Start order: [0,0] and [0,MAX] (insertion order), then [MAX,MAX]. */
	ck_assert_ptr_eq(itree_first(&t), &all);
	ck_assert_ptr_eq(itree_next(&all), &lo);
	ck_assert_ptr_eq(itree_next(&lo), &hi);
	ck_assert_ptr_null(itree_next(&hi));

	itree_remove(&t, &all);
	tu_itree_check(&t);
	ck_assert_uint_eq(query_count(&t, 0, MAX64), 2);
	ck_assert_uint_eq(query_count(&t, 1, MAX64 - 1), 0);
	ck_assert_uint_eq(t.root->subtree_last, MAX64);
}
END_TEST

START_TEST(edge_top)
{
	struct itree t = ITREE_INIT;
	struct itree_node n[8];
	const struct itree_node *it;
	uint64_t prev = 0;
	int i;

	/* Nodes ending at UINT64_MAX: iteration must not wrap past them. */
	for (i = 0; i < 8; i++) {
		node_set(&n[i], MAX64 - (uint64_t)i, MAX64);
		itree_insert(&t, &n[i]);
	}
	tu_itree_check(&t);
	ck_assert_uint_eq(query_count(&t, MAX64, MAX64), 8);
	ck_assert_uint_eq(query_count(&t, MAX64 - 3, MAX64 - 3), 5);
	ck_assert_uint_eq(query_count(&t, 0, MAX64 - 7), 1);
	ck_assert_uint_eq(query_count(&t, 0, MAX64 - 8), 0);
	ck_assert_uint_eq(query_count(&t, 0, MAX64 - 4), 4);
	for (it = itree_iter_first(&t, MAX64, MAX64); it;
	     it = itree_iter_next(it, MAX64, MAX64)) {
		ck_assert_uint_ge(it->start, prev);
		prev = it->start;
	}
	ck_assert_uint_eq(prev, MAX64);
}
END_TEST

START_TEST(edge_bottom)
{
	struct itree t = ITREE_INIT;
	struct itree_node n[8];
	int i;

	for (i = 0; i < 8; i++) {
		node_set(&n[i], 0, (uint64_t)i);
		itree_insert(&t, &n[i]);
	}
	tu_itree_check(&t);
	ck_assert_uint_eq(query_count(&t, 0, 0), 8);
	ck_assert_uint_eq(query_count(&t, 7, 7), 1);
	ck_assert_uint_eq(query_count(&t, 8, MAX64), 0);
	ck_assert_uint_eq(query_count(&t, 4, MAX64), 4);
	ck_assert_uint_eq(t.root->subtree_last, 7);
}
END_TEST

/* ---- in-order walk ---- */

START_TEST(walk_sorted)
{
	enum { N = 1000 };
	static struct itree_node n[N];
	struct itree t = ITREE_INIT;
	const struct itree_node *it;
	uint64_t prev = 0;
	size_t k = 0;
	int i;

	/* Insert in a scrambled but deterministic order: 7919 is prime. */
	for (i = 0; i < N; i++) {
		uint64_t s = (uint64_t)((i * 7919) % N) * 10;

		node_set(&n[i], s, s + 5);
		itree_insert(&t, &n[i]);
	}
	tu_itree_check(&t);
	for (it = itree_first(&t); it; it = itree_next(it), k++) {
		ck_assert_uint_eq(it->start, k * 10);
		ck_assert_uint_ge(it->start, prev);
		prev = it->start;
	}
	ck_assert_uint_eq(k, N);
	ck_assert_uint_eq(walk_count(&t), t.count);

	/* Each point query in [10i, 10i+5] finds exactly one node. */
	for (i = 0; i < N; i++) {
		ck_assert_uint_eq(query_count(&t, (uint64_t)i * 10 + 3,
					      (uint64_t)i * 10 + 3), 1);
		ck_assert_uint_eq(query_count(&t, (uint64_t)i * 10 + 6,
					      (uint64_t)i * 10 + 9), 0);
	}
}
END_TEST

START_TEST(walk_ascending_descending)
{
	enum { N = 4096 };
	static struct itree_node n[N];
	struct itree t = ITREE_INIT;
	int i, bh;

	/* Sorted inserts are the worst case for an unbalanced tree. */
	for (i = 0; i < N; i++) {
		node_set(&n[i], (uint64_t)i, (uint64_t)i + 2);
		itree_insert(&t, &n[i]);
	}
	bh = tu_itree_check(&t);
	/* Black height >= height / 2, height >= log2(N + 1). */
	ck_assert_int_le(bh, 13);
	ck_assert_int_ge(bh, 6);
	ck_assert_uint_eq(query_count(&t, 100, 100), 3);
	ck_assert_uint_eq(query_count(&t, 0, 0), 1);
	ck_assert_uint_eq(query_count(&t, N + 1, N + 1), 1);

	for (i = N - 1; i >= 0; i -= 2)
		itree_remove(&t, &n[i]);
	tu_itree_check(&t);
	ck_assert_uint_eq(t.count, N / 2);
	ck_assert_uint_eq(walk_count(&t), N / 2);
	for (i = 0; i < N; i += 2)
		itree_remove(&t, &n[i]);
	ck_assert_ptr_null(t.root);
}
END_TEST

/* ---- removal shapes ---- */

START_TEST(remove_root_repeatedly)
{
	enum { N = 257 };
	static struct itree_node n[N];
	struct itree t = ITREE_INIT;
	int i;

	for (i = 0; i < N; i++) {
		node_set(&n[i], (uint64_t)(i % 17), (uint64_t)(i % 17) + (uint64_t)i);
		itree_insert(&t, &n[i]);
	}
	/* Always the node with two children when there is one. */
	while (t.root) {
		itree_remove(&t, t.root);
		tu_itree_check(&t);
	}
	ck_assert_uint_eq(t.count, 0);
}
END_TEST

START_TEST(remove_restores_subtree_last)
{
	struct itree t = ITREE_INIT;
	struct itree_node n[64], big;
	int i;

	for (i = 0; i < 64; i++) {
		node_set(&n[i], (uint64_t)i * 100, (uint64_t)i * 100 + 10);
		itree_insert(&t, &n[i]);
	}
	node_set(&big, 50, 1ULL << 40);
	itree_insert(&t, &big);
	tu_itree_check(&t);
	ck_assert_uint_eq(t.root->subtree_last, 1ULL << 40);
	ck_assert_uint_eq(query_count(&t, 1ULL << 40, 1ULL << 40), 1);
	itree_remove(&t, &big);
	tu_itree_check(&t);
	ck_assert_uint_eq(t.root->subtree_last, 63 * 100 + 10);
	ck_assert_uint_eq(query_count(&t, 1ULL << 40, 1ULL << 40), 0);
	ck_assert_uint_eq(query_count(&t, 6311, MAX64), 0);
	ck_assert_uint_eq(query_count(&t, 6310, MAX64), 1);
}
END_TEST

static Suite *interval_tree_suite(void)
{
	Suite *s = suite_create("interval_tree");
	TCase *tc;

	tc = tu_tcase(s, "range", 5, NULL, NULL);
	tcase_add_test(tc, range_ok);
	tcase_add_test(tc, range_errors);

	tc = tu_tcase(s, "empty", 5, NULL, NULL);
	tcase_add_test(tc, empty_tree);
	tcase_add_test(tc, empty_after_removals);

	tc = tu_tcase(s, "single", 5, NULL, NULL);
	tcase_add_test(tc, single_node);
	tcase_add_test(tc, single_point);
	tcase_add_test(tc, duplicates);

	tc = tu_tcase(s, "edges", 5, NULL, NULL);
	tcase_add_test(tc, edge_full_range);
	tcase_add_test(tc, edge_top);
	tcase_add_test(tc, edge_bottom);

	tc = tu_tcase(s, "walk", 10, NULL, NULL);
	tcase_add_test(tc, walk_sorted);
	tcase_add_test(tc, walk_ascending_descending);

	tc = tu_tcase(s, "remove", 10, NULL, NULL);
	tcase_add_test(tc, remove_root_repeatedly);
	tcase_add_test(tc, remove_restores_subtree_last);

	return s;
}

int main(void)
{
	return tu_run_suite(interval_tree_suite());
}
