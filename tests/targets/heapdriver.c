// SPDX-License-Identifier: Apache-2.0
/*
 * Test target for the uprobe tier: calls the malloc family on command and
 * counts what it did itself, so memtide's figures can be checked against the
 * program's own bookkeeping, glibc's memusage and mallinfo2().
 * It uses no stdio (stdio allocates): commands are read with read(2), one per
 * line, answers written with write(2):
 *   work N       N rounds over every allocating function, keeping some blocks
 *   threads T N  T threads, N blocks each, every block freed by another thread
 *   mixed N      like work, plus realloc(NULL, n), realloc(p, 0), reallocarray,
 *                posix_memalign, memalign, aligned_alloc, valloc, pvalloc
 *   fragment N   N blocks of 1000 bytes, then free all but every 16th: the
 *                heap keeps its pages, which only malloc_trim() gives back
 *   hold N       N blocks of 1000 bytes, all kept: nothing for a trim to give back
 *   freeall      free every block still held
 *   trim         malloc_trim(0)
 *   trimloop MS  freeall, then for MS milliseconds: 20 MB fragmented as fragment
 *                does, ask its own control hook to trim (SIGRTMIN+4:
 *                only with the hook loaded), 5 ms later freeall: a process
 *                that spends much of its CPU in trims
 *   bench N      N malloc(64)+free pairs, answers ns per pair
 *   exit         exit 0
 * Every answer: "ok malloc=.. calloc=.. realloc=.. reallocarray=.. posix_memalign=..
 *   memalign=.. valloc=.. pvalloc=.. free=.. total=.. realloc_bytes=.. live=.. objects=..
 *   mallinfo=.."
 */
#include <dlfcn.h>
#include <malloc.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

enum { MALLOC, CALLOC, REALLOC, REALLOCARRAY, POSIX_MEMALIGN, MEMALIGN, VALLOC, PVALLOC, NFN };
static const char *const fn_names[NFN] = { "malloc",	     "calloc",	 "realloc", "reallocarray",
					   "posix_memalign", "memalign", "valloc",  "pvalloc" };

#define MAX_HELD (1 << 20)

static atomic_ulong calls[NFN], frees, total, live, objects, realloc_bytes;
static void *held[MAX_HELD];
static size_t held_size[MAX_HELD];
static size_t n_held;

#include "test_semaphores.h"

static void *counted(int fn, void *p, size_t size)
{
	atomic_fetch_add(&calls[fn], 1);
	if (p) {
		atomic_fetch_add(&total, size);
		atomic_fetch_add(&live, size);
		atomic_fetch_add(&objects, 1);
	}
	return p;
}

static void hold(void *p, size_t size)
{
	if (p && n_held < MAX_HELD) {
		held[n_held] = p;
		held_size[n_held++] = size;
	}
}

static void counted_free(void *p, size_t size)
{
	free(p);
	atomic_fetch_add(&frees, 1);
	atomic_fetch_sub(&live, size);
	atomic_fetch_sub(&objects, 1);
}

/* The calls memusage also sees: malloc, calloc, realloc, free. */
static void work(long rounds)
{
	for (long i = 0; i < rounds; i++) {
		size_t a = 16 + (size_t)(i * 37) % 4000, b = 1 + (size_t)i % 700;
		char *p = counted(MALLOC, malloc(a), a);
		char *q = counted(CALLOC, calloc(3, b), 3 * b);
		char *r;

		memset(p, 1, a);
		/* Grow: the old block's bytes leave, the new size arrives. */
		r = realloc(p, a * 2);
		atomic_fetch_add(&calls[REALLOC], 1);
		atomic_fetch_add(&realloc_bytes, a * 2);
		atomic_fetch_add(&total, a * 2);
		atomic_fetch_add(&live, a * 2 - a);
		if (i % 3 == 0)
			counted_free(q, 3 * b);
		else
			hold(q, 3 * b);
		if (i % 5 == 0)
			hold(r, a * 2);
		else
			counted_free(r, a * 2);
		if (i % 50 == 0) /* a large block: malloc gives it its own mapping */
			hold(counted(MALLOC, malloc(300000), 300000), 300000);
	}
}

