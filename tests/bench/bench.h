/* SPDX-License-Identifier: Apache-2.0 */
/* Helpers the benchmarks share: clocks and the median's sort. */
#ifndef MEMTIDE_BENCH_H
#define MEMTIDE_BENCH_H

#include <time.h>

static inline double clock_ns(clockid_t clock)
{
	struct timespec ts;

	clock_gettime(clock, &ts);
	return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

static inline int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

#endif
