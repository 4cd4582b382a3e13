/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/* Shared between bpf/mm.bpf.c and user space: plain structs only. */
#ifndef MEMTIDE_MM_H
#define MEMTIDE_MM_H

#include "sizes.h"

#define MM_COMM_LEN 16

enum mm_rss_member {
	MM_RSS_FILE,
	MM_RSS_ANON,
	MM_RSS_SWAP,
	MM_RSS_SHMEM,
	MM_RSS_NR,
};

/* One per thread of a tracked process, written by the task iterator. */
struct mm_task_record {
	__u32 tgid;
	__u32 tid;
	__u64 start_boottime_ns; /* the process's: with tgid, identifies it */
	__u64 minflt, majflt; /* this thread's; the main thread's add those of dead threads */
	__s64 rss_pages[MM_RSS_NR]; /* mm->rss_stat; zero when the thread has no mm */
	__u64 hiwater_rss_pages;
	/* The process's, as /proc/PID/stat gives them: its leader's name, and
	 * whether the leader has exited (a zombie: /proc says 'Z'). */
	char comm[MM_COMM_LEN];
	__u32 leader_exited;
	__u32 pad;
};

/* Last OOM victim on the node, whoever it was. Rewritten in place under a
 * sequence count (odd while being written), so a reader can tell a whole
 * copy from one that mixes two victims (user/seqcount.h). */
struct mm_oom_victim {
	__u64 seq;
	__u64 time_ns; /* CLOCK_BOOTTIME */
	__u32 tgid;
	__u32 pad;
	char comm[MM_COMM_LEN];
};

#endif
