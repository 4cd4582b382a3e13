// SPDX-License-Identifier: Apache-2.0
/* The heap tiers' families: uprobe-tier counters, hook-tier trims, both tiers' heap figures. */
#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include "exposition.h"
#include "exposition_int.h"

static const char *const heap_fn_names[HEAP_ALLOC_FNS] = {
	"malloc",	  "calloc",   "realloc", "reallocarray",
	"posix_memalign", "memalign", "valloc",	 "pvalloc",
};

/* Getters over the shared heap view, so every output derives figures alike. */
#define HEAP_GETTER(field)                                                                         \
	static double heap_##field(const struct sample *s)                                         \
	{                                                                                          \
		struct heap_view v;                                                                \
                                                                                                   \
		sample__heap_view(s, &v);                                                          \
		return v.field;                                                                    \
	}
HEAP_GETTER(alloc_bytes)
HEAP_GETTER(total_alloc_bytes)
HEAP_GETTER(heap_alloc_bytes)
HEAP_GETTER(heap_inuse_bytes)
HEAP_GETTER(heap_objects)
HEAP_GETTER(heap_sys_bytes)
HEAP_GETTER(heap_idle_bytes)
HEAP_GETTER(gc_count)
HEAP_GETTER(gc_cpu_fraction)

static double heap_frees(const struct sample *s)
{
	const struct memtide_hook_counts *c = sample__hook_counts(s);

	return (double)(c ? c->frees : s->heap->frees);
}

static double heap_frees_unknown(const struct sample *s)
{
	return (double)s->heap->frees_unknown;
}

static double heap_dropped(const struct sample *s)
{
	return (double)s->heap->dropped;
}

static bool has_heap(const struct sample *s)
{
	return s->has_uprobe || s->has_hook;
}

/* Only the processes whose heap tier gives the figure. */
static void per_process_if(struct buf *b, const struct snapshot *snap, const char *name,
			   const char *type, const char *help, sample_get get)
{
	expo_per_process_where(b, snap, name, type, help, get, has_heap);
}

static bool has_uprobe(const struct sample *s)
{
	return s->has_uprobe;
}

static bool has_hook(const struct sample *s)
{
	return s->has_hook;
}

/* The tiers that count calls: the uprobe tier, the hook tier when counting. */
static bool counts_calls(const struct sample *s)
{
	return s->has_uprobe || sample__hook_counts(s);
}

static double hook_released(const struct sample *s)
{
	return (double)s->hook->released_bytes;
}

static double hook_last_released(const struct sample *s)
{
	return (double)memtide_hook_released(&s->hook->last_trim);
}

static double hook_last_duration(const struct sample *s)
{
	return (double)s->hook->last_trim.trim_ns / 1e9;
}

/* Live heap as a percentage of max_heap_mb (of the memory limit when that is 0). */
static double heap_usage(const struct sample *s)
{
	struct heap_view v;
	double limit = s->heap_limit_bytes ? (double)s->heap_limit_bytes : (double)s->limit_bytes;

	sample__heap_view(s, &v);
	return limit > 0 ? 100.0 * v.heap_inuse_bytes / limit : NAN;
}

/* Log2 buckets [2^i, 2^(i+1)) become le="2^(i+1)", from 2^@first to 2^@last. */
static void log2_histogram(struct buf *b, const char *name, const struct label *l, size_t n,
			   const __u64 *hist, size_t buckets, size_t first, size_t last, double sum)
{
	double bounds[64];
	uint64_t counts[65] = { 0 };
	size_t nb = 0;

	for (size_t k = first; k <= last && nb < 64; k++)
		bounds[nb++] = (double)(1ULL << k);
	for (size_t i = 0; i < buckets; i++) {
		size_t k = i + 1 < first ? 0 : i + 1 - first; /* bucket i lies below 2^(i+1) */

		counts[k < nb ? k : nb] += hist[i];
	}
	expo__histogram(b, name, l, n, bounds, counts, nb, sum);
}

