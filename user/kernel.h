/* SPDX-License-Identifier: Apache-2.0 */
/* The kernel tier's BPF programs: load, attach, mark processes, read them. */
#ifndef MEMTIDE_KERNEL_H
#define MEMTIDE_KERNEL_H

#include <linux/types.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "mm.h"
#include "proc_key.h"

struct kernel;

/* One tracked process as the kernel counts it, summed over its threads. */
struct kernel_process {
	int tgid;
	unsigned int threads;
	uint64_t start_boottime_ns;
	char comm[MM_COMM_LEN]; /* raw bytes, NUL-terminated */
	bool leader_exited;
	uint64_t minflt, majflt;
	int64_t rss_pages[MM_RSS_NR];
	uint64_t hiwater_rss_pages;
};

struct kernel_counters {
	uint64_t oom_kills;
	struct mm_oom_victim oom_victim;
};

int kernel__open(struct kernel **out);
void kernel__destroy(struct kernel *l);
int kernel__track(struct kernel *l, int tgid);
void kernel__untrack(struct kernel *l, int tgid);
/* Every tracked process that still exists, sorted by tgid, in one pass of the
 * task iterator. The caller frees *out. */
int kernel__read(struct kernel *l, struct kernel_process **out, size_t *n);
void kernel__counters(struct kernel *l, struct kernel_counters *out);

#endif
