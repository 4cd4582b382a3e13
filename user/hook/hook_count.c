// SPDX-License-Identifier: Apache-2.0
/*
 * The hook's heap accounting: it interposes glibc's allocating functions
 * (malloc and free here, the others in hook_alloc.c) and forwards to glibc's
 * own entry points (__libc_malloc and the rest: no dlsym, so nothing to
 * bootstrap), counting in an initial-exec TLS block per thread, without
 * locks. A block's size comes from glibc's chunk header (the size word before
 * it, less its flag bits and header), which is what malloc_usable_size()
 * gives, without the call. Threads register their block once; a thread's exit
 * folds it into the totals. The counters are only ever written by their
 * thread, each with a single store, so a report reads them from another
 * thread without tearing.
 *
 * malloc(64)+free is a few nanoseconds in glibc, so every instruction on
 * those two paths shows: malloc counts the request before it calls glibc (so
 * nothing but the pointer is live across the call), one compare is the only
 * test on the way in, a small size is one add to its own count (which gives
 * its bucket and its requested bytes when summed), and block sizes are summed
 * with their header words, which the sum takes off: one per live block, a
 * second per mmapped chunk by glibc's own count of them. Sampling
 * (hook_sample.c) adds no instruction to either: its countdown is malloc's
 * sum of block bytes (small sizes) or requested bytes (larger ones) against
 * the next sampling point (that compare, which replaced the thread-state
 * test), and free's one test of the size word sends mmapped and sampled
 * blocks out of line.
 */
#include <errno.h>
#include <malloc.h>
#include <pthread.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "hook_count.h"
#include "hook_thread.h"

__thread struct tblock hook_self __attribute__((tls_model("initial-exec")));
int hook_counting = 1;
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static struct tblock *threads;
static struct tcounts exited; /* under lock */
static pthread_key_t key;
static int have_key;

static void add_counts(struct tcounts *to, const struct tcounts *from)
{
	const __u64 *f = (const __u64 *)from;
	__u64 *t = (__u64 *)to;

	for (size_t i = 0; i < sizeof(*to) / sizeof(__u64); i++)
		t[i] += __atomic_load_n(&f[i], __ATOMIC_RELAXED);
}

/* A sampling point left bytes after base (no point: never). */
static __u64 point_at(__u64 base, __u64 left)
{
	return left > UINT64_MAX - base ? UINT64_MAX : base + left;
}

/* The next sampling point, left bytes after malloc's requested bytes and
 * `ahead` more malloc is about to count. */
static void set_left(struct tblock *t, __u64 ahead, __u64 left)
{
	t->sample_at = point_at(t->c.requested[FN_MALLOC] + ahead, left);
}

/* A counting thread's (or a fork child's) first points, in both streams. */
static void draw_points(struct tblock *t)
{
	set_left(t, 0, hook_sample__seed(&t->rng));
	t->small_at = point_at(t->c.given_small, hook_sample__next(&t->rng));
}

static void thread_exit(void *arg)
{
	struct tblock *t = arg;

	pthread_mutex_lock(&lock);
	add_counts(&exited, &t->c);
	*t->prev = t->next;
	if (t->next)
		t->next->prev = t->prev;
	t->state = T_EXITED;
	t->sample_at = 0;
	t->small_at = 0;
	pthread_mutex_unlock(&lock);
}

static void register_thread(struct tblock *t)
{
	pthread_mutex_lock(&lock);
	t->next = threads;
	t->prev = &threads;
	if (threads)
		threads->prev = &t->next;
	threads = t;
	t->state = T_COUNTING;
	pthread_mutex_unlock(&lock);
	draw_points(t);
	/* A key's value needs no allocation (static slots in the thread). */
	if (have_key)
		pthread_setspecific(key, t);
}

/* The slow path: a thread's first call, the rare results (no block) and
 * calls after its exit (glibc frees a few blocks after the key's destructors:
 * those go straight to the totals, under the lock). */
void __attribute__((noinline))
count_slow(int fn, size_t n, void *p, int ok, size_t freed, int is_free)
{
	struct tblock *t = &hook_self;
	struct tcounts *c = &t->c;

	if (t->state == T_NEW)
		register_thread(t);
	if (t->state == T_EXITED) {
		pthread_mutex_lock(&lock);
		c = &exited;
	}
	if (fn >= 0) {
		ADD(c->hist[bucket(n)], 1);
		if (fn != FN_MALLOC)
			ADD(c->calls[fn], 1);
		ADD(c->requested[fn], n);
		if (p) {
			ADD(c->given, block_bytes(p));
		} else {
			ADD(c->no_block, 1);
			if (!ok)
				ADD(c->failed, 1);
		}
	}
	if (freed != (size_t)-1) {
		ADD(c->taken, freed);
		if (is_free)
			ADD(c->frees, 1);
		else
			ADD(c->other_frees, 1);
	}
	if (c == &exited)
		pthread_mutex_unlock(&lock);
}

