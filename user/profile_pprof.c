// SPDX-License-Identifier: Apache-2.0
/*
 * A process's pprof heap profile (profile__pprof): every stack of its sampled
 * allocations, from its site outwards (the allocator's own frames are left
 * out, as Go's heap profiles leave out the runtime's, so that pprof's flat
 * figures land on the functions that asked for memory).
 *
 * Addresses are the ELF files' own (what addr2line takes), mappings moved by
 * their load bias: the layout of another user's process is the kernel's to
 * keep (ASLR), and anyone who can reach the API reads profiles.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "pprof.h"
#include "profile_int.h"
#include "site.h"

#define MAX_LOCATIONS 65536
#define LOC_TABLE (2 * MAX_LOCATIONS)
#define MAX_STACK 128
/* The sampler's default mean (the hook's MEMTIDE_HOOK_SAMPLE_BYTES): the
 * figures are already scaled, pprof only shows it. */
#define NOMINAL_PERIOD 524288

struct build {
	struct profile *p;
	int pid;
	struct pprof_mapping maps[PPROF_MAX_MAPPINGS];
	uint64_t map_starts[PPROF_MAX_MAPPINGS]; /* runtime: which mapping, not shown */
	size_t n_maps;
	struct pprof_location *locs;
	uint64_t *loc_ips;
	size_t n_locs;
	uint32_t *table; /* index + 1 into locs, by ip; 0: empty */
	struct pprof_sample *samples;
	size_t n_samples, cap_samples;
	char **strings; /* copies, freed with the build */
	size_t n_strings, cap_strings;
	int err;
};

static const char *keep(struct build *b, const char *s)
{
	char *copy;

	if (!*s)
		return NULL;
	if (b->n_strings == b->cap_strings) {
		size_t cap = b->cap_strings ? 2 * b->cap_strings : 256;
		char **grown = realloc(b->strings, cap * sizeof(*grown));

		if (!grown)
			goto oom;
		b->strings = grown;
		b->cap_strings = cap;
	}
	copy = strdup(s);
	if (!copy)
		goto oom;
	b->strings[b->n_strings++] = copy;
	return copy;
oom:
	b->err = -ENOMEM;
	return NULL;
}

