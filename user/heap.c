// SPDX-License-Identifier: Apache-2.0
/*
 * The heap tiers' slots and threads. Probes are attached per process (links
 * bound to the pid), so the breakpoints exist only in the selected process's
 * memory: nothing else on the node traps. Attaching takes from milliseconds
 * to seconds, so it runs on two threads of the module's own (heap_attach.c
 * does the work); closing a link waits a grace period, so the reaper does it.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "clock.h"
#include "heap_int.h"
#include "log.h"
#include "reaper.h"

static void *attacher(void *arg);

int heap__open(bool empty_probes, struct heap **out)
{
	struct heap *u = calloc(1, sizeof(*u));
	struct bpf_program *prog;
	pthread_condattr_t attr;
	int err;

	if (!u)
		return -ENOMEM;
	pthread_mutex_init(&u->lock, NULL);
	/* Guessed libcs are checked at times on the monotonic clock. */
	pthread_condattr_init(&attr);
	pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
	pthread_cond_init(&u->work, &attr);
	pthread_condattr_destroy(&attr);
	u->ncpus = libbpf_num_possible_cpus();
	err = reaper__new(&u->reaper);
	if (err)
		goto free_heap;
	u->skel = heap_bpf__open();
	if (!u->skel) {
		err = -errno;
		goto free_reaper;
	}
	u->skel->rodata->empty_probes = empty_probes;
	bpf_object__for_each_program(prog, u->skel->obj) if (prog != u->skel->progs.heap_exit)
		bpf_program__set_expected_attach_type(prog, TRACE_UPROBE_MULTI);
	err = heap_bpf__load(u->skel);
	if (err)
		goto destroy_skel;
	/* Only the exit program is global; the probes go on per process. */
	u->skel->links.heap_exit = bpf_program__attach(u->skel->progs.heap_exit);
	if (!u->skel->links.heap_exit) {
		err = -errno;
		goto destroy_skel;
	}
	for (; u->n_attachers < ATTACH_THREADS; u->n_attachers++) {
		err = -pthread_create(&u->attachers[u->n_attachers], NULL, attacher, u);
		if (err)
			goto stop_attachers;
	}
	*out = u;
	return 0;

stop_attachers:
	u->closing = true;
	pthread_cond_broadcast(&u->work);
	for (size_t i = 0; i < u->n_attachers; i++)
		pthread_join(u->attachers[i], NULL);
destroy_skel:
	log_error("cannot load the uprobe tier's BPF programs: %s", strerror(-err));
	heap_bpf__destroy(u->skel);
free_reaper:
	reaper__free(u->reaper);
free_heap:
	pthread_cond_destroy(&u->work);
	pthread_mutex_destroy(&u->lock);
	free(u);
	return err;
}

static void release(struct process *p)
{
	*p = (struct process){ .state = SLOT_FREE };
}

/* When a guessed libc is looked at again: ld.so maps it within milliseconds
 * of exec, later on a loaded machine; a program may never map one. */
static const unsigned int check_after_ms[] = { 5, 20, 100, 500, 2000 };
#define CHECKS (sizeof(check_after_ms) / sizeof(check_after_ms[0]))

static bool attached(const struct process *p)
{
	return p->state == SLOT_DONE || p->state == SLOT_GUESSED;
}

/* Under the lock: the oldest request whose process has no attach in
 * progress (one process's maps are set up by one thread at a time), else a
 * guessed libc due for its check; @wake: when the next check is due. */
static struct process *next_job(struct heap *u, uint64_t *wake)
{
	struct process *job = NULL, *check = NULL;
	uint64_t now = clock__mono_ms();

	*wake = UINT64_MAX;
	for (size_t i = 0; i < MAX_PROCESSES; i++) {
		struct process *p = &u->procs[i];
		bool blocked = false;

		if (p->state == SLOT_GUESSED) {
			if (p->check_ms <= now)
				check = p;
			else if (p->check_ms < *wake)
				*wake = p->check_ms;
		}
		if (p->state != SLOT_QUEUED || (job && job->seq < p->seq))
			continue;
		for (size_t k = 0; k < MAX_PROCESSES && !blocked; k++)
			blocked = u->procs[k].state == SLOT_BUSY && u->procs[k].pid == p->pid;
		if (!blocked)
			job = p;
	}
	return job ? job : check;
}

