/* SPDX-License-Identifier: Apache-2.0 */
/* The collector's state, shared by discovery (collector.c) and the
 * snapshot (collector_snapshot.c). */
#ifndef MEMTIDE_COLLECTOR_INT_H
#define MEMTIDE_COLLECTOR_INT_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include "collector.h"
#include "gc_window.h"
#include "pods.h"
#include "quota.h"
#include "selector.h"
#include "target_state.h"

struct tracked {
	int pid;
	uid_t uid; /* the owner of /proc/PID: whose heap-tier quota it uses */
	uint64_t start_ticks;
	enum heap_tier tier;
	char comm[PROC_COMM_LEN + 1];
	bool kept; /* scratch for collector__discover() */
	bool attaching; /* probes asked for, not attached yet */
	bool over_quota; /* logged: its user has no heap-tier slot left */
	bool by_top_rss; /* chosen by size: comes and goes with it, logged at debug */
	enum target_state state; /* in the last snapshot: reported, or why not */
	enum heap_state heap;
	enum heap_tier heap_tier; /* the tier @heap is about */
	struct gc_window gc_window; /* gc_cpu_fraction: trim and process CPU time readings */
};

struct collector {
	struct kernel *kernel;
	struct heap *heap;
	struct trim *trim;
	const struct config *cfg;
	struct tracked *tracked; /* sorted by pid */
	size_t n_tracked;
	/* Scratch reused by every discovery, twice a second: no allocation churn. */
	struct proc_entry *procs;
	struct tracked *spare;
	size_t dropped_last; /* selected but over the tracking limit, last discovery */
	struct hook_seen {
		int pid;
		uint64_t start_ticks;
		int hooked;
		uint64_t at_ms;
	} * seen; /* sorted by pid */
	size_t n_seen;
	uint64_t mem_total;
	struct quota quota; /* heap-tier slots per user, counted anew each discovery */
	struct top_rss_memory *top; /* top_rss hysteresis */
	struct pod_names *pod_names; /* namespace, pod and container names */
	uint64_t snapshots, evaluated; /* top_rss is evaluated once per snapshot */
	struct {
		proc_gone_fn fn;
		void *ctx;
	} gone[COLLECTOR_MAX_SUBSCRIBERS];
	size_t n_gone;
};

/* /proc/PID/stat of a live user process (not a zombie, not a kernel thread). */
bool collector_alive_stat(int pid, struct proc_stat *st);

#endif
