// SPDX-License-Identifier: Apache-2.0
/*
 * Checks the hook's own heap accounting (LD_PRELOAD=libmemtide_hook.so)
 * against this program's bookkeeping: calls, requested bytes, live bytes and
 * objects, exactly; edge cases of realloc and posix_memalign; threads; fork.
 * Prints "ok"/"FAIL" lines; exit status 0 only if all passed.
 */
#include <dlfcn.h>
#include <errno.h>
#include <linux/types.h>
#include <malloc.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include "hook.h"

static void (*counts_now)(struct memtide_hook_counts *);
static int failures;

static void check(int ok, const char *what)
{
	printf("%s %s\n", ok ? "ok" : "FAIL", what);
	failures += !ok;
}

static __s64 live_bytes(const struct memtide_hook_counts *c)
{
	return c->live_bytes;
}

static __s64 live_objects(const struct memtide_hook_counts *c)
{
	return c->live_objects;
}

#include "test_semaphores.h"

/* Allocations before main: from a constructor. */
static void *early;
__attribute__((constructor)) static void before_main(void)
{
	early = malloc(1000);
}

static void *volatile sink;

#define THREADS 2000
#define PER_THREAD 10

static void *worker(void *arg)
{
	void **keep = arg;
	int i;

	for (i = 0; i < PER_THREAD; i++) {
		sink = malloc(100); /* through a volatile: not optimised away */
		free(sink);
	}
	*keep = malloc(200); /* outlives the thread */
	return NULL;
}

