// SPDX-License-Identifier: Apache-2.0
/* Discovery: finds the processes to track and keeps the BPF tiers in step with them. */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "clock.h"
#include "discovery.h"
#include "collector_int.h"
#include "log.h"
#include "quota.h"
#include "selector.h"
#include "utf8.h"

#define MAX_SCAN 65536
/* Reading a process's maps to see whether it loaded the hook is not cheap:
 * the answer is kept per process, a "no" only this long (it may exec into a
 * hooked program under the same pid and start time). */
#define HOOKED_RECHECK_MS 10000

int collector__new(struct kernel *kernel, struct heap *heap, struct trim *trim,
		   const struct config *cfg, struct collector **out)
{
	struct collector *c = calloc(1, sizeof(*c));

	if (!c)
		return -ENOMEM;
	c->tracked = calloc(PROC_MAX_TRACKED, sizeof(*c->tracked));
	c->spare = calloc(PROC_MAX_TRACKED, sizeof(*c->spare));
	c->procs = malloc(MAX_SCAN * sizeof(*c->procs)); /* scan() clears what it uses */
	c->pod_names = pod_names__new();
	if (!c->tracked || !c->spare || !c->procs || !c->pod_names ||
	    top_rss_memory__new(&c->top)) {
		collector__free(c);
		return -ENOMEM;
	}
	c->kernel = kernel;
	c->heap = heap;
	c->trim = trim;
	c->cfg = cfg;
	c->mem_total = procfs__mem_total();
	quota__reset(&c->quota, QUOTA_PER_USER);
	*out = c;
	return 0;
}

void collector__free(struct collector *c)
{
	if (!c)
		return;
	for (size_t i = 0; c->tracked && i < c->n_tracked; i++)
		free(c->tracked[i].cgroup);
	top_rss_memory__free(c->top);
	pod_names__free(c->pod_names);
	free(c->seen);
	free(c->procs);
	free(c->spare);
	free(c->tracked);
	free(c);
}

int collector__on_gone(struct collector *c, proc_gone_fn gone, void *ctx)
{
	if (c->n_gone == COLLECTOR_MAX_SUBSCRIBERS)
		return -E2BIG;
	c->gone[c->n_gone].fn = gone;
	c->gone[c->n_gone++].ctx = ctx;
	return 0;
}

void collector__set_config(struct collector *c, const struct config *cfg)
{
	c->cfg = cfg;
	top_rss_memory__reset(c->top);
}

bool collector_alive_stat(int pid, struct proc_stat *st)
{
	char buf[1024];

	if (procfs__read_pid(pid, "stat", buf, sizeof(buf)) <= 0 || procfs__parse_stat(buf, st))
		return false;
	/* Zombies and dead tasks have no memory left to describe. */
	return st->state != 'Z' && st->state != 'X' && !procfs__is_kernel_thread(st);
}

static size_t scan(struct proc_entry *procs, size_t max)
{
	DIR *dir = opendir("/proc");
	struct dirent *d;
	size_t n = 0;

	if (!dir)
		return 0;
	while (n < max && (d = readdir(dir))) {
		char *end;
		long pid = strtol(d->d_name, &end, 10);

		if (*end || pid <= 0)
			continue;
		memset(&procs[n], 0, sizeof(procs[n]));
		procs[n].pid = (int)pid;
		procs[n].hooked = -1;
		if (collector_alive_stat((int)pid, &procs[n].stat))
			n++;
	}
	closedir(dir);
	return n;
}

static int by_pid(const void *a, const void *b)
{
	return ((const struct tracked *)a)->pid - ((const struct tracked *)b)->pid;
}

struct tracked *collector_find(struct collector *c, int pid)
{
	struct tracked key = { .pid = pid };

	return bsearch(&key, c->tracked, c->n_tracked, sizeof(key), by_pid);
}

