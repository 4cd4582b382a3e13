/* SPDX-License-Identifier: Apache-2.0 */
/* The clocks the agent reads, and timed waits on them. */
#ifndef MEMTIDE_CLOCK_H
#define MEMTIDE_CLOCK_H

#include <pthread.h>
#include <stdint.h>
#include <time.h>

uint64_t clock__mono_ms(void); /* CLOCK_MONOTONIC, for intervals and deadlines */
uint64_t clock__boot_ns(void); /* CLOCK_BOOTTIME, the clock BPF timestamps use */
double clock__unix(void); /* CLOCK_REALTIME, in seconds */
/* A condition variable whose timed waits use CLOCK_MONOTONIC. */
int clock__cond_init(pthread_cond_t *cond);
/* The CLOCK_MONOTONIC time @ms from now, for pthread_cond_timedwait(). */
struct timespec clock__deadline(uint64_t ms);

#endif
