// SPDX-License-Identifier: Apache-2.0
/*
 * The pprof heap profile: the input arrays become protobuf-c messages (the
 * schema is user/pprof.proto, generated into the build directory), packed
 * by libprotobuf-c and gzipped. Everything one profile needs is allocated up
 * front from bounds computed off the input, so the builders cannot overflow.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "gzip.h"
#include "pprof.h"
#include "pprof.pb-c.h"
#include "utf8.h"

/* Frames and inlined frames in all: bounds the line and function tables. */
#define PPROF_MAX_LINES (1u << 20)
#define N_TYPES 4
/* "", the sample and period types' names and units, two comments. */
#define FIXED_STRINGS 16

typedef Memtide__Pprof__Profile Profile;
typedef Memtide__Pprof__ValueType ValueType;
typedef Memtide__Pprof__Sample Sample;
typedef Memtide__Pprof__Mapping Mapping;
typedef Memtide__Pprof__Location Location;
typedef Memtide__Pprof__Line Line;
typedef Memtide__Pprof__Function Function;

struct enc {
	/* String table, deduplicated: slots hold index + 1, 0 is free. */
	char **strs;
	size_t n_strs, max_strs;
	uint32_t *str_slots;
	size_t str_mask;
	/* Functions, deduplicated by (name, system name, file): slots hold id, 0 is free. */
	Function *funcs;
	Function **func_ptrs;
	size_t n_funcs;
	uint32_t *func_slots;
	size_t func_mask;
	Mapping *maps;
	Mapping **map_ptrs;
	Location *locs;
	Location **loc_ptrs;
	Line *lines;
	Line **line_ptrs;
	size_t n_lines;
	Sample *samples;
	Sample **sample_ptrs;
	uint64_t *loc_ids;
	int64_t *values;
	ValueType types[N_TYPES + 1];
	ValueType *type_ptrs[N_TYPES];
	int64_t comments[2];
	size_t n_comments;
	char scratch[PPROF_MAX_NAME * UTF8_GROWTH + 1];
};

static uint64_t hash_bytes(const char *s, size_t len)
{
	uint64_t h = 0xcbf29ce484222325ull; /* FNV-1a */

	for (size_t i = 0; i < len; i++)
		h = (h ^ (unsigned char)s[i]) * 0x100000001b3ull;
	return h;
}

/* The smallest power of two at least twice @n: tables stay half empty. */
static size_t table_size(size_t n)
{
	size_t size = 16;

	while (size < 2 * n)
		size <<= 1;
	return size;
}

/* The string table index of @s (valid UTF-8 already), added when new. */
static int64_t intern_clean(struct enc *e, const char *s, size_t len)
{
	size_t i = hash_bytes(s, len) & e->str_mask;
	uint32_t slot;

	while ((slot = e->str_slots[i])) {
		const char *have = e->strs[slot - 1];

		if (strlen(have) == len && !memcmp(have, s, len))
			return slot - 1;
		i = (i + 1) & e->str_mask;
	}
	if (e->n_strs == e->max_strs)
		return -E2BIG; /* the bound below was wrong: never silently */
	e->strs[e->n_strs] = strndup(s, len);
	if (!e->strs[e->n_strs])
		return -ENOMEM;
	e->str_slots[i] = (uint32_t)++e->n_strs;
	return (int64_t)e->n_strs - 1;
}

/* Untrusted bytes: cut, sanitized, then interned. NULL is "", index 0. */
static int64_t intern(struct enc *e, const char *s)
{
	size_t len;

	if (!s)
		return 0;
	len = utf8__sanitize(e->scratch, sizeof(e->scratch), s, strnlen(s, PPROF_MAX_NAME), 0);
	return intern_clean(e, e->scratch, len);
}

static int64_t intern_hex(struct enc *e, const uint8_t *bytes, size_t len)
{
	static const char digits[] = "0123456789abcdef";

	if (!len)
		return 0;
	for (size_t i = 0; i < len; i++) {
		e->scratch[2 * i] = digits[bytes[i] >> 4];
		e->scratch[2 * i + 1] = digits[bytes[i] & 15];
	}
	return intern_clean(e, e->scratch, 2 * len);
}

