// SPDX-License-Identifier: Apache-2.0
/* The answers and arguments both sides of the http module share (http.c's GETs,
 * http_gc.c's POST): a response with its headers, a JSON error, ?pid=. */
#include <stdint.h>
#include <microhttpd.h>
#include "buf.h"
#include "config.h"
#include "http_int.h"
#include "json.h"
#include "sizes.h"

enum MHD_Result http_reply(struct MHD_Connection *conn, unsigned int status, const char *type,
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
	if (status == MHD_HTTP_UNAUTHORIZED)
		MHD_add_response_header(r, MHD_HTTP_HEADER_WWW_AUTHENTICATE, "Bearer");
	ret = MHD_queue_response(conn, status, r);
	MHD_destroy_response(r);
	return ret;
}

enum MHD_Result http_error(struct MHD_Connection *conn, unsigned int status, const char *msg,
			   const char *allow)
{
	struct json_object *doc;
	struct buf b;
	enum MHD_Result ret;
	int err = 0;

	buf__init(&b, 4096);
	doc = json__object(&err);
	json__add_string(doc, "error", msg, &err);
	ret = json__render(doc, err, true, &b) ? MHD_NO
					       : http_reply(conn, status, JSON_TYPE, b.data, b.len,
							    MHD_RESPMEM_MUST_COPY, allow);
	buf__free(&b);
	return ret;
}

int http_pid_argument(struct MHD_Connection *conn)
{
	const char *v = MHD_lookup_connection_value(conn, MHD_GET_ARGUMENT_KIND, "pid");
	uint64_t pid;

	if (!v)
		return 0;
	return parse_uint(v, MEMTIDE_PID_MAX - 1, &pid) || pid == 0 ? -1 : (int)pid;
}
