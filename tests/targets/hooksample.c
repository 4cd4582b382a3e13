// SPDX-License-Identifier: Apache-2.0
/*
 * Checks the hook's sampled allocations (LD_PRELOAD=libmemtide_hook.so). The
 * probes are nops without a profiler; setting the USDT semaphores ourselves
 * stands in for one attaching, so sampled blocks are tagged and probes "fire".
 *
 * hooksample paths   every allocating path on sampled blocks (run it with
 *                    MEMTIDE_HOOK_SAMPLE_BYTES=1: every byte is a sampling
 *                    point, so every block of 1 byte or more is sampled and
 *                    its weight is its size): contents, usable sizes, exact
 *                    counts, threads, fork
 * hooksample stats MIB   MIB MiB in mixed sizes over 4 threads: the weights'
 *                    sum against the bytes, within BOUND sigmas (argv[3])
 * hooksample probe SIZE   with a real profiler (a uprobe on the notes, the
 *                    kernel counting the semaphores): malloc(SIZE) and
 *                    free it, printing the semaphores and the block
 * hooksample quiet MIB [sem]   semaphores left at 0 (or set, with "sem": for
 *                    sampling off): no block tagged, no probe fired
 * Prints "ok"/"FAIL" lines; exit status 0 only if all passed.
 */
#include <dlfcn.h>
#include <errno.h>
#include <linux/types.h>
#include <malloc.h>
#include <math.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include "hook.h"

static void (*counts_now)(struct memtide_hook_counts *);
static void (*sample_now)(__u64 out[3]);
static volatile unsigned short *sem_alloc, *sem_free;
static int failures;
static void *volatile sink;

enum { FIRED, WEIGHT, FREED };

static void check(int ok, const char *what)
{
	printf("%s %s\n", ok ? "ok" : "FAIL", what);
	failures += !ok;
}

/* The word before the block (laundered: the compiler thinks it no one's). */
static void *launder(void *p);
static int tagged(void *p)
{
	return (((const size_t *)launder(p))[-1] & 8) != 0;
}

/* Out of the compiler's sight (a block realloc failed to move is still ours). */
static void *launder(void *p)
{
	__asm__("" : "+r"(p));
	return p;
}

/* Fills the whole usable block and reads it back. */
static int usable_ok(void *p, size_t n)
{
	size_t u = malloc_usable_size(p);
	unsigned char *c = p;

	if (u < n)
		return 0;
	memset(c, 0xa5, u);
	for (size_t i = 0; i < u; i++)
		if (c[i] != 0xa5)
			return 0;
	return 1;
}

/* One sampled block from fn: tagged, usable, aligned, probe fired with its size as weight. */
static void one(const char *what, void *p, size_t n, size_t align)
{
	char buf[128];
	int ok = p && tagged(p) && usable_ok(p, n) && (uintptr_t)p % align == 0;

	snprintf(buf, sizeof(buf), "%s: tagged, %zu usable bytes written, aligned to %zu", what, n,
		 align);
	check(ok, buf);
}

/* Live bytes and objects moved by exactly this much from a to b. */
static int live_ok(const struct memtide_hook_counts *a, const struct memtide_hook_counts *b,
		   size_t bytes, __s64 objects)
{
	return b->live_bytes - a->live_bytes == (__s64)bytes &&
	       b->live_objects - a->live_objects == objects;
}

static void *thread_free(void *arg)
{
	free(arg);
	return malloc(300);
}

#define THREADS 1000

static void *thread_work(void *arg)
{
	void *p = malloc(100 + (size_t)(uintptr_t)arg % 1000), *q;

	if (!p || !tagged(p) || !usable_ok(p, 100))
		return (void *)1;
	q = realloc(p, 3000);
	if (!q || !tagged(q))
		return (void *)1;
	free(q);
	return NULL;
}

