/* SPDX-License-Identifier: Apache-2.0 */
/* The hook's sampled allocations (hook_sample.c): Poisson sampling over allocated bytes, tagged
 * blocks and the OpenTelemetry memory-profiling USDT probes. */
#ifndef MEMTIDE_HOOK_SAMPLE_H
#define MEMTIDE_HOOK_SAMPLE_H

#include <linux/types.h>
#include <stddef.h>

#define MEMTIDE_HOOK_SAMPLE_ENV "MEMTIDE_HOOK_SAMPLE_BYTES"
#define MEMTIDE_HOOK_SAMPLE_DEFAULT 524288

/*
 * The word before a sampled block: bit 3 set, which glibc's size word never
 * has (x86-64 chunk sizes are multiples of 16); the block's offset from what
 * glibc gave is above it (a multiple of 16), "mt" in the top bits.
 */
#define HOOK_TAG_BIT 8UL
#define HOOK_TAG_MAGIC (0x6d74UL << 48)
#define HOOK_TAG_OFF_MASK ((1UL << 48) - 16)

/* How glibc allocates a sampled block (before the prefix is added). */
enum { HOOK_RAW_MALLOC, HOOK_RAW_CALLOC, HOOK_RAW_ALIGNED };

extern volatile unsigned short otel_memory_alloc_semaphore;

/*
 * glibc's chunk header: the size word before the block (bits 0-2 are flags,
 * bit 1 IS_MMAPPED), less its flags. malloc_usable_size() is the chunk size
 * less one header word, two for an mmapped chunk: the counts' sum takes the
 * first word off per live block and the second per mmapped chunk glibc
 * counts (mallinfo2's hblks), so malloc need not test for it.
 */
static inline size_t hook_chunk_bytes(const void *p)
{
	return ((const size_t *)p)[-1] & ~(size_t)7;
}

/* What glibc's malloc_usable_size() gives for its block p. */
static inline size_t hook_chunk_usable(const void *p)
{
	size_t word = ((const size_t *)p)[-1];

	return (word & ~(size_t)7) - (word & 2 ? 2 : 1) * sizeof(size_t);
}

/* A profiler is attached to the alloc probe: sampled blocks are tagged. */
static inline int hook_sample__armed(void)
{
	return __builtin_expect(otel_memory_alloc_semaphore != 0, 0);
}

/* MEMTIDE_HOOK_SAMPLE_BYTES: read once, at load. */
void hook_sample__init(void);
/* A thread's (or a fork child's) own random stream, and its first countdown. */
__u64 hook_sample__seed(__u64 *rng);
/* The bytes up to and including the next point of a countdown on that stream. */
__u64 hook_sample__next(__u64 *rng);
/*
 * An allocation of n bytes reached the countdown (n >= *left): the number of
 * sampling points its bytes crossed (0: sampling off, or n no allocation can
 * have), and the countdown to the next point in *left (> 0).
 */
__u64 hook_sample__cross(__u64 *left, __u64 *rng, size_t n);
/* A tagged block of n usable bytes: fires otel_memory:alloc; NULL if glibc failed. */
void *hook_sample__alloc(int raw, size_t align, size_t n, __u64 nsamples);
/* A tagged block's hook_chunk_bytes() as if it were untagged: its usable
 * bytes, + one word, + another if glibc mmapped it. */
size_t hook_sample__block_bytes(const void *p);
/* A tagged block's usable bytes: those after its prefix. */
size_t hook_sample__usable(const void *p);
/* Fires otel_memory:free and gives the block back to glibc. */
void hook_sample__free(void *p);

#endif