/* The id of the function for @l, added when new; 0 when @l names none. */
static int64_t function_id(struct enc *e, const struct pprof_line *l)
{
	int64_t name, sys, file;
	uint64_t key[3];
	size_t i;
	uint32_t slot;
	Function *f;

	name = intern(e, l->function);
	sys = l->system_name ? intern(e, l->system_name) : name;
	file = intern(e, l->filename);
	if (name < 0 || sys < 0 || file < 0)
		return name < 0 ? name : sys < 0 ? sys : file;
	key[0] = (uint64_t)name;
	key[1] = (uint64_t)sys;
	key[2] = (uint64_t)file;
	i = hash_bytes((const char *)key, sizeof(key)) & e->func_mask;
	while ((slot = e->func_slots[i])) {
		f = &e->funcs[slot - 1];
		if (f->name == name && f->system_name == sys && f->filename == file)
			return (int64_t)f->id;
		i = (i + 1) & e->func_mask;
	}
	f = &e->funcs[e->n_funcs];
	memtide__pprof__function__init(f);
	f->id = e->n_funcs + 1;
	f->name = name;
	f->system_name = sys;
	f->filename = file;
	e->func_ptrs[e->n_funcs] = f;
	e->func_slots[i] = (uint32_t)++e->n_funcs;
	return (int64_t)f->id;
}

/* Indices in range and counts within the caps; the number of lines in *@lines. */
static int check_input(const struct pprof_input *in, size_t *lines)
{
	*lines = 0;
	if ((in->n_mappings && !in->mappings) || (in->n_locations && !in->locations) ||
	    (in->n_samples && !in->samples))
		return -EINVAL;
	if (in->n_mappings > PPROF_MAX_MAPPINGS || in->n_locations > PPROF_MAX_LOCATIONS)
		return -E2BIG;
	for (size_t i = 0; i < in->n_mappings; i++)
		if (in->mappings[i].build_id_len > PPROF_MAX_BUILD_ID)
			return -E2BIG;
	for (size_t i = 0; i < in->n_locations; i++) {
		const struct pprof_location *l = &in->locations[i];

		if (l->mapping != PPROF_NO_MAPPING && l->mapping >= in->n_mappings)
			return -EINVAL;
		if (l->n_inlined > PPROF_MAX_INLINED)
			return -E2BIG;
		if (l->n_inlined && !l->inlined)
			return -EINVAL;
		*lines += l->n_inlined + 1;
	}
	if (*lines > PPROF_MAX_LINES)
		return -E2BIG;
	for (size_t i = 0; i < in->n_samples && i < PPROF_MAX_SAMPLES; i++) {
		const struct pprof_sample *s = &in->samples[i];

		if (s->n_locations && !s->locations)
			return -EINVAL;
		for (uint32_t k = 0; k < s->n_locations && k < PPROF_MAX_DEPTH; k++)
			if (s->locations[k] >= in->n_locations)
				return -EINVAL;
	}
	return 0;
}

static int alloc_tables(struct enc *e, const struct pprof_input *in, size_t n_samples, size_t lines)
{
	size_t depth = 0;

	for (size_t i = 0; i < n_samples; i++)
		depth += in->samples[i].n_locations < PPROF_MAX_DEPTH ? in->samples[i].n_locations
								      : PPROF_MAX_DEPTH;
	/* Each mapping two strings, each line three. */
	e->max_strs = FIXED_STRINGS + 2 * in->n_mappings + 3 * lines;
	e->str_mask = table_size(e->max_strs) - 1;
	e->func_mask = table_size(lines) - 1;
	e->strs = calloc(e->max_strs, sizeof(*e->strs));
	e->str_slots = calloc(e->str_mask + 1, sizeof(*e->str_slots));
	e->funcs = calloc(lines + 1, sizeof(*e->funcs));
	e->func_ptrs = calloc(lines + 1, sizeof(*e->func_ptrs));
	e->func_slots = calloc(e->func_mask + 1, sizeof(*e->func_slots));
	e->maps = calloc(in->n_mappings + 1, sizeof(*e->maps));
	e->map_ptrs = calloc(in->n_mappings + 1, sizeof(*e->map_ptrs));
	e->locs = calloc(in->n_locations + 1, sizeof(*e->locs));
	e->loc_ptrs = calloc(in->n_locations + 1, sizeof(*e->loc_ptrs));
	e->lines = calloc(lines + 1, sizeof(*e->lines));
	e->line_ptrs = calloc(lines + 1, sizeof(*e->line_ptrs));
	e->samples = calloc(n_samples + 1, sizeof(*e->samples));
	e->sample_ptrs = calloc(n_samples + 1, sizeof(*e->sample_ptrs));
	e->loc_ids = calloc(depth + 1, sizeof(*e->loc_ids));
	e->values = calloc(N_TYPES * n_samples + 1, sizeof(*e->values));
	if (!e->strs || !e->str_slots || !e->funcs || !e->func_ptrs || !e->func_slots || !e->maps ||
	    !e->map_ptrs || !e->locs || !e->loc_ptrs || !e->lines || !e->line_ptrs || !e->samples ||
	    !e->sample_ptrs || !e->loc_ids || !e->values)
		return -ENOMEM;
	return 0;
}

