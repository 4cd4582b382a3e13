// SPDX-License-Identifier: Apache-2.0
/*
 * The sanitizer on any bytes and any output size: the output is valid UTF-8
 * (checked by the harness's own decoder), fits, is valid input's own prefix
 * when nothing was wrong, and holds no control character when tamed. Also
 * format__double() on any finite bit pattern: it reads back the same value.
 */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "format.h"
#include "fuzz.h"
#include "utf8.h"

static void check_tamed(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];

		FUZZ_CHECK(c >= 0x20 && c != 0x7f);
		FUZZ_CHECK(!(c == 0xc2 && i + 1 < n && (unsigned char)s[i + 1] < 0xa0));
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_in in = { data, size };
	size_t cap = fuzz_u8(&in) + 1, len, n, full;
	unsigned int flags = fuzz_u8(&in) & UTF8_TAME;
	char number[FORMAT_DOUBLE_LEN], *out, *whole;
	double v = fuzz_double(&in);
	const char *src = (const char *)in.p;

	len = in.n;
	out = malloc(cap);
	whole = malloc(len * UTF8_GROWTH + 1);
	if (!out || !whole)
		abort();
	n = utf8__sanitize(out, cap, src, len, flags);
	FUZZ_CHECK(n < cap && strlen(out) == n && fuzz_valid_utf8(out, n));
	full = utf8__sanitize(whole, len * UTF8_GROWTH + 1, src, len, flags);
	FUZZ_CHECK(strlen(whole) == full && fuzz_valid_utf8(whole, full));
	/* A cut output is the whole one's prefix, cut on a character. */
	FUZZ_CHECK(n <= full && memcmp(out, whole, n) == 0);
	FUZZ_CHECK(utf8__valid(src, len) == fuzz_valid_utf8(src, len));
	if (!flags && fuzz_valid_utf8(src, len))
		FUZZ_CHECK(full == len && memcmp(whole, src, len) == 0);
	if (flags)
		check_tamed(whole, full);
	free(out);
	free(whole);

	if (isfinite(v))
		FUZZ_CHECK(strtod(format__double(number, v), NULL) == v);
	return 0;
}
