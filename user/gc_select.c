// SPDX-License-Identifier: Apache-2.0
/*
 * The gc thread's first step for a request: which targets (the policy's
 * choice, from the current snapshot: this thread never reads a process the
 * request names), and for each, signal it now, wait for its hook's probe, or
 * say why not.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "clock.h"
#include "gc_int.h"
#include "log.h"
#include "policy.h"
#include "snapshot.h"

/* Signals one target, whose hook's reports are probed (@trims: its count of
 * trims so far), unless the rate limit or the safety checks say no. */
void gc_signal_target(struct gc *g, struct gc_request *r, struct gc_target *t, uint64_t trims,
		      uint64_t now_ms)
{
	int pid = t->r.pid;
	uint64_t wait;

	wait = gc_rate__wait(&g->rate, pid, t->start_ticks, now_ms, r->min_interval_ms);
	if (wait) {
		snprintf(t->why, sizeof(t->why),
			 "rate-limited: asked to trim through the API less than %u s ago; allowed "
			 "again in %u s",
			 gc_seconds_up(r->min_interval_ms), gc_seconds_up(wait));
		t->r.reason = t->why;
	} else if (gc_rate__reserve(&g->rate, now_ms, r->min_interval_ms)) {
		t->r.reason = "out of memory";
	} else if (!trim__request(g->deps.trim, pid, &t->r.reason)) {
		gc_rate__record(&g->rate, pid, t->start_ticks, now_ms);
		t->want = trims + 1; /* the count its answer will bring */
		t->read_by_ms = now_ms + SWEEP_MS;
	}
	if (t->want) {
		r->waiting++;
		log_info("gc request from %s: asked pid %d (%s) to trim", r->peer, pid, t->r.comm);
		return;
	}
	if (wait) {
		r->limited++;
		if (!r->retry_ms || wait < r->retry_ms)
			r->retry_ms = wait;
	}
	gc_log__refusal(&g->log, "gc request from %s: pid %d (%s) not trimmed: %s", r->peer, pid,
			t->r.comm, t->r.reason);
}

/* The probe on the target's hook reports is on (the collector watches a
 * process for trims from then on): @h, its state. */
bool gc_probed(struct gc *g, const struct gc_target *t, struct hook_state *h)
{
	return trim__watched(g->deps.trim, t->r.pid, t->start_ticks) &&
	       !heap__read_hook(g->deps.heap, t->r.pid, h);
}

/*
 * A target's hook is loaded once the process runs it; its reports (the trim's
 * outcome) reach us once the collector's probe is on, which may not be the
 * case yet (memtide just started, or the process just appeared): such a
 * target waits for its probe, then is signalled. Whether it has reported
 * before does not matter: the hook reports every trim.
 */
static void ask(struct gc *g, struct gc_request *r, struct gc_target *t, const struct sample *smp,
		uint64_t now_ms)
{
	struct hook_state h;

	/* The snapshot says what discovery found: this thread never reads a
	 * process the request names (its files may be slow on purpose). */
	t->start_ticks = smp->start_ticks;
	if (smp->tier != HEAP_HOOK) {
		t->r.reason = "not in the hook tier (its target rule is not heap: hook): never "
			      "signalled";
	} else if (!g->deps.heap) {
		t->r.reason = "the hook tier did not load (BPF uprobes): never signalled";
	} else if (!smp->hook_loaded && !smp->hook_pending) {
		/* (or discovery could not open a pidfd for it: logged then) */
		t->r.reason = "no control hook loaded: never signalled";
	} else if (gc_probed(g, t, &h)) {
		gc_signal_target(g, r, t, h.trims, now_ms);
		return;
	} else {
		t->probe_wait = true;
		r->waiting++;
		log_info(
			"gc request from %s: pid %d (%s): hook loaded, not probed yet: asked once it is",
			r->peer, smp->pid, smp->comm);
		return;
	}
	gc_log__refusal(&g->log, "gc request from %s: pid %d (%s) not trimmed: %s", r->peer,
			smp->pid, smp->comm, t->r.reason);
}

void gc_select_and_signal(struct gc *g, struct gc_request *r)
{
	struct snapshot *s = snapshot__current();
	uint64_t now_ms = clock__mono_ms();
	size_t n = 0;

	if (!s) {
		gc_refuse(r, 503, 0, "no snapshot yet");
		return;
	}
	r->min_interval_ms = s->memory.api_gc_min_interval_ms;
	/* The policy's choice (this thread reads the snapshot's thresholds:
	 * the configuration belongs to the collection thread). */
	for (size_t i = 0; i < s->n; i++)
		n += policy__gc_target(&s->memory, &s->samples[i], r->pid);
	r->t = calloc(n ? n : 1, sizeof(*r->t));
	if (!r->t) {
		gc_refuse(r, 500, 0, "out of memory");
		goto put;
	}
	for (size_t i = 0; i < s->n; i++) {
		const struct sample *smp = &s->samples[i];
		struct gc_target *t = &r->t[r->n];

		if (!policy__gc_target(&s->memory, smp, r->pid))
			continue;
		r->n++;
		t->r.pid = smp->pid;
		memcpy(t->r.comm, smp->comm, sizeof(t->r.comm));
		ask(g, r, t, smp, now_ms);
	}
	if (r->pid && !r->n) {
		gc_log__refusal(&g->log, "gc request from %s: pid %d is not tracked (404)", r->peer,
				r->pid);
		gc_refuse(r, 404, 0, "no tracked process has that pid");
	} else if (r->waiting) {
		r->deadline_ms = now_ms + WAIT_MS;
	} else {
		gc_finish(r);
	}
put:
	snapshot__put(s);
}
