// SPDX-License-Identifier: Apache-2.0
/*
 * The spec's JSON shapes. Heap figures that the process's tier cannot know
 * (every heap field in the kernel tier) are null rather than a made-up 0; the
 * summary sums what is known and is null where nothing is.
 */
#include <errno.h>
#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include "api.h"
#include "json.h"
#include "thresholds.h"

/* The heap fields in the spec's order; none is known in the kernel tier. */
#define HEAP_FIELD(name)                                                                           \
	{                                                                                          \
#name, offsetof(struct heap_view, name)                                            \
	}
static const struct {
	const char *name;
	size_t offset;
} heap_fields[] = {
	HEAP_FIELD(alloc_bytes),    HEAP_FIELD(total_alloc_bytes), HEAP_FIELD(heap_alloc_bytes),
	HEAP_FIELD(heap_sys_bytes), HEAP_FIELD(heap_idle_bytes),   HEAP_FIELD(heap_inuse_bytes),
	HEAP_FIELD(heap_objects),   HEAP_FIELD(gc_count),	   HEAP_FIELD(gc_cpu_fraction),
};

/* @heap NULL: the figures are unknown (null). */
static void memory_fields(struct json_object *o, const struct memory_config *m,
			  const struct heap_view *heap, double sys_bytes, double usage,
			  double limit_mb, int *err)
{
	for (size_t i = 0; i < sizeof(heap_fields) / sizeof(heap_fields[0]); i++)
		json__add_number(
			o, heap_fields[i].name,
			heap ? *(const double *)((const char *)heap + heap_fields[i].offset) : NAN,
			err);
	json__add_number(o, "sys_bytes", sys_bytes, err);
	json__add_number(o, "usage_percent", usage, err);
	json__add_number(o, "max_memory_mb", limit_mb, err);
	json__add_number(o, "high_water_mark", m->high_water_mark_percent, err);
	json__add_number(o, "low_water_mark", m->low_water_mark_percent, err);
	json__add_number(o, "alert_threshold", m->alert_threshold, err);
}

static double limit_mb(const struct sample *s)
{
	return (double)s->limit_bytes / (1024.0 * 1024.0);
}

/* The top sites by live bytes, estimated from sampled allocations. */
static struct json_object *sites(const struct sample *s, int *err)
{
	struct json_object *a = json__array(err);

	for (size_t i = 0; i < s->n_sites; i++) {
		const struct site_figures *f = &s->sites[i];
		struct json_object *o = json__object(err);

		json__add_string(o, "site", f->name, err);
		json__add_uint(o, "inuse_bytes", f->inuse_bytes, err);
		json__add_uint(o, "inuse_objects", f->inuse_objects, err);
		json__add_uint(o, "alloc_bytes", f->alloc_bytes, err);
		json__add_uint(o, "alloc_objects", f->alloc_objects, err);
		json__add_int(o, "growth_bytes", f->growth_bytes, err);
		json__add(a, NULL, o, err);
	}
	return a;
}

static struct json_object *process(const struct snapshot *snap, const struct sample *s, int *err)
{
	struct json_object *o = json__object(err);
	struct heap_view heap;

	json__add_int(o, "pid", s->pid, err);
	json__add_string(o, "comm", s->comm, err);
	json__add_string(o, "tier", heap_tier__name(s->tier), err);
	/* The same as the metrics' labels: each only when known. */
	if (s->ident.namespace[0])
		json__add_string(o, "namespace", s->ident.namespace, err);
	if (s->ident.pod[0])
		json__add_string(o, "pod", s->ident.pod, err);
	if (s->ident.container[0])
		json__add_string(o, "container", s->ident.container, err);
	if (s->ident.pod_uid[0])
		json__add_string(o, "pod_uid", s->ident.pod_uid, err);
	if (s->ident.container_id[0])
		json__add_string(o, "container_id", s->ident.container_id, err);
	if (s->has_uprobe || s->has_hook)
		sample__heap_view(s, &heap);
	memory_fields(o, &snap->memory, s->has_uprobe || s->has_hook ? &heap : NULL,
		      (double)s->rss_bytes, s->usage_percent, limit_mb(s), err);
	if (s->profiled)
		json__add(o, "sites", sites(s, err), err);
	return o;
}

static const struct sample *find(const struct snapshot *s, int pid)
{
	for (size_t i = 0; i < s->n; i++)
		if (s->samples[i].pid == pid)
			return &s->samples[i];
	return NULL;
}

/*
 * The summary: sys_bytes summed; usage_percent and max_memory_mb are those of
 * the process nearest its limit, the figure the watermarks act on.
 */
