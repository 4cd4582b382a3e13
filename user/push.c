// SPDX-License-Identifier: Apache-2.0
/*
 * The pusher runs on its own thread with one reused curl handle, so a slow or
 * absent Pushgateway never holds up collection or any other output. Failures
 * back off exponentially (with jitter, capped); every push sends the whole
 * snapshot with PUT, so processes that exited vanish from the group.
 */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include "clock.h"
#include "exposition.h"
#include "http_client.h"
#include "log.h"
#include "node.h"
#include "push.h"
#include "snapshot.h"

/* From the stop request on, the last push and the group's deletion get this
 * long in all, whatever the gateway does: a stop must stay quick. */
#define FINAL_BUDGET_MS 2000

struct push {
	struct push_config cfg; /* strings owned */
	uint64_t interval_ms;
	char *url;
	struct http_client *client;
	pthread_t thread;
	pthread_mutex_t lock;
	pthread_cond_t wake;
	bool stopping, final;
	struct push_stats stats;
	unsigned int seed;
};

static bool unreserved(char ch)
{
	return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
	       ch == '-' || ch == '_' || ch == '.' || ch == '~';
}

static void base64url(struct buf *out, const char *s)
{
	static const char alphabet[] =
		"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
	size_t n = strlen(s);

	for (size_t i = 0; i < n; i += 3) {
		unsigned int v = (unsigned char)s[i] << 16;
		char quad[4];

		if (i + 1 < n)
			v |= (unsigned char)s[i + 1] << 8;
		if (i + 2 < n)
			v |= (unsigned char)s[i + 2];
		quad[0] = alphabet[(v >> 18) & 63];
		quad[1] = alphabet[(v >> 12) & 63];
		quad[2] = i + 1 < n ? alphabet[(v >> 6) & 63] : '=';
		quad[3] = i + 2 < n ? alphabet[v & 63] : '=';
		buf__add(out, quad, 4);
	}
}

static void group_label(struct buf *out, const char *name, const char *value)
{
	bool plain = *value != '\0';

	for (const char *p = value; *p && plain; p++)
		plain = unreserved(*p);
	if (plain) {
		buf__addf(out, "/%s/%s", name, value);
		return;
	}
	/* The Pushgateway's form for empty values and values with '/' and the like. */
	buf__addf(out, "/%s@base64/", name);
	if (*value)
		base64url(out, value);
	else
		buf__adds(out, "=");
}

int push__group_path(const char *job, const char *instance, struct buf *out)
{
	buf__adds(out, "/metrics");
	group_label(out, "job", job);
	group_label(out, "instance", instance);
	return out->err;
}

/* One request; returns true on a 2xx answer. */
static bool request(struct push *p, const char *method, const char *data, size_t len)
{
	char why[HTTP_CLIENT_ERR_LEN];
	int err = http_client__request(p->client, method, EXPOSITION_CONTENT_TYPE, data, len,
				       p->cfg.timeout_ms, why);

	if (err && err != -ECANCELED) /* not past the stop's deadline: that is no news */
		log_warn("pushgateway %s %s: %s", method, p->url, why);
	return !err;
}

static bool push_snapshot(struct push *p)
{
	struct snapshot *s = snapshot__current();
	bool ok;

	if (!s || !s->metrics) {
		snapshot__put(s);
		return true; /* nothing to push yet is not a failure */
	}
	ok = request(p, "PUT", s->metrics, s->metrics_len);
	snapshot__put(s);
	return ok;
}

static void record(struct push *p, bool ok)
{
	pthread_mutex_lock(&p->lock);
	if (ok) {
		p->stats.successes++;
		p->stats.last_success_time = clock__unix();
		if (p->stats.consecutive_failures)
			log_info("pushgateway %s: pushing again", p->url);
		p->stats.consecutive_failures = 0;
	} else {
		p->stats.failures++;
		p->stats.consecutive_failures++;
	}
	pthread_mutex_unlock(&p->lock);
}

/* The interval; after failures, backed off from it and scaled by a random 50–100%. */
static uint64_t next_delay(struct push *p)
{
	unsigned int k = p->stats.consecutive_failures;
	uint64_t delay = http_client__backoff(p->interval_ms, k);

	return k ? http_client__jitter(delay, &p->seed) : delay;
}

