/* SPDX-License-Identifier: Apache-2.0 */
/* Inside the gc module: a request, as gc.c (the thread) and gc_answer.c
 * (the JSON answers) share it. */
#ifndef MEMTIDE_GC_INT_H
#define MEMTIDE_GC_INT_H

#include <stdbool.h>
#include <stdint.h>
#include "api.h"
#include "buf.h"
#include "gc.h"

struct gc_target {
	struct gc_result r;
	uint64_t start_ticks; /* with r.pid, the process (for the rate limit) */
	bool probe_wait; /* its hook is loaded, its reports not probed yet: signalled once they are
			  */
	uint64_t want; /* the hook's trim count that answers us; 0: not signalled */
	bool woken; /* its hook reported a trim, or it exited: read its state */
	bool exited;
	unsigned int reads; /* of its hook's state while waiting (the log says) */
	uint64_t read_by_ms; /* read then even without an event: one may be lost */
	char why[128]; /* a reason written for this target */
};

struct gc_request {
	struct gc_request *next; /* in the waiting queue */
	char peer[HTTP_PEER_LEN];
	int pid;
	uint64_t deadline_ms;
	size_t n, waiting, limited;
	uint64_t min_interval_ms, retry_ms; /* the shortest wait of a rate-limited target */
	struct gc_target *t;
	unsigned int status, retry_after;
	struct buf body;
	void (*done)(void *arg);
	void *arg;
};

/* Milliseconds as whole seconds, rounded up. */
unsigned int gc_seconds_up(uint64_t ms);
/* An answer with no targets: {"error": @msg, "retry_after_seconds": N}. */
void gc_refuse(struct gc_request *r, unsigned int status, unsigned int retry_after,
	       const char *msg);
/* The answer once nothing is left to wait for. */
void gc_finish(struct gc_request *r);

#endif
