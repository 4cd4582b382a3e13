// SPDX-License-Identifier: Apache-2.0
/*
 * Event-driven discovery: a process is selected when the kernel says it
 * started, exec'd, was renamed or moved (user/discovery.h), and forgotten
 * when it exits, without a /proc scan. What an event cannot tell yet (a
 * hook ld.so has not mapped, a libc not mapped yet) is looked at again a
 * moment later, for that process only.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "clock.h"
#include "collector_int.h"
#include "discovery.h"
#include "log.h"
#include "utf8.h"

/* When a just-started process is looked at again: ld.so maps the preloaded
 * hook and libc within milliseconds of exec, later on a loaded machine. */
static const unsigned int pending_after_ms[] = { 5, 20, 100, 500, 2000 };
#define PENDING_STEPS (sizeof(pending_after_ms) / sizeof(pending_after_ms[0]))

bool collector_pending_add(struct collector *c, int pid, uint64_t start_ticks, unsigned int step)
{
	uint64_t due;
	size_t i;

	if (step >= PENDING_STEPS)
		return false;
	due = clock__mono_ms() + pending_after_ms[step];
	for (i = 0; i < c->n_pending; i++)
		if (c->pending[i].pid == pid)
			break;
	if (i == c->n_pending) {
		if (c->n_pending == COLLECTOR_MAX_PENDING)
			return false; /* the next reconciliation has it */
		c->n_pending++;
	}
	c->pending[i] = (struct pending){ pid, start_ticks, due, step };
	return true;
}

static void pending_drop(struct collector *c, int pid)
{
	for (size_t i = 0; i < c->n_pending; i++)
		if (c->pending[i].pid == pid) {
			c->pending[i] = c->pending[--c->n_pending];
			return;
		}
}

/* Out of the sorted array, and forgotten everywhere. */
static void untrack(struct collector *c, struct tracked *t, const char *why)
{
	size_t i = (size_t)(t - c->tracked);

	log__msg(t->by_top_rss ? LOG_DEBUG : LOG_INFO, "no longer tracking pid %d (%s)%s", t->pid,
		 t->comm, why);
	collector_stop_tracking(c, t);
	memmove(t, t + 1, (c->n_tracked - i - 1) * sizeof(*t));
	c->n_tracked--;
}

static struct tracked *track(struct collector *c, const struct proc_entry *e)
{
	struct tracked t;
	size_t i = 0;

	if (c->n_tracked == PROC_MAX_TRACKED)
		return NULL; /* the next reconciliation counts it as dropped */
	if (collector_start_tracking(c, e, &t))
		return NULL;
	t.born_ms = clock__mono_ms();
	while (i < c->n_tracked && c->tracked[i].pid < t.pid)
		i++;
	memmove(&c->tracked[i + 1], &c->tracked[i], (c->n_tracked - i) * sizeof(t));
	c->tracked[i] = t;
	c->n_tracked++;
	return &c->tracked[i];
}

static void entry_from_event(struct proc_entry *e, const struct procs_event *ev)
{
	*e = (struct proc_entry){ .pid = (int)ev->pid, .hooked = -1, .selected_rule = -1 };
	utf8__sanitize(e->stat.comm, sizeof(e->stat.comm), ev->comm,
		       strnlen(ev->comm, sizeof(ev->comm)), 0);
	e->stat.starttime = ev->start_ticks;
}

