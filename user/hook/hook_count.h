/* SPDX-License-Identifier: Apache-2.0 */
/* The hook's heap accounting (hook_count.c): per-thread counters, summed on demand. */
#ifndef MEMTIDE_HOOK_COUNT_H
#define MEMTIDE_HOOK_COUNT_H

#include <linux/types.h>
#include <stddef.h>
#include "hook.h"

/* MEMTIDE_HOOK_COUNT: read once, at load. */
void hook_count__init(void);
/* Every live thread's block plus what exited threads left; mmapped: glibc's
 * count of mmapped chunks (mallinfo2().hblks), which the caller reads anyway. */
void hook_count__sum(struct memtide_hook_counts *out, size_t mmapped);

#endif
