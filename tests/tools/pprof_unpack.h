/* SPDX-License-Identifier: Apache-2.0 */
/*
 * A gzipped pprof profile as a reader sees it: gunzipped with zlib and
 * unpacked with the generated protobuf-c code (tests/unit/test_pprof.c,
 * tests/fuzz/fuzz_pprof.c). Header-only, for the tests.
 */
#ifndef MEMTIDE_PPROF_UNPACK_H
#define MEMTIDE_PPROF_UNPACK_H

#include <stdint.h>
#include <stdlib.h>
#include <zlib.h>
#include "pprof.pb-c.h"

/* The profile in @len bytes of gzip, or NULL when they are not one. */
static inline Memtide__Pprof__Profile *pprof_unpack_gz(const char *gz, size_t len)
{
	size_t cap = 1 << 16;
	uint8_t *wire = malloc(cap), *more;
	Memtide__Pprof__Profile *p = NULL;
	z_stream z = { 0 };
	int ret;

	if (!wire || inflateInit2(&z, 15 + 16) != Z_OK) {
		free(wire);
		return NULL;
	}
	z.next_in = (Bytef *)gz;
	z.avail_in = (uInt)len;
	for (;;) {
		z.next_out = wire + z.total_out;
		z.avail_out = (uInt)(cap - z.total_out);
		ret = inflate(&z, Z_FINISH);
		if (ret == Z_STREAM_END) {
			p = memtide__pprof__profile__unpack(NULL, z.total_out, wire);
			break;
		}
		if (ret != Z_BUF_ERROR && ret != Z_OK)
			break;
		cap *= 2;
		more = realloc(wire, cap);
		if (!more)
			break;
		wire = more;
	}
	inflateEnd(&z);
	free(wire);
	return p;
}

#endif