static void wait_for_work(struct heap *u, uint64_t wake)
{
	struct timespec at = { .tv_sec = (time_t)(wake / 1000),
			       .tv_nsec = (long)(wake % 1000) * 1000000 };

	if (wake == UINT64_MAX)
		pthread_cond_wait(&u->work, &u->lock);
	else
		pthread_cond_timedwait(&u->work, &u->lock, &at);
}

/* Under the lock: what a check of a guessed libc found. Not mapped yet: look
 * again later; another file: the probes move to it; mapped, or never (the
 * probes on a file it does not map cost nothing): done. */
static void checked(struct heap *u, struct process *p, int err)
{
	p->state = SLOT_DONE;
	if (err == -EAGAIN && ++p->checks < CHECKS) {
		p->state = SLOT_GUESSED;
		p->check_ms = clock__mono_ms() + check_after_ms[p->checks];
	} else if (err == -ESTALE) {
		heap_undo(u, p);
		p->state = SLOT_QUEUED;
		p->seq = ++u->seq;
		p->moving = true;
	}
}

/* Under the lock: what an attach came to; a guessed libc is checked soon. */
static void attached_now(struct heap *u, struct process *p, int err)
{
	if (err)
		heap_undo(u, p);
	else if (p->moving)
		log_info(
			"pid %d: its libc is not the one beside its loader: heap probes moved to the one it mapped",
			p->pid);
	p->moving = false;
	p->err = err;
	p->state = SLOT_DONE;
	if (!err && p->guessed) {
		p->state = SLOT_GUESSED;
		p->checks = 0;
		p->check_ms = clock__mono_ms() + check_after_ms[0];
	}
}

static void *attacher(void *arg)
{
	struct heap *u = arg;

	pthread_mutex_lock(&u->lock);
	while (!u->closing) {
		uint64_t wake;
		struct process *p = next_job(u, &wake);
		enum slot_state was;
		int err;

		if (!p) {
			wait_for_work(u, wake);
			continue;
		}
		was = p->state;
		p->state = SLOT_BUSY;
		pthread_mutex_unlock(&u->lock);
		if (was == SLOT_GUESSED)
			err = heap_confirm_malloc(p);
		else if (p->kind == HEAP_PROBE_HOOK)
			err = heap_attach_hook(u, p);
		else
			err = heap_attach_malloc(u, p);
		pthread_mutex_lock(&u->lock);
		if (p->cancel) {
			heap_undo(u, p);
			release(p);
		} else if (was == SLOT_GUESSED) {
			checked(u, p, err);
		} else {
			attached_now(u, p, err);
		}
		/* Another request for the same process may go now. */
		pthread_cond_broadcast(&u->work);
	}
	pthread_mutex_unlock(&u->lock);
	return NULL;
}

static struct process *find(struct heap *u, int pid, enum heap_probe kind)
{
	for (size_t i = 0; i < MAX_PROCESSES; i++) {
		struct process *p = &u->procs[i];

		if (p->state != SLOT_FREE && !p->cancel && p->pid == pid && p->kind == kind)
			return p;
	}
	return NULL;
}

static struct process *take_slot(struct heap *u, int pid, enum heap_probe kind)
{
	for (size_t i = 0; i < MAX_PROCESSES; i++) {
		struct process *p = &u->procs[i];

		if (p->state == SLOT_FREE) {
			*p = (struct process){
				.pid = pid, .kind = kind, .state = SLOT_QUEUED, .seq = ++u->seq
			};
			return p;
		}
	}
	return NULL;
}

