/* SPDX-License-Identifier: Apache-2.0 */
/* Is it memtide's control hook, and what does the hook say of itself? */
#ifndef MEMTIDE_HOOKINFO_H
#define MEMTIDE_HOOKINFO_H

#include <linux/types.h>
#include <stdint.h>
#include "hook.h"

struct hook_found {
	char path[128]; /* /proc/PID/map_files/RANGE: the library the process mapped */
	uint64_t report_offset; /* file offset of memtide_hook_report(), for the uprobe */
	struct memtide_hook_info info; /* read from the process's memory */
};

/*
 * 0 when @pid runs the real hook: a library of the hook's name that exports
 * the report function and whose info object, read from the process's own
 * memory, carries the hook's magic and version. A file that only has the
 * name is not enough. -ENOENT otherwise (or -errno when the process is gone).
 */
int hookinfo__inspect(int pid, struct hook_found *out);

#endif
