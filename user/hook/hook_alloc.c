// SPDX-License-Identifier: Apache-2.0
/*
 * The hook's allocating functions other than malloc and free (hook_count.c
 * has those and the threads' blocks): counted as malloc is, sampled through
 * the same countdown, a sampled block with a prefix (hook_sample.c).
 */
#include <errno.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>
#include "hook_thread.h"

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

EXPORT size_t malloc_usable_size(void *p)
{
	if (!p)
		return 0;
	if (((size_t *)p)[-1] & HOOK_TAG_BIT)
		return hook_sample__usable(p);
	return hook_chunk_usable(p);
}
