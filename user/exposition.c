// SPDX-License-Identifier: Apache-2.0
/* The Prometheus text format for /metrics, the textfile and the push: pure formatting. */
#include <errno.h>
#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "alerts.h"
#include "exposition.h"
#include "exposition_int.h"

#ifndef MEMTIDE_VERSION
#define MEMTIDE_VERSION "unknown"
#endif

static void per_process(struct buf *b, const struct snapshot *snap, const char *name,
			const char *type, const char *help, sample_get get)
{
	expo_per_process_where(b, snap, name, type, help, get, NULL);
}

static double get_rss(const struct sample *s)
{
	return (double)s->rss_bytes;
}

static double get_limit_mb(const struct sample *s)
{
	return (double)s->limit_bytes / (1024.0 * 1024.0);
}

static double get_usage(const struct sample *s)
{
	return s->usage_percent;
}

static double get_swap(const struct sample *s)
{
	return (double)s->swap_bytes;
}

static double get_peak(const struct sample *s)
{
	return (double)s->rss_peak_bytes;
}

static void render_processes(const struct snapshot *snap, struct buf *b)
{
	struct label l[MAX_LABELS];
	char pid[16];

	per_process(b, snap, "memory_sys_bytes", "gauge",
		    "Resident set size of the process (file + anon + shmem), in bytes.", get_rss);
	per_process(
		b, snap, "memory_max_memory_mb", "gauge",
		"Memory limit usage is measured against, in MiB (max_memory_mb, or the cgroup limit when it is 0).",
		get_limit_mb);
	per_process(b, snap, "memory_usage_percent", "gauge",
		    "Resident set size as a percentage of memory_max_memory_mb.", get_usage);

	expo__family(b, "memory_rss_bytes", "gauge", "Resident memory by kind, in bytes.");
	for (size_t i = 0; i < snap->n; i++) {
		const struct sample *s = &snap->samples[i];
		const struct {
			const char *kind;
			uint64_t v;
		} kinds[] = { { "anon", s->anon_bytes },
			      { "file", s->file_bytes },
			      { "shmem", s->shmem_bytes } };

		for (size_t k = 0; k < 3; k++) {
			size_t n = expo_process_labels(s, pid, l, "kind", kinds[k].kind);

			expo__sample_u64(b, "memory_rss_bytes", l, n, kinds[k].v);
		}
	}
	per_process(b, snap, "memory_swap_bytes", "gauge", "Swapped-out memory, in bytes.",
		    get_swap);
	per_process(b, snap, "memory_rss_peak_bytes", "gauge",
		    "Highest resident set size seen since tracking began, in bytes.", get_peak);

	expo__family(b, "memory_page_faults_total", "counter",
		     "Page faults of the process by kind, as /proc/PID/stat counts them.");
	for (size_t i = 0; i < snap->n; i++) {
		const struct sample *s = &snap->samples[i];
		size_t n = expo_process_labels(s, pid, l, "kind", "minor");

		expo__sample_u64(b, "memory_page_faults_total", l, n, s->minflt);
		n = expo_process_labels(s, pid, l, "kind", "major");
		expo__sample_u64(b, "memory_page_faults_total", l, n, s->majflt);
	}
}

static void render_node(const struct snapshot *snap, struct buf *b)
{
	const struct agent_stats *a = &snap->agent;

	expo__family(b, "memory_oom_kills_total", "counter",
		     "Processes on this node chosen by the OOM killer since memtide started.");
	expo__sample_u64(b, "memory_oom_kills_total", NULL, 0, a->oom_kills_total);
	if (a->oom_victim_time > 0) {
		char pid[16];
		struct label l[] = { { "pid", pid }, { "comm", a->oom_victim_comm } };

		snprintf(pid, sizeof(pid), "%d", a->oom_victim_pid);
		expo__family(b, "memory_oom_last_kill_timestamp_seconds", "gauge",
			     "When the OOM killer last chose a process on this node, and which.");
		expo__sample(b, "memory_oom_last_kill_timestamp_seconds", l, 2, a->oom_victim_time);
	}
}

static void render_alerts(const struct snapshot *snap, struct buf *b)
{
	struct label l[2];

	expo__family(b, "memory_alerts_firing", "gauge",
		     "Alerts memtide has firing, by alert name and severity.");
	for (enum alert_kind k = 0; k < ALERT_KINDS; k++) {
		l[0] = (struct label){ "alertname", alert__name(k) };
		l[1] = (struct label){ "severity", alert__severity(k) };
		expo__sample_u64(b, "memory_alerts_firing", l, 2, snap->agent.alerts_firing[k]);
	}
}

static void render_discovery(const struct discovery_stats *d, struct buf *b)
{
	static const char *const types[] = { "exec", "fork", "exit", "rename", "cgroup" };
	static const char *const reasons[RECONCILE_REASONS] = {
		[RECONCILE_START] = "start",
		[RECONCILE_PERIODIC] = "periodic",
		[RECONCILE_LOST] = "lost",
		[RECONCILE_RELOAD] = "reload",
	};
	struct label l[1];

	if (!d->on)
		return;
	expo__family(b, "memtide_discovery_events_total", "counter",
		     "Process events from the kernel handled, by type.");
	for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++) {
		l[0] = (struct label){ "type", types[i] };
		expo__sample_u64(b, "memtide_discovery_events_total", l, 1, d->events[i]);
	}
	expo__family(
		b, "memtide_discovery_events_lost_total", "counter",
		"Process events the kernel could not queue (ring buffer full); each loss brings a reconciliation.");
	expo__sample_u64(b, "memtide_discovery_events_lost_total", NULL, 0, d->lost);
	expo__family(b, "memtide_discovery_reconciliations_total", "counter",
		     "Full /proc scans behind event-driven discovery, by reason.");
	for (int r = 0; r < RECONCILE_REASONS; r++) {
		l[0] = (struct label){ "reason", reasons[r] };
		expo__sample_u64(b, "memtide_discovery_reconciliations_total", l, 1,
				 d->reconciliations[r]);
	}
}

