// SPDX-License-Identifier: Apache-2.0
/*
 * A link left to a thread that the process's exit kills is the one thing that
 * must never happen: the kernel then fails to unregister its uprobe ("failed
 * to unregister, leaking uprobe") and the target keeps trapping on every
 * malloc long after memtide is gone. So the threads are joinable, and the
 * agent drains them before it exits.
 */
#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "clock.h"
#include "reaper.h"

#define MAX_THREADS 32
#define IDLE_MS 2000 /* a thread left without work this long ends */
#define STACK_SIZE (64 * 1024)

struct worker {
	struct reaper *r;
	pthread_t id;
	bool running, done; /* done: ended, waiting to be joined */
};

struct reaper {
	pthread_mutex_t lock;
	pthread_cond_t wake;
	int *queue; /* link fds */
	size_t len, cap, in_flight;
	bool closing;
	struct worker workers[MAX_THREADS];
};

int reaper__new(struct reaper **out)
{
	struct reaper *r = calloc(1, sizeof(*r));

	if (!r)
		return -ENOMEM;
	pthread_mutex_init(&r->lock, NULL);
	clock__cond_init(&r->wake);
	for (size_t i = 0; i < MAX_THREADS; i++)
		r->workers[i].r = r;
	*out = r;
	return 0;
}

static void *work(void *arg)
{
	struct worker *self = arg;
	struct reaper *r = self->r;

	pthread_mutex_lock(&r->lock);
	for (;;) {
		struct timespec until;
		int rc;

		if (r->len) {
			int fd = r->queue[--r->len];

			r->in_flight++;
			pthread_mutex_unlock(&r->lock);
			close(fd); /* the link's release unregisters its probes */
			pthread_mutex_lock(&r->lock);
			r->in_flight--;
			continue;
		}
		if (r->closing)
			break;
		until = clock__deadline(IDLE_MS);
		rc = pthread_cond_timedwait(&r->wake, &r->lock, &until);
		if (rc == ETIMEDOUT && !r->len)
			break;
	}
	self->done = true;
	pthread_mutex_unlock(&r->lock);
	return NULL;
}

/* Under the lock: ended threads are joined (they hold nothing any more). */
static void join_done(struct reaper *r)
{
	for (size_t i = 0; i < MAX_THREADS; i++) {
		struct worker *w = &r->workers[i];

		if (w->running && w->done) {
			pthread_join(w->id, NULL);
			w->running = w->done = false;
		}
	}
}

/* Under the lock: one more thread, if there is room. */
static bool spawn(struct reaper *r)
{
	struct worker *w = NULL;
	pthread_attr_t attr;

	for (size_t i = 0; i < MAX_THREADS && !w; i++)
		if (!r->workers[i].running)
			w = &r->workers[i];
	if (!w || pthread_attr_init(&attr))
		return false;
	pthread_attr_setstacksize(&attr, STACK_SIZE);
	w->done = false;
	w->running = pthread_create(&w->id, &attr, work, w) == 0;
	pthread_attr_destroy(&attr);
	return w->running;
}

static unsigned int running(const struct reaper *r)
{
	unsigned int n = 0;

	for (size_t i = 0; i < MAX_THREADS; i++)
		n += r->workers[i].running && !r->workers[i].done;
	return n;
}

static int grow(struct reaper *r, size_t n)
{
	size_t cap;
	int *q;

	if (r->len + n <= r->cap)
		return 0;
	cap = (r->len + n) * 2;
	q = realloc(r->queue, cap * sizeof(*q));
	if (!q)
		return -ENOMEM;
	r->queue = q;
	r->cap = cap;
	return 0;
}

void reaper__add(struct reaper *r, const int *links, size_t n)
{
	bool queued = false;

	if (!n)
		return;
	pthread_mutex_lock(&r->lock);
	join_done(r);
	if (!grow(r, n)) {
		/* A thread per link, up to the cap: their grace periods overlap. */
		while (running(r) < r->in_flight + r->len + n && spawn(r))
			;
		if (running(r)) {
			memcpy(r->queue + r->len, links, n * sizeof(*links));
			r->len += n;
			pthread_cond_broadcast(&r->wake);
			queued = true;
		}
	}
	pthread_mutex_unlock(&r->lock);
	/* No memory or no thread: slow, but never a link left behind. */
	for (size_t i = 0; !queued && i < n; i++)
		close(links[i]);
}

void reaper__free(struct reaper *r)
{
	if (!r)
		return;
	pthread_mutex_lock(&r->lock);
	r->closing = true;
	pthread_cond_broadcast(&r->wake);
	pthread_mutex_unlock(&r->lock);
	/* Each thread empties the queue before it ends. */
	for (size_t i = 0; i < MAX_THREADS; i++)
		if (r->workers[i].running)
			pthread_join(r->workers[i].id, NULL);
	pthread_cond_destroy(&r->wake);
	pthread_mutex_destroy(&r->lock);
	free(r->queue);
	free(r);
}
