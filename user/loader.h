/* SPDX-License-Identifier: Apache-2.0 */
/* The kernel tier's BPF programs: load, attach, mark processes, read them. */
#ifndef MEMTIDE_LOADER_H
#define MEMTIDE_LOADER_H

#include <linux/types.h>
#include <stddef.h>
#include <stdint.h>
#include "mm.h"
#include "proc_key.h"

#define LOADER_MAX_TRACKED PROC_MAX_TRACKED /* the collector's tracking limit */

struct loader;

/* One tracked process as the kernel counts it, summed over its threads. */
struct loader_process {
	int tgid;
	unsigned int threads;
	uint64_t start_boottime_ns;
	uint64_t minflt, majflt;
	int64_t rss_pages[MM_RSS_NR];
	uint64_t hiwater_rss_pages;
};

struct loader_counters {
	uint64_t oom_kills;
	struct mm_oom_victim oom_victim;
};

int loader__open(struct loader **out);
void loader__destroy(struct loader *l);
int loader__track(struct loader *l, int tgid);
void loader__untrack(struct loader *l, int tgid);
/* Every tracked process that still exists, sorted by tgid, in one pass of the
 * task iterator. The caller frees *out. */
int loader__read(struct loader *l, struct loader_process **out, size_t *n);
void loader__counters(struct loader *l, struct loader_counters *out);

#endif