/*
 * The sampling countdown's slow side: n reached it, or the thread does not
 * count here (sample_at 0), or this is its first call, which registers it.
 * The sampling points n crossed, 0 mostly. ahead: n if malloc is to add it
 * to its requested bytes, else 0.
 */
/* Registers the thread on its first call: whether it counts here. */
static int counts_here(struct tblock *t)
{
	if (t->state == T_NEW && hook_counting)
		register_thread(t);
	return t->state == T_COUNTING;
}

/* The points n bytes cross with *left to go to the next; *left after them. */
static __u64 take_points(struct tblock *t, __u64 *left, size_t n)
{
	if (n < *left) {
		*left -= n;
		return 0;
	}
	return hook_sample__cross(left, &t->rng, n);
}

__u64 __attribute__((noinline)) take_slow(struct tblock *t, size_t n, size_t ahead)
{
	__u64 left, points;

	if (!counts_here(t))
		return 0;
	left = t->sample_at - t->c.requested[FN_MALLOC];
	points = take_points(t, &left, n);
	set_left(t, ahead, left);
	return points;
}

/*
 * malloc's and free's rare cases, out of line and entered by a jump: a thread
 * that does not count here (first call, exited, counting off), a sampling
 * point reached, malloc's failure; free of an mmapped or a sampled block.
 */
static void *__attribute__((noinline)) malloc_uncounted(size_t n)
{
	void *p;

	if (!hook_counting)
		return __libc_malloc(n);
	p = __libc_malloc(n);
	count_slow(FN_MALLOC, n, p, p != NULL, (size_t)-1, 0);
	return p;
}

/* glibc's block, or a tagged one if a profiler wants this sample. */
static void *malloc_sampled(size_t n, __u64 points)
{
	if (points && hook_sample__armed())
		return hook_sample__alloc(HOOK_RAW_MALLOC, 0, n, points);
	return __libc_malloc(n);
}

static void *__attribute__((noinline)) malloc_slow(size_t n)
{
	struct tblock *t = &hook_self;
	__u64 points = take_slow(t, n, n);
	void *p;

	if (t->state != T_COUNTING)
		return malloc_uncounted(n);
	p = malloc_sampled(n, points);
	count_alloc(FN_MALLOC, n, p);
	return p;
}

static void *__attribute__((noinline)) malloc_failed(void)
{
	ADD(hook_self.c.no_block, 1);
	ADD(hook_self.c.failed, 1);
	return NULL;
}

/*
 * A small malloc whose requested bytes reach small_at: a sampling point, or a
 * thread that does not count here (small_at 0). The small mallocs' countdown
 * runs over given_small, their blocks' bytes, but only their requested bytes
 * can hold a point: one that fell in a block's slack (past its requested
 * bytes, now behind given_small) is dropped and the next drawn from here,
 * which the geometric's lack of memory makes the same as a countdown over
 * their requested bytes alone.
 */
static void *__attribute__((noinline)) malloc_small_slow(size_t n)
{
	struct tblock *t = &hook_self;
	__u64 left, points;
	void *p;

	if (!counts_here(t))
		return malloc_uncounted(n);
	left = t->small_at > t->c.given_small ? t->small_at - t->c.given_small
					      : hook_sample__next(&t->rng);
	points = take_points(t, &left, n);
	ADD(t->c.small[n], 1);
	p = malloc_sampled(n, points);
	if (p)
		ADD(t->c.given_small, block_bytes(p));
	else
		malloc_failed();
	t->small_at = point_at(t->c.given_small, left);
	return p;
}

static void __attribute__((noinline)) free_uncounted(void *p)
{
	if (!p)
		return;
	if (hook_counting)
		count_slow(-1, 0, NULL, 1, block_bytes(p), 1);
	release(p);
}

static void __attribute__((noinline)) free_rare(void *p)
{
	ADD(hook_self.c.taken, block_bytes(p));
	ADD(hook_self.c.frees, 1);
	release(p);
}

/*
 * The library keeps frame pointers (a profiler walks them from the probes),
 * but malloc's and free's fast paths go without: they only ever leave
 * through a jump (to the out-of-line paths, to glibc's free) or return, so
 * they are never on a stack a probe sees, and the frame costs malloc+free
 * about 0.5 ns, a twentieth of it. Hot: at the start of .text, where the
 * rest of the library's code does not move them (their address alone moved
 * malloc+free by 0.3 ns; this place measured 0.15 ns better).
 */
#define NO_FRAME __attribute__((optimize("omit-frame-pointer"), hot))

/*
 * malloc of a larger size. The countdown is the only test on the way in (a
 * thread that does not count keeps sample_at at 0): the requested bytes' sum,
 * which it counts anyway, against the next sampling point. Nothing is counted
 * before it.
 */
