// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
/*
 * Uprobe tier: exact heap accounting of the processes that ask for it.
 *
 * Every probe hit is a trap into the kernel (about 5 us here), so the design
 * is set by the number of hits per malloc/free pair: an allocation needs its
 * size (entry) and its address (return), a free needs only its entry: three
 * hits, the fewest that attribute each free to its allocation, and the return
 * side goes through the cheap uretprobe path. The programs themselves are
 * small: per-CPU counters, one block map per process (a map of maps, so a
 * process's blocks go with it in one delete), nothing shared across CPUs.
 *
 * glibc calls its own entry points (realloc(NULL, n) is malloc(n),
 * realloc(p, 0) is free(p), reallocarray() is realloc()); a per-thread call
 * depth makes those inner hits count for nothing.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>
#include "heap_types.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

/* The benchmark's floor: the same probes, returning at once. */
const volatile bool empty_probes = false;

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_HASH);
	__uint(max_entries, HEAP_MAX_PROCESSES);
	__type(key, __u32);
	__type(value, struct heap_stats);
} stats SEC(".maps");

/* clang 14 emits only a forward declaration for a type seen solely inside an
 * inner map definition; one typed global gives libbpf its size. */
const volatile struct heap_block heap_block_btf = {};

struct block_map {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(max_entries, HEAP_BLOCKS_PER_PROCESS);
	__type(key, __u64);
	__type(value, struct heap_block);
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH_OF_MAPS);
	__uint(max_entries, HEAP_MAX_PROCESSES);
	__type(key, __u32);
	__array(values, struct block_map);
} blocks SEC(".maps");

/* One bit per possible tgid, set while a process is probed: entry probes
 * test it instead of looking the process up. */
__u64 probed_bits[MEMTIDE_PID_MAX / 64] = {};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, HEAP_MAX_CALLS);
	__type(key, __u64); /* pid_tgid: one entry per thread */
	__type(value, struct heap_call);
} calls SEC(".maps");

static __always_inline bool is_probed(__u32 tgid)
{
	/* The mask (the size is a power of two) keeps the index provably in bounds. */
	return tgid < MEMTIDE_PID_MAX &&
	       (probed_bits[(tgid / 64) & (MEMTIDE_PID_MAX / 64 - 1)] & (1ULL << (tgid % 64)));
}

static __always_inline __u32 log2_bucket(__u64 v, __u32 buckets)
{
	__u32 r = 0;

	if (v >> 32) {
		v >>= 32;
		r += 32;
	}
	if (v >> 16) {
		v >>= 16;
		r += 16;
	}
	if (v >> 8) {
		v >>= 8;
		r += 8;
	}
	if (v >> 4) {
		v >>= 4;
		r += 4;
	}
	if (v >> 2) {
		v >>= 2;
		r += 2;
	}
	if (v >> 1)
		r += 1;
	return r < buckets ? r : buckets - 1;
}

/*
 * The thread's CPU time so far. The scheduler brings it up to date at each
 * tick and switch only, so a short trim reads as 0 or as a tick: each such
 * delta is CPU time the thread did run, and summed over many trims it
 * converges on their CPU time. Wall time would count waits as CPU.
 */
static __always_inline __u64 thread_runtime(void)
{
	return bpf_get_current_task_btf()->se.sum_exec_runtime;
}

static __always_inline int enter(__u32 fn, __u64 arg0, __u64 arg1)
{
	__u64 id = bpf_get_current_pid_tgid();
	__u32 tgid = id >> 32;
	struct heap_call *c, call = { .arg0 = arg0, .arg1 = arg1, .fn = fn, .depth = 1 };

	if (empty_probes || !is_probed(tgid))
		return 0;
	c = bpf_map_lookup_elem(&calls, &id);
	if (c && c->depth) {
		c->depth++; /* an internal call: its return will only unwind */
		return 0;
	}
	if (fn == HEAP_TRIM) {
		call.start_ns = bpf_ktime_get_ns();
		call.start_runtime_ns = thread_runtime();
	}
	/* A thread's entry is created once and then rewritten in place. */
	if (c)
		*c = call;
	else
		bpf_map_update_elem(&calls, &id, &call, BPF_ANY);
	return 0;
}

/*
 * The chunk malloc uses for a block. Small blocks from malloc, calloc and
 * realloc get glibc's request2size(): the size plus one word, rounded up to
 * 16, at least 32. Large ones may be mmapped (page-rounded) and aligned ones
 * may carry slack, so for those the chunk header, the word before the block
 * (low bits are flags), is read; that read costs about 200 ns, which small
 * blocks, by far the most frequent, do not pay.
 */
