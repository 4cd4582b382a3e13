/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Inside the http module: connections that have not yet sent a whole request
 * (new ones, and kept-alive ones between requests) are "waiting". Few of them
 * are allowed at once, and not for long, so trickling clients cannot hold the
 * server's connections away from a scraper.
 */
#ifndef MEMTIDE_HTTP_GUARD_H
#define MEMTIDE_HTTP_GUARD_H

#include <stddef.h>
#include <microhttpd.h>

#define GUARD_WAITING_MAX 128 /* waiting connections, all addresses together */
#define GUARD_HEADER_TIMEOUT_MS 5000 /* to send a whole request, headers and body */

struct http_guard;

/* Starts the thread that closes connections waiting past the timeout. */
int http_guard__new(struct http_guard **out);
/* After the daemon has stopped (every connection closed). */
void http_guard__free(struct http_guard *g);
/* MHD_OPTION_NOTIFY_CONNECTION's callback, @cls the guard. */
void http_guard__notify(void *cls, struct MHD_Connection *conn, void **socket_context,
			enum MHD_ConnectionNotificationCode code);
/* The access handler has the whole request: no longer waiting. */
void http_guard__active(struct http_guard *g, struct MHD_Connection *conn);
/* The answer went out and the connection stays open: waiting again. */
void http_guard__idle(struct http_guard *g, struct MHD_Connection *conn);

/* The client's address as text for the log: 127.0.0.1:port or [::1]:port. */
void http_peer(struct MHD_Connection *conn, char *out, size_t len);

#endif
