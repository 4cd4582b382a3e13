// SPDX-License-Identifier: Apache-2.0
/*
 * Anyone who can reach the API may ask for trims when no token is set, so
 * neither the trims nor the log lines they cause may grow with the requests:
 * a process is asked at most once per api.gc_min_interval, and refusals are
 * logged at a bounded rate with a count of what was left out.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include "clock.h"
#include "gc_limit.h"
#include "log.h"

#define GC_LOG_WINDOW_MS 10000
#define GC_LOG_BURST 20

struct gc_rate_entry {
	int pid;
	uint64_t start_ticks;
	uint64_t last_ms;
};

static struct gc_rate_entry *find(const struct gc_rate *r, int pid, uint64_t start_ticks)
{
	for (size_t i = 0; i < r->n; i++)
		if (r->e[i].pid == pid && r->e[i].start_ticks == start_ticks)
			return &r->e[i];
	return NULL;
}

uint64_t gc_rate__wait(const struct gc_rate *r, int pid, uint64_t start_ticks, uint64_t now_ms,
		       uint64_t min_ms)
{
	const struct gc_rate_entry *e = find(r, pid, start_ticks);

	if (!e || now_ms - e->last_ms >= min_ms)
		return 0;
	return e->last_ms + min_ms - now_ms;
}

int gc_rate__reserve(struct gc_rate *r, uint64_t now_ms, uint64_t min_ms)
{
	struct gc_rate_entry *grown;
	size_t kept = 0, cap;

	/* Entries past the interval limit nothing any more. */
	for (size_t i = 0; i < r->n; i++)
		if (now_ms - r->e[i].last_ms < min_ms)
			r->e[kept++] = r->e[i];
	r->n = kept;
	if (r->n < r->cap)
		return 0;
	cap = r->cap ? r->cap * 2 : 16;
	grown = realloc(r->e, cap * sizeof(*grown));
	if (!grown)
		return -ENOMEM;
	r->e = grown;
	r->cap = cap;
	return 0;
}

/* After gc_rate__wait() said 0 and gc_rate__reserve() made room: the
 * process's old entry, if any, was past the interval and is gone. */
void gc_rate__record(struct gc_rate *r, int pid, uint64_t start_ticks, uint64_t now_ms)
{
	if (r->n < r->cap)
		r->e[r->n++] = (struct gc_rate_entry){ .pid = pid,
						       .start_ticks = start_ticks,
						       .last_ms = now_ms };
}

void gc_rate__free(struct gc_rate *r)
{
	free(r->e);
	*r = (struct gc_rate){ 0 };
}

void gc_log__init(struct gc_log *l)
{
	pthread_mutex_init(&l->lock, NULL);
	l->window_ms = clock__mono_ms();
	l->lines = 0;
	l->suppressed = 0;
}

void gc_log__destroy(struct gc_log *l)
{
	gc_log__flush(l, UINT64_MAX);
	pthread_mutex_destroy(&l->lock);
}

/* With the lock held: starts a new window once the current one is over. */
static void roll(struct gc_log *l, uint64_t now_ms)
{
	if (now_ms < l->window_ms || now_ms - l->window_ms < GC_LOG_WINDOW_MS)
		return;
	if (l->suppressed)
		log_warn("gc requests: %lu more refusals in %u s were not logged", l->suppressed,
			 GC_LOG_WINDOW_MS / 1000);
	l->window_ms = now_ms;
	l->lines = 0;
	l->suppressed = 0;
}

void gc_log__refusal(struct gc_log *l, const char *fmt, ...)
{
	va_list ap;
	bool print;

	pthread_mutex_lock(&l->lock);
	roll(l, clock__mono_ms());
	print = l->lines < GC_LOG_BURST;
	if (print)
		l->lines++;
	else
		l->suppressed++;
	pthread_mutex_unlock(&l->lock);
	if (!print)
		return;
	va_start(ap, fmt);
	log__vmsg(LOG_INFO, "", fmt, ap);
	va_end(ap);
}

uint64_t gc_log__flush(struct gc_log *l, uint64_t now_ms)
{
	uint64_t left = UINT64_MAX;

	pthread_mutex_lock(&l->lock);
	if (now_ms == UINT64_MAX) /* the last call: whatever the window */
		now_ms = l->window_ms + GC_LOG_WINDOW_MS;
	roll(l, now_ms);
	if (l->suppressed)
		left = l->window_ms + GC_LOG_WINDOW_MS - now_ms;
	pthread_mutex_unlock(&l->lock);
	return left;
}
