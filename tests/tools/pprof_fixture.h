/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The heap profile the pprof tests encode (tests/unit/test_pprof.c checks its
 * messages, tests/tools/pprofgen.c writes it for `go tool pprof`): 3 stacks
 * over 2 mappings, frames shared between stacks, one function reached at two
 * addresses, one inlined frame, and one name that is not UTF-8.
 */
#ifndef MEMTIDE_PPROF_FIXTURE_H
#define MEMTIDE_PPROF_FIXTURE_H

#include "pprof.h"

/* "evil", two bytes no UTF-8 starts with, "_name", an overlong NUL. */
#define FIXTURE_HOSTILE "evil\xff\xfe_name\xc0\x80"
/* What pprof must show for it: each ill-formed byte a U+FFFD. */
#define FIXTURE_HOSTILE_CLEAN "evil\uFFFD\uFFFD_name\uFFFD\uFFFD"

static const uint8_t fixture_exe_id[20] = { 0xde, 0xad, 0xbe, 0xef, 0x00, 0x01, 0x02,
					    0x03, 0x04, 0x05, 0x06, 0x07, 0x08, 0x09,
					    0x0a, 0x0b, 0x0c, 0x0d, 0x0e, 0xff };
static const uint8_t fixture_lib_id[8] = { 0x10, 0x32, 0x54, 0x76, 0x98, 0xba, 0xdc, 0xfe };

static const struct pprof_mapping fixture_mappings[] = {
	{ .start = 0x400000,
	  .limit = 0x452000,
	  .offset = 0,
	  .filename = "/usr/bin/memtide-fixture",
	  .build_id = fixture_exe_id,
	  .build_id_len = sizeof(fixture_exe_id),
	  .has_functions = true,
	  .has_filenames = true,
	  .has_line_numbers = true,
	  .has_inline_frames = true },
	{ .start = 0x7f0000001000,
	  .limit = 0x7f0000080000,
	  .offset = 0x1000,
	  .filename = "/usr/lib/libfixture.so",
	  .build_id = fixture_lib_id,
	  .build_id_len = sizeof(fixture_lib_id),
	  .has_functions = true },
};

static const struct pprof_line fixture_inlined[] = {
	{ .function = "read_header", .filename = "src/server.c", .line = 5 },
};

static const struct pprof_location fixture_locations[] = {
	{ 0x401010, 0, { "parse_request", NULL, "src/parse.c", 42 }, NULL, 0 },
	{ 0x402020, 0, { "handle_conn", NULL, "src/server.c", 17 }, NULL, 0 },
	{ 0x403030, 0, { "main", NULL, "src/main.c", 9 }, NULL, 0 },
	{ 0x7f0000002040, 1, { "lib_alloc", "_Z9lib_allocm", "lib/alloc.c", 100 }, NULL, 0 },
	{ 0x7f0000003050, 1, { FIXTURE_HOSTILE, NULL, NULL, 0 }, NULL, 0 },
	{ 0x401080, 0, { "parse_request", NULL, "src/parse.c", 57 }, NULL, 0 },
	{ 0x402040, 0, { "handle_conn", NULL, "src/server.c", 20 }, fixture_inlined, 1 },
};

static const uint32_t fixture_stack0[] = { 0, 1, 2 };
static const uint32_t fixture_stack1[] = { 3, 5, 1, 2 };
static const uint32_t fixture_stack2[] = { 4, 6, 2 };

/* alloc_objects, alloc_space, inuse_objects, inuse_space */
static const struct pprof_sample fixture_samples[] = {
	{ fixture_stack0, 3, 10, 5242880, 4, 2097152 },
	{ fixture_stack1, 4, 3, 1572864, 3, 1572864 },
	{ fixture_stack2, 3, 1, 524288, 0, 0 },
};

static const struct pprof_input fixture_input = {
	.mappings = fixture_mappings,
	.n_mappings = 2,
	.locations = fixture_locations,
	.n_locations = 7,
	.samples = fixture_samples,
	.n_samples = 3,
	.period = 524288,
	.time_nanos = 1700000000123456789,
	.duration_nanos = 30000000000,
};

#endif
