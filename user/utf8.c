// SPDX-License-Identifier: Apache-2.0
/* UTF-8 validation and repair by the well-formed sequences of Unicode's Table 3-7. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "utf8.h"

static const char replacement[] = "\xef\xbf\xbd";

/*
 * The length of the well-formed sequence at @s (@len bytes left), or 0 when
 * it is ill-formed, then *@bad is its maximal subpart's length (at least 1).
 * The lead byte fixes the second byte's range, which is what rules out
 * overlongs (E0, F0), surrogates (ED) and code points past U+10FFFF (F4).
 */
static size_t sequence(const unsigned char *s, size_t len, size_t *bad)
{
	unsigned char lo = 0x80, hi = 0xbf;
	size_t need, i;

	if (s[0] >= 0x01 && s[0] <= 0x7f)
		return 1;
	if (s[0] >= 0xc2 && s[0] <= 0xdf)
		need = 2;
	else if (s[0] >= 0xe0 && s[0] <= 0xef)
		need = 3;
	else if (s[0] >= 0xf0 && s[0] <= 0xf4)
		need = 4;
	else
		need = 0; /* NUL, a continuation byte, C0, C1, F5..FF: never a lead */
	if (s[0] == 0xe0)
		lo = 0xa0;
	else if (s[0] == 0xed)
		hi = 0x9f;
	else if (s[0] == 0xf0)
		lo = 0x90;
	else if (s[0] == 0xf4)
		hi = 0x8f;
	for (i = 1; i < need && i < len; i++) {
		if (s[i] < lo || s[i] > hi)
			break;
		lo = 0x80;
		hi = 0xbf;
	}
	if (need && i == need)
		return need;
	*bad = i;
	return 0;
}

size_t utf8__next(const char *s, size_t len, uint32_t *cp)
{
	const unsigned char *u = (const unsigned char *)s;
	size_t bad, n = len ? sequence(u, len, &bad) : 0;

	if (!n)
		return 0;
	*cp = n == 1 ? u[0] : u[0] & (0x7f >> n);
	for (size_t i = 1; i < n; i++)
		*cp = *cp << 6 | (u[i] & 0x3f);
	return n;
}

/* C0, DEL and C1 (U+0080..U+009F, C2 80..C2 9F): a terminal acts on them. */
static bool is_control(const unsigned char *s, size_t n)
{
	return (n == 1 && (s[0] < 0x20 || s[0] == 0x7f)) || (n == 2 && s[0] == 0xc2 && s[1] < 0xa0);
}

size_t utf8__sanitize(char *dst, size_t size, const char *src, size_t len, unsigned int flags)
{
	const unsigned char *s = (const unsigned char *)src;
	size_t in = 0, out = 0, n, bad = 0;

	while (in < len) {
		const char *piece = src + in;

		n = sequence(s + in, len - in, &bad);
		if (n && (flags & UTF8_TAME) && is_control(s + in, n)) {
			piece = "?";
			in += n;
			n = 1;
		} else if (n) {
			in += n;
		} else {
			piece = replacement;
			n = sizeof(replacement) - 1;
			in += bad;
		}
		if (out + n >= size)
			break;
		memcpy(dst + out, piece, n);
		out += n;
	}
	dst[out] = '\0';
	return out;
}

char *utf8__dup(const char *s)
{
	size_t len = strlen(s);
	char *copy;

	if (len > (SIZE_MAX - 1) / UTF8_GROWTH)
		return NULL;
	copy = malloc(len * UTF8_GROWTH + 1);
	if (copy)
		utf8__sanitize(copy, len * UTF8_GROWTH + 1, s, len, 0);
	return copy;
}

bool utf8__valid(const char *s, size_t len)
{
	size_t n, bad;

	for (size_t i = 0; i < len; i += n) {
		n = sequence((const unsigned char *)s + i, len - i, &bad);
		if (!n)
			return false;
	}
	return true;
}
