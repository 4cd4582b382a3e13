// SPDX-License-Identifier: Apache-2.0
/*
 * The pprof encoder: the fixture profile gunzipped and unpacked by the
 * generated protobuf-c code, every field checked; bad input refused; the
 * caps cut with a comment.
 */
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include "pprof.h"
#include "pprof.pb-c.h"
#include "utf8.h"
#include "../tools/pprof_fixture.h"
#include "../tools/pprof_unpack.h"

typedef Memtide__Pprof__Profile Profile;

/* Encodes @in, gunzips and unpacks it: the profile as a reader sees it. */
static Profile *decode(const struct pprof_input *in)
{
	char *gz = NULL;
	size_t gz_len = 0;
	Profile *p;

	assert_int_equal(pprof__encode(in, &gz, &gz_len), 0);
	assert_int_equal((unsigned char)gz[0], 0x1f);
	assert_int_equal((unsigned char)gz[1], 0x8b);
	p = pprof_unpack_gz(gz, gz_len);
	assert_non_null(p);
	free(gz);
	return p;
}

static const char *str(const Profile *p, int64_t i)
{
	assert_true(i >= 0 && (size_t)i < p->n_string_table);
	return p->string_table[i];
}

static const Memtide__Pprof__Function *func(const Profile *p, uint64_t id)
{
	/* Ids are positions + 1: what makes lookups cheap for readers. */
	assert_true(id >= 1 && id <= p->n_function);
	assert_int_equal(p->function[id - 1]->id, id);
	return p->function[id - 1];
}

static void string_table_deduplicated(void **state)
{
	Profile *p = decode(&fixture_input);

	(void)state;
	assert_string_equal(p->string_table[0], "");
	/* "", 7 type names and units, 2 files, 2 build ids, 6 functions, 1 system
	 * name apart from its function's, 4 source files: each once. */
	assert_int_equal(p->n_string_table, 23);
	for (size_t i = 0; i < p->n_string_table; i++) {
		assert_true(utf8__valid(p->string_table[i], strlen(p->string_table[i])));
		for (size_t k = 0; k < i; k++)
			assert_string_not_equal(p->string_table[i], p->string_table[k]);
	}
	assert_int_equal(p->n_comment, 0);
	assert_int_equal(p->drop_frames, 0);
	assert_int_equal(p->keep_frames, 0);
	memtide__pprof__profile__free_unpacked(p, NULL);
}

static void sample_types_and_period(void **state)
{
	static const char *const types[4][2] = {
		{ "alloc_objects", "count" },
		{ "alloc_space", "bytes" },
		{ "inuse_objects", "count" },
		{ "inuse_space", "bytes" },
	};
	Profile *p = decode(&fixture_input);

	(void)state;
	assert_int_equal(p->n_sample_type, 4);
	for (int i = 0; i < 4; i++) {
		assert_string_equal(str(p, p->sample_type[i]->type), types[i][0]);
		assert_string_equal(str(p, p->sample_type[i]->unit), types[i][1]);
	}
	assert_string_equal(str(p, p->default_sample_type), "inuse_space");
	assert_non_null(p->period_type);
	assert_string_equal(str(p, p->period_type->type), "space");
	assert_string_equal(str(p, p->period_type->unit), "bytes");
	assert_int_equal(p->period, 524288);
	assert_int_equal(p->time_nanos, 1700000000123456789);
	assert_int_equal(p->duration_nanos, 30000000000);
	memtide__pprof__profile__free_unpacked(p, NULL);
}

static void mappings(void **state)
{
	Profile *p = decode(&fixture_input);
	const Memtide__Pprof__Mapping *m;

	(void)state;
	assert_int_equal(p->n_mapping, 2);
	m = p->mapping[0];
	assert_int_equal(m->id, 1);
	assert_int_equal(m->memory_start, 0x400000);
	assert_int_equal(m->memory_limit, 0x452000);
	assert_int_equal(m->file_offset, 0);
	assert_string_equal(str(p, m->filename), "/usr/bin/memtide-fixture");
	assert_string_equal(str(p, m->build_id), "deadbeef000102030405060708090a0b0c0d0eff");
	assert_true(m->has_functions && m->has_filenames && m->has_line_numbers &&
		    m->has_inline_frames);
	m = p->mapping[1];
	assert_int_equal(m->id, 2);
	assert_int_equal(m->memory_start, 0x7f0000001000);
	assert_int_equal(m->memory_limit, 0x7f0000080000);
	assert_int_equal(m->file_offset, 0x1000);
	assert_string_equal(str(p, m->filename), "/usr/lib/libfixture.so");
	assert_string_equal(str(p, m->build_id), "1032547698badcfe");
	assert_true(m->has_functions);
	assert_false(m->has_filenames || m->has_line_numbers || m->has_inline_frames);
	memtide__pprof__profile__free_unpacked(p, NULL);
}

