// SPDX-License-Identifier: Apache-2.0
/*
 * Bench target (discovery latency): malloc(64)+free every millisecond until
 * killed, so the uprobe tier counts as soon as its probes are on. A uprobe is
 * a breakpoint written into the process's own copy of the code, so the
 * process sees it come: on x86-64 it prints "probed UNIXTIME" once malloc's
 * first byte turns into int3 (0xcc).
 */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

int main(void)
{
	const struct timespec ms = { .tv_nsec = 1000000 };
	const volatile unsigned char *code = (const volatile unsigned char *)(void *)malloc;
	int seen = 0;

	printf("ready\n");
	fflush(stdout);
	for (;;) {
		void *volatile p = malloc(64);

		free(p);
#if defined(__x86_64__)
		if (!seen && *code == 0xcc) {
			struct timespec now;

			clock_gettime(CLOCK_REALTIME, &now);
			printf("probed %lld.%09ld\n", (long long)now.tv_sec, now.tv_nsec);
			fflush(stdout);
			seen = 1;
		}
#endif
		nanosleep(&ms, NULL);
	}
}
