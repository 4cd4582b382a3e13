/* SPDX-License-Identifier: GPL-2.0 */
/* Finds the processes to track, keeps the BPF map in step, builds snapshots. */
#ifndef MEMTIDE_COLLECTOR_H
#define MEMTIDE_COLLECTOR_H

#include "config.h"
#include "loader.h"
#include "snapshot.h"

struct collector;

int collector__new(struct loader *loader, const struct config *cfg, struct collector **out);
void collector__free(struct collector *c);
/* The caller keeps @cfg alive until the next call or collector__free(). */
void collector__set_config(struct collector *c, const struct config *cfg);
/* Scans /proc, applies the target rules, starts and stops tracking. */
int collector__discover(struct collector *c);
/* A new snapshot (one reference, not yet rendered) or NULL on ENOMEM. */
struct snapshot *collector__snapshot(struct collector *c);

#endif
