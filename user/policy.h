/* SPDX-License-Identifier: Apache-2.0 */
/* The watermark policy: when to ask a hooked process to trim. */
#ifndef MEMTIDE_POLICY_H
#define MEMTIDE_POLICY_H

#include <stdint.h>
#include "snapshot.h"
#include "trim.h"

struct policy;

int policy__new(struct policy **out);
void policy__free(struct policy *p);
/*
 * Once per snapshot (@now_ms: CLOCK_MONOTONIC), for each hook-tier process:
 * above high_water_mark_percent, trim at most once per gc_interval; above
 * force_gc_threshold, even inside gc_interval but at most once per monitor
 * interval; a trim that gave back almost nothing backs off (doubling, from
 * gc_interval) until usage falls below low_water_mark_percent, which re-arms.
 */
void policy__evaluate(struct policy *p, const struct snapshot *s, struct trim *t,
		      uint64_t now_ms);

/* Whether a trim's result was worth it: at least 1 MiB or 1% of RSS back. */
bool policy__effective(uint64_t rss_before, uint64_t rss_after);

#endif
