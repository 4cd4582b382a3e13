// SPDX-License-Identifier: Apache-2.0
/*
 * One alert per (kind, process). A condition that holds makes it pending; one
 * that holds for the kind's `for` duration makes it firing; one that stops
 * holding resolves a firing alert (and drops a pending one). Every transition
 * is logged and kept in a bounded history. The evaluation runs on the
 * collection thread; the HTTP and Alertmanager threads read under the lock.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "alerts.h"
#include "clock.h"
#include "json.h"
#include "log.h"
#include "thresholds.h"

#define MAX_ACTIVE PROC_MAX_TRACKED /* pending and firing, of every kind */
#define LEAK_SAMPLES 128

static const struct {
	const char *name, *severity, *summary;
} kinds[ALERT_KINDS] = {
	{ "MemoryHighUsage", "warning", "High memory usage detected" },
	{ "MemoryCriticalUsage", "critical", "Critical memory usage detected" },
	{ "MemoryGCHighCPU", "warning", "High GC CPU usage detected" },
	{ "MemoryLeakDetected", "warning", "Potential memory leak detected" },
};

/* Live objects of one process over the leak window; pid 0: free. */
struct leak_track {
	struct proc_key key;
	size_t n;
	uint64_t at_ms[LEAK_SAMPLES];
	double objects[LEAK_SAMPLES];
};

struct alerts {
	pthread_mutex_t lock;
	struct alerts_config cfg;
	struct alert *active; /* pending and firing */
	size_t n_active;
	struct alert *undelivered; /* resolved, for Alertmanager */
	size_t n_undelivered;
	struct alert *history; /* ring of transitions */
	size_t history_cap, history_n, history_next;
	struct leak_track *leaks;
	bool changed;
};

const char *alert__name(enum alert_kind kind)
{
	return kinds[kind].name;
}

const char *alert__severity(enum alert_kind kind)
{
	return kinds[kind].severity;
}

const char *alert__summary(enum alert_kind kind)
{
	return kinds[kind].summary;
}

void alert__description(const struct alert *al, char *buf, size_t len)
{
	int n;

	switch (al->kind) {
	case ALERT_HIGH:
	case ALERT_CRITICAL:
		snprintf(buf, len, "%s (pid %d) uses %.1f%% of its limit.", al->comm, al->pid,
			 al->value);
		break;
	case ALERT_TRIM_CPU:
		snprintf(buf, len, "%s (pid %d) spends %.1f%% of its CPU time in malloc_trim.",
			 al->comm, al->pid, al->value * 100);
		break;
	default:
		n = snprintf(buf, len,
			     "%s (pid %d) holds %.0f more live allocations than a window ago.",
			     al->comm, al->pid, al->value);
		for (size_t i = 0; i < al->n_sites && n > 0 && (size_t)n < len; i++)
			n += snprintf(buf + n, len - (size_t)n, "%s %s %.0f%%",
				      i ? "," : " Growth by site:", al->sites[i].name,
				      al->sites[i].share * 100);
		if (al->n_sites && n > 0 && (size_t)n + 1 < len)
			strcat(buf, ".");
	}
}

/* The sites whose live bytes grew most (of the top sites by live bytes), by
 * their share of the growth of every site of the process. */
static void leak_sites(struct alert *al, const struct sample *s)
{
	double total = (double)s->sites_growth_bytes;
	bool taken[PROFILING_MAX_TOP_SITES] = { false };

	al->n_sites = 0;
	while (total > 0 && al->n_sites < ALERT_SITES) {
		size_t best = s->n_sites;

		for (size_t i = 0; i < s->n_sites && i < PROFILING_MAX_TOP_SITES; i++)
			if (!taken[i] && s->sites[i].growth_bytes > 0 &&
			    (best == s->n_sites ||
			     s->sites[i].growth_bytes > s->sites[best].growth_bytes))
				best = i;
		if (best == s->n_sites)
			break;
		taken[best] = true;
		memcpy(al->sites[al->n_sites].name, s->sites[best].name, SITE_NAME_LEN);
		al->sites[al->n_sites].growth_bytes = (double)s->sites[best].growth_bytes;
		al->sites[al->n_sites++].share = (double)s->sites[best].growth_bytes / total;
	}
}

