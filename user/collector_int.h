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

#define COLLECTOR_MAX_PENDING 1024

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
	unsigned int retries; /* of a just-started process's attach (collector_pending_add) */
	bool cgroup_known; /* @cgroup holds its cgroup paths (until it moves) */
	uint64_t born_ms; /* found by an event at this time (0: by a scan): its libraries may not be
			     mapped yet */
	char *cgroup; /* its /proc/PID/cgroup, read once, again after it moves */
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
	uint64_t started; /* processes it began to track, ever */
	struct {
		proc_gone_fn fn;
		void *ctx;
	} gone[COLLECTOR_MAX_SUBSCRIBERS];
	size_t n_gone;
	struct discovery *discovery; /* NULL: found by /proc scans only */
	/* Processes to look at again shortly: a hook not loaded yet, libraries
	 * not mapped yet (just exec'd). */
	struct pending {
		int pid;
		uint64_t start_ticks;
		uint64_t due_ms;
		unsigned int step;
	} pending[COLLECTOR_MAX_PENDING];
	size_t n_pending;
};

struct tracked *collector_find(struct collector *c, int pid);
int collector_start_tracking(struct collector *c, const struct proc_entry *e, struct tracked *t);
void collector_stop_tracking(struct collector *c, struct tracked *t);
void collector_heap_sync(struct collector *c, struct tracked *t);
/* top_rss's evaluation for a snapshot, from discovery's task iterator. */
void collector_top_rss_refresh(struct collector *c);
/* Heap-tier slots counted anew from those held. */
void collector_count_quota(struct collector *c);
/* Looks at @pid again in a moment (step 0 first); false when the list is full
 * or it was looked at enough. */
bool collector_pending_add(struct collector *c, int pid, uint64_t start_ticks, unsigned int step);

/* /proc/PID/stat of a live user process (not a zombie, not a kernel thread). */
bool collector_alive_stat(int pid, struct proc_stat *st);

#endif