static int hex_digit(char c)
{
	return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

static void build_id(struct build *b, struct pprof_mapping *m, const char *hex)
{
	size_t n = strlen(hex) / 2;
	uint8_t *raw;

	if (!n || n > PPROF_MAX_BUILD_ID || !(raw = (uint8_t *)keep(b, hex)))
		return;
	/* Decoded in place over the kept copy: half its length. */
	for (size_t i = 0; i < n; i++) {
		int hi = hex_digit(hex[2 * i]), lo = hex_digit(hex[2 * i + 1]);

		if (hi < 0 || lo < 0)
			return;
		raw[i] = (uint8_t)(hi << 4 | lo);
	}
	m->build_id = raw;
	m->build_id_len = n;
}

static uint32_t mapping(struct build *b, const struct sym_frame *f)
{
	uint64_t bias = f->ip - site__file_addr(f);
	struct pprof_mapping *m;

	if (f->map_index < 0)
		return PPROF_NO_MAPPING;
	for (size_t i = 0; i < b->n_maps; i++)
		if (b->map_starts[i] == f->map_start)
			return (uint32_t)i;
	if (b->n_maps == PPROF_MAX_MAPPINGS)
		return PPROF_NO_MAPPING;
	m = &b->maps[b->n_maps];
	*m = (struct pprof_mapping){ .start = f->map_start - bias,
				     .limit = f->map_limit - bias,
				     .offset = f->map_offset,
				     .filename = keep(b, f->path),
				     .has_functions = true,
				     .has_filenames = true,
				     .has_line_numbers = true };
	build_id(b, m, f->build_id);
	b->map_starts[b->n_maps] = f->map_start;
	return (uint32_t)b->n_maps++;
}

static int location(struct build *b, const struct sym_frame *f, uint32_t *out)
{
	size_t slot = (size_t)(f->ip * 0x9e3779b97f4a7c15ULL >> 40) % LOC_TABLE;
	struct pprof_location *l;

	for (; b->table[slot]; slot = (slot + 1) % LOC_TABLE)
		if (b->loc_ips[b->table[slot] - 1] == f->ip) {
			*out = b->table[slot] - 1;
			return 0;
		}
	if (b->n_locs == MAX_LOCATIONS)
		return -E2BIG;
	l = &b->locs[b->n_locs];
	*l = (struct pprof_location){ .address = f->map_index < 0 ? 0 : site__file_addr(f),
				      .mapping = mapping(b, f) };
	l->line =
		(struct pprof_line){ .function = f->map_index < 0 ? "[unknown]" : keep(b, f->func),
				     .filename = keep(b, f->file),
				     .line = f->line };
	b->loc_ips[b->n_locs] = f->ip;
	b->table[slot] = (uint32_t)++b->n_locs;
	*out = (uint32_t)(b->n_locs - 1);
	return 0;
}

static int add_stack(void *ctx, const uint64_t *ips, size_t depth, const struct sites_figures *f)
{
	struct build *b = ctx;
	struct sym_frame frames[MAX_STACK];
	size_t n = depth < MAX_STACK ? depth : MAX_STACK, pick = 0;
	struct pprof_sample *s;
	uint32_t *locs;

	if (n && !symbolizer__resolve(b->p->sym, b->pid, (const __u64 *)ips, n, SYM_RETURN_ADDRS,
				      frames)) {
		pick = site__pick(frames, n);
		pick = pick < n ? pick : 0;
	} else {
		n = 0; /* a lost stack: a sample with no location */
	}
	if (b->n_samples == b->cap_samples) {
		size_t cap = b->cap_samples ? 2 * b->cap_samples : 64;
		struct pprof_sample *grown = realloc(b->samples, cap * sizeof(*grown));

		if (!grown)
			return -ENOMEM;
		b->samples = grown;
		b->cap_samples = cap;
	}
	locs = calloc(n - pick + 1, sizeof(*locs));
	if (!locs)
		return -ENOMEM;
	s = &b->samples[b->n_samples++];
	*s = (struct pprof_sample){ .locations = locs,
				    .alloc_objects = (int64_t)f->alloc_objects,
				    .alloc_space = (int64_t)f->alloc_space,
				    .inuse_objects = (int64_t)f->inuse_objects,
				    .inuse_space = (int64_t)f->inuse_space };
	for (size_t i = pick; i < n; i++)
		if (location(b, &frames[i], &locs[s->n_locations++]))
			return -E2BIG;
	return b->err;
}

static void build_free(struct build *b)
{
	for (size_t i = 0; i < b->n_samples; i++)
		free((void *)b->samples[i].locations);
	free(b->samples);
	for (size_t i = 0; i < b->n_strings; i++)
		free(b->strings[i]);
	free(b->strings);
	free(b->table);
	free(b->loc_ips);
	free(b->locs);
	free(b);
}

int profile__pprof(struct profile *p, int pid, char **out, size_t *len)
{
	struct build *b = calloc(1, sizeof(*b));
	struct timespec now;
	struct pprof_input in;
	int err = -ENOMEM;

	if (!b)
		return -ENOMEM;
	b->p = p;
	b->pid = pid;
	b->locs = calloc(MAX_LOCATIONS, sizeof(*b->locs));
	b->loc_ips = calloc(MAX_LOCATIONS, sizeof(*b->loc_ips));
	b->table = calloc(LOC_TABLE, sizeof(*b->table));
	if (!b->locs || !b->loc_ips || !b->table)
		goto out;
	clock_gettime(CLOCK_REALTIME, &now);
	pthread_mutex_lock(&p->lock);
	err = profile_attached(p, pid) ? sites__read(p->sites, pid, add_stack, b, NULL) : -ENOENT;
	pthread_mutex_unlock(&p->lock);
	if (err)
		goto out;
	in = (struct pprof_input){ .mappings = b->maps,
				   .n_mappings = b->n_maps,
				   .locations = b->locs,
				   .n_locations = b->n_locs,
				   .samples = b->samples,
				   .n_samples = b->n_samples,
				   .period = NOMINAL_PERIOD,
				   .time_nanos = (int64_t)now.tv_sec * 1000000000 + now.tv_nsec };
	err = pprof__encode(&in, out, len);
out:
	build_free(b);
	return err;
}
