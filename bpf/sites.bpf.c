// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
/*
 * Sampled allocation sites: the OpenTelemetry memory-profiling USDT contract.
 * A process's own sampler fires otel_memory:alloc(ptr, size, weight) on a
 * sampled allocation (weight: the bytes it stands for) and otel_memory:free(ptr)
 * only when a sampled pointer is freed, so these programs run once per sample
 * (about one per 512 KiB allocated by default), never on the allocator's fast
 * path.
 *
 * The stack is the kernel's frame-pointer walk from the probe site. Code
 * built without frame pointers keeps the frames up to the first function that
 * does not keep one: as long as the sampler and the functions between it and
 * the allocating function keep them, the first frames (the ones that name
 * the site) are right; deeper ones are lost or wrong from there on.
 *
 * State is bounded: the live map's size is the global cap, a per-process
 * counter the per-process cap. A sample over either cap still counts in
 * alloc_* but is not kept live, so its free is never seen; each such drop is
 * counted, per process and in total.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include "sizes.h"
#define BPF_USDT_MAX_SPEC_CNT SITES_USDT_SPECS
#include <bpf/usdt.bpf.h>
#include "sites_types.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

/* Set by user space before load. */
const volatile __u64 live_per_process = SITES_LIVE_PER_PROCESS;

struct {
	__uint(type, BPF_MAP_TYPE_STACK_TRACE);
	__uint(max_entries, SITES_MAX_STACKS);
	__uint(key_size, sizeof(__u32));
	__uint(value_size, SITES_STACK_DEPTH * sizeof(__u64));
} sites_stacks SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(max_entries, SITES_MAX_LIVE);
	__type(key, struct sites_ptr);
	__type(value, struct sites_sample);
} sites_live SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(max_entries, SITES_MAX_SITES);
	__type(key, struct sites_key);
	__type(value, struct sites_figures);
} sites_figures SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, SITES_MAX_PROCESSES);
	__type(key, __u32);
	__type(value, struct sites_proc);
} sites_procs SEC(".maps");

/* All processes together, for the agent's own health metrics. */
struct sites_drops total_drops = {};

static __always_inline void drop(__u64 *mine, __u64 *total)
{
	__sync_fetch_and_add(mine, 1);
	__sync_fetch_and_add(total, 1);
}

static __always_inline struct sites_figures *site_of(struct sites_key *key, struct sites_proc *proc)
{
	struct sites_figures *f = bpf_map_lookup_elem(&sites_figures, key), zero = {};

	if (f)
		return f;
	/* Two CPUs may create it at once: BPF_NOEXIST lets one win, both use it. */
	bpf_map_update_elem(&sites_figures, key, &zero, BPF_NOEXIST);
	f = bpf_map_lookup_elem(&sites_figures, key);
	if (!f)
		drop(&proc->drops.site_full, &total_drops.site_full);
	return f;
}

/* A sample freed (or replaced): out of its site's in-use figures. */
static __always_inline void release(__u32 tgid, struct sites_sample *s, struct sites_proc *proc)
{
	struct sites_key key = { .tgid = tgid, .stack_id = s->stack_id };
	struct sites_figures *f = bpf_map_lookup_elem(&sites_figures, &key);

	if (f) {
		__sync_fetch_and_sub(&f->inuse_objects, 1);
		__sync_fetch_and_sub(&f->inuse_space, s->weight);
	}
	__sync_fetch_and_sub(&proc->live, 1);
}

SEC("usdt")
int BPF_USDT(sites_alloc, __u64 ptr, __u64 size, __u64 weight)
{
	__u32 tgid = bpf_get_current_pid_tgid() >> 32;
	struct sites_proc *proc = bpf_map_lookup_elem(&sites_procs, &tgid);
	struct sites_ptr pk = { .tgid = tgid, .ptr = ptr };
	struct sites_sample sample = { .weight = weight }, *old;
	struct sites_figures *f;
	struct sites_key key = { .tgid = tgid };
	long id;

	(void)size;
	if (!proc || !ptr)
		return 0;
	id = bpf_get_stackid(ctx, &sites_stacks, BPF_F_USER_STACK);
	if (id < 0) {
		drop(&proc->drops.stack_lost, &total_drops.stack_lost);
		id = SITES_NO_STACK;
	}
	key.stack_id = (__u32)id;
	sample.stack_id = (__u32)id;
	f = site_of(&key, proc);
	if (!f)
		return 0;
	__sync_fetch_and_add(&f->alloc_objects, 1);
	__sync_fetch_and_add(&f->alloc_space, weight);

	/* A pointer still live: its free was not seen (fired before we attached
	 * the free probe); the new sample replaces it. */
	old = bpf_map_lookup_elem(&sites_live, &pk);
	if (old) {
		struct sites_sample prev = *old;

		if (bpf_map_delete_elem(&sites_live, &pk) == 0)
			release(tgid, &prev, proc);
	}
	if (__sync_fetch_and_add(&proc->live, 1) >= live_per_process) {
		__sync_fetch_and_sub(&proc->live, 1);
		drop(&proc->drops.live_process, &total_drops.live_process);
		return 0;
	}
	if (bpf_map_update_elem(&sites_live, &pk, &sample, BPF_NOEXIST)) {
		__sync_fetch_and_sub(&proc->live, 1);
		drop(&proc->drops.live_global, &total_drops.live_global);
		return 0;
	}
	__sync_fetch_and_add(&f->inuse_objects, 1);
	__sync_fetch_and_add(&f->inuse_space, weight);
	return 0;
}

SEC("usdt")
int BPF_USDT(sites_free, __u64 ptr)
{
	__u32 tgid = bpf_get_current_pid_tgid() >> 32;
	struct sites_ptr pk = { .tgid = tgid, .ptr = ptr };
	struct sites_sample *s = bpf_map_lookup_elem(&sites_live, &pk), copy;
	struct sites_proc *proc;

	if (!s)
		return 0;
	copy = *s;
	/* Only the CPU whose delete succeeds releases it. */
	if (bpf_map_delete_elem(&sites_live, &pk))
		return 0;
	proc = bpf_map_lookup_elem(&sites_procs, &tgid);
	if (proc)
		release(tgid, &copy, proc);
	return 0;
}
