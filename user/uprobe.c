// SPDX-License-Identifier: GPL-2.0
/*
 * Probes are attached per process (a perf event bound to the pid), so the
 * breakpoints exist only in the selected process's memory: nothing else on
 * the node traps. The library is opened as /proc/PID/map_files/<range>, which
 * names the very file the process mapped, whatever its mount namespace.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "uprobe.h" /* before the skeleton: it needs the shared structs */
#include "heap.skel.h"
#include "libc_elf.h"
#include "log.h"
#include "procfs.h"

#define MAX_PROCESSES 1024
#define BLOCKS_PER_PROCESS (1 << 20)

enum { ENTRY_ONLY, WITH_RETURN };

/* Where each probe goes. Order matters where glibc gives two names one
 * address (memalign and aligned_alloc): the first name wins. */
static const struct probe_point {
	const char *symbol;
	int returns;
} points[] = {
	{ "malloc", WITH_RETURN },	   { "calloc", WITH_RETURN },
	{ "realloc", WITH_RETURN },	   { "reallocarray", WITH_RETURN },
	{ "posix_memalign", WITH_RETURN }, { "memalign", WITH_RETURN },
	{ "aligned_alloc", WITH_RETURN },  { "valloc", WITH_RETURN },
	{ "pvalloc", WITH_RETURN },	   { "free", ENTRY_ONLY },
	{ "malloc_trim", WITH_RETURN },
};
#define N_POINTS (sizeof(points) / sizeof(points[0]))

struct process {
	int pid;
	struct bpf_link *links[2 * N_POINTS];
	size_t n_links;
	struct bpf_link *hook; /* hook tier */
};

struct uprobe {
	struct heap_bpf *skel;
	struct process procs[MAX_PROCESSES];
	int ncpus;
};

static struct bpf_program *entry_program(struct heap_bpf *skel, size_t i)
{
	struct bpf_program *progs[] = {
		skel->progs.malloc_entry,	  skel->progs.calloc_entry,
		skel->progs.realloc_entry,	  skel->progs.reallocarray_entry,
		skel->progs.posix_memalign_entry, skel->progs.memalign_entry,
		skel->progs.memalign_entry,	  skel->progs.valloc_entry,
		skel->progs.pvalloc_entry,	  skel->progs.free_entry,
		skel->progs.malloc_trim_entry,
	};

	return progs[i];
}

int uprobe__open(bool empty_probes, struct uprobe **out)
{
	struct uprobe *u = calloc(1, sizeof(*u));
	int err;

	if (!u)
		return -ENOMEM;
	u->ncpus = libbpf_num_possible_cpus();
	u->skel = heap_bpf__open();
	if (!u->skel) {
		err = -errno;
		goto free_uprobe;
	}
	u->skel->rodata->empty_probes = empty_probes;
	err = heap_bpf__load(u->skel);
	if (err)
		goto destroy_skel;
	/* Only the exit program is global; the probes go on per process. */
	u->skel->links.heap_exit = bpf_program__attach(u->skel->progs.heap_exit);
	if (!u->skel->links.heap_exit) {
		err = -errno;
		goto destroy_skel;
	}
	*out = u;
	return 0;

destroy_skel:
	log_error("cannot load the uprobe tier's BPF programs: %s", strerror(-err));
	heap_bpf__destroy(u->skel);
free_uprobe:
	free(u);
	return err;
}

static struct process *find(struct uprobe *u, int pid)
{
	for (size_t i = 0; i < MAX_PROCESSES; i++)
		if (u->procs[i].pid == pid)
			return &u->procs[i];
	return NULL;
}

static void set_probed(struct uprobe *u, int pid, bool on)
{
	__u64 *word = &u->skel->bss->probed_bits[pid / 64], bit = 1ULL << (pid % 64);

	if (on)
		__atomic_fetch_or(word, bit, __ATOMIC_RELEASE);
	else
		__atomic_fetch_and(word, ~bit, __ATOMIC_RELEASE);
}

static void drop_maps(struct uprobe *u, int pid)
{
	__u32 key = (__u32)pid;

	set_probed(u, pid, false);
	bpf_map_delete_elem(bpf_map__fd(u->skel->maps.blocks), &key);
	bpf_map_delete_elem(bpf_map__fd(u->skel->maps.stats), &key);
}

