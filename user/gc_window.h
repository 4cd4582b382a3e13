/* SPDX-License-Identifier: Apache-2.0 */
/*
 * memory_gc_cpu_fraction: the share of a process's CPU time its trims used
 * over the last GC_WINDOW_INTERVALS monitor intervals. Both figures are CPU
 * time (a trim's is part of its process's), so the share is at most 1 by
 * construction, and it falls back to 0 once trims stop: an alert on it clears.
 */
#ifndef MEMTIDE_GC_WINDOW_H
#define MEMTIDE_GC_WINDOW_H

#include <stdint.h>

#define GC_WINDOW_INTERVALS 10 /* 5 minutes at the default monitor_interval (30 s) */

struct gc_window {
	/* Cumulative readings, oldest first from @first; one more than the
	 * intervals, since a window of N intervals has N + 1 ends. */
	uint64_t trim_ns[GC_WINDOW_INTERVALS + 1], cpu_ns[GC_WINDOW_INTERVALS + 1];
	unsigned int first, n;
};

/* Forgets every reading (the counters started again, e.g. a new probe). */
void gc_window__reset(struct gc_window *w);
/*
 * Adds one reading of the cumulative trim CPU time and process CPU time, in
 * ns, and returns the fraction over the window: (trim now - trim at the
 * window's start) / (CPU now - CPU at its start), in [0, 1]; 0 with no CPU
 * time in the window. A counter that went back starts the window again.
 */
double gc_window__add(struct gc_window *w, uint64_t trim_ns, uint64_t cpu_ns);

#endif
