// SPDX-License-Identifier: Apache-2.0
/*
 * Sampled allocation sites, the in-process side of the OpenTelemetry eBPF
 * profiler's memory-profiling contract: provider otel_memory, probes
 * alloc(ptr, size, weight) for a sampled allocation and free(ptr) for the
 * free of a sampled block, each guarded by its USDT semaphore.
 *
 * Sampling is a Poisson process over a thread's allocated bytes: every byte
 * is a sampling point with probability 1/mean, so the distance between
 * points is geometric with that mean, drawn from a per-thread xorshift
 * stream. An allocation is sampled when its bytes cross at least one point;
 * its weight is the points crossed times the mean, an unbiased estimate of
 * its bytes. The countdowns live in the counting's thread block
 * (hook_count.c); this file is only entered when one runs out.
 *
 * With no profiler attached (alloc semaphore 0) a crossing only redraws the
 * countdown. With one, the block gets a 16-byte prefix (more for aligned
 * blocks) whose last word is a tag glibc's size word cannot be, so free finds
 * sampled blocks with the test on the size word it reads anyway.
 */
#define _SDT_HAS_SEMAPHORES 1
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/sdt.h>
#include <time.h>
#include <unistd.h>
#include "hook_sample.h"

extern void *__libc_malloc(size_t n);
extern void __libc_free(void *p);
extern void *__libc_calloc(size_t n, size_t size);
extern void *__libc_memalign(size_t align, size_t n);

#define EXPORT __attribute__((visibility("default")))

/* Set by the kernel when a profiler attaches a probe with its semaphore. */
EXPORT volatile unsigned short otel_memory_alloc_semaphore __attribute__((section(".probes")));
EXPORT volatile unsigned short otel_memory_free_semaphore __attribute__((section(".probes")));

#define MAX_ALIGN (1UL << 32)
/* Beyond this many points in one allocation the count is its expectation. */
#define MAX_POINTS 4096

static __u64 mean = MEMTIDE_HOOK_SAMPLE_DEFAULT;
static double inv_log; /* 1 / log(1 - 1/mean), < 0; 0 until first needed */
static __u64 seeds;
/* For tests (memtide_hook_sample_now): alloc probes, their weights, free probes. */
static __u64 fired, weights, freed;

static __u64 next_random(__u64 *rng)
{
	__u64 x = *rng;

	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	*rng = x;
	return x * 0x2545f4914f6cdd1dULL;
}

/* Geometric with mean `mean`: the bytes up to and including the next point. */
static __u64 draw(__u64 *rng)
{
	double u = (double)((next_random(rng) >> 11) + 1) * 0x1p-53; /* (0, 1] */
	double d;

	if (!inv_log)
		inv_log = mean > 1 ? 1 / log1p(-1 / (double)mean) : -0.0;
	d = floor(log(u) * inv_log) + 1;
	return d < 0x1p62 ? (__u64)d : 1ULL << 62;
}

__u64 hook_sample__seed(__u64 *rng)
{
	struct timespec ts = { 0 };
	__u64 z;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	/* splitmix64 of what differs between threads and processes */
	z = __atomic_add_fetch(&seeds, 0x9e3779b97f4a7c15ULL, __ATOMIC_RELAXED) ^
	    (__u64)(uintptr_t)rng ^ ((__u64)getpid() << 32) ^ (__u64)ts.tv_nsec ^
	    ((__u64)ts.tv_sec << 30);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	z ^= z >> 31;
	*rng = z ? z : 1;
	return hook_sample__next(rng);
}

__u64 hook_sample__next(__u64 *rng)
{
	return mean ? draw(rng) : UINT64_MAX;
}

__u64 hook_sample__cross(__u64 *left, __u64 *rng, size_t n)
{
	__u64 rest, points = 1, d;

	if (!mean) {
		*left = UINT64_MAX;
		return 0;
	}
	if (n > PTRDIFF_MAX) /* glibc fails it: no bytes allocated */
		return 0;
	rest = n - *left; /* past the first point */
	if (rest / mean > MAX_POINTS) {
		points += rest / mean;
		*left = draw(rng);
		return points;
	}
	for (d = draw(rng); rest >= d; d = draw(rng)) {
		rest -= d;
		points++;
	}
	*left = d - rest;
	return points;
}

static void *raw_alloc(int raw, size_t align, size_t n)
{
	if (raw == HOOK_RAW_MALLOC)
		return __libc_malloc(n);
	if (raw == HOOK_RAW_CALLOC)
		return __libc_calloc(1, n);
	return __libc_memalign(align, n);
}

void *hook_sample__alloc(int raw, size_t align, size_t n, __u64 nsamples)
{
	size_t off = 16;
	__u64 weight = nsamples * mean;
	char *inner, *user;

	/* What cannot take a prefix is not tagged (glibc fails most of it). */
	if ((raw == HOOK_RAW_ALIGNED && align > MAX_ALIGN) || n > PTRDIFF_MAX - MAX_ALIGN)
		return raw_alloc(raw, align, n);
	/* glibc rounds an alignment up to a power of two, 16 at least. */
	if (raw == HOOK_RAW_ALIGNED && align > off)
		off = align & (align - 1) ? 1UL << (64 - __builtin_clzl(align)) : align;
	inner = raw_alloc(raw, off, n + off);
	if (!inner)
		return NULL;
	user = inner + off;
	((size_t *)user)[-2] = n;
	((size_t *)user)[-1] = HOOK_TAG_MAGIC | off | HOOK_TAG_BIT;
	__atomic_add_fetch(&fired, 1, __ATOMIC_RELAXED);
	__atomic_add_fetch(&weights, weight, __ATOMIC_RELAXED);
	STAP_PROBE3(otel_memory, alloc, user, n, weight);
	return user;
}

static inline size_t tag_off(const void *p)
{
	return ((const size_t *)p)[-1] & HOOK_TAG_OFF_MASK;
}

size_t hook_sample__block_bytes(const void *p)
{
	size_t off = tag_off(p);

	return hook_chunk_bytes((const char *)p - off) - off;
}

size_t hook_sample__usable(const void *p)
{
	size_t off = tag_off(p);

	return hook_chunk_usable((const char *)p - off) - off;
}

void hook_sample__free(void *p)
{
	if (otel_memory_free_semaphore) {
		__atomic_add_fetch(&freed, 1, __ATOMIC_RELAXED);
		STAP_PROBE1(otel_memory, free, p);
	}
	__libc_free((char *)p - tag_off(p));
}

/* Exported for tests: {alloc probes fired, their weights' sum, free probes fired}. */
EXPORT void memtide_hook_sample_now(__u64 out[3])
{
	out[0] = __atomic_load_n(&fired, __ATOMIC_RELAXED);
	out[1] = __atomic_load_n(&weights, __ATOMIC_RELAXED);
	out[2] = __atomic_load_n(&freed, __ATOMIC_RELAXED);
}

void hook_sample__init(void)
{
	const char *v = getenv(MEMTIDE_HOOK_SAMPLE_ENV);
	char *end;
	unsigned long long n;

	if (!v || !*v)
		return;
	n = strtoull(v, &end, 10);
	if (*end || *v == '-' || n > (1ULL << 40))
		return;
	mean = n;
	inv_log = 0;
}
