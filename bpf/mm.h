/* SPDX-License-Identifier: GPL-2.0 */
/* Shared between bpf/mm.bpf.c and user space: plain structs only. */
#ifndef MEMTIDE_MM_H
#define MEMTIDE_MM_H

#define MM_COMM_LEN 16

enum mm_rss_member {
	MM_RSS_FILE,
	MM_RSS_ANON,
	MM_RSS_SWAP,
	MM_RSS_SHMEM,
	MM_RSS_NR,
};

/* Per-tgid counters, created by user space (seeded from /proc), updated by BPF. */
struct mm_stats {
	__u64 tracked_since_ns; /* CLOCK_BOOTTIME when user space seeded the entry */
	__u64 minflt;
	__u64 majflt;
	__s64 rss_pages[MM_RSS_NR]; /* mm->rss_stat counters, in pages */
	__s64 rss_peak_pages; /* highest file+anon+shmem seen */
	__u64 rss_events;
};

struct thread_faults {
	__u64 tracked_since_ns; /* which tracking period these belong to */
	__u64 minflt, majflt;
};

/* Last OOM victim on the node, whoever it was. */
struct mm_oom_victim {
	__u64 time_ns; /* CLOCK_BOOTTIME */
	__u32 tgid;
	__u32 pad;
	char comm[MM_COMM_LEN];
};

#endif
