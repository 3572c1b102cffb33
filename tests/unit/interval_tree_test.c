/* SPDX-License-Identifier: MIT */
/*
 * Check suite for daemon/core/interval_tree: itree_range() errors, the
 * empty tree, single nodes, the 0 and UINT64_MAX edges, in-order walks,
 * removal shapes, and fixed-seed randomized runs that mirror every
 * operation in a brute-force array model, compare each overlap query
 * with it (the set of nodes and their start order) and verify the
 * red-black and subtree_last invariants every few operations.
 */
#include <check.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>

#include "core/interval_tree.h"

#define MAX64 UINT64_MAX

/*
 * ck_assert() marks a point on every call, which is slow in forked mode;
 * the hot loops use this instead and only pay on failure.
 */
#define REQUIRE(cond, ...)					\
	do {							\
		if (!(cond))					\
			ck_abort_msg(__VA_ARGS__);		\
	} while (0)

/* ---- tree checker ---- */

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

/* Verify every structural invariant of @t; returns the black height. */
static int check_tree(const struct itree *t)
{
	const struct itree_node *prev = NULL;
	size_t count = 0;
	int bh;

	REQUIRE(!t->root || !t->root->red, "red root");
	bh = check_subtree(t->root, NULL, &prev, &count);
	REQUIRE(count == t->count, "count %zu, tree holds %zu", t->count, count);
	return bh;
}

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
	check_tree(&t);

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
	check_tree(&t);
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
	check_tree(&t);
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
		check_tree(&t);
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
	check_tree(&t);
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
	check_tree(&t);

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
	check_tree(&t);
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
	check_tree(&t);
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
	check_tree(&t);
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
	check_tree(&t);
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
	bh = check_tree(&t);
	/* Black height >= height / 2, height >= log2(N + 1). */
	ck_assert_int_le(bh, 13);
	ck_assert_int_ge(bh, 6);
	ck_assert_uint_eq(query_count(&t, 100, 100), 3);
	ck_assert_uint_eq(query_count(&t, 0, 0), 1);
	ck_assert_uint_eq(query_count(&t, N + 1, N + 1), 1);

	for (i = N - 1; i >= 0; i -= 2)
		itree_remove(&t, &n[i]);
	check_tree(&t);
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
		check_tree(&t);
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
	check_tree(&t);
	ck_assert_uint_eq(t.root->subtree_last, 1ULL << 40);
	ck_assert_uint_eq(query_count(&t, 1ULL << 40, 1ULL << 40), 1);
	itree_remove(&t, &big);
	check_tree(&t);
	ck_assert_uint_eq(t.root->subtree_last, 63 * 100 + 10);
	ck_assert_uint_eq(query_count(&t, 1ULL << 40, 1ULL << 40), 0);
	ck_assert_uint_eq(query_count(&t, 6311, MAX64), 0);
	ck_assert_uint_eq(query_count(&t, 6310, MAX64), 1);
}
END_TEST

/* ---- randomized, against a brute-force model ---- */

static uint64_t rng_state;

