/* SPDX-License-Identifier: Apache-2.0 */
/* Inside the gc module: a request and the module's state, as gc.c (the
 * thread), gc_select.c (targets) and gc_answer.c (the JSON answers) share them. */
#ifndef MEMTIDE_GC_INT_H
#define MEMTIDE_GC_INT_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include "api.h"
#include "buf.h"
#include "gc.h"
#include "gc_limit.h"
#include "gc_wake.h"

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

/* The module's state: gc.c's thread and gc_select.c share it. */
#define WAIT_MS 10000 /* a trim of a 300 MB heap takes ~80 ms here */
#define POLL_MS 20 /* only while a target waits for its probe to come on */
#define SWEEP_MS 1000 /* a waiting target is read this often without an event (one lost?) */
#define GC_IN_FLIGHT 16

struct gc {
	struct gc_deps deps;
	pthread_mutex_t lock;
	struct gc_wake *wake; /* kicked under the lock: a request came, or stop */
	struct gc_request *incoming; /* handed over, not yet looked at by the thread */
	unsigned int in_flight; /* requests handed over and not yet answered */
	uint64_t place_free_ms; /* when the oldest request in flight is sure to be answered */
	bool stopping;
	pthread_t thread;
	/* The thread's own: */
	struct gc_request *active; /* signalled, waiting for the hooks */
	struct gc_rate rate;
	struct gc_log log; /* locks itself: HTTP threads log refusals too */
};

/* Chooses @r's targets and signals them (or says why not); with nothing to
 * wait for, @r is finished. */
void gc_select_and_signal(struct gc *g, struct gc_request *r);
/* Signals one target whose hook's reports are probed (@trims: its trims so
 * far), unless the rate limit or the safety checks say no. */
void gc_signal_target(struct gc *g, struct gc_request *r, struct gc_target *t, uint64_t trims,
		      uint64_t now_ms);
/* The target's hook reports are probed: @h, its state. */
bool gc_probed(struct gc *g, const struct gc_target *t, struct hook_state *h);

/* Milliseconds as whole seconds, rounded up. */
unsigned int gc_seconds_up(uint64_t ms);
/* An answer with no targets: {"error": @msg, "retry_after_seconds": N}. */
void gc_refuse(struct gc_request *r, unsigned int status, unsigned int retry_after,
	       const char *msg);
/* The answer once nothing is left to wait for. */
void gc_finish(struct gc_request *r);

#endif
