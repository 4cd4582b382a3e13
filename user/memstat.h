/* SPDX-License-Identifier: Apache-2.0 */
/* The agent's own memory (VmRSS, VmHWM) at points of its start-up, logged at
 * debug: where the start-up peak comes from. */
#ifndef MEMTIDE_MEMSTAT_H
#define MEMTIDE_MEMSTAT_H

#include <stddef.h>

/* VmRSS and VmHWM in kB from /proc/PID/status text; 0, or -EINVAL when
 * either is missing. */
int memstat__parse(const char *status, size_t len, unsigned long *rss_kb, unsigned long *hwm_kb);
/* Logs "memory after @where: VmRSS N kB, VmHWM N kB" at debug. */
void memstat__mark(const char *where);

#endif
