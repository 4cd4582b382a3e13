// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
/*
 * Discovery: processes as the kernel starts, changes and ends them.
 *
 * exec, fork (of a process, not a thread) and exit (of the whole process)
 * each send one small event through a ring buffer, so the agent selects a
 * new process when it appears instead of reading /proc twice a second. An
 * event that does not fit is counted: the agent then reconciles with /proc.
 * A task iterator gives every process's RSS in one pass (top_rss ranking).
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>
#include "procs.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

#define PF_KTHREAD 0x00200000

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, PROCS_RINGBUF_BYTES);
} events SEC(".maps");

/* Set by user space before load: ns per clock tick (/proc's starttime unit). */
const volatile __u64 ns_per_tick = 10000000;
/* Events that found the ring buffer full. */
__u64 lost = 0;

static __always_inline __u64 start_ticks(struct task_struct *task)
{
	return BPF_CORE_READ(task, group_leader, start_boottime) / ns_per_tick;
}

static __always_inline __u64 cgroup_id(struct task_struct *task)
{
	return BPF_CORE_READ(task, cgroups, dfl_cgrp, kn, id);
}

static __always_inline void send_comm(__u32 type, struct task_struct *task, const char *comm)
{
	struct procs_event e = {};

	e.type = type;
	e.pid = BPF_CORE_READ(task, tgid);
	e.ppid = BPF_CORE_READ(task, real_parent, tgid);
	e.start_ticks = start_ticks(task);
	e.cgroup_id = cgroup_id(task);
	if (comm)
		bpf_probe_read_kernel_str(e.comm, sizeof(e.comm), comm);
	else
		BPF_CORE_READ_STR_INTO(&e.comm, task, comm);
	if (bpf_ringbuf_output(&events, &e, sizeof(e), 0))
		__sync_fetch_and_add(&lost, 1);
}

static __always_inline void send(__u32 type, struct task_struct *task)
{
	send_comm(type, task, NULL);
}

static __always_inline bool is_leader(struct task_struct *task)
{
	return BPF_CORE_READ(task, pid) == BPF_CORE_READ(task, tgid) &&
	       !(BPF_CORE_READ(task, flags) & PF_KTHREAD);
}

SEC("tp_btf/sched_process_exec")
int BPF_PROG(procs_exec, struct task_struct *task)
{
	send(PROCS_EXEC, task);
	return 0;
}

SEC("tp_btf/sched_process_fork")
int BPF_PROG(procs_fork, struct task_struct *parent, struct task_struct *child)
{
	/* A new thread joins a process the agent already knows. */
	if (!is_leader(child))
		return 0;
	send(PROCS_FORK, child);
	return 0;
}

SEC("tp_btf/sched_process_exit")
int BPF_PROG(procs_exit, struct task_struct *task)
{
	/* Only the last thread out ends the process (signal->live is 0). */
	if (BPF_CORE_READ(task, signal, live.counter) != 0 ||
	    (BPF_CORE_READ(task, flags) & PF_KTHREAD))
		return 0;
	send(PROCS_EXIT, task);
	return 0;
}

/* The comm rules match the main thread's name, which prctl() can change. */
SEC("tp_btf/task_rename")
int BPF_PROG(procs_rename, struct task_struct *task, const char *comm)
{
	if (is_leader(task))
		send_comm(PROCS_RENAME, task, comm);
	return 0;
}

/* The cgroup rules and the cached cgroup paths follow a process that moves. */
SEC("tp_btf/cgroup_attach_task")
int BPF_PROG(procs_cgroup, struct cgroup *dst, const char *path, struct task_struct *task)
{
	if (is_leader(task))
		send(PROCS_CGROUP, task);
	return 0;
}

SEC("iter/task")
int dump_procs(struct bpf_iter__task *ctx)
{
	struct task_struct *task = ctx->task;
	struct procs_record r = {};
	struct mm_struct *mm;

	/* One record per process: its leader, if it still has memory. */
	if (!task || task != task->group_leader || (task->flags & PF_KTHREAD))
		return 0;
	mm = task->mm;
	if (!mm)
		return 0;
	r.pid = task->tgid;
	r.start_ticks = task->start_boottime / ns_per_tick;
	r.rss_pages = mm->rss_stat[MM_FILEPAGES].count + mm->rss_stat[MM_ANONPAGES].count +
		      mm->rss_stat[MM_SHMEMPAGES].count;
	r.cgroup_id = cgroup_id(task);
	bpf_probe_read_kernel_str(r.comm, sizeof(r.comm), task->comm);
	bpf_seq_write(ctx->meta->seq, &r, sizeof(r));
	return 0;
}