/* The rest of the family, and glibc's internal calls between its entry points. */
static void mixed(long rounds)
{
	for (long i = 0; i < rounds; i++) {
		void *p = NULL,
		     *q, *volatile none = NULL; /* or gcc turns realloc(NULL, n) into malloc(n) */
		size_t n = 24 + (size_t)i % 200;

		q = counted(REALLOC, realloc(none, n), n); /* malloc inside */
		atomic_fetch_add(&realloc_bytes, n);
		q = realloc(q, 0); /* free inside */
		atomic_fetch_add(&calls[REALLOC], 1);
		atomic_fetch_sub(&live, n);
		atomic_fetch_sub(&objects, 1);
		hold(counted(REALLOCARRAY, reallocarray(none, 4, n), 4 * n), 4 * n);
		if (posix_memalign(&p, 64, n) == 0)
			hold(counted(POSIX_MEMALIGN, p, n), n);
		else
			atomic_fetch_add(&calls[POSIX_MEMALIGN], 1);
		hold(counted(MEMALIGN, memalign(128, n), n), n);
		hold(counted(MEMALIGN, aligned_alloc(256, 512), 512), 512);
		if (i % 10 == 0) {
			hold(counted(VALLOC, valloc(n), n), n);
			hold(counted(PVALLOC, pvalloc(n), n), n);
		}
	}
}

struct ring {
	void *slot[1024];
	size_t size[1024];
	atomic_uint head, tail;
};

static struct ring rings[64];
static long per_thread;
static int n_threads;

/* Thread i allocates into ring i and frees what thread i-1 put in ring i-1. */
static void *worker(void *arg)
{
	int me = (int)(long)arg;
	struct ring *mine = &rings[me], *theirs = &rings[(me + n_threads - 1) % n_threads];
	long made = 0, freed = 0;

	while (made < per_thread || freed < per_thread) {
		unsigned int h = atomic_load(&mine->head), t = atomic_load(&mine->tail);

		if (made < per_thread && h - t < 1024) {
			size_t n = 8 + (size_t)(made * 13 + me) % 1000;

			mine->slot[h % 1024] = counted(MALLOC, malloc(n), n);
			mine->size[h % 1024] = n;
			atomic_store(&mine->head, h + 1);
			made++;
		}
		h = atomic_load(&theirs->head);
		t = atomic_load(&theirs->tail);
		if (freed < per_thread && t != h) {
			counted_free(theirs->slot[t % 1024], theirs->size[t % 1024]);
			atomic_store(&theirs->tail, t + 1);
			freed++;
		}
	}
	return NULL;
}

static void threads(int t, long n)
{
	pthread_t ids[64];

	n_threads = t < 1 ? 1 : t > 64 ? 64 : t;
	per_thread = n;
	memset(rings, 0, sizeof(rings));
	for (int i = 0; i < n_threads; i++)
		pthread_create(&ids[i], NULL, worker, (void *)(long)i);
	for (int i = 0; i < n_threads; i++)
		pthread_join(ids[i], NULL);
}

static void fragment(long n)
{
	size_t first = n_held;

	for (long i = 0; i < n; i++) {
		char *p = counted(MALLOC, malloc(1000), 1000);

		if (p)
			memset(p, 7, 1000);
		hold(p, 1000);
	}
	/* Keep every 16th: live data pins the arena's top, so nothing shrinks by itself. */
	for (size_t i = first; i < n_held; i++) {
		if ((i - first) % 16 == 15)
			continue;
		counted_free(held[i], held_size[i]);
		held[i] = NULL;
	}
	/* Compact the kept ones to the front of the list. */
	size_t k = first;

	for (size_t i = first; i < n_held; i++) {
		if (held[i]) {
			held[k] = held[i];
			held_size[k++] = held_size[i];
		}
	}
	n_held = k;
}

static void freeall(void)
{
	while (n_held) {
		n_held--;
		counted_free(held[n_held], held_size[n_held]);
	}
}

