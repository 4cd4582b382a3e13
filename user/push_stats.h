/* SPDX-License-Identifier: Apache-2.0 */
/* The pusher's figures as a snapshot carries them: data only, no I/O. */
#ifndef MEMTIDE_PUSH_STATS_H
#define MEMTIDE_PUSH_STATS_H

#include <stdbool.h>
#include <stdint.h>

struct push_stats {
	bool enabled;
	uint64_t successes, failures;
	unsigned int consecutive_failures;
	double last_success_time; /* unix seconds; 0: never */
};

#endif