int alerts__new(const struct alerts_config *cfg, struct alerts **out)
{
	struct alerts *a = calloc(1, sizeof(*a));

	if (!a)
		return -ENOMEM;
	a->active = calloc(MAX_ACTIVE, sizeof(*a->active));
	a->undelivered = calloc(MAX_ACTIVE, sizeof(*a->undelivered));
	a->leaks = calloc(PROC_MAX_TRACKED, sizeof(*a->leaks));
	a->history_cap = cfg->history_size;
	a->history = calloc(a->history_cap, sizeof(*a->history));
	if (!a->active || !a->undelivered || !a->leaks || !a->history) {
		alerts__free(a);
		return -ENOMEM;
	}
	pthread_mutex_init(&a->lock, NULL);
	a->cfg = *cfg;
	*out = a;
	return 0;
}

void alerts__free(struct alerts *a)
{
	if (!a)
		return;
	free(a->active);
	free(a->undelivered);
	free(a->leaks);
	free(a->history);
	free(a);
}

/* The history's size is fixed at start; the rest applies at once. */
void alerts__set_config(struct alerts *a, const struct alerts_config *cfg)
{
	pthread_mutex_lock(&a->lock);
	a->cfg = *cfg;
	a->cfg.history_size = a->history_cap;
	pthread_mutex_unlock(&a->lock);
}

static void remember(struct alerts *a, const struct alert *al)
{
	a->history[a->history_next] = *al;
	a->history_next = (a->history_next + 1) % a->history_cap;
	if (a->history_n < a->history_cap)
		a->history_n++;
	a->changed = true;
}

static const char *state_name(enum alert_state st)
{
	return st == ALERT_PENDING ? "pending" : st == ALERT_FIRING ? "firing" : "resolved";
}

static void transition(struct alerts *a, struct alert *al, enum alert_state to, double now)
{
	char text[ALERT_DESCRIPTION_LEN];

	al->state = to;
	if (to == ALERT_FIRING)
		al->fired_at = now;
	if (to == ALERT_RESOLVED)
		al->resolved_at = now;
	alert__description(al, text, sizeof(text));
	log__msg(to == ALERT_FIRING ? LOG_WARN : LOG_INFO, "alert %s [%s] %s: %s",
		 kinds[al->kind].name, kinds[al->kind].severity, state_name(to), text);
	remember(a, al);
}

static uint64_t for_ms(const struct alerts_config *c, enum alert_kind k)
{
	const uint64_t f[ALERT_KINDS] = { c->high_for_ms, c->critical_for_ms, c->trim_cpu_for_ms,
					  c->leak_for_ms };

	return f[k];
}

static struct leak_track *leak_track(struct alerts *a, const struct sample *s)
{
	const struct proc_key k = { .pid = s->pid, .start_ticks = s->start_ticks };
	struct leak_track *free_slot = NULL;

	for (size_t i = 0; i < PROC_MAX_TRACKED; i++) {
		struct leak_track *t = &a->leaks[i];

		if (proc_key__eq(&t->key, &k))
			return t;
		if (!free_slot && !t->key.pid)
			free_slot = t;
	}
	if (free_slot)
		*free_slot = (struct leak_track){ .key = k };
	return free_slot;
}

/* Growth of live objects over the window: now against the oldest sample in it. */
static double leak_growth(struct alerts *a, const struct sample *s, uint64_t now_ms)
{
	struct leak_track *t = leak_track(a, s);
	struct heap_view v;
	size_t keep = 0;

	if (!t)
		return 0;
	sample__heap_view(s, &v);
	for (size_t i = 0; i < t->n; i++) {
		if (now_ms - t->at_ms[i] > a->cfg.leak_window_ms)
			continue;
		t->at_ms[keep] = t->at_ms[i];
		t->objects[keep++] = t->objects[i];
	}
	t->n = keep < LEAK_SAMPLES ? keep : LEAK_SAMPLES - 1;
	t->at_ms[t->n] = now_ms;
	t->objects[t->n++] = v.heap_objects;
	return t->n > 1 ? v.heap_objects - t->objects[0] : 0;
}