static int paths(void)
{
	struct memtide_hook_counts a, b;
	__u64 s0[3], s1[3];
	void *p, *q, *r, *al[8];
	volatile size_t huge = SIZE_MAX - 4096;
	size_t live = 0;
	int i, status;
	pid_t pid;

	/* malloc, calloc, free: one probe each, weight = size at mean 1. */
	counts_now(&a);
	sample_now(s0);
	p = malloc(100);
	q = calloc(10, 30);
	one("malloc(100)", p, 100, 16);
	check(q && tagged(q) && !((char *)q)[0] && !memcmp(q, (char *)q + 1, 299), "calloc zeroed");
	one("calloc(10, 30)", q, 300, 16);
	live = malloc_usable_size(p) + malloc_usable_size(q);
	counts_now(&b);
	sample_now(s1);
	check(s1[FIRED] - s0[FIRED] == 2 && s1[WEIGHT] - s0[WEIGHT] == 400,
	      "two alloc probes, weights 100 and 300 (mean 1)");
	check(live_ok(&a, &b, live, 2), "counts: live bytes = malloc_usable_size, 2 objects");
	free(p);
	free(q);
	sample_now(s1);
	counts_now(&b);
	check(s1[FREED] - s0[FREED] == 2, "free of sampled blocks: two free probes");
	check(live_ok(&a, &b, 0, 0), "counts back where they were");
	p = malloc(0);
	check(p && !tagged(p), "malloc(0) crosses no point: not sampled");
	free(p);

	/* realloc: NULL, grow, shrink, failure, 0. */
	counts_now(&a);
	sample_now(s0);
	sink = NULL;
	p = realloc(sink, 50);
	one("realloc(NULL, 50)", p, 50, 16);
	memset(p, 7, 50);
	p = realloc(p, 5000);
	one("realloc grow", p, 5000, 16);
	memset(p, 7, 50);
	p = realloc(p, 20);
	check(p && ((char *)p)[19] == 7 && ((char *)p)[0] == 7, "realloc shrink keeps contents");
	one("realloc shrink", p, 20, 16);
	live = malloc_usable_size(p);
	q = realloc(launder(p), huge);
	check(!q && errno == ENOMEM && tagged(p) && malloc_usable_size(p) == live,
	      "huge realloc fails, sampled block unchanged");
	counts_now(&b);
	check(live_ok(&a, &b, live, 1), "realloc counts");
	sample_now(s1);
	check(s1[FIRED] - s0[FIRED] == 3 && s1[FREED] - s0[FREED] == 2,
	      "realloc: alloc probe per new block, free probe per moved one");
	/* A sampled block into an unsampled one: a profiler going away. */
	*sem_alloc = 0;
	q = realloc(p, 200);
	*sem_alloc = 1;
	check(q && !tagged(q) && ((unsigned char *)q)[19] == 0xa5,
	      "sampled block reallocated unsampled");
	/* An unsampled one into a sampled one. */
	p = realloc(q, 400);
	check(p && tagged(p) && ((unsigned char *)p)[19] == 0xa5,
	      "unsampled block reallocated sampled");
	p = realloc(p, 0);
	counts_now(&b);
	sample_now(s1);
	check(!p && live_ok(&a, &b, 0, 0), "realloc(p, 0) frees a sampled block");
	check(s1[FREED] - s0[FREED] == 4, "its free probe fired");

	/* The aligned family, mmapped blocks. */
	counts_now(&a);
	sample_now(s0);
	al[0] = memalign(64, 777);
	al[1] = memalign(4096, 3 << 20);
	check(posix_memalign(&al[2], 256, 1000) == 0, "posix_memalign(256)");
	al[3] = aligned_alloc(128, 256);
	al[4] = valloc(5000);
	al[5] = pvalloc(100);
	al[6] = memalign(24, 100); /* glibc: the next power of two */
	al[7] = malloc(1 << 20);
	one("memalign(64)", al[0], 777, 64);
	one("memalign(4096, 3 MiB)", al[1], 3 << 20, 4096);
	one("posix_memalign(256)", al[2], 1000, 256);
	one("aligned_alloc(128)", al[3], 256, 128);
	one("valloc", al[4], 5000, 4096);
	one("pvalloc: a page", al[5], 4096, 4096);
	one("memalign(24)", al[6], 100, 32);
	one("malloc(1 MiB): mmapped", al[7], 1 << 20, 16);
	live = 0;
	for (i = 0; i < 8; i++)
		live += malloc_usable_size(al[i]);
	counts_now(&b);
	check(live_ok(&a, &b, live, 8), "aligned counts: live bytes = malloc_usable_size");
	p = realloc(al[0], 2000);
	check(p && tagged(p) && ((unsigned char *)p)[776] == 0xa5, "realloc of an aligned block");
	al[0] = p;
	for (i = 0; i < 8; i++)
		free(al[i]);
	counts_now(&b);
	sample_now(s1);
	check(live_ok(&a, &b, 0, 0) && s1[FREED] - s0[FREED] == 9, "all freed, 9 free probes");

	/* Another thread frees ours, we free its. */
	counts_now(&a);
	p = malloc(1000);
	{
		pthread_t t;

		check(!pthread_create(&t, NULL, thread_free, p) && !pthread_join(t, &q) && q &&
			      tagged(q),
		      "a thread frees a sampled block, allocates one");
		free(q);
	}
	/* Threads: each its own stream, every block sampled. */
	for (i = 0; i < THREADS; i++) {
		pthread_t t;
		void *ret = (void *)1;

		if (pthread_create(&t, NULL, thread_work, (void *)(uintptr_t)i) ||
		    pthread_join(t, &ret) || ret) {
			check(0, "thread");
			break;
		}
	}
	check(i == THREADS, "1000 threads, sampled blocks");
	counts_now(&b);
	check(b.live_objects - a.live_objects < 50, "threads: freed across threads");

	/* fork: the child frees the parent's sampled blocks. */
	p = malloc(5000);
	q = memalign(512, 100);
	r = calloc(3, 1000);
	counts_now(&a);
	fflush(stdout);
	pid = fork();
	if (pid == 0) {
		struct memtide_hook_counts c;
		void *n;

		n = realloc(p, 10000);
		free(q);
		free(r);
		n = realloc(n, 0);
		counts_now(&c);
		_exit(c.live_objects == a.live_objects - 3 && !n ? 0 : 1);
	}
	check(pid > 0 && waitpid(pid, &status, 0) == pid && WIFEXITED(status) &&
		      WEXITSTATUS(status) == 0,
	      "fork: the child frees its parent's sampled blocks");
	check(tagged(p) && tagged(q) && tagged(r), "the parent's are still sampled");
	free(p);
	free(q);
	free(r);
	return failures;
}

