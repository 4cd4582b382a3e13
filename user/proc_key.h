/* SPDX-License-Identifier: Apache-2.0 */
/*
 * A process as every module names it: a pid is reused, (pid, start time) is
 * not. The collector tracks at most PROC_MAX_TRACKED of them; every table
 * kept per process is sized from that one figure, and an entry goes when the
 * collector says the process is gone (collector__on_gone).
 */
#ifndef MEMTIDE_PROC_KEY_H
#define MEMTIDE_PROC_KEY_H

#include <stdbool.h>
#include <stdint.h>

#define PROC_MAX_TRACKED 4096

struct proc_key {
	int pid;
	uint64_t start_ticks; /* /proc/PID/stat's starttime, in clock ticks since boot */
};

static inline bool proc_key__eq(const struct proc_key *a, const struct proc_key *b)
{
	return a->pid == b->pid && a->start_ticks == b->start_ticks;
}

/* Told once per process the collector stops tracking (it exited, or no rule
 * selects it any more), on the collection thread. */
typedef void (*proc_gone_fn)(void *ctx, const struct proc_key *k);

#endif
