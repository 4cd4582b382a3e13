/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The outgoing side: one libcurl handle per sender thread (the Pushgateway
 * pusher, the Alertmanager sender), the same timeouts, stop and error text
 * for both, and their one backoff.
 */
#ifndef MEMTIDE_HTTP_CLIENT_H
#define MEMTIDE_HTTP_CLIENT_H

#include <stddef.h>
#include <stdint.h>

#define HTTP_CLIENT_ERR_LEN 256
#define HTTP_CLIENT_BACKOFF_CAP_MS (5 * 60 * 1000)

struct http_client;

/* Once, before any thread starts: libcurl's global set-up, unless libcurl
 * says it is thread-safe (then the first client does it). */
int http_client__global_init(void);
void http_client__global_cleanup(void);

int http_client__new(const char *url, struct http_client **out);
void http_client__free(struct http_client *c);
/* From monotonic @deadline_ms on, a request in flight is abandoned (libcurl
 * asks at least once a second) and new ones fail at once. Any thread. */
void http_client__stop_at(struct http_client *c, uint64_t deadline_ms);
/*
 * One @method request with @len bytes of @data of @content_type (@data NULL:
 * no body), given at most @timeout_ms, less when the stop deadline comes
 * sooner. 0 on a 2xx answer; -ECANCELED past the stop's deadline; else -EIO
 * with why in @err: libcurl's error, or "refused: HTTP <status>: " and the
 * start of the answer's body.
 */
int http_client__request(struct http_client *c, const char *method, const char *content_type,
			 const char *data, size_t len, uint64_t timeout_ms,
			 char err[HTTP_CLIENT_ERR_LEN]);

/* The wait before the next try after @failures failures in a row: @base_ms,
 * doubled for each failure after the first, capped at 5 minutes. Pure. */
uint64_t http_client__backoff(uint64_t base_ms, unsigned int failures);
/* @delay_ms scaled by a random 50-100%, so senders that failed together do
 * not come back together. */
uint64_t http_client__jitter(uint64_t delay_ms, unsigned int *seed);

#endif