static NO_FRAME __attribute__((noinline)) void *malloc_sized(size_t n)
{
	struct tblock *t = &hook_self;
	__u64 requested = t->c.requested[FN_MALLOC] + n;
	void *p;

	if (__builtin_expect(requested >= t->sample_at, 0))
		return malloc_slow(n);
	__atomic_store_n(&t->c.requested[FN_MALLOC], requested, __ATOMIC_RELAXED);
	ADD(t->c.hist[bucket(n)], 1);
	p = __libc_malloc(n);
	if (__builtin_expect(!p, 0))
		return malloc_failed();
	ADD(hook_self.c.given, hook_chunk_bytes(p));
	return p;
}

/*
 * A small size is one add, to its own count, which stands for its bucket and
 * its requested bytes (a running sum of those with its store, and the
 * bucket's add, cost a malloc+free pair 2-5%). The only test on the way in
 * is the block bytes' sum, kept anyway for the live bytes, with this
 * request's bytes, against the next sampling point (0 in a thread that does
 * not count).
 */
EXPORT NO_FRAME void *malloc(size_t n)
{
	struct tblock *t = &hook_self;
	void *p;

	if (__builtin_expect(n > HOOK_SMALL, 0))
		return malloc_sized(n);
	if (__builtin_expect(t->c.given_small + n >= t->small_at, 0))
		return malloc_small_slow(n);
	ADD(t->c.small[n], 1);
	p = __libc_malloc(n);
	if (__builtin_expect(!p, 0))
		return malloc_failed();
	ADD(hook_self.c.given_small, hook_chunk_bytes(p));
	return p;
}

/* One test of the size word sends mmapped and sampled blocks out of line. */
EXPORT NO_FRAME void free(void *p)
{
	struct tblock *t = &hook_self;
	size_t word;

	if (__builtin_expect(t->state != T_COUNTING || !p, 0)) {
		free_uncounted(p);
		return;
	}
	word = ((size_t *)p)[-1];
	if (__builtin_expect(word & (2 | HOOK_TAG_BIT), 0)) {
		free_rare(p);
		return;
	}
	ADD(t->c.taken, word & ~(size_t)7);
	ADD(t->c.frees, 1);
	__libc_free(p);
}

void hook_count__sum(struct memtide_hook_counts *out, size_t mmapped)
{
	struct tcounts sum;
	struct tblock *t;
	__u64 calls = 0, others = 0;

	memset(out, 0, sizeof(*out));
	out->counting = (__u64)hook_counting;
	if (!hook_counting)
		return;
	pthread_mutex_lock(&lock);
	sum = exited;
	for (t = threads; t; t = t->next)
		add_counts(&sum, &t->c);
	pthread_mutex_unlock(&lock);
	for (size_t n = 0; n <= HOOK_SMALL; n++) {
		sum.hist[bucket(n)] += sum.small[n];
		sum.requested[FN_MALLOC] += n * sum.small[n];
	}
	for (size_t i = 0; i < 64; i++) {
		out->size_hist[i < MEMTIDE_HOOK_SIZE_BUCKETS ? i : MEMTIDE_HOOK_SIZE_BUCKETS - 1] +=
			sum.hist[i];
		calls += sum.hist[i];
	}
	for (size_t f = 0; f < MEMTIDE_HOOK_FNS; f++) {
		out->calls[f] = sum.calls[f];
		out->requested[f] = sum.requested[f];
		others += sum.calls[f];
	}
	out->calls[FN_MALLOC] = calls - others;
	out->failed = sum.failed;
	out->frees = sum.frees;
	out->live_objects = (__s64)(calls - sum.no_block - sum.frees - sum.other_frees);
	out->live_bytes = (__s64)(sum.given + sum.given_small - sum.taken) -
			  (out->live_objects + (__s64)mmapped) * (__s64)sizeof(size_t);
}

/* The child is one thread: the others' blocks stay in its memory, as their
 * counts stay in its figures; the lock may have been held by one of them. */
static void after_fork_child(void)
{
	pthread_mutex_init(&lock, NULL);
	/* A sampled block stays tagged: its prefix is in the child's copy. */
	if (hook_self.state == T_COUNTING)
		draw_points(&hook_self);
}

/* Exported for tests: the figures a report would carry, now. */
EXPORT void memtide_hook_counts_now(struct memtide_hook_counts *out)
{
	hook_count__sum(out, mallinfo2().hblks);
}

void hook_count__init(void)
{
	const char *v = getenv(MEMTIDE_HOOK_COUNT_ENV);

	hook_sample__init();
	if (v && !strcmp(v, "0")) {
		/* Sampling goes with counting: the countdown is in its block. */
		hook_counting = 0;
		if (hook_self.state == T_COUNTING)
			hook_self.state = T_OFF;
		hook_self.sample_at = 0;
		hook_self.small_at = 0;
		return;
	}
	/* The loading thread drew its countdown with the default mean. */
	if (hook_self.state == T_COUNTING)
		draw_points(&hook_self);
	if (!pthread_key_create(&key, thread_exit))
		have_key = 1;
	/* The loading thread registered before the key existed. */
	if (hook_self.state == T_COUNTING && have_key)
		pthread_setspecific(key, &hook_self);
	pthread_atfork(NULL, NULL, after_fork_child);
}
