/* SPDX-License-Identifier: MIT */
/*
 * ugpu-bench framework: each benchmark is a struct bench_cmd that
 * registers itself from a constructor (BENCH_REGISTER), so adding one is
 * adding a tools/bench/bench_<name>.c file and nothing else. main.c
 * dispatches `ugpu-bench <name> [args]` to it. Also the small helpers
 * every benchmark needs: a monotonic clock and percentiles of samples.
 */
#ifndef UGPU_TOOLS_BENCH_H
#define UGPU_TOOLS_BENCH_H

#include <stddef.h>
#include <stdint.h>

/**
 * struct bench_cmd - one `ugpu-bench <name>` subcommand
 * @name: the word on the command line
 * @help: one line for the command list
 * @run:  runs the benchmark; argv[0] is @name, the rest its arguments.
 *        Returns the process exit status (0 ok, 1 failure, 2 usage).
 * @next: list link, owned by bench_register()
 */
struct bench_cmd {
	const char *name;
	const char *help;
	int (*run)(int argc, char **argv);
	struct bench_cmd *next;
};

/**
 * bench_register - add @cmd to the command list (kept sorted by name)
 * @cmd: a command with static storage duration
 *
 * Called from constructors, before main(); use BENCH_REGISTER().
 */
void bench_register(struct bench_cmd *cmd);

/**
 * bench_commands - the registered commands, sorted by name
 *
 * Return: the first command or NULL; follow ->next.
 */
const struct bench_cmd *bench_commands(void);

#define BENCH_REGISTER(var)						\
	static void __attribute__((constructor)) var##_register(void)	\
	{								\
		bench_register(&var);					\
	}

/**
 * bench_now_ns - CLOCK_MONOTONIC in nanoseconds
 */
uint64_t bench_now_ns(void);

/**
 * bench_percentile - sort @samples and return the @pct percentile
 * @samples: the values; sorted in place
 * @n:       how many
 * @pct:     0..100 (clamped); nearest-rank, so 0 is the minimum and
 *           100 the maximum
 *
 * Return: the value, or 0 if @n is 0.
 */
uint64_t bench_percentile(uint64_t *samples, size_t n, double pct);

/**
 * bench_rate - operations per second for @ops operations in @ns nanoseconds
 * @ops: operation count
 * @ns:  elapsed time; 0 is treated as 1
 */
double bench_rate(uint64_t ops, uint64_t ns);

#endif
