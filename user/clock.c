// SPDX-License-Identifier: Apache-2.0
/* The clocks the agent reads, and timed waits on them. */
#include "clock.h"

static uint64_t ns(clockid_t clock)
{
	struct timespec ts;

	clock_gettime(clock, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

uint64_t clock__mono_ms(void)
{
	return ns(CLOCK_MONOTONIC) / 1000000;
}

uint64_t clock__boot_ns(void)
{
	return ns(CLOCK_BOOTTIME);
}

double clock__unix(void)
{
	return (double)ns(CLOCK_REALTIME) / 1e9;
}

int clock__cond_init(pthread_cond_t *cond)
{
	pthread_condattr_t attr;
	int err = pthread_condattr_init(&attr);

	if (err)
		return -err;
	pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
	err = pthread_cond_init(cond, &attr);
	pthread_condattr_destroy(&attr);
	return -err;
}

struct timespec clock__deadline(uint64_t ms)
{
	uint64_t at = ns(CLOCK_MONOTONIC) + ms * 1000000;

	return (struct timespec){ .tv_sec = (time_t)(at / 1000000000ULL),
				  .tv_nsec = (long)(at % 1000000000ULL) };
}
