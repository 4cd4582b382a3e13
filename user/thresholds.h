/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The memory thresholds, one predicate each, used by every module that acts
 * or reports on them (policy, gc, alerts, /health). A threshold is reached
 * at the figure itself: usage of exactly 80.0% is at the high water mark.
 */
#ifndef MEMTIDE_THRESHOLDS_H
#define MEMTIDE_THRESHOLDS_H

#include <stdbool.h>
#include "config.h"

/* At or above high_water_mark_percent: trim, MemoryHighUsage, "warning". */
static inline bool thresholds__high(const struct memory_config *m, double usage)
{
	return usage >= m->high_water_mark_percent;
}

/* Below low_water_mark_percent: re-arms the policy after a trim. */
static inline bool thresholds__low(const struct memory_config *m, double usage)
{
	return usage < m->low_water_mark_percent;
}

/* At or above alert_threshold: MemoryCriticalUsage, "critical". */
static inline bool thresholds__critical(const struct memory_config *m, double usage)
{
	return usage >= m->alert_threshold;
}

/* At or above force_gc_threshold: trim even inside gc_interval. */
static inline bool thresholds__force_gc(const struct memory_config *m, double usage)
{
	return usage >= m->force_gc_threshold;
}

#endif
