// SPDX-License-Identifier: Apache-2.0
/*
 * Sends every firing alert when something changed and again every
 * resend_interval while it fires (Alertmanager forgets an alert it has not
 * heard of for its resolve_timeout), and a resolved one once with its endsAt.
 * Failures back off (1 s doubling, capped at 5 min: http_client.h); evaluation
 * never waits.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include "alertmanager.h"
#include "clock.h"
#include "http_client.h"
#include "json.h"
#include "log.h"
#include "node.h"

#define MAX_BATCH 1024
#define TICK_MS 250
#define BACKOFF_BASE_MS 1000

struct alertmanager {
	struct alertmanager_config cfg;
	char *url;
	char *instance;
	struct alerts *alerts;
	struct http_client *client;
	pthread_t thread;
	pthread_mutex_t lock;
	pthread_cond_t wake;
	bool stopping;
	struct alert batch[MAX_BATCH];
};

int alertmanager__body(const struct alert *al, size_t n, const char *instance, struct buf *out)
{
	char pid[16], text[ALERT_DESCRIPTION_LEN];
	int err = 0;
	struct json_object *doc = json__array(&err);

	for (size_t i = 0; i < n; i++) {
		struct json_object *alert = json__object(&err), *labels = json__object(&err),
				   *annotations = json__object(&err);

		snprintf(pid, sizeof(pid), "%d", al[i].pid);
		json__add_string(labels, "alertname", alert__name(al[i].kind), &err);
		json__add_string(labels, "severity", alert__severity(al[i].kind), &err);
		json__add_string(labels, "job", "memtide", &err);
		json__add_string(labels, "pid", pid, &err);
		json__add_string(labels, "comm", al[i].comm, &err);
		json__add_string(labels, "instance", instance, &err);
		json__add(alert, "labels", labels, &err);
		json__add_string(annotations, "summary", alert__summary(al[i].kind), &err);
		alert__description(&al[i], text, sizeof(text));
		json__add_string(annotations, "description", text, &err);
		json__add(alert, "annotations", annotations, &err);
		json__add_time(alert, "startsAt", al[i].fired_at, &err);
		if (al[i].state == ALERT_RESOLVED)
			json__add_time(alert, "endsAt", al[i].resolved_at, &err);
		json__add(doc, NULL, alert, &err);
	}
	return json__render(doc, err, false, out);
}

static bool post(struct alertmanager *am, size_t n)
{
	char why[HTTP_CLIENT_ERR_LEN];
	struct buf body;
	int err;

	buf__init(&body, 8u << 20);
	err = alertmanager__body(am->batch, n, am->instance, &body);
	if (err)
		snprintf(why, sizeof(why), "%s", strerror(-err));
	else
		err = http_client__request(am->client, "POST", "application/json", body.data,
					   body.len, am->cfg.timeout_ms, why);
	buf__free(&body);
	if (err)
		log_warn("alertmanager %s: %s", am->url, why);
	return !err;
}

static void *run(void *arg)
{
	struct alertmanager *am = arg;
	uint64_t last_sent = 0, retry_at = 0;
	unsigned int failures = 0;
	bool failed = false;

	pthread_mutex_lock(&am->lock);
	while (!am->stopping) {
		struct timespec until;
		uint64_t now = clock__mono_ms();
		bool due = alerts__changed(am->alerts) || failed ||
			   now - last_sent >= am->cfg.resend_interval_ms;

		if (due && now >= retry_at) {
			size_t n;

			pthread_mutex_unlock(&am->lock);
			n = alerts__to_notify(am->alerts, am->batch, MAX_BATCH);
			failed = n && !post(am, n);
			if (!failed)
				alerts__delivered(am->alerts, am->batch, n);
			pthread_mutex_lock(&am->lock);
			last_sent = now;
			failures = failed ? failures + 1 : 0;
			retry_at =
				failed ? now + http_client__backoff(BACKOFF_BASE_MS, failures) : 0;
		}
		until = clock__deadline(TICK_MS);
		pthread_cond_timedwait(&am->wake, &am->lock, &until);
	}
	pthread_mutex_unlock(&am->lock);
	return NULL;
}

int alertmanager__start(const struct alertmanager_config *cfg, struct alerts *alerts,
			struct alertmanager **out)
{
	struct alertmanager *am;
	size_t n;
	int err = -ENOMEM;

	*out = NULL;
	if (!cfg->url)
		return 0;
	am = calloc(1, sizeof(*am));
	if (!am)
		return -ENOMEM;
	am->cfg = *cfg;
	am->cfg.url = NULL; /* the caller's string: am->url is ours */
	am->alerts = alerts;
	n = strlen(cfg->url);
	while (n && cfg->url[n - 1] == '/')
		n--;
	am->url = malloc(n + sizeof("/api/v2/alerts"));
	if (!am->url)
		goto free_am;
	memcpy(am->url, cfg->url, n);
	memcpy(am->url + n, "/api/v2/alerts", sizeof("/api/v2/alerts"));
	am->instance = node__instance(NULL);
	if (!am->instance)
		goto free_url;
	err = http_client__new(am->url, &am->client);
	if (err)
		goto free_instance;
	pthread_mutex_init(&am->lock, NULL);
	clock__cond_init(&am->wake);
	err = -pthread_create(&am->thread, NULL, run, am);
	if (err)
		goto free_client;
	log_info("sending alerts to %s", am->url);
	*out = am;
	return 0;

free_client:
	pthread_cond_destroy(&am->wake);
	pthread_mutex_destroy(&am->lock);
	http_client__free(am->client);
free_instance:
	free(am->instance);
free_url:
	free(am->url);
free_am:
	free(am);
	return err;
}

void alertmanager__shutdown(struct alertmanager *am)
{
	if (!am)
		return;
	pthread_mutex_lock(&am->lock);
	am->stopping = true;
	http_client__stop_at(am->client, clock__mono_ms()); /* abandons a request in flight */
	pthread_cond_signal(&am->wake);
	pthread_mutex_unlock(&am->lock);
}

void alertmanager__stop(struct alertmanager *am)
{
	if (!am)
		return;
	alertmanager__shutdown(am);
	pthread_join(am->thread, NULL);
	pthread_cond_destroy(&am->wake);
	pthread_mutex_destroy(&am->lock);
	http_client__free(am->client);
	free(am->instance);
	free(am->url);
	free(am);
}
