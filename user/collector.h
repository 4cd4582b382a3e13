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
/* Scans /proc, applies the target rules, starts and stops tracking. */
int collector__discover(struct collector *c);
/* A new snapshot (one reference, not yet rendered) or NULL on ENOMEM. */
struct snapshot *collector__snapshot(struct collector *c);

#endif
