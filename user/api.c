// SPDX-License-Identifier: GPL-2.0
/*
 * The spec's JSON shapes. Heap figures that the process's tier cannot know
 * (every heap field in the kernel tier) are null rather than a made-up 0; the
 * summary sums what is known and is null where nothing is.
 */
#include <errno.h>
#include <stddef.h>
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include "api.h"

#define RFC3339_END 253402300800.0 /* 10000-01-01T00:00:00Z */

void json__string(struct buf *b, const char *s)
{
	buf__adds(b, "\"");
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		if (*p == '"' || *p == '\\')
			buf__addf(b, "\\%c", *p);
		else if (*p == '\n')
			buf__adds(b, "\\n");
		else if (*p == '\t')
			buf__adds(b, "\\t");
		else if (*p < 0x20 || *p == 0x7f)
			buf__addf(b, "\\u%04x", *p);
		else
			buf__add(b, p, 1);
	}
	buf__adds(b, "\"");
}

void json__rfc3339(struct buf *b, double t)
{
	char text[32];
	time_t secs;
	struct tm tm;

	/* RFC 3339 ends with year 9999; NaN and infinities are no time at all
	 * (and casting them to time_t is undefined). */
	if (!(t > 0 && t < RFC3339_END)) {
		buf__adds(b, "null");
		return;
	}
	secs = (time_t)t;
	gmtime_r(&secs, &tm);
	strftime(text, sizeof(text), "%Y-%m-%dT%H:%M:%SZ", &tm);
	json__string(b, text);
}

void json__number(struct buf *b, double v)
{
	if (!isfinite(v))
		buf__adds(b, "null");
	else if (v == floor(v) && fabs(v) < 1e15)
		buf__addf(b, "%.0f", v);
	else
		buf__addf(b, "%.17g", v);
}

/* The heap fields in the spec's order; none is known in the kernel tier. */
#define HEAP_FIELD(name) { #name, offsetof(struct heap_view, name) }
static const struct {
	const char *name;
	size_t offset;
} heap_fields[] = {
	HEAP_FIELD(alloc_bytes),     HEAP_FIELD(total_alloc_bytes), HEAP_FIELD(heap_alloc_bytes),
	HEAP_FIELD(heap_sys_bytes),  HEAP_FIELD(heap_idle_bytes),   HEAP_FIELD(heap_inuse_bytes),
	HEAP_FIELD(heap_objects),    HEAP_FIELD(gc_count),	    HEAP_FIELD(gc_cpu_fraction),
};

/* @heap NULL: the figures are unknown (null). */
static void memory_fields(struct buf *b, const struct memory_config *m,
			  const struct heap_view *heap, double sys_bytes, double usage,
			  double limit_mb)
{
	for (size_t i = 0; i < sizeof(heap_fields) / sizeof(heap_fields[0]); i++) {
		buf__addf(b, "\"%s\":", heap_fields[i].name);
		if (heap)
			json__number(b, *(const double *)((const char *)heap + heap_fields[i].offset));
		else
			buf__adds(b, "null");
		buf__adds(b, ",");
	}
	buf__adds(b, "\"sys_bytes\":");
	json__number(b, sys_bytes);
	buf__adds(b, ",\"usage_percent\":");
	json__number(b, usage);
	buf__adds(b, ",\"max_memory_mb\":");
	json__number(b, limit_mb);
	buf__adds(b, ",\"high_water_mark\":");
	json__number(b, m->high_water_mark_percent);
	buf__adds(b, ",\"low_water_mark\":");
	json__number(b, m->low_water_mark_percent);
	buf__adds(b, ",\"alert_threshold\":");
	json__number(b, m->alert_threshold);
}

static double limit_mb(const struct sample *s)
{
	return (double)s->limit_bytes / (1024.0 * 1024.0);
}

