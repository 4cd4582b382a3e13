// SPDX-License-Identifier: Apache-2.0
/* libcurl for the senders, opened at first use: one easy handle, reused; the
 * backoff between tries. */
#include <dlfcn.h>
#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <curl/curl.h>
#include "buf.h"
#include "clock.h"
#include "http_client.h"
#include "log.h"

#define ERROR_BODY_MAX 1024

struct http_client {
	CURL *curl;
	uint64_t stop_deadline; /* monotonic ms; 0 while running */
};

/*
 * libcurl is opened by the first client, not linked: loading it maps OpenSSL,
 * Kerberos, LDAP and SSH libraries (3 MB of RSS) into an agent that may never
 * push or send an alert. Only what the senders call.
 */
static struct {
	CURLcode (*global_init)(long flags);
	void (*global_cleanup)(void);
	CURL *(*easy_init)(void);
	CURLcode (*easy_setopt)(CURL *curl, CURLoption option, ...);
	CURLcode (*easy_perform)(CURL *curl);
	CURLcode (*easy_getinfo)(CURL *curl, CURLINFO info, ...);
	void (*easy_cleanup)(CURL *curl);
	const char *(*easy_strerror)(CURLcode code);
	struct curl_slist *(*slist_append)(struct curl_slist *list, const char *s);
	void (*slist_free_all)(struct curl_slist *list);
} curl;

#define CURL_SONAME "libcurl.so.4"

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
static bool curl_ok;

static bool load(void *lib, void *fn, const char *name)
{
	void *sym = dlsym(lib, name);

	memcpy(fn, &sym, sizeof(sym)); /* ISO C has no object to function pointer cast */
	return sym != NULL;
}

static void init_curl(void)
{
	void *lib = dlopen(CURL_SONAME, RTLD_NOW | RTLD_LOCAL);

	if (!lib) {
		log_error("cannot load libcurl: %s", dlerror());
		return;
	}
	curl_ok = load(lib, &curl.global_init, "curl_global_init") &&
		  load(lib, &curl.global_cleanup, "curl_global_cleanup") &&
		  load(lib, &curl.easy_init, "curl_easy_init") &&
		  load(lib, &curl.easy_setopt, "curl_easy_setopt") &&
		  load(lib, &curl.easy_perform, "curl_easy_perform") &&
		  load(lib, &curl.easy_getinfo, "curl_easy_getinfo") &&
		  load(lib, &curl.easy_cleanup, "curl_easy_cleanup") &&
		  load(lib, &curl.easy_strerror, "curl_easy_strerror") &&
		  load(lib, &curl.slist_append, "curl_slist_append") &&
		  load(lib, &curl.slist_free_all, "curl_slist_free_all");
	if (!curl_ok)
		log_error("%s lacks a function memtide calls: %s", CURL_SONAME, dlerror());
	else
		curl_ok = curl.global_init(CURL_GLOBAL_DEFAULT) == CURLE_OK;
	/* Never closed: OpenSSL's exit handlers live in it. */
}

/*
 * libcurl's set-up initialises OpenSSL. Where libcurl says that set-up is
 * thread-safe (7.84 on), it waits for the first client, on whatever thread.
 */
int http_client__global_init(void)
{
#ifdef CURL_VERSION_THREADSAFE
	return 0;
#else
	pthread_once(&curl_once, init_curl);
	return curl_ok ? 0 : -ELIBACC;
#endif
}

void http_client__global_cleanup(void)
{
	if (curl_ok)
		curl.global_cleanup();
}

static size_t keep_body(char *data, size_t size, size_t n, void *arg)
{
	struct buf *body = arg;

	/* Keep the start of an error body for the log; drop the rest quietly. */
	if (body->len < ERROR_BODY_MAX)
		buf__add(body, data,
			 size * n < ERROR_BODY_MAX - body->len ? size * n
							       : ERROR_BODY_MAX - body->len);
	return size * n;
}

static uint64_t stop_deadline(struct http_client *c)
{
	return __atomic_load_n(&c->stop_deadline, __ATOMIC_RELAXED);
}

/* libcurl asks this at least once a second: past the stop's deadline, a
 * request in flight is abandoned. */
static int progress(void *arg, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal,
		    curl_off_t ulnow)
{
	uint64_t deadline = stop_deadline(arg);

	(void)dltotal, (void)dlnow, (void)ultotal, (void)ulnow;
	return deadline && clock__mono_ms() >= deadline;
}

