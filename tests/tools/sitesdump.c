// SPDX-License-Identifier: Apache-2.0
/*
 * Test driver of the sites module: sitesdump [-c CAP] PID [SECONDS].
 * Opens it (CAP: live samples per process), attaches to PID and prints
 * "attached links=N" (or "attach error=-E"), then waits for SIGUSR1 (dump),
 * SIGTERM or SECONDS (dump and exit). A dump: per stack
 *   "stack alloc_objects=.. alloc_space=.. inuse_objects=.. inuse_space=.. ips=0x..,0x.."
 * then "drops live_global=.. live_process=.. stack_lost=.. site_full=.." and "end".
 * SIGUSR2 detaches PID and prints "detached links=N". First of all it prints
 * "maps NAME=ID ..." for its maps, so a test can read them with bpftool.
 */
#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <dirent.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include "sites.h"

static volatile sig_atomic_t want_dump, want_exit, want_detach;

static void on_signal(int sig)
{
	if (sig == SIGUSR1)
		want_dump = 1;
	else if (sig == SIGUSR2)
		want_detach = 1;
	else
		want_exit = 1;
}

static int print_stack(void *ctx, const uint64_t *ips, size_t depth, const struct sites_figures *f)
{
	(void)ctx;
	printf("stack alloc_objects=%llu alloc_space=%llu inuse_objects=%llu inuse_space=%llu ips=",
	       (unsigned long long)f->alloc_objects, (unsigned long long)f->alloc_space,
	       (unsigned long long)f->inuse_objects, (unsigned long long)f->inuse_space);
	for (size_t i = 0; i < depth; i++)
		printf("%s0x%" PRIx64, i ? "," : "", ips[i]);
	printf("\n");
	return 0;
}

static void dump(struct sites *s, int pid)
{
	struct sites_drops d = { 0 };
	int err = sites__read(s, pid, print_stack, NULL, &d);

	if (err)
		printf("read error=%d\n", err);
	printf("drops live_global=%llu live_process=%llu stack_lost=%llu site_full=%llu\n",
	       (unsigned long long)d.live_global, (unsigned long long)d.live_process,
	       (unsigned long long)d.stack_lost, (unsigned long long)d.site_full);
	printf("end\n");
}

/* Our own BPF maps, found through our file descriptors. */
static void print_maps(void)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *e;

	printf("maps");
	while (d && (e = readdir(d))) {
		struct bpf_map_info info = { 0 };
		__u32 len = sizeof(info);
		int fd = (int)strtol(e->d_name, NULL, 10);

		if (fd > 2 && !bpf_obj_get_info_by_fd(fd, &info, &len) &&
		    strncmp(info.name, "sites_", 6) == 0 && !strchr(info.name, '.'))
			printf(" %s=%u", info.name, info.id);
	}
	if (d)
		closedir(d);
	printf("\n");
}

int main(int argc, char **argv)
{
	struct sigaction sa = { .sa_handler = on_signal };
	unsigned long long cap = 0;
	int opt, pid, seconds = 3600, err;
	struct sites *s;

	while ((opt = getopt(argc, argv, "c:")) != -1) {
		if (opt != 'c')
			return 2;
		cap = strtoull(optarg, NULL, 10);
	}
	if (optind >= argc) {
		fprintf(stderr, "usage: sitesdump [-c CAP] PID [SECONDS]\n");
		return 2;
	}
	pid = (int)strtol(argv[optind], NULL, 10);
	if (optind + 1 < argc)
		seconds = (int)strtol(argv[optind + 1], NULL, 10);
	setvbuf(stdout, NULL, _IOLBF, 0);
	sigaction(SIGUSR1, &sa, NULL);
	sigaction(SIGUSR2, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	err = sites__open(cap, &s);
	if (err) {
		fprintf(stderr, "sitesdump: open: %s\n", strerror(-err));
		return 1;
	}
	print_maps();
	err = sites__attach(s, pid);
	if (err)
		printf("attach error=%d links=%zu\n", err, sites__links(s, pid));
	else
		printf("attached links=%zu\n", sites__links(s, pid));
	for (int t = 0; t < seconds * 10 && !want_exit; t++) {
		usleep(100 * 1000);
		if (want_dump) {
			want_dump = 0;
			dump(s, pid);
		}
		if (want_detach) {
			want_detach = 0;
			sites__detach(s, pid);
			printf("detached links=%zu\n", sites__links(s, pid));
		}
	}
	dump(s, pid);
	sites__destroy(s);
	return 0;
}
