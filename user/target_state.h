/* SPDX-License-Identifier: Apache-2.0 */
/* Whether a tracked process made it into a snapshot, and if not, why. */
#ifndef MEMTIDE_TARGET_STATE_H
#define MEMTIDE_TARGET_STATE_H

#include <stdbool.h>

enum target_state {
	TARGET_REPORTED,
	TARGET_GONE, /* exited, or its number reused, since the last /proc scan */
	TARGET_UNREADABLE, /* alive, but the kernel tier has no record of it */
	TARGET_STATES
};

/* The `state` label of memtide_selected_targets. */
const char *target_state__name(enum target_state s);
/* Logs why pid @pid is left out of the outputs (@quiet: at debug). */
void target_state__explain(int pid, const char *comm, enum target_state s, bool quiet);

#endif
