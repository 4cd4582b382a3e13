// SPDX-License-Identifier: Apache-2.0
/*
 * The POST side: the bearer token, and POST /api/v1/memory/gc. An accepted
 * POST is suspended (it holds none of the server's threads) and handed to
 * the gc module's thread, which resumes it once the answer is ready; the
 * handler then runs again and queues that answer.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include "clock.h"
#include "http.h"
#include "http_guard.h"
#include "http_int.h"
#include "log.h"

#define DRAIN_MS 1000 /* at shutdown, for the last answers to go out */

/* Compares every byte whatever the input, so timing tells nothing of the token. */
static bool token_matches(const char *given, const char *token)
{
	size_t n = strlen(token), m = strlen(given);
	unsigned char diff = n != m;

	for (size_t i = 0; i < n; i++)
		diff |= (unsigned char)token[i] ^ (unsigned char)(i < m ? given[i] : 0);
	return diff == 0;
}

static bool authorized(struct http *h, struct MHD_Connection *conn)
{
	const char *auth =
		MHD_lookup_connection_value(conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_AUTHORIZATION);
	bool ok;

	pthread_mutex_lock(&h->lock);
	ok = !h->token ||
	     /* The scheme is case-insensitive (RFC 7235); the token is not. */
	     (auth && strncasecmp(auth, "Bearer ", 7) == 0 && token_matches(auth + 7, h->token));
	pthread_mutex_unlock(&h->lock);
	return ok;
}

enum MHD_Result http_reply_gc(struct MHD_Connection *conn, struct gc_request *gr)
{
	unsigned int retry;
	size_t len = 0;
	char *body = NULL, seconds[16];
	unsigned int status = gc_request__answer(gr, &retry, &body, &len);
	struct MHD_Response *r;
	enum MHD_Result ret;

	if (!body)
		return http_error(conn, MHD_HTTP_INTERNAL_SERVER_ERROR, "response too large", NULL);
	r = MHD_create_response_from_buffer(len, body, MHD_RESPMEM_MUST_FREE);
	if (!r) {
		free(body);
		return MHD_NO;
	}
	MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, JSON_TYPE);
	if (retry) {
		snprintf(seconds, sizeof(seconds), "%u", retry);
		MHD_add_response_header(r, MHD_HTTP_HEADER_RETRY_AFTER, seconds);
	}
	ret = MHD_queue_response(conn, status, r);
	MHD_destroy_response(r);
	return ret;
}

/* From the gc thread, once the answer is ready: the handler runs again. */
static void resume(void *conn)
{
	MHD_resume_connection(conn);
}

enum MHD_Result http_serve_gc(struct http *h, struct MHD_Connection *conn, struct snapshot *s,
			      struct request *req)
{
	int pid = http_pid_argument(conn);
	char peer[HTTP_PEER_LEN];
	struct gc *g;

	(void)s; /* the gc module takes the latest itself */
	http_peer(conn, peer, sizeof(peer));
	pthread_mutex_lock(&h->lock);
	g = h->gc;
	pthread_mutex_unlock(&h->lock);
	if (!authorized(h, conn)) {
		if (g)
			gc__log_refusal(g, peer, "no valid bearer token (401)");
		return http_error(conn, MHD_HTTP_UNAUTHORIZED, "a bearer token is required", NULL);
	}
	if (pid < 0) {
		if (g)
			gc__log_refusal(g, peer, "pid is not a process id (400)");
		return http_error(conn, MHD_HTTP_BAD_REQUEST, "pid must be a process id", NULL);
	}
	if (!g)
		return http_error(conn, MHD_HTTP_SERVICE_UNAVAILABLE, "trimming is not available",
				  NULL);
	if (gc__begin(g, pid, peer, &req->gc))
		return http_error(conn, MHD_HTTP_INTERNAL_SERVER_ERROR, "out of memory", NULL);
	if (!gc_request__pending(req->gc))
		return http_reply_gc(conn, req->gc);
	pthread_mutex_lock(&h->lock);
	h->suspended++;
	pthread_mutex_unlock(&h->lock);
	req->suspended = true;
	/* Suspended before the gc thread can see the request, so its resume
	 * always finds the connection suspended. */
	MHD_suspend_connection(conn);
	gc__wait(g, req->gc, resume, conn);
	return MHD_YES;
}

void http_gc_done(struct http *h, struct request *req)
{
	gc_request__free(req->gc);
	req->gc = NULL;
	if (!req->suspended)
		return;
	req->suspended = false;
	pthread_mutex_lock(&h->lock);
	if (!--h->suspended)
		pthread_cond_broadcast(&h->drained);
	pthread_mutex_unlock(&h->lock);
}

void http_gc_drain(struct http *h)
{
	struct timespec until = clock__deadline(DRAIN_MS);

	gc__stop(h->gc);
	pthread_mutex_lock(&h->lock);
	while (h->suspended)
		if (pthread_cond_timedwait(&h->drained, &h->lock, &until) == ETIMEDOUT)
			break;
	pthread_mutex_unlock(&h->lock);
}

void http__set_gc(struct http *h, const struct gc_deps *deps)
{
	struct gc *g;
	int err = gc__start(deps, &g);

	if (err) {
		log_error("cannot start the gc thread: %s; POST gc answers 503", strerror(-err));
		return;
	}
	pthread_mutex_lock(&h->lock);
	h->gc = g;
	pthread_mutex_unlock(&h->lock);
}

int http__set_token(struct http *h, const char *token)
{
	char *copy = token ? strdup(token) : NULL;

	if (token && !copy)
		return -ENOMEM;
	pthread_mutex_lock(&h->lock);
	free(h->token);
	h->token = copy;
	pthread_mutex_unlock(&h->lock);
	return 0;
}