/* splitmix64: small, fast, and the same sequence everywhere. */
static uint64_t rnd(void)
{
	uint64_t z = (rng_state += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

static uint64_t rnd_below(uint64_t n)
{
	return rnd() % n;
}

enum coord_mode {
	COORD_TINY,	/* [0, 64): overlaps everywhere */
	COORD_EDGES,	/* [0, 32) and [MAX-31, MAX]: crowded at both ends */
	COORD_PAGES,	/* page-aligned ranges, a few pages long */
	COORD_WIDE,	/* anywhere in 64 bits */
};

struct model_node {
	struct itree_node node;	/* first: the tree node converts back */
	bool in_tree;
	uint64_t seen;		/* query number that last returned it */
};

struct model {
	struct itree tree;
	struct model_node *pool;
	size_t pool_size;
	size_t *live, nlive;	/* indices in the tree */
	size_t *free, nfree;	/* indices not in the tree */
	uint64_t queries, hits;
};

static struct model m;

static void model_setup(void)
{
	m.pool_size = 4096;
	m.pool = calloc(m.pool_size, sizeof(*m.pool));
	m.live = calloc(m.pool_size, sizeof(*m.live));
	m.free = calloc(m.pool_size, sizeof(*m.free));
	ck_assert(m.pool && m.live && m.free);
}

static void model_teardown(void)
{
	free(m.pool);
	free(m.live);
	free(m.free);
	m.pool = NULL;
	m.live = m.free = NULL;
}

/* Empty tree, @size usable pool entries, a fresh seed. */
static void model_reset(size_t size, uint64_t seed)
{
	ck_assert_uint_le(size, m.pool_size);
	itree_init(&m.tree);
	m.nlive = 0;
	m.nfree = size;
	for (size_t i = 0; i < size; i++) {
		m.pool[i].in_tree = false;
		m.pool[i].seen = 0;
		m.free[i] = size - 1 - i;
	}
	m.queries = m.hits = 0;
	rng_state = seed;
}

static uint64_t coord(enum coord_mode mode)
{
	uint64_t v;

	switch (mode) {
	case COORD_TINY:
		return rnd_below(64);
	case COORD_EDGES:
		v = rnd_below(64);
		return v < 32 ? v : MAX64 - (v - 32);
	case COORD_PAGES:
		return rnd_below(1024) << 12;
	case COORD_WIDE:
	default:
		return rnd();
	}
}

/* A random closed interval, sometimes touching 0 or UINT64_MAX. */
static void random_interval(enum coord_mode mode, uint64_t *s, uint64_t *l)
{
	uint64_t a, b, r = rnd_below(64);

	if (r == 0) {
		*s = 0;
		*l = MAX64;
		return;
	}
	a = coord(mode);
	if (mode == COORD_PAGES) {
		b = a + (rnd_below(8) << 12) + rnd_below(2) * 0xfff;
	} else if (mode == COORD_WIDE && rnd_below(2)) {
		/* Short interval somewhere, clamped at the top. */
		uint64_t len = rnd_below(1ULL << 40);

		b = len > MAX64 - a ? MAX64 : a + len;
	} else {
		b = coord(mode);
	}
	if (a > b) {
		uint64_t x = a;

		a = b;
		b = x;
	}
	if (r < 4)
		a = 0;
	else if (r < 8)
		b = MAX64;
	else if (r < 10)
		b = a;			/* a point */
	*s = a;
	*l = b;
}

static void op_insert(enum coord_mode mode)
{
	size_t i = m.free[--m.nfree];
	struct model_node *mn = &m.pool[i];

	random_interval(mode, &mn->node.start, &mn->node.last);
	itree_insert(&m.tree, &mn->node);
	mn->in_tree = true;
	m.live[m.nlive++] = i;
}

static void op_remove(void)
{
	size_t k = rnd_below(m.nlive);
	size_t i = m.live[k];

	m.live[k] = m.live[--m.nlive];
	itree_remove(&m.tree, &m.pool[i].node);
	m.pool[i].in_tree = false;
	m.free[m.nfree++] = i;
}

static bool intersects(const struct itree_node *n, uint64_t s, uint64_t l)
{
	return n->start <= l && n->last >= s;
}

/*
 * Run one query and compare it with the model: every node returned is
 * in the tree, intersects, comes once and in start order, and there are
 * as many as the brute-force scan counts.
 */
static void op_query(enum coord_mode mode)
{
	const struct itree_node *it;
	uint64_t s, l, prev_start = 0, tag = ++m.queries;
	size_t got = 0, want = 0, i;

	random_interval(mode, &s, &l);
	for (it = itree_iter_first(&m.tree, s, l); it;
	     it = itree_iter_next(it, s, l)) {
		const struct model_node *cmn = (const struct model_node *)it;
		struct model_node *mn;

		REQUIRE(cmn >= m.pool && cmn < m.pool + m.pool_size,
			"query returned a foreign node");
		mn = &m.pool[cmn - m.pool];
		REQUIRE(mn->in_tree, "query returned a removed node");
		REQUIRE(intersects(it, s, l), "[%" PRIu64 ",%" PRIu64
			"] does not intersect [%" PRIu64 ",%" PRIu64 "]",
			it->start, it->last, s, l);
		REQUIRE(mn->seen != tag, "node returned twice");
		REQUIRE(it->start >= prev_start, "results out of start order");
		mn->seen = tag;
		prev_start = it->start;
		got++;
	}
	for (i = 0; i < m.nlive; i++)
		want += intersects(&m.pool[m.live[i]].node, s, l);
	REQUIRE(got == want, "query [%" PRIu64 ",%" PRIu64 "] (#%" PRIu64
		"): tree gives %zu nodes, brute force %zu", s, l, tag, got,
		want);
	m.hits += got;
}

/* Full check: invariants, and the tree holds exactly the live nodes. */
static void model_verify(void)
{
	const struct itree_node *it;
	size_t k = 0;

	check_tree(&m.tree);
	REQUIRE(m.tree.count == m.nlive, "tree count %zu, model %zu",
		m.tree.count, m.nlive);
	for (it = itree_first(&m.tree); it; it = itree_next(it), k++)
		REQUIRE(((const struct model_node *)it)->in_tree,
			"walk found a removed node");
	REQUIRE(k == m.nlive, "walk visits %zu, model %zu", k, m.nlive);
}

/*
 * @ops mixed operations over a pool of @size nodes. The insert share
 * swings between 70% and 30% every @phase operations so the tree keeps
 * filling up and draining; a third of the operations are queries.
 */
static void run_random(enum coord_mode mode, size_t size, uint64_t seed,
		       long ops, long phase, long verify_every)
{
	long op;

	model_reset(size, seed);
	for (op = 0; op < ops; op++) {
		bool grow = (op / phase) % 2 == 0;
		uint64_t r = rnd_below(30);

		if (r < 10) {
			op_query(mode);
		} else if ((r < (grow ? 24 : 16) && m.nfree) || !m.nlive) {
			if (m.nfree)
				op_insert(mode);
		} else {
			op_remove();
		}
		if (op % verify_every == 0)
			model_verify();
	}
	model_verify();
	/* Drain the tree completely, checking as it shrinks. */
	while (m.nlive) {
		op_remove();
		if (m.nlive % 64 == 0)
			model_verify();
	}
	ck_assert_ptr_null(m.tree.root);
	/* The queries must have exercised something. */
	ck_assert_uint_gt(m.hits, 0);
}

START_TEST(random_tiny)
{
	run_random(COORD_TINY, 300, 0x5eed0001, 100000, 2000, 64);
}
END_TEST

START_TEST(random_edges)
{
	run_random(COORD_EDGES, 500, 0x5eed0002, 100000, 3000, 64);
}
END_TEST

START_TEST(random_pages)
{
	run_random(COORD_PAGES, 2000, 0x5eed0003, 100000, 5000, 256);
}
END_TEST

START_TEST(random_wide)
{
	run_random(COORD_WIDE, 4096, 0x5eed0004, 100000, 10000, 512);
}
END_TEST

/* Every mode on tiny trees, where the rebalancing cases change fastest. */
START_TEST(random_small_trees)
{
	for (int mode = COORD_TINY; mode <= COORD_WIDE; mode++)
		run_random(mode, 12, 0x5eed0100 + (uint64_t)mode, 25000, 7, 1);
}
END_TEST

static TCase *add_tcase(Suite *s, const char *name, double timeout)
{
	TCase *tc = tcase_create(name);

	tcase_set_timeout(tc, timeout);
	suite_add_tcase(s, tc);
	return tc;
}

static Suite *interval_tree_suite(void)
{
	Suite *s = suite_create("interval_tree");
	TCase *tc;

	tc = add_tcase(s, "range", 5);
	tcase_add_test(tc, range_ok);
	tcase_add_test(tc, range_errors);

	tc = add_tcase(s, "empty", 5);
	tcase_add_test(tc, empty_tree);
	tcase_add_test(tc, empty_after_removals);

	tc = add_tcase(s, "single", 5);
	tcase_add_test(tc, single_node);
	tcase_add_test(tc, single_point);
	tcase_add_test(tc, duplicates);

	tc = add_tcase(s, "edges", 5);
	tcase_add_test(tc, edge_full_range);
	tcase_add_test(tc, edge_top);
	tcase_add_test(tc, edge_bottom);

	tc = add_tcase(s, "walk", 10);
	tcase_add_test(tc, walk_sorted);
	tcase_add_test(tc, walk_ascending_descending);

	tc = add_tcase(s, "remove", 10);
	tcase_add_test(tc, remove_root_repeatedly);
	tcase_add_test(tc, remove_restores_subtree_last);

	/* Each test here takes well under a second; the margin is for ASan. */
	tc = add_tcase(s, "random", 60);
	tcase_add_checked_fixture(tc, model_setup, model_teardown);
	tcase_add_test(tc, random_tiny);
	tcase_add_test(tc, random_edges);
	tcase_add_test(tc, random_pages);
	tcase_add_test(tc, random_wide);
	tcase_add_test(tc, random_small_trees);

	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(interval_tree_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed != 0;
}
