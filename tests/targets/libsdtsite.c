// SPDX-License-Identifier: Apache-2.0
/* The shared library of sdtalloc: its own probes, and a site that leaks. */
#include "sdtsample.h"

#define LIB_SIZE 1000

static struct sdt_site lib = { .name = "lib_site" };

__attribute__((noinline)) void lib_site(unsigned n)
{
	int sampled;

	/* Never freed: the leak, LIB_SIZE bytes a time. */
	for (unsigned i = 0; i < n; i++)
		__asm__ volatile("" : : "r"(sdt_malloc(&lib, LIB_SIZE, &sampled)) : "memory");
}

const struct sdt_site *lib_expected(void)
{
	return &lib;
}

int lib_attached(void)
{
	return sdt_attached(0);
}
