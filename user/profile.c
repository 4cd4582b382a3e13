// SPDX-License-Identifier: Apache-2.0
/* Sampled allocation sites per snapshot (profile.h). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "clock.h"
#include "log.h"
#include "profile_int.h"
#include "site.h"

/* A process without the probes is looked at again after this: it may load a
 * library that has them (dlopen), or the hook (a hooked one sooner). An
 * attached one as often, for libraries loaded since. */
#define RETRY_HOOKED_MS 60000
#define RETRY_OTHER_MS 600000
/* Profiled processes per user but root: each is a few probes in the kernel,
 * and their attach and detach take a grace period each. A hook-tier process
 * needs its heap-tier slot too (the hook's probes). */
#define PROFILE_PER_USER 16

/* Distinct sites summed per process (the hash table's size is twice it). */
#define MAX_SITES 4096

/* One site of one process while its stacks are summed. */
struct acc {
	uint64_t hash;
	char name[SITE_NAME_LEN];
	struct sites_figures f;
};

struct sum {
	struct profile *p;
	int pid;
	struct acc *accs;
	size_t n;
	uint32_t table[2 * MAX_SITES]; /* index + 1 into accs; 0: empty */
};

static uint64_t fnv1a(const char *s)
{
	uint64_t h = 1469598103934665603ULL;

	while (*s)
		h = (h ^ (unsigned char)*s++) * 1099511628211ULL;
	return h ? h : 1;
}

struct pstate *profile_attached(struct profile *p, int pid)
{
	for (size_t i = 0; i < PROC_MAX_TRACKED; i++)
		if (p->procs[i].key.pid == pid && p->procs[i].attached)
			return &p->procs[i];
	return NULL;
}

static struct pstate *find(struct profile *p, const struct proc_key *k)
{
	for (size_t i = 0; i < PROC_MAX_TRACKED; i++)
		if (proc_key__eq(&p->procs[i].key, k))
			return &p->procs[i];
	return NULL;
}

/* Under the lock. Each process has at most one attach and one detach
 * queued, so the ring never fills. */
static void queue(struct profile *p, enum job_kind kind, const struct proc_key *k)
{
	if (p->n_jobs == PROFILE_JOBS)
		return;
	p->jobs[(p->job_head + p->n_jobs++) % PROFILE_JOBS] =
		(struct job){ .kind = kind, .key = *k };
	pthread_cond_signal(&p->work);
}

/* The attach's outcome, for the process if it is still tracked; a process
 * let go meanwhile loses its probes at once. */
static void attached(struct profile *p, const struct proc_key *k, int err)
{
	struct pstate *st;

	pthread_mutex_lock(&p->lock);
	st = find(p, k);
	if (st) {
		st->queued = false;
		if (!err && !st->attached)
			log_info("profiling pid %d (%s): its otel_memory probes are attached",
				 k->pid, st->comm);
		if (err && err != -ENOENT && err != -ESRCH)
			log_debug("profiling pid %d: attach failed: %s", k->pid, strerror(-err));
		st->attached = st->attached || !err;
	}
	pthread_mutex_unlock(&p->lock);
	if (!st && !err)
		sites__detach(p->sites, k->pid);
}

static void *worker(void *arg)
{
	struct profile *p = arg;
	struct job j;

	pthread_mutex_lock(&p->lock);
	while (!p->stopping) {
		if (!p->n_jobs) {
			pthread_cond_wait(&p->work, &p->lock);
			continue;
		}
		j = p->jobs[p->job_head];
		p->job_head = (p->job_head + 1) % PROFILE_JOBS;
		p->n_jobs--;
		pthread_mutex_unlock(&p->lock);
		if (j.kind == JOB_ATTACH)
			attached(p, &j.key, sites__attach(p->sites, j.key.pid));
		else
			sites__detach(p->sites, j.key.pid);
		pthread_mutex_lock(&p->lock);
	}
	pthread_mutex_unlock(&p->lock);
	return NULL;
}

int profile__new(const struct config *cfg, struct profile **out)
{
	struct profile *p = calloc(1, sizeof(*p));
	int err = -ENOMEM;

	if (!p)
		return -ENOMEM;
	pthread_mutex_init(&p->lock, NULL);
	pthread_cond_init(&p->work, NULL);
	p->cfg = cfg->profiling;
	p->procs = calloc(PROC_MAX_TRACKED, sizeof(*p->procs));
	p->jobs = calloc(PROFILE_JOBS, sizeof(*p->jobs));
	if (!p->procs || !p->jobs)
		goto fail;
	err = symbolizer__new(0, &p->sym);
	if (err)
		goto fail;
	err = sites__open(0, &p->sites);
	if (err)
		goto fail;
	err = -pthread_create(&p->worker, NULL, worker, p);
	if (err)
		goto fail;
	p->have_worker = true;
	*out = p;
	return 0;
fail:
	profile__free(p);
	return err;
}

