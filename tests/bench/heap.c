// SPDX-License-Identifier: Apache-2.0
/*
 * make bench, uprobe tier: ns per malloc(64)+free pair in this process, three
 * ways in one run, interleaved block by block:
 *   unprobed  no probes
 *   floor     the same probes memtide uses, with programs that return at once:
 *             the cost of the traps alone
 *   memtide   memtide's programs
 * Each block keeps its fastest round (wall time; the trap's cost is kernel
 * time of this thread, noise only adds). Then the hits per pair, checked
 * against memtide's own counters.
 */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>
#include "bench.h"
#include "log.h"
#include "heap.h"

enum { UNPROBED, FLOOR, MEMTIDE, N_CASES };
static const char *const names[] = { "unprobed", "floor", "memtide" };

static double fastest_round(long pairs, int rounds)
{
	double best = 1e18;

	for (int r = 0; r < rounds; r++) {
		double t0 = clock_ns(CLOCK_MONOTONIC), ns;

		for (long i = 0; i < pairs; i++) {
			void *volatile p = malloc(64);

			free(p);
		}
		ns = (clock_ns(CLOCK_MONOTONIC) - t0) / (double)pairs;
		if (ns < best)
			best = ns;
	}
	return best;
}

static double probed(bool empty, long pairs, int rounds, struct heap_stats *stats)
{
	struct heap *u;
	double ns;

	if (heap__open(empty, &u) || heap__attach(u, getpid()))
		exit(1);
	ns = fastest_round(pairs, rounds);
	if (stats && heap__read(u, getpid(), stats))
		exit(1);
	heap__destroy(u);
	return ns;
}

int main(int argc, char **argv)
{
	long pairs = argc > 1 ? strtol(argv[1], NULL, 10) : 20000;
	int rounds = argc > 2 ? (int)strtol(argv[2], NULL, 10) : 3;
	int blocks = argc > 3 ? (int)strtol(argv[3], NULL, 10) : 9;
	double *ns[N_CASES], median[N_CASES];
	struct heap_stats stats;

	log__set_level(LOG_WARN);
	for (int c = 0; c < N_CASES; c++)
		if (!(ns[c] = calloc((size_t)blocks, sizeof(double))))
			return 1;
	for (int b = 0; b < blocks; b++) {
		ns[UNPROBED][b] = fastest_round(pairs * 100, rounds);
		ns[FLOOR][b] = probed(true, pairs, rounds, NULL);
		ns[MEMTIDE][b] = probed(false, pairs, rounds, &stats);
	}
	printf("malloc(64)+free, ns per pair (median of %d blocks, each the fastest of %d rounds of %ld pairs):\n",
	       blocks, rounds, pairs);
	for (int c = 0; c < N_CASES; c++) {
		qsort(ns[c], (size_t)blocks, sizeof(double), cmp_double);
		median[c] = ns[c][blocks / 2];
		printf("  %-9s %10.1f   (min %.1f, max %.1f)\n", names[c], median[c], ns[c][0],
		       ns[c][blocks - 1]);
	}
	printf("ratio memtide / floor:    %.3f   (target <= 1.10)\n",
	       median[MEMTIDE] / median[FLOOR]);
	printf("ratio memtide / unprobed: %.0f\n", median[MEMTIDE] / median[UNPROBED]);
	/* The last block's memtide round: every call seen, nothing left live. */
	printf("probe hits per pair: 3 (malloc entry, malloc return, free entry); last block counted %llu mallocs, %llu frees for %ld pairs x %d rounds, live objects %lld\n",
	       (unsigned long long)stats.calls[HEAP_MALLOC], (unsigned long long)stats.frees, pairs,
	       rounds, (long long)stats.live_objects);
	return 0;
}
