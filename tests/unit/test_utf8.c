// SPDX-License-Identifier: Apache-2.0
/* The sanitizer (Unicode's maximal subparts rule) and the shortest number format. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include "format.h"
#include "utf8.h"

#define R "\xef\xbf\xbd" /* U+FFFD */

static void check(const char *in, size_t len, const char *want)
{
	char out[256];

	assert_int_equal(utf8__sanitize(out, sizeof(out), in, len, 0), strlen(want));
	assert_string_equal(out, want);
	assert_true(utf8__valid(out, strlen(out)));
	assert_int_equal(utf8__valid(in, len), strcmp(in, want) == 0 && strlen(in) == len);
}

#define CHECK(in, want) check(in, sizeof(in) - 1, want)

static void valid_text_unchanged(void **state)
{
	(void)state;
	CHECK("", "");
	CHECK("\"quoted\" {braces} back\\slash\nnewline",
	      "\"quoted\" {braces} back\\slash\nnewline");
	CHECK("é€𐍈\xf4\x8f\xbf\xbf", "é€𐍈\xf4\x8f\xbf\xbf"); /* 2, 3, 4 bytes, U+10FFFF */
	CHECK("\xed\x9f\xbf\xee\x80\x80", "\xed\x9f\xbf\xee\x80\x80"); /* around the surrogates */
}

static void invalid_bytes_replaced(void **state)
{
	(void)state;
	/* Unicode 15, Table 3-8: each maximal subpart is one U+FFFD. */
	CHECK("\x61\xf1\x80\x80\xe1\x80\xc2\x62\x80\x63\x80\xbf\x64", "a" R R R "b" R "c" R R "d");
	CHECK("\xff\xfe", R R);
	CHECK("\xc0\xaf", R R); /* overlong '/' */
	CHECK("\xe0\x80\xaf", R R R); /* overlong, 3 bytes */
	CHECK("\xf0\x80\x80\xaf", R R R R); /* overlong, 4 bytes */
	CHECK("\xed\xa0\x80", R R R); /* surrogate U+D800 */
	CHECK("\xf4\x90\x80\x80", R R R R); /* U+110000 */
	CHECK("\xf5\x80", R R);
	CHECK("x\xe2\x82", "x" R); /* truncated at the end: one U+FFFD */
	CHECK("\xf0\x9f\x98", R);
	CHECK("\xe2\x82x", R "x");
}

static void nul_replaced(void **state)
{
	char out[16];

	(void)state;
	assert_int_equal(utf8__sanitize(out, sizeof(out), "a\0b", 3, 0), 5);
	assert_string_equal(out, "a" R "b");
}

static void truncates_on_a_character(void **state)
{
	char out[6];

	(void)state;
	/* "ab" + U+FFFD is 5 bytes plus NUL: fits; one more does not, not even a part of it. */
	assert_int_equal(utf8__sanitize(out, sizeof(out), "ab\xff\xff", 4, 0), 5);
	assert_string_equal(out, "ab" R);
	assert_int_equal(utf8__sanitize(out, sizeof(out), "abcd€", 7, 0), 4);
	assert_string_equal(out, "abcd");
	assert_int_equal(utf8__sanitize(out, 1, "abc", 3, 0), 0);
	assert_string_equal(out, "");
}

static void worst_case_growth(void **state)
{
	char in[16], out[16 * UTF8_GROWTH + 1];

	(void)state;
	memset(in, 0x80, sizeof(in));
	assert_int_equal(utf8__sanitize(out, sizeof(out), in, sizeof(in), 0), 16 * 3);
}

static void tame_controls(void **state)
{
	char out[64];

	(void)state;
	/* C0, DEL and C1 (U+009B is a terminal's CSI) become '?'; U+00A0 stays. */
	utf8__sanitize(out, sizeof(out), "a\nb\x1b[\x7f\xc2\x9b\xc2\xa0\xff", 11, UTF8_TAME);
	assert_string_equal(out, "a?b?[??\xc2\xa0" R);
}

static void dup_sanitizes(void **state)
{
	char *s = utf8__dup("ok\xc3");

	(void)state;
	assert_non_null(s);
	assert_string_equal(s, "ok" R);
	free(s);
}

/* One code point at a time, by the same rule as the sanitizer. */
static void next_decodes(void **state)
{
	uint32_t cp = 0;

	(void)state;
	assert_int_equal(utf8__next("A", 1, &cp), 1);
	assert_int_equal(cp, 0x41);
	assert_int_equal(utf8__next("\xc3\xa9", 2, &cp), 2);
	assert_int_equal(cp, 0xe9);
	assert_int_equal(utf8__next("\xe2\x80\xa8", 3, &cp), 3);
	assert_int_equal(cp, 0x2028);
	assert_int_equal(utf8__next("\xf0\x9f\x98\x80", 4, &cp), 4);
	assert_int_equal(cp, 0x1f600);
	assert_int_equal(utf8__next("\xe0\x80\x80", 3, &cp), 0); /* overlong */
	assert_int_equal(utf8__next("\xed\xa0\x80", 3, &cp), 0); /* surrogate */
	assert_int_equal(utf8__next("\xf4\x90\x80\x80", 4, &cp), 0); /* past U+10FFFF */
	assert_int_equal(utf8__next("\xc3\xa9", 1, &cp), 0); /* cut short */
	assert_int_equal(utf8__next("\x80", 1, &cp), 0);
	assert_int_equal(utf8__next("", 0, &cp), 0);
}

static void shortest_numbers(void **state)
{
	static const double values[] = { 0.024794836,	0.1,
					 0.1 + 0.2,	1.0 / 3,
					 5e-324,	1.7976931348623157e308,
					 -2.5e-7,	1e15,
					 123456789.125, 0.30000000000000004 };
	char out[FORMAT_DOUBLE_LEN];

	(void)state;
	assert_string_equal(format__double(out, 0.024794836), "0.024794836");
	assert_string_equal(format__double(out, 0.1), "0.1");
	assert_string_equal(format__double(out, 0.1 + 0.2), "0.30000000000000004");
	assert_string_equal(format__double(out, 42), "42");
	assert_string_equal(format__double(out, -3), "-3");
	assert_string_equal(format__double(out, 1e15), "1e+15");
	assert_string_equal(format__double(out, 1.0 / 3), "0.3333333333333333");
	for (size_t i = 0; i < sizeof(values) / sizeof(values[0]); i++) {
		format__double(out, values[i]);
		assert_true(strtod(out, NULL) == values[i]);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(valid_text_unchanged), cmocka_unit_test(invalid_bytes_replaced),
		cmocka_unit_test(nul_replaced),		cmocka_unit_test(truncates_on_a_character),
		cmocka_unit_test(worst_case_growth),	cmocka_unit_test(tame_controls),
		cmocka_unit_test(dup_sanitizes),	cmocka_unit_test(shortest_numbers),
		cmocka_unit_test(next_decodes),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
