// SPDX-License-Identifier: Apache-2.0
/*
 * The Prometheus text writer over a snapshot made from the input: comm,
 * container and OOM victim strings are arbitrary bytes, every number any bit
 * pattern. Also the Pushgateway group path, whose job and instance are
 * arbitrary strings. Besides memory safety and the buffer's contract: the
 * page is valid UTF-8 whatever the strings held.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "buf.h"
#include "exposition.h"
#include "fuzz.h"
#include "push.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_in in = { data, size };
	struct snapshot *s = fuzz_snapshot(&in);
	struct buf b, small;
	char *job, *instance;
	int rc;

	buf__init(&b, FUZZ_BUF_MAX);
	FUZZ_CHECK(exposition__render(s, &b) == 0);
	/* Strings are NUL-terminated in their fields: no NUL can reach the text. */
	FUZZ_CHECK(b.data && strlen(b.data) == b.len);
	FUZZ_CHECK(fuzz_valid_utf8(b.data, b.len));

	/* Under a cap every writer stops cleanly, and what fits is whole. */
	buf__init(&small, (size_t)fuzz_u8(&in) * 97 + 1);
	rc = exposition__render(s, &small);
	FUZZ_CHECK(rc == 0 || rc == -E2BIG);
	FUZZ_CHECK(small.len < small.max);
	if (!rc)
		FUZZ_CHECK(small.len == b.len && memcmp(small.data, b.data, b.len) == 0);
	buf__free(&small);

	buf__reset(&b);
	job = fuzz_string(&in, 255);
	instance = fuzz_string(&in, 255);
	FUZZ_CHECK(push__group_path(job, instance, &b) == 0);
	FUZZ_CHECK(strlen(b.data) == b.len);
	free(job);
	free(instance);

	buf__free(&b);
	snapshot__put(s);
	return 0;
}
