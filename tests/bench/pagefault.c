// SPDX-License-Identifier: Apache-2.0
/*
 * make bench, kernel tier: the cost of one anonymous page fault with and
 * without memtide's kernel-tier programs, measured in one process so the three
 * cases interleave block by block and machine noise hits them alike:
 *   off        programs not loaded
 *   untracked  programs attached, this process not tracked (every other process on the node)
 *   tracked    programs attached, this process tracked
 * Each block maps PAGES pages, touches each once, unmaps, ROUNDS times, and keeps
 * its fastest round in thread CPU time (noise only adds time). Reported: the
 * median over BLOCKS blocks, and the ratios to "off". Then the price paid
 * instead, once per snapshot: one pass of the task iterator over every
 * process on this machine.
 */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>
#include "kernel.h"
#include "bench.h"
#include "log.h"

enum { OFF, UNTRACKED, TRACKED, N_CASES };
static const char *const names[] = { "off", "untracked", "tracked" };

static double fastest_round(long pages, long rounds)
{
	size_t page = (size_t)sysconf(_SC_PAGESIZE), len = (size_t)pages * page;
	double best = 1e18;

	for (long r = 0; r < rounds; r++) {
		char *p =
			mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		double t0, ns;

		if (p == MAP_FAILED)
			exit(1);
		madvise(p, len, MADV_NOHUGEPAGE);
		t0 = clock_ns(CLOCK_THREAD_CPUTIME_ID);
		for (size_t off = 0; off < len; off += page)
			p[off] = 1;
		ns = (clock_ns(CLOCK_THREAD_CPUTIME_ID) - t0) / (double)pages;
		munmap(p, len);
		if (ns < best)
			best = ns;
	}
	return best;
}

/* Tracks every process here and times kernel__read(), the per-snapshot cost. */
static int snapshot_cost(void)
{
	struct kernel_process *procs;
	struct kernel *l;
	struct dirent *d;
	size_t n = 0, threads = 0;
	double best = 1e18;
	DIR *dir;

	if (kernel__open(&l))
		return 1;
	dir = opendir("/proc");
	while (dir && (d = readdir(dir))) {
		long pid = strtol(d->d_name, NULL, 10);

		if (pid > 0)
			kernel__track(l, (int)pid);
	}
	if (dir)
		closedir(dir);
	for (int i = 0; i < 50; i++) {
		double t0 = clock_ns(CLOCK_MONOTONIC);

		if (kernel__read(l, &procs, &n))
			return 1;
		if (clock_ns(CLOCK_MONOTONIC) - t0 < best)
			best = clock_ns(CLOCK_MONOTONIC) - t0;
		threads = 0;
		for (size_t p = 0; p < n; p++)
			threads += procs[p].threads;
		free(procs);
	}
	kernel__destroy(l);
	printf("per snapshot: one task-iterator pass over %zu processes (%zu threads) takes %.0f us\n",
	       n, threads, best / 1e3);
	return 0;
}

int main(int argc, char **argv)
{
	long pages = argc > 1 ? strtol(argv[1], NULL, 10) : 5000;
	long rounds = argc > 2 ? strtol(argv[2], NULL, 10) : 5;
	long blocks = argc > 3 ? strtol(argv[3], NULL, 10) : 30;
	double *ns[N_CASES], median[N_CASES];
	struct kernel *l;

	log__set_level(LOG_WARN);
	for (int c = 0; c < N_CASES; c++)
		if (!(ns[c] = calloc((size_t)blocks, sizeof(double))))
			return 1;
	for (long b = 0; b < blocks; b++) {
		ns[OFF][b] = fastest_round(pages, rounds);
		if (kernel__open(&l))
			return 1;
		ns[UNTRACKED][b] = fastest_round(pages, rounds);
		if (kernel__track(l, getpid()))
			return 1;
		ns[TRACKED][b] = fastest_round(pages, rounds);
		kernel__destroy(l);
	}
	printf("page-fault cost, CPU ns per fault (median of %ld blocks, each the fastest of %ld rounds of %ld faults):\n",
	       blocks, rounds, pages);
	for (int c = 0; c < N_CASES; c++) {
		qsort(ns[c], (size_t)blocks, sizeof(double), cmp_double);
		median[c] = ns[c][blocks / 2];
		printf("  %-10s %8.1f   (min %.1f, max %.1f)\n", names[c], median[c], ns[c][0],
		       ns[c][blocks - 1]);
	}
	printf("ratio untracked / off: %.3f   (every process on the node)\n",
	       median[UNTRACKED] / median[OFF]);
	printf("ratio tracked / off:   %.3f   (a tracked process; target <= 1.05)\n",
	       median[TRACKED] / median[OFF]);
	return snapshot_cost();
}
