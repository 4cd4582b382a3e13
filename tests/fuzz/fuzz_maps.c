// SPDX-License-Identifier: Apache-2.0
/*
 * The /proc/PID/maps parsers: where glibc is (the uprobe tier) and whether a
 * library is mapped (the hook tier). The input's first line names the library
 * to look for; the rest is the maps text.
 */
#include <linux/types.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "fuzz.h"
#include "hook.h"
#include "libc_elf.h"

static char *exact(size_t len)
{
	char *p = malloc(len ? len : 1);

	if (!p)
		abort();
	return p;
}

static void find_libc(const char *maps, size_t range_len, size_t path_len)
{
	char *range = exact(range_len), *path = exact(path_len);

	if (libc__find(maps, range, range_len, path, path_len) == LIBC_GLIBC)
		FUZZ_CHECK(strlen(range) < range_len && strlen(path) < path_len);
	free(range);
	free(path);
}

static void find_library(const char *maps, const char *name, size_t range_len)
{
	char *range = exact(range_len);

	if (!libc__find_library(maps, name, range, range_len))
		FUZZ_CHECK(strlen(range) < range_len);
	free(range);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text = fuzz_cstr(data, size), *maps;
	const char *name = fuzz_first_line(text, &maps);

	/* The sizes the agent passes, then small ones from the input's size. */
	find_libc(maps, 64, 4096);
	find_libc(maps, size % 9, size / 9 % 33);
	find_library(maps, name, 64);
	find_library(maps, MEMTIDE_HOOK_LIBRARY, 64);
	find_library(maps, "libc.so.6", size % 11);
	free(text);
	return 0;
}
