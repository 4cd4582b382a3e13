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
enum { FN_MALLOC, FN_CALLOC, FN_REALLOC, FN_REALLOCARRAY, FN_POSIX_MEMALIGN, FN_MEMALIGN,
       FN_VALLOC, FN_PVALLOC };

struct tblock {
	struct memtide_hook_counts c;
	struct tblock *next, **prev;
	int state; /* 0: unregistered, 1: registered, 2: exited (count into the totals) */
};

static __thread struct tblock self __attribute__((tls_model("initial-exec")));
static int counting = 1;
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static struct tblock *threads;
static struct memtide_hook_counts exited; /* under lock */
static pthread_key_t key;
static int have_key;

#define ADD(field, v) __atomic_store_n(&(field), (field) + (v), __ATOMIC_RELAXED)

/* glibc's chunk header: the size word before the block; bit 1 IS_MMAPPED. */
static inline size_t usable(const void *p)
{
	size_t word = ((const size_t *)p)[-1];
	size_t chunk = word & ~(size_t)7;

	return chunk - (word & 2 ? 2 * sizeof(size_t) : sizeof(size_t));
}

static inline unsigned int bucket(size_t n)
{
	unsigned int b = n > 1 ? 63 - (unsigned int)__builtin_clzl(n) : 0;

	return b < MEMTIDE_HOOK_SIZE_BUCKETS ? b : MEMTIDE_HOOK_SIZE_BUCKETS - 1;
}

static void add_counts(struct memtide_hook_counts *to, const struct memtide_hook_counts *from)
{
	const __u64 *f = (const __u64 *)from;
	__u64 *t = (__u64 *)to;
	size_t i;

	for (i = 1; i < sizeof(*to) / sizeof(__u64); i++)
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
	t->state = 2;
	pthread_mutex_unlock(&lock);
}

static void __attribute__((noinline)) register_thread(struct tblock *t)
{
	pthread_mutex_lock(&lock);
	t->next = threads;
	t->prev = &threads;
	if (threads)
		threads->prev = &t->next;
	threads = t;
	t->state = 1;
	pthread_mutex_unlock(&lock);
	/* A key's value needs no allocation (static slots in the thread). */
	if (have_key)
		pthread_setspecific(key, t);
}

/* Counts of an exited thread (glibc frees a few blocks after the key's
 * destructors) go straight to the totals: rare, so the lock is fine. */
static struct memtide_hook_counts *counts(void)
{
	struct tblock *t = &self;

	if (__builtin_expect(t->state == 1, 1))
		return &t->c;
	if (t->state == 0) {
		register_thread(t);
		return &t->c;
	}
	return NULL;
}

/* ok: the call did what was asked (realloc(p, 0) returns NULL and succeeds). */
static void count_call(int fn, size_t n, void *p, int ok)
{
	struct memtide_hook_counts *c = counts();

	if (!c) {
		pthread_mutex_lock(&lock);
		c = &exited;
	}
	ADD(c->calls[fn], 1);
	ADD(c->requested[fn], n);
	ADD(c->size_hist[bucket(n)], 1);
	if (p) {
		ADD(c->alloc_bytes, usable(p));
		ADD(c->alloc_objects, 1);
	} else if (!ok) {
		ADD(c->failed, 1);
	}
	if (c == &exited)
		pthread_mutex_unlock(&lock);
}

static inline void count_alloc(int fn, size_t n, void *p)
{
	count_call(fn, n, p, p != NULL);
}

static void count_free(size_t bytes, int is_free)
{
	struct memtide_hook_counts *c = counts();

	if (!c) {
		pthread_mutex_lock(&lock);
		c = &exited;
	}
	ADD(c->freed_bytes, bytes);
	ADD(c->freed_objects, 1);
	if (is_free)
		ADD(c->frees, 1);
	if (c == &exited)
		pthread_mutex_unlock(&lock);
}

#define EXPORT __attribute__((visibility("default")))

EXPORT void *malloc(size_t n)
{
	void *p = __libc_malloc(n);

	if (counting)
		count_alloc(FN_MALLOC, n, p);
	return p;
}

EXPORT void free(void *p)
{
	if (counting && p)
		count_free(usable(p), 1);
	__libc_free(p);
}

EXPORT void *calloc(size_t n, size_t size)
{
	void *p = __libc_calloc(n, size);
	size_t total;

	if (counting)
		count_alloc(FN_CALLOC, __builtin_mul_overflow(n, size, &total) ? SIZE_MAX : total,
			    p);
	return p;
}

/* realloc(p, 0) frees p (glibc returns NULL); a failure leaves p as it was. */
static void *do_realloc(int fn, void *p, size_t n)
{
	size_t old = p && counting ? usable(p) : 0;
	void *q = __libc_realloc(p, n);

	if (!counting)
		return q;
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
		if (counting)
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
	if (counting)
		count_alloc(FN_POSIX_MEMALIGN, n, p);
	if (!p)
		return ENOMEM;
	*out = p;
	return 0;
}

EXPORT void *memalign(size_t align, size_t n)
{
	void *p = __libc_memalign(align, n);

	if (counting)
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

	if (counting)
		count_alloc(FN_VALLOC, n, p);
	return p;
}

EXPORT void *pvalloc(size_t n)
{
	void *p = __libc_pvalloc(n);

	if (counting)
		count_alloc(FN_PVALLOC, n, p);
	return p;
}

void hook_count__sum(struct memtide_hook_counts *out)
{
	struct tblock *t;

	memset(out, 0, sizeof(*out));
	out->counting = (__u64)counting;
	if (!counting)
		return;
	pthread_mutex_lock(&lock);
	*out = exited;
	out->counting = 1;
	for (t = threads; t; t = t->next)
		add_counts(out, &t->c);
	pthread_mutex_unlock(&lock);
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
		return;
	}
	if (!pthread_key_create(&key, thread_exit))
		have_key = 1;
	/* The loading thread registered before the key existed. */
	if (self.state == 1 && have_key)
		pthread_setspecific(key, &self);
	pthread_atfork(NULL, NULL, after_fork_child);
}
