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

/* Sampled allocation sites (bpf/sites.bpf.c). Sampled allocations live at
 * once, all processes together (the live map: the global cap). */
#define SITES_MAX_LIVE (1 << 16)
/* The default per-process cap on live samples (the agent may lower it). */
#define SITES_LIVE_PER_PROCESS 8192
/* Per-(process, stack) aggregates, all processes together. */
#define SITES_MAX_SITES (1 << 14)
/* Distinct user stacks kept (a stack trace map: a hash of the IPs picks the
 * bucket, a bucket taken by another stack loses the new one). */
#define SITES_MAX_STACKS (1 << 14)
/* Frames kept per stack, from the probe site outwards. */
#define SITES_STACK_DEPTH 64
/* Processes with sites attached at once (the per-process counters). */
#define SITES_MAX_PROCESSES 1024
/* libbpf's USDT argument specs: each attached probe site of each binary of
 * each process takes one (libbpf's default is 256). */
#define SITES_USDT_SPECS 4096

/* Discovery: the exec/fork/exit ring buffer (a power of two, whole pages);
 * 256 KiB holds ~4,600 events, a burst the agent drains at once. */
#define PROCS_RINGBUF_BYTES (256 * 1024)

#endif