int api__stats(const struct snapshot *s, int pid, struct buf *out)
{
	const struct sample *only = pid ? find(s, pid) : NULL, *worst = NULL;
	struct heap_view sum = { 0 }, one;
	struct json_object *doc, *memory, *processes;
	bool any_heap = false;
	double sys = 0;
	int err = 0;

	if (pid && !only)
		return -ENOENT;
	for (size_t i = 0; i < s->n; i++) {
		const struct sample *p = &s->samples[i];

		if (only && p != only)
			continue;
		sys += (double)p->rss_bytes;
		if (!worst || p->usage_percent > worst->usage_percent)
			worst = p;
		if (!p->has_uprobe && !p->has_hook)
			continue;
		/* Sums, but the CPU fraction is the highest: a fraction does not add up. */
		sample__heap_view(p, &one);
		for (size_t f = 0; f < sizeof(heap_fields) / sizeof(heap_fields[0]); f++) {
			double *acc = (double *)((char *)&sum + heap_fields[f].offset);
			double v = *(double *)((char *)&one + heap_fields[f].offset);

			*acc = heap_fields[f].offset == offsetof(struct heap_view, gc_cpu_fraction)
				       ? (v > *acc ? v : *acc)
				       : *acc + v;
		}
		any_heap = true;
	}
	doc = json__object(&err);
	memory = json__object(&err);
	memory_fields(memory, &s->memory, any_heap ? &sum : NULL, sys,
		      worst ? worst->usage_percent : 0,
		      worst ? limit_mb(worst) : (double)s->memory.max_memory_mb, &err);
	json__add(doc, "memory", memory, &err);
	processes = json__array(&err);
	for (size_t i = 0; i < s->n; i++)
		if (!only || &s->samples[i] == only)
			json__add(processes, NULL, process(s, &s->samples[i], &err), &err);
	json__add(doc, "processes", processes, &err);
	return json__render(doc, err, true, out);
}

const char *api__memory_state(const struct snapshot *s)
{
	const char *state = "ok";

	for (size_t i = 0; i < s->n; i++) {
		if (thresholds__critical(&s->memory, s->samples[i].usage_percent))
			return "critical";
		if (thresholds__high(&s->memory, s->samples[i].usage_percent))
			state = "warning";
	}
	return state;
}

static int severity(const char *state)
{
	return strcmp(state, "critical") == 0 ? 2 : strcmp(state, "warning") == 0 ? 1 : 0;
}

unsigned int api__health(const struct snapshot *s, double now, struct buf *out)
{
	const char *memory = s ? api__memory_state(s) : "unknown";
	const char *bpf = s && s->agent.bpf_ok ? "ok" : "critical";
	const char *push = "disabled", *status;
	/* A collection loop that stopped (stuck, or starved) must not look healthy. */
	bool fresh = s && now - s->time <= 2 * (double)s->memory.monitor_interval_ms / 1e3;
	const char *collector = fresh ? "ok" : "critical";
	struct json_object *doc, *services;
	int err = 0;

	if (s && s->agent.push.enabled)
		push = s->agent.push.consecutive_failures ? "warning" : "ok";
	status = severity(bpf) > severity(memory) ? bpf : memory;
	if (severity(push) > severity(status))
		status = push;
	if (severity(collector) > severity(status))
		status = collector;
	doc = json__object(&err);
	json__add_string(doc, "status", status, &err);
	json__add_time(doc, "time", now, &err);
	services = json__object(&err);
	json__add_string(services, "bpf", bpf, &err);
	json__add_string(services, "collector", collector, &err);
	json__add_string(services, "pushgateway", push, &err);
	json__add_string(services, "memory", memory, &err);
	json__add(doc, "services", services, &err);
	json__render(doc, err, true, out);
	return s && s->agent.bpf_ok && fresh ? 200 : 503;
}

static struct json_object *figures(__u64 rss, const struct memtide_hook_mallinfo *mi, int *err)
{
	struct json_object *o = json__object(err);

	json__add_uint(o, "rss_bytes", rss, err);
	json__add_uint(o, "heap_inuse_bytes", mi->uordblks + mi->hblkhd, err);
	json__add_uint(o, "heap_free_bytes", mi->fordblks, err);
	json__add_uint(o, "heap_sys_bytes", mi->arena + mi->hblkhd, err);
	return o;
}

static struct json_object *gc_entry(const struct gc_result *r, int *err)
{
	const struct memtide_hook_report *h = &r->report;
	struct json_object *o = json__object(err);

	json__add_int(o, "pid", r->pid, err);
	json__add_string(o, "comm", r->comm, err);
	json__add_bool(o, "trimmed", r->trimmed, err);
	if (!r->trimmed) {
		json__add_string(o, "reason", r->reason ? r->reason : "unknown", err);
		return o;
	}
	json__add_uint(o, "released_bytes", memtide_hook_released(h), err);
	json__add_uint(o, "duration_ns", h->trim_ns, err);
	json__add(o, "before", figures(h->rss_before, &h->before, err), err);
	json__add(o, "after", figures(h->rss_after, &h->after, err), err);
	return o;
}

void api__gc_add(struct json_object *doc, const struct gc_result *r, size_t n, int *err)
{
	struct json_object *results;
	size_t trimmed = 0;
	char message[128];

	for (size_t i = 0; i < n; i++)
		trimmed += r[i].trimmed;
	if (!n)
		snprintf(message, sizeof(message),
			 "no target: no hooked process is above the high water mark");
	else
		snprintf(message, sizeof(message), "trimmed %zu of %zu targets", trimmed, n);
	json__add_string(doc, "message", message, err);
	results = json__array(err);
	for (size_t i = 0; i < n; i++)
		json__add(results, NULL, gc_entry(&r[i], err), err);
	json__add(doc, "results", results, err);
}

int api__gc(const struct gc_result *r, size_t n, struct buf *out)
{
	int err = 0;
	struct json_object *doc = json__object(&err);

	api__gc_add(doc, r, n, &err);
	return json__render(doc, err, true, out);
}
