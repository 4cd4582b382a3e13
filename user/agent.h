/* SPDX-License-Identifier: Apache-2.0 */
/* The collection loop: discovery, snapshots, outputs, signals. */
#ifndef MEMTIDE_AGENT_H
#define MEMTIDE_AGENT_H

#include <stdbool.h>
#include "config.h"

struct agent;

/* Takes ownership of @cfg. Signals must already be blocked in all threads. */
int agent__new(struct config *cfg, bool once, struct agent **out);
/* Runs until SIGTERM/SIGINT (or one interval with --once); returns the exit code. */
int agent__run(struct agent *a);
void agent__free(struct agent *a);

#endif
