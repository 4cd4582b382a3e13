// SPDX-License-Identifier: Apache-2.0
/*
 * Attaching one process's probes: the malloc family on its own libc (opened
 * as /proc/PID/map_files/<range>, the very file it mapped, whatever its mount
 * namespace), or the report function of the hook it runs; and undoing that.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/syscall.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "heap_int.h"
#include "hookinfo.h"
#include "libc_elf.h"
#include "reaper.h"

/*
 * Probes as uprobe_multi links (kernel 6.6+), not perf events: a perf-event
 * uprobe is removed under the kernel's global event_mutex, one grace period
 * (~100 ms) after another, so twenty probes on eight processes took 15 s to
 * remove even from 32 threads. A multi link is removed with one grace period
 * for all its offsets, outside that mutex, so removals overlap. libbpf 1.1
 * predates these links: the attribute is the kernel's UAPI layout.
 */
#define LINK_CREATE 28 /* BPF_LINK_CREATE */
#define UPROBE_MULTI_RETURN 1 /* BPF_F_UPROBE_MULTI_RETURN */

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

_Static_assert(N_POINTS == HEAP_N_POINTS, "heap_int.h sizes the links by the probe points");

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

static void set_probed(struct heap *u, int pid, bool on)
{
	__u64 *word = &u->skel->bss->probed_bits[pid / 64], bit = 1ULL << (pid % 64);

	if (on)
		__atomic_fetch_or(word, bit, __ATOMIC_RELEASE);
	else
		__atomic_fetch_and(word, ~bit, __ATOMIC_RELEASE);
}

static void drop_maps(struct heap *u, int pid)
{
	__u32 key = (__u32)pid;

	set_probed(u, pid, false);
	bpf_map_delete_elem(bpf_map__fd(u->skel->maps.blocks), &key);
	bpf_map_delete_elem(bpf_map__fd(u->skel->maps.stats), &key);
}

/* Zeroed counters and an empty block map: the programs act only where these exist. */
static int create_maps(struct heap *u, int pid)
{
	LIBBPF_OPTS(bpf_map_create_opts, opts, .map_flags = BPF_F_NO_PREALLOC);
	size_t value = (sizeof(struct heap_stats) + 7) & ~(size_t)7;
	void *zeros = calloc((size_t)u->ncpus, value);
	__u32 key = (__u32)pid;
	int inner, err;

	if (!zeros)
		return -ENOMEM;
	inner = bpf_map_create(BPF_MAP_TYPE_HASH, "blocks", sizeof(__u64),
			       sizeof(struct heap_block), HEAP_BLOCKS_PER_PROCESS, &opts);
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
static void purge_calls(struct heap *u, int pid)
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

static bool closing(struct heap *u)
{
	return __atomic_load_n(&u->closing, __ATOMIC_RELAXED);
}

struct uprobe_multi_attr {
	__u32 prog_fd, target_fd, attach_type, flags;
	__u64 path, offsets, ref_ctr_offsets, cookies;
	__u32 cnt, multi_flags, pid, pad;
};

static int attach_multi(struct bpf_program *prog, bool returns, int pid, const char *path,
			const uint64_t *offsets, size_t n)
{
	struct uprobe_multi_attr attr = {
		.prog_fd = (__u32)bpf_program__fd(prog),
		.attach_type = TRACE_UPROBE_MULTI,
		.path = (__u64)(uintptr_t)path,
		.offsets = (__u64)(uintptr_t)offsets,
		.cnt = (__u32)n,
		.multi_flags = returns ? UPROBE_MULTI_RETURN : 0,
		.pid = (__u32)pid, /* breakpoints only in this process */
	};
	int fd = (int)syscall(__NR_bpf, LINK_CREATE, &attr, sizeof(attr));

	return fd < 0 ? -errno : fd;
}

/* The malloc family's probes on @p->pid's own libc, into @p->links: one link
 * per entry program, one for every return. On error the caller undoes what
 * was done. */
int heap_attach_malloc(struct heap *u, struct process *p)
{
	uint64_t offsets[N_POINTS], returns[N_POINTS];
	const char *names[N_POINTS];
	size_t n_returns = 0;
	char path[128];
	int pid = p->pid, err;

	if (pid <= 0 || pid >= MEMTIDE_PID_MAX)
		return -EINVAL;
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
		return err;
	/* Return probes first: an entry seen is then always followed by its
	 * return, so no thread is left looking as if it were inside a call. */
	for (size_t i = 0; i < N_POINTS; i++)
		if (offsets[i] && !shares_address(offsets, i) && points[i].returns == WITH_RETURN)
			returns[n_returns++] = offsets[i];
	err = attach_multi(u->skel->progs.alloc_return, true, pid, path, returns, n_returns);
	if (err < 0)
		return err;
	p->links[p->n_links++] = err;
	for (size_t i = 0; i < N_POINTS; i++) {
		if (!offsets[i] || shares_address(offsets, i))
			continue;
		if (closing(u))
			return -ECANCELED; /* shutting down: no new probes */
		err = attach_multi(entry_program(u->skel, i), false, pid, path, &offsets[i], 1);
		if (err < 0)
			return err;
		p->links[p->n_links++] = err;
	}
	return 0;
}

/* The hook tier: one probe, on the report function of the hook the process
 * really runs. */
int heap_attach_hook(struct heap *u, struct process *p)
{
	struct hook_state zero = { 0 };
	__u32 key = (__u32)p->pid;
	struct hook_found found;
	int err = hookinfo__inspect(p->pid, &found);

	if (err)
		return err == -ESRCH ? err : -ENOENT;
	if (bpf_map_update_elem(bpf_map__fd(u->skel->maps.hooks), &key, &zero, BPF_ANY))
		return -errno;
	err = attach_multi(u->skel->progs.hook_report, false, p->pid, found.path,
			   &found.report_offset, 1);
	if (err < 0)
		return err;
	p->links[p->n_links++] = err;
	return 0;
}

/* Under the lock: the programs stop counting @p at once; its probes go to the
 * reaper, whose threads wait out the grace periods. */
void heap_undo(struct heap *u, struct process *p)
{
	__u32 key = (__u32)p->pid;

	if (p->kind == HEAP_PROBE_HOOK) {
		bpf_map_delete_elem(bpf_map__fd(u->skel->maps.hooks), &key);
	} else {
		drop_maps(u, p->pid);
		purge_calls(u, p->pid);
	}
	reaper__add(u->reaper, p->links, p->n_links);
	memset(p->links, 0, sizeof(p->links));
	p->n_links = 0;
}