/* Under the lock: the process's probes go (on the worker), its names now. */
static void drop(struct profile *p, struct pstate *st)
{
	if (st->attached || st->queued)
		queue(p, JOB_DETACH, &st->key);
	symbolizer__forget(p->sym, st->key.pid);
	free(st->baselines);
	memset(st, 0, sizeof(*st));
}

/* The probes still attached go with the BPF object (sites__destroy). */
void profile__free(struct profile *p)
{
	if (!p)
		return;
	if (p->have_worker) {
		pthread_mutex_lock(&p->lock);
		p->stopping = true;
		pthread_cond_signal(&p->work);
		pthread_mutex_unlock(&p->lock);
		pthread_join(p->worker, NULL);
	}
	for (size_t i = 0; p->procs && i < PROC_MAX_TRACKED; i++)
		free(p->procs[i].baselines);
	sites__destroy(p->sites);
	symbolizer__free(p->sym);
	free(p->jobs);
	free(p->procs);
	pthread_cond_destroy(&p->work);
	pthread_mutex_destroy(&p->lock);
	free(p);
}

void profile__set_config(struct profile *p, const struct config *cfg)
{
	pthread_mutex_lock(&p->lock);
	p->cfg = cfg->profiling;
	if (!p->cfg.enabled)
		for (size_t i = 0; i < PROC_MAX_TRACKED; i++)
			if (p->procs[i].key.pid)
				drop(p, &p->procs[i]);
	pthread_mutex_unlock(&p->lock);
}

void profile__forget(struct profile *p, const struct proc_key *k)
{
	struct pstate *st;

	pthread_mutex_lock(&p->lock);
	st = find(p, k);
	if (st)
		drop(p, st);
	pthread_mutex_unlock(&p->lock);
}

static struct pstate *state_of(struct profile *p, const struct sample *s)
{
	const struct proc_key k = { .pid = s->pid, .start_ticks = s->start_ticks };
	const struct proc_key none = { 0 };
	struct pstate *st = find(p, &k);

	if (!st && (st = find(p, &none)))
		*st = (struct pstate){ .key = k };
	return st;
}

/* Queues an attach (or, when attached, a look for binaries mapped since)
 * when it is time. */
static void try_attach(struct profile *p, struct pstate *st, const struct sample *s,
		       uint64_t now_ms)
{
	st->hooked = s->hook_loaded;
	/* A hook-tier process without its hook's probes has no heap-tier slot
	 * (or not yet): it waits for one. */
	if (now_ms < st->next_try_ms || st->queued || (s->tier == HEAP_HOOK && !s->hook_loaded) ||
	    (!st->attached && !quota__take(&p->quota, s->uid)))
		return;
	memcpy(st->comm, s->comm, sizeof(st->comm));
	st->queued = true;
	queue(p, JOB_ATTACH, &st->key);
	st->next_try_ms = now_ms + (st->hooked || st->attached ? RETRY_HOOKED_MS : RETRY_OTHER_MS);
}

/* A stack's site: resolve its first frames, skip the allocator's. */
static int add_stack(void *ctx, const uint64_t *ips, size_t depth, const struct sites_figures *f)
{
	struct sum *sum = ctx;
	struct sym_frame frames[PROFILE_SITE_FRAMES];
	size_t n = depth < PROFILE_SITE_FRAMES ? depth : PROFILE_SITE_FRAMES, pick;
	char name[SITE_NAME_LEN] = "(no stack)";
	uint64_t h;
	size_t slot;
	struct acc *a;

	if (n && !symbolizer__resolve(sum->p->sym, sum->pid, (const __u64 *)ips, n,
				      SYM_RETURN_ADDRS, frames)) {
		pick = site__pick(frames, n);
		site__name(&frames[pick < n ? pick : 0], name, sizeof(name));
	}
	h = fnv1a(name);
	for (slot = h % (2 * MAX_SITES); sum->table[slot]; slot = (slot + 1) % (2 * MAX_SITES))
		if (sum->accs[sum->table[slot] - 1].hash == h &&
		    !strcmp(sum->accs[sum->table[slot] - 1].name, name))
			break;
	if (!sum->table[slot]) {
		if (sum->n == MAX_SITES)
			return 0; /* past MAX_SITES distinct sites: left out */
		a = &sum->accs[sum->n++];
		*a = (struct acc){ .hash = h };
		memcpy(a->name, name, sizeof(name));
		sum->table[slot] = (uint32_t)sum->n;
	}
	a = &sum->accs[sum->table[slot] - 1];
	a->f.alloc_objects += f->alloc_objects;
	a->f.alloc_space += f->alloc_space;
	a->f.inuse_objects += f->inuse_objects;
	a->f.inuse_space += f->inuse_space;
	return 0;
}

static int by_inuse(const void *x, const void *y)
{
	const struct acc *a = x, *b = y;

	if (a->f.inuse_space != b->f.inuse_space)
		return a->f.inuse_space < b->f.inuse_space ? 1 : -1;
	return strcmp(a->name, b->name);
}