/* Zeroed counters and an empty block map: the programs act only where these exist. */
static int create_maps(struct uprobe *u, int pid)
{
	LIBBPF_OPTS(bpf_map_create_opts, opts, .map_flags = BPF_F_NO_PREALLOC);
	size_t value = (sizeof(struct heap_stats) + 7) & ~(size_t)7;
	void *zeros = calloc((size_t)u->ncpus, value);
	__u32 key = (__u32)pid;
	int inner, err;

	if (!zeros)
		return -ENOMEM;
	inner = bpf_map_create(BPF_MAP_TYPE_HASH, "blocks", sizeof(__u64),
			       sizeof(struct heap_block), BLOCKS_PER_PROCESS, &opts);
	err = inner < 0 ? -errno : 0;
	if (!err && bpf_map_update_elem(bpf_map__fd(u->skel->maps.blocks), &key, &inner, BPF_ANY))
		err = -errno;
	if (inner >= 0)
		close(inner);
	if (!err && bpf_map_update_elem(bpf_map__fd(u->skel->maps.stats), &key, zeros, BPF_ANY))
		err = -errno;
	if (!err)
		set_probed(u, pid, true);
	free(zeros);
	return err;
}

static int find_libc(int pid, char *path, size_t path_len)
{
	char *maps = libc__pid_maps(pid), range[64], file[4096];
	enum libc_kind kind = LIBC_NONE;

	if (maps)
		kind = libc__find(maps, range, sizeof(range), file, sizeof(file));
	free(maps);
	if (kind != LIBC_GLIBC)
		return -ENOEXEC;
	snprintf(path, path_len, "/proc/%d/map_files/%s", pid, range);
	return 0;
}

/* glibc may give two names one address: probe it once, under the first. */
static bool shares_address(const uint64_t *offsets, size_t i)
{
	for (size_t k = 0; k < i; k++)
		if (offsets[k] == offsets[i])
			return true;
	return false;
}

/* Call states of @pid's threads, left by calls whose return was not seen. */
static void purge_calls(struct uprobe *u, int pid)
{
	int fd = bpf_map__fd(u->skel->maps.calls);
	__u64 key, next, *prev = NULL;

	while (bpf_map_get_next_key(fd, prev, &next) == 0) {
		key = next;
		if ((key >> 32) == (__u64)pid) {
			bpf_map_delete_elem(fd, &key);
			continue; /* the walk restarts from the key before */
		}
		prev = &key;
	}
}

int uprobe__attach(struct uprobe *u, int pid)
{
	const char *names[N_POINTS];
	uint64_t offsets[N_POINTS];
	struct process *p = find(u, pid);
	char path[128];
	int err;

	if (pid <= 0 || pid >= HEAP_PID_MAX)
		return -EINVAL;
	if (p && p->n_links)
		return 0;
	if (!p)
		p = find(u, 0);
	if (!p)
		return -E2BIG;
	err = find_libc(pid, path, sizeof(path));
	if (err)
		return err;
	for (size_t i = 0; i < N_POINTS; i++)
		names[i] = points[i].symbol;
	err = libc__offsets(path, names, N_POINTS, offsets);
	if (err || !offsets[0])
		return err ? err : -ENOEXEC;
	purge_calls(u, pid);
	err = create_maps(u, pid);
	if (err)
		goto drop;
	p->pid = pid;
	/* Return probes first: an entry seen is then always followed by its
	 * return, so no thread is left looking as if it were inside a call. */
	for (int pass = 0; pass < 2; pass++) {
		for (size_t i = 0; i < N_POINTS; i++) {
			bool returns = pass == 0;
			struct bpf_program *prog;

			if (!offsets[i] || shares_address(offsets, i) ||
			    (returns && points[i].returns != WITH_RETURN))
				continue;
			prog = returns ? u->skel->progs.alloc_return : entry_program(u->skel, i);
			p->links[p->n_links] = bpf_program__attach_uprobe(prog, returns, pid, path,
									   offsets[i]);
			if (!p->links[p->n_links]) {
				err = -errno;
				goto detach;
			}
			p->n_links++;
		}
	}
	return 0;

detach:
	uprobe__detach(u, pid);
	return err;
drop:
	drop_maps(u, pid);
	return err;
}

