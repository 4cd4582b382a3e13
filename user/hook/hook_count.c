// SPDX-License-Identifier: Apache-2.0
/*
 * The hook's heap accounting: it interposes glibc's allocating functions and
 * forwards to glibc's own entry points (__libc_malloc and the rest: no dlsym,
 * so nothing to bootstrap), counting in an initial-exec TLS block per thread,
 * without locks. A block's size comes from glibc's chunk header (the size word
 * before it, less its flag bits and header), which is what
 * malloc_usable_size() gives, without the call. Threads register their block
 * once; a thread's exit folds it into the totals. The counters are only ever
 * written by their thread, with relaxed atomic stores, so a report reads them
 * from another thread without tearing.
 *
 * malloc(64)+free is a few nanoseconds in glibc, so every instruction on
 * those two paths shows: malloc counts the request before it calls glibc (so
 * nothing but the pointer is live across the call), the thread's state is the
 * only test on the way in, the histogram has a slot for every log2 so no
 * clamp, and block sizes are summed with the header word, which the sum takes
 * off per live block.
 */
#include <errno.h>
#include <pthread.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "hook_count.h"

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

/*
 * A thread's counters, as few stores per call as can be: malloc adds to its
 * size bucket, its requested bytes and the live bytes, free to the frees and
 * the live bytes. The rest is derived when summed: every allocating call is
 * in the histogram, so malloc's calls are the histogram's total less the other
 * functions' calls, and live objects are the calls that gave a block less the
 * blocks freed.
 */
struct tcounts {
	__u64 hist[64]; /* by log2; the report's last bucket takes the rest */
	__u64 calls[MEMTIDE_HOOK_FNS]; /* all but malloc's */
	__u64 requested[MEMTIDE_HOOK_FNS];
	/* block_bytes() of the blocks given and taken back: two counters, so
	 * malloc and free do not wait on each other's add. */
	__u64 given;
	__u64 taken;
	__u64 frees;
	__u64 no_block; /* calls that returned no block: failures, realloc(p, 0) */
	__u64 failed;
	__u64 other_frees; /* realloc's old blocks */
};

struct tblock {
	struct tcounts c;
	struct tblock *next, **prev;
	int state;
};

enum {
	T_NEW, /* first call still to come */
	T_COUNTING,
	T_EXITED, /* count into the totals */
	T_OFF, /* MEMTIDE_HOOK_COUNT=0 came after this thread's first call */
};

static __thread struct tblock self __attribute__((tls_model("initial-exec")));
static int counting = 1;
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static struct tblock *threads;
static struct tcounts exited; /* under lock */
static pthread_key_t key;
static int have_key;

#define ADD(field, v) __atomic_store_n(&(field), (field) + (v), __ATOMIC_RELAXED)

/*
 * glibc's chunk header: the size word before the block (bits 0-2 are flags,
 * bit 1 IS_MMAPPED). malloc_usable_size() is the chunk size less one header
 * word, two for an mmapped chunk; this is it plus one word.
 */
static inline size_t block_bytes(const void *p)
{
	size_t word = ((const size_t *)p)[-1];

	return (word & ~(size_t)7) - (word & 2) * (sizeof(size_t) / 2);
}

static inline unsigned int bucket(size_t n)
{
	return 63 - (unsigned int)__builtin_clzl(n | 1);
}

static void add_counts(struct tcounts *to, const struct tcounts *from)
{
	const __u64 *f = (const __u64 *)from;
	__u64 *t = (__u64 *)to;

	for (size_t i = 0; i < sizeof(*to) / sizeof(__u64); i++)
		t[i] += __atomic_load_n(&f[i], __ATOMIC_RELAXED);
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
	/* A key's value needs no allocation (static slots in the thread). */
	if (have_key)
		pthread_setspecific(key, t);
}

/* The slow path: a thread's first call, the rare results (no block) and
 * calls after its exit (glibc frees a few blocks after the key's destructors:
 * those go straight to the totals, under the lock). */
