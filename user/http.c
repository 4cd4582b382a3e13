// SPDX-License-Identifier: Apache-2.0
/*
 * Every answer is built from one snapshot reference, so /metrics and the JSON
 * documents agree. Limits keep a flood of clients from costing the agent more
 * than a bounded amount of memory: connections (in total and per address),
 * an idle timeout, memory per connection, and a small cap on request bodies;
 * http_guard.c keeps slow clients from holding connections. No handler ever
 * waits: http_gc.c suspends a POST gc until the gc module has its answer.
 */
#include <errno.h>
#include <netdb.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <microhttpd.h>
#include "alerts.h"
#include "api.h"
#include "clock.h"
#include "config.h"
#include "exposition.h"
#include "gzip.h"
#include "http.h"
#include "http_guard.h"
#include "http_int.h"
#include "log.h"
#include "profile.h"
#include "sizes.h"
#include "snapshot.h"

#define CONNECTION_LIMIT 512
/* A handful of addresses at this cap still leave room: 5 x 64 = 320 of 512. */
#define PER_IP_LIMIT 64
#define CONNECTION_TIMEOUT_S 10
#define MEMORY_LIMIT (64 * 1024)
#define BODY_MAX 4096
#define HTTP_THREADS 4

static const char index_page[] =
	"<html><head><title>memtide</title></head><body><h1>memtide</h1><ul>"
	"<li><a href=\"/metrics\">/metrics</a></li>"
	"<li><a href=\"/health\">/health</a></li>"
	"<li><a href=\"/api/v1/memory/stats\">/api/v1/memory/stats</a></li>"
	"<li><a href=\"/api/v1/alerts\">/api/v1/alerts</a></li>"
	"<li>/api/v1/memory/profile?pid=N (a pprof heap profile)</li>"
	"</ul></body></html>\n";

/* Takes over @b's text. A 404 from a handler is still a JSON document. */
static enum MHD_Result reply_buf(struct MHD_Connection *conn, unsigned int status, struct buf *b)
{
	size_t len;
	char *text;
	struct MHD_Response *r;
	enum MHD_Result ret;

	if (b->err) {
		buf__free(b);
		return http_error(conn, MHD_HTTP_INTERNAL_SERVER_ERROR, "response too large", NULL);
	}
	text = buf__steal(b, &len);
	r = MHD_create_response_from_buffer(len, text, MHD_RESPMEM_MUST_FREE);
	if (!r) {
		free(text);
		return MHD_NO;
	}
	MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, JSON_TYPE);
	ret = MHD_queue_response(conn, status, r);
	MHD_destroy_response(r);
	return ret;
}

static void release_snapshot(void *snapshot)
{
	snapshot__put(snapshot);
}

static enum MHD_Result serve_metrics(struct http *h, struct MHD_Connection *conn,
				     struct snapshot *s, struct request *req)
{
	const char *body, *accept;
	size_t len;
	bool gzip;
	struct MHD_Response *r;
	enum MHD_Result ret;

	(void)h;
	(void)req;
	if (!s || !s->metrics)
		return http_error(conn, MHD_HTTP_SERVICE_UNAVAILABLE, "no snapshot yet", NULL);
	accept =
		MHD_lookup_connection_value(conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_ACCEPT_ENCODING);
	/* Identity when compression fails: the scrape still succeeds. */
	gzip = gzip__accepted(accept) && !snapshot__metrics_gzip(s, &body, &len);
	if (!gzip) {
		body = s->metrics;
		len = s->metrics_len;
	}
	/* The snapshot outlives the response: MHD copies nothing. */
	r = MHD_create_response_from_buffer_with_free_callback_cls(
		len, (void *)body, release_snapshot, snapshot__get(s));
	if (!r) {
		snapshot__put(s);
		return MHD_NO;
	}
	MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, EXPOSITION_CONTENT_TYPE);
	MHD_add_response_header(r, MHD_HTTP_HEADER_VARY, MHD_HTTP_HEADER_ACCEPT_ENCODING);
	if (gzip)
		MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_ENCODING, "gzip");
	ret = MHD_queue_response(conn, MHD_HTTP_OK, r);
	MHD_destroy_response(r);
	return ret;
}

static enum MHD_Result serve_health(struct http *h, struct MHD_Connection *conn, struct snapshot *s,
				    struct request *req)
{
	struct buf b;

	(void)h;
	(void)req;
	buf__init(&b, JSON_MAX);
	return reply_buf(conn, api__health(s, (double)time(NULL), &b), &b);
}

