/* SPDX-License-Identifier: Apache-2.0 */
/* Finds the processes to track, keeps the BPF map in step, builds snapshots. */
#ifndef MEMTIDE_COLLECTOR_H
#define MEMTIDE_COLLECTOR_H

#include "config.h"
#include "kernel.h"
#include "proc_key.h"
#include "snapshot.h"
#include "trim.h"
#include "heap.h"

struct collector;

/* @uprobe may be NULL: uprobe- and hook-tier targets then get the kernel
 * tier only. Hook-tier processes are watched by @trim (pidfds). */
int collector__new(struct kernel *kernel, struct heap *heap, struct trim *trim,
		   const struct config *cfg, struct collector **out);
void collector__free(struct collector *c);
/*
 * @gone(@ctx, key) is called, on the collection thread, for every process the
 * collector stops tracking (it exited, was replaced under its number, or no
 * rule selects it any more): each module that keeps something per process
 * subscribes here, so a process is forgotten everywhere at the same moment.
 * 0, or -E2BIG past COLLECTOR_MAX_SUBSCRIBERS.
 */
#define COLLECTOR_MAX_SUBSCRIBERS 8
int collector__on_gone(struct collector *c, proc_gone_fn gone, void *ctx);
/* The caller keeps @cfg alive until the next call or collector__free(). */
void collector__set_config(struct collector *c, const struct config *cfg);
/* Scans /proc, applies the target rules, starts and stops tracking: without
 * @discovery twice a second, with it a reconciliation (at start, every
 * discovery_reconcile_interval, after lost events). */
int collector__discover(struct collector *c);
struct discovery;
struct procs_event;
/* Processes come from @d's events; top_rss ranks from its task iterator. */
void collector__set_discovery(struct collector *c, struct discovery *d);
/* One exec, fork, rename, move or exit (bpf/procs.h). */
void collector__event(struct collector *c, const struct procs_event *e);
/* Runs what is due of the look-agains (hooks, libraries not mapped yet, attaches). */
void collector__run_pending(struct collector *c);
/* How many processes it began to track, ever: a change means new ones. */
uint64_t collector__started(const struct collector *c);
/* When (clock__mono_ms()) the next look-again is due; UINT64_MAX: none. */
uint64_t collector__next_due(const struct collector *c);
/* A new snapshot (one reference, not yet rendered) or NULL on ENOMEM. */
struct snapshot *collector__snapshot(struct collector *c);

#endif