int http_client__new(const char *url, struct http_client **out)
{
	struct http_client *c = calloc(1, sizeof(*c));

	*out = NULL;
	if (!c)
		return -ENOMEM;
	pthread_once(&curl_once, init_curl);
	c->curl = curl_ok ? curl.easy_init() : NULL;
	if (!c->curl) {
		free(c);
		return curl_ok ? -ENOMEM : -ELIBACC;
	}
	curl.easy_setopt(c->curl, CURLOPT_URL, url);
	curl.easy_setopt(c->curl, CURLOPT_NOSIGNAL, 1L);
	curl.easy_setopt(c->curl, CURLOPT_WRITEFUNCTION, keep_body);
	curl.easy_setopt(c->curl, CURLOPT_XFERINFOFUNCTION, progress);
	curl.easy_setopt(c->curl, CURLOPT_XFERINFODATA, c);
	curl.easy_setopt(c->curl, CURLOPT_NOPROGRESS, 0L);
	curl.easy_setopt(c->curl, CURLOPT_USERAGENT, "memtide");
	*out = c;
	return 0;
}

void http_client__free(struct http_client *c)
{
	if (!c)
		return;
	curl.easy_cleanup(c->curl);
	free(c);
}

void http_client__stop_at(struct http_client *c, uint64_t deadline_ms)
{
	__atomic_store_n(&c->stop_deadline, deadline_ms ? deadline_ms : 1, __ATOMIC_RELAXED);
}

int http_client__request(struct http_client *c, const char *method, const char *content_type,
			 const char *data, size_t len, uint64_t timeout_ms,
			 char err[HTTP_CLIENT_ERR_LEN])
{
	uint64_t deadline = stop_deadline(c), now;
	struct curl_slist *headers = NULL;
	char header[128];
	struct buf body;
	long status = 0;
	CURLcode rc;

	if (deadline) {
		now = clock__mono_ms();
		if (now >= deadline) {
			snprintf(err, HTTP_CLIENT_ERR_LEN, "stopping");
			return -ECANCELED;
		}
		if (deadline - now < timeout_ms)
			timeout_ms = deadline - now;
	}
	if (data) {
		snprintf(header, sizeof(header), "Content-Type: %s", content_type);
		headers = curl.slist_append(NULL, header);
		if (!headers) {
			snprintf(err, HTTP_CLIENT_ERR_LEN, "%s",
				 curl.easy_strerror(CURLE_OUT_OF_MEMORY));
			return -EIO;
		}
	}
	curl.easy_setopt(c->curl, CURLOPT_TIMEOUT_MS, (long)timeout_ms);
	curl.easy_setopt(c->curl, CURLOPT_CONNECTTIMEOUT_MS, (long)timeout_ms);
	buf__init(&body, ERROR_BODY_MAX + 1);
	curl.easy_setopt(c->curl, CURLOPT_HTTPGET, 1L); /* reset from the last request */
	curl.easy_setopt(c->curl, CURLOPT_CUSTOMREQUEST, method);
	if (data) {
		curl.easy_setopt(c->curl, CURLOPT_POSTFIELDS, data);
		curl.easy_setopt(c->curl, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len);
	}
	curl.easy_setopt(c->curl, CURLOPT_HTTPHEADER, headers);
	curl.easy_setopt(c->curl, CURLOPT_WRITEDATA, &body);
	rc = curl.easy_perform(c->curl);
	curl.easy_setopt(c->curl, CURLOPT_HTTPHEADER, NULL);
	curl.slist_free_all(headers);
	if (rc != CURLE_OK) {
		snprintf(err, HTTP_CLIENT_ERR_LEN, "%s", curl.easy_strerror(rc));
	} else {
		curl.easy_getinfo(c->curl, CURLINFO_RESPONSE_CODE, &status);
		if (status < 200 || status > 299)
			snprintf(err, HTTP_CLIENT_ERR_LEN, "refused: HTTP %ld: %.*s", status,
				 (int)body.len, body.data ? body.data : "");
	}
	buf__free(&body);
	return rc == CURLE_OK && status >= 200 && status <= 299 ? 0 : -EIO;
}

uint64_t http_client__backoff(uint64_t base_ms, unsigned int failures)
{
	uint64_t delay = base_ms;

	if (!failures || !delay)
		return delay;
	while (--failures && delay < HTTP_CLIENT_BACKOFF_CAP_MS)
		delay *= 2;
	return delay < HTTP_CLIENT_BACKOFF_CAP_MS ? delay : HTTP_CLIENT_BACKOFF_CAP_MS;
}

uint64_t http_client__jitter(uint64_t delay_ms, unsigned int *seed)
{
	return delay_ms / 2 + (uint64_t)rand_r(seed) % (delay_ms / 2 + 1);
}