int heap__want(struct heap *u, int pid, enum heap_probe kind)
{
	struct process *p;
	int rc = -EINPROGRESS;

	if (pid <= 0 || pid >= MEMTIDE_PID_MAX)
		return -EINVAL;
	pthread_mutex_lock(&u->lock);
	p = find(u, pid, kind);
	if (!p) {
		p = take_slot(u, pid, kind);
		if (!p)
			rc = -E2BIG;
		else
			pthread_cond_signal(&u->work);
	} else if (attached(p)) {
		rc = p->err;
		if (rc) /* told once; asking again tries again */
			release(p);
	}
	pthread_mutex_unlock(&u->lock);
	return rc;
}

void heap__drop(struct heap *u, int pid)
{
	pthread_mutex_lock(&u->lock);
	for (size_t i = 0; i < MAX_PROCESSES; i++) {
		struct process *p = &u->procs[i];

		if (p->state == SLOT_FREE || p->cancel || p->pid != pid)
			continue;
		if (p->state == SLOT_BUSY) {
			p->cancel = true;
			continue;
		}
		if (attached(p))
			heap_undo(u, p);
		release(p);
	}
	pthread_mutex_unlock(&u->lock);
}

/* The benchmark probes itself and needs its probes on before it goes on. */
int heap__attach(struct heap *u, int pid)
{
	struct process *p;
	int err;

	pthread_mutex_lock(&u->lock);
	p = take_slot(u, pid, HEAP_PROBE_MALLOC);
	if (p)
		p->state = SLOT_BUSY;
	pthread_mutex_unlock(&u->lock);
	if (!p)
		return -E2BIG;
	err = heap_attach_malloc(u, p);
	pthread_mutex_lock(&u->lock);
	if (err) {
		heap_undo(u, p);
		release(p);
	} else {
		p->state = SLOT_DONE;
	}
	pthread_mutex_unlock(&u->lock);
	return err;
}

int heap__read_hook(struct heap *u, int pid, struct hook_state *out)
{
	__u32 key = (__u32)pid;

	return bpf_map_lookup_elem(bpf_map__fd(u->skel->maps.hooks), &key, out) ? -errno : 0;
}

int heap__hook_events_fd(struct heap *u)
{
	return bpf_map__fd(u->skel->maps.hook_events);
}

int heap__read(struct heap *u, int pid, struct heap_stats *out)
{
	size_t value = (sizeof(struct heap_stats) + 7) & ~(size_t)7;
	char *percpu = calloc((size_t)u->ncpus, value);
	__u32 key = (__u32)pid;
	int err = 0;

	if (!percpu)
		return -ENOMEM;
	memset(out, 0, sizeof(*out));
	if (bpf_map_lookup_elem(bpf_map__fd(u->skel->maps.stats), &key, percpu)) {
		err = -errno;
		goto out;
	}
	/* Every field is a 64-bit counter or delta: sum them as such. */
	for (int cpu = 0; cpu < u->ncpus; cpu++) {
		const __u64 *in = (const __u64 *)(percpu + (size_t)cpu * value);
		__u64 *sum = (__u64 *)out;

		for (size_t i = 0; i < sizeof(*out) / sizeof(__u64); i++)
			sum[i] += in[i];
	}
out:
	free(percpu);
	return err;
}

void heap__destroy(struct heap *u)
{
	if (!u)
		return;
	/* Attaches in progress stop at their next probe. */
	pthread_mutex_lock(&u->lock);
	u->closing = true;
	pthread_cond_broadcast(&u->work);
	pthread_mutex_unlock(&u->lock);
	for (size_t i = 0; i < u->n_attachers; i++)
		pthread_join(u->attachers[i], NULL);
	pthread_mutex_lock(&u->lock);
	for (size_t i = 0; i < MAX_PROCESSES; i++)
		if (attached(&u->procs[i]))
			heap_undo(u, &u->procs[i]);
	pthread_mutex_unlock(&u->lock);
	/* Every probe off before the process may exit. */
	reaper__free(u->reaper);
	heap_bpf__destroy(u->skel);
	pthread_cond_destroy(&u->work);
	pthread_mutex_destroy(&u->lock);
	free(u);
}