struct mixer {
	size_t bytes; /* to allocate */
	size_t total; /* requested */
	int untagged; /* blocks seen with no tag */
	int tagged;
	unsigned int seed;
};

/* Replaces random blocks of 16 B to 64 KiB in a ring of 256, then frees them all. */
static void *mix(void *arg)
{
	struct mixer *m = arg;
	void *ring[256] = { 0 };

	while (m->total < m->bytes) {
		unsigned int r = (unsigned int)rand_r(&m->seed);
		size_t size = ((size_t)16 << (r % 13)) + (r >> 13) % 16;
		void **slot = &ring[(r >> 17) & 255];

		free(*slot);
		*slot = malloc(size);
		if (!*slot)
			return (void *)1;
		m->tagged += tagged(*slot);
		m->untagged += !tagged(*slot);
		m->total += size;
	}
	for (int i = 0; i < 256; i++)
		free(ring[i]);
	return NULL;
}

#define MIXERS 4

static size_t run_mix(size_t mib, int *tags)
{
	struct mixer m[MIXERS];
	pthread_t t[MIXERS];
	size_t total = 0;

	*tags = 0;
	for (int i = 0; i < MIXERS; i++) {
		m[i] = (struct mixer){ .bytes = (mib << 20) / MIXERS, .seed = 17 + (unsigned)i };
		if (pthread_create(&t[i], NULL, mix, &m[i]))
			return 0;
	}
	for (int i = 0; i < MIXERS; i++) {
		void *ret = NULL;

		if (pthread_join(t[i], &ret) || ret)
			return 0;
		total += m[i].total;
		*tags += m[i].tagged;
	}
	return total;
}

