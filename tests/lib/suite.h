/* SPDX-License-Identifier: MIT */
/*
 * The Check boilerplate every suite repeats: a TCase with its timeout and
 * checked fixture in one call, main()'s run-and-report, and REQUIRE() for
 * hot loops. Split suites of one module share their fixtures through
 * other files of tests/lib; this one knows nothing about any module.
 */
#ifndef UGPU_TESTS_SUITE_H
#define UGPU_TESTS_SUITE_H

#include <check.h>

/*
 * ck_assert() marks a point on every call, which is slow in forked mode;
 * hot loops use this instead and only pay on failure.
 */
#define REQUIRE(cond, ...)					\
	do {							\
		if (!(cond))					\
			ck_abort_msg(__VA_ARGS__);		\
	} while (0)

/**
 * tu_tcase - create a TCase and add it to @s
 * @s:        the suite
 * @name:     the TCase's name (one concern)
 * @timeout:  seconds; <= 0 keeps Check's default
 * @setup:    checked fixture run before each test, or NULL
 * @teardown: checked fixture run after each test, or NULL
 *
 * Return: the TCase, for tcase_add_test().
 */
TCase *tu_tcase(Suite *s, const char *name, double timeout, void (*setup)(void),
		void (*teardown)(void));

/**
 * tu_run_suite - run every test of @s (CK_NORMAL output) and free it
 * @s: the suite
 *
 * Return: EXIT_SUCCESS if nothing failed, else EXIT_FAILURE: main()'s status.
 */
int tu_run_suite(Suite *s);

#endif