static void process(struct buf *b, const struct snapshot *snap, const struct sample *s)
{
	struct heap_view heap;

	buf__addf(b, "{\"pid\":%d,\"comm\":", s->pid);
	json__string(b, s->comm);
	buf__adds(b, ",\"tier\":");
	json__string(b, heap_tier__name(s->tier));
	if (s->container[0]) {
		buf__adds(b, ",\"container\":");
		json__string(b, s->container);
	}
	buf__adds(b, ",");
	if (s->has_heap || s->has_hook)
		sample__heap_view(s, &heap);
	memory_fields(b, &snap->memory, s->has_heap || s->has_hook ? &heap : NULL, (double)s->rss_bytes,
		      s->usage_percent, limit_mb(s));
	buf__adds(b, "}");
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
	bool any_heap = false;
	double sys = 0;

	if (pid && !only)
		return -ENOENT;
	for (size_t i = 0; i < s->n; i++) {
		const struct sample *p = &s->samples[i];

		if (only && p != only)
			continue;
		sys += (double)p->rss_bytes;
		if (!worst || p->usage_percent > worst->usage_percent)
			worst = p;
		if (!p->has_heap && !p->has_hook)
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
	buf__adds(out, "{\"memory\":{");
	memory_fields(out, &s->memory, any_heap ? &sum : NULL, sys, worst ? worst->usage_percent : 0,
		      worst ? limit_mb(worst) : (double)s->memory.max_memory_mb);
	buf__adds(out, "},\"processes\":[");
	for (size_t i = 0, n = 0; i < s->n; i++) {
		if (only && &s->samples[i] != only)
			continue;
		buf__adds(out, n++ ? "," : "");
		process(out, s, &s->samples[i]);
	}
	buf__adds(out, "]}\n");
	return out->err;
}

const char *api__memory_state(const struct snapshot *s)
{
	const char *state = "ok";

	for (size_t i = 0; i < s->n; i++) {
		if (s->samples[i].usage_percent > s->memory.alert_threshold)
			return "critical";
		if (s->samples[i].usage_percent > s->memory.high_water_mark_percent)
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

	if (s && s->agent.push.enabled)
		push = s->agent.push.consecutive_failures ? "warning" : "ok";
	status = severity(bpf) > severity(memory) ? bpf : memory;
	if (severity(push) > severity(status))
		status = push;
	if (severity(collector) > severity(status))
		status = collector;
	buf__addf(out, "{\"status\":\"%s\",\"time\":", status);
	json__rfc3339(out, now);
	buf__addf(out,
		  ",\"services\":{\"bpf\":\"%s\",\"collector\":\"%s\",\"pushgateway\":\"%s\",\"memory\":\"%s\"}}\n",
		  bpf, collector, push, memory);
	return s && s->agent.bpf_ok && fresh ? 200 : 503;
}

static void figures(struct buf *out, const char *name, __u64 rss,
		    const struct memtide_hook_mallinfo *mi)
{
	buf__addf(out,
		  ",\"%s\":{\"rss_bytes\":%llu,\"heap_inuse_bytes\":%llu,\"heap_free_bytes\":%llu,"
		  "\"heap_sys_bytes\":%llu}",
		  name, (unsigned long long)rss, (unsigned long long)(mi->uordblks + mi->hblkhd),
		  (unsigned long long)mi->fordblks, (unsigned long long)(mi->arena + mi->hblkhd));
}

int api__gc(const struct gc_result *r, size_t n, struct buf *out)
{
	size_t trimmed = 0;
	char message[128];

	for (size_t i = 0; i < n; i++)
		trimmed += r[i].trimmed;
	if (!n)
		snprintf(message, sizeof(message),
			 "no target: no hooked process is above the high water mark");
	else
		snprintf(message, sizeof(message), "trimmed %zu of %zu targets", trimmed, n);
	buf__adds(out, "{\"message\":");
	json__string(out, message);
	buf__adds(out, ",\"results\":[");
	for (size_t i = 0; i < n; i++) {
		const struct memtide_hook_report *h = &r[i].report;

		buf__addf(out, "%s{\"pid\":%d,\"comm\":", i ? "," : "", r[i].pid);
		json__string(out, r[i].comm);
		buf__addf(out, ",\"trimmed\":%s", r[i].trimmed ? "true" : "false");
		if (!r[i].trimmed) {
			buf__adds(out, ",\"reason\":");
			json__string(out, r[i].reason ? r[i].reason : "unknown");
			buf__adds(out, "}");
			continue;
		}
		buf__addf(out, ",\"released_bytes\":%llu,\"duration_ns\":%llu",
			  (unsigned long long)memtide_hook_released(h),
			  (unsigned long long)h->trim_ns);
		figures(out, "before", h->rss_before, &h->before);
		figures(out, "after", h->rss_after, &h->after);
		buf__adds(out, "}");
	}
	buf__adds(out, "]}\n");
	return out->err;
}
