/* SPDX-License-Identifier: Apache-2.0 */
/*
 * POST /api/v1/memory/gc: trim now. The caller (an HTTP thread) only takes
 * a place for the request (gc__begin) and hands it over (gc__wait); choosing
 * the targets, the rate limit, the signals and the wait for the hooks'
 * answers are the work of one thread of this module's own, for every request
 * at once, so no thread that serves scrapes ever waits on a trim.
 */
#ifndef MEMTIDE_GC_H
#define MEMTIDE_GC_H

#include <stdbool.h>
#include <stddef.h>
#include "trim.h"
#include "heap.h"

#define HTTP_PEER_LEN 64 /* a client as "[IPv6]:port", the longest form */

struct gc_deps {
	struct trim *trim;
	struct heap *heap;
};

struct gc;
struct gc_request;

/* Starts the module's thread. */
int gc__start(const struct gc_deps *deps, struct gc **out);
/* Stops the thread and answers every request in flight (503); from then on
 * gc__begin answers 503 at once. */
void gc__stop(struct gc *g);
void gc__free(struct gc *g);

/*
 * One POST from @peer (for the log): @pid 0 for every hooked process above
 * the high water mark. Cheap: takes one of the places for requests in
 * flight. Returns 0 with *out either pending (gc_request__pending: hand it
 * to gc__wait) or already answered (503: no place, or stopping). -ENOMEM:
 * no request.
 */
int gc__begin(struct gc *g, int pid, const char *peer, struct gc_request **out);
bool gc_request__pending(const struct gc_request *r);
/* Hands a pending request to the thread; @done(@arg) is called once it is
 * answered, from that thread (or at once if the module is stopping). After
 * @done the module no longer touches @r. */
void gc__wait(struct gc *g, struct gc_request *r, void (*done)(void *arg), void *arg);
/* The answer: HTTP status, Retry-After in seconds (0: none) and the JSON
 * body, handed over to the caller (free()). NULL body: out of memory. */
unsigned int gc_request__answer(struct gc_request *r, unsigned int *retry_after, char **body,
				size_t *len);
void gc_request__free(struct gc_request *r);

/* A request refused before it reached the module (no token): logged like
 * every refusal, at a bounded rate. */
void gc__log_refusal(struct gc *g, const char *peer, const char *why);

#endif