int collector_start_tracking(struct collector *c, const struct proc_entry *e, struct tracked *t)
{
	struct proc_stat again;
	int err = kernel__track(c->kernel, e->pid);

	if (err)
		return err;
	/* The number may have been reused between the scan and now. */
	if (!collector_alive_stat(e->pid, &again) || again.starttime != e->stat.starttime) {
		kernel__untrack(c->kernel, e->pid);
		return -ESRCH;
	}
	*t = (struct tracked){ .pid = e->pid,
			       .start_ticks = e->stat.starttime,
			       .tier = c->cfg->targets[e->selected_rule].heap,
			       .uid = procfs__pid_owner(e->pid),
			       .by_top_rss = c->cfg->targets[e->selected_rule].top_rss != 0 };
	memcpy(t->comm, e->stat.comm, sizeof(t->comm));
	c->started++;
	log__msg(t->by_top_rss ? LOG_DEBUG : LOG_INFO, "tracking pid %d (%s), heap tier %s%s",
		 t->pid, t->comm, heap_tier__name(t->tier), t->by_top_rss ? ", by RSS" : "");
	return 0;
}

/* The heap tier goes off a process that stays tracked (its rule changed). */
static void heap_off(struct collector *c, struct tracked *t)
{
	if (t->heap == HEAP_STATE_ATTACHED || t->attaching) {
		const struct proc_key k = { .pid = t->pid, .start_ticks = t->start_ticks };

		heap__drop(c->heap, t->pid);
		trim__forget(c->trim, &k);
	}
	t->heap = HEAP_STATE_OFF;
	t->attaching = false;
}

/* The one place a process stops being tracked: every subscriber forgets it
 * (the heap tier's probes and pidfd included), then the kernel tier. */
void collector_stop_tracking(struct collector *c, struct tracked *t)
{
	const struct proc_key k = { .pid = t->pid, .start_ticks = t->start_ticks };

	free(t->cgroup);
	t->cgroup = NULL;
	t->cgroup_known = false;
	for (size_t i = 0; i < c->n_gone; i++)
		c->gone[i].fn(c->gone[i].ctx, &k);
	t->heap = HEAP_STATE_OFF;
	t->attaching = false;
	kernel__untrack(c->kernel, t->pid);
}

/* Probes go on a process only when its rule asks for the uprobe tier. */
void collector_heap_sync(struct collector *c, struct tracked *t)
{
	int err;

	if (t->tier == HEAP_NONE || t->tier != t->heap_tier) {
		heap_off(c, t);
		t->heap_tier = t->tier;
	}
	if (t->tier == HEAP_NONE || (t->heap != HEAP_STATE_OFF && t->heap != HEAP_STATE_LIMITED))
		return;
	/* Those attaching already hold their slot (counted before the scan). */
	if (!t->attaching && !quota__take(&c->quota, t->uid)) {
		if (!t->over_quota)
			log_warn(
				"pid %d (%s): uid %u already has %d heap-tier processes (the per-user limit): kernel tier only",
				t->pid, t->comm, (unsigned int)t->uid, QUOTA_PER_USER);
		t->over_quota = true;
		t->heap = HEAP_STATE_LIMITED;
		return;
	}
	t->heap = HEAP_STATE_OFF;
	if (!c->heap) {
		t->heap = HEAP_STATE_FAILED;
		log_warn("pid %d (%s): the uprobe tier did not load; kernel tier only", t->pid,
			 t->comm);
		return;
	}
	/* Attaching happens off this loop: ask, and look again next time. */
	err = heap__want(c->heap, t->pid,
			 t->tier == HEAP_HOOK ? HEAP_PROBE_HOOK : HEAP_PROBE_MALLOC);
	t->attaching = err == -EINPROGRESS;
	if (t->attaching)
		return;
	/* Just started: ld.so may not have mapped its libc or hook yet. */
	if ((err == -ENOEXEC || (err == -ENOENT && t->tier == HEAP_HOOK)) && t->born_ms &&
	    collector_pending_add(c, t->pid, t->start_ticks, ++t->retries))
		return;
	if (err == -ENOENT && t->tier == HEAP_HOOK) {
		t->heap = HEAP_STATE_UNSUPPORTED;
		log_warn("pid %d (%s): the control hook is not loaded; kernel tier only", t->pid,
			 t->comm);
	} else if (err == -ENOEXEC) {
		t->heap = HEAP_STATE_UNSUPPORTED;
		log_warn(
			"pid %d (%s): no glibc mapped (static, or another C library); kernel tier only",
			t->pid, t->comm);
	} else if (err) {
		t->heap = HEAP_STATE_FAILED;
		log_error("pid %d (%s): cannot attach the heap probes: %s", t->pid, t->comm,
			  strerror(-err));
	} else {
		t->heap = HEAP_STATE_ATTACHED;
		gc_window__reset(&t->gc_window);
		if (t->tier == HEAP_HOOK && trim__watch(c->trim, t->pid, t->start_ticks))
			log_warn("pid %d (%s): no pidfd: it will not be asked to trim", t->pid,
				 t->comm);
		log_info("pid %d (%s): %s", t->pid, t->comm,
			 t->tier == HEAP_HOOK ? "control hook reports probed"
					      : "heap probes attached to its own libc");
	}
}

