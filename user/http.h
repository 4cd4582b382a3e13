/* SPDX-License-Identifier: Apache-2.0 */
/* The HTTP server (libmicrohttpd): /metrics, /health and the JSON API, all
 * answered from the current snapshot. */
#ifndef MEMTIDE_HTTP_H
#define MEMTIDE_HTTP_H

struct http;

int http__start(const char *host, unsigned int port, struct http **out);
void http__stop(struct http *h);

struct gc_deps;
/* Starts the gc module's thread: POST /api/v1/memory/gc trims through @deps
 * (until then, and if it cannot start, POST gc answers 503). */
void http__set_gc(struct http *h, const struct gc_deps *deps);

struct alerts;
/* GET /api/v1/alerts answers from @alerts (NULL: 404). */
void http__set_alerts(struct http *h, struct alerts *alerts);

struct profile;
/* GET /api/v1/memory/profile?pid=N answers from @profile (NULL: 404). */
void http__set_profile(struct http *h, struct profile *profile);

/* The bearer token POSTs need from now on; NULL: none. Copied. */
int http__set_token(struct http *h, const char *token);

#endif
