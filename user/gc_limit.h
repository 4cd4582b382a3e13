/* SPDX-License-Identifier: Apache-2.0 */
/* Inside the gc module: what keeps API trims and their log lines bounded. */
#ifndef MEMTIDE_GC_LIMIT_H
#define MEMTIDE_GC_LIMIT_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

/* When each process (pid + start time) was last asked to trim through the API. */
struct gc_rate {
	struct gc_rate_entry *e;
	size_t n, cap;
};

/* 0: @pid may be trimmed at @now_ms; else the milliseconds left to wait. */
uint64_t gc_rate__wait(const struct gc_rate *r, int pid, uint64_t start_ticks, uint64_t now_ms,
		       uint64_t min_ms);
/* Room for one more entry (drops those older than @min_ms): 0 or -ENOMEM.
 * Called before signalling, so that gc_rate__record cannot fail after it. */
int gc_rate__reserve(struct gc_rate *r, uint64_t now_ms, uint64_t min_ms);
void gc_rate__record(struct gc_rate *r, int pid, uint64_t start_ticks, uint64_t now_ms);
void gc_rate__free(struct gc_rate *r);

/* Refusals are logged at most GC_LOG_BURST a window; the rest are counted,
 * and the count logged when the window ends. */
struct gc_log {
	pthread_mutex_t lock;
	uint64_t window_ms; /* when the current window began */
	unsigned int lines;
	unsigned long suppressed;
};

void gc_log__init(struct gc_log *l);
void gc_log__destroy(struct gc_log *l);
void gc_log__refusal(struct gc_log *l, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Logs the count of refusals left out once their window is over; returns the
 * milliseconds until it has to be called again (UINT64_MAX: nothing pending). */
uint64_t gc_log__flush(struct gc_log *l, uint64_t now_ms);

#endif