static void *destroy_link(void *link)
{
	bpf_link__destroy(link);
	return NULL;
}

/*
 * Removing a uprobe waits for an RCU grace period: about 100 ms each here,
 * two seconds for a process's twenty probes one after the other. Each goes
 * on a short-lived thread of its own instead, so the grace periods overlap
 * and the collection loop never waits (synchronously only if a thread
 * cannot be had).
 */
static void destroy_links(struct bpf_link **links, size_t n)
{
	pthread_attr_t attr;
	pthread_t thread;

	if (pthread_attr_init(&attr)) {
		for (size_t i = 0; i < n; i++)
			bpf_link__destroy(links[i]);
		return;
	}
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	pthread_attr_setstacksize(&attr, 64 * 1024);
	for (size_t i = 0; i < n; i++)
		if (pthread_create(&thread, &attr, destroy_link, links[i]))
			bpf_link__destroy(links[i]);
	pthread_attr_destroy(&attr);
}

/* A slot is free again once neither tier holds it. */
static void release(struct process *p)
{
	if (!p->n_links && !p->hook)
		p->pid = 0;
}

void uprobe__detach(struct uprobe *u, int pid)
{
	struct process *p = find(u, pid);

	if (!p || !pid)
		return;
	/* Off first, so the programs ignore the process while the probes go. */
	drop_maps(u, pid);
	destroy_links(p->links, p->n_links);
	memset(p->links, 0, sizeof(p->links));
	p->n_links = 0;
	release(p);
	purge_calls(u, pid);
}

int uprobe__attach_hook(struct uprobe *u, int pid)
{
	static const char *const names[] = { MEMTIDE_HOOK_REPORT_SYMBOL };
	struct process *p = find(u, pid);
	struct hook_state zero = { 0 };
	char range[64], path[128];
	__u32 key = (__u32)pid;
	uint64_t offset;
	int err;

	if (pid <= 0)
		return -EINVAL;
	if (p && p->hook)
		return 0;
	err = libc__pid_library(pid, MEMTIDE_HOOK_LIBRARY, range, sizeof(range));
	if (err)
		return err;
	snprintf(path, sizeof(path), "/proc/%d/map_files/%s", pid, range);
	err = libc__offsets(path, names, 1, &offset);
	if (err || !offset)
		return err ? err : -ENOENT;
	if (!p)
		p = find(u, 0);
	if (!p)
		return -E2BIG;
	if (bpf_map_update_elem(bpf_map__fd(u->skel->maps.hooks), &key, &zero, BPF_ANY))
		return -errno;
	p->hook = bpf_program__attach_uprobe(u->skel->progs.hook_report, false, pid, path, offset);
	if (!p->hook) {
		err = -errno;
		bpf_map_delete_elem(bpf_map__fd(u->skel->maps.hooks), &key);
		return err;
	}
	p->pid = pid;
	return 0;
}

void uprobe__detach_hook(struct uprobe *u, int pid)
{
	struct process *p = find(u, pid);
	__u32 key = (__u32)pid;

	if (!p || !pid || !p->hook)
		return;
	bpf_link__destroy(p->hook);
	p->hook = NULL;
	release(p);
	bpf_map_delete_elem(bpf_map__fd(u->skel->maps.hooks), &key);
}

int uprobe__read_hook(struct uprobe *u, int pid, struct hook_state *out)
{
	__u32 key = (__u32)pid;

	return bpf_map_lookup_elem(bpf_map__fd(u->skel->maps.hooks), &key, out) ? -errno : 0;
}

int uprobe__read(struct uprobe *u, int pid, struct heap_stats *out)
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

void uprobe__destroy(struct uprobe *u)
{
	if (!u)
		return;
	for (size_t i = 0; i < MAX_PROCESSES; i++) {
		int pid = u->procs[i].pid;

		if (pid) {
			uprobe__detach_hook(u, pid);
			uprobe__detach(u, pid);
		}
	}
	heap_bpf__destroy(u->skel);
	free(u);
}