static bool condition(struct alerts *a, const struct memory_config *m, const struct sample *s,
		      enum alert_kind k, uint64_t now_ms, double *value)
{
	switch (k) {
	case ALERT_HIGH:
		*value = s->usage_percent;
		return thresholds__high(m, s->usage_percent);
	case ALERT_CRITICAL:
		*value = s->usage_percent;
		return thresholds__critical(m, s->usage_percent);
	case ALERT_TRIM_CPU:
		*value = s->gc_cpu_fraction;
		return (s->has_uprobe || s->has_hook) &&
		       s->gc_cpu_fraction * 100 > a->cfg.trim_cpu_percent;
	default:
		if (!s->has_uprobe && !sample__hook_counts(s))
			return false;
		*value = leak_growth(a, s, now_ms);
		return *value > (double)a->cfg.leak_objects;
	}
}

static struct alert *find(struct alerts *a, enum alert_kind k, const struct sample *s)
{
	for (size_t i = 0; i < a->n_active; i++)
		if (a->active[i].kind == k && a->active[i].pid == s->pid &&
		    a->active[i].start_ticks == s->start_ticks)
			return &a->active[i];
	return NULL;
}

static void resolve_or_drop(struct alerts *a, size_t i, double now)
{
	struct alert *al = &a->active[i];

	if (al->state == ALERT_FIRING) {
		transition(a, al, ALERT_RESOLVED, now);
		if (a->n_undelivered < MAX_ACTIVE)
			a->undelivered[a->n_undelivered++] = *al;
	}
	a->active[i] = a->active[--a->n_active];
}

/* A process that is gone takes its alerts (firing ones resolve) and its
 * leak window with it. */
void alerts__forget(struct alerts *a, const struct proc_key *k)
{
	double now = clock__unix();

	pthread_mutex_lock(&a->lock);
	for (size_t i = 0; i < a->n_active;) {
		const struct proc_key ak = { .pid = a->active[i].pid,
					     .start_ticks = a->active[i].start_ticks };

		if (proc_key__eq(&ak, k))
			resolve_or_drop(a, i, now);
		else
			i++;
	}
	for (size_t i = 0; i < PROC_MAX_TRACKED; i++)
		if (proc_key__eq(&a->leaks[i].key, k))
			a->leaks[i].key.pid = 0;
	pthread_mutex_unlock(&a->lock);
}

void alerts__evaluate(struct alerts *a, const struct memory_config *m, struct snapshot *snap,
		      uint64_t now_ms)
{
	double now = snap->time;

	pthread_mutex_lock(&a->lock);
	for (size_t i = 0; i < snap->n; i++) {
		const struct sample *s = &snap->samples[i];

		for (enum alert_kind k = 0; k < ALERT_KINDS; k++) {
			struct alert *al = find(a, k, s);
			double value = 0;
			bool holds = condition(a, m, s, k, now_ms, &value);

			if (holds && !al && a->n_active < MAX_ACTIVE) {
				al = &a->active[a->n_active++];
				*al = (struct alert){ .kind = k,
						      .pid = s->pid,
						      .start_ticks = s->start_ticks,
						      .value = value,
						      .active_at = now,
						      .pending_since_ms = now_ms };
				memcpy(al->comm, s->comm, sizeof(al->comm));
				if (k == ALERT_LEAK)
					leak_sites(al, s);
				transition(a, al, ALERT_PENDING, now);
			} else if (holds && al) {
				al->value = value;
				if (k == ALERT_LEAK)
					leak_sites(al, s);
			} else if (!holds && al) {
				resolve_or_drop(a, (size_t)(al - a->active), now);
				continue;
			}
			if (al && al->state == ALERT_PENDING &&
			    now_ms - al->pending_since_ms >= for_ms(&a->cfg, k))
				transition(a, al, ALERT_FIRING, now);
		}
	}
	memset(snap->agent.alerts_firing, 0, sizeof(snap->agent.alerts_firing));
	for (size_t i = 0; i < a->n_active; i++)
		if (a->active[i].state == ALERT_FIRING)
			snap->agent.alerts_firing[a->active[i].kind]++;
	pthread_mutex_unlock(&a->lock);
}

