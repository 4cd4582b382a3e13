/* SPDX-License-Identifier: Apache-2.0 */
/*
 * What the gc thread sleeps on: a kick from another thread (a request handed
 * over, or stop) and the hook tier's ring buffer (a trim reported, a hooked
 * process gone), in one epoll wait. A POST gc is answered on the hook's
 * report itself, not on the next round of a polling loop.
 */
#ifndef MEMTIDE_GC_WAKE_H
#define MEMTIDE_GC_WAKE_H

#include "heap_types.h"

struct gc_wake;
/* Called on the waiting thread, once per event. */
typedef void (*gc_wake_fn)(void *ctx, const struct hook_event *e);

/* @events_fd: the ring buffer map (heap__hook_events_fd), or -1: kicks only. */
int gc_wake__new(int events_fd, gc_wake_fn fn, void *ctx, struct gc_wake **out);
/* From any thread: the next (or current) gc_wake__wait returns at once. */
void gc_wake__kick(struct gc_wake *w);
/* Sleeps until a kick, an event or @timeout_ms (-1: no timeout), then hands
 * every event in the ring buffer to the callback. */
void gc_wake__wait(struct gc_wake *w, int timeout_ms);
void gc_wake__free(struct gc_wake *w);

#endif
