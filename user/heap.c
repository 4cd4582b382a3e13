// SPDX-License-Identifier: Apache-2.0
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
#include <sys/syscall.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "heap.h" /* before the skeleton: it needs the shared structs */
#include "heap.skel.h"
#include "hookinfo.h"
#include "libc_elf.h"
#include "log.h"
#include "procfs.h"
#include "reaper.h"

/* The heap tiers' own limit, below the tracking limit (PROC_MAX_TRACKED):
 * heap.bpf.c's per-process maps hold HEAP_MAX_PROCESSES entries. A slot goes
 * when its heap tier goes off or the collector says the process is gone
 * (heap__drop). */
#define MAX_PROCESSES HEAP_MAX_PROCESSES
#define ATTACH_THREADS 2

/*
 * Probes as uprobe_multi links (kernel 6.6+), not perf events: a perf-event
 * uprobe is removed under the kernel's global event_mutex, one grace period
 * (~100 ms) after another, so twenty probes on eight processes took 15 s to
 * remove even from 32 threads. A multi link is removed with one grace period
 * for all its offsets, outside that mutex, so removals overlap. libbpf 1.1
 * predates these links: the attribute is the kernel's UAPI layout.
 */
#define LINK_CREATE 28 /* BPF_LINK_CREATE */
#define TRACE_UPROBE_MULTI 48 /* enum bpf_attach_type */
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

/*
 * One slot per process and kind of probes. Attaching takes from milliseconds
 * to seconds (each probe write-locks every mm that maps the library, and may
 * wait for an earlier removal's grace period), so it happens on threads of
 * the module's own; the caller asks, and asks again for the outcome.
 */
enum slot_state {
	SLOT_FREE,
	SLOT_QUEUED, /* waiting for an attach thread */
	SLOT_BUSY, /* being attached */
	SLOT_DONE, /* attached, or failed with err */
};

struct process {
	int pid;
	enum heap_probe kind;
	enum slot_state state;
	bool cancel; /* dropped while being attached: the attacher undoes it */
	int err;
	uint64_t seq; /* queue order */
	int links[N_POINTS + 1]; /* uprobe_multi link fds */
	size_t n_links;
};

