/* SPDX-License-Identifier: Apache-2.0 */
/* The heap tiers' state, shared by the slots and threads (heap.c) and the
 * probes they attach (heap_attach.c). */
#ifndef MEMTIDE_HEAP_INT_H
#define MEMTIDE_HEAP_INT_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include "heap.h" /* before the skeleton: it needs the shared structs */
#include "heap.skel.h"

/* The heap tiers' own limit, below the tracking limit (PROC_MAX_TRACKED):
 * heap.bpf.c's per-process maps hold HEAP_MAX_PROCESSES entries. A slot goes
 * when its heap tier goes off or the collector says the process is gone
 * (heap__drop). */
#define MAX_PROCESSES HEAP_MAX_PROCESSES
#define ATTACH_THREADS 2
#define HEAP_N_POINTS 11 /* heap_attach.c's probe points */
#define TRACE_UPROBE_MULTI 48 /* enum bpf_attach_type */

/*
 * One slot per process and kind of probes. Attaching takes from milliseconds
 * to seconds (each probe write-locks every mm that maps the library, and may
 * wait for an earlier removal's grace period), so it happens on threads of
 * the module's own; the caller asks, and asks again for the outcome.
 */
enum slot_state {
	SLOT_FREE,
	SLOT_QUEUED, /* waiting for an attach thread */
	SLOT_BUSY, /* being attached */
	SLOT_DONE, /* attached, or failed with err */
	SLOT_GUESSED, /* attached to the libc it is about to map; checked at check_ms */
};

struct process {
	int pid;
	enum heap_probe kind;
	enum slot_state state;
	bool cancel; /* dropped while being attached: the attacher undoes it */
	int err;
	uint64_t seq; /* queue order */
	int links[HEAP_N_POINTS + 1]; /* uprobe_multi link fds */
	size_t n_links;
	/* Attached at exec, before ld.so mapped libc: to this file. */
	bool guessed, moving; /* moving: to the libc it mapped instead */
	dev_t libc_dev;
	ino_t libc_ino;
	uint64_t check_ms; /* CLOCK_MONOTONIC */
	unsigned int checks;
};

struct heap {
	struct heap_bpf *skel;
	int ncpus;
	pthread_mutex_t lock;
	pthread_cond_t work;
	bool closing;
	uint64_t seq;
	pthread_t attachers[ATTACH_THREADS];
	size_t n_attachers;
	struct reaper *reaper;
	struct process procs[MAX_PROCESSES];
};

/* Each 0 or -errno; on error the caller undoes what was done (heap_undo). */
int heap_attach_malloc(struct heap *u, struct process *p);
int heap_attach_hook(struct heap *u, struct process *p);
/* A guessed libc (p->guessed) against the one @p maps now: 0 the same,
 * -EAGAIN none mapped yet, -ESTALE another. */
int heap_confirm_malloc(struct process *p);
/* Under the lock: stops counting @p, hands its links to the reaper. */
void heap_undo(struct heap *u, struct process *p);

#endif
