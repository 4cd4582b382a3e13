// SPDX-License-Identifier: Apache-2.0
/* Reads the control hook's memtide_hook_info out of a process's memory. */
#include <errno.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>
#include "hookinfo.h"
#include "libc_elf.h"
#include "log.h"

/* A capability the agent lacks shows as EACCES or EPERM at one of the steps:
 * say which it needs, once per step (every process of another user fails alike). */
static int denied(int pid, int step, int err)
{
	static const char *const why[] = {
		"reading /proc/PID/maps needs CAP_SYS_PTRACE",
		"opening /proc/PID/map_files needs CAP_SYS_PTRACE and CAP_DAC_READ_SEARCH",
		"opening /proc/PID/map_files needs CAP_CHECKPOINT_RESTORE",
		"reading the hook's data (process_vm_readv) needs CAP_SYS_PTRACE",
	};
	static _Atomic unsigned int told;

	if ((err == -EACCES || err == -EPERM) &&
	    !(atomic_fetch_or(&told, 1u << step) & (1u << step)))
		log_warn("pid %d: hook tier unavailable: %s (%s)", pid, why[step], strerror(-err));
	return err;
}

/* The info object as the process holds it: its library's first mapping plus
 * the object's distance from there. */
static int read_info(int pid, const char *range, const char *path, struct memtide_hook_info *out)
{
	uint64_t start, offset, size;
	struct iovec local = { out, sizeof(*out) }, remote;
	int err = libc__object(path, MEMTIDE_HOOK_INFO_SYMBOL, &offset, &size);

	if (err)
		return err;
	if (size < sizeof(*out) || sscanf(range, "%lx", &start) != 1)
		return -ENOENT;
	remote = (struct iovec){ (void *)(uintptr_t)(start + offset), sizeof(*out) };
	if (process_vm_readv(pid, &local, 1, &remote, 1, 0) != (ssize_t)sizeof(*out))
		return errno == ESRCH || errno == EPERM ? -errno : -ENOENT;
	return out->magic == MEMTIDE_HOOK_MAGIC && out->version == MEMTIDE_HOOK_VERSION ? 0
											: -ENOENT;
}

int hookinfo__inspect(int pid, struct hook_found *out)
{
	static const char *const report[] = { MEMTIDE_HOOK_REPORT_SYMBOL };
	char range[64];
	int err;

	memset(out, 0, sizeof(*out));
	err = libc__pid_library(pid, MEMTIDE_HOOK_LIBRARY, range, sizeof(range));
	if (err)
		return denied(pid, 0, err);
	snprintf(out->path, sizeof(out->path), "/proc/%d/map_files/%s", pid, range);
	err = libc__offsets(out->path, report, 1, &out->report_offset);
	if (err || !out->report_offset)
		return denied(pid, err == -EPERM ? 2 : 1, err) ? err : -ENOENT;
	return denied(pid, 3, read_info(pid, range, out->path, &out->info));
}