static int by_seen_order(const void *a, const void *b)
{
	return ((const struct hook_seen *)a)->pid - ((const struct hook_seen *)b)->pid;
}

static int by_seen_pid(const void *key, const void *elem)
{
	return *(const int *)key - ((const struct hook_seen *)elem)->pid;
}

/* What the last scans learned about the hook, where still good. */
static void recall_hooked(struct collector *c, struct proc_entry *procs, size_t n, uint64_t now)
{
	/* bsearch() wants an array, even an empty one: none before the first scan. */
	for (size_t i = 0; i < n && c->seen; i++) {
		const struct hook_seen *h =
			bsearch(&procs[i].pid, c->seen, c->n_seen, sizeof(*h), by_seen_pid);

		if (h && h->start_ticks == procs[i].stat.starttime &&
		    (h->hooked || now - h->at_ms < HOOKED_RECHECK_MS)) {
			procs[i].hooked = h->hooked;
			procs[i].hooked_at_ms = h->at_ms;
		}
	}
}

static void remember_hooked(struct collector *c, const struct proc_entry *procs, size_t n,
			    uint64_t now)
{
	struct hook_seen *seen = calloc(n ? n : 1, sizeof(*seen));
	size_t k = 0;

	if (!seen)
		return;
	for (size_t i = 0; i < n; i++)
		if (procs[i].hooked >= 0)
			seen[k++] = (struct hook_seen){ .pid = procs[i].pid,
							.start_ticks = procs[i].stat.starttime,
							.hooked = procs[i].hooked,
							.at_ms = procs[i].hooked_at_ms
									 ? procs[i].hooked_at_ms
									 : now };
	qsort(seen, k, sizeof(*seen), by_seen_order);
	free(c->seen);
	c->seen = seen;
	c->n_seen = k;
}

void collector_count_quota(struct collector *c)
{
	quota__reset(&c->quota, QUOTA_PER_USER);
	for (size_t i = 0; i < c->n_tracked; i++)
		if (c->tracked[i].heap == HEAP_STATE_ATTACHED || c->tracked[i].attaching)
			quota__take(&c->quota, c->tracked[i].uid);
}

int collector__discover(struct collector *c)
{
	struct proc_entry *procs = c->procs;
	struct tracked *next = c->spare;
	size_t n, kept = 0, dropped = 0;
	uint64_t now;

	n = scan(procs, MAX_SCAN);
	now = clock__mono_ms();
	/* Slots held go to their holders first; new ones from what is left. */
	collector_count_quota(c);
	recall_hooked(c, procs, n, now);
	/* pid, comm, cmdline rules act at once; top_rss moves once per snapshot
	 * (with discovery, at the snapshot, from the task iterator). */
	selector__select(c->cfg, procs, n, c->top, !c->discovery && c->snapshots != c->evaluated);
	c->evaluated = c->snapshots;
	remember_hooked(c, procs, n, now);
	for (size_t i = 0; i < n; i++) {
		struct proc_entry *e = &procs[i];
		struct tracked *old;

		if (e->selected_rule < 0)
			continue;
		if (kept == PROC_MAX_TRACKED) {
			dropped++;
			continue;
		}
		old = collector_find(c, e->pid);
		if (old && old->start_ticks == e->stat.starttime) {
			old->kept = true;
			next[kept] = *old;
			next[kept].kept = false;
			next[kept].tier = c->cfg->targets[e->selected_rule].heap;
			next[kept].by_top_rss = c->cfg->targets[e->selected_rule].top_rss != 0;
			collector_heap_sync(c, &next[kept++]);
			continue;
		}
		if (old) { /* same number, another process */
			collector_stop_tracking(c, old);
			old->kept = true;
		}
		if (collector_start_tracking(c, e, &next[kept]) == 0)
			collector_heap_sync(c, &next[kept++]);
	}
	for (size_t i = 0; i < c->n_tracked; i++) {
		if (c->tracked[i].kept)
			continue;
		log__msg(c->tracked[i].by_top_rss ? LOG_DEBUG : LOG_INFO,
			 "no longer tracking pid %d (%s)", c->tracked[i].pid, c->tracked[i].comm);
		collector_stop_tracking(c, &c->tracked[i]);
	}
	for (size_t i = 0; i < n; i++)
		proc_entry__release(&procs[i]);
	if (dropped && !c->dropped_last)
		log_warn("%zu selected processes not tracked: the limit is %d", dropped,
			 PROC_MAX_TRACKED);
	c->dropped_last = dropped;
	qsort(next, kept, sizeof(*next), by_pid);
	c->spare = c->tracked;
	c->tracked = next;
	c->n_tracked = kept;
	return 0;
}

