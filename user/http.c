// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <microhttpd.h>
#include "exposition.h"
#include "http.h"
#include "log.h"
#include "snapshot.h"

#define CONNECTION_LIMIT 256
#define PER_IP_LIMIT 64
#define CONNECTION_TIMEOUT_S 10
#define MEMORY_LIMIT (256 * 1024)

struct http {
	struct MHD_Daemon *daemon;
};

static const char index_page[] =
	"<html><head><title>memtide</title></head><body><h1>memtide</h1>"
	"<p><a href=\"/metrics\">Metrics</a></p></body></html>\n";

static enum MHD_Result reply(struct MHD_Connection *conn, unsigned int status, const char *type,
			     const char *body, size_t len, enum MHD_ResponseMemoryMode mode,
			     const char *allow)
{
	struct MHD_Response *r = MHD_create_response_from_buffer(len, (void *)body, mode);
	enum MHD_Result ret;

	if (!r)
		return MHD_NO;
	MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, type);
	if (allow)
		MHD_add_response_header(r, MHD_HTTP_HEADER_ALLOW, allow);
	ret = MHD_queue_response(conn, status, r);
	MHD_destroy_response(r);
	return ret;
}

static enum MHD_Result error(struct MHD_Connection *conn, unsigned int status, const char *msg,
			     const char *allow)
{
	char body[256];
	int n = snprintf(body, sizeof(body), "{\"error\":\"%s\"}\n", msg);

	return reply(conn, status, "application/json", body, (size_t)n, MHD_RESPMEM_MUST_COPY,
		     allow);
}

static enum MHD_Result serve_metrics(struct MHD_Connection *conn)
{
	struct snapshot *s = snapshot__current();
	enum MHD_Result ret;

	if (!s || !s->metrics)
		ret = error(conn, MHD_HTTP_SERVICE_UNAVAILABLE, "no snapshot yet", NULL);
	else
		ret = reply(conn, MHD_HTTP_OK, EXPOSITION_CONTENT_TYPE, s->metrics, s->metrics_len,
			    MHD_RESPMEM_MUST_COPY, NULL);
	snapshot__put(s);
	return ret;
}

static enum MHD_Result handle(void *cls, struct MHD_Connection *conn, const char *url,
			      const char *method, const char *version, const char *upload_data,
			      size_t *upload_data_size, void **con_cls)
{
	bool get = strcmp(method, MHD_HTTP_METHOD_GET) == 0 ||
		   strcmp(method, MHD_HTTP_METHOD_HEAD) == 0;

	(void)cls;
	(void)version;
	(void)upload_data;
	/* First call per request: headers only. Bodies are never read: none is needed. */
	if (!*con_cls) {
		*con_cls = conn;
		return MHD_YES;
	}
	if (*upload_data_size) {
		*upload_data_size = 0;
		return MHD_YES;
	}
	if (strcmp(url, "/metrics") == 0)
		return get ? serve_metrics(conn)
			   : error(conn, MHD_HTTP_METHOD_NOT_ALLOWED, "method not allowed",
				   "GET, HEAD");
	if (strcmp(url, "/") == 0)
		return get ? reply(conn, MHD_HTTP_OK, "text/html; charset=utf-8", index_page,
				   sizeof(index_page) - 1, MHD_RESPMEM_PERSISTENT, NULL)
			   : error(conn, MHD_HTTP_METHOD_NOT_ALLOWED, "method not allowed",
				   "GET, HEAD");
	return error(conn, MHD_HTTP_NOT_FOUND, "not found", NULL);
}

static void mhd_log(void *cls, const char *fmt, va_list ap)
{
	char line[512];
	size_t n;

	(void)cls;
	vsnprintf(line, sizeof(line), fmt, ap);
	n = strlen(line);
	if (n && line[n - 1] == '\n')
		line[n - 1] = '\0';
	log_debug("http: %s", line);
}

int http__start(const char *host, unsigned int port, struct http **out)
{
	struct addrinfo hints = { .ai_flags = AI_NUMERICHOST | AI_PASSIVE,
				  .ai_socktype = SOCK_STREAM };
	struct addrinfo *ai = NULL;
	struct http *h;
	char service[8];
	unsigned int flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_ERROR_LOG |
			     MHD_USE_EPOLL;
	int err;

	snprintf(service, sizeof(service), "%u", port);
	err = getaddrinfo(*host ? host : NULL, service, &hints, &ai);
	if (err) {
		log_error("listen address %s: %s", host, gai_strerror(err));
		return -EINVAL;
	}
	h = calloc(1, sizeof(*h));
	if (!h) {
		freeaddrinfo(ai);
		return -ENOMEM;
	}
	if (ai->ai_family == AF_INET6)
		flags |= MHD_USE_IPv6;
	h->daemon = MHD_start_daemon(flags, (uint16_t)port, NULL, NULL, handle, NULL,
				     MHD_OPTION_SOCK_ADDR, ai->ai_addr,
				     MHD_OPTION_CONNECTION_LIMIT, CONNECTION_LIMIT,
				     MHD_OPTION_PER_IP_CONNECTION_LIMIT, PER_IP_LIMIT,
				     MHD_OPTION_CONNECTION_TIMEOUT, CONNECTION_TIMEOUT_S,
				     MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)MEMORY_LIMIT,
				     MHD_OPTION_EXTERNAL_LOGGER, mhd_log, NULL, MHD_OPTION_END);
	freeaddrinfo(ai);
	if (!h->daemon) {
		log_error("cannot listen on %s:%u (in use, or not an address of this host)", host,
			  port);
		free(h);
		return -EADDRINUSE;
	}
	*out = h;
	return 0;
}

void http__stop(struct http *h)
{
	if (!h)
		return;
	MHD_stop_daemon(h->daemon);
	free(h);
}