static void *run(void *arg)
{
	struct push *p = arg;
	uint64_t next = clock__mono_ms();

	pthread_mutex_lock(&p->lock);
	while (!p->stopping) {
		if (clock__mono_ms() >= next) {
			bool ok;

			pthread_mutex_unlock(&p->lock);
			ok = push_snapshot(p);
			record(p, ok);
			pthread_mutex_lock(&p->lock);
			next = clock__mono_ms() + next_delay(p);
			continue;
		}
		{
			struct timespec until = clock__deadline(next - clock__mono_ms());

			pthread_cond_timedwait(&p->wake, &p->lock, &until);
		}
	}
	pthread_mutex_unlock(&p->lock);
	if (p->final) {
		record(p, push_snapshot(p));
		if (p->cfg.delete_on_shutdown && request(p, "DELETE", NULL, 0))
			log_info("pushgateway: deleted group %s", p->url);
	}
	return NULL;
}

static int build_url(struct push *p)
{
	char *instance = node__instance(p->cfg.instance);
	size_t n = strlen(p->cfg.url);
	struct buf url;

	if (!instance)
		return -ENOMEM;
	buf__init(&url, 8192);
	while (n && p->cfg.url[n - 1] == '/')
		n--;
	buf__add(&url, p->cfg.url, n);
	push__group_path(p->cfg.job, instance, &url);
	free(instance);
	if (url.err) {
		buf__free(&url);
		return -ENOMEM;
	}
	p->url = buf__steal(&url, NULL);
	return 0;
}

static void push_free(struct push *p)
{
	http_client__free(p->client);
	pthread_cond_destroy(&p->wake);
	pthread_mutex_destroy(&p->lock);
	free(p->url);
	free(p->cfg.url);
	free(p->cfg.job);
	free(p->cfg.instance);
	free(p);
}

int push__start(const struct push_config *cfg, uint64_t monitor_interval_ms, struct push **out)
{
	struct push *p;
	int err;

	*out = NULL;
	if (!cfg->url)
		return 0;
	p = calloc(1, sizeof(*p));
	if (!p)
		return -ENOMEM;
	pthread_mutex_init(&p->lock, NULL);
	clock__cond_init(&p->wake);
	p->cfg = *cfg;
	p->cfg.url = strdup(cfg->url);
	p->cfg.job = strdup(cfg->job);
	p->cfg.instance = cfg->instance ? strdup(cfg->instance) : NULL;
	p->interval_ms = cfg->interval_ms ? cfg->interval_ms : monitor_interval_ms;
	p->stats.enabled = true;
	p->seed = (unsigned int)getpid() ^ (unsigned int)clock__mono_ms();
	err = -ENOMEM;
	if (!p->cfg.url || !p->cfg.job || (cfg->instance && !p->cfg.instance) || build_url(p))
		goto free_push;
	err = http_client__new(p->url, &p->client);
	if (err)
		goto free_push;
	err = -pthread_create(&p->thread, NULL, run, p);
	if (err)
		goto free_push;
	log_info("pushing to %s every %llu ms", p->url, (unsigned long long)p->interval_ms);
	*out = p;
	return 0;

free_push:
	push_free(p);
	return err;
}

void push__shutdown(struct push *p, bool final)
{
	if (!p)
		return;
	pthread_mutex_lock(&p->lock);
	if (!p->stopping) {
		p->stopping = true;
		p->final = final;
		http_client__stop_at(p->client, clock__mono_ms() + FINAL_BUDGET_MS);
	}
	pthread_cond_signal(&p->wake);
	pthread_mutex_unlock(&p->lock);
}

void push__stop(struct push *p, bool final)
{
	if (!p)
		return;
	push__shutdown(p, final);
	pthread_join(p->thread, NULL);
	push_free(p);
}

void push__stats(struct push *p, struct push_stats *out)
{
	if (!p) {
		memset(out, 0, sizeof(*out));
		return;
	}
	pthread_mutex_lock(&p->lock);
	*out = p->stats;
	pthread_mutex_unlock(&p->lock);
}

static bool same_string(const char *a, const char *b)
{
	return a == b || (a && b && strcmp(a, b) == 0);
}

bool push__same_config(const struct push_config *a, const struct push_config *b)
{
	return same_string(a->url, b->url) && same_string(a->job, b->job) &&
	       same_string(a->instance, b->instance) && a->interval_ms == b->interval_ms &&
	       a->timeout_ms == b->timeout_ms && a->delete_on_shutdown == b->delete_on_shutdown;
}
