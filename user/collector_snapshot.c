// SPDX-License-Identifier: Apache-2.0
/*
 * One snapshot of the tracked processes: the kernel tier's figures, the
 * cgroup limits, the heap tiers' figures and why a process is not reported.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "cgroup_ns.h"
#include "clock.h"
#include "collector_int.h"
#include "log.h"
#include "utf8.h"

/* The process's cgroup paths (v2, v1 memory), read once for limit and identity. */
struct cgroup_paths {
	char v2[1024], v1[1024];
};

/* With discovery, a process's cgroup is read once and again only after it
 * moved (an event says so); without, every snapshot. */
static void read_cgroup(struct collector *c, struct tracked *t, struct cgroup_paths *cg)
{
	char text[4096];

	cg->v2[0] = cg->v1[0] = '\0';
	if (c->discovery && t->cgroup_known) {
		procfs__parse_cgroup(t->cgroup, cg->v2, sizeof(cg->v2), cg->v1, sizeof(cg->v1));
		return;
	}
	if (cgroup_ns__read_pid(t->pid, text, sizeof(text)) <= 0)
		return;
	procfs__parse_cgroup(text, cg->v2, sizeof(cg->v2), cg->v1, sizeof(cg->v1));
	if (!c->discovery)
		return;
	free(t->cgroup);
	t->cgroup = strdup(text);
	t->cgroup_known = t->cgroup != NULL;
}

static void fill_limit(struct collector *c, struct sample *s, const struct cgroup_paths *cg)
{
	const struct memory_config *m = &c->cfg->memory;
	uint64_t limit;

	s->heap_limit_bytes = m->max_heap_mb * 1024 * 1024;
	if (m->max_memory_mb) {
		s->limit_bytes = m->max_memory_mb * 1024 * 1024;
	} else if (procfs__cgroup_limit(cg->v2, cg->v1, &limit) == 0) {
		s->limit_bytes = limit < c->mem_total || !c->mem_total ? limit : c->mem_total;
		s->limit_from_cgroup = true;
	} else {
		s->limit_bytes = c->mem_total;
	}
	s->usage_percent =
		s->limit_bytes ? 100.0 * (double)s->rss_bytes / (double)s->limit_bytes : 0;
}

/* The pod uid and container id its cgroup paths name, then the names. */
static void fill_identity(struct collector *c, struct sample *s, const struct cgroup_paths *cg)
{
	pods__parse_cgroups(cg->v2, cg->v1, &s->ident);
	pod_names__resolve(c->pod_names, &s->ident);
}

static uint64_t pages(int64_t n)
{
	return n > 0 ? (uint64_t)n * (uint64_t)procfs__page_size() : 0;
}

static void agent_counters(struct collector *c, struct agent_stats *a, double now)
{
	struct kernel_counters k;

	kernel__counters(c->kernel, &k);
	a->oom_kills_total = k.oom_kills;
	if (k.oom_victim.time_ns) {
		double ago = (double)(clock__boot_ns() - k.oom_victim.time_ns) / 1e9;

		a->oom_victim_time = now - ago;
		a->oom_victim_pid = (int)k.oom_victim.tgid;
		utf8__sanitize(a->oom_victim_comm, sizeof(a->oom_victim_comm), k.oom_victim.comm,
			       strnlen(k.oom_victim.comm, sizeof(k.oom_victim.comm)), 0);
	}
}

/* The process's CPU time in ns: its CPU clock, exact (the clock the hook's
 * per-thread trim times come from); utime + stime, in ticks, failing that. */
static uint64_t process_cpu_ns(int pid)
{
	struct timespec ts;
	struct proc_stat st;
	clockid_t clock;

	if (!clock_getcpuclockid(pid, &clock) && !clock_gettime(clock, &ts))
		return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
	if (!collector_alive_stat(pid, &st))
		return 0;
	return (st.utime + st.stime) * (1000000000ULL / (uint64_t)procfs__clock_ticks());
}

static void fill_heap(struct collector *c, struct tracked *t, struct snapshot *snap,
		      struct sample *s)
{
	union heap_figures *f;
	uint64_t trim_cpu_ns;

	/* Its hook is loaded (checked before the probe went on), its reports
	 * are being probed: it can be trimmed before it ever reported. */
	s->hook_pending = t->tier == HEAP_HOOK && t->attaching;
	if (t->heap != HEAP_STATE_ATTACHED)
		return;
	f = snapshot__heap_figures(snap);
	if (!f)
		return;
	if (t->tier == HEAP_HOOK) {
		if (heap__read_hook(c->heap, t->pid, &f->hook))
			goto unused;
		s->hook = &f->hook;
		/* Without a pidfd it is never signalled: not trimmable. */
		s->hook_loaded = trim__watched(c->trim, t->pid, t->start_ticks);
		/* Until its first report, a hooked process has no figures to show. */
		s->has_hook = f->hook.reports > 0;
		trim_cpu_ns = f->hook.trim_cpu_ns;
	} else if (!heap__read(c->heap, t->pid, &f->uprobe)) {
		s->heap = &f->uprobe;
		s->has_uprobe = true;
		trim_cpu_ns = f->uprobe.trim_cpu_ns;
	} else {
		goto unused;
	}
	/* Trim time read first: the process's CPU time, read after, holds it. */
	s->gc_cpu_fraction = gc_window__add(&t->gc_window, trim_cpu_ns, process_cpu_ns(t->pid));
	return;
unused:
	snap->n_heaps--; /* the room just taken */
}

