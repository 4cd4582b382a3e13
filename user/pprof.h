/* SPDX-License-Identifier: Apache-2.0 */
/*
 * A heap profile in pprof's format (github.com/google/pprof, proto/profile.proto),
 * gzip-compressed, as GET /api/v1/memory/profile answers and `go tool pprof` reads.
 *
 * A pure function over plain arrays: the caller owns the input (sampled stacks
 * from BPF, symbols from the symbolizer) and gets back a malloc'd buffer.
 * Every string is untrusted bytes (names out of arbitrary binaries): it goes
 * through utf8__sanitize(), cut at PPROF_MAX_NAME bytes first.
 *
 * The profile: sample types alloc_objects/count, alloc_space/bytes,
 * inuse_objects/count, inuse_space/bytes (in that order; inuse_space is the
 * default), period_type space/bytes. Mapping i gets id i + 1, location i id
 * i + 1; functions are deduplicated by (name, system name, file).
 */
#ifndef MEMTIDE_PPROF_H
#define MEMTIDE_PPROF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Bounds on one profile. Over PPROF_MAX_SAMPLES, the samples past the cap are
 * left out and over PPROF_MAX_DEPTH a stack keeps its leaf-most frames (the
 * allocation site is the leaf); either way a profile comment says how many.
 * Mappings, locations or inlined lines over their caps: -E2BIG (the indices
 * that name them could not be kept consistent). */
#define PPROF_MAX_SAMPLES 65536
#define PPROF_MAX_DEPTH 128 /* > the kernel's default perf_event_max_stack, 127 */
#define PPROF_MAX_LOCATIONS 262144
#define PPROF_MAX_MAPPINGS 4096
#define PPROF_MAX_INLINED 32 /* inlined lines per location */
#define PPROF_MAX_BUILD_ID 64 /* bytes; a GNU build id is 20 */
#define PPROF_MAX_NAME 4096 /* bytes of any one string kept before sanitizing */

/* struct pprof_location.mapping for an address in no known mapping. */
#define PPROF_NO_MAPPING UINT32_MAX

struct pprof_mapping {
	uint64_t start; /* first address of the mapping */
	uint64_t limit; /* one past its last address */
	uint64_t offset; /* file offset that start maps */
	const char *filename; /* the file's path, "[vdso]", ...; NULL: none */
	const uint8_t *build_id; /* raw bytes (.note.gnu.build-id), written as lower hex */
	size_t build_id_len; /* 0: none */
	bool has_functions, has_filenames, has_line_numbers, has_inline_frames;
};

/* A source line: the function it is in and where. NULL strings are unknown. */
struct pprof_line {
	const char *function; /* the name a user reads (demangled) */
	const char *system_name; /* the symbol as in the binary; NULL: same as function */
	const char *filename; /* the source file */
	int64_t line; /* 0: unknown */
};

struct pprof_location {
	uint64_t address; /* the instruction address, as the process sees it */
	uint32_t mapping; /* index into the mappings, or PPROF_NO_MAPPING */
	/* The function holding the address; line.function NULL: not symbolized
	 * (pprof then shows the address). */
	struct pprof_line line;
	/* Functions inlined at the address, innermost first (optional). */
	const struct pprof_line *inlined;
	uint32_t n_inlined;
};

struct pprof_sample {
	const uint32_t *locations; /* indices into the locations, leaf first */
	uint32_t n_locations;
	/* Estimates of the whole (already scaled by the sampling), written as is. */
	int64_t alloc_objects, alloc_space, inuse_objects, inuse_space;
};

struct pprof_input {
	const struct pprof_mapping *mappings;
	size_t n_mappings;
	const struct pprof_location *locations;
	size_t n_locations;
	const struct pprof_sample *samples;
	size_t n_samples;
	int64_t period; /* the sampler's mean in bytes (512 KiB by default) */
	int64_t time_nanos; /* when the collection started, ns since the epoch */
	int64_t duration_nanos; /* how long it covers; 0: unknown */
};

/*
 * Encodes @in as a gzipped profile into *@out (malloc'd; the caller frees it),
 * *@out_len bytes. 0, -EINVAL (an index out of range), -E2BIG (over a cap) or
 * -ENOMEM; on error *@out is left alone.
 */
int pprof__encode(const struct pprof_input *in, char **out, size_t *out_len);

#endif