static struct json_object *sites_json(const struct alert *al, int *err)
{
	struct json_object *a = json__array(err);

	for (size_t i = 0; i < al->n_sites; i++) {
		struct json_object *o = json__object(err);

		json__add_string(o, "site", al->sites[i].name, err);
		json__add_number(o, "growth_bytes", al->sites[i].growth_bytes, err);
		json__add_number(o, "share", al->sites[i].share, err);
		json__add(a, NULL, o, err);
	}
	return a;
}

static struct json_object *alert_json(const struct alert *al, int *err)
{
	struct json_object *o = json__object(err);
	char text[ALERT_DESCRIPTION_LEN];

	json__add_string(o, "alertname", kinds[al->kind].name, err);
	json__add_string(o, "severity", kinds[al->kind].severity, err);
	json__add_string(o, "state", state_name(al->state), err);
	json__add_int(o, "pid", al->pid, err);
	json__add_string(o, "comm", al->comm, err);
	json__add_number(o, "value", al->value, err);
	alert__description(al, text, sizeof(text));
	json__add_string(o, "description", text, err);
	if (al->kind == ALERT_LEAK)
		json__add(o, "sites", sites_json(al, err), err);
	json__add_time(o, "active_at", al->active_at, err);
	json__add_time(o, "fired_at", al->fired_at, err);
	json__add_time(o, "resolved_at", al->resolved_at, err);
	return o;
}

int alerts__json(struct alerts *a, struct buf *out)
{
	int err = 0;
	struct json_object *doc = json__object(&err), *active = json__array(&err),
			   *recent = json__array(&err);

	pthread_mutex_lock(&a->lock);
	/* Newest first: the active list grows at its end. */
	for (size_t i = a->n_active; i-- > 0;)
		json__add(active, NULL, alert_json(&a->active[i], &err), &err);
	for (size_t k = 0; k < a->history_n; k++) {
		size_t i = (a->history_next + a->history_cap - 1 - k) % a->history_cap;

		json__add(recent, NULL, alert_json(&a->history[i], &err), &err);
	}
	pthread_mutex_unlock(&a->lock);
	json__add(doc, "active", active, &err);
	json__add(doc, "recent", recent, &err);
	return json__render(doc, err, true, out);
}

size_t alerts__to_notify(struct alerts *a, struct alert *out, size_t max)
{
	size_t n = 0;

	pthread_mutex_lock(&a->lock);
	for (size_t i = 0; i < a->n_active && n < max; i++)
		if (a->active[i].state == ALERT_FIRING)
			out[n++] = a->active[i];
	for (size_t i = 0; i < a->n_undelivered && n < max; i++)
		out[n++] = a->undelivered[i];
	a->changed = false;
	pthread_mutex_unlock(&a->lock);
	return n;
}

void alerts__delivered(struct alerts *a, const struct alert *sent, size_t n)
{
	pthread_mutex_lock(&a->lock);
	for (size_t k = 0; k < n; k++) {
		if (sent[k].state != ALERT_RESOLVED)
			continue;
		for (size_t i = 0; i < a->n_undelivered; i++) {
			if (a->undelivered[i].kind == sent[k].kind &&
			    a->undelivered[i].pid == sent[k].pid &&
			    a->undelivered[i].start_ticks == sent[k].start_ticks) {
				a->undelivered[i] = a->undelivered[--a->n_undelivered];
				break;
			}
		}
	}
	pthread_mutex_unlock(&a->lock);
}

bool alerts__changed(struct alerts *a)
{
	bool changed;

	pthread_mutex_lock(&a->lock);
	changed = a->changed;
	pthread_mutex_unlock(&a->lock);
	return changed;
}