/* Location @i as the fixture has it: id, mapping, address, its outer line. */
static void check_location(const Profile *p, size_t i)
{
	const struct pprof_location *want = &fixture_locations[i];
	const Memtide__Pprof__Location *l = p->location[i];
	const Memtide__Pprof__Line *outer;
	const Memtide__Pprof__Function *f;

	assert_int_equal(l->id, i + 1);
	assert_int_equal(l->mapping_id, want->mapping + 1);
	assert_int_equal(l->address, want->address);
	assert_false(l->is_folded);
	assert_int_equal(l->n_line, 1 + want->n_inlined);
	outer = l->line[l->n_line - 1];
	assert_int_equal(outer->line, want->line.line);
	f = func(p, outer->function_id);
	if (i == 4) /* the hostile name, sanitized */
		assert_string_equal(str(p, f->name), FIXTURE_HOSTILE_CLEAN);
	else
		assert_string_equal(str(p, f->name), want->line.function);
	assert_string_equal(str(p, f->system_name),
			    want->line.system_name ? want->line.system_name : str(p, f->name));
	assert_string_equal(str(p, f->filename), want->line.filename ? want->line.filename : "");
	assert_int_equal(f->start_line, 0);
}

static void locations_and_functions(void **state)
{
	Profile *p = decode(&fixture_input);
	const Memtide__Pprof__Location *l;
	const Memtide__Pprof__Function *f;

	(void)state;
	assert_int_equal(p->n_location, 7);
	for (size_t i = 0; i < 7; i++)
		check_location(p, i);
	/* parse_request at two addresses, handle_conn with and without an
	 * inlined callee: one function each. */
	assert_int_equal(p->n_function, 6);
	assert_int_equal(p->location[0]->line[0]->function_id,
			 p->location[5]->line[0]->function_id);
	assert_int_equal(p->location[1]->line[0]->function_id,
			 p->location[6]->line[1]->function_id);
	/* The inlined frame first, the caller last. */
	l = p->location[6];
	f = func(p, l->line[0]->function_id);
	assert_string_equal(str(p, f->name), "read_header");
	assert_string_equal(str(p, f->filename), "src/server.c");
	assert_int_equal(l->line[0]->line, 5);
	assert_int_equal(l->line[1]->line, 20);
	for (size_t i = 0; i < p->n_function; i++)
		assert_int_equal(p->function[i]->id, i + 1);
	memtide__pprof__profile__free_unpacked(p, NULL);
}

static void samples(void **state)
{
	Profile *p = decode(&fixture_input);

	(void)state;
	assert_int_equal(p->n_sample, 3);
	for (size_t i = 0; i < 3; i++) {
		const struct pprof_sample *want = &fixture_samples[i];
		const Memtide__Pprof__Sample *s = p->sample[i];

		assert_int_equal(s->n_location_id, want->n_locations);
		for (size_t k = 0; k < want->n_locations; k++)
			assert_int_equal(s->location_id[k], want->locations[k] + 1);
		assert_int_equal(s->n_value, 4);
		assert_int_equal(s->value[0], want->alloc_objects);
		assert_int_equal(s->value[1], want->alloc_space);
		assert_int_equal(s->value[2], want->inuse_objects);
		assert_int_equal(s->value[3], want->inuse_space);
		assert_int_equal(s->n_label, 0);
	}
	memtide__pprof__profile__free_unpacked(p, NULL);
}

/* No mapping, no symbol, no sample: still a profile pprof reads. */
static void unknowns_and_empty(void **state)
{
	static const struct pprof_location bare = { .address = 0xdead,
						    .mapping = PPROF_NO_MAPPING };
	struct pprof_input in = { .locations = &bare, .n_locations = 1 };
	Profile *p = decode(&in);

	(void)state;
	assert_int_equal(p->n_sample, 0);
	assert_int_equal(p->n_mapping, 0);
	assert_int_equal(p->n_location, 1);
	assert_int_equal(p->location[0]->mapping_id, 0);
	assert_int_equal(p->location[0]->address, 0xdead);
	assert_int_equal(p->location[0]->n_line, 0);
	assert_int_equal(p->n_function, 0);
	assert_string_equal(p->string_table[0], "");
	assert_int_equal(p->n_sample_type, 4);
	memtide__pprof__profile__free_unpacked(p, NULL);
}

