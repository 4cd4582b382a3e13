// SPDX-License-Identifier: Apache-2.0
/*
 * Test target for sampled allocation sites: carries the OpenTelemetry memory
 * USDT contract through <sys/sdt.h> directly, without memtide's hook, in the
 * executable (site_small, site_big: everything freed) and in its shared
 * library libsdtsite.so (lib_site: never freed). Commands on stdin, answers
 * one line on stdout:
 *   wait       until both binaries' probes are attached (semaphores set)
 *   run N      N rounds: each round site_small makes 8 allocations of 64 B,
 *              site_big 1 of 64 KiB, lib_site 2 of 1000 B; frees after
 *   expect S   site S's expected figures: "ok alloc_objects=.. alloc_space=..
 *              inuse_objects=.. inuse_space=.."
 *   exit       exit 0
 */
#include <stdio.h>
#include <string.h>
#include <time.h>
#include "sdtsample.h"

void lib_site(unsigned n);
const struct sdt_site *lib_expected(void);
int lib_attached(void);

#define SMALL 64
#define BIG 65536

static struct sdt_site small = { .name = "site_small" }, big = { .name = "site_big" };

struct block {
	void *p;
	int sampled;
};

/* Allocates all, then frees all: sampled blocks are live in between. */
__attribute__((noinline)) static void site_small(unsigned n)
{
	struct block *b = calloc(n, sizeof(*b));

	if (!b)
		exit(1);
	for (unsigned i = 0; i < n; i++)
		b[i].p = sdt_malloc(&small, SMALL, &b[i].sampled);
	for (unsigned i = 0; i < n; i++)
		sdt_free(&small, b[i].p, SMALL, b[i].sampled);
	free(b);
}

__attribute__((noinline)) static void site_big(unsigned n)
{
	for (unsigned i = 0; i < n; i++) {
		struct block b;

		b.p = sdt_malloc(&big, BIG, &b.sampled);
		memset(b.p, 1, 64);
		sdt_free(&big, b.p, BIG, b.sampled);
	}
}

static void answer(const struct sdt_site *s)
{
	printf("ok alloc_objects=%llu alloc_space=%llu inuse_objects=%llu inuse_space=%llu\n",
	       (unsigned long long)s->alloc_objects, (unsigned long long)s->alloc_space,
	       (unsigned long long)s->inuse_objects, (unsigned long long)s->inuse_space);
}

int main(void)
{
	char line[128];
	unsigned n;

	setvbuf(stdout, NULL, _IOLBF, 0);
	printf("ready\n");
	while (fgets(line, sizeof(line), stdin)) {
		if (strcmp(line, "wait\n") == 0) {
			struct timespec ms = { 0, 10 * 1000 * 1000 };

			while (!sdt_attached(1) || !lib_attached())
				nanosleep(&ms, NULL);
			printf("ok\n");
		} else if (sscanf(line, "run %u", &n) == 1) {
			site_small(8 * n);
			site_big(n);
			lib_site(2 * n);
			printf("ok\n");
		} else if (strncmp(line, "expect ", 7) == 0) {
			const char *name = line + 7;

			if (strcmp(name, "site_small\n") == 0)
				answer(&small);
			else if (strcmp(name, "site_big\n") == 0)
				answer(&big);
			else if (strcmp(name, "lib_site\n") == 0)
				answer(lib_expected());
			else
				printf("error unknown site\n");
		} else if (strcmp(line, "exit\n") == 0) {
			return 0;
		} else {
			printf("error unknown command\n");
		}
	}
	return 0;
}
