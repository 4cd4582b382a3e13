// SPDX-License-Identifier: GPL-2.0
/*
 * Kernel tier: page faults, RSS, OOM kills and exits of tracked processes.
 *
 * The stats map doubles as the set of tracked processes: user space creates
 * an entry (seeded from /proc) when it starts tracking a tgid, and every
 * program here only updates existing entries, so the map can never fill with
 * processes nobody selected. The exit program deletes the entry when the last
 * thread of a process exits, so dead processes never linger.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>
#include "mm.h"

char LICENSE[] SEC("license") = "GPL";

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 4096); /* resized by user space before load */
	__type(key, __u32);
	__type(value, struct mm_stats);
} stats SEC(".maps");

/* Per thread: the fault counters already added to its process. */
struct {
	__uint(type, BPF_MAP_TYPE_TASK_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, int);
	__type(value, struct thread_faults);
} thread_faults SEC(".maps");

__u64 dropped_threads = 0; /* threads whose faults could not be followed */
__u64 oom_kills = 0;
struct mm_oom_victim oom_victim = {};

static __always_inline struct mm_stats *tracked(__u32 tgid)
{
	return bpf_map_lookup_elem(&stats, &tgid);
}

/*
 * The kernel already classifies every fault (mm_account_fault() bumps the
 * thread's min_flt or maj_flt). Rather than re-deriving that, each thread
 * remembers the counters it last reported, and at every fault entry and at
 * exit the difference is added to its process. A thread's latest fault is
 * therefore counted at its next fault or exit, the same numbers /proc shows.
 */
static __always_inline void account_faults(struct task_struct *task, struct mm_stats *s)
{
	__u64 min = task->min_flt, maj = task->maj_flt;
	struct thread_faults *last;

	last = bpf_task_storage_get(&thread_faults, task, NULL, 0);
	if (!last || last->tracked_since_ns != s->tracked_since_ns) {
		struct thread_faults init = { .tracked_since_ns = s->tracked_since_ns };

		/* Faults of threads older than the tracking are in the /proc seed. */
		if (task->start_boottime < s->tracked_since_ns) {
			init.minflt = min;
			init.majflt = maj;
		}
		last = bpf_task_storage_get(&thread_faults, task, &init,
					    BPF_LOCAL_STORAGE_GET_F_CREATE);
		if (!last) {
			__sync_fetch_and_add(&dropped_threads, 1);
			return;
		}
		if (last->tracked_since_ns != s->tracked_since_ns)
			*last = init;
	}
	if (min > last->minflt)
		__sync_fetch_and_add(&s->minflt, min - last->minflt);
	if (maj > last->majflt)
		__sync_fetch_and_add(&s->majflt, maj - last->majflt);
	last->minflt = min;
	last->majflt = maj;
}

SEC("tp_btf/page_fault_user")
int BPF_PROG(page_fault_user, unsigned long address, struct pt_regs *regs, unsigned long error)
{
	struct task_struct *task = bpf_get_current_task_btf();
	struct mm_stats *s = tracked(task->tgid);

	if (s)
		account_faults(task, s);
	return 0;
}

/* Fires on every change of an mm's RSS counters, whoever changes them. */
SEC("tp_btf/rss_stat")
int BPF_PROG(rss_stat, struct mm_struct *mm, int member)
{
	struct task_struct *owner = mm->owner;
	struct mm_stats *s;
	__s64 resident;

	if (!owner)
		return 0;
	s = tracked(owner->tgid);
	if (!s)
		return 0;
	/* Read all four so one event refreshes the whole picture. */
	s->rss_pages[MM_RSS_FILE] = mm->rss_stat[MM_FILEPAGES].count;
	s->rss_pages[MM_RSS_ANON] = mm->rss_stat[MM_ANONPAGES].count;
	s->rss_pages[MM_RSS_SWAP] = mm->rss_stat[MM_SWAPENTS].count;
	s->rss_pages[MM_RSS_SHMEM] = mm->rss_stat[MM_SHMEMPAGES].count;
	resident = s->rss_pages[MM_RSS_FILE] + s->rss_pages[MM_RSS_ANON] +
		   s->rss_pages[MM_RSS_SHMEM];
	if (resident > s->rss_peak_pages)
		s->rss_peak_pages = resident;
	__sync_fetch_and_add(&s->rss_events, 1);
	return 0;
}

SEC("tp_btf/mark_victim")
int BPF_PROG(mark_victim, struct task_struct *task)
{
	__sync_fetch_and_add(&oom_kills, 1);
	oom_victim.time_ns = bpf_ktime_get_boot_ns();
	oom_victim.tgid = task->tgid;
	bpf_probe_read_kernel_str(oom_victim.comm, sizeof(oom_victim.comm), task->comm);
	return 0;
}

SEC("tp_btf/sched_process_exit")
int BPF_PROG(sched_process_exit, struct task_struct *task)
{
	__u32 tgid = task->tgid;
	struct mm_stats *s = tracked(tgid);

	if (!s)
		return 0;
	account_faults(task, s);
	/* Drop the process when its whole thread group is gone. */
	if (task->signal->live.counter == 0)
		bpf_map_delete_elem(&stats, &tgid);
	return 0;
}
