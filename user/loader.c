// SPDX-License-Identifier: GPL-2.0
/* open → size maps → load → attach, as in libbpf-bootstrap; one cleanup path. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "log.h"
#include "loader.h"
#include "mm.skel.h"

struct loader {
	struct mm_bpf *skel;
	int stats_fd;
};

static int libbpf_log(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	char line[1024];
	size_t n;

	if (level == LIBBPF_DEBUG && log__level() > LOG_DEBUG)
		return 0;
	vsnprintf(line, sizeof(line), fmt, ap);
	n = strlen(line);
	if (n && line[n - 1] == '\n')
		line[n - 1] = '\0';
	log__msg(level == LIBBPF_WARN ? LOG_WARN : LOG_DEBUG, "libbpf: %s", line);
	return 0;
}

int loader__open(struct loader **out)
{
	struct loader *l = calloc(1, sizeof(*l));
	int err;

	if (!l)
		return -ENOMEM;
	libbpf_set_print(libbpf_log);
	l->skel = mm_bpf__open();
	if (!l->skel) {
		err = -errno;
		log_error("cannot open the BPF object: %s", strerror(-err));
		goto free_loader;
	}
	err = bpf_map__set_max_entries(l->skel->maps.stats, LOADER_MAX_TRACKED);
	if (err)
		goto destroy_skel;
	err = mm_bpf__load(l->skel);
	if (err) {
		log_error("cannot load the BPF programs (needs root, BTF and CAP_BPF): %s",
			  strerror(-err));
		goto destroy_skel;
	}
	err = mm_bpf__attach(l->skel);
	if (err) {
		log_error("cannot attach the BPF programs: %s", strerror(-err));
		goto destroy_skel;
	}
	l->stats_fd = bpf_map__fd(l->skel->maps.stats);
	*out = l;
	return 0;

destroy_skel:
	mm_bpf__destroy(l->skel);
free_loader:
	free(l);
	return err;
}

void loader__destroy(struct loader *l)
{
	if (!l)
		return;
	mm_bpf__destroy(l->skel);
	free(l);
}

int loader__track(struct loader *l, int tgid, const struct mm_stats *seed)
{
	__u32 key = (__u32)tgid;

	if (bpf_map_update_elem(l->stats_fd, &key, seed, BPF_NOEXIST) == 0)
		return 0;
	return errno == EEXIST ? 0 : -errno;
}

void loader__untrack(struct loader *l, int tgid)
{
	__u32 key = (__u32)tgid;

	bpf_map_delete_elem(l->stats_fd, &key);
}

int loader__read(struct loader *l, int tgid, struct mm_stats *out)
{
	__u32 key = (__u32)tgid;

	return bpf_map_lookup_elem(l->stats_fd, &key, out) ? -errno : 0;
}

void loader__counters(struct loader *l, struct loader_counters *out)
{
	out->oom_kills = __atomic_load_n(&l->skel->bss->oom_kills, __ATOMIC_RELAXED);
	out->oom_victim = l->skel->bss->oom_victim;
	out->dropped_threads = __atomic_load_n(&l->skel->bss->dropped_threads, __ATOMIC_RELAXED);
}
