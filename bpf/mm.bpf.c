// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
/*
 * Kernel tier: page faults, RSS, OOM kills and exits of tracked processes.
 *
 * The kernel already counts faults per thread (min_flt/maj_flt) and RSS per mm.
 * Rather than paying a probe on every page fault on the node to recount them,
 * a task iterator reads those counters for the tracked processes once per
 * snapshot: the figures are the kernel's own, and the fault path costs nothing
 * (a tp_btf program on page_fault_user measured +5% per fault for every
 * process, +15% with rss_stat as well; see README, "Benchmarks").
 * Only rare events are traced: OOM kills and process exits.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>
#include "mm.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

/* One bit per possible tgid, set by user space for the tracked processes. */
__u64 tracked_bits[MEMTIDE_PID_MAX / 64] = {};
__u64 oom_kills = 0;
struct mm_oom_victim oom_victim = {};

static __always_inline bool is_tracked(__u32 tgid)
{
	return tgid < MEMTIDE_PID_MAX && (tracked_bits[tgid / 64] & (1ULL << (tgid % 64)));
}

SEC("iter/task")
int dump_tracked(struct bpf_iter__task *ctx)
{
	struct task_struct *task = ctx->task;
	struct mm_task_record r = {};
	struct mm_struct *mm;

	if (!task || !is_tracked(task->tgid))
		return 0;
	r.tgid = task->tgid;
	r.tid = task->pid;
	r.start_boottime_ns = task->group_leader->start_boottime;
	r.leader_exited = task->group_leader->exit_state != 0;
	bpf_probe_read_kernel_str(r.comm, sizeof(r.comm), task->group_leader->comm);
	r.minflt = task->min_flt;
	r.majflt = task->maj_flt;
	/* As /proc/PID/stat: live threads plus what exited threads left behind. */
	if (task == task->group_leader) {
		r.minflt += task->signal->min_flt;
		r.majflt += task->signal->maj_flt;
	}
	mm = task->mm;
	if (mm) {
		r.rss_pages[MM_RSS_FILE] = mm->rss_stat[MM_FILEPAGES].count;
		r.rss_pages[MM_RSS_ANON] = mm->rss_stat[MM_ANONPAGES].count;
		r.rss_pages[MM_RSS_SWAP] = mm->rss_stat[MM_SWAPENTS].count;
		r.rss_pages[MM_RSS_SHMEM] = mm->rss_stat[MM_SHMEMPAGES].count;
		r.hiwater_rss_pages = mm->hiwater_rss;
	}
	bpf_seq_write(ctx->meta->seq, &r, sizeof(r));
	return 0;
}

SEC("tp_btf/mark_victim")
int BPF_PROG(mark_victim, struct task_struct *task)
{
	__sync_fetch_and_add(&oom_kills, 1);
	/* One writer at a time: the kernel marks victims under oom_lock. The
	 * atomics order the fields' stores between the count's two steps. */
	__sync_fetch_and_add(&oom_victim.seq, 1); /* odd: being written */
	oom_victim.time_ns = bpf_ktime_get_boot_ns();
	oom_victim.tgid = task->tgid;
	bpf_probe_read_kernel_str(oom_victim.comm, sizeof(oom_victim.comm), task->comm);
	__sync_fetch_and_add(&oom_victim.seq, 1); /* even: whole */
	return 0;
}

/* A process that is gone stops being tracked at once, so a new process that
 * reuses its number is never taken for it. */
SEC("tp_btf/sched_process_exit")
int BPF_PROG(sched_process_exit, struct task_struct *task)
{
	__u32 tgid = task->tgid;

	if (tgid >= MEMTIDE_PID_MAX || !is_tracked(tgid) || task->signal->live.counter != 0)
		return 0;
	__sync_fetch_and_and(&tracked_bits[tgid / 64], ~(1ULL << (tgid % 64)));
	return 0;
}
