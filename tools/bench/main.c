/* SPDX-License-Identifier: MIT */
/*
 * ugpu-bench: the benchmark driver. Benchmarks register themselves (see
 * bench.h); this file keeps their list, prints usage built from it, and
 * runs the one named on the command line:
 *	ugpu-bench [--help] <name> [args]
 * Exit status: the benchmark's, 0 for --help, 2 for a usage error.
 * Also the shared timing helpers.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bench.h"

static struct bench_cmd *commands;

void bench_register(struct bench_cmd *cmd)
{
	struct bench_cmd **link = &commands;

	while (*link && strcmp((*link)->name, cmd->name) < 0)
		link = &(*link)->next;
	cmd->next = *link;
	*link = cmd;
}

const struct bench_cmd *bench_commands(void)
{
	return commands;
}

uint64_t bench_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return (x > y) - (x < y);
}

uint64_t bench_percentile(uint64_t *samples, size_t n, double pct)
{
	size_t rank;

	if (n == 0)
		return 0;
	qsort(samples, n, sizeof(*samples), cmp_u64);
	if (!(pct > 0))		/* also NaN */
		return samples[0];
	if (pct >= 100)
		return samples[n - 1];
	/* Nearest rank: the smallest value with pct% of samples <= it. */
	rank = (size_t)(pct / 100.0 * (double)n);
	if ((double)rank < pct / 100.0 * (double)n)
		rank++;
	return samples[rank ? rank - 1 : 0];
}

double bench_rate(uint64_t ops, uint64_t ns)
{
	return (double)ops * 1e9 / (double)(ns ? ns : 1);
}

static void usage(FILE *f)
{
	const struct bench_cmd *c;

	fprintf(f, "usage: ugpu-bench [--help] <name> [args]\n"
		   "       ugpu-bench <name> --help\n\n"
		   "benchmarks:\n");
	for (c = commands; c; c = c->next)
		fprintf(f, "  %-12s %s\n", c->name, c->help);
	if (!commands)
		fprintf(f, "  (none built in)\n");
}

int main(int argc, char **argv)
{
	const struct bench_cmd *c;

	if (argc < 2) {
		usage(stderr);
		return 2;
	}
	if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
		usage(stdout);
		return 0;
	}
	for (c = commands; c; c = c->next)
		if (!strcmp(c->name, argv[1]))
			return c->run(argc - 1, argv + 1);

	fprintf(stderr, "ugpu-bench: unknown benchmark '%s'\n\n", argv[1]);
	usage(stderr);
	return 2;
}
