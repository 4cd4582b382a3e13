/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The OpenTelemetry memory-profiling USDT contract, fired straight from
 * <sys/sdt.h> (no memtide hook): included once by sdtalloc.c and once by
 * libsdtsite.c, so each binary carries its own notes and semaphores. The
 * sampling is deterministic so the expected figures are exact: every
 * SDT_EVERY-th allocation of a site fires, with weight SDT_EVERY * size.
 */
#ifndef SDTSAMPLE_H
#define SDTSAMPLE_H

#define _SDT_HAS_SEMAPHORES 1
#include <stdint.h>
#include <stdlib.h>
#include <sys/sdt.h>

#define SDT_EVERY 8

/* The kernel counts attached probes in these (hidden: the executable's and
 * the library's stay apart). */
__attribute__((visibility("hidden"), section(".probes"),
	       used)) unsigned short otel_memory_alloc_semaphore,
	otel_memory_free_semaphore;

struct sdt_site {
	const char *name;
	unsigned long count; /* allocations so far */
	/* What the agent should find: samples fired, their weights, and those
	 * not freed. */
	uint64_t alloc_objects, alloc_space, inuse_objects, inuse_space;
};

/* The probe site: frame 0 of every stack, the site function frame 1. */
__attribute__((noinline)) static void *sdt_malloc(struct sdt_site *s, size_t size, int *sampled)
{
	void *p = malloc(size);

	*sampled = 0;
	if (p && s->count++ % SDT_EVERY == 0 && otel_memory_alloc_semaphore) {
		uint64_t weight = (uint64_t)SDT_EVERY * size;

		DTRACE_PROBE3(otel_memory, alloc, p, size, weight);
		s->alloc_objects++;
		s->alloc_space += weight;
		s->inuse_objects++;
		s->inuse_space += weight;
		*sampled = 1;
	}
	return p;
}

__attribute__((noinline, unused)) static void sdt_free(struct sdt_site *s, void *p, size_t size,
					       int sampled)
{
	/* The contract: only sampled pointers fire, and before the free. */
	if (sampled && otel_memory_free_semaphore) {
		DTRACE_PROBE1(otel_memory, free, p);
		s->inuse_objects--;
		s->inuse_space -= (uint64_t)SDT_EVERY * size;
	}
	free(p);
}

/* The probes this binary fires are attached (a binary that never frees
 * has no free probe). */
static inline int sdt_attached(int frees)
{
	return otel_memory_alloc_semaphore && (!frees || otel_memory_free_semaphore);
}

#endif
