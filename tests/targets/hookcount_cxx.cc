// SPDX-License-Identifier: Apache-2.0
// C++ new/delete through libstdc++ under the hook: counted as malloc/free,
// nothing left live. With "exec PROGRAM": execs PROGRAM without the hook.
// MEMTIDE_TEST_SEMAPHORES=1: the hook's USDT semaphores set, as a profiler
// attaching would (sampled blocks tagged); exit 2 if the hook has none.
#include <dlfcn.h>
#include <linux/types.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <string>
#include <vector>
#include "hook.h"

int main(int argc, char **argv)
{
	if (argc > 2 && !strcmp(argv[1], "exec")) {
		unsetenv("LD_PRELOAD");
		execl(argv[2], argv[2], (char *)NULL);
		return 3;
	}
	auto now = (void (*)(struct memtide_hook_counts *))dlsym(RTLD_DEFAULT,
								 "memtide_hook_counts_now");
	struct memtide_hook_counts a, b;
	const char *sem = getenv("MEMTIDE_TEST_SEMAPHORES");

	if (!now) {
		/* Without the hook (after an exec without it): nothing to check. */
		printf("no hook\n");
		return getenv("LD_PRELOAD") ? 1 : 0;
	}
	if (sem && !strcmp(sem, "1")) {
		auto a_sem = (volatile unsigned short *)dlsym(RTLD_DEFAULT,
							      "otel_memory_alloc_semaphore");
		auto f_sem = (volatile unsigned short *)dlsym(RTLD_DEFAULT,
							      "otel_memory_free_semaphore");

		if (!a_sem || !f_sem) {
			printf("no semaphores\n");
			return 2;
		}
		*a_sem = *f_sem = 1;
	}
	now(&a);
	{
		std::vector<std::string *> v;

		for (int i = 0; i < 1000; i++)
			v.push_back(new std::string(100, 'x'));
		for (auto *s : v)
			delete s;
	}
	int *arr = new int[5000];
	arr[0] = 1;
	delete[] arr;
	now(&b);
	long objs = (long)(b.live_objects - a.live_objects);
	long calls = (long)(b.calls[0] - a.calls[0]);
	printf("new calls %ld live objects %ld\n", calls, objs);
	return calls >= 2001 && objs == 0 && b.frees - a.frees == (unsigned long)calls ? 0 : 1;
}
