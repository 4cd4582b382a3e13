/* SPDX-License-Identifier: Apache-2.0 */
/* Inside the profile module: what profile.c (sites per snapshot) and
 * profile_pprof.c (profiles on demand) share. */
#ifndef MEMTIDE_PROFILE_INT_H
#define MEMTIDE_PROFILE_INT_H

#include <pthread.h>
#include <stdbool.h>
#include "profile.h"
#include "sites.h"
#include "symbolize.h"

/* Frames resolved to find a stack's site: the allocator's own frames come
 * first, and the hook, libc and operator new are rarely more than this. */
#define PROFILE_SITE_FRAMES 8

/* Baselines for growth: one kept per eighth of the leak window, each with
 * the largest sites of its time. */
#define PROFILE_BASELINES 9
#define PROFILE_BASELINE_SITES 64

struct baseline {
	uint64_t at_ms;
	size_t n;
	uint64_t hash[PROFILE_BASELINE_SITES];
	uint64_t inuse[PROFILE_BASELINE_SITES];
};

/* Per tracked process; key.pid 0: free. */
struct pstate {
	struct proc_key key;
	bool attached, hooked;
	uint64_t next_try_ms; /* attach (or look for new binaries) again then */
	struct baseline *baselines; /* PROFILE_BASELINES, once profiled */
	size_t n_baselines;
};

struct profile {
	pthread_mutex_t lock; /* everything below; the symbolizer is single-threaded */
	struct profiling_config cfg;
	struct sites *sites;
	struct symbolizer *sym;
	struct pstate *procs; /* PROC_MAX_TRACKED */
};

/* The attached process with @pid, or NULL. */
struct pstate *profile_attached(struct profile *p, int pid);

#endif
