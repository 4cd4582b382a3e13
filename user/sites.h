/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Sampled allocation sites: BPF programs on the OpenTelemetry memory USDT
 * probes (otel_memory:alloc(ptr, size, weight), otel_memory:free(ptr)) of the
 * processes the agent attaches, and per process the figures of each user
 * stack that allocated. Thread-safe.
 */
#ifndef MEMTIDE_SITES_H
#define MEMTIDE_SITES_H

#include <linux/types.h>
#include <stddef.h>
#include <stdint.h>
#include "sites_types.h"

struct sites;

/* Loads the programs and maps. @live_per_process caps one process's live
 * samples (0: SITES_LIVE_PER_PROCESS; at most SITES_MAX_LIVE, the global cap). */
int sites__open(uint64_t live_per_process, struct sites **out);
/* Removes every probe and frees everything. NULL is fine. */
void sites__destroy(struct sites *s);

/*
 * Attaches to every file-backed executable mapping of @pid whose ELF carries
 * otel_memory's alloc (3 arguments) or free (1 argument) notes. Again on the
 * same pid it attaches only binaries mapped since (dlopen). 0; -ENOENT when
 * no mapping has such probes (nothing attached); -ESRCH when the process is
 * gone; -EACCES when its maps are not ours to read; -E2BIG when SITES_MAX_PROCESSES are attached;
 * other -errno from libbpf (then nothing of @pid stays attached).
 */
int sites__attach(struct sites *s, int pid);
/* Drops @pid's probes and every map entry of it: live samples, sites, its
 * counters, and stacks no other process uses. For a process that is gone
 * too (the agent calls it on exit). */
void sites__detach(struct sites *s, int pid);

/* One stack of a process: @ips[0] is the probe site, then its callers
 * (return addresses); @depth 0 when the stack was lost (SITES_NO_STACK). A
 * nonzero return stops sites__read, which returns it. */
typedef int (*sites_stack_fn)(void *ctx, const uint64_t *ips, size_t depth,
			      const struct sites_figures *figures);
/* Calls @fn for each stack @pid allocated from; @drops (may be NULL) gets the
 * process's drops. 0, -ENOENT when @pid is not attached. */
int sites__read(struct sites *s, int pid, sites_stack_fn fn, void *ctx, struct sites_drops *drops);
/* Drops of every process since open (for memtide_* health metrics). */
void sites__total_drops(struct sites *s, struct sites_drops *out);
/* Probe links @pid holds (each is one USDT probe on one binary). */
size_t sites__links(struct sites *s, int pid);

#endif
