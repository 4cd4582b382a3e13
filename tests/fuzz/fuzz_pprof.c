// SPDX-License-Identifier: Apache-2.0
/*
 * pprof__encode() on random profiles: names of arbitrary bytes, odd counts,
 * indices in and out of range, build ids past the cap. Valid input encodes;
 * invalid input is refused; what is encoded gunzips, unpacks with the
 * generated protobuf-c code, holds what went in, names only strings that
 * exist, and every string is valid UTF-8 (checked by the harness's own
 * decoder) and in the table once.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "fuzz.h"
#include "pprof.h"
#include "pprof.pb-c.h"
#include "../tools/pprof_unpack.h"

#define MAX_MAPPINGS 4
#define MAX_LOCATIONS 8
#define MAX_SAMPLES 8
#define MAX_INLINED 3
#define MAX_STR 64

typedef Memtide__Pprof__Profile Profile;

struct input {
	struct pprof_mapping maps[MAX_MAPPINGS];
	uint8_t ids[MAX_MAPPINGS][PPROF_MAX_BUILD_ID + 1];
	struct pprof_location locs[MAX_LOCATIONS];
	struct pprof_line inlined[MAX_LOCATIONS][MAX_INLINED];
	struct pprof_sample samples[MAX_SAMPLES];
	uint32_t stacks[MAX_SAMPLES][PPROF_MAX_DEPTH + 8];
	char *strs[MAX_MAPPINGS + MAX_LOCATIONS * (MAX_INLINED + 1) * 3];
	size_t n_strs;
	bool valid;
};

/* A string of arbitrary bytes, or NULL (a name not known). */
static const char *name(struct fuzz_in *in, struct input *x)
{
	if (fuzz_u8(in) % 8 == 0)
		return NULL;
	return x->strs[x->n_strs++] = fuzz_string(in, MAX_STR);
}

static void fuzz_line(struct fuzz_in *in, struct input *x, struct pprof_line *l)
{
	l->function = name(in, x);
	l->system_name = name(in, x);
	l->filename = name(in, x);
	l->line = (int64_t)fuzz_u64(in);
}

static void build(struct fuzz_in *in, struct input *x, struct pprof_input *p)
{
	x->valid = true;
	p->n_mappings = fuzz_u8(in) % (MAX_MAPPINGS + 1);
	for (size_t i = 0; i < p->n_mappings; i++) {
		struct pprof_mapping *m = &x->maps[i];
		uint8_t flags = fuzz_u8(in);

		m->start = fuzz_u64(in);
		m->limit = fuzz_u64(in);
		m->offset = fuzz_u64(in);
		m->filename = name(in, x);
		m->build_id_len = fuzz_u8(in) % (PPROF_MAX_BUILD_ID + 2);
		fuzz_bytes(in, x->ids[i], m->build_id_len);
		m->build_id = x->ids[i];
		m->has_functions = flags & 1;
		m->has_filenames = flags & 2;
		m->has_line_numbers = flags & 4;
		m->has_inline_frames = flags & 8;
		if (m->build_id_len > PPROF_MAX_BUILD_ID)
			x->valid = false;
	}
	p->n_locations = fuzz_u8(in) % (MAX_LOCATIONS + 1);
	for (size_t i = 0; i < p->n_locations; i++) {
		struct pprof_location *l = &x->locs[i];
		uint8_t m = fuzz_u8(in);

		l->address = fuzz_u64(in);
		/* Mostly a mapping there is, sometimes none, rarely one past the end. */
		l->mapping = m == 255 ? (uint32_t)p->n_mappings
			     : m < 32 ? PPROF_NO_MAPPING
				      : (p->n_mappings ? m % p->n_mappings : PPROF_NO_MAPPING);
		if (m == 255)
			x->valid = false;
		fuzz_line(in, x, &l->line);
		l->n_inlined = fuzz_u8(in) % (MAX_INLINED + 1);
		for (uint32_t k = 0; k < l->n_inlined; k++)
			fuzz_line(in, x, &x->inlined[i][k]);
		l->inlined = x->inlined[i];
	}
	p->n_samples = fuzz_u8(in) % (MAX_SAMPLES + 1);
	for (size_t i = 0; i < p->n_samples; i++) {
		struct pprof_sample *s = &x->samples[i];
		uint8_t depth = fuzz_u8(in);

		/* Now and then past the depth cap. */
		s->n_locations = depth >= 250 ? PPROF_MAX_DEPTH + depth - 250 : depth % 6;
		for (uint32_t k = 0; k < s->n_locations; k++) {
			uint8_t v = fuzz_u8(in);

			x->stacks[i][k] = v == 255 ? (uint32_t)p->n_locations
						   : (p->n_locations ? v % p->n_locations : v);
			/* Frames past the cap are cut unread. */
			if (x->stacks[i][k] >= p->n_locations && k < PPROF_MAX_DEPTH)
				x->valid = false;
		}
		s->locations = x->stacks[i];
		s->alloc_objects = (int64_t)fuzz_u64(in);
		s->alloc_space = (int64_t)fuzz_u64(in);
		s->inuse_objects = (int64_t)fuzz_u64(in);
		s->inuse_space = (int64_t)fuzz_u64(in);
	}
	p->period = (int64_t)fuzz_u64(in);
	p->time_nanos = (int64_t)fuzz_u64(in);
	p->duration_nanos = (int64_t)fuzz_u64(in);
}

