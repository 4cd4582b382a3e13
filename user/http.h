/* SPDX-License-Identifier: GPL-2.0 */
/* The HTTP server (libmicrohttpd): /metrics, /health and the JSON API, all
 * answered from the current snapshot. */
#ifndef MEMTIDE_HTTP_H
#define MEMTIDE_HTTP_H

struct http;

int http__start(const char *host, unsigned int port, struct http **out);
void http__stop(struct http *h);
/* The bearer token POSTs need from now on; NULL: none. Copied. */
int http__set_token(struct http *h, const char *token);

#endif
