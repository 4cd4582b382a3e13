/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/* Shared between bpf/sites.bpf.c and user/sites.c: plain structs only. */
#ifndef MEMTIDE_SITES_TYPES_H
#define MEMTIDE_SITES_TYPES_H

#include "sizes.h"

/* A sample counted under this stack id lost its stack (the stack map's
 * bucket held another stack, or the walk failed). */
#define SITES_NO_STACK 0xffffffffu

/* A live sampled allocation: (process, pointer). */
struct sites_ptr {
	__u32 tgid;
	__u32 pad;
	__u64 ptr;
};

struct sites_sample {
	__u32 stack_id;
	__u32 pad;
	__u64 weight; /* bytes this sample stands for */
};

/* A process's allocation site: (process, stack id). */
struct sites_key {
	__u32 tgid;
	__u32 stack_id;
};

/* Samples (objects) and the sum of their weights (space), as pprof's
 * alloc_objects, alloc_space, inuse_objects, inuse_space. */
struct sites_figures {
	__u64 alloc_objects;
	__u64 alloc_space;
	__u64 inuse_objects;
	__u64 inuse_space;
};

/* Samples counted in alloc_* but not kept live, or not kept at all. */
struct sites_drops {
	__u64 live_global; /* the live map was full */
	__u64 live_process; /* the process's cap was reached */
	__u64 stack_lost; /* no stack: counted under SITES_NO_STACK */
	__u64 site_full; /* no room for a new site: not counted at all */
};

/* Per attached process; created by user space at attach, so a process the
 * agent let go leaves nothing behind when a late event arrives. */
struct sites_proc {
	__u64 live; /* samples in the live map */
	struct sites_drops drops;
};

#endif