struct heap {
	struct heap_bpf *skel;
	int ncpus;
	pthread_mutex_t lock;
	pthread_cond_t work;
	bool closing;
	uint64_t seq;
	pthread_t attachers[ATTACH_THREADS];
	size_t n_attachers;
	struct reaper *reaper;
	struct process procs[MAX_PROCESSES];
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

static void *attacher(void *arg);

int heap__open(bool empty_probes, struct heap **out)
{
	struct heap *u = calloc(1, sizeof(*u));
	struct bpf_program *prog;
	int err;

	if (!u)
		return -ENOMEM;
	pthread_mutex_init(&u->lock, NULL);
	pthread_cond_init(&u->work, NULL);
	u->ncpus = libbpf_num_possible_cpus();
	err = reaper__new(&u->reaper);
	if (err)
		goto free_heap;
	u->skel = heap_bpf__open();
	if (!u->skel) {
		err = -errno;
		goto free_reaper;
	}
	u->skel->rodata->empty_probes = empty_probes;
	bpf_object__for_each_program(prog, u->skel->obj) if (prog != u->skel->progs.heap_exit)
		bpf_program__set_expected_attach_type(prog, TRACE_UPROBE_MULTI);
	err = heap_bpf__load(u->skel);
	if (err)
		goto destroy_skel;
	/* Only the exit program is global; the probes go on per process. */
	u->skel->links.heap_exit = bpf_program__attach(u->skel->progs.heap_exit);
	if (!u->skel->links.heap_exit) {
		err = -errno;
		goto destroy_skel;
	}
	for (; u->n_attachers < ATTACH_THREADS; u->n_attachers++) {
		err = -pthread_create(&u->attachers[u->n_attachers], NULL, attacher, u);
		if (err)
			goto stop_attachers;
	}
	*out = u;
	return 0;

stop_attachers:
	u->closing = true;
	pthread_cond_broadcast(&u->work);
	for (size_t i = 0; i < u->n_attachers; i++)
		pthread_join(u->attachers[i], NULL);
destroy_skel:
	log_error("cannot load the uprobe tier's BPF programs: %s", strerror(-err));
	heap_bpf__destroy(u->skel);
free_reaper:
	reaper__free(u->reaper);
free_heap:
	pthread_cond_destroy(&u->work);
	pthread_mutex_destroy(&u->lock);
	free(u);
	return err;
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
static int attach_malloc(struct heap *u, struct process *p)
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
static int attach_hook(struct heap *u, struct process *p)
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
static void undo(struct heap *u, struct process *p)
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

static void release(struct process *p)
{
	*p = (struct process){ .state = SLOT_FREE };
}

/* Under the lock: the oldest request whose process has no attach in
 * progress (one process's maps are set up by one thread at a time). */
static struct process *next_job(struct heap *u)
{
	struct process *job = NULL;

	for (size_t i = 0; i < MAX_PROCESSES; i++) {
		struct process *p = &u->procs[i];
		bool blocked = false;

		if (p->state != SLOT_QUEUED || (job && job->seq < p->seq))
			continue;
		for (size_t k = 0; k < MAX_PROCESSES && !blocked; k++)
			blocked = u->procs[k].state == SLOT_BUSY && u->procs[k].pid == p->pid;
		if (!blocked)
			job = p;
	}
	return job;
}

static void *attacher(void *arg)
{
	struct heap *u = arg;

	pthread_mutex_lock(&u->lock);
	while (!u->closing) {
		struct process *p = next_job(u);
		int err;

		if (!p) {
			pthread_cond_wait(&u->work, &u->lock);
			continue;
		}
		p->state = SLOT_BUSY;
		pthread_mutex_unlock(&u->lock);
		err = p->kind == HEAP_PROBE_HOOK ? attach_hook(u, p) : attach_malloc(u, p);
		pthread_mutex_lock(&u->lock);
		if (err || p->cancel)
			undo(u, p);
		if (p->cancel) {
			release(p);
		} else {
			p->state = SLOT_DONE;
			p->err = err;
		}
		/* Another request for the same process may go now. */
		pthread_cond_broadcast(&u->work);
	}
	pthread_mutex_unlock(&u->lock);
	return NULL;
}

static struct process *find(struct heap *u, int pid, enum heap_probe kind)
{
	for (size_t i = 0; i < MAX_PROCESSES; i++) {
		struct process *p = &u->procs[i];

		if (p->state != SLOT_FREE && !p->cancel && p->pid == pid && p->kind == kind)
			return p;
	}
	return NULL;
}

static struct process *take_slot(struct heap *u, int pid, enum heap_probe kind)
{
	for (size_t i = 0; i < MAX_PROCESSES; i++) {
		struct process *p = &u->procs[i];

		if (p->state == SLOT_FREE) {
			*p = (struct process){
				.pid = pid, .kind = kind, .state = SLOT_QUEUED, .seq = ++u->seq
			};
			return p;
		}
	}
	return NULL;
}

int heap__want(struct heap *u, int pid, enum heap_probe kind)
{
	struct process *p;
	int rc = -EINPROGRESS;

	if (pid <= 0 || pid >= MEMTIDE_PID_MAX)
		return -EINVAL;
	pthread_mutex_lock(&u->lock);
	p = find(u, pid, kind);
	if (!p) {
		p = take_slot(u, pid, kind);
		if (!p)
			rc = -E2BIG;
		else
			pthread_cond_signal(&u->work);
	} else if (p->state == SLOT_DONE) {
		rc = p->err;
		if (rc) /* told once; asking again tries again */
			release(p);
	}
	pthread_mutex_unlock(&u->lock);
	return rc;
}

void heap__drop(struct heap *u, int pid)
{
	pthread_mutex_lock(&u->lock);
	for (size_t i = 0; i < MAX_PROCESSES; i++) {
		struct process *p = &u->procs[i];

		if (p->state == SLOT_FREE || p->cancel || p->pid != pid)
			continue;
		if (p->state == SLOT_BUSY) {
			p->cancel = true;
			continue;
		}
		if (p->state == SLOT_DONE)
			undo(u, p);
		release(p);
	}
	pthread_mutex_unlock(&u->lock);
}

/* The benchmark probes itself and needs its probes on before it goes on. */
int heap__attach(struct heap *u, int pid)
{
	struct process *p;
	int err;

	pthread_mutex_lock(&u->lock);
	p = take_slot(u, pid, HEAP_PROBE_MALLOC);
	if (p)
		p->state = SLOT_BUSY;
	pthread_mutex_unlock(&u->lock);
	if (!p)
		return -E2BIG;
	err = attach_malloc(u, p);
	pthread_mutex_lock(&u->lock);
	if (err) {
		undo(u, p);
		release(p);
	} else {
		p->state = SLOT_DONE;
	}
	pthread_mutex_unlock(&u->lock);
	return err;
}

int heap__read_hook(struct heap *u, int pid, struct hook_state *out)
{
	__u32 key = (__u32)pid;

	return bpf_map_lookup_elem(bpf_map__fd(u->skel->maps.hooks), &key, out) ? -errno : 0;
}

int heap__read(struct heap *u, int pid, struct heap_stats *out)
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

void heap__destroy(struct heap *u)
{
	if (!u)
		return;
	/* Attaches in progress stop at their next probe. */
	pthread_mutex_lock(&u->lock);
	u->closing = true;
	pthread_cond_broadcast(&u->work);
	pthread_mutex_unlock(&u->lock);
	for (size_t i = 0; i < u->n_attachers; i++)
		pthread_join(u->attachers[i], NULL);
	pthread_mutex_lock(&u->lock);
	for (size_t i = 0; i < MAX_PROCESSES; i++)
		if (u->procs[i].state == SLOT_DONE)
			undo(u, &u->procs[i]);
	pthread_mutex_unlock(&u->lock);
	/* Every probe off before the process may exit. */
	reaper__free(u->reaper);
	heap_bpf__destroy(u->skel);
	pthread_cond_destroy(&u->work);
	pthread_mutex_destroy(&u->lock);
	free(u);
}
