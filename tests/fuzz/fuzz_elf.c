// SPDX-License-Identifier: Apache-2.0
/*
 * The ELF symbol lookups: the libc and the "hook" library a process maps are
 * files any local user can write, and root parses them (uprobe offsets, the
 * hook's report function and info object), and the symbolizer reads any
 * file a sampled process maps (segments, symbols, DWARF). The input is the file.
 */
#include <stdint.h>
#include <stdio.h>
#include <sys/mman.h>
#include <unistd.h>
#include "fuzz.h"
#include "hook.h"
#include "libc_elf.h"
#include "symbolize_int.h"

/* Loads the file as the symbolizer does, then looks up addresses around each
 * segment and symbol. */
static void symbolize(int fd, size_t size)
{
	struct sym_key key = { .size = size };
	struct sym_file *f;
	const char *file;
	unsigned int line;
	int dfd = dup(fd);

	if (dfd < 0)
		abort();
	if (sym_file__load(dfd, &key, -1, &f))
		return;
	for (size_t i = 0; i < f->nloads; i++) {
		__u64 addr;

		if (sym__elf_addr(f->exec, f->loads, f->nloads, 0x1000 + f->loads[i].offset, 0x1000,
				  0, &addr) == 0) {
			const struct sym_entry *e = sym_file__lookup(f, addr);

			if (e)
				FUZZ_CHECK(strlen(f->names + e->name) <= SYM_NAME_MAX);
			sym_file__line(f, addr, &file, &line);
			FUZZ_CHECK(strlen(file) <= SYM_NAME_MAX);
		}
	}
	for (size_t i = 0; i < f->nsyms && i < 64; i++) {
		FUZZ_CHECK(sym_file__lookup(f, f->syms[i].addr) != NULL);
		sym_file__line(f, f->syms[i].addr + 1, &file, &line);
	}
	sym_file__free(f);
}

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
	symbolize(fd, size);
	close(fd);
	return 0;
}