static void __attribute__((noinline))
count_slow(int fn, size_t n, void *p, int ok, size_t freed, int is_free)
{
	struct tblock *t = &self;
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

/* ok: the call did what was asked (realloc(p, 0) returns NULL and succeeds). */
static inline void count_call(int fn, size_t n, void *p, int ok)
{
	struct tblock *t = &self;

	if (__builtin_expect(t->state != T_COUNTING || !p, 0)) {
		if (counting)
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
	struct tblock *t = &self;

	if (__builtin_expect(t->state != T_COUNTING || !is_free, 0)) {
		if (counting)
			count_slow(-1, 0, NULL, 1, bytes, is_free);
		return;
	}
	ADD(t->c.taken, bytes);
	ADD(t->c.frees, 1);
}

/*
 * malloc's and free's rare cases, out of line and entered by a jump, so the
 * common paths keep no register across glibc's call: a thread that does not
 * count here (first call, exited, counting off) and malloc's failure.
 */
static void *__attribute__((noinline)) malloc_uncounted(size_t n)
{
	void *p;

	if (!counting)
		return __libc_malloc(n);
	p = __libc_malloc(n);
	count_slow(FN_MALLOC, n, p, p != NULL, (size_t)-1, 0);
	return p;
}

static void *__attribute__((noinline)) malloc_failed(void)
{
	ADD(self.c.no_block, 1);
	ADD(self.c.failed, 1);
	return NULL;
}

static void __attribute__((noinline)) free_uncounted(void *p)
{
	if (p && counting)
		count_slow(-1, 0, NULL, 1, block_bytes(p), 1);
	__libc_free(p);
}

#define EXPORT __attribute__((visibility("default")))

EXPORT void *malloc(size_t n)
{
	struct tblock *t = &self;
	void *p;

	if (__builtin_expect(t->state != T_COUNTING, 0))
		return malloc_uncounted(n);
	ADD(t->c.hist[bucket(n)], 1);
	ADD(t->c.requested[FN_MALLOC], n);
	p = __libc_malloc(n);
	if (__builtin_expect(!p, 0))
		return malloc_failed();
	ADD(self.c.given, block_bytes(p));
	return p;
}

EXPORT void free(void *p)
{
	struct tblock *t = &self;

	if (__builtin_expect(t->state != T_COUNTING || !p, 0)) {
		free_uncounted(p);
		return;
	}
	ADD(t->c.taken, block_bytes(p));
	ADD(t->c.frees, 1);
	__libc_free(p);
}

EXPORT void *calloc(size_t n, size_t size)
{
	void *p = __libc_calloc(n, size);
	size_t total;

	count_alloc(FN_CALLOC, __builtin_mul_overflow(n, size, &total) ? SIZE_MAX : total, p);
	return p;
}

/* realloc(p, 0) frees p (glibc returns NULL); a failure leaves p as it was. */
static void *do_realloc(int fn, void *p, size_t n)
{
	size_t old = p ? block_bytes(p) : 0;
	void *q = __libc_realloc(p, n);

	if (p && n == 0 && !q) {
		count_call(fn, n, NULL, 1);
		count_free(old, 0);
		return q;
	}
	count_alloc(fn, n, q);
	if (p && q)
		count_free(old, 0);
	return q;
}

EXPORT void *realloc(void *p, size_t n)
{
	return do_realloc(FN_REALLOC, p, n);
}

EXPORT void *reallocarray(void *p, size_t n, size_t size)
{
	size_t total;

	if (__builtin_mul_overflow(n, size, &total)) {
		count_alloc(FN_REALLOCARRAY, SIZE_MAX, NULL);
		errno = ENOMEM;
		return NULL;
	}
	return do_realloc(FN_REALLOCARRAY, p, total);
}

EXPORT int posix_memalign(void **out, size_t align, size_t n)
{
	void *p;

	/* A bad alignment is no allocation: not counted. */
	if (align % sizeof(void *) || (align & (align - 1)) || !align)
		return EINVAL;
	p = __libc_memalign(align, n);
	count_alloc(FN_POSIX_MEMALIGN, n, p);
	if (!p)
		return ENOMEM;
	*out = p;
	return 0;
}

EXPORT void *memalign(size_t align, size_t n)
{
	void *p = __libc_memalign(align, n);

	count_alloc(FN_MEMALIGN, n, p);
	return p;
}

/* glibc's aligned_alloc is memalign (one function, counted as memalign). */
EXPORT void *aligned_alloc(size_t align, size_t n)
{
	return memalign(align, n);
}

EXPORT void *valloc(size_t n)
{
	void *p = __libc_valloc(n);

	count_alloc(FN_VALLOC, n, p);
	return p;
}

EXPORT void *pvalloc(size_t n)
{
	void *p = __libc_pvalloc(n);

	count_alloc(FN_PVALLOC, n, p);
	return p;
}

void hook_count__sum(struct memtide_hook_counts *out)
{
	struct tcounts sum;
	struct tblock *t;
	__u64 calls = 0, others = 0;

	memset(out, 0, sizeof(*out));
	out->counting = (__u64)counting;
	if (!counting)
		return;
	pthread_mutex_lock(&lock);
	sum = exited;
	for (t = threads; t; t = t->next)
		add_counts(&sum, &t->c);
	pthread_mutex_unlock(&lock);
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
	out->live_bytes =
		(__s64)(sum.given - sum.taken) - out->live_objects * (__s64)sizeof(size_t);
}

/* The child is one thread: the others' blocks stay in its memory, as their
 * counts stay in its figures; the lock may have been held by one of them. */
static void after_fork_child(void)
{
	pthread_mutex_init(&lock, NULL);
}

/* Exported for tests: the figures a report would carry, now. */
EXPORT void memtide_hook_counts_now(struct memtide_hook_counts *out)
{
	hook_count__sum(out);
}

void hook_count__init(void)
{
	const char *v = getenv(MEMTIDE_HOOK_COUNT_ENV);

	if (v && !strcmp(v, "0")) {
		counting = 0;
		if (self.state == T_COUNTING)
			self.state = T_OFF;
		return;
	}
	if (!pthread_key_create(&key, thread_exit))
		have_key = 1;
	/* The loading thread registered before the key existed. */
	if (self.state == T_COUNTING && have_key)
		pthread_setspecific(key, &self);
	pthread_atfork(NULL, NULL, after_fork_child);
}
