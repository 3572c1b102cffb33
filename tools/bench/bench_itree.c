/* SPDX-License-Identifier: MIT */
/*
 * `ugpu-bench itree`: throughput of daemon/core/interval_tree at 10^3 to
 * 10^6 intervals. The workload looks like userptr notifiers in one client
 * heap: intervals of 1-4 pages at random page offsets in an n-page space
 * (about 2.5 intervals cover each address), queries that are single
 * addresses or ranges of up to a page, so each returns a few nodes.
 * Reports insert, lookup (first + next until NULL) and remove rates,
 * lookup latency percentiles, and memory per interval.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench.h"
#include "core/interval_tree.h"

#define PAGE		4096u
#define MIN_OPS		1000000u	/* per measured phase, by repeating */
#define LAT_SAMPLES	10000u

struct query {
	uint64_t start, last;
};

struct result {
	size_t n;
	double insert, lookup, remove;	/* operations per second */
	double hits;			/* nodes returned per lookup */
	uint64_t p50, p99;		/* single-lookup latency, ns */
};

static uint64_t rng = 0x1f2e3d4c5b6a7988ULL;

/* xorshift64*: cheap enough not to show up next to a tree walk. */
static uint64_t rnd(void)
{
	rng ^= rng >> 12;
	rng ^= rng << 25;
	rng ^= rng >> 27;
	return rng * 0x2545f4914f6cdd1dULL;
}

static uint64_t rnd_below(uint64_t n)
{
	return rnd() % n;
}

static void shuffle(size_t *a, size_t n)
{
	for (size_t i = n; i > 1; i--) {
		size_t j = rnd_below(i), x = a[i - 1];

		a[i - 1] = a[j];
		a[j] = x;
	}
}

/* One lookup as a user would do it; returns the number of hits. */
static size_t lookup(const struct itree *t, const struct query *q)
{
	const struct itree_node *n;
	size_t k = 0;

	for (n = itree_iter_first(t, q->start, q->last); n;
	     n = itree_iter_next(n, q->start, q->last))
		k++;
	return k;
}

static int run_size(size_t n, size_t nq, struct result *r)
{
	struct itree t = ITREE_INIT;
	struct itree_node *nodes;
	size_t *ins, *del, i, round, rounds, hits = 0;
	struct query *q;
	uint64_t *lat, t0, t_ins = 0, t_del = 0, t_look = 0;
	uint64_t space = (uint64_t)n * PAGE;
	int ret = -ENOMEM;

	nodes = calloc(n, sizeof(*nodes));
	ins = calloc(n, sizeof(*ins));
	del = calloc(n, sizeof(*del));
	q = calloc(nq, sizeof(*q));
	lat = calloc(LAT_SAMPLES, sizeof(*lat));
	if (!nodes || !ins || !del || !q || !lat)
		goto out;

	for (i = 0; i < n; i++) {
		nodes[i].start = rnd_below(n) * PAGE;
		nodes[i].last = nodes[i].start + (1 + rnd_below(4)) * PAGE - 1;
		ins[i] = del[i] = i;
	}
	for (i = 0; i < nq; i++) {
		q[i].start = rnd_below(space);
		q[i].last = q[i].start + (i & 1 ? rnd_below(PAGE) : 0);
	}

	rounds = n < MIN_OPS ? MIN_OPS / n : 1;
	for (round = 0; round < rounds; round++) {
		/*
		 * Insert and remove in two unrelated random orders, new ones
		 * each round so repeats do not train the branch predictor.
		 */
		shuffle(ins, n);
		shuffle(del, n);
		t0 = bench_now_ns();
		for (i = 0; i < n; i++)
			itree_insert(&t, &nodes[ins[i]]);
		t_ins += bench_now_ns() - t0;

		if (round == 0) {
			t0 = bench_now_ns();
			for (i = 0; i < nq; i++)
				hits += lookup(&t, &q[i]);
			t_look = bench_now_ns() - t0;

			for (i = 0; i < LAT_SAMPLES; i++) {
				t0 = bench_now_ns();
				hits += lookup(&t, &q[i % nq]);
				lat[i] = bench_now_ns() - t0;
			}
		}

		t0 = bench_now_ns();
		for (i = 0; i < n; i++)
			itree_remove(&t, &nodes[del[i]]);
		t_del += bench_now_ns() - t0;
		if (t.root || t.count) {
			fprintf(stderr, "itree: tree not empty after removals\n");
			ret = -EIO;
			goto out;
		}
	}

	r->n = n;
	r->insert = bench_rate((uint64_t)n * rounds, t_ins);
	r->remove = bench_rate((uint64_t)n * rounds, t_del);
	r->lookup = bench_rate(nq, t_look);
	r->hits = (double)hits / (double)(nq + LAT_SAMPLES);
	r->p50 = bench_percentile(lat, LAT_SAMPLES, 50);
	r->p99 = bench_percentile(lat, LAT_SAMPLES, 99);
	ret = 0;
out:
	free(lat);
	free(q);
	free(del);
	free(ins);
	free(nodes);
	return ret;
}