static const struct baseline *oldest_in_window(struct pstate *st, uint64_t now_ms,
					       uint64_t window_ms)
{
	size_t keep = 0;

	for (size_t i = 0; i < st->n_baselines; i++)
		if (now_ms - st->baselines[i].at_ms <= window_ms)
			st->baselines[keep++] = st->baselines[i];
	st->n_baselines = keep;
	return keep ? &st->baselines[0] : NULL;
}

static uint64_t baseline_inuse(const struct baseline *b, uint64_t hash)
{
	for (size_t i = 0; b && i < b->n; i++)
		if (b->hash[i] == hash)
			return b->inuse[i];
	return 0;
}

/* Keeps a baseline per eighth of the window: the largest sites now. */
static void remember(struct pstate *st, const struct sum *sum, uint64_t now_ms, uint64_t window_ms)
{
	struct baseline *b;

	if (st->n_baselines && now_ms - st->baselines[st->n_baselines - 1].at_ms < window_ms / 8)
		return;
	if (st->n_baselines == PROFILE_BASELINES) {
		memmove(st->baselines, st->baselines + 1,
			(PROFILE_BASELINES - 1) * sizeof(*st->baselines));
		st->n_baselines--;
	}
	b = &st->baselines[st->n_baselines++];
	b->at_ms = now_ms;
	b->n = sum->n < PROFILE_BASELINE_SITES ? sum->n : PROFILE_BASELINE_SITES;
	for (size_t i = 0; i < b->n; i++) {
		b->hash[i] = sum->accs[i].hash;
		b->inuse[i] = sum->accs[i].f.inuse_space;
	}
}

static void fill_one(struct profile *p, struct pstate *st, struct sample *s,
		     struct site_figures *out, struct sum *sum, uint64_t now_ms, uint64_t window_ms)
{
	const struct baseline *base;
	struct sites_drops d = { 0 };
	size_t top = p->cfg.top_sites;

	if (!st->baselines) {
		st->baselines = calloc(PROFILE_BASELINES, sizeof(*st->baselines));
		if (!st->baselines)
			return;
	}
	sum->pid = s->pid;
	sum->n = 0;
	memset(sum->table, 0, sizeof(sum->table));
	if (sites__read(p->sites, s->pid, add_stack, sum, &d))
		return;
	qsort(sum->accs, sum->n, sizeof(*sum->accs), by_inuse);
	base = oldest_in_window(st, now_ms, window_ms);
	s->profiled = true;
	s->sites = out;
	s->sites_dropped = d.live_global + d.live_process + d.stack_lost + d.site_full;
	for (size_t i = 0; i < sum->n; i++) {
		int64_t growth = (int64_t)(sum->accs[i].f.inuse_space -
					   baseline_inuse(base, sum->accs[i].hash));

		if (base && growth > 0)
			s->sites_growth_bytes += (uint64_t)growth;
		if (i >= top)
			continue;
		out[i] = (struct site_figures){ .inuse_bytes = sum->accs[i].f.inuse_space,
						.inuse_objects = sum->accs[i].f.inuse_objects,
						.alloc_bytes = sum->accs[i].f.alloc_space,
						.alloc_objects = sum->accs[i].f.alloc_objects,
						.growth_bytes = base ? growth : 0 };
		memcpy(out[i].name, sum->accs[i].name, SITE_NAME_LEN);
		s->n_sites++;
	}
	remember(st, sum, now_ms, window_ms);
}

void profile__fill(struct profile *p, struct snapshot *snap, uint64_t now_ms,
		   uint64_t leak_window_ms)
{
	struct sum *sum = NULL;
	size_t profiled = 0, used = 0;

	pthread_mutex_lock(&p->lock);
	if (!p->cfg.enabled)
		goto out;
	/* Those attached or on their way hold their user's slots first. */
	quota__reset(&p->quota, PROFILE_PER_USER);
	for (size_t i = 0; i < snap->n; i++) {
		struct pstate *st = state_of(p, &snap->samples[i]);

		if (st && (st->attached || st->queued))
			quota__take(&p->quota, snap->samples[i].uid);
	}
	for (size_t i = 0; i < snap->n; i++) {
		struct pstate *st = state_of(p, &snap->samples[i]);

		if (!st)
			continue;
		try_attach(p, st, &snap->samples[i], now_ms);
		profiled += st->attached;
	}
	if (!profiled)
		goto out;
	sum = calloc(1, sizeof(*sum));
	snap->sites = calloc(profiled * p->cfg.top_sites, sizeof(*snap->sites));
	if (!sum || !snap->sites || !(sum->accs = calloc(MAX_SITES, sizeof(*sum->accs))))
		goto out;
	sum->p = p;
	for (size_t i = 0; i < snap->n && used < profiled; i++) {
		struct sample *s = &snap->samples[i];
		struct pstate *st = state_of(p, s);

		if (!st || !st->attached)
			continue;
		fill_one(p, st, s, snap->sites + used * p->cfg.top_sites, sum, now_ms,
			 leak_window_ms);
		used++;
	}
out:
	if (sum)
		free(sum->accs);
	free(sum);
	pthread_mutex_unlock(&p->lock);
}
