/* SPDX-License-Identifier: Apache-2.0 */
/* A size-capped growable text buffer (after curl's dynbuf). */
#ifndef MEMTIDE_BUF_H
#define MEMTIDE_BUF_H

#include <stdbool.h>
#include <stddef.h>

struct buf {
	char *data;
	size_t len;
	size_t cap;
	size_t max; /* appends that would exceed this fail with -E2BIG */
	int err; /* first error; later appends are no-ops so callers check once */
};

void buf__init(struct buf *b, size_t max);
void buf__free(struct buf *b);
void buf__reset(struct buf *b);
int buf__add(struct buf *b, const void *data, size_t len);
int buf__adds(struct buf *b, const char *s);
int buf__addf(struct buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Hands the NUL-terminated text to the caller, leaving @b empty. */
char *buf__steal(struct buf *b, size_t *len);

#endif
