/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Processes as the kernel starts, renames, moves and ends them
 * (bpf/procs.bpf.c): the events come through a ring buffer whose fd the
 * collection loop polls; every process's RSS comes from a task iterator.
 */
#ifndef MEMTIDE_DISCOVERY_H
#define MEMTIDE_DISCOVERY_H

#include <linux/types.h>
#include <stddef.h>
#include <stdint.h>
#include "procs.h"

struct discovery;

typedef void (*discovery_event_fn)(void *ctx, const struct procs_event *e);

/* Loads and attaches the programs; @fn(@ctx, event) is called from
 * discovery__consume(). MEMTIDE_DISCOVERY_RINGBUF_BYTES (tests only) sizes
 * the ring buffer. */
int discovery__open(discovery_event_fn fn, void *ctx, struct discovery **out);
void discovery__destroy(struct discovery *d);
/* Readable (poll) when events wait. */
int discovery__fd(const struct discovery *d);
/* Hands every waiting event to the callback; how many, or -errno. */
int discovery__consume(struct discovery *d);
/* Events the kernel could not queue (ring buffer full) since start. */
uint64_t discovery__lost(const struct discovery *d);
/* Events handed over since start, by enum procs_event_type. */
void discovery__events(const struct discovery *d, uint64_t out[PROCS_NR]);
/* Every process with memory, in one pass of the task iterator, sorted by
 * pid. The caller frees *out. */
int discovery__read_procs(struct discovery *d, struct procs_record **out, size_t *n);

#endif
