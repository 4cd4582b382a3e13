// SPDX-License-Identifier: Apache-2.0
/*
 * An HTTP thread only takes a request's place in the queue (or refuses it:
 * 503) and hands it over. One thread of this module's own does the rest for
 * every request: chooses the targets from the current snapshot, applies the
 * rate limit, signals them, and sleeps until a hook's report arrives (the
 * hook tier's ring buffer wakes it: gc_wake.c), then reads the hook's state of
 * that target only, and answers each request when all its targets have
 * answered or its deadline has passed, through the request's done callback.
 * Slow /proc reads and waits happen here, never in a thread that serves
 * scrapes.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "api.h"
#include "clock.h"
#include "gc.h"
#include "gc_int.h"
#include "gc_limit.h"
#include "gc_wake.h"
#include "log.h"
#include "policy.h"
#include "snapshot.h"

int gc__begin(struct gc *g, int pid, const char *peer, struct gc_request **out)
{
	struct gc_request *r = calloc(1, sizeof(*r));
	unsigned int in_flight = 0, retry;
	uint64_t now = clock__mono_ms();
	bool stopping;

	if (!r)
		return -ENOMEM;
	r->pid = pid;
	snprintf(r->peer, sizeof(r->peer), "%s", peer);
	buf__init(&r->body, JSON_MAX);
	*out = r;
	pthread_mutex_lock(&g->lock);
	stopping = g->stopping;
	if (!stopping && g->in_flight >= GC_IN_FLIGHT) {
		in_flight = g->in_flight;
		/* UINT64_MAX: none active yet (all 16 just came): a deadline away. */
		retry = g->place_free_ms != UINT64_MAX && g->place_free_ms > now
				? gc_seconds_up(g->place_free_ms - now)
				: WAIT_MS / 1000;
	} else if (!stopping) {
		g->in_flight++;
	}
	pthread_mutex_unlock(&g->lock);
	if (stopping) {
		gc_refuse(r, 503, 1, "memtide is shutting down");
	} else if (in_flight) {
		gc_log__refusal(&g->log, "gc request from %s: refused (503): %u requests in flight",
				r->peer, in_flight);
		gc_refuse(r, 503, retry, "too many trim requests in flight: retry later");
	}
	return 0;
}

bool gc_request__pending(const struct gc_request *r)
{
	return !r->status; /* every answer sets one */
}

void gc__wait(struct gc *g, struct gc_request *r, void (*done)(void *arg), void *arg)
{
	r->done = done;
	r->arg = arg;
	pthread_mutex_lock(&g->lock);
	if (g->stopping) {
		pthread_mutex_unlock(&g->lock);
		gc_refuse(r, 503, 1, "memtide is shutting down");
		done(arg);
		return;
	}
	/* Taken newest first; the thread turns the list around. */
	r->next = g->incoming;
	g->incoming = r;
	gc_wake__kick(g->wake);
	pthread_mutex_unlock(&g->lock);
}

void gc__log_refusal(struct gc *g, const char *peer, const char *why)
{
	gc_log__refusal(&g->log, "gc request from %s: refused: %s", peer, why);
}

/* On the thread, in gc_wake__wait: a hook reported a trim, or a hooked
 * process exited; its targets read their hook's state in the next round. */
static void on_event(void *ctx, const struct hook_event *e)
{
	struct gc *g = ctx;

	for (struct gc_request *r = g->active; r; r = r->next)
		for (size_t i = 0; i < r->n; i++) {
			struct gc_target *t = &r->t[i];

			if (t->r.pid != (int)e->pid || !t->want || t->r.trimmed)
				continue;
			t->woken = true;
			t->exited |= e->kind == HOOK_EVENT_EXIT;
		}
}

/* Reads the hooks' reports of the targets an event woke (or not read for
 * SWEEP_MS); true when @r is answered. */