static uint64_t mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static void trimloop(long ms)
{
	const struct timespec pause = { .tv_nsec = 5000000 };
	uint64_t end = mono_ms() + (uint64_t)ms;

	freeall();
	while (mono_ms() < end) {
		/* 20 MB as 5000 blocks of 4000 bytes, unwritten (malloc's own
		 * headers touch every page), every 16th kept: the least work
		 * besides the trim for a trim with 20 MB to give back. */
		for (long i = 0; i < 5000; i++)
			hold(counted(MALLOC, malloc(4000), 4000), 4000);
		for (size_t i = 0; i < n_held; i++) {
			if (i % 16 == 15) {
				held[i / 16] = held[i];
				held_size[i / 16] = held_size[i];
			} else {
				counted_free(held[i], held_size[i]);
			}
		}
		n_held /= 16;
		kill(getpid(), SIGRTMIN + 4);
		nanosleep(&pause, NULL);
		freeall();
	}
}

static double bench(long n)
{
	struct timespec a, b;

	clock_gettime(CLOCK_MONOTONIC, &a);
	for (long i = 0; i < n; i++) {
		void *volatile p = malloc(64);

		free(p);
	}
	clock_gettime(CLOCK_MONOTONIC, &b);
	return ((double)(b.tv_sec - a.tv_sec) * 1e9 + (double)(b.tv_nsec - a.tv_nsec)) / (double)n;
}

static void say(const char *text)
{
	size_t len = strlen(text);

	while (len) {
		ssize_t n = write(1, text, len);

		if (n <= 0)
			_exit(1);
		text += n;
		len -= (size_t)n;
	}
}

static void report(void)
{
	struct mallinfo2 mi = mallinfo2();
	char line[1024];
	int n = snprintf(line, sizeof(line), "ok");

	for (int f = 0; f < NFN; f++)
		n += snprintf(line + n, sizeof(line) - (size_t)n, " %s=%lu", fn_names[f],
			      atomic_load(&calls[f]));
	snprintf(line + n, sizeof(line) - (size_t)n,
		 " free=%lu total=%lu realloc_bytes=%lu live=%lu objects=%lu mallinfo=%zu\n",
		 atomic_load(&frees), atomic_load(&total), atomic_load(&realloc_bytes),
		 atomic_load(&live), atomic_load(&objects), mi.uordblks + mi.hblkhd);
	say(line);
}

/* One line from stdin, without stdio. */
static int read_line(char *buf, size_t size)
{
	size_t n = 0;

	while (n < size - 1) {
		ssize_t got = read(0, buf + n, 1);

		if (got <= 0)
			return -1;
		if (buf[n] == '\n')
			break;
		n++;
	}
	buf[n] = '\0';
	return 0;
}

int main(void)
{
	char line[128], cmd[16];

	snprintf(line, sizeof(line), "ready %d\n", (int)getpid());
	say(line);
	while (read_line(line, sizeof(line)) == 0) {
		long a = 0, b = 0;

		if (sscanf(line, "%15s %ld %ld", cmd, &a, &b) < 1)
			continue;
		if (strcmp(cmd, "work") == 0) {
			work(a);
		} else if (strcmp(cmd, "mixed") == 0) {
			mixed(a);
		} else if (strcmp(cmd, "threads") == 0) {
			threads((int)a, b);
		} else if (strcmp(cmd, "fragment") == 0) {
			fragment(a);
		} else if (strcmp(cmd, "hold") == 0) {
			for (long i = 0; i < a; i++) {
				char *p = counted(MALLOC, malloc(1000), 1000);

				if (p)
					memset(p, 7, 1000);
				hold(p, 1000);
			}
		} else if (strcmp(cmd, "freeall") == 0) {
			freeall();
		} else if (strcmp(cmd, "trim") == 0) {
			malloc_trim(0);
		} else if (strcmp(cmd, "trimloop") == 0) {
			trimloop(a);
		} else if (strcmp(cmd, "bench") == 0) {
			snprintf(line, sizeof(line), "ok %.1f\n", bench(a));
			say(line);
			continue;
		} else if (strcmp(cmd, "exit") == 0) {
			return 0;
		}
		report();
	}
	return 0;
}
