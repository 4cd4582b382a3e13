/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Sampled allocation sites of the tracked processes that carry the
 * OpenTelemetry memory probes (memtide's hook, or any program firing
 * otel_memory:alloc/free): the probes attached (sites.c), each stack named by
 * its site (symbolize.c, site.c), the top sites per process in every
 * snapshot with their growth over the leak window, and pprof profiles on
 * demand (pprof.c). Thread-safe: the collection loop fills snapshots, HTTP
 * threads ask for profiles.
 */
#ifndef MEMTIDE_PROFILE_H
#define MEMTIDE_PROFILE_H

#include <stddef.h>
#include <stdint.h>
#include "config.h"
#include "proc_key.h"
#include "snapshot.h"

struct profile;

/* Loads the BPF side. 0 or -errno (the agent runs on without profiles). */
int profile__new(const struct config *cfg, struct profile **out);
void profile__free(struct profile *p);
/* After a reload (the settings are copied); disabled: every probe goes. */
void profile__set_config(struct profile *p, const struct config *cfg);
/*
 * Once per snapshot, before alerts and outputs: attaches the probes of
 * tracked processes that carry them (a few per call; a process without them
 * is looked at again later, sooner when it runs the hook), and fills each
 * profiled sample's top sites, their growth since the oldest baseline inside
 * @leak_window_ms, and its drops.
 */
void profile__fill(struct profile *p, struct snapshot *snap, uint64_t now_ms,
		   uint64_t leak_window_ms);
/* The process is gone (proc_gone_fn): its probes, samples and names go. */
void profile__forget(struct profile *p, const struct proc_key *k);
/*
 * A gzipped pprof heap profile of @pid into *@out (malloc'd), *@len bytes:
 * 0, -ENOENT when @pid is not profiled, or -errno.
 */
int profile__pprof(struct profile *p, int pid, char **out, size_t *len);

#endif
