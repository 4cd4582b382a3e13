// SPDX-License-Identifier: Apache-2.0
/* The scalar parsers behind configuration values, cgroup limits and request
 * headers, on any string, with the ranges they promise checked. */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "config.h"
#include "fuzz.h"
#include "gzip.h"
#include "log.h"
#include "procfs.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* The limits the loader passes, and the edges. */
	static const uint64_t maxes[] = {
		0, 1, 65535, 100000, 4194304, 100000000, UINT64_C(1) << 40, UINT64_MAX
	};
	char *s = fuzz_cstr(data, size), *host = NULL;
	enum log_level level;
	unsigned int port = 0;
	uint64_t u;
	double d;
	bool b;

	if (!parse_duration_ms(s, &u))
		FUZZ_CHECK(u <= UINT64_C(1000000000000000));
	if (!parse_percent(s, &d))
		FUZZ_CHECK(d >= 0 && d <= 100);
	for (size_t i = 0; i < sizeof(maxes) / sizeof(maxes[0]); i++)
		if (!parse_uint(s, maxes[i], &u))
			FUZZ_CHECK(u <= maxes[i]);
	if (!parse_bool(s, &b))
		FUZZ_CHECK(strcmp(s, b ? "true" : "false") == 0);
	if (!parse_listen(s, &host, &port)) {
		FUZZ_CHECK(host && strlen(host) < strlen(s));
		FUZZ_CHECK(port > 0 && port <= 65535);
	}
	free(host);
	if (!log__parse_level(s, &level))
		FUZZ_CHECK(level >= LOG_DEBUG && level <= LOG_ERROR);
	procfs__parse_limit(s, &u);
	/* Accept-Encoding is any client's bytes. */
	gzip__accepted(s);
	free(s);
	return 0;
}
