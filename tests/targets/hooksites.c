// SPDX-License-Identifier: Apache-2.0
/*
 * Allocation sites under memtide's hook (run with LD_PRELOAD): the hook's
 * Poisson sampler fires the otel_memory probes. Commands on stdin, one line
 * "ok ..." answers:
 *   small MIB   site_small allocates MIB MiB in 64 B blocks, frees them all
 *   big MIB     site_big the same in 64 KiB blocks, each freed at once
 *   leak MIB    lib_leak (libhooksite.so) allocates MIB MiB in 4 KiB blocks, never freed
 *   exit
 * Built with frame pointers, so the agent sees whole stacks.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

size_t lib_leak(size_t bytes);

#define SMALL 64
#define BIG 65536
#define BATCH 4096

__attribute__((noinline)) static void site_small(size_t bytes)
{
	static void *held[BATCH];

	for (size_t done = 0; done < bytes;) {
		size_t n = 0;

		for (; n < BATCH && done < bytes; n++, done += SMALL) {
			held[n] = malloc(SMALL);
			if (!held[n])
				exit(1);
		}
		for (size_t i = 0; i < n; i++)
			free(held[i]);
	}
}

__attribute__((noinline)) static void site_big(size_t bytes)
{
	for (size_t done = 0; done < bytes; done += BIG) {
		char *volatile p = malloc(BIG);

		if (!p)
			exit(1);
		p[0] = 1;
		free(p);
	}
}

int main(void)
{
	char line[64];
	size_t mib;

	setvbuf(stdout, NULL, _IOLBF, 0);
	printf("ready\n");
	while (fgets(line, sizeof(line), stdin)) {
		if (sscanf(line, "small %zu", &mib) == 1)
			site_small(mib << 20);
		else if (sscanf(line, "big %zu", &mib) == 1)
			site_big(mib << 20);
		else if (sscanf(line, "leak %zu", &mib) == 1)
			printf("ok blocks=%zu\n", lib_leak(mib << 20));
		else if (strcmp(line, "exit\n") == 0)
			return 0;
		else
			printf("error unknown command\n");
		if (strncmp(line, "leak", 4) != 0)
			printf("ok\n");
	}
	return 0;
}
