// SPDX-License-Identifier: Apache-2.0
/*
 * symdump [-r] PID IP...: resolves IPs of a running process with the agent's
 * symbolizer (user/symbolize.c), one tab-separated line per IP:
 *   ip map_index path start limit offset build_id elf_addr func func_offset file line
 * (numbers in hex but map_index and line; "-" for an empty string). -r: the
 * IPs after the first are return addresses (SYM_RETURN_ADDRS).
 * symdump -b PID IP...: the cost per frame, cold (empty cache) and warm.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "symbolize.h"

static const char *or_dash(const char *s)
{
	return *s ? s : "-";
}

static double now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e9 + ts.tv_nsec;
}

static int bench(int pid, const __u64 *ips, size_t n, struct sym_frame *out)
{
	struct symbolizer *s;
	double t0, cold, warm;
	const int rounds = 10000;
	int err;

	if (symbolizer__new(0, &s))
		return 1;
	t0 = now_ns();
	err = symbolizer__resolve(s, pid, ips, n, 0, out);
	cold = now_ns() - t0;
	t0 = now_ns();
	for (int i = 0; i < rounds && !err; i++)
		err = symbolizer__resolve(s, pid, ips, n, 0, out);
	warm = now_ns() - t0;
	symbolizer__free(s);
	if (err)
		return 1;
	printf("cold %.0f ns/frame, warm %.0f ns/frame (%zu frames)\n", cold / (double)n,
	       warm / rounds / (double)n, n);
	return 0;
}

int main(int argc, char **argv)
{
	unsigned int flags = 0;
	bool do_bench = false;
	struct symbolizer *s;
	struct sym_frame *out;
	__u64 *ips;
	size_t n;
	int pid, err, a = 1;

	if (a < argc && strcmp(argv[a], "-r") == 0 && ++a)
		flags |= SYM_RETURN_ADDRS;
	else if (a < argc && strcmp(argv[a], "-b") == 0 && ++a)
		do_bench = true;
	if (argc - a < 2) {
		fprintf(stderr, "usage: symdump [-r|-b] PID IP...\n");
		return 2;
	}
	pid = atoi(argv[a++]);
	n = (size_t)(argc - a);
	ips = calloc(n, sizeof(*ips));
	out = calloc(n, sizeof(*out));
	if (!ips || !out)
		return 1;
	for (size_t i = 0; i < n; i++)
		ips[i] = strtoull(argv[a + i], NULL, 0);
	if (do_bench)
		return bench(pid, ips, n, out);
	if (symbolizer__new(0, &s))
		return 1;
	err = symbolizer__resolve(s, pid, ips, n, flags, out);
	if (err) {
		fprintf(stderr, "symdump: %s\n", strerror(-err));
		return 1;
	}
	for (size_t i = 0; i < n; i++) {
		const struct sym_frame *f = &out[i];

		printf("%llx\t%d\t%s\t%llx\t%llx\t%llx\t%s\t%llx\t%s\t%llx\t%s\t%u\n",
		       (unsigned long long)f->ip, f->map_index, or_dash(f->path),
		       (unsigned long long)f->map_start, (unsigned long long)f->map_limit,
		       (unsigned long long)f->map_offset, or_dash(f->build_id),
		       (unsigned long long)f->elf_addr, or_dash(f->func),
		       (unsigned long long)f->func_offset, or_dash(f->file), f->line);
	}
	symbolizer__free(s);
	free(ips);
	free(out);
	return 0;
}
