// SPDX-License-Identifier: Apache-2.0
/*
 * The ELF symbol lookups: the libc and the "hook" library a process maps are
 * files any local user can write, and root parses them (uprobe offsets, the
 * hook's report function and info object). The input is the file.
 */
#include <stdint.h>
#include <stdio.h>
#include <sys/mman.h>
#include <unistd.h>
#include "fuzz.h"
#include "hook.h"
#include "libc_elf.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const names[] = { "malloc", "free", MEMTIDE_HOOK_REPORT_SYMBOL };
	uint64_t offsets[3], offset, obj_size;
	char path[64];
	int fd = memfd_create("elf", MFD_CLOEXEC);

	if (fd < 0 || write(fd, data, size) != (ssize_t)size)
		abort();
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	libc__offsets(path, names, 3, offsets);
	libc__object(path, MEMTIDE_HOOK_INFO_SYMBOL, &offset, &obj_size);
	close(fd);
	return 0;
}