typedef int (*document_fn)(const struct snapshot *s, int pid, struct buf *out);

static enum MHD_Result serve_document(struct MHD_Connection *conn, struct snapshot *s,
				      document_fn fn)
{
	int pid = http_pid_argument(conn);
	struct buf b;

	if (pid < 0)
		return http_error(conn, MHD_HTTP_BAD_REQUEST, "pid must be a process id", NULL);
	if (!s)
		return http_error(conn, MHD_HTTP_SERVICE_UNAVAILABLE, "no snapshot yet", NULL);
	buf__init(&b, JSON_MAX);
	if (fn(s, pid, &b) == -ENOENT) {
		buf__free(&b);
		return http_error(conn, MHD_HTTP_NOT_FOUND, "no tracked process has that pid",
				  NULL);
	}
	return reply_buf(conn, MHD_HTTP_OK, &b);
}

static enum MHD_Result serve_stats(struct http *h, struct MHD_Connection *conn, struct snapshot *s,
				   struct request *req)
{
	(void)h;
	(void)req;
	return serve_document(conn, s, api__stats);
}

static enum MHD_Result serve_alerts(struct http *h, struct MHD_Connection *conn, struct snapshot *s,
				    struct request *req)
{
	struct alerts *alerts = __atomic_load_n(&h->alerts, __ATOMIC_ACQUIRE);
	struct buf b;

	(void)s;
	(void)req;
	if (!alerts)
		return http_error(conn, MHD_HTTP_NOT_FOUND, "not found", NULL);
	buf__init(&b, JSON_MAX);
	alerts__json(alerts, &b);
	return reply_buf(conn, MHD_HTTP_OK, &b);
}

/* A gzipped pprof heap profile, as Go's net/http/pprof answers one. */
static enum MHD_Result serve_profile(struct http *h, struct MHD_Connection *conn,
				     struct snapshot *s, struct request *req)
{
	struct profile *profile = __atomic_load_n(&h->profile, __ATOMIC_ACQUIRE);
	int pid = http_pid_argument(conn), err;
	struct MHD_Response *r;
	enum MHD_Result ret;
	char *data, disposition[64];
	size_t len;

	(void)s;
	(void)req;
	if (pid <= 0)
		return http_error(conn, MHD_HTTP_BAD_REQUEST, "pid must be a process id", NULL);
	if (!profile)
		return http_error(conn, MHD_HTTP_NOT_FOUND, "sampled allocation sites are off",
				  NULL);
	err = profile__pprof(profile, pid, &data, &len);
	if (err == -ENOENT)
		return http_error(
			conn, MHD_HTTP_NOT_FOUND,
			"no profiled process has that pid (it carries no otel_memory probes, or is not tracked)",
			NULL);
	if (err)
		return http_error(conn, MHD_HTTP_INTERNAL_SERVER_ERROR, strerror(-err), NULL);
	r = MHD_create_response_from_buffer(len, data, MHD_RESPMEM_MUST_FREE);
	if (!r) {
		free(data);
		return MHD_NO;
	}
	snprintf(disposition, sizeof(disposition), "attachment; filename=\"heap-%d.pb.gz\"", pid);
	MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, "application/octet-stream");
	MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_DISPOSITION, disposition);
	ret = MHD_queue_response(conn, MHD_HTTP_OK, r);
	MHD_destroy_response(r);
	return ret;
}

static enum MHD_Result serve_index(struct http *h, struct MHD_Connection *conn, struct snapshot *s,
				   struct request *req)
{
	(void)h;
	(void)s;
	(void)req;
	return http_reply(conn, MHD_HTTP_OK, "text/html; charset=utf-8", index_page,
			  sizeof(index_page) - 1, MHD_RESPMEM_PERSISTENT, NULL);
}

typedef enum MHD_Result (*route_fn)(struct http *h, struct MHD_Connection *conn, struct snapshot *s,
				    struct request *req);

