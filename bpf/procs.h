/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/* Shared between bpf/procs.bpf.c and user space: plain structs only. */
#ifndef MEMTIDE_PROCS_H
#define MEMTIDE_PROCS_H

#include "sizes.h"

#define PROCS_COMM_LEN 16

enum procs_event_type {
	PROCS_EXEC,
	PROCS_FORK, /* a new process (not a new thread) */
	PROCS_EXIT, /* the whole process: its last thread */
	PROCS_RENAME, /* its main thread's comm changed (exec, prctl) */
	PROCS_CGROUP, /* it moved to another cgroup */
	PROCS_NR,
};

/* One process event, through the ring buffer. */
struct procs_event {
	__u32 type;
	__u32 pid; /* tgid */
	__u32 ppid; /* the parent's tgid */
	__u32 pad;
	__u64 start_ticks; /* as /proc/PID/stat's starttime: clock ticks after boot */
	__u64 cgroup_id; /* cgroup v2 id (the inode number of its directory) */
	char comm[PROCS_COMM_LEN];
};

/* One process, written by the discovery task iterator (top_rss ranking). */
struct procs_record {
	__u32 pid;
	__u32 pad;
	__u64 start_ticks;
	__u64 rss_pages; /* file + anon + shmem, as /proc/PID/stat's rss */
	__u64 cgroup_id;
	char comm[PROCS_COMM_LEN];
};

#endif
