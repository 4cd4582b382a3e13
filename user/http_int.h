/* SPDX-License-Identifier: Apache-2.0 */
/* Inside the http module: what http.c (the server, the GET side),
 * http_gc.c (tokens, POST gc) and http_reply.c (answers) share. */
#ifndef MEMTIDE_HTTP_INT_H
#define MEMTIDE_HTTP_INT_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <microhttpd.h>
#include "gc.h"
#include "snapshot.h"

#define JSON_TYPE "application/json"

struct http {
	struct MHD_Daemon *daemon;
	pthread_mutex_t lock; /* token, gc, suspended */
	pthread_cond_t drained; /* suspended fell to 0 */
	char *token;
	struct gc *gc; /* set after the daemon started */
	unsigned int suspended; /* POST gc requests suspended and not yet completed */
	struct http_guard *guard;
	struct alerts *alerts;
	struct profile *profile;
};

/* Per request, freed when it completes. */
struct request {
	size_t body_len;
	bool too_big;
	bool suspended; /* counted in http.suspended */
	struct gc_request *gc; /* a POST gc's, once begun */
};

/* Queues @body (of @type, kept per @mode) with @status; @allow: the Allow
 * header, or NULL; a 401 asks for a bearer token. */
enum MHD_Result http_reply(struct MHD_Connection *conn, unsigned int status, const char *type,
			   const char *body, size_t len, enum MHD_ResponseMemoryMode mode,
			   const char *allow);
/* {"error": @msg} with @status; @allow: the Allow header, or NULL. */
enum MHD_Result http_error(struct MHD_Connection *conn, unsigned int status, const char *msg,
			   const char *allow);
/* ?pid=N: 0 when absent, -1 when malformed. */
int http_pid_argument(struct MHD_Connection *conn);

/* POST /api/v1/memory/gc: refusals at once (401, 400, 503); else suspends
 * the connection until the gc module's thread has the answer. */
enum MHD_Result http_serve_gc(struct http *h, struct MHD_Connection *conn, struct snapshot *s,
			      struct request *req);
/* The handler's call after the resume: queues the stored answer. */
enum MHD_Result http_reply_gc(struct MHD_Connection *conn, struct gc_request *gr);
/* From the completion callback: @req's gc part is over. */
void http_gc_done(struct http *h, struct request *req);
/* Before the daemon stops: answers every waiting POST (503) and gives the
 * answers up to a second to go out. */
void http_gc_drain(struct http *h);

#endif
