// SPDX-License-Identifier: Apache-2.0
/*
 * Safety first: a process is signalled only through a pidfd opened when it
 * was first seen, and only after checking, at that moment, that it maps the
 * hook library and has a handler for the hook's signal. A process without
 * the hook is never signalled, whatever its usage.
 */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <linux/types.h>
#include "hookinfo.h"
#include "procfs.h"
#include "trim.h"

#define MAX_WATCHED PROC_MAX_TRACKED /* hook-tier processes are tracked ones */

struct watched {
	int pid;
	int pidfd;
	uint64_t start_ticks;
};

struct trim {
	pthread_mutex_t lock;
	struct watched w[MAX_WATCHED];
};

int trim__new(struct trim **out)
{
	struct trim *t = calloc(1, sizeof(*t));

	if (!t)
		return -ENOMEM;
	pthread_mutex_init(&t->lock, NULL);
	*out = t;
	return 0;
}

static struct watched *slot(struct trim *t, int pid)
{
	for (size_t i = 0; i < MAX_WATCHED; i++)
		if (t->w[i].pid == pid)
			return &t->w[i];
	return NULL;
}

static bool same_start(int pid, uint64_t start_ticks)
{
	struct proc_stat st;
	char buf[1024];

	return procfs__read_pid(pid, "stat", buf, sizeof(buf)) > 0 &&
	       !procfs__parse_stat(buf, &st) && st.starttime == start_ticks;
}

int trim__watch(struct trim *t, int pid, uint64_t start_ticks)
{
	struct watched *w;
	int fd, err = 0;

	pthread_mutex_lock(&t->lock);
	w = slot(t, pid);
	if (w && w->start_ticks == start_ticks)
		goto unlock;
	if (w) {
		close(w->pidfd);
		w->pid = 0;
	}
	w = slot(t, 0);
	fd = (int)syscall(SYS_pidfd_open, pid, 0);
	if (!w || fd < 0) {
		err = fd < 0 ? -errno : -E2BIG;
		if (fd >= 0)
			close(fd);
		goto unlock;
	}
	/* The pidfd names whatever held the number at open: make sure it is ours. */
	if (!same_start(pid, start_ticks)) {
		close(fd);
		err = -ESRCH;
		goto unlock;
	}
	*w = (struct watched){ .pid = pid, .pidfd = fd, .start_ticks = start_ticks };
unlock:
	pthread_mutex_unlock(&t->lock);
	return err;
}

void trim__forget(struct trim *t, const struct proc_key *k)
{
	struct watched *w;

	pthread_mutex_lock(&t->lock);
	w = k->pid ? slot(t, k->pid) : NULL;
	/* A later holder of the number keeps its own pidfd. */
	if (w && w->start_ticks == k->start_ticks) {
		close(w->pidfd);
		w->pid = 0;
	}
	pthread_mutex_unlock(&t->lock);
}

bool trim__watched(struct trim *t, int pid, uint64_t start_ticks)
{
	struct watched *w;
	bool yes;

	pthread_mutex_lock(&t->lock);
	w = pid > 0 ? slot(t, pid) : NULL;
	yes = w && w->start_ticks == start_ticks;
	pthread_mutex_unlock(&t->lock);
	return yes;
}

/* SigCgt in /proc/PID/status: the signals the process has handlers for. */
static bool handles(int pid, int sig)
{
	char buf[8192], *p;
	unsigned long long mask;

	if (procfs__read_pid(pid, "status", buf, sizeof(buf)) <= 0 || !(p = strstr(buf, "SigCgt:")))
		return false;
	mask = strtoull(p + 7, NULL, 16);
	return sig >= 1 && sig <= 64 && (mask >> (sig - 1)) & 1;
}

int trim__request(struct trim *t, int pid, const char **why)
{
	struct hook_found found;
	struct watched *w;
	int sig = 0, err = 0;

	pthread_mutex_lock(&t->lock);
	w = pid > 0 ? slot(t, pid) : NULL;
	pthread_mutex_unlock(&t->lock);
	if (!w) {
		*why = "not a tracked process";
		return -ESRCH;
	}
	/* The signal is the one the hook says it listens on, read from the
	 * process itself now: never re-derived from its environment. Reading
	 * the process happens outside the lock, which the collection loop takes. */
	if (hookinfo__inspect(pid, &found)) {
		*why = "the control hook is not loaded: never signalled";
		return -ENOTSUP;
	}
	if (!(sig = found.info.signo)) {
		*why = "the hook is passive (the program handles the hook's signal itself): never signalled";
		return -ENOTSUP;
	}
	if (!handles(pid, sig)) {
		*why = "the process does not handle the hook's signal: never signalled";
		return -ENOTSUP;
	}
	pthread_mutex_lock(&t->lock);
	w = slot(t, pid);
	if (!w) {
		*why = "not a tracked process";
		err = -ESRCH;
	} else if (!same_start(pid, w->start_ticks)) {
		/* What was inspected may have been a later holder of the number:
		 * the pidfd names the process first seen, or nothing. */
		*why = "the process is gone";
		err = -ESRCH;
	} else if (syscall(SYS_pidfd_send_signal, w->pidfd, sig, NULL, 0)) {
		err = -errno;
		*why = err == -ESRCH   ? "the process is gone"
		       : err == -EPERM ? "signalling another user's process needs CAP_KILL"
				       : "the signal could not be sent";
	}
	pthread_mutex_unlock(&t->lock);
	return err;
}

void trim__free(struct trim *t)
{
	if (!t)
		return;
	for (size_t i = 0; i < MAX_WATCHED; i++)
		if (t->w[i].pid)
			close(t->w[i].pidfd);
	pthread_mutex_destroy(&t->lock);
	free(t);
}
