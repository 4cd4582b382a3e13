// SPDX-License-Identifier: Apache-2.0
/* The watermark policy: when to ask a hooked process to trim. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "log.h"
#include "policy.h"
#include "thresholds.h"

#define PENDING_MS 10000 /* a requested trim not reported by then is given up on */
#define MIB (1024ULL * 1024)

struct entry {
	struct proc_key key; /* pid 0: a free entry */
	bool armed;
	bool told_unhooked;
	unsigned int backoff; /* ineffective trims in a row */
	uint64_t last_request_ms, backoff_until_ms, pending_since_ms;
	uint64_t trims_seen;
};

/* Entries come with a process's first look above the high water mark or
 * with its hook, and go with the process (policy__forget). */
struct policy {
	struct policy_trim trim;
	struct entry e[PROC_MAX_TRACKED];
};

int policy__new(const struct policy_trim *trim, struct policy **out)
{
	*out = calloc(1, sizeof(**out));
	if (!*out)
		return -ENOMEM;
	(*out)->trim = *trim;
	return 0;
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

bool policy__trimmable(const struct memory_config *m, const struct sample *s)
{
	/* Loaded is enough, reported or not: the hook reports every trim. */
	return (s->hook_loaded || s->hook_pending) && thresholds__high(m, s->usage_percent);
}

bool policy__gc_target(const struct memory_config *m, const struct sample *s, int pid)
{
	return pid ? s->pid == pid : policy__trimmable(m, s);
}

void policy__forget(struct policy *p, const struct proc_key *k)
{
	for (size_t i = 0; i < PROC_MAX_TRACKED; i++)
		if (proc_key__eq(&p->e[i].key, k))
			p->e[i].key.pid = 0;
}

static struct entry *entry(struct policy *p, const struct sample *s)
{
	const struct proc_key k = { .pid = s->pid, .start_ticks = s->start_ticks };
	struct entry *free_slot = NULL;

	for (size_t i = 0; i < PROC_MAX_TRACKED; i++) {
		struct entry *e = &p->e[i];

		if (proc_key__eq(&e->key, &k))
			return e;
		/* The number's last holder: gone, whether told yet or not. */
		if (!free_slot && (!e->key.pid || e->key.pid == s->pid))
			free_slot = e;
	}
	if (free_slot)
		*free_slot = (struct entry){ .key = k, .armed = true };
	return free_slot;
}

/* A trim finished since the last look: was it worth it? */
static void take_result(struct entry *e, const struct sample *s, const struct memory_config *m,
			uint64_t now_ms)
{
	const struct memtide_hook_report *r = &s->hook->last_trim;
	uint64_t released = memtide_hook_released(r);
	uint64_t wait;

	e->trims_seen = s->hook->trims;
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
	log_warn(
		"trim of pid %d (%s) gave back only %llu bytes: backing off for %llu s, until usage falls below %g%%",
		s->pid, s->comm, (unsigned long long)released, (unsigned long long)(wait / 1000),
		m->low_water_mark_percent);
}

static void request(struct policy *p, struct entry *e, const struct sample *s, uint64_t now_ms,
		    const char *reason)
{
	const char *why = "";
	int err = p->trim.request(p->trim.ctx, s->pid, &why);

	e->last_request_ms = now_ms;
	if (err) {
		log_warn("pid %d (%s) is %s but was not trimmed: %s", s->pid, s->comm, reason, why);
		return;
	}
	e->pending_since_ms = now_ms;
	log_info("asked pid %d (%s) to trim: %s (usage %.1f%%)%s", s->pid, s->comm, reason,
		 s->usage_percent, s->has_hook ? "" : "; hook loaded, not reported yet");
}

static void evaluate(struct policy *p, struct entry *e, const struct sample *s,
		     const struct memory_config *m, uint64_t now_ms)
{
	bool force = thresholds__force_gc(m, s->usage_percent);
	uint64_t since = now_ms - e->last_request_ms;

	if (s->hook->trims != e->trims_seen)
		take_result(e, s, m, now_ms);
	if (thresholds__low(m, s->usage_percent)) {
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
		request(p, e, s, now_ms, "above force_gc_threshold");
	else if (policy__trimmable(m, s) && (!e->last_request_ms || since >= m->gc_interval_ms))
		request(p, e, s, now_ms, "above high_water_mark_percent");
}

void policy__evaluate(struct policy *p, const struct memory_config *m, const struct snapshot *s,
		      uint64_t now_ms)
{
	for (size_t i = 0; i < s->n; i++) {
		const struct sample *smp = &s->samples[i];
		struct entry *e;

		/* Loaded is enough, reported or not: the hook reports every trim. */
		if (!thresholds__high(m, smp->usage_percent) && !smp->hook_loaded)
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
				log_warn(
					"pid %d (%s) is above high_water_mark_percent (%.1f%%) but %s: it is never signalled",
					smp->pid, smp->comm, smp->usage_percent,
					smp->tier == HEAP_HOOK
						? "has no control hook"
						: "its target rule does not use the hook tier (heap: hook)");
			e->told_unhooked = true;
			continue;
		}
		if (m->enable_auto_gc)
			evaluate(p, e, smp, m, now_ms);
		else if (smp->hook->trims != e->trims_seen)
			e->trims_seen = smp->hook->trims;
	}
}