static void render_agent(const struct snapshot *snap, struct buf *b)
{
	const struct agent_stats *a = &snap->agent;
	struct label l[2];

	expo__family(b, "memtide_build_info", "gauge", "memtide's version; always 1.");
	l[0] = (struct label){ "version", MEMTIDE_VERSION };
	expo__sample(b, "memtide_build_info", l, 1, 1);

	expo__family(
		b, "memtide_node_info", "gauge",
		"The node's name, as the Alertmanager sender and the Pushgateway group give it; always 1.");
	l[0] = (struct label){ "node", a->node };
	expo__sample(b, "memtide_node_info", l, 1, 1);

	expo__family(b, "memtide_start_time_seconds", "gauge",
		     "When the agent started, in unix seconds.");
	expo__sample(b, "memtide_start_time_seconds", NULL, 0, a->start_time);

	render_discovery(&a->discovery, b);

	expo__family(b, "memtide_targets", "gauge", "Processes tracked, by heap tier.");
	for (enum heap_tier t = HEAP_NONE; t <= HEAP_HOOK; t++) {
		l[0] = (struct label){ "tier", heap_tier__name(t) };
		expo__sample_u64(b, "memtide_targets", l, 1, a->targets_by_tier[t]);
	}

	expo__family(
		b, "memtide_targets_dropped", "gauge",
		"Processes the targets rules select but memtide does not track: over its limit of 4096.");
	expo__sample_u64(b, "memtide_targets_dropped", NULL, 0, a->targets_dropped);

	expo__family(
		b, "memtide_selected_targets", "gauge",
		"Processes the targets rules select, by state in the last snapshot (reported; gone: exited before it; unreadable: no kernel-tier record, see the log; dropped: over the tracking limit).");
	for (int st = TARGET_REPORTED; st <= TARGET_STATES; st++) {
		bool dropped = st == TARGET_STATES;

		l[0] = (struct label){ "state", dropped ? "dropped" : target_state__name(st) };
		expo__sample_u64(b, "memtide_selected_targets", l, 1,
				 dropped ? a->targets_dropped : a->target_states[st]);
	}

	expo__family(
		b, "memtide_uprobe_targets", "gauge",
		"Processes selected for a heap tier, by state (unsupported: no glibc or no real hook; user_limit: over the per-user limit).");
	{
		/* HEAP_STATE_OFF (not attached yet, or not wanted) is not a state shown. */
		static const char *const states[HEAP_STATES] = {
			[HEAP_STATE_ATTACHED] = "attached",
			[HEAP_STATE_UNSUPPORTED] = "unsupported",
			[HEAP_STATE_FAILED] = "failed",
			[HEAP_STATE_LIMITED] = "user_limit",
		};

		for (int st = HEAP_STATE_ATTACHED; st < HEAP_STATES; st++) {
			l[0] = (struct label){ "state", states[st] };
			expo__sample_u64(b, "memtide_uprobe_targets", l, 1, a->heap_states[st]);
		}
	}

	expo__family(b, "memtide_config_last_reload_successful", "gauge",
		     "Whether the last configuration (re)load succeeded.");
	expo__sample(b, "memtide_config_last_reload_successful", NULL, 0, a->config_reload_ok);
	expo__family(b, "memtide_config_last_reload_success_timestamp_seconds", "gauge",
		     "When the configuration was last loaded successfully, in unix seconds.");
	expo__sample(b, "memtide_config_last_reload_success_timestamp_seconds", NULL, 0,
		     a->config_reload_time);

	expo__family(b, "memtide_push_success_total", "counter",
		     "Pushes the Pushgateway accepted.");
	expo__sample_u64(b, "memtide_push_success_total", NULL, 0, a->push.successes);
	expo__family(b, "memtide_push_failures_total", "counter",
		     "Pushes that failed (unreachable, timed out, or refused).");
	expo__sample_u64(b, "memtide_push_failures_total", NULL, 0, a->push.failures);
	expo__family(b, "memtide_push_last_success_timestamp_seconds", "gauge",
		     "When a push last succeeded, in unix seconds; 0: never.");
	expo__sample(b, "memtide_push_last_success_timestamp_seconds", NULL, 0,
		     a->push.last_success_time);

	expo__family(b, "memtide_collection_duration_seconds", "gauge",
		     "How long building the latest snapshot took.");
	expo__sample(b, "memtide_collection_duration_seconds", NULL, 0, a->collect_seconds);
	expo__family(b, "memtide_snapshot_timestamp_seconds", "gauge",
		     "When the latest snapshot was taken, in unix seconds.");
	expo__sample(b, "memtide_snapshot_timestamp_seconds", NULL, 0, snap->time);
}

int exposition__render(const struct snapshot *snap, struct buf *b)
{
	render_processes(snap, b);
	expo_render_heap(snap, b);
	render_node(snap, b);
	render_alerts(snap, b);
	render_agent(snap, b);
	return b->err;
}
