/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/* Shared between bpf/heap.bpf.c and user space: plain structs only. */
#ifndef MEMTIDE_HEAP_TYPES_H
#define MEMTIDE_HEAP_TYPES_H

#include "hook.h"
#include "sizes.h"

/* The allocating functions, as counted; memalign and aligned_alloc are one
 * function in glibc (same address), counted as memalign. */
enum heap_fn {
	HEAP_MALLOC,
	HEAP_CALLOC,
	HEAP_REALLOC,
	HEAP_REALLOCARRAY,
	HEAP_POSIX_MEMALIGN,
	HEAP_MEMALIGN,
	HEAP_VALLOC,
	HEAP_PVALLOC,
	HEAP_ALLOC_FNS,
	HEAP_TRIM = HEAP_ALLOC_FNS, /* malloc_trim: timed, allocates nothing */
	HEAP_FNS,
};

#define HEAP_SIZE_BUCKETS                                                                          \
	40 /* log2 of request sizes: bucket i holds [2^i, 2^(i+1)); 0 and 1 in 0 */
#define HEAP_TRIM_BUCKETS 40 /* log2 of malloc_trim durations in ns */

/* Per process and per CPU (a per-CPU hash: no contention); user space sums
 * the CPUs. Live figures are deltas that only cover blocks allocated while
 * the process was probed. */
_Static_assert(HEAP_ALLOC_FNS == MEMTIDE_HOOK_FNS, "hook report's functions");
_Static_assert(HEAP_SIZE_BUCKETS == MEMTIDE_HOOK_SIZE_BUCKETS, "hook report's buckets");

struct heap_stats {
	__u64 calls[HEAP_ALLOC_FNS];
	__u64 frees;
	__u64 frees_unknown; /* blocks from before the probes (or not recorded) */
	__u64 failed; /* allocating calls that returned NULL */
	__u64 total_alloc_bytes; /* requested: each size, each realloc's new size */
	__u64 bytes[HEAP_ALLOC_FNS]; /* the same, by function */
	__s64 live_bytes; /* requested, of the blocks recorded */
	__s64 live_chunk_bytes; /* the same blocks as malloc holds them (chunk sizes) */
	__s64 live_objects;
	__u64 dropped; /* blocks not recorded: the process's block map was full */
	__u64 trims, trim_ns; /* trim_ns: wall time in malloc_trim */
	__u64 trim_cpu_ns; /* CPU time in malloc_trim (the thread's runtime, tick-granular) */
	__u64 size_hist[HEAP_SIZE_BUCKETS];
	__u64 trim_hist[HEAP_TRIM_BUCKETS];
};

/* One live block, in the per-process block map (key: its address). */
struct heap_block {
	__u64 size; /* requested */
	__u64 chunk; /* chunk size from malloc's header */
};

/* A call in progress on a thread, from entry to return. */
struct heap_call {
	__u64 arg0, arg1;
	__u64 start_ns;
	__u64 start_runtime_ns; /* the thread's CPU time at entry (malloc_trim only) */
	__u32 fn;
	__u32 depth; /* >1: inside a nested internal call (realloc(NULL, n) → malloc) */
};

/* What the control hook reported, per process (bpf/hook.h has the report). */
struct hook_state {
	struct memtide_hook_report last; /* the latest report of any kind */
	struct memtide_hook_report last_trim;
	__u64 reports;
	__u64 trims, trim_ns;
	__u64 trim_cpu_ns; /* the reports' trim_cpu_ns, summed */
	__u64 released_bytes; /* RSS given back by trims, summed */
	__u64 trim_hist[HEAP_TRIM_BUCKETS];
};

/* The hook tier's ring buffer: what a POST gc waits for, sent the moment it
 * happens so the answer needs no polling. Nothing is sent while idle: only
 * trims (rare) and the exit of a process whose hook is probed. */
enum hook_event_kind {
	HOOK_EVENT_TRIM = 1, /* a trim reported: hook_state.trims is now @trims */
	HOOK_EVENT_EXIT = 2, /* the process is gone (its last thread exited) */
};

struct hook_event {
	__u32 pid;
	__u32 kind;
	__u64 trims;
};

#endif