static bool poll_request(struct gc *g, struct gc_request *r, uint64_t now_ms)
{
	for (size_t i = 0; i < r->n && r->waiting; i++) {
		struct gc_target *t = &r->t[i];
		const struct memtide_hook_report *rep = &t->r.report;
		struct hook_state h;
		bool woken;

		if (t->probe_wait) {
			if (!gc_probed(g, t, &h))
				continue;
			t->probe_wait = false;
			r->waiting--;
			gc_signal_target(g, r, t, h.trims, now_ms);
			continue;
		}
		if (!t->want || t->r.trimmed || (!t->woken && now_ms < t->read_by_ms))
			continue;
		woken = t->woken;
		t->woken = false;
		t->reads++;
		t->read_by_ms = now_ms + SWEEP_MS;
		/* Gone: its probe went with it, or it exited before its report. */
		if (heap__read_hook(g->deps.heap, t->r.pid, &h) ||
		    (h.trims < t->want && t->exited)) {
			t->want = 0;
			t->r.reason = "the process is gone";
			r->waiting--;
			continue;
		}
		if (h.trims < t->want)
			continue;
		t->r.trimmed = true;
		t->r.report = h.last_trim;
		r->waiting--;
		log_info("gc request from %s: pid %d (%s) trimmed: %llu bytes back in %.1f ms "
			 "(seen on %s; hook state reads: %u)",
			 r->peer, t->r.pid, t->r.comm,
			 (unsigned long long)memtide_hook_released(rep), (double)rep->trim_ns / 1e6,
			 woken ? "its report's wake-up" : "a 1 s sweep", t->reads);
	}
	if (r->waiting && now_ms < r->deadline_ms)
		return false;
	for (size_t i = 0; i < r->n; i++) {
		struct gc_target *t = &r->t[i];

		if (t->probe_wait) {
			t->r.reason =
				"hook loaded, but its reports were not probed in time (see the "
				"log): not signalled";
			gc_log__refusal(&g->log, "gc request from %s: pid %d (%s) not trimmed: %s",
					r->peer, t->r.pid, t->r.comm, t->r.reason);
		} else if (t->want && !t->r.trimmed) {
			log_warn("gc request from %s: pid %d (%s) did not answer within %d s "
				 "(hook state reads: %u)",
				 r->peer, t->r.pid, t->r.comm, WAIT_MS / 1000, t->reads);
		}
	}
	gc_finish(r);
	return true;
}

/* Calls each answered request's callback; the request is not touched after. */
static void complete(struct gc_request *done)
{
	while (done) {
		struct gc_request *next = done->next;

		done->done(done->arg);
		done = next;
	}
}

static bool stopping(struct gc *g)
{
	bool stop;

	pthread_mutex_lock(&g->lock);
	stop = g->stopping;
	pthread_mutex_unlock(&g->lock);
	return stop;
}

/* Takes the requests handed over since the last round, oldest first, and
 * signals their targets; those with nothing to wait for go on @done. */
static void take_incoming(struct gc *g, struct gc_request **done)
{
	struct gc_request *fresh, *r, *prev = NULL;

	pthread_mutex_lock(&g->lock);
	fresh = g->incoming;
	g->incoming = NULL;
	pthread_mutex_unlock(&g->lock);
	while (fresh) { /* newest first: reverse */
		r = fresh;
		fresh = r->next;
		r->next = prev;
		prev = r;
	}
	while (prev) {
		r = prev;
		prev = r->next;
		if (stopping(g))
			gc_refuse(r, 503, 1, "memtide is shutting down");
		else
			gc_select_and_signal(g, r);
		if (r->waiting) {
			r->next = g->active;
			g->active = r;
		} else {
			r->next = *done;
			*done = r;
		}
	}
}

/* One round: new requests, then every active one polled. Returns how many
 * were answered, put on @done. */
static unsigned int round_once(struct gc *g, struct gc_request **done, uint64_t *place_free_ms)
{
	struct gc_request **p = &g->active;
	unsigned int answered = 0;
	uint64_t now_ms;

	take_incoming(g, done);
	now_ms = clock__mono_ms();
	*place_free_ms = UINT64_MAX;
	while (*p) {
		struct gc_request *r = *p;

		if (!poll_request(g, r, now_ms)) {
			if (r->deadline_ms < *place_free_ms)
				*place_free_ms = r->deadline_ms;
			p = &r->next;
			continue;
		}
		*p = r->next;
		r->next = *done;
		*done = r;
	}
	for (struct gc_request *r = *done; r; r = r->next)
		answered++;
	return answered;
}