static void refuses_bad_input(void **state)
{
	static const uint32_t past_end[] = { 7 };
	struct pprof_input in = fixture_input;
	struct pprof_sample s = fixture_samples[0];
	struct pprof_location l = fixture_locations[0];
	struct pprof_mapping m = fixture_mappings[0];
	char *out = (char *)&in;
	size_t len = 0;

	(void)state;
	s.locations = past_end;
	s.n_locations = 1;
	in.samples = &s;
	in.n_samples = 1;
	assert_int_equal(pprof__encode(&in, &out, &len), -EINVAL);
	in = fixture_input;
	l.mapping = 2;
	in.locations = &l;
	in.n_locations = 1;
	in.n_samples = 0;
	assert_int_equal(pprof__encode(&in, &out, &len), -EINVAL);
	in = fixture_input;
	in.n_mappings = PPROF_MAX_MAPPINGS + 1;
	assert_int_equal(pprof__encode(&in, &out, &len), -E2BIG);
	in = fixture_input;
	in.n_locations = PPROF_MAX_LOCATIONS + 1;
	assert_int_equal(pprof__encode(&in, &out, &len), -E2BIG);
	in = fixture_input;
	m.build_id_len = PPROF_MAX_BUILD_ID + 1;
	in.mappings = &m;
	in.n_mappings = 1;
	in.n_samples = 0;
	in.n_locations = 0;
	assert_int_equal(pprof__encode(&in, &out, &len), -E2BIG);
	/* Nothing written on error. */
	assert_ptr_equal(out, (char *)&in);
	assert_int_equal(len, 0);
}

/* Over the caps: the first samples and the leaf-most frames kept, each cut said. */
static void caps_cut_with_a_comment(void **state)
{
	size_t n = PPROF_MAX_SAMPLES + 3;
	struct pprof_sample *many = calloc(n, sizeof(*many));
	uint32_t deep[PPROF_MAX_DEPTH + 5];
	struct pprof_input in = fixture_input;
	Profile *p;

	(void)state;
	assert_non_null(many);
	for (uint32_t i = 0; i < PPROF_MAX_DEPTH + 5; i++)
		deep[i] = i % 7;
	for (size_t i = 0; i < n; i++) {
		many[i] = fixture_samples[i % 3];
		many[i].alloc_objects = (int64_t)i;
	}
	many[0].locations = deep;
	many[0].n_locations = PPROF_MAX_DEPTH + 5;
	in.samples = many;
	in.n_samples = n;
	p = decode(&in);
	assert_int_equal(p->n_sample, PPROF_MAX_SAMPLES);
	assert_int_equal(p->sample[PPROF_MAX_SAMPLES - 1]->value[0], PPROF_MAX_SAMPLES - 1);
	assert_int_equal(p->sample[0]->n_location_id, PPROF_MAX_DEPTH);
	for (uint32_t k = 0; k < PPROF_MAX_DEPTH; k++)
		assert_int_equal(p->sample[0]->location_id[k], k % 7 + 1);
	assert_int_equal(p->n_comment, 2);
	assert_string_equal(str(p, p->comment[0]),
			    "memtide: 3 samples left out, over the cap of 65536");
	assert_string_equal(str(p, p->comment[1]),
			    "memtide: 1 stacks cut to their 128 leaf-most frames");
	memtide__pprof__profile__free_unpacked(p, NULL);
	free(many);
}

/* A name longer than the cap is cut before sanitizing, still valid UTF-8. */
static void long_names_cut(void **state)
{
	size_t len = PPROF_MAX_NAME + 100;
	char *name = malloc(len + 1);
	struct pprof_location l = { .address = 1, .mapping = PPROF_NO_MAPPING };
	struct pprof_input in = { .locations = &l, .n_locations = 1 };
	const char *got;
	Profile *p;

	(void)state;
	assert_non_null(name);
	/* An "é" across the cap: its first byte alone is ill-formed. */
	memset(name, 'a', len);
	name[PPROF_MAX_NAME - 1] = (char)0xc3;
	name[PPROF_MAX_NAME] = (char)0xa9;
	name[len] = '\0';
	l.line.function = name;
	p = decode(&in);
	got = str(p, p->function[0]->name);
	assert_int_equal(strlen(got), PPROF_MAX_NAME - 1 + 3);
	assert_true(strspn(got, "a") == PPROF_MAX_NAME - 1);
	assert_string_equal(got + PPROF_MAX_NAME - 1, "\uFFFD");
	memtide__pprof__profile__free_unpacked(p, NULL);
	free(name);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(string_table_deduplicated),
		cmocka_unit_test(sample_types_and_period),
		cmocka_unit_test(mappings),
		cmocka_unit_test(locations_and_functions),
		cmocka_unit_test(samples),
		cmocka_unit_test(unknowns_and_empty),
		cmocka_unit_test(refuses_bad_input),
		cmocka_unit_test(caps_cut_with_a_comment),
		cmocka_unit_test(long_names_cut),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