static void free_enc(struct enc *e)
{
	for (size_t i = 0; i < e->n_strs; i++)
		free(e->strs[i]);
	free(e->strs);
	free(e->str_slots);
	free(e->funcs);
	free(e->func_ptrs);
	free(e->func_slots);
	free(e->maps);
	free(e->map_ptrs);
	free(e->locs);
	free(e->loc_ptrs);
	free(e->lines);
	free(e->line_ptrs);
	free(e->samples);
	free(e->sample_ptrs);
	free(e->loc_ids);
	free(e->values);
	free(e);
}

static int add_types(struct enc *e, Profile *p)
{
	static const char *const names[N_TYPES + 1][2] = {
		{ "alloc_objects", "count" }, { "alloc_space", "bytes" },
		{ "inuse_objects", "count" }, { "inuse_space", "bytes" },
		{ "space", "bytes" }, /* the period's */
	};
	int64_t s;

	if (intern_clean(e, "", 0) != 0)
		return -ENOMEM;
	for (int i = 0; i <= N_TYPES; i++) {
		memtide__pprof__value_type__init(&e->types[i]);
		if ((s = intern(e, names[i][0])) < 0)
			return (int)s;
		e->types[i].type = s;
		if ((s = intern(e, names[i][1])) < 0)
			return (int)s;
		e->types[i].unit = s;
		if (i < N_TYPES)
			e->type_ptrs[i] = &e->types[i];
	}
	p->n_sample_type = N_TYPES;
	p->sample_type = e->type_ptrs;
	p->period_type = &e->types[N_TYPES];
	p->default_sample_type = e->types[3].type;
	return 0;
}

static int add_mappings(struct enc *e, const struct pprof_input *in, Profile *p)
{
	for (size_t i = 0; i < in->n_mappings; i++) {
		const struct pprof_mapping *m = &in->mappings[i];
		Mapping *out = &e->maps[i];

		memtide__pprof__mapping__init(out);
		out->id = i + 1;
		out->memory_start = m->start;
		out->memory_limit = m->limit;
		out->file_offset = m->offset;
		out->filename = intern(e, m->filename);
		out->build_id = intern_hex(e, m->build_id, m->build_id_len);
		if (out->filename < 0 || out->build_id < 0)
			return out->filename < 0 ? (int)out->filename : (int)out->build_id;
		out->has_functions = m->has_functions;
		out->has_filenames = m->has_filenames;
		out->has_line_numbers = m->has_line_numbers;
		out->has_inline_frames = m->has_inline_frames;
		e->map_ptrs[i] = out;
	}
	p->n_mapping = in->n_mappings;
	p->mapping = e->map_ptrs;
	return 0;
}

/* One Line for @l, appended to the flat table; none when @l names no function. */
static int add_line(struct enc *e, const struct pprof_line *l)
{
	Line *out = &e->lines[e->n_lines];
	int64_t id;

	if (!l->function)
		return 0;
	if ((id = function_id(e, l)) < 0)
		return (int)id;
	memtide__pprof__line__init(out);
	out->function_id = (uint64_t)id;
	out->line = l->line;
	e->line_ptrs[e->n_lines++] = out;
	return 0;
}

