// SPDX-License-Identifier: Apache-2.0
/* The senders' backoff: the sequence of waits after failures, and its jitter. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <limits.h>
#include <cmocka.h>
#include "http_client.h"

/* The Alertmanager sender's: 1 s, doubling, capped at 5 minutes. */
static void doubles_from_one_second_to_the_cap(void **state)
{
	static const uint64_t want[] = { 1000,	1000,  2000,   4000,   8000,   16000,
					 32000, 64000, 128000, 256000, 300000, 300000 };

	(void)state;
	for (unsigned int k = 0; k < sizeof(want) / sizeof(want[0]); k++)
		assert_int_equal(http_client__backoff(1000, k), want[k]);
	assert_int_equal(http_client__backoff(1000, UINT_MAX), HTTP_CLIENT_BACKOFF_CAP_MS);
}

/* The pusher's starts from its interval; one above the cap is cut to it
 * after the first failure, and kept while nothing failed. */
static void starts_from_the_base(void **state)
{
	(void)state;
	assert_int_equal(http_client__backoff(15000, 0), 15000);
	assert_int_equal(http_client__backoff(15000, 1), 15000);
	assert_int_equal(http_client__backoff(15000, 2), 30000);
	assert_int_equal(http_client__backoff(15000, 5), 240000);
	assert_int_equal(http_client__backoff(15000, 6), HTTP_CLIENT_BACKOFF_CAP_MS);
	assert_int_equal(http_client__backoff(600000, 0), 600000);
	assert_int_equal(http_client__backoff(600000, 1), HTTP_CLIENT_BACKOFF_CAP_MS);
	assert_int_equal(http_client__backoff(0, UINT_MAX), 0);
}

/* Scaled into [delay/2, delay], and not always the same. */
static void jitter_stays_in_half_to_whole(void **state)
{
	unsigned int seed = 1;
	uint64_t lo = UINT64_MAX, hi = 0;

	(void)state;
	for (int i = 0; i < 1000; i++) {
		uint64_t d = http_client__jitter(8000, &seed);

		assert_in_range(d, 4000, 8000);
		lo = d < lo ? d : lo;
		hi = d > hi ? d : hi;
	}
	assert_true(lo < hi);
	assert_int_equal(http_client__jitter(0, &seed), 0);
	assert_in_range(http_client__jitter(1, &seed), 0, 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(doubles_from_one_second_to_the_cap),
		cmocka_unit_test(starts_from_the_base),
		cmocka_unit_test(jitter_stays_in_half_to_whole),
	};

	return cmocka_run_group_tests_name("http_client", tests, NULL, NULL);
}