int main(void)
{
	struct memtide_hook_counts a, b;
	static void *kept[THREADS];
	void *edge[4], *p, *q, *big[4];
	volatile size_t huge = SIZE_MAX - 4096; /* out of the compiler's sight */
	size_t live = 0;
	int i, status;
	pid_t pid;

	counts_now = (void (*)(struct memtide_hook_counts *))dlsym(RTLD_DEFAULT,
								   "memtide_hook_counts_now");
	if (!counts_now) {
		printf("FAIL no hook\n");
		return 2;
	}
	counts_now(&a);
	check(a.counting == 1, "counting on");
	check(a.calls[0] >= 1 && live_objects(&a) >= 1, "the allocation before main is counted");

	/* malloc, free, calloc, exact figures. */
	counts_now(&a);
	p = malloc(64);
	q = calloc(10, 30);
	live = malloc_usable_size(p) + malloc_usable_size(q);
	big[0] = malloc(1 << 20); /* mmapped chunk */
	big[1] = memalign(4096, 3 << 20);
	big[2] = valloc(5000);
	check(posix_memalign(&big[3], 64, 777) == 0, "posix_memalign");
	for (i = 0; i < 4; i++)
		live += malloc_usable_size(big[i]);
	free(NULL);
	counts_now(&b);
	check(b.calls[0] - a.calls[0] == 2, "malloc calls exact"); /* + printf's? no: before */
	check(b.calls[1] - a.calls[1] == 1 && b.requested[1] - a.requested[1] == 300, "calloc");
	check(b.calls[5] - a.calls[5] == 1 && b.calls[6] - a.calls[6] == 1 &&
		      b.calls[4] - a.calls[4] == 1,
	      "memalign, valloc, posix_memalign calls");
	check(b.requested[0] - a.requested[0] == 64 + (1 << 20), "malloc requested bytes");
	check(live_bytes(&b) - live_bytes(&a) == (__s64)live,
	      "live bytes = malloc_usable_size, mmapped chunks included");
	check(live_objects(&b) - live_objects(&a) == 6, "live objects");
	check(b.frees == a.frees, "free(NULL) not counted");

	/* Either side of the small sizes' edge (counted by size up to 512 bytes,
	 * by bucket and sum above): calls, requested bytes, buckets, live. */
	counts_now(&a);
	edge[0] = malloc(0);
	edge[1] = malloc(1);
	edge[2] = malloc(512);
	edge[3] = malloc(513);
	for (i = 0, live = 0; i < 4; i++)
		live += malloc_usable_size(edge[i]);
	counts_now(&b);
	check(b.calls[0] - a.calls[0] == 4 && b.requested[0] - a.requested[0] == 1 + 512 + 513,
	      "malloc 0, 1, 512, 513: calls and requested bytes");
	check(b.size_hist[0] - a.size_hist[0] == 2 && b.size_hist[9] - a.size_hist[9] == 2,
	      "malloc 0, 1, 512, 513: buckets 0 and 9, two each");
	check(live_bytes(&b) - live_bytes(&a) == (__s64)live &&
		      live_objects(&b) - live_objects(&a) == 4,
	      "malloc 0, 1, 512, 513: live bytes and objects");
	for (i = 0; i < 4; i++)
		free(edge[i]);

	/* posix_memalign with a bad alignment: EINVAL, not counted. */
	counts_now(&a);
	check(posix_memalign(&p, 3, 10) == EINVAL, "posix_memalign(3) EINVAL");
	counts_now(&b);
	check(!memcmp(&a, &b, sizeof(a)), "bad posix_memalign not counted");

	/* realloc: NULL, grow, shrink, failure, 0. */
	counts_now(&a);
	sink = NULL;
	p = realloc(sink, 50); /* realloc(NULL, n), not turned into malloc by the compiler */
	p = realloc(p, 5000);
	p = realloc(p, 20);
	live = malloc_usable_size(p);
	q = realloc(p, huge);
	check(q == NULL && malloc_usable_size(p) == live, "huge realloc fails, block unchanged");
	counts_now(&b);
	printf("# realloc calls %llu failed %llu\n", b.calls[2] - a.calls[2], b.failed - a.failed);
	check(b.calls[2] - a.calls[2] == 4 && b.failed - a.failed == 1, "realloc calls, 1 failed");
	check(live_bytes(&b) - live_bytes(&a) == (__s64)live &&
		      live_objects(&b) == live_objects(&a) + 1,
	      "realloc live figures");
	p = realloc(p, 0);
	counts_now(&b);
	check(p == NULL && live_bytes(&b) == live_bytes(&a) && live_objects(&b) == live_objects(&a),
	      "realloc(p, 0) frees");
	for (i = 0; i < 4; i++)
		free(big[i]);

	/* Thousands of threads: nothing lost. */
	counts_now(&a);
	for (i = 0; i < THREADS; i++) {
		pthread_t t;

		if (pthread_create(&t, NULL, worker, &kept[i]) || pthread_join(t, NULL)) {
			printf("FAIL thread\n");
			return 1;
		}
	}
	counts_now(&b);
	printf("# thread mallocs %llu\n", b.calls[0] - a.calls[0]);
	check(b.calls[0] - a.calls[0] >= THREADS * (PER_THREAD + 1), "threads' mallocs kept");
	live = 0;
	for (i = 0; i < THREADS; i++)
		live += malloc_usable_size(kept[i]);
	/* Thread creation allocates too (stacks are cached, TLS blocks are
	 * not always): the kept blocks at least, and all freed gives them back. */
	check(live_objects(&b) - live_objects(&a) >= THREADS, "threads' live objects");
	for (i = 0; i < THREADS; i++)
		free(kept[i]);
	counts_now(&b);
	check(live_objects(&b) - live_objects(&a) < 50, "freed across threads");

	/* fork: the child starts from the parent's figures. */
	counts_now(&a);
	fflush(stdout);
	pid = fork();
	if (pid == 0) {
		struct memtide_hook_counts c;

		counts_now(&c);
		_exit(live_objects(&c) == live_objects(&a) && c.calls[0] == a.calls[0] ? 0 : 1);
	}
	check(pid > 0 && waitpid(pid, &status, 0) == pid && WIFEXITED(status) &&
		      WEXITSTATUS(status) == 0,
	      "fork: the child starts from the parent's figures");
	free(early);
	return failures ? 1 : 0;
}
