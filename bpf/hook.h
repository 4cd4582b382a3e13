/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/* What the control hook reports (user/hook/memtide_hook.c), as the hook_report
 * uprobe in bpf/heap.bpf.c copies it. Shared by the hook, the BPF side and the agent. */
#ifndef MEMTIDE_HOOK_H
#define MEMTIDE_HOOK_H

/* 2: reports carry the trim's CPU time (trim_cpu_ns).
 * 3: reports carry the hook's own heap accounting (counts). */
#define MEMTIDE_HOOK_VERSION 3
#define MEMTIDE_HOOK_COUNT_ENV "MEMTIDE_HOOK_COUNT" /* 0: no counting, trims only */
#define MEMTIDE_HOOK_FNS 8 /* enum heap_fn's allocating functions (bpf/heap_types.h) */
#define MEMTIDE_HOOK_SIZE_BUCKETS 40 /* HEAP_SIZE_BUCKETS */
#define MEMTIDE_HOOK_SIGNAL_ENV "MEMTIDE_HOOK_SIGNAL" /* offset from SIGRTMIN */
#define MEMTIDE_HOOK_INTERVAL_ENV "MEMTIDE_HOOK_INTERVAL_MS"
#define MEMTIDE_HOOK_DEFAULT_SIGNAL 4
#define MEMTIDE_HOOK_REPORT_SYMBOL "memtide_hook_report"
#define MEMTIDE_HOOK_LIBRARY "libmemtide_hook.so"

/*
 * What the hook says of itself, an exported object the agent reads from the
 * process's memory: it tells the real hook from any file that merely has its
 * name, and gives the signal the hook really listens on (the hook parses its
 * environment once; the agent never re-derives it).
 */
#define MEMTIDE_HOOK_INFO_SYMBOL "memtide_hook_info"
#define MEMTIDE_HOOK_MAGIC 0x6b6f6f6865646974ULL /* "tidehook" */

struct memtide_hook_info {
	__u64 magic;
	__u32 version; /* MEMTIDE_HOOK_VERSION */
	__s32 signo; /* the signal its handler is on; 0: passive (the program has its own) */
	__u32 interval_ms; /* periodic reports; 0: only after trims */
	__u32 pad;
};

enum memtide_hook_kind { MEMTIDE_HOOK_INFO = 1, MEMTIDE_HOOK_TRIM = 2 };

/* mallinfo2() fields the agent uses. */
struct memtide_hook_mallinfo {
	__u64 arena; /* non-mmapped bytes from the OS */
	__u64 hblkhd; /* mmapped bytes */
	__u64 uordblks; /* in-use chunk bytes (non-mmapped) */
	__u64 fordblks; /* free chunk bytes */
	__u64 keepcost; /* releasable top */
};

/* The hook's heap accounting, absolute from process start (a forked child
 * starts from its parent's figures). Live figures are in usable bytes, as
 * glibc's chunk headers give them (what malloc_usable_size() says). */
struct memtide_hook_counts {
	__u64 counting; /* 1: the hook counts (MEMTIDE_HOOK_COUNT is not 0) */
	__u64 calls[MEMTIDE_HOOK_FNS]; /* successful or not, by enum heap_fn */
	__u64 requested[MEMTIDE_HOOK_FNS]; /* requested bytes, by function */
	__u64 failed; /* allocating calls that returned NULL (or an error) */
	__u64 frees; /* free() of a block (not NULL); realloc's frees not included */
	__s64 live_bytes; /* usable bytes of the blocks allocated and not freed */
	__s64 live_objects;
	__u64 size_hist[MEMTIDE_HOOK_SIZE_BUCKETS]; /* log2 of requested sizes */
};

struct memtide_hook_report {
	__u32 version;
	__u32 kind; /* enum memtide_hook_kind */
	__u64 seq; /* trims done by this process's hook */
	struct memtide_hook_mallinfo before, after; /* after: trims only */
	__u64 rss_before, rss_after; /* bytes */
	__u64 trim_ns; /* the trim's wall time (its duration) */
	__s32 trim_result; /* malloc_trim()'s return: 1 if memory was released */
	__u32 pad;
	__u64 trim_cpu_ns; /* the trim's CPU time (CLOCK_THREAD_CPUTIME_ID): <= the process's */
	struct memtide_hook_counts counts; /* version 3 */
};

/* What a trim gave back, by RSS (mallinfo2() does not change: the pages go
 * back with madvise, the chunks stay free). */
static inline __u64 memtide_hook_released(const struct memtide_hook_report *r)
{
	return r->rss_before > r->rss_after ? r->rss_before - r->rss_after : 0;
}

#endif
