/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/* Limits the BPF programs and user space must agree on: the pid range and
 * the maps' sizes. Shared by bpf/mm.h, bpf/heap_types.h and the agent. */
#ifndef MEMTIDE_SIZES_H
#define MEMTIDE_SIZES_H

/* The kernel's PID_MAX_LIMIT on 64-bit: every pid is below it. A power of
 * two, so the BPF side can mask an index into a per-pid bitmap. */
#define MEMTIDE_PID_MAX (4 * 1024 * 1024)
_Static_assert((MEMTIDE_PID_MAX & (MEMTIDE_PID_MAX - 1)) == 0, "a power of two");

/* Heap and hook tiers: processes probed at once (the stats, blocks and hooks
 * maps, and the agent's probe slots). */
#define HEAP_MAX_PROCESSES 1024
/* Live blocks recorded per probed process (its inner block map). */
#define HEAP_BLOCKS_PER_PROCESS (1 << 20)
/* Allocator calls in progress at once, one per thread (the calls map). */
#define HEAP_MAX_CALLS 65536

/* Discovery: the exec/fork/exit ring buffer (a power of two, whole pages);
 * 256 KiB holds ~4,600 events, a burst the agent drains at once. */
#define PROCS_RINGBUF_BYTES (256 * 1024)

#endif
