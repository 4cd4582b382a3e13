// SPDX-License-Identifier: Apache-2.0
/* hooksites' shared library: a site that never frees (the leak). */
#include <stdlib.h>
#include <string.h>

#define LEAK_BLOCK 4096

__attribute__((noinline)) size_t lib_leak(size_t bytes)
{
	size_t n = 0;

	for (size_t done = 0; done < bytes; done += LEAK_BLOCK, n++) {
		char *p = malloc(LEAK_BLOCK);

		if (!p)
			exit(1);
		memset(p, 1, 64);
	}
	return n;
}