/* Selects one process by its event; @t: it is tracked already. */
static void select_one(struct collector *c, struct proc_entry *e, struct tracked *t,
		       bool just_execd, bool *hook_unknown)
{
	int rule;

	if (just_execd)
		e->hooked = HOOK_LATER; /* ld.so has not mapped its libraries yet */
	rule = selector__select_one(c->cfg, e, hook_unknown);
	if (t && rule < 0) {
		if (!t->by_top_rss) /* top_rss members move at its evaluation */
			untrack(c, t, ": no rule selects it now");
		return;
	}
	if (rule < 0)
		return;
	if (!t) {
		e->selected_rule = rule;
		t = track(c, e);
		if (!t)
			return;
	}
	t->tier = c->cfg->targets[rule].heap;
	t->by_top_rss = false;
	memcpy(t->comm, e->stat.comm, sizeof(t->comm));
	collector_count_quota(c);
	/* Just exec'd: its hook comes a moment later (the uprobe tier's probes
	 * can go on its libc before ld.so maps it). */
	if (just_execd && t->tier == HEAP_HOOK && t->heap == HEAP_STATE_OFF && !t->attaching)
		collector_pending_add(c, t->pid, t->start_ticks, 0);
	else
		collector_heap_sync(c, t);
}

void collector__event(struct collector *c, const struct procs_event *ev)
{
	struct tracked *t = collector_find(c, (int)ev->pid);
	struct proc_entry e;
	bool hook_unknown;

	/* The number changed hands and the exit went unseen (lost). */
	if (t && t->start_ticks != ev->start_ticks) {
		untrack(c, t, ": its number was reused");
		t = NULL;
	}
	switch (ev->type) {
	case PROCS_EXIT:
		pending_drop(c, (int)ev->pid);
		if (t)
			untrack(c, t, ": it exited");
		return;
	case PROCS_CGROUP:
		if (t)
			t->cgroup_known = false;
		break;
	case PROCS_EXEC:
		/* A new image, selected anew; a tracked process keeps its probes
		 * (they are on the libc file, which the new image maps again). */
		pending_drop(c, (int)ev->pid);
		break;
	default:
		break;
	}
	entry_from_event(&e, ev);
	select_one(c, &e, t, ev->type == PROCS_EXEC, &hook_unknown);
	if (hook_unknown)
		collector_pending_add(c, e.pid, e.stat.starttime, 0);
	proc_entry__release(&e);
}

/* A just-started process's turn: its hook, or its libc, may be there now. */
static void pending_run(struct collector *c, struct pending p)
{
	struct tracked *t = collector_find(c, p.pid);
	struct proc_entry e = { .pid = p.pid, .hooked = -1, .selected_rule = -1 };
	bool hook_unknown;

	if (t && t->start_ticks != p.start_ticks)
		return;
	if (t) {
		memcpy(e.stat.comm, t->comm, sizeof(e.stat.comm));
		e.stat.starttime = t->start_ticks;
		collector_count_quota(c);
	} else if (!collector_alive_stat(p.pid, &e.stat) || e.stat.starttime != p.start_ticks) {
		return;
	}
	/* A rule with `hooked` before the one that selected it may now; its
	 * libc may be mapped now (heap_sync() asks again if not). */
	select_one(c, &e, t, false, &hook_unknown);
	if (hook_unknown)
		collector_pending_add(c, p.pid, p.start_ticks, p.step + 1);
	proc_entry__release(&e);
}

void collector__run_pending(struct collector *c)
{
	uint64_t now = clock__mono_ms();

	for (size_t i = 0; i < c->n_pending;) {
		struct pending p = c->pending[i];

		if (p.due_ms > now) {
			i++;
			continue;
		}
		c->pending[i] = c->pending[--c->n_pending];
		pending_run(c, p);
	}
	/* Attaches finish on the heap module's threads: take their answers. */
	for (size_t i = 0; i < c->n_tracked; i++)
		if (c->tracked[i].attaching)
			collector_heap_sync(c, &c->tracked[i]);
}

uint64_t collector__started(const struct collector *c)
{
	return c->started;
}

uint64_t collector__next_due(const struct collector *c)
{
	uint64_t due = UINT64_MAX;

	for (size_t i = 0; i < c->n_pending; i++)
		if (c->pending[i].due_ms < due)
			due = c->pending[i].due_ms;
	for (size_t i = 0; i < c->n_tracked; i++)
		if (c->tracked[i].attaching) {
			uint64_t soon = clock__mono_ms() + 50;

			return soon < due ? soon : due;
		}
	return due;
}
