/* SPDX-License-Identifier: GPL-2.0 */
/* The kernel tier's BPF programs: load, attach, and the per-process map. */
#ifndef MEMTIDE_LOADER_H
#define MEMTIDE_LOADER_H

#include <linux/types.h>
#include <stdint.h>
#include "mm.h"

#define LOADER_MAX_TRACKED 4096

struct loader;

int loader__open(struct loader **out);
void loader__destroy(struct loader *l);
/* Starts counting @tgid from the @seed figures; -E2BIG when the map is full. */
int loader__track(struct loader *l, int tgid, const struct mm_stats *seed);
void loader__untrack(struct loader *l, int tgid);
/* -ENOENT when the kernel already dropped the process (it exited). */
int loader__read(struct loader *l, int tgid, struct mm_stats *out);
struct loader_counters {
	uint64_t oom_kills;
	struct mm_oom_victim oom_victim;
	uint64_t dropped_threads;
};

void loader__counters(struct loader *l, struct loader_counters *out);

#endif
