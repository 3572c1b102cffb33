// SPDX-License-Identifier: MIT
/*
 * Check suite for ugpuctl's strict flat-object JSON reader and writer
 * (tools/ugpuctl/json.c, compiled into this test: ugpuctl is a program,
 * not a library). One test per kind of accepted input and one table row
 * per rejection, each with its exact errno; the writer is checked by
 * parsing what it prints.
 */
#include <check.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tools/ugpuctl/json.c"

static struct json_obj O;

static int parse(const char *s)
{
	return json_parse(s, strlen(s), &O);
}

START_TEST(test_daemon_stats)
{
	const char *s = "{\"backend\":\"sim\",\"engines\":2,\"clients\":0,\"vms\":3,"
			"\"bound_bytes\":18446744073709551615,\"exited\":false}\n";
	uint64_t v;
	bool b;

	ck_assert_int_eq(parse(s), 0);
	ck_assert_uint_eq(O.n, 6);
	ck_assert_str_eq(json_key(&O, 0), "backend");
	ck_assert_str_eq(json_get_str(&O, "backend"), "sim");
	ck_assert_int_eq(json_get_u64(&O, "vms", &v), 0);
	ck_assert_uint_eq(v, 3);
	ck_assert_int_eq(json_get_u64(&O, "bound_bytes", &v), 0);
	ck_assert_uint_eq(v, UINT64_MAX);
	ck_assert_int_eq(json_get_bool(&O, "exited", &b), 0);
	ck_assert(!b);
	ck_assert_int_eq(json_get_u64(&O, "nope", &v), -ENOENT);
	ck_assert_int_eq(json_get_u64(&O, "backend", &v), -EINVAL);
	ck_assert_int_eq(json_get_bool(&O, "vms", &b), -EINVAL);
	ck_assert_ptr_null(json_get_str(&O, "vms"));
}
END_TEST

START_TEST(test_whitespace_and_empty)
{
	ck_assert_int_eq(parse(" \t\r\n{ \"a\" : 1 ,\n\"b\":true } \n"), 0);
	ck_assert_uint_eq(O.n, 2);
	ck_assert_int_eq(parse("{}"), 0);
	ck_assert_uint_eq(O.n, 0);
}
END_TEST

START_TEST(test_signed_integers)
{
	int64_t v;
	uint64_t u;

	ck_assert_int_eq(parse("{\"a\":-9223372036854775808,\"b\":-0,\"c\":9223372036854775808}"),
			 0);
	ck_assert_int_eq(json_get_i64(&O, "a", &v), 0);
	ck_assert(v == INT64_MIN);
	ck_assert_int_eq(json_get_u64(&O, "a", &u), -EINVAL);
	ck_assert_int_eq(json_get_u64(&O, "b", &u), 0);	/* -0 is 0 */
	ck_assert_uint_eq(u, 0);
	ck_assert_int_eq(json_get_i64(&O, "c", &v), -ERANGE);
}
END_TEST

START_TEST(test_string_escapes)
{
	ck_assert_int_eq(parse("{\"s\":\"a\\\"b\\\\c\\/d\\b\\f\\n\\r\\t\\u00e9\\ud83d\\ude00\"}"),
			 0);
	ck_assert_str_eq(json_get_str(&O, "s"),
			 "a\"b\\c/d\b\f\n\r\t\xc3\xa9\xf0\x9f\x98\x80");
	ck_assert_int_eq(parse("{\"s\":\"\xe2\x82\xac raw UTF-8\"}"), 0);
	ck_assert_str_eq(json_get_str(&O, "s"), "\xe2\x82\xac raw UTF-8");
}
END_TEST

