// SPDX-License-Identifier: Apache-2.0
/*
 * Attaching one process's probes: the malloc family on its own libc (opened
 * as /proc/PID/map_files/<range>, the very file it mapped, whatever its mount
 * namespace), or the report function of the hook it runs; and undoing that.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "heap_int.h"
#include "hookinfo.h"
#include "libc_elf.h"
#include "procfs.h"
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

/* @pid's glibc as /proc/PID/map_files/<range> in @path; -ENOENT while no C
 * library is mapped, -ENOEXEC for another C library. */
static int find_libc(int pid, const char *maps, char *path, size_t path_len)
{
	char range[64], file[4096];

	switch (maps ? libc__find(maps, range, sizeof(range), file, sizeof(file)) : LIBC_OTHER) {
	case LIBC_GLIBC:
		snprintf(path, path_len, "/proc/%d/map_files/%s", pid, range);
		return 0;
	case LIBC_NONE:
		return -ENOENT;
	default:
		return -ENOEXEC;
	}
}

/*
 * Just exec'd: the kernel has mapped the program and glibc's ld.so, which
 * maps libc a moment later. A uprobe belongs to a file, and the kernel puts
 * its breakpoints into every mapping of it made later, so the probes can go
 * on before: on the libc.so.6 beside the loader, in the process's own root,
 * where ld.so finds it unless the program says otherwise (heap_confirm_malloc
 * checks once libc is mapped). An fd from openat2 kept inside that root
 * (a planted symbolic link stays in it), named as /proc/self/fd/N.
 */
static int guess_libc(struct process *p, const char *maps, int *fd, char *path, size_t path_len)
{
	char loader[4096], root[64];
	struct stat st;
	char *slash;
	int root_fd;

	if (libc__find_loader(maps, loader, sizeof(loader)))
		return -ENOENT; /* static: no libc to come */
	slash = strrchr(loader, '/');
	if (!slash || (size_t)(slash - loader) + sizeof("/libc.so.6") > sizeof(loader))
		return -ENOENT;
	strcpy(slash, "/libc.so.6");
	snprintf(root, sizeof(root), "/proc/%d/root", p->pid);
	root_fd = open(root, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (root_fd < 0)
		return -errno;
	*fd = procfs__open_in_root(root_fd, loader);
	close(root_fd);
	if (*fd < 0)
		return *fd;
	if (fstat(*fd, &st)) {
		close(*fd);
		*fd = -1;
		return -ENOENT;
	}
	p->guessed = true;
	p->libc_dev = st.st_dev;
	p->libc_ino = st.st_ino;
	snprintf(path, path_len, "/proc/self/fd/%d", *fd);
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

struct maps_job {
	struct heap *u;
	int pid, err;
};

static void *maps_thread(void *arg)
{
	struct maps_job *job = arg;

	job->err = create_maps(job->u, job->pid);
	return NULL;
}

/* The probes on @path, into @p->links; the maps made meanwhile. */
static int attach_points(struct heap *u, struct process *p, const char *path)
{
	uint64_t offsets[N_POINTS], returns[N_POINTS];
	const char *names[N_POINTS];
	struct maps_job job = { u, p->pid, 0 };
	size_t n_returns = 0;
	pthread_t maps;
	bool threaded;
	int err;

	for (size_t i = 0; i < N_POINTS; i++)
		names[i] = points[i].symbol;
	err = libc__offsets(path, names, N_POINTS, offsets);
	if (err || !offsets[0])
		return err ? err : -ENOEXEC;
	purge_calls(u, p->pid);
	/* Adding the process's block map waits a grace period, and so does the
	 * first probe (the kernel's uprobe registration lock): one wait for
	 * both. The entry probes, which use the maps, go on after. */
	threaded = pthread_create(&maps, NULL, maps_thread, &job) == 0;
	if (!threaded)
		maps_thread(&job);
	/* Return probes first: an entry seen is then always followed by its
	 * return, so no thread is left looking as if it were inside a call. */
	for (size_t i = 0; i < N_POINTS; i++)
		if (offsets[i] && !shares_address(offsets, i) && points[i].returns == WITH_RETURN)
			returns[n_returns++] = offsets[i];
	err = attach_multi(u->skel->progs.alloc_return, true, p->pid, path, returns, n_returns);
	if (err >= 0)
		p->links[p->n_links++] = err;
	if (threaded)
		pthread_join(maps, NULL);
	if (err < 0 || job.err)
		return err < 0 ? err : job.err;
	for (size_t i = 0; i < N_POINTS; i++) {
		if (!offsets[i] || shares_address(offsets, i))
			continue;
		if (closing(u))
			return -ECANCELED; /* shutting down: no new probes */
		err = attach_multi(entry_program(u->skel, i), false, p->pid, path, &offsets[i], 1);
		if (err < 0)
			return err;
		p->links[p->n_links++] = err;
	}
	return 0;
}

/* The malloc family's probes on @p->pid's own libc (or the one it is about
 * to map), into @p->links: one link per entry program, one for every return.
 * On error the caller undoes what was done. */
int heap_attach_malloc(struct heap *u, struct process *p)
{
	char path[128], *maps;
	int fd = -1, err;

	if (p->pid <= 0 || p->pid >= MEMTIDE_PID_MAX)
		return -EINVAL;
	p->guessed = false;
	maps = libc__pid_maps(p->pid);
	err = find_libc(p->pid, maps, path, sizeof(path));
	if (err == -ENOENT)
		err = guess_libc(p, maps, &fd, path, sizeof(path)) ? -ENOEXEC : 0;
	free(maps);
	if (!err)
		err = attach_points(u, p, path);
	if (fd >= 0)
		close(fd);
	return err;
}

int heap_confirm_malloc(struct process *p)
{
	char path[128], *maps = libc__pid_maps(p->pid);
	struct stat st;
	int err = find_libc(p->pid, maps, path, sizeof(path));

	free(maps);
	if (err == -ENOENT)
		return -EAGAIN;
	if (err || stat(path, &st))
		return -ESTALE;
	return st.st_dev == p->libc_dev && st.st_ino == p->libc_ino ? 0 : -ESTALE;
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
