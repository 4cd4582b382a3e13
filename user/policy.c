// SPDX-License-Identifier: Apache-2.0
/* The watermark policy: when to ask a hooked process to trim. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "log.h"
#include "policy.h"

#define MAX_ENTRIES 4096
#define PENDING_MS 10000 /* a requested trim not reported by then is given up on */
#define MIB (1024ULL * 1024)

struct entry {
	int pid;
	uint64_t start_ticks;
	bool armed;
	bool told_unhooked;
	unsigned int backoff; /* ineffective trims in a row */
	uint64_t last_request_ms, backoff_until_ms, pending_since_ms;
	uint64_t trims_seen;
};

struct policy {
	struct entry e[MAX_ENTRIES];
};

int policy__new(struct policy **out)
{
	*out = calloc(1, sizeof(**out));
	return *out ? 0 : -ENOMEM;
}

void policy__free(struct policy *p)
{
	free(p);
}

bool policy__effective(uint64_t rss_before, uint64_t rss_after)
{
	uint64_t released = rss_before > rss_after ? rss_before - rss_after : 0;

	return released >= MIB || released * 100 >= rss_before;
}

static struct entry *entry(struct policy *p, const struct sample *s)
{
	struct entry *free_slot = NULL;

	for (size_t i = 0; i < MAX_ENTRIES; i++) {
		struct entry *e = &p->e[i];

		if (e->pid == s->pid && e->start_ticks == s->start_ticks)
			return e;
		if (!free_slot && (!e->pid || e->pid == s->pid))
			free_slot = e;
	}
	if (free_slot)
		*free_slot = (struct entry){ .pid = s->pid, .start_ticks = s->start_ticks,
					     .armed = true };
	return free_slot;
}

/* A trim finished since the last look: was it worth it? */
static void take_result(struct entry *e, const struct sample *s, const struct memory_config *m,
			uint64_t now_ms)
{
	const struct memtide_hook_report *r = &s->hook.last_trim;
	uint64_t released = memtide_hook_released(r);
	uint64_t wait;

	e->trims_seen = s->hook.trims;
	e->pending_since_ms = 0;
	if (policy__effective(r->rss_before, r->rss_after)) {
		e->backoff = 0;
		log_info("trim of pid %d (%s): %llu bytes back in %.1f ms", s->pid, s->comm,
			 (unsigned long long)released, (double)r->trim_ns / 1e6);
		return;
	}
	/* The heap is fragmented below live data: trimming again soon would only burn CPU. */
	wait = m->gc_interval_ms << (e->backoff < 10 ? e->backoff : 10);
	e->backoff++;
	e->armed = false;
	e->backoff_until_ms = now_ms + wait;
	log_warn("trim of pid %d (%s) gave back only %llu bytes: backing off for %llu s, until usage falls below %g%%",
		 s->pid, s->comm, (unsigned long long)released, (unsigned long long)(wait / 1000),
		 m->low_water_mark_percent);
}

static void request(struct entry *e, const struct sample *s, struct trim *t, uint64_t now_ms,
		    const char *reason)
{
	const char *why = "";
	int err = trim__request(t, s->pid, &why);

	e->last_request_ms = now_ms;
	if (err) {
		log_warn("pid %d (%s) is %s but was not trimmed: %s", s->pid, s->comm, reason, why);
		return;
	}
	e->pending_since_ms = now_ms;
	log_info("asked pid %d (%s) to trim: %s (usage %.1f%%)%s", s->pid, s->comm, reason,
		 s->usage_percent, s->has_hook ? "" : "; hook loaded, not reported yet");
}

static void evaluate(struct entry *e, const struct sample *s, const struct memory_config *m,
		     struct trim *t, uint64_t now_ms)
{
	bool force = s->usage_percent >= m->force_gc_threshold;
	uint64_t since = now_ms - e->last_request_ms;

	if (s->hook.trims != e->trims_seen)
		take_result(e, s, m, now_ms);
	if (s->usage_percent < m->low_water_mark_percent) {
		e->armed = true;
		e->backoff = 0;
		e->backoff_until_ms = 0;
	}
	if (e->pending_since_ms && now_ms - e->pending_since_ms < PENDING_MS)
		return;
	e->pending_since_ms = 0;
	if (now_ms < e->backoff_until_ms || (!e->armed && !force))
		return;
	if (force && (!e->last_request_ms || since >= m->monitor_interval_ms))
		request(e, s, t, now_ms, "above force_gc_threshold");
	else if (s->usage_percent >= m->high_water_mark_percent &&
		 (!e->last_request_ms || since >= m->gc_interval_ms))
		request(e, s, t, now_ms, "above high_water_mark_percent");
}

void policy__evaluate(struct policy *p, const struct snapshot *s, struct trim *t,
		      uint64_t now_ms)
{
	const struct memory_config *m = &s->memory;

	/* Forget processes that are gone. */
	for (size_t k = 0; k < MAX_ENTRIES; k++) {
		bool present = false;

		for (size_t i = 0; i < s->n && p->e[k].pid && !present; i++)
			present = s->samples[i].pid == p->e[k].pid &&
				  s->samples[i].start_ticks == p->e[k].start_ticks;
		if (!present)
			p->e[k].pid = 0;
	}
	for (size_t i = 0; i < s->n; i++) {
		const struct sample *smp = &s->samples[i];
		struct entry *e;

		/* Loaded is enough, reported or not: the hook reports every trim. */
		if (smp->usage_percent < m->high_water_mark_percent && !smp->hook_loaded)
			continue;
		/* Its hook is loaded and about to be probed: next snapshot. */
		if (smp->hook_pending)
			continue;
		e = entry(p, smp);
		if (!e)
			continue;
		if (!smp->hook_loaded) {
			/* Over the mark without the hook: say so once, never signal. */
			if (!e->told_unhooked)
				log_warn("pid %d (%s) is above high_water_mark_percent (%.1f%%) but %s: it is never signalled",
					 smp->pid, smp->comm, smp->usage_percent,
					 smp->tier == HEAP_HOOK
						 ? "has no control hook"
						 : "its target rule does not use the hook tier (heap: hook)");
			e->told_unhooked = true;
			continue;
		}
		if (m->enable_auto_gc)
			evaluate(e, smp, m, t, now_ms);
		else if (smp->hook.trims != e->trims_seen)
			e->trims_seen = smp->hook.trims;
	}
}