static int add_locations(struct enc *e, const struct pprof_input *in, Profile *p)
{
	int ret;

	for (size_t i = 0; i < in->n_locations; i++) {
		const struct pprof_location *l = &in->locations[i];
		Location *out = &e->locs[i];
		size_t first = e->n_lines;

		memtide__pprof__location__init(out);
		out->id = i + 1;
		out->mapping_id = l->mapping == PPROF_NO_MAPPING ? 0 : (uint64_t)l->mapping + 1;
		out->address = l->address;
		/* pprof's order: innermost inlined function first, the caller last. */
		for (uint32_t k = 0; k < l->n_inlined; k++)
			if ((ret = add_line(e, &l->inlined[k])))
				return ret;
		if ((ret = add_line(e, &l->line)))
			return ret;
		out->n_line = e->n_lines - first;
		out->line = out->n_line ? &e->line_ptrs[first] : NULL;
		e->loc_ptrs[i] = out;
	}
	p->n_location = in->n_locations;
	p->location = e->loc_ptrs;
	p->n_function = e->n_funcs;
	p->function = e->func_ptrs;
	return 0;
}

/* The samples, the first PPROF_MAX_SAMPLES, each at most PPROF_MAX_DEPTH deep. */
static size_t add_samples(struct enc *e, const struct pprof_input *in, size_t n, Profile *p)
{
	size_t next = 0, cut = 0;

	for (size_t i = 0; i < n; i++) {
		const struct pprof_sample *s = &in->samples[i];
		Sample *out = &e->samples[i];
		int64_t *v = &e->values[N_TYPES * i];
		uint32_t depth = s->n_locations;

		if (depth > PPROF_MAX_DEPTH) {
			depth = PPROF_MAX_DEPTH;
			cut++;
		}
		memtide__pprof__sample__init(out);
		out->location_id = &e->loc_ids[next];
		for (uint32_t k = 0; k < depth; k++)
			e->loc_ids[next++] = (uint64_t)s->locations[k] + 1;
		out->n_location_id = depth;
		v[0] = s->alloc_objects;
		v[1] = s->alloc_space;
		v[2] = s->inuse_objects;
		v[3] = s->inuse_space;
		out->value = v;
		out->n_value = N_TYPES;
		e->sample_ptrs[i] = out;
	}
	p->n_sample = n;
	p->sample = e->sample_ptrs;
	return cut;
}

static int add_comment(struct enc *e, const char *text)
{
	int64_t s;

	if ((s = intern(e, text)) < 0)
		return (int)s;
	e->comments[e->n_comments++] = s;
	return 0;
}

static int pack(Profile *p, char **out, size_t *out_len)
{
	size_t len = protobuf_c_message_get_packed_size(&p->base);
	uint8_t *wire = malloc(len ? len : 1);
	int ret;

	if (!wire)
		return -ENOMEM;
	protobuf_c_message_pack(&p->base, wire);
	ret = gzip__compress(wire, len, out, out_len);
	free(wire);
	return ret;
}

int pprof__encode(const struct pprof_input *in, char **out, size_t *out_len)
{
	size_t lines, n_samples, cut;
	char text[96];
	Profile p;
	struct enc *e;
	int ret;

	if ((ret = check_input(in, &lines)))
		return ret;
	n_samples = in->n_samples < PPROF_MAX_SAMPLES ? in->n_samples : PPROF_MAX_SAMPLES;
	e = calloc(1, sizeof(*e));
	if (!e)
		return -ENOMEM;
	if ((ret = alloc_tables(e, in, n_samples, lines)))
		goto end;
	memtide__pprof__profile__init(&p);
	if ((ret = add_types(e, &p)) || (ret = add_mappings(e, in, &p)) ||
	    (ret = add_locations(e, in, &p)))
		goto end;
	cut = add_samples(e, in, n_samples, &p);
	if (in->n_samples > n_samples) {
		snprintf(text, sizeof(text), "memtide: %zu samples left out, over the cap of %u",
			 in->n_samples - n_samples, PPROF_MAX_SAMPLES);
		if ((ret = add_comment(e, text)))
			goto end;
	}
	if (cut) {
		snprintf(text, sizeof(text), "memtide: %zu stacks cut to their %u leaf-most frames",
			 cut, PPROF_MAX_DEPTH);
		if ((ret = add_comment(e, text)))
			goto end;
	}
	p.n_comment = e->n_comments;
	p.comment = e->comments;
	p.n_string_table = e->n_strs;
	p.string_table = e->strs;
	p.period = in->period;
	p.time_nanos = in->time_nanos;
	p.duration_nanos = in->duration_nanos;
	ret = pack(&p, out, out_len);
end:
	free_enc(e);
	return ret;
}
