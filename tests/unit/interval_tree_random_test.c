/* SPDX-License-Identifier: MIT */
/*
 * Check suite for daemon/core/interval_tree, randomized: fixed-seed runs
 * that mirror every insert and remove in a brute-force array model,
 * compare each overlap query with it (the set of nodes and their start
 * order) and verify the red-black and subtree_last invariants
 * (tests/lib/itree_check.c) every few operations, over coordinates that
 * crowd, hug 0 and UINT64_MAX, look like pages or spread over 64 bits.
 * The hand-built shapes are in interval_tree_test.c.
 */
#include <check.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdlib.h>

#include "core/interval_tree.h"
#include "tests/lib/itree_check.h"
#include "tests/lib/suite.h"

#define MAX64 UINT64_MAX

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

	tu_itree_check(&m.tree);
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

static Suite *interval_tree_random_suite(void)
{
	Suite *s = suite_create("interval_tree_random");
	TCase *tc;

	/* Each test here takes well under a second; the margin is for ASan. */
	tc = tu_tcase(s, "random", 60, model_setup, model_teardown);
	tcase_add_test(tc, random_tiny);
	tcase_add_test(tc, random_edges);
	tcase_add_test(tc, random_pages);
	tcase_add_test(tc, random_wide);
	tcase_add_test(tc, random_small_trees);

	return s;
}

int main(void)
{
	return tu_run_suite(interval_tree_random_suite());
}