static const struct route {
	const char *path;
	const char *allow; /* the methods, as the Allow header lists them */
	route_fn fn;
	/* The API's query parameters: any other is a 400, not silently ignored
	 * (?comm=x would otherwise answer every process). NULL: not checked. */
	const char *const *params;
} routes[] = {
	{ "/metrics", "GET, HEAD", serve_metrics, NULL },
	{ "/health", "GET, HEAD", serve_health, NULL },
	{ "/api/v1/memory/stats", "GET, HEAD", serve_stats, (const char *const[]){ "pid", NULL } },
	{ "/api/v1/memory/gc", "POST", http_serve_gc, (const char *const[]){ "pid", NULL } },
	{ "/api/v1/alerts", "GET, HEAD", serve_alerts, NULL },
	{ "/api/v1/memory/profile", "GET, HEAD", serve_profile,
	  (const char *const[]){ "pid", NULL } },
	{ "/", "GET, HEAD", serve_index, NULL },
};

struct bad_param {
	const char *const *known;
	bool found;
	char msg[192]; /* what is wrong with the first bad one */
};

/* Unknown names, the empty name, and a known name without a value ("?pid"
 * is not "no pid") are all refused. */
static enum MHD_Result find_bad(void *cls, enum MHD_ValueKind kind, const char *key,
				const char *value)
{
	struct bad_param *b = cls;

	(void)kind;
	for (const char *const *k = b->known; *k; k++) {
		if (strcmp(key, *k) != 0)
			continue;
		if (value)
			return MHD_YES;
		snprintf(b->msg, sizeof(b->msg), "query parameter %.128s needs a value", key);
		b->found = true;
		return MHD_NO;
	}
	/* The name is the client's bytes: the JSON writer sanitizes it. */
	snprintf(b->msg, sizeof(b->msg), "unknown query parameter: \"%.128s\"", key);
	b->found = true;
	return MHD_NO;
}

/* 400 naming the first query parameter @route refuses, or MHD_YES with
 * nothing sent (*@sent false) when there is none. */
static enum MHD_Result check_params(struct MHD_Connection *conn, const struct route *route,
				    bool *sent)
{
	struct bad_param b = { .known = route->params };

	*sent = false;
	if (!route->params)
		return MHD_YES;
	MHD_get_connection_values(conn, MHD_GET_ARGUMENT_KIND, find_bad, &b);
	if (!b.found)
		return MHD_YES;
	*sent = true;
	return http_error(conn, MHD_HTTP_BAD_REQUEST, b.msg, NULL);
}

static bool method_allowed(const char *method, const char *allow)
{
	size_t n = strlen(method);

	for (const char *p = allow; *p; p += strspn(p, ", ")) {
		size_t len = strcspn(p, ", ");

		if (len == n && strncmp(p, method, n) == 0)
			return true;
		p += len;
	}
	return false;
}

static enum MHD_Result handle(void *cls, struct MHD_Connection *conn, const char *url,
			      const char *method, const char *version, const char *upload_data,
			      size_t *upload_data_size, void **con_cls)
{
	struct http *h = cls;
	struct request *req = *con_cls;
	const struct route *route = NULL;
	struct snapshot *s;
	enum MHD_Result ret;
	bool sent;

	(void)version;
	(void)upload_data;
	if (!req) {
		const char *length = MHD_lookup_connection_value(conn, MHD_HEADER_KIND,
								 MHD_HTTP_HEADER_CONTENT_LENGTH);
		uint64_t n;

		req = calloc(1, sizeof(*req));
		if (!req)
			return MHD_NO;
		*con_cls = req;
		/* Refuse a declared oversized body before reading any of it. */
		if (length && (parse_uint(length, UINT64_MAX, &n) || n > BODY_MAX)) {
			http_guard__active(h->guard, conn);
			return http_error(conn, MHD_HTTP_CONTENT_TOO_LARGE,
					  "request body too large", NULL);
		}
		return MHD_YES;
	}
	if (*upload_data_size) {
		req->body_len += *upload_data_size;
		req->too_big |= req->body_len > BODY_MAX;
		*upload_data_size = 0;
		return MHD_YES;
	}
	/* The whole request is in: the connection no longer waits on its client. */
	http_guard__active(h->guard, conn);
	if (req->gc) /* resumed: the gc thread has the answer */
		return http_reply_gc(conn, req->gc);
	if (req->too_big)
		return http_error(conn, MHD_HTTP_CONTENT_TOO_LARGE, "request body too large", NULL);
	for (size_t i = 0; i < sizeof(routes) / sizeof(routes[0]) && !route; i++)
		if (strcmp(url, routes[i].path) == 0)
			route = &routes[i];
	if (!route)
		return http_error(conn, MHD_HTTP_NOT_FOUND, "not found", NULL);
	if (!method_allowed(method, route->allow))
		return http_error(conn, MHD_HTTP_METHOD_NOT_ALLOWED, "method not allowed",
				  route->allow);
	ret = check_params(conn, route, &sent);
	if (sent)
		return ret;
	s = snapshot__current();
	ret = route->fn(h, conn, s, req);
	snapshot__put(s);
	return ret;
}