/* A counter family with one sample per allocating function; @offset locates
 * its __u64[HEAP_ALLOC_FNS] array in struct heap_stats (uprobe tier),
 * @hook_offset in struct memtide_hook_counts (hook tier). */
static void per_function(struct buf *b, const struct snapshot *snap, const char *name,
			 const char *help, size_t offset, size_t hook_offset)
{
	struct label l[MAX_LABELS];
	char pid[16];

	expo__family(b, name, "counter", help);
	for (size_t i = 0; i < snap->n; i++) {
		const struct sample *s = &snap->samples[i];
		const struct memtide_hook_counts *c = sample__hook_counts(s);
		const __u64 *values;

		if (!counts_calls(s))
			continue;
		values = c ? (const __u64 *)((const char *)c + hook_offset)
			   : (const __u64 *)((const char *)s->heap + offset);
		for (size_t f = 0; f < HEAP_ALLOC_FNS; f++) {
			size_t n = expo_process_labels(s, pid, l, "function", heap_fn_names[f]);

			expo__sample_u64(b, name, l, n, values[f]);
		}
	}
}

/* One series per site of each profiled process: the top N by live bytes. */
static void per_site(struct buf *b, const struct snapshot *snap, const char *name, const char *type,
		     const char *help, size_t offset)
{
	struct label l[MAX_LABELS];
	char pid[16];

	expo__family(b, name, type, help);
	for (size_t i = 0; i < snap->n; i++) {
		const struct sample *s = &snap->samples[i];

		for (size_t k = 0; k < s->n_sites; k++) {
			const struct site_figures *f = &s->sites[k];
			size_t n = expo_process_labels(s, pid, l, "site", f->name);

			expo__sample_u64(b, name, l, n,
					 *(const uint64_t *)((const char *)f + offset));
		}
	}
}

static bool profiled(const struct sample *s)
{
	return s->profiled;
}

static double sites_dropped(const struct sample *s)
{
	return (double)s->sites_dropped;
}

static void render_sites(const struct snapshot *snap, struct buf *b)
{
	per_site(
		b, snap, "memory_heap_site_inuse_bytes", "gauge",
		"Live bytes allocated at this site, estimated from sampled allocations (each process's top sites by this figure, profiling.top_sites).",
		offsetof(struct site_figures, inuse_bytes));
	per_site(
		b, snap, "memory_heap_site_alloc_bytes_total", "counter",
		"Bytes allocated at this site since sampling began, estimated from sampled allocations (the same sites).",
		offsetof(struct site_figures, alloc_bytes));
	expo_per_process_where(
		b, snap, "memory_heap_site_samples_dropped_total", "counter",
		"Sampled allocations not kept live because a per-process or global cap was full.",
		sites_dropped, profiled);
}

