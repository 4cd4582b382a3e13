/* SPDX-License-Identifier: Apache-2.0 */
/*
 * One immutable, reference-counted picture of every tracked process, taken
 * once per monitor interval. Every output renders from the same snapshot.
 */
#ifndef MEMTIDE_SNAPSHOT_H
#define MEMTIDE_SNAPSHOT_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <linux/types.h> /* for heap.h */
#include "config.h"
#include "heap_types.h" /* the heap tiers' figures, shared with the BPF side */
#include "node.h"
#include "pods.h"
#include "procfs.h"
#include "push_stats.h"
#include "site.h"
#include "target_state.h"

/* How a process's heap tier stands. */
enum heap_state {
	HEAP_STATE_OFF,
	HEAP_STATE_ATTACHED,
	HEAP_STATE_UNSUPPORTED,
	HEAP_STATE_FAILED,
	HEAP_STATE_LIMITED, /* its user has no heap-tier slot left */
	HEAP_STATES
};

/* One allocation site of a process, from its sampled allocations (estimates:
 * each sample stands for its weight in bytes). */
struct site_figures {
	char name[SITE_NAME_LEN];
	uint64_t inuse_bytes, inuse_objects; /* sampled blocks not freed yet */
	uint64_t alloc_bytes, alloc_objects; /* since sampling began */
	int64_t growth_bytes; /* inuse_bytes now less at the start of the leak window */
};

struct sample {
	int pid;
	uint64_t start_ticks; /* with pid, identifies the process */
	uid_t uid; /* its owner: per-user quotas */
	char comm[PROC_COMM_LEN + 1];
	struct pod_identity ident; /* what its cgroup and the kubelet say; empty: unknown */
	enum heap_tier tier;
	uint64_t rss_bytes, anon_bytes, file_bytes, shmem_bytes, swap_bytes, rss_peak_bytes;
	uint64_t minflt, majflt;
	uint64_t limit_bytes; /* what usage is measured against */
	uint64_t heap_limit_bytes; /* max_heap_mb; 0: the same as limit_bytes */
	bool limit_from_cgroup;
	double usage_percent;
	/* The heap tiers' figures, in the snapshot's @heaps (most processes
	 * have none: a sample is a fifth of the size without them). heap: set
	 * with has_uprobe; hook: set once read (hook_loaded), has_hook once
	 * the control hook has reported. */
	bool has_uprobe;
	const struct heap_stats *heap;
	bool has_hook;
	const struct hook_state *hook;
	/* The hook tier's readiness: hook_loaded, the process runs the hook and
	 * its reports are probed (it may not have reported yet: !has_hook);
	 * hook_pending, the hook is loaded and its probe going on. */
	bool hook_loaded, hook_pending;
	/* Trim CPU time / process CPU time over the last GC_WINDOW_INTERVALS
	 * snapshots (gc_window.h), in [0, 1]. */
	double gc_cpu_fraction;
	/* Sampled allocation sites (the otel_memory probes): profiled, its probes
	 * are attached; its top sites by inuse_bytes, in the snapshot's array. */
	bool profiled;
	const struct site_figures *sites;
	size_t n_sites;
	uint64_t sites_dropped; /* samples not kept live: a cap was full */
	uint64_t sites_growth_bytes; /* of all its sites that grew over the leak window */
};

enum reconcile_reason {
	RECONCILE_START,
	RECONCILE_PERIODIC,
	RECONCILE_LOST, /* events did not fit the ring buffer */
	RECONCILE_RELOAD,
	RECONCILE_REASONS,
};

/* Event-driven discovery's counters since start (user/discovery.h). */
struct discovery_stats {
	bool on; /* false: /proc scans twice a second */
	uint64_t events[5]; /* by enum procs_event_type */
	uint64_t lost;
	uint64_t reconciliations[RECONCILE_REASONS];
};

struct agent_stats {
	uint64_t targets_by_tier[HEAP_HOOK + 1];
	uint64_t targets_dropped; /* selected but over the tracking limit */
	uint64_t target_states[TARGET_STATES]; /* tracked: reported, or why not */
	uint64_t heap_states[HEAP_STATES]; /* uprobe-tier targets by state */
	uint64_t oom_kills_total;
	int oom_victim_pid;
	char oom_victim_comm[PROC_COMM_LEN + 1];
	double oom_victim_time; /* unix seconds; 0: none since start */
	bool config_reload_ok;
	double config_reload_time;
	double collect_seconds;
	double start_time;
	char node[NODE_NAME_LEN];
	bool bpf_ok; /* the kernel tier answered this snapshot */
	uint64_t alerts_firing[4]; /* by enum alert_kind */
	struct push_stats push;
	struct discovery_stats discovery;
};

/* One process's figures from its heap tier. */
union heap_figures {
	struct heap_stats uprobe;
	struct hook_state hook;
};

struct snapshot {
	int refs;
	double time; /* unix seconds */
	struct agent_stats agent;
	struct memory_config memory; /* the thresholds in force when it was taken */
	size_t n;
	struct sample *samples;
	union heap_figures *heaps; /* what samples' heap and hook point into */
	size_t n_heaps, heaps_cap;
	struct site_figures *sites; /* what samples' sites point into */
	/* Prometheus text, rendered once for /metrics, the textfile and pushes. */
	char *metrics;
	size_t metrics_len;
	/* The same, gzip-compressed on the first scrape that asks for it. */
	pthread_mutex_t gzip_lock;
	char *metrics_gzip;
	size_t metrics_gzip_len;
};

/* The heap figures either heap tier gives (has_heap or has_hook); NaN where
 * the tier cannot know one. */
struct heap_view {
	double alloc_bytes, total_alloc_bytes, heap_alloc_bytes, heap_sys_bytes, heap_idle_bytes,
		heap_inuse_bytes, heap_objects, gc_count, gc_cpu_fraction;
};

void sample__heap_view(const struct sample *s, struct heap_view *out);

/* The hook tier's own heap accounting (report version 3), when the hook counts. */
static inline const struct memtide_hook_counts *sample__hook_counts(const struct sample *s)
{
	return s->has_hook && s->hook->last.counts.counting ? &s->hook->last.counts : NULL;
}

/* Room for @capacity samples, @heaps of them with heap-tier figures. */
struct snapshot *snapshot__new(size_t capacity, size_t heaps);
/* Room for one process's heap-tier figures; NULL when all is taken. */
union heap_figures *snapshot__heap_figures(struct snapshot *s);
struct snapshot *snapshot__get(struct snapshot *s);
/* The metrics text gzip-compressed, made once per snapshot; 0 or -errno. */
int snapshot__metrics_gzip(struct snapshot *s, const char **data, size_t *len);
void snapshot__put(struct snapshot *s);

/* The latest snapshot, shared between the collector and the HTTP threads. */
void snapshot__publish(struct snapshot *s);
struct snapshot *snapshot__current(void);

#endif
