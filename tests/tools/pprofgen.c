// SPDX-License-Identifier: Apache-2.0
/*
 * Writes the pprof tests' fixture profile (tests/tools/pprof_fixture.h), as
 * pprof__encode() makes it, to FILE: tests/integration/test_pprof.sh hands it
 * to `go tool pprof`.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "pprof.h"
#include "pprof_fixture.h"

int main(int argc, char **argv)
{
	char *gz = NULL;
	size_t len = 0;
	FILE *f;
	int ret;

	if (argc != 2) {
		fprintf(stderr, "usage: %s FILE\n", argv[0]);
		return 2;
	}
	ret = pprof__encode(&fixture_input, &gz, &len);
	if (ret) {
		fprintf(stderr, "pprofgen: encode: %s\n", strerror(-ret));
		return 1;
	}
	f = fopen(argv[1], "wb");
	if (!f || fwrite(gz, 1, len, f) != len || fclose(f)) {
		fprintf(stderr, "pprofgen: %s: %s\n", argv[1], strerror(errno));
		free(gz);
		return 1;
	}
	free(gz);
	return 0;
}
