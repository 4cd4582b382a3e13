/* SPDX-License-Identifier: Apache-2.0 */
/* Numbers as text, the same in the exposition and in the JSON documents. */
#ifndef MEMTIDE_FORMAT_H
#define MEMTIDE_FORMAT_H

#include <stddef.h>

/* Long enough for any double format__double() writes. */
#define FORMAT_DOUBLE_LEN 32

/*
 * The shortest of %.15g, %.16g and %.17g that reads back (strtod) as the
 * same finite @v: 0.1, not 0.10000000000000001. Integers below 1e15 as
 * integers. @v must be finite (callers spell NaN and infinities their own
 * way). Returns @out.
 */
const char *format__double(char out[FORMAT_DOUBLE_LEN], double v);

#endif
