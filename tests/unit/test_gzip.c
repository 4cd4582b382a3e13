// SPDX-License-Identifier: Apache-2.0
/* Accept-Encoding as Prometheus and browsers send it, and the round trip. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include <zlib.h>
#include "gzip.h"

static void accepts_what_clients_send(void **state)
{
	(void)state;
	/* Prometheus 2.x */
	assert_true(gzip__accepted("gzip"));
	/* curl --compressed, browsers */
	assert_true(gzip__accepted("deflate, gzip"));
	assert_true(gzip__accepted("gzip, deflate, br"));
	assert_true(gzip__accepted("GZIP"));
	assert_true(gzip__accepted("br;q=1.0, gzip;q=0.8, *;q=0.1"));
	assert_true(gzip__accepted("*"));
	assert_true(gzip__accepted(" gzip ; q=0.001"));
}

static void refuses_what_does_not_ask(void **state)
{
	(void)state;
	assert_false(gzip__accepted(NULL));
	assert_false(gzip__accepted(""));
	assert_false(gzip__accepted("identity"));
	assert_false(gzip__accepted("deflate, br"));
	assert_false(gzip__accepted("gzip;q=0"));
	assert_false(gzip__accepted("gzip;q=0.000"));
	assert_false(gzip__accepted("x-gzipped, gzipx, gzi"));
	/* An explicit refusal wins over the wildcard. */
	assert_false(gzip__accepted("gzip;q=0, *"));
	assert_false(gzip__accepted("*;q=0"));
	assert_false(gzip__accepted(",;,q=,;q"));
}

/* zlib's own inflate reads back what was compressed. */
static void round_trip(void **state)
{
	char text[20000], back[20000];
	char *gz = NULL;
	size_t gz_len = 0;
	z_stream z = { 0 };

	(void)state;
	for (size_t i = 0; i < sizeof(text); i++)
		text[i] = "memory_sys_bytes{pid=\"1\"} 4096\n"[i % 32];
	assert_int_equal(gzip__compress(text, sizeof(text), &gz, &gz_len), 0);
	assert_true(gz_len > 18 && gz_len < sizeof(text) / 4);
	assert_int_equal((unsigned char)gz[0], 0x1f); /* gzip magic */
	assert_int_equal((unsigned char)gz[1], 0x8b);
	assert_int_equal(inflateInit2(&z, 15 + 16), Z_OK);
	z.next_in = (Bytef *)gz;
	z.avail_in = (uInt)gz_len;
	z.next_out = (Bytef *)back;
	z.avail_out = sizeof(back);
	assert_int_equal(inflate(&z, Z_FINISH), Z_STREAM_END);
	assert_int_equal(z.total_out, sizeof(text));
	assert_memory_equal(back, text, sizeof(text));
	inflateEnd(&z);
	free(gz);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(accepts_what_clients_send),
		cmocka_unit_test(refuses_what_does_not_ask),
		cmocka_unit_test(round_trip),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
