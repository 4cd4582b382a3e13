/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The one sanitizer for bytes other people chose (process names, command
 * lines, peer input): every output (exposition, JSON, logs) goes through it.
 *
 * Rule: valid UTF-8 is kept as is; each maximal subpart of an ill-formed
 * sequence (Unicode 15, section 3.9, "U+FFFD substitution of maximal
 * subparts") becomes U+FFFD. Overlong forms, surrogates (U+D800..U+DFFF),
 * code points past U+10FFFF, stray continuation bytes and a sequence cut
 * short (also at the end) are ill-formed; so is NUL, which would end a C
 * string early.
 */
#ifndef MEMTIDE_UTF8_H
#define MEMTIDE_UTF8_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The most bytes one input byte can become (U+FFFD is EF BF BD). */
#define UTF8_GROWTH 3

enum utf8_flags {
	UTF8_TAME = 1, /* control characters (C0, DEL, C1) become '?' as well (log lines) */
};

/*
 * Writes @src (@len bytes) into @dst (@size bytes, @size > 0) by the rule
 * above, NUL-terminated. When @dst is too small the text ends at the last
 * whole character that fits: the output is always valid UTF-8. Returns the
 * length written; @size = @len * UTF8_GROWTH + 1 always holds it all.
 */
size_t utf8__sanitize(char *dst, size_t size, const char *src, size_t len, unsigned int flags);
/* A malloc'ed sanitized copy of the C string @s, or NULL when out of memory. */
char *utf8__dup(const char *s);
/* The length of the well-formed sequence at @s (@len bytes left) and its
 * code point in *@cp; 0 when it is ill-formed (or @len is 0). */
size_t utf8__next(const char *s, size_t len, uint32_t *cp);
/* True when @s (@len bytes) is valid UTF-8 with no NUL: utf8__sanitize() would copy it unchanged.
 */
bool utf8__valid(const char *s, size_t len);

#endif
