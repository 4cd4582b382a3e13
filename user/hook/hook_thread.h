/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The hook's per-thread counting block and the helpers every interposed
 * function uses (hook_count.c: malloc, free, threads and sums; hook_alloc.c:
 * the other allocating functions). Private to the hook.
 */
#ifndef MEMTIDE_HOOK_THREAD_H
#define MEMTIDE_HOOK_THREAD_H

#include <linux/types.h>
#include <stddef.h>
#include "hook.h"
#include "hook_sample.h"

extern void *__libc_malloc(size_t n);
extern void __libc_free(void *p);
extern void *__libc_calloc(size_t n, size_t size);
extern void *__libc_realloc(void *p, size_t n);
extern void *__libc_memalign(size_t align, size_t n);
extern void *__libc_valloc(size_t n);
extern void *__libc_pvalloc(size_t n);

/* enum heap_fn (bpf/heap_types.h) */
enum {
	FN_MALLOC,
	FN_CALLOC,
	FN_REALLOC,
	FN_REALLOCARRAY,
	FN_POSIX_MEMALIGN,
	FN_MEMALIGN,
	FN_VALLOC,
	FN_PVALLOC
};

/* malloc sizes up to this are counted by their exact size: one add, 4 KiB a
 * thread. */
#define HOOK_SMALL 512

/*
 * A thread's counters, as few stores per call as can be: malloc of a small
 * size adds to its size's count and the live bytes, a larger one to its size
 * bucket, its requested bytes and the live bytes; free to the frees and the
 * live bytes. The rest is derived when summed: a small size's count gives its
 * bucket and requested bytes; every allocating call is in the histogram or
 * the small counts, so malloc's calls are their total less the other
 * functions' calls, and live objects are the calls that gave a block less the
 * blocks freed.
 */
struct tcounts {
	__u64 hist[64]; /* by log2; the report's last bucket takes the rest */
	__u64 small[HOOK_SMALL + 1]; /* malloc(n) calls, n <= HOOK_SMALL, by n */
	__u64 calls[MEMTIDE_HOOK_FNS]; /* all but malloc's */
	__u64 requested[MEMTIDE_HOOK_FNS];
	/* block_bytes() of the blocks given and taken back: two counters, so
	 * malloc and free do not wait on each other's add. */
	__u64 given;
	__u64 given_small; /* small mallocs' blocks, also their sampling stream */
	__u64 taken;
	__u64 frees;
	__u64 no_block; /* calls that returned no block: failures, realloc(p, 0) */
	__u64 failed;
	__u64 other_frees; /* realloc's old blocks */
};

/*
 * Two sampling countdowns (hook_sample.c), each on a sum malloc keeps anyway.
 * sample_at: where the requested bytes of malloc's larger sizes reach the
 * next point (the other functions move it nearer by their bytes). small_at:
 * where given_small, the block bytes of small mallocs, does. Both 0 in a
 * thread that does not count, so its calls take the slow path, and with it
 * the only test malloc makes on the way in.
 */
struct tblock {
	struct tcounts c; /* first: the histogram's slot is its log2, no offset */
	__u64 sample_at;
	__u64 small_at;
	int state;
	__u64 rng;
	struct tblock *next, **prev;
};

enum {
	T_NEW, /* first call still to come */
	T_COUNTING,
	T_EXITED, /* count into the totals */
	T_OFF, /* MEMTIDE_HOOK_COUNT=0 came after this thread's first call */
};

extern __thread struct tblock hook_self __attribute__((tls_model("initial-exec")));
extern int hook_counting;

/*
 * One add to memory on x86-64 (a single aligned 8-byte store: a reader on
 * another thread sees the old value or the new one); elsewhere a relaxed
 * atomic store of the sum, which the compiler does as load, add, store.
 */
#ifdef __x86_64__
#define ADD(field, v) __asm__("addq %1, %0" : "+m"(field) : "er"((__u64)(v)))
#else
#define ADD(field, v) __atomic_store_n(&(field), (field) + (v), __ATOMIC_RELAXED)
#endif

/* hook_chunk_bytes() of a block as the program sees it, sampled or not. */
static inline size_t block_bytes(const void *p)
{
	if (__builtin_expect(((const size_t *)p)[-1] & HOOK_TAG_BIT, 0))
		return hook_sample__block_bytes(p);
	return hook_chunk_bytes(p);
}

static inline unsigned int bucket(size_t n)
{
	return 63 - (unsigned int)__builtin_clzl(n | 1);
}

/* The slow paths (hook_count.c), out of line. */
void count_slow(int fn, size_t n, void *p, int ok, size_t freed, int is_free);
__u64 take_slow(struct tblock *t, size_t n, size_t ahead);

/* ok: the call did what was asked (realloc(p, 0) returns NULL and succeeds). */
static inline void count_call(int fn, size_t n, void *p, int ok)
{
	struct tblock *t = &hook_self;

	if (__builtin_expect(t->state != T_COUNTING || !p, 0)) {
		if (hook_counting)
			count_slow(fn, n, p, ok, (size_t)-1, 0);
		return;
	}
	ADD(t->c.hist[bucket(n)], 1);
	if (fn != FN_MALLOC)
		ADD(t->c.calls[fn], 1);
	ADD(t->c.requested[fn], n);
	ADD(t->c.given, block_bytes(p));
}

static inline void count_alloc(int fn, size_t n, void *p)
{
	count_call(fn, n, p, p != NULL);
}

static inline void count_free(size_t bytes, int is_free)
{
	struct tblock *t = &hook_self;

	if (__builtin_expect(t->state != T_COUNTING || !is_free, 0)) {
		if (hook_counting)
			count_slow(-1, 0, NULL, 1, bytes, is_free);
		return;
	}
	ADD(t->c.taken, bytes);
	ADD(t->c.frees, 1);
}

/* Points crossed by n more bytes (not malloc's): only those make a tagged
 * block, and only with a profiler attached. */
static inline __u64 take_sampled(size_t n)
{
	struct tblock *t = &hook_self;
	__u64 points;

	if (__builtin_expect(t->state == T_COUNTING && n < t->sample_at - t->c.requested[FN_MALLOC],
			     1)) {
		t->sample_at -= n;
		return 0;
	}
	points = take_slow(t, n, 0);
	return points && hook_sample__armed() ? points : 0;
}

/* glibc's free, or the sampled block's (fires otel_memory:free). */
static inline void release(void *p)
{
	if (__builtin_expect(((size_t *)p)[-1] & HOOK_TAG_BIT, 0))
		hook_sample__free(p);
	else
		__libc_free(p);
}

#define EXPORT __attribute__((visibility("default")))

#endif