static const struct {
	const char *text;
	int err;
} rejects[] = {
	{ "", -EINVAL },
	{ "[]", -EINVAL },
	{ "{", -EINVAL },
	{ "{\"a\":1", -EINVAL },
	{ "{\"a\":1,}", -EINVAL },			/* trailing comma */
	{ "{,}", -EINVAL },
	{ "{\"a\" 1}", -EINVAL },			/* no colon */
	{ "{a:1}", -EINVAL },				/* bare key */
	{ "{'a':1}", -EINVAL },
	{ "{\"a\":1}{}", -EINVAL },			/* trailing text */
	{ "{\"a\":1} x", -EINVAL },
	{ "{\"a\":{\"b\":1}}", -EINVAL },		/* nesting */
	{ "{\"a\":[1]}", -EINVAL },			/* arrays */
	{ "{\"a\":null}", -EINVAL },
	{ "{\"a\":1.5}", -EINVAL },			/* fractions */
	{ "{\"a\":1e3}", -EINVAL },			/* exponents */
	{ "{\"a\":01}", -EINVAL },			/* leading zero */
	{ "{\"a\":+1}", -EINVAL },
	{ "{\"a\":-}", -EINVAL },
	{ "{\"a\":0x10}", -EINVAL },
	{ "{\"a\":tru}", -EINVAL },
	{ "{\"a\":True}", -EINVAL },
	{ "{\"a\":1,\"a\":2}", -EINVAL },		/* duplicate key */
	{ "{\"a\":\"x\ty\"}", -EINVAL },		/* raw control character */
	{ "{\"a\":\"\\x\"}", -EINVAL },			/* unknown escape */
	{ "{\"a\":\"\\u12\"}", -EINVAL },		/* short \u */
	{ "{\"a\":\"\\u0000\"}", -EINVAL },		/* NUL */
	{ "{\"a\":\"\\udc00\"}", -EINVAL },		/* lone low surrogate */
	{ "{\"a\":\"\\ud800x\"}", -EINVAL },		/* high without low */
	{ "{\"a\":\"\\ud800\\u0041\"}", -EINVAL },	/* high + non-low */
	{ "{\"a\":\"\xff\"}", -EINVAL },		/* not UTF-8 */
	{ "{\"a\":\"\xc0\xaf\"}", -EINVAL },		/* overlong */
	{ "{\"a\":\"\xed\xa0\x80\"}", -EINVAL },	/* encoded surrogate */
	{ "{\"a\":\"\xf4\x90\x80\x80\"}", -EINVAL },	/* > U+10FFFF */
	{ "{\"a\":\"\xe2\x82\"}", -EINVAL },		/* cut sequence */
	{ "{\"a\":\"abc}", -EINVAL },			/* unterminated */
	{ "{\"a\":18446744073709551616}", -ERANGE },	/* 2^64 */
	{ "{\"a\":-9223372036854775809}", -ERANGE },
};

START_TEST(test_reject)
{
	ck_assert_msg(parse(rejects[_i].text) == rejects[_i].err, "case %d: %s -> %d", _i,
		      rejects[_i].text, parse(rejects[_i].text));
}
END_TEST

START_TEST(test_limits)
{
	char text[JSON_POOL * 2 + 64];
	size_t off = 0;
	int i;

	off += (size_t)sprintf(text, "{");
	for (i = 0; i <= JSON_MAX_FIELDS; i++)
		off += (size_t)sprintf(text + off, "%s\"k%d\":%d", i ? "," : "", i, i);
	sprintf(text + off, "}");
	ck_assert_int_eq(parse(text), -E2BIG);

	memset(text, 'x', sizeof(text));
	memcpy(text, "{\"s\":\"", 6);
	memcpy(text + JSON_POOL + 16, "\"}", 3);
	ck_assert_int_eq(parse(text), -E2BIG);
}
END_TEST

START_TEST(test_write_round_trip)
{
	static struct json_obj b;
	char *buf = NULL;
	size_t len = 0;
	uint64_t v;
	FILE *f;

	json_init(&b);
	ck_assert_int_eq(json_add_u64(&b, "clients", 7), 0);
	ck_assert_int_eq(json_add_str(&b, "name", "q\"\\\n\x01\xc3\xa9"), 0);
	ck_assert_int_eq(json_add_u64(&b, "clients", 8), -EEXIST);
	ck_assert_int_eq(parse("{\"neg\":-5,\"t\":true}"), 0);

	f = open_memstream(&buf, &len);
	ck_assert_ptr_nonnull(f);
	json_write(f, &b);
	fclose(f);
	ck_assert_str_eq(buf, "{\"clients\":7,\"name\":\"q\\\"\\\\\\n\\u0001\xc3\xa9\"}");
	ck_assert_int_eq(json_parse(buf, len, &O), 0);
	ck_assert_int_eq(json_get_u64(&O, "clients", &v), 0);
	ck_assert_uint_eq(v, 7);
	ck_assert_str_eq(json_get_str(&O, "name"), "q\"\\\n\x01\xc3\xa9");
	free(buf);

	ck_assert_int_eq(parse("{\"neg\":-5,\"t\":true,\"f\":false}"), 0);
	f = open_memstream(&buf, &len);
	ck_assert_ptr_nonnull(f);
	json_write(f, &O);
	fclose(f);
	ck_assert_str_eq(buf, "{\"neg\":-5,\"t\":true,\"f\":false}");
	free(buf);
}
END_TEST

static Suite *json_suite(void)
{
	Suite *s = suite_create("ugpuctl_json");
	TCase *tc;

	tc = tcase_create("accept");
	tcase_set_timeout(tc, 10);
	tcase_add_test(tc, test_daemon_stats);
	tcase_add_test(tc, test_whitespace_and_empty);
	tcase_add_test(tc, test_signed_integers);
	tcase_add_test(tc, test_string_escapes);
	suite_add_tcase(s, tc);

	tc = tcase_create("reject");
	tcase_set_timeout(tc, 10);
	tcase_add_loop_test(tc, test_reject, 0, (int)(sizeof(rejects) / sizeof(rejects[0])));
	tcase_add_test(tc, test_limits);
	suite_add_tcase(s, tc);

	tc = tcase_create("write");
	tcase_set_timeout(tc, 10);
	tcase_add_test(tc, test_write_round_trip);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(json_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