static bool str_ok(const Profile *p, int64_t i)
{
	return i >= 0 && (size_t)i < p->n_string_table;
}

static void check_profile(const Profile *p, const struct pprof_input *in)
{
	FUZZ_CHECK(p->n_string_table >= 1 && !strcmp(p->string_table[0], ""));
	for (size_t i = 0; i < p->n_string_table; i++) {
		FUZZ_CHECK(fuzz_valid_utf8(p->string_table[i], strlen(p->string_table[i])));
		for (size_t k = 0; k < i; k++)
			FUZZ_CHECK(strcmp(p->string_table[i], p->string_table[k]));
	}
	FUZZ_CHECK(p->n_sample_type == 4 && p->period_type && str_ok(p, p->default_sample_type));
	FUZZ_CHECK(p->period == in->period && p->time_nanos == in->time_nanos &&
		   p->duration_nanos == in->duration_nanos);
	FUZZ_CHECK(p->n_mapping == in->n_mappings);
	for (size_t i = 0; i < p->n_mapping; i++) {
		const Memtide__Pprof__Mapping *m = p->mapping[i];

		FUZZ_CHECK(m->id == i + 1 && m->memory_start == in->mappings[i].start);
		FUZZ_CHECK(str_ok(p, m->filename) && str_ok(p, m->build_id));
		FUZZ_CHECK(strlen(p->string_table[m->build_id]) ==
			   2 * in->mappings[i].build_id_len);
	}
	for (size_t i = 0; i < p->n_function; i++) {
		const Memtide__Pprof__Function *f = p->function[i];

		FUZZ_CHECK(f->id == i + 1 && str_ok(p, f->name) && str_ok(p, f->system_name) &&
			   str_ok(p, f->filename));
	}
	FUZZ_CHECK(p->n_location == in->n_locations);
	for (size_t i = 0; i < p->n_location; i++) {
		const Memtide__Pprof__Location *l = p->location[i];

		FUZZ_CHECK(l->id == i + 1 && l->address == in->locations[i].address);
		FUZZ_CHECK(l->mapping_id <= p->n_mapping);
		FUZZ_CHECK(l->n_line <= in->locations[i].n_inlined + 1);
		for (size_t k = 0; k < l->n_line; k++)
			FUZZ_CHECK(l->line[k]->function_id >= 1 &&
				   l->line[k]->function_id <= p->n_function);
	}
	FUZZ_CHECK(p->n_sample == in->n_samples);
	for (size_t i = 0; i < p->n_sample; i++) {
		const Memtide__Pprof__Sample *s = p->sample[i];
		const struct pprof_sample *want = &in->samples[i];

		FUZZ_CHECK(s->n_location_id == (want->n_locations < PPROF_MAX_DEPTH
							? want->n_locations
							: PPROF_MAX_DEPTH));
		for (size_t k = 0; k < s->n_location_id; k++)
			FUZZ_CHECK(s->location_id[k] == (uint64_t)want->locations[k] + 1);
		FUZZ_CHECK(s->n_value == 4 && s->value[0] == want->alloc_objects &&
			   s->value[1] == want->alloc_space && s->value[2] == want->inuse_objects &&
			   s->value[3] == want->inuse_space);
	}
	for (size_t i = 0; i < p->n_comment; i++)
		FUZZ_CHECK(str_ok(p, p->comment[i]));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_in in = { data, size };
	struct pprof_input p = { 0 };
	struct input *x = calloc(1, sizeof(*x));
	char *gz = NULL;
	size_t len = 0;
	int ret;

	FUZZ_CHECK(x);
	build(&in, x, &p);
	p.mappings = x->maps;
	p.locations = x->locs;
	p.samples = x->samples;
	ret = pprof__encode(&p, &gz, &len);
	FUZZ_CHECK(x->valid ? ret == 0 : (ret == -EINVAL || ret == -E2BIG));
	if (!ret) {
		Profile *prof = pprof_unpack_gz(gz, len);

		FUZZ_CHECK(prof);
		check_profile(prof, &p);
		memtide__pprof__profile__free_unpacked(prof, NULL);
		free(gz);
	}
	for (size_t i = 0; i < x->n_strs; i++)
		free(x->strs[i]);
	free(x);
	return 0;
}