#define SMALL_BLOCK (64 * 1024)

static __always_inline __u64 chunk_size(__u32 fn, __u64 ptr, __u64 size)
{
	__u64 header;

	if (size < SMALL_BLOCK && fn <= HEAP_REALLOCARRAY)
		return size + 8 + 15 < 32 ? 32 : (size + 8 + 15) & ~15ULL;
	if (bpf_probe_read_user(&header, sizeof(header), (void *)(ptr - 8)))
		return size;
	return header & ~7ULL;
}

static __always_inline void record_alloc(struct heap_stats *s, __u32 tgid, __u32 fn, __u64 ptr,
					 __u64 size)
{
	struct heap_block b = { .size = size, .chunk = chunk_size(fn, ptr, size) };
	void *map = bpf_map_lookup_elem(&blocks, &tgid);
	s->total_alloc_bytes += size;
	if (fn < HEAP_ALLOC_FNS)
		s->bytes[fn] += size;
	s->size_hist[log2_bucket(size, HEAP_SIZE_BUCKETS)]++;
	if (!map || bpf_map_update_elem(map, &ptr, &b, BPF_ANY)) {
		s->dropped++;
		return;
	}
	s->live_bytes += size;
	s->live_chunk_bytes += b.chunk;
	s->live_objects++;
}

static __always_inline void record_free(struct heap_stats *s, __u32 tgid, __u64 ptr)
{
	void *map = bpf_map_lookup_elem(&blocks, &tgid);
	struct heap_block *b = map ? bpf_map_lookup_elem(map, &ptr) : NULL;

	if (!b) {
		s->frees_unknown++;
		return;
	}
	s->live_bytes -= b->size;
	s->live_chunk_bytes -= b->chunk;
	s->live_objects--;
	bpf_map_delete_elem(map, &ptr);
}

static __always_inline int leave(__u64 ret)
{
	__u64 id = bpf_get_current_pid_tgid(), ptr = ret, size;
	__u32 tgid = id >> 32;
	struct heap_stats *s;
	struct heap_call *c;

	if (empty_probes)
		return 0;
	c = bpf_map_lookup_elem(&calls, &id);
	if (!c || !c->depth || --c->depth)
		return 0;
	s = bpf_map_lookup_elem(&stats, &tgid);
	if (!s)
		return 0;
	size = c->arg1;
	switch (c->fn) {
	case HEAP_TRIM: {
		__u64 ns = bpf_ktime_get_ns() - c->start_ns;

		s->trims++;
		s->trim_ns += ns;
		s->trim_cpu_ns += thread_runtime() - c->start_runtime_ns;
		s->trim_hist[log2_bucket(ns, HEAP_TRIM_BUCKETS)]++;
		return 0;
	}
	case HEAP_REALLOC:
	case HEAP_REALLOCARRAY:
		s->calls[c->fn]++;
		/* realloc(p, 0) frees p and returns NULL; a failed realloc keeps p. */
		if (!ptr && size)
			break;
		if (c->arg0)
			record_free(s, tgid, c->arg0);
		if (ptr)
			record_alloc(s, tgid, c->fn, ptr, size);
		return 0;
	case HEAP_POSIX_MEMALIGN:
		s->calls[c->fn]++;
		/* Returns an error number; the block is stored through arg0. */
		if ((int)ret != 0 || bpf_probe_read_user(&ptr, sizeof(ptr), (void *)c->arg0))
			ptr = 0;
		break;
	default:
		if (c->fn < HEAP_ALLOC_FNS)
			s->calls[c->fn]++;
	}
	if (ptr)
		record_alloc(s, tgid, c->fn, ptr, size);
	else
		s->failed++;
	return 0;
}

SEC("uprobe")
int BPF_KPROBE(malloc_entry, size_t size)
{
	return enter(HEAP_MALLOC, 0, size);
}

SEC("uprobe")
int BPF_KPROBE(calloc_entry, size_t n, size_t each)
{
	/* An overflowing product makes calloc fail: the size is then never used. */
	return enter(HEAP_CALLOC, 0, (__u64)n * each);
}

SEC("uprobe")
int BPF_KPROBE(realloc_entry, void *ptr, size_t size)
{
	return enter(HEAP_REALLOC, (__u64)ptr, size);
}