/* @ms, lowered to the time left until @when (0: due). */
static uint64_t until(uint64_t ms, uint64_t when, uint64_t now)
{
	return when <= now ? 0 : when - now < ms ? when - now : ms;
}

/* How long the thread may sleep (-1: until kicked or an event): a target
 * waiting for its probe is looked at every POLL_MS; otherwise the next
 * deadline, sweep or log flush (@flush_ms from now) bounds it. */
static int sleep_ms(struct gc *g, uint64_t flush_ms)
{
	uint64_t now = clock__mono_ms(), ms = flush_ms;

	for (struct gc_request *r = g->active; r; r = r->next) {
		for (size_t i = 0; i < r->n; i++) {
			const struct gc_target *t = &r->t[i];

			if (t->probe_wait)
				return POLL_MS;
			if (t->want && !t->r.trimmed)
				ms = until(ms, t->read_by_ms, now);
		}
		ms = until(ms, r->deadline_ms, now);
	}
	return ms == UINT64_MAX ? -1 : (int)(ms < WAIT_MS ? ms : WAIT_MS);
}

static void *worker(void *arg)
{
	struct gc *g = arg;

	for (;;) {
		struct gc_request *done = NULL;
		uint64_t place_free_ms, flush;
		unsigned int answered = round_once(g, &done, &place_free_ms);
		bool idle;

		pthread_mutex_lock(&g->lock);
		g->in_flight -= answered;
		g->place_free_ms = place_free_ms;
		pthread_mutex_unlock(&g->lock);
		complete(done);
		flush = gc_log__flush(&g->log, clock__mono_ms());
		pthread_mutex_lock(&g->lock);
		idle = !g->stopping && !g->incoming;
		pthread_mutex_unlock(&g->lock);
		/* A request handed over from here on kicks: the wait returns. */
		if (idle)
			gc_wake__wait(g->wake, sleep_ms(g, flush));
		if (stopping(g))
			return NULL;
	}
}

int gc__start(const struct gc_deps *deps, struct gc **out)
{
	struct gc *g = calloc(1, sizeof(*g));
	int err;

	if (!g)
		return -ENOMEM;
	g->deps = *deps;
	err = gc_wake__new(deps->heap ? heap__hook_events_fd(deps->heap) : -1, on_event, g,
			   &g->wake);
	if (err)
		goto free_gc;
	pthread_mutex_init(&g->lock, NULL);
	gc_log__init(&g->log);
	err = -pthread_create(&g->thread, NULL, worker, g);
	if (err)
		goto destroy;
	*out = g;
	return 0;

destroy:
	gc_log__destroy(&g->log);
	pthread_mutex_destroy(&g->lock);
	gc_wake__free(g->wake);
free_gc:
	free(g);
	return err;
}

/* Answers 503 to every request of @list and hands each back. */
static void refuse_all(struct gc_request *list)
{
	for (struct gc_request *r = list; r; r = r->next)
		gc_refuse(r, 503, 1, "memtide is shutting down");
	complete(list);
}

void gc__stop(struct gc *g)
{
	struct gc_request *incoming;

	if (!g)
		return;
	pthread_mutex_lock(&g->lock);
	if (g->stopping) {
		pthread_mutex_unlock(&g->lock);
		return;
	}
	g->stopping = true;
	gc_wake__kick(g->wake);
	pthread_mutex_unlock(&g->lock);
	/* At most one request's signals (a few /proc reads per target) away. */
	pthread_join(g->thread, NULL);
	pthread_mutex_lock(&g->lock);
	incoming = g->incoming;
	g->incoming = NULL;
	pthread_mutex_unlock(&g->lock);
	refuse_all(incoming);
	refuse_all(g->active);
	g->active = NULL;
}

void gc__free(struct gc *g)
{
	if (!g)
		return;
	gc__stop(g);
	gc_rate__free(&g->rate);
	gc_log__destroy(&g->log);
	pthread_mutex_destroy(&g->lock);
	gc_wake__free(g->wake);
	free(g);
}
