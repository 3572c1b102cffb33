// SPDX-License-Identifier: MIT
/*
 * The Check boilerplate every suite repeats (suite.h): creating a TCase
 * with its timeout and fixture, and running a suite from main().
 */
#include <stdlib.h>

#include "tests/lib/suite.h"

TCase *tu_tcase(Suite *s, const char *name, double timeout, void (*setup)(void),
		void (*teardown)(void))
{
	TCase *tc = tcase_create(name);

	if (timeout > 0)
		tcase_set_timeout(tc, timeout);
	if (setup || teardown)
		tcase_add_checked_fixture(tc, setup, teardown);
	suite_add_tcase(s, tc);
	return tc;
}

int tu_run_suite(Suite *s)
{
	SRunner *sr = srunner_create(s);
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