SEC("uprobe")
int BPF_KPROBE(reallocarray_entry, void *ptr, size_t n, size_t each)
{
	return enter(HEAP_REALLOCARRAY, (__u64)ptr, (__u64)n * each);
}

SEC("uprobe")
int BPF_KPROBE(posix_memalign_entry, void **memptr, size_t align, size_t size)
{
	return enter(HEAP_POSIX_MEMALIGN, (__u64)memptr, size);
}

SEC("uprobe")
int BPF_KPROBE(memalign_entry, size_t align, size_t size)
{
	return enter(HEAP_MEMALIGN, 0, size);
}

SEC("uprobe")
int BPF_KPROBE(valloc_entry, size_t size)
{
	return enter(HEAP_VALLOC, 0, size);
}

SEC("uprobe")
int BPF_KPROBE(pvalloc_entry, size_t size)
{
	return enter(HEAP_PVALLOC, 0, size);
}

SEC("uprobe")
int BPF_KPROBE(malloc_trim_entry, size_t pad)
{
	return enter(HEAP_TRIM, 0, pad);
}

/* One return program serves every function: the call state says which. */
SEC("uretprobe")
int BPF_KRETPROBE(alloc_return, long ret)
{
	return leave((__u64)ret);
}

SEC("uprobe")
int BPF_KPROBE(free_entry, void *ptr)
{
	__u64 id = bpf_get_current_pid_tgid();
	__u32 tgid = id >> 32;
	struct heap_stats *s;
	struct heap_call *c;

	if (empty_probes || !ptr)
		return 0;
	s = bpf_map_lookup_elem(&stats, &tgid);
	if (!s)
		return 0;
	/* Inside realloc(p, 0): realloc's return does the accounting. */
	c = bpf_map_lookup_elem(&calls, &id);
	if (c && c->depth)
		return 0;
	s->frees++;
	record_free(s, tgid, (__u64)ptr);
	return 0;
}

/* Hook tier: created by user space for each process whose hook it probes. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, HEAP_MAX_PROCESSES);
	__type(key, __u32);
	__type(value, struct hook_state);
} hooks SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 16 * 1024); /* ~680 events: a burst of every hooked process */
} hook_events SEC(".maps");

static __always_inline void hook_event(__u32 tgid, __u32 kind, __u64 trims)
{
	struct hook_event e = { .pid = tgid, .kind = kind, .trims = trims };

	/* Lost when full: user space sweeps the hooks map every second anyway. */
	bpf_ringbuf_output(&hook_events, &e, sizeof(e), 0);
}

/* memtide_hook_report(const struct memtide_hook_report *) in the hook library. */
SEC("uprobe")
int BPF_KPROBE(hook_report, const struct memtide_hook_report *report)
{
	__u32 tgid = bpf_get_current_pid_tgid() >> 32;
	struct hook_state *h = bpf_map_lookup_elem(&hooks, &tgid);
	struct memtide_hook_report *r;
	__u32 version;

	/* The report is larger than the BPF stack: read it into the map value. */
	if (!h || bpf_probe_read_user(&version, sizeof(version), report) ||
	    version != MEMTIDE_HOOK_VERSION)
		return 0;
	r = &h->last;
	if (bpf_probe_read_user(r, sizeof(*r), report))
		return 0;
	h->reports++;
	if (r->kind != MEMTIDE_HOOK_TRIM)
		return 0;
	h->last_trim = *r;
	h->trims++;
	h->trim_ns += r->trim_ns;
	h->trim_cpu_ns += r->trim_cpu_ns;
	h->trim_hist[log2_bucket(r->trim_ns, HEAP_TRIM_BUCKETS)]++;
	h->released_bytes += memtide_hook_released(r);
	hook_event(tgid, HOOK_EVENT_TRIM, h->trims);
	return 0;
}

/* Threads leave no call state behind. A process's blocks and counters go
 * when user space sees it gone (programs cannot delete from a map of maps). */
SEC("tp_btf/sched_process_exit")
int BPF_PROG(heap_exit, struct task_struct *task)
{
	__u64 id = (__u64)task->tgid << 32 | (__u32)task->pid;
	__u32 tgid = task->tgid;

	bpf_map_delete_elem(&calls, &id);
	/* The tracepoint comes after do_exit() counted this thread out of its
	 * group: 0 live, the process is gone. A POST gc waiting on it is
	 * answered at once. */
	if (!task->signal->live.counter && bpf_map_lookup_elem(&hooks, &tgid))
		hook_event(tgid, HOOK_EVENT_EXIT, 0);
	return 0;
}
