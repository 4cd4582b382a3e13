/* SPDX-License-Identifier: Apache-2.0 */
/*
 * MEMTIDE_TEST_SEMAPHORES=1: the hook's USDT semaphores set at start, as a
 * profiler attaching would, so sampled blocks are tagged
 * (tests/integration/test_hook_sample.sh). Included once per target.
 */
#ifndef TEST_SEMAPHORES_H
#define TEST_SEMAPHORES_H

#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

__attribute__((constructor(101))) static void force_semaphores(void)
{
	const char *v = getenv("MEMTIDE_TEST_SEMAPHORES");
	volatile unsigned short *a, *f;

	/* Only then: a failed dlsym allocates, which memusage and the counts see. */
	if (!v || strcmp(v, "1"))
		return;
	a = dlsym(RTLD_DEFAULT, "otel_memory_alloc_semaphore");
	f = dlsym(RTLD_DEFAULT, "otel_memory_free_semaphore");
	if (!a || !f) {
		printf("FAIL no semaphores\n");
		exit(2);
	}
	*a = *f = 1;
}

#endif
