/* SPDX-License-Identifier: GPL-2.0 */
/* The HTTP server (libmicrohttpd): /metrics, /health and the JSON API, all
 * answered from the current snapshot. */
#ifndef MEMTIDE_HTTP_H
#define MEMTIDE_HTTP_H

struct http;

int http__start(const char *host, unsigned int port, struct http **out);
void http__stop(struct http *h);
#include "buf.h"

/* POST /api/v1/memory/gc's work: @pid 0 for every candidate; fills @out with
 * the JSON answer and returns the HTTP status. May take seconds: it runs on
 * one of the server's threads, the others keep serving. */
typedef unsigned int (*http_gc_fn)(void *ctx, int pid, struct buf *out);
void http__set_gc(struct http *h, http_gc_fn fn, void *ctx);

struct alerts;
/* GET /api/v1/alerts answers from @alerts (NULL: 404). */
void http__set_alerts(struct http *h, struct alerts *alerts);

/* The bearer token POSTs need from now on; NULL: none. Copied. */
int http__set_token(struct http *h, const char *token);

#endif
