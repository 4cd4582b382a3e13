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
 * off per live block. Sampling (hook_sample.c) adds no instruction to either:
 * its countdown is malloc's requested-bytes sum against the next sampling
 * point (a compare that replaced the thread-state test), and free's one test
 * of the size word sends mmapped and sampled blocks out of line (it replaced
 * the mmapped arithmetic).
 */
#include <errno.h>
#include <pthread.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "hook_count.h"
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

/*
 * sample_at: the sampling countdown (hook_sample.c) shares malloc's add to
 * its requested bytes: the next sampling point is where that sum reaches
 * sample_at (the other functions move it nearer by their bytes). 0 in a
 * thread that does not count, so its calls take the slow path, and with it
 * the only test malloc makes on the way in.
 */
struct tblock {
	struct tcounts c; /* first: the histogram's slot is its log2, no offset */
	__u64 sample_at;
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

static __thread struct tblock self __attribute__((tls_model("initial-exec")));
static int counting = 1;
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static struct tblock *threads;
static struct tcounts exited; /* under lock */
static pthread_key_t key;
static int have_key;

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

static void add_counts(struct tcounts *to, const struct tcounts *from)
{
	const __u64 *f = (const __u64 *)from;
	__u64 *t = (__u64 *)to;

	for (size_t i = 0; i < sizeof(*to) / sizeof(__u64); i++)
		t[i] += __atomic_load_n(&f[i], __ATOMIC_RELAXED);
}

/* The next sampling point, left bytes after malloc's requested bytes and
 * `ahead` more malloc is about to count (no point: never). */
static void set_left(struct tblock *t, __u64 ahead, __u64 left)
{
	__u64 base = t->c.requested[FN_MALLOC] + ahead;

	t->sample_at = left > UINT64_MAX - base ? UINT64_MAX : base + left;
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
	set_left(t, 0, hook_sample__seed(&t->rng));
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
 * The sampling countdown's slow side: n reached it, or the thread does not
 * count here (sample_at 0), or this is its first call, which registers it.
 * The sampling points n crossed, 0 mostly. ahead: n if malloc is to add it
 * to its requested bytes, else 0.
 */
static __u64 __attribute__((noinline)) take_slow(struct tblock *t, size_t n, size_t ahead)
{
	__u64 left, points = 0;

	if (t->state == T_NEW && counting)
		register_thread(t);
	if (t->state != T_COUNTING)
		return 0;
	left = t->sample_at - t->c.requested[FN_MALLOC];
	if (n < left)
		left -= n;
	else
		points = hook_sample__cross(&left, &t->rng, n);
	set_left(t, ahead, left);
	return points;
}

/* Points crossed by n more bytes (not malloc's): only those make a tagged
 * block, and only with a profiler attached. */
static inline __u64 take_sampled(size_t n)
{
	struct tblock *t = &self;
	__u64 points;

	if (__builtin_expect(t->state == T_COUNTING &&
				     n < t->sample_at - t->c.requested[FN_MALLOC], 1)) {
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

/*
 * malloc's and free's rare cases, out of line and entered by a jump, so the
 * common paths keep no register across glibc's call: a thread that does not
 * count here (first call, exited, counting off), a sampling point reached,
 * malloc's failure; free of an mmapped or a sampled block.
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

static void *__attribute__((noinline)) malloc_slow(size_t n)
{
	struct tblock *t = &self;
	__u64 points = take_slow(t, n, n);
	void *p;

	if (t->state != T_COUNTING)
		return malloc_uncounted(n);
	if (points && hook_sample__armed())
		p = hook_sample__alloc(HOOK_RAW_MALLOC, 0, n, points);
	else
		p = __libc_malloc(n);
	count_alloc(FN_MALLOC, n, p);
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
	if (!p)
		return;
	if (counting)
		count_slow(-1, 0, NULL, 1, block_bytes(p), 1);
	release(p);
}

static void __attribute__((noinline)) free_rare(void *p)
{
	ADD(self.c.taken, block_bytes(p));
	ADD(self.c.frees, 1);
	release(p);
}

#define EXPORT __attribute__((visibility("default")))
/*
 * The library keeps frame pointers (a profiler walks them from the probes),
 * but malloc's and free's fast paths go without: they only ever leave
 * through a jump (to the out-of-line paths, to glibc's free) or return, so
 * they are never on a stack a probe sees, and the frame costs malloc+free
 * about 0.3 ns, a twentieth of it.
 */
#define NO_FRAME __attribute__((optimize("omit-frame-pointer")))

/*
 * The countdown is the only test on the way in (a thread that does not count
 * keeps sample_at at 0): the requested bytes' sum, which malloc counts
 * anyway, against the next sampling point. Nothing is counted before it.
 */
EXPORT NO_FRAME void *malloc(size_t n)
{
	struct tblock *t = &self;
	__u64 requested = t->c.requested[FN_MALLOC] + n;
	void *p;

	if (__builtin_expect(requested >= t->sample_at, 0))
		return malloc_slow(n);
	__atomic_store_n(&t->c.requested[FN_MALLOC], requested, __ATOMIC_RELAXED);
	ADD(t->c.hist[bucket(n)], 1);
	p = __libc_malloc(n);
	if (__builtin_expect(!p, 0))
		return malloc_failed();
	ADD(self.c.given, hook_chunk_bytes(p));
	return p;
}

/* One test of the size word sends mmapped and sampled blocks out of line. */
EXPORT NO_FRAME void free(void *p)
{
	struct tblock *t = &self;
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

EXPORT void *calloc(size_t n, size_t size)
{
	size_t total;
	__u64 points;
	void *p;

	if (__builtin_mul_overflow(n, size, &total))
		total = SIZE_MAX;
	points = take_sampled(total);
	if (points)
		p = hook_sample__alloc(HOOK_RAW_CALLOC, 0, total, points);
	else
		p = __libc_calloc(n, size);
	count_alloc(FN_CALLOC, total, p);
	return p;
}

/*
 * realloc(p, 0) frees p (glibc returns NULL); a failure leaves p as it was.
 * A sampled block, or one that is to be, moves: glibc would not keep the
 * prefix. The old block's free probe fires once the new block is there.
 */
static void *do_realloc(int fn, void *p, size_t n)
{
	size_t old = p ? block_bytes(p) : 0;
	__u64 points = take_sampled(n);
	void *q;

	if (!points && !(p && (((size_t *)p)[-1] & HOOK_TAG_BIT))) {
		q = __libc_realloc(p, n);
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
	if (p && n == 0) { /* a sampled block, as glibc does */
		count_call(fn, n, NULL, 1);
		count_free(old, 0);
		release(p);
		return NULL;
	}
	q = points ? hook_sample__alloc(HOOK_RAW_MALLOC, 0, n, points) : __libc_malloc(n);
	count_alloc(fn, n, q);
	if (!q || !p)
		return q;
	memcpy(q, p, old - sizeof(size_t) < n ? old - sizeof(size_t) : n);
	count_free(old, 0);
	release(p);
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

/* The aligned family: a sampled block's prefix is its alignment (16 at least). */
static void *aligned(int fn, size_t align, size_t n, void *(*unsampled)(size_t, size_t))
{
	__u64 points = take_sampled(n);
	void *p;

	if (points)
		p = hook_sample__alloc(HOOK_RAW_ALIGNED, align, n, points);
	else
		p = unsampled(align, n);
	count_alloc(fn, n, p);
	return p;
}

static void *libc_valloc(size_t align, size_t n)
{
	(void)align;
	return __libc_valloc(n);
}

static void *libc_pvalloc(size_t align, size_t n)
{
	(void)align;
	return __libc_pvalloc(n);
}

EXPORT int posix_memalign(void **out, size_t align, size_t n)
{
	void *p;

	/* A bad alignment is no allocation: not counted. */
	if (align % sizeof(void *) || (align & (align - 1)) || !align)
		return EINVAL;
	p = aligned(FN_POSIX_MEMALIGN, align, n, __libc_memalign);
	if (!p)
		return ENOMEM;
	*out = p;
	return 0;
}

EXPORT void *memalign(size_t align, size_t n)
{
	return aligned(FN_MEMALIGN, align, n, __libc_memalign);
}

/* glibc's aligned_alloc is memalign (one function, counted as memalign). */
EXPORT void *aligned_alloc(size_t align, size_t n)
{
	return memalign(align, n);
}

EXPORT void *valloc(size_t n)
{
	return aligned(FN_VALLOC, (size_t)getpagesize(), n, libc_valloc);
}

/* A sampled pvalloc's block is at least the rounded size, as glibc's. */
EXPORT void *pvalloc(size_t n)
{
	size_t page = (size_t)getpagesize();
	__u64 points = take_sampled(n);
	void *p;

	if (points && n <= SIZE_MAX - page)
		p = hook_sample__alloc(HOOK_RAW_ALIGNED, page, (n + page - 1) & ~(page - 1),
				       points);
	else
		p = libc_pvalloc(page, n);
	count_alloc(FN_PVALLOC, n, p);
	return p;
}

/* A sampled block's usable bytes are those after its prefix. */
EXPORT size_t malloc_usable_size(void *p)
{
	return p ? block_bytes(p) - sizeof(size_t) : 0;
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
	/* A sampled block stays tagged: its prefix is in the child's copy. */
	if (self.state == T_COUNTING)
		set_left(&self, 0, hook_sample__seed(&self.rng));
}

/* Exported for tests: the figures a report would carry, now. */
EXPORT void memtide_hook_counts_now(struct memtide_hook_counts *out)
{
	hook_count__sum(out);
}

void hook_count__init(void)
{
	const char *v = getenv(MEMTIDE_HOOK_COUNT_ENV);

	hook_sample__init();
	if (v && !strcmp(v, "0")) {
		/* Sampling goes with counting: the countdown is in its block. */
		counting = 0;
		if (self.state == T_COUNTING)
			self.state = T_OFF;
		self.sample_at = 0;
		return;
	}
	/* The loading thread drew its countdown with the default mean. */
	if (self.state == T_COUNTING)
		set_left(&self, 0, hook_sample__seed(&self.rng));
	if (!pthread_key_create(&key, thread_exit))
		have_key = 1;
	/* The loading thread registered before the key existed. */
	if (self.state == T_COUNTING && have_key)
		pthread_setspecific(key, &self);
	pthread_atfork(NULL, NULL, after_fork_child);
}
