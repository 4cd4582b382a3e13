// SPDX-License-Identifier: Apache-2.0
/* The start-up's memory marks: VmRSS and VmHWM out of /proc/PID/status. */
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>
#include "memstat.h"

static int parse(const char *s, unsigned long *rss, unsigned long *hwm)
{
	return memstat__parse(s, strlen(s), rss, hwm);
}

static void reads_both(void **state)
{
	unsigned long rss = 0, hwm = 0;

	(void)state;
	assert_int_equal(parse("Name:\tmemtide\nVmPeak:\t  99 kB\nVmHWM:\t   24172 kB\n"
			       "VmRSS:\t   14000 kB\nRssAnon:\t 2572 kB\n",
			       &rss, &hwm),
			 0);
	assert_int_equal(rss, 14000);
	assert_int_equal(hwm, 24172);
}

static void wants_whole_lines_and_both_keys(void **state)
{
	unsigned long rss = 0, hwm = 0;

	(void)state;
	/* a key inside another line's name is not the key */
	assert_int_equal(parse("XVmRSS:\t1 kB\nVmHWM:\t2 kB\n", &rss, &hwm), -EINVAL);
	assert_int_equal(parse("VmHWM:\t2 kB\n", &rss, &hwm), -EINVAL);
	assert_int_equal(parse("VmRSS:\t kB\nVmHWM:\t2 kB\n", &rss, &hwm), -EINVAL);
	/* cut short (a value at the very end could run past the buffer) */
	assert_int_equal(parse("VmHWM:\t2 kB\nVmRSS:\t1", &rss, &hwm), -EINVAL);
	assert_int_equal(memstat__parse("", 0, &rss, &hwm), -EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(reads_both),
		cmocka_unit_test(wants_whole_lines_and_both_keys),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
