/* SPDX-License-Identifier: Apache-2.0 */
/* The watermark policy: when to ask a hooked process to trim. */
#ifndef MEMTIDE_POLICY_H
#define MEMTIDE_POLICY_H

#include <stdbool.h>
#include <stdint.h>
#include "config.h"
#include "proc_key.h"
#include "snapshot.h"

/* How the policy asks for a trim (trim__request in the agent; a recording
 * fake in the unit tests): 0, or -errno with *why set. */
struct policy_trim {
	int (*request)(void *ctx, int pid, const char **why);
	void *ctx;
};

struct policy;

int policy__new(const struct policy_trim *trim, struct policy **out);
void policy__free(struct policy *p);
/*
 * Once per snapshot (@now_ms: CLOCK_MONOTONIC), for each hook-tier process:
 * at or above high_water_mark_percent, trim at most once per gc_interval; at
 * or above force_gc_threshold, even inside gc_interval but at most once per
 * monitor interval; a trim that gave back almost nothing backs off (doubling,
 * from gc_interval) until usage falls below low_water_mark_percent, which
 * re-arms. @m: the configuration in force.
 */
void policy__evaluate(struct policy *p, const struct memory_config *m, const struct snapshot *s,
		      uint64_t now_ms);
/* The process is gone (proc_gone_fn): its entry goes. */
void policy__forget(struct policy *p, const struct proc_key *k);

/* A process the watermarks trim: its hook loaded (or being probed) and its
 * usage at or above the high water mark. */
bool policy__trimmable(const struct memory_config *m, const struct sample *s);
/* The targets of POST /api/v1/memory/gc: ?pid=@pid, whatever its usage, or
 * with @pid 0 every trimmable process. */
bool policy__gc_target(const struct memory_config *m, const struct sample *s, int pid);

/* Whether a trim's result was worth it: at least 1 MiB or 1% of RSS back. */
bool policy__effective(uint64_t rss_before, uint64_t rss_after);

#endif