/*
 * Every byte is a sampling point with probability 1/mean: over T bytes the
 * points are binomial, variance T/mean (1 - 1/mean), so the weights' sum
 * (points * mean) has standard deviation sqrt(mean * T) at most: relative
 * sqrt(mean / T).
 */
static int stats(size_t mib, double sigmas)
{
	const char *v = getenv("MEMTIDE_HOOK_SAMPLE_BYTES");
	double mean = v && *v ? strtod(v, NULL) : 524288, sd, dev;
	__u64 s0[3], s1[3];
	size_t total;
	int tags;

	*sem_alloc = *sem_free = 1;
	sample_now(s0);
	total = run_mix(mib, &tags);
	sample_now(s1);
	check(total > 0, "mixed allocations");
	sd = sqrt(mean * (double)total);
	dev = (double)(s1[WEIGHT] - s0[WEIGHT]) - (double)total;
	printf("# %zu bytes, mean %.0f: %llu samples, weights %llu (%+.2f%%, %.2f sd; bound %.1f sd = "
	       "%.2f%%)\n",
	       total, mean, s1[FIRED] - s0[FIRED], s1[WEIGHT] - s0[WEIGHT],
	       100 * dev / (double)total, dev / sd, sigmas, 100 * sigmas * sd / (double)total);
	check(fabs(dev) <= sigmas * sd, "the weights' sum estimates the bytes within the bound");
	check((s1[WEIGHT] - s0[WEIGHT]) % (__u64)mean == 0, "each weight a multiple of the mean");
	check(s1[FIRED] - s0[FIRED] >= (__u64)tags && tags > 0, "the sampled blocks were tagged");
	check(s1[FREED] - s0[FREED] == s1[FIRED] - s0[FIRED],
	      "every sampled block freed: as many free probes as alloc probes");
	return failures;
}

static int quiet(size_t mib)
{
	__u64 s0[3], s1[3];
	int tags;

	sample_now(s0);
	check(run_mix(mib, &tags) > 0 && tags == 0, "no profiler: no block tagged");
	sample_now(s1);
	check(s1[FIRED] == s0[FIRED] && s1[FREED] == s0[FREED], "no probe fired");
	return failures;
}

int main(int argc, char **argv)
{
	counts_now = (void (*)(struct memtide_hook_counts *))dlsym(RTLD_DEFAULT,
								   "memtide_hook_counts_now");
	sample_now = (void (*)(__u64 *))dlsym(RTLD_DEFAULT, "memtide_hook_sample_now");
	sem_alloc = dlsym(RTLD_DEFAULT, "otel_memory_alloc_semaphore");
	sem_free = dlsym(RTLD_DEFAULT, "otel_memory_free_semaphore");
	if (!counts_now || !sample_now || !sem_alloc || !sem_free) {
		printf("FAIL no sampling hook\n");
		return 2;
	}
	printf("# start\n"); /* stdout's buffer, before any figure */
	if (argc >= 2 && !strcmp(argv[1], "paths")) {
		*sem_alloc = *sem_free = 1;
		return paths() ? 1 : 0;
	}
	if (argc >= 3 && !strcmp(argv[1], "stats")) {
		double sigmas = argc >= 4 ? strtod(argv[3], NULL) : 6;

		return stats(strtoul(argv[2], NULL, 10), sigmas) ? 1 : 0;
	}
	if (argc >= 3 && !strcmp(argv[1], "probe")) {
		void *p;

		printf("semaphores %u %u\n", *sem_alloc, *sem_free);
		p = malloc(strtoul(argv[2], NULL, 10));
		printf("block %p %s\n", p, p && tagged(p) ? "tagged" : "untagged");
		free(p);
		return 0;
	}
	if (argc >= 3 && !strcmp(argv[1], "quiet")) {
		if (argc >= 4 && !strcmp(argv[3], "sem"))
			*sem_alloc = *sem_free = 1;
		return quiet(strtoul(argv[2], NULL, 10)) ? 1 : 0;
	}
	fprintf(stderr, "usage: hooksample paths | stats MIB [SIGMAS] | quiet MIB [sem]\n");
	return 2;
}