static void completed(void *cls, struct MHD_Connection *conn, void **con_cls,
		      enum MHD_RequestTerminationCode code)
{
	struct http *h = cls;
	struct request *req = *con_cls;

	if (req)
		http_gc_done(h, req);
	free(req);
	*con_cls = NULL;
	/* Kept alive: from now on it waits for the client's next request. */
	if (code == MHD_REQUEST_TERMINATED_COMPLETED_OK)
		http_guard__idle(h->guard, conn);
}

static void mhd_log(void *cls, const char *fmt, va_list ap)
{
	(void)cls;
	log__vmsg(LOG_DEBUG, "http: ", fmt, ap);
}

int http__start(const char *host, unsigned int port, struct http **out)
{
	struct addrinfo hints = { .ai_flags = AI_NUMERICHOST | AI_PASSIVE,
				  .ai_socktype = SOCK_STREAM };
	struct addrinfo *ai = NULL;
	struct http *h;
	char service[8];
	/* A POST gc waiting for trims is suspended: it holds none of the threads. */
	unsigned int flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_ERROR_LOG | MHD_USE_EPOLL |
			     MHD_ALLOW_SUSPEND_RESUME;
	int err;

	snprintf(service, sizeof(service), "%u", port);
	err = getaddrinfo(*host ? host : NULL, service, &hints, &ai);
	if (err) {
		log_error("listen address %s: %s", host, gai_strerror(err));
		return -EINVAL;
	}
	h = calloc(1, sizeof(*h));
	if (!h) {
		err = -ENOMEM;
		goto free_ai;
	}
	err = http_guard__new(&h->guard);
	if (err)
		goto free_http;
	err = clock__cond_init(&h->drained);
	if (err)
		goto free_guard;
	pthread_mutex_init(&h->lock, NULL);
	if (ai->ai_family == AF_INET6)
		flags |= MHD_USE_IPv6;
	h->daemon = MHD_start_daemon(
		flags, (uint16_t)port, NULL, NULL, handle, h,
		/* first, or MHD warns about its place through stderr */
		MHD_OPTION_EXTERNAL_LOGGER, mhd_log, NULL, MHD_OPTION_SOCK_ADDR, ai->ai_addr,
		MHD_OPTION_THREAD_POOL_SIZE, (unsigned int)HTTP_THREADS,
		MHD_OPTION_CONNECTION_LIMIT, CONNECTION_LIMIT, MHD_OPTION_PER_IP_CONNECTION_LIMIT,
		PER_IP_LIMIT, MHD_OPTION_CONNECTION_TIMEOUT, CONNECTION_TIMEOUT_S,
		MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)MEMORY_LIMIT,
		MHD_OPTION_NOTIFY_COMPLETED, completed, h, MHD_OPTION_NOTIFY_CONNECTION,
		http_guard__notify, h->guard, MHD_OPTION_END);
	if (!h->daemon) {
		log_error("cannot listen on %s:%u (in use, or not an address of this host)", host,
			  port);
		err = -EADDRINUSE;
		goto destroy;
	}
	freeaddrinfo(ai);
	*out = h;
	return 0;

destroy:
	pthread_mutex_destroy(&h->lock);
	pthread_cond_destroy(&h->drained);
free_guard:
	http_guard__free(h->guard);
free_http:
	free(h);
free_ai:
	freeaddrinfo(ai);
	return err;
}

void http__set_alerts(struct http *h, struct alerts *alerts)
{
	/* The server is already answering: set it as the handlers read it. */
	__atomic_store_n(&h->alerts, alerts, __ATOMIC_RELEASE);
}

void http__set_profile(struct http *h, struct profile *profile)
{
	__atomic_store_n(&h->profile, profile, __ATOMIC_RELEASE);
}

void http__stop(struct http *h)
{
	if (!h)
		return;
	/* libmicrohttpd must not be stopped with a connection suspended. */
	http_gc_drain(h);
	MHD_stop_daemon(h->daemon);
	gc__free(h->gc);
	http_guard__free(h->guard);
	pthread_mutex_destroy(&h->lock);
	pthread_cond_destroy(&h->drained);
	free(h->token);
	free(h);
}
