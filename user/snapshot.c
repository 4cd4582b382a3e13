// SPDX-License-Identifier: GPL-2.0
#include <pthread.h>
#include <stdlib.h>
#include "snapshot.h"

static pthread_mutex_t current_lock = PTHREAD_MUTEX_INITIALIZER;
static struct snapshot *current;

struct snapshot *snapshot__new(size_t capacity)
{
	struct snapshot *s = calloc(1, sizeof(*s));

	if (!s)
		return NULL;
	s->samples = calloc(capacity ? capacity : 1, sizeof(*s->samples));
	if (!s->samples) {
		free(s);
		return NULL;
	}
	s->refs = 1;
	return s;
}

struct snapshot *snapshot__get(struct snapshot *s)
{
	if (s)
		__atomic_add_fetch(&s->refs, 1, __ATOMIC_RELAXED);
	return s;
}

void snapshot__put(struct snapshot *s)
{
	if (!s || __atomic_sub_fetch(&s->refs, 1, __ATOMIC_ACQ_REL))
		return;
	free(s->samples);
	free(s->metrics);
	free(s);
}

/* Takes over the caller's reference. */
void snapshot__publish(struct snapshot *s)
{
	struct snapshot *old;

	pthread_mutex_lock(&current_lock);
	old = current;
	current = s;
	pthread_mutex_unlock(&current_lock);
	snapshot__put(old);
}

struct snapshot *snapshot__current(void)
{
	struct snapshot *s;

	pthread_mutex_lock(&current_lock);
	s = snapshot__get(current);
	pthread_mutex_unlock(&current_lock);
	return s;
}