void collector__set_discovery(struct collector *c, struct discovery *d)
{
	c->discovery = d;
}

static int by_entry_pid(const void *key, const void *elem)
{
	return *(const int *)key - ((const struct proc_entry *)elem)->pid;
}

/* Every process's RSS from the task iterator, no /proc read: those other
 * rules track stay out of the ranking (the first matching rule wins). */
static size_t top_candidates(struct collector *c, const struct procs_record *r, size_t n)
{
	size_t k = 0;

	for (size_t i = 0; i < n && k < MAX_SCAN; i++) {
		const struct tracked *t = collector_find(c, (int)r[i].pid);
		struct proc_entry *e = &c->procs[k];

		if (t && !t->by_top_rss && t->start_ticks == r[i].start_ticks)
			continue;
		*e = (struct proc_entry){ .pid = (int)r[i].pid, .hooked = -1, .selected_rule = -1 };
		utf8__sanitize(e->stat.comm, sizeof(e->stat.comm), r[i].comm,
			       strnlen(r[i].comm, sizeof(r[i].comm)), 0);
		e->stat.starttime = r[i].start_ticks;
		e->stat.rss_pages = (int64_t)r[i].rss_pages;
		k++;
	}
	return k;
}

/* top_rss's evaluation for this snapshot: members in, former members out. */
void collector_top_rss_refresh(struct collector *c)
{
	struct procs_record *recs;
	struct proc_entry *procs = c->procs;
	size_t n_recs, n;
	uint64_t now = clock__mono_ms();

	if (!c->discovery || !selector__has_top_rss(c->cfg))
		return;
	if (discovery__read_procs(c->discovery, &recs, &n_recs)) {
		log_warn("top_rss: cannot read the processes from the kernel");
		return;
	}
	n = top_candidates(c, recs, n_recs);
	free(recs);
	recall_hooked(c, procs, n, now);
	selector__select_top(c->cfg, procs, n, c->top);
	remember_hooked(c, procs, n, now);
	for (size_t i = c->n_tracked; i-- > 0;) {
		struct tracked *t = &c->tracked[i];
		const struct proc_entry *e;

		if (!t->by_top_rss)
			continue;
		e = bsearch(&t->pid, procs, n, sizeof(*e), by_entry_pid);
		if (e && e->selected_rule >= 0 && e->stat.starttime == t->start_ticks)
			continue;
		log_debug("no longer tracking pid %d (%s)", t->pid, t->comm);
		collector_stop_tracking(c, t);
		memmove(t, t + 1, (c->n_tracked - i - 1) * sizeof(*t));
		c->n_tracked--;
	}
	collector_count_quota(c);
	for (size_t i = 0; i < n; i++) {
		struct tracked *t;
		size_t at = 0;

		if (procs[i].selected_rule < 0)
			continue;
		t = collector_find(c, procs[i].pid);
		if (!t) {
			if (c->n_tracked == PROC_MAX_TRACKED)
				break;
			while (at < c->n_tracked && c->tracked[at].pid < procs[i].pid)
				at++;
			if (collector_start_tracking(c, &procs[i], &c->spare[0]))
				continue;
			memmove(&c->tracked[at + 1], &c->tracked[at],
				(c->n_tracked - at) * sizeof(*t));
			c->tracked[at] = c->spare[0];
			c->n_tracked++;
			t = &c->tracked[at];
		}
		t->tier = c->cfg->targets[procs[i].selected_rule].heap;
		collector_heap_sync(c, t);
	}
	for (size_t i = 0; i < n; i++)
		proc_entry__release(&procs[i]);
}