static void print_rate(double ops)
{
	printf(" %10.2fM", ops / 1e6);
}

static int usage(FILE *f, int status)
{
	fprintf(f,
		"usage: ugpu-bench itree [--max N] [--queries Q]\n"
		"  --max N      largest tree size (default 1000000); sizes run\n"
		"               are 10^3, 10^4, ... up to N, or just N if N < 1000\n"
		"  --queries Q  lookups timed per size (default 1000000)\n");
	return status;
}

static int parse_size(const char *s, size_t *out)
{
	char *end;
	unsigned long long v;

	errno = 0;
	v = strtoull(s, &end, 0);
	if (errno || end == s || *end || v == 0 || v > (1ULL << 32))
		return -EINVAL;
	*out = (size_t)v;
	return 0;
}

static int bench_itree(int argc, char **argv)
{
	size_t max = 1000000, nq = 1000000, n;
	struct result r, at_max = { 0 };
	int i;

	for (i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h"))
			return usage(stdout, 0);
		if (!strcmp(argv[i], "--max") && i + 1 < argc) {
			if (parse_size(argv[++i], &max))
				return usage(stderr, 2);
		} else if (!strcmp(argv[i], "--queries") && i + 1 < argc) {
			if (parse_size(argv[++i], &nq))
				return usage(stderr, 2);
		} else {
			fprintf(stderr, "ugpu-bench itree: bad argument '%s'\n",
				argv[i]);
			return usage(stderr, 2);
		}
	}

	printf("interval tree: intervals of 1-4 pages at random page offsets in an\n"
	       "n-page space; lookups are iter_first+iter_next over a point (half)\n"
	       "or a range of up to one page (half); %zu lookups per size;\n"
	       "insert/remove in random order, repeated to >= %u ops at small n.\n"
	       "Rates in millions of operations per second.\n\n",
	       nq, MIN_OPS);
	printf("%10s %11s %11s %11s %6s %8s %8s %7s\n", "n", "insert/s",
	       "lookup/s", "remove/s", "hits", "p50 ns", "p99 ns", "B/intv");

	for (n = max < 1000 ? max : 1000; n <= max; n *= 10) {
		if (run_size(n, nq, &r)) {
			fprintf(stderr, "ugpu-bench itree: n=%zu failed\n", n);
			return 1;
		}
		printf("%10zu", r.n);
		print_rate(r.insert);
		print_rate(r.lookup);
		print_rate(r.remove);
		printf(" %6.2f %8" PRIu64 " %8" PRIu64 " %7zu\n", r.hits,
		       r.p50, r.p99, sizeof(struct itree_node));
		fflush(stdout);
		at_max = r;
		if (max < 1000)
			break;
	}

	printf("\nB/intv is sizeof(struct itree_node); the tree allocates nothing else.\n");
	if (at_max.n >= 1000000)
		printf("goal >= 1.00M lookups/s at n = %zu: %s (%.2fM)\n",
		       at_max.n, at_max.lookup >= 1e6 ? "met" : "NOT met",
		       at_max.lookup / 1e6);
	return 0;
}

static struct bench_cmd itree_cmd = {
	.name = "itree",
	.help = "interval tree insert/lookup/remove rates, n = 10^3..10^6",
	.run = bench_itree,
};
BENCH_REGISTER(itree_cmd);
