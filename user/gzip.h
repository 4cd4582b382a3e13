/* SPDX-License-Identifier: Apache-2.0 */
/* Content-Encoding: gzip for /metrics (Prometheus always asks for it). */
#ifndef MEMTIDE_GZIP_H
#define MEMTIDE_GZIP_H

#include <stdbool.h>
#include <stddef.h>

/* Whether an Accept-Encoding header value admits gzip (RFC 9110: a "gzip"
 * or "*" coding whose q is not 0). NULL: no header, identity only. */
bool gzip__accepted(const char *accept_encoding);

/* Compresses @len bytes into a malloc'd gzip member; 0 or -errno. */
int gzip__compress(const void *data, size_t len, char **out, size_t *out_len);

#endif
