/* SPDX-License-Identifier: GPL-2.0 */
/* POST /api/v1/memory/gc: trim now, wait for the hooks' answers. */
#ifndef MEMTIDE_GC_H
#define MEMTIDE_GC_H

#include "buf.h"
#include "trim.h"
#include "uprobe.h"

struct gc_deps {
	struct trim *trim;
	struct uprobe *uprobe;
};

/* An http_gc_fn: @pid 0 for every hooked process above the high water mark. */
unsigned int gc__handle(void *deps, int pid, struct buf *out);

#endif