void expo_render_heap(const struct snapshot *snap, struct buf *b)
{
	struct label l[MAX_LABELS];
	char pid[16];

	per_process_if(
		b, snap, "memory_alloc_bytes", "gauge",
		"Live bytes requested from malloc and not freed, of the blocks allocated while probed.",
		heap_alloc_bytes);
	per_process_if(b, snap, "memory_total_alloc_bytes", "counter",
		       "Bytes requested since probing began (each size, each realloc's new size).",
		       heap_total_alloc_bytes);
	per_process_if(b, snap, "memory_heap_alloc_bytes", "gauge",
		       "Live blocks as malloc holds them (chunk sizes, with overhead).",
		       heap_heap_alloc_bytes);
	per_process_if(
		b, snap, "memory_heap_inuse_bytes", "gauge",
		"Bytes in in-use chunks (the uprobe tier sees the same chunks as heap_alloc).",
		heap_heap_inuse_bytes);
	per_process_if(b, snap, "memory_heap_objects", "gauge",
		       "Live allocations, of those made while probed.", heap_heap_objects);
	per_process_if(
		b, snap, "memory_heap_sys_bytes", "gauge",
		"Bytes malloc holds from the OS; in the uprobe tier, approximated by resident anonymous memory.",
		heap_heap_sys_bytes);
	per_process_if(b, snap, "memory_heap_idle_bytes", "gauge",
		       "heap_sys minus heap_inuse: free but retained, what a trim can return.",
		       heap_heap_idle_bytes);
	per_process_if(b, snap, "memory_gc_count_total", "counter", "malloc_trim calls.",
		       heap_gc_count);
	per_process_if(b, snap, "memory_gc_cpu_fraction", "gauge",
		       "Time in malloc_trim over the process's CPU time since probing began.",
		       heap_gc_cpu_fraction);
	expo_per_process_where(b, snap, "memory_heap_free_calls_total", "counter",
			       "free() calls (not free(NULL)).", heap_frees, counts_calls);
	expo_per_process_where(b, snap, "memory_heap_untracked_frees_total", "counter",
			       "free() of blocks allocated before probing began (or not recorded).",
			       heap_frees_unknown, has_uprobe);
	expo_per_process_where(b, snap, "memory_heap_unrecorded_blocks_total", "counter",
			       "Allocations not recorded because the process's block map was full.",
			       heap_dropped, has_uprobe);

	render_sites(snap, b);
	per_process_if(
		b, snap, "memory_heap_usage_percent", "gauge",
		"Live heap (heap_inuse) as a percentage of max_heap_mb (of the memory limit when that is 0).",
		heap_usage);
	expo_per_process_where(
		b, snap, "memory_gc_released_bytes_total", "counter",
		"Resident memory given back by malloc_trim calls memtide asked for (hook tier).",
		hook_released, has_hook);
	expo_per_process_where(b, snap, "memory_gc_last_released_bytes", "gauge",
			       "Resident memory the latest trim gave back (hook tier).",
			       hook_last_released, has_hook);
	expo_per_process_where(b, snap, "memory_gc_last_duration_seconds", "gauge",
			       "How long the latest trim took (hook tier).", hook_last_duration,
			       has_hook);

	per_function(b, snap, "memory_heap_alloc_calls_total",
		     "Allocating calls by function (memalign includes aligned_alloc).",
		     offsetof(struct heap_stats, calls),
		     offsetof(struct memtide_hook_counts, calls));
	per_function(b, snap, "memory_heap_requested_bytes_total",
		     "Bytes requested by function (realloc: each new size).",
		     offsetof(struct heap_stats, bytes),
		     offsetof(struct memtide_hook_counts, requested));
	expo__family(b, "memory_gc_pause_ns", "histogram",
		     "Duration of each malloc_trim call, in ns.");
	for (size_t i = 0; i < snap->n; i++) {
		const struct sample *s = &snap->samples[i];
		size_t n = expo_process_labels(s, pid, l, NULL, NULL);

		if (s->has_uprobe)
			log2_histogram(b, "memory_gc_pause_ns", l, n, s->heap->trim_hist,
				       HEAP_TRIM_BUCKETS, 10, 34, (double)s->heap->trim_ns);
		else if (s->has_hook)
			log2_histogram(b, "memory_gc_pause_ns", l, n, s->hook->trim_hist,
				       HEAP_TRIM_BUCKETS, 10, 34, (double)s->hook->trim_ns);
	}
	expo__family(b, "memory_heap_alloc_size_bytes", "histogram",
		     "Requested sizes of allocations, in bytes (log2 buckets).");
	for (size_t i = 0; i < snap->n; i++) {
		const struct sample *s = &snap->samples[i];
		size_t n = expo_process_labels(s, pid, l, NULL, NULL);

		const struct memtide_hook_counts *c = sample__hook_counts(s);

		if (s->has_uprobe)
			log2_histogram(b, "memory_heap_alloc_size_bytes", l, n, s->heap->size_hist,
				       HEAP_SIZE_BUCKETS, 3, 30,
				       (double)s->heap->total_alloc_bytes);
		else if (c)
			log2_histogram(b, "memory_heap_alloc_size_bytes", l, n, c->size_hist,
				       HEAP_SIZE_BUCKETS, 3, 30, heap_total_alloc_bytes(s));
	}
}
