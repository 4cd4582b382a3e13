// SPDX-License-Identifier: Apache-2.0
/* The immutable, reference-counted snapshot, its publication, and its heap view. */
#include <errno.h>
#include <pthread.h>
#include <math.h>
#include <stdlib.h>
#include "gzip.h"
#include "snapshot.h"

static pthread_mutex_t current_lock = PTHREAD_MUTEX_INITIALIZER;
static struct snapshot *current;

struct snapshot *snapshot__new(size_t capacity, size_t heaps)
{
	struct snapshot *s = calloc(1, sizeof(*s));

	if (!s)
		return NULL;
	s->samples = calloc(capacity ? capacity : 1, sizeof(*s->samples));
	s->heaps = calloc(heaps ? heaps : 1, sizeof(*s->heaps));
	if (!s->samples || !s->heaps) {
		free(s->samples);
		free(s->heaps);
		free(s);
		return NULL;
	}
	s->heaps_cap = heaps;
	s->refs = 1;
	pthread_mutex_init(&s->gzip_lock, NULL);
	return s;
}

union heap_figures *snapshot__heap_figures(struct snapshot *s)
{
	return s->n_heaps < s->heaps_cap ? &s->heaps[s->n_heaps++] : NULL;
}

struct snapshot *snapshot__get(struct snapshot *s)
{
	if (s)
		__atomic_add_fetch(&s->refs, 1, __ATOMIC_RELAXED);
	return s;
}

void snapshot__put(struct snapshot *s)
{
	if (!s || __atomic_sub_fetch(&s->refs, 1, __ATOMIC_ACQ_REL))
		return;
	free(s->samples);
	free(s->heaps);
	free(s->sites);
	free(s->metrics);
	free(s->metrics_gzip);
	pthread_mutex_destroy(&s->gzip_lock);
	free(s);
}

int snapshot__metrics_gzip(struct snapshot *s, const char **data, size_t *len)
{
	int ret = 0;

	if (!s->metrics)
		return -ENODATA;
	pthread_mutex_lock(&s->gzip_lock);
	if (!s->metrics_gzip)
		ret = gzip__compress(s->metrics, s->metrics_len, &s->metrics_gzip,
				     &s->metrics_gzip_len);
	*data = s->metrics_gzip;
	*len = s->metrics_gzip_len;
	pthread_mutex_unlock(&s->gzip_lock);
	return ret;
}

/* Takes over the caller's reference. */
void snapshot__publish(struct snapshot *s)
{
	struct snapshot *old;

	pthread_mutex_lock(&current_lock);
	old = current;
	current = s;
	pthread_mutex_unlock(&current_lock);
	snapshot__put(old);
}

struct snapshot *snapshot__current(void)
{
	struct snapshot *s;

	pthread_mutex_lock(&current_lock);
	s = snapshot__get(current);
	pthread_mutex_unlock(&current_lock);
	return s;
}

static double positive(int64_t v)
{
	return v > 0 ? (double)v : 0;
}

/* Hook tier: mallinfo2() from the latest report (after the trim, for a trim). */
static void hook_view(const struct sample *s, struct heap_view *out)
{
	const struct memtide_hook_report *r = &s->hook->last;
	const struct memtide_hook_mallinfo *mi =
		r->kind == MEMTIDE_HOOK_TRIM ? &r->after : &r->before;
	double inuse = (double)(mi->uordblks + mi->hblkhd), sys = (double)(mi->arena + mi->hblkhd);

	const struct memtide_hook_counts *c = sample__hook_counts(s);
	double total = 0;

	out->alloc_bytes = inuse; /* malloc keeps no requested sizes: chunks stand in */
	out->total_alloc_bytes = NAN;
	out->heap_alloc_bytes = inuse;
	out->heap_inuse_bytes = inuse;
	out->heap_sys_bytes = sys > inuse ? sys : inuse;
	out->heap_idle_bytes = out->heap_sys_bytes - inuse;
	out->heap_objects = NAN;
	if (c) {
		/* The hook counts every block from process start, in usable bytes
		 * (what the program may use of them); mallinfo2() still gives
		 * heap_inuse, heap_sys and heap_idle, which the trim gate uses. */
		for (size_t f = 0; f < MEMTIDE_HOOK_FNS; f++)
			total += (double)c->requested[f];
		out->alloc_bytes = positive(c->live_bytes);
		out->heap_alloc_bytes = out->alloc_bytes;
		out->total_alloc_bytes = total;
		out->heap_objects = positive(c->live_objects);
	}
	out->gc_count = (double)s->hook->trims;
	out->gc_cpu_fraction = s->gc_cpu_fraction;
}

/*
 * Live figures only cover blocks allocated while probed, so they are clamped
 * at zero. heap_sys is approximate in the uprobe tier: malloc's memory lives in
 * anonymous pages, so resident anonymous memory stands in for it.
 */
void sample__heap_view(const struct sample *s, struct heap_view *out)
{
	double inuse, anon = (double)s->anon_bytes;

	if (s->has_hook) {
		hook_view(s, out);
		return;
	}
	inuse = positive(s->heap->live_chunk_bytes);
	out->alloc_bytes = positive(s->heap->live_bytes);
	out->total_alloc_bytes = (double)s->heap->total_alloc_bytes;
	out->heap_alloc_bytes = inuse;
	out->heap_inuse_bytes = inuse;
	out->heap_sys_bytes = anon > inuse ? anon : inuse;
	out->heap_idle_bytes = out->heap_sys_bytes - inuse;
	out->heap_objects = positive(s->heap->live_objects);
	out->gc_count = (double)s->heap->trims;
	out->gc_cpu_fraction = s->gc_cpu_fraction;
}