static int by_tgid(const void *key, const void *elem)
{
	return *(const int *)key - ((const struct kernel_process *)elem)->tgid;
}

static void fill_sample(struct sample *s, const struct kernel_process *p)
{
	s->file_bytes = pages(p->rss_pages[MM_RSS_FILE]);
	s->anon_bytes = pages(p->rss_pages[MM_RSS_ANON]);
	s->shmem_bytes = pages(p->rss_pages[MM_RSS_SHMEM]);
	s->swap_bytes = pages(p->rss_pages[MM_RSS_SWAP]);
	s->rss_bytes = s->file_bytes + s->anon_bytes + s->shmem_bytes;
	/* As VmHWM: the mm's high-water mark is only updated lazily. */
	s->rss_peak_bytes = pages((int64_t)p->hiwater_rss_pages);
	if (s->rss_peak_bytes < s->rss_bytes)
		s->rss_peak_bytes = s->rss_bytes;
	s->minflt = p->minflt;
	s->majflt = p->majflt;
}

/* As /proc/PID/stat's start time: boot-time ns in clock ticks. */
static uint64_t ns_per_tick(void)
{
	return 1000000000ULL / (uint64_t)procfs__clock_ticks();
}

/*
 * Identity is checked once, here, on the kernel tier's record: its figures
 * and the start time that identifies the process come from the same task in
 * one pass, so a number that changed hands shows another start time. No
 * record: gone, or the kernel tier could not be read; /proc tells which.
 * @comm: the name it has now (exec and prctl change it), sanitized.
 */
static enum target_state report_state(const struct kernel_process *p, const struct tracked *t,
				      char comm[PROC_COMM_LEN + 1])
{
	struct proc_stat st;

	if (p) {
		if (p->leader_exited || p->start_boottime_ns / ns_per_tick() != t->start_ticks)
			return TARGET_GONE;
		utf8__sanitize(comm, PROC_COMM_LEN + 1, p->comm, strnlen(p->comm, sizeof(p->comm)),
			       0);
		return TARGET_REPORTED;
	}
	if (!collector_alive_stat(t->pid, &st) || st.starttime != t->start_ticks)
		return TARGET_GONE;
	return TARGET_UNREADABLE;
}

struct snapshot *collector__snapshot(struct collector *c)
{
	struct snapshot *snap;
	struct kernel_process *procs = NULL;
	size_t n_procs = 0, n_heaps = 0;
	int err;

	collector_top_rss_refresh(c);
	for (size_t i = 0; i < c->n_tracked; i++)
		n_heaps += c->tracked[i].heap == HEAP_STATE_ATTACHED;
	snap = snapshot__new(c->n_tracked, n_heaps);
	if (!snap)
		return NULL;
	err = kernel__read(c->kernel, &procs, &n_procs);
	if (err)
		log_warn("reading the kernel tier: %s", strerror(-err));
	snap->agent.bpf_ok = !err;
	/* For the HTTP threads (/api, /health, POST gc), which read snapshots,
	 * never the configuration a reload frees. */
	snap->memory = c->cfg->memory;
	snap->time = clock__unix();
	pod_names__refresh(c->pod_names, c->cfg->kubernetes.pods_log_dir,
			   c->cfg->kubernetes.containers_log_dir);
	for (size_t i = 0; i < c->n_tracked; i++) {
		struct tracked *t = &c->tracked[i];
		struct sample *s = &snap->samples[snap->n];
		const struct kernel_process *p;
		struct cgroup_paths cg;
		char comm[PROC_COMM_LEN + 1];
		enum target_state state;

		p = procs ? bsearch(&t->pid, procs, n_procs, sizeof(*procs), by_tgid) : NULL;
		state = report_state(p, t, comm);
		snap->agent.target_states[state]++;
		/* Said once per process; a failed read of the kernel tier is said above. */
		if (procs && state != t->state && state != TARGET_REPORTED)
			target_state__explain(t->pid, t->comm, state, t->by_top_rss);
		if (procs)
			t->state = state;
		if (state != TARGET_REPORTED)
			continue;
		*s = (struct sample){
			.pid = t->pid, .start_ticks = t->start_ticks, .uid = t->uid, .tier = t->tier
		};
		memcpy(s->comm, comm, sizeof(s->comm)); /* exec may rename it */
		fill_sample(s, p);
		read_cgroup(c, t, &cg);
		fill_limit(c, s, &cg);
		fill_identity(c, s, &cg);
		fill_heap(c, t, snap, s);
		snap->agent.targets_by_tier[t->tier]++;
		if (t->tier != HEAP_NONE)
			snap->agent.heap_states[t->heap]++;
		snap->n++;
	}
	free(procs);
	c->snapshots++;
	snap->agent.targets_dropped = c->dropped_last;
	agent_counters(c, &snap->agent, snap->time);
	return snap;
}
