/* SPDX-License-Identifier: Apache-2.0 */
/* Inside the profile module: what profile.c (sites per snapshot) and
 * profile_pprof.c (profiles on demand) share. */
#ifndef MEMTIDE_PROFILE_INT_H
#define MEMTIDE_PROFILE_INT_H

#include <pthread.h>
#include <stdbool.h>
#include "profile.h"
#include "quota.h"
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
	bool queued; /* an attach of it waits for the worker */
	char comm[PROC_COMM_LEN + 1]; /* for the log */
	uint64_t next_try_ms; /* attach (or look for new binaries) again then */
	struct baseline *baselines; /* PROFILE_BASELINES, once profiled */
	size_t n_baselines;
};

/* Attaching and detaching take a kernel grace period per probe (tens of ms
 * here): a thread of the module's own does them, in order. */
enum job_kind { JOB_ATTACH, JOB_DETACH };

struct job {
	enum job_kind kind;
	struct proc_key key;
};

#define PROFILE_JOBS (2 * PROC_MAX_TRACKED)

struct profile {
	pthread_mutex_t lock; /* everything below; the symbolizer is single-threaded */
	struct profiling_config cfg;
	struct sites *sites; /* thread-safe itself */
	struct symbolizer *sym;
	struct pstate *procs; /* PROC_MAX_TRACKED */
	struct quota quota; /* profiled processes per user, counted each fill */
	/* The worker's queue, a ring: */
	pthread_cond_t work;
	struct job *jobs;
	size_t job_head, n_jobs;
	bool stopping, have_worker;
	pthread_t worker;
};

/* The attached process with @pid, or NULL. */
struct pstate *profile_attached(struct profile *p, int pid);

#endif
