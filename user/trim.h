/* SPDX-License-Identifier: Apache-2.0 */
/* Asking a process's control hook to run malloc_trim(0), safely. */
#ifndef MEMTIDE_TRIM_H
#define MEMTIDE_TRIM_H

#include <stdbool.h>
#include <stdint.h>
#include "proc_key.h"

struct trim;

int trim__new(struct trim **out);
void trim__free(struct trim *t);
/* Opens a pidfd for (@pid, @start_ticks) when first seen: signals then go to
 * that process or nowhere, never to a later one reusing the number. */
int trim__watch(struct trim *t, int pid, uint64_t start_ticks);
/* Closes the process's pidfd: its heap tier went off, or it is gone (proc_gone_fn). */
void trim__forget(struct trim *t, const struct proc_key *k);
/* Whether (@pid, @start_ticks) is watched: the collector watches a process
 * once the probe on its hook's reports is on. Thread-safe. */
bool trim__watched(struct trim *t, int pid, uint64_t start_ticks);
/*
 * Signals the hook of @pid. Refused, with *why set, unless the process maps
 * the hook library and handles its signal (SigCgt): -ENOTSUP then; -ESRCH
 * when it is gone or not watched. Thread-safe.
 */
int trim__request(struct trim *t, int pid, const char **why);

#endif
