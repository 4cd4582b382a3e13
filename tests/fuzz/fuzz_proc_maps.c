// SPDX-License-Identifier: Apache-2.0
/*
 * The symbolizer's /proc/PID/maps parser (user/proc_maps.c): a process names
 * its files and anonymous mappings, so the text holds bytes its owner chose.
 * Every parsed mapping's path stays inside its line, and start <= end.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "fuzz.h"
#include "proc_maps.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* Exactly the input's bytes, no NUL after them: reads past the end are ASan's. */
	char *text = malloc(size ? size : 1);
	const char *pos, *end;
	struct proc_map m;

	if (!text)
		abort();
	memcpy(text, data, size);
	pos = text;
	end = text + size;
	for (;;) {
		const char *line = pos;

		if (!proc_maps__next(&pos, end, &m))
			break;
		FUZZ_CHECK(m.path >= line && m.path + m.path_len <= pos);
		FUZZ_CHECK(!memchr(m.path, '\n', m.path_len));
		FUZZ_CHECK(m.start <= m.end);
		FUZZ_CHECK(!m.deleted || m.path_len > 10);
		(void)proc_map__is_file(&m);
	}
	FUZZ_CHECK(pos == end);
	free(text);
	return 0;
}
