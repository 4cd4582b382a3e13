// SPDX-License-Identifier: Apache-2.0
/*
 * Sampled allocation sites: attaching bpf/sites.bpf.c to a process's
 * otel_memory USDT probes, reading its stacks' figures, and removing it.
 *
 * A binary is checked through /proc/PID/map_files/START-END: the very file the
 * process mapped, whatever its mount namespace. libbpf is given
 * /proc/PID/root/PATH instead: for a PIE or shared library it maps the path
 * back onto /proc/PID/maps to place the probes, and that prefix is the only
 * one it recognises. A path is the process's to change, though (a planted
 * symlink under its root resolves in ours), so that path is used only when it
 * leads to the same device and inode as the mapped file.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "libc_elf.h"
#include "log.h"
#include "sites.h"
#include "sites.skel.h"
#include "usdt_notes.h"

/* Binaries with probes in one process: the executable and its libraries. */
#define MAX_BINARIES 64

struct binary {
	dev_t dev;
	ino_t ino;
};

struct attached {
	int pid;
	struct bpf_link **links;
	size_t n_links, cap_links;
	struct binary binaries[MAX_BINARIES];
	size_t n_binaries;
	struct attached *next;
};

struct sites {
	struct sites_bpf *skel;
	struct usdt_cache *cache;
	pthread_mutex_t lock;
	struct attached *procs;
	size_t n_procs;
};

int sites__open(uint64_t live_per_process, struct sites **out)
{
	struct sites *s = calloc(1, sizeof(*s));
	int err;

	if (!s)
		return -ENOMEM;
	pthread_mutex_init(&s->lock, NULL);
	err = usdt_cache__new(&s->cache);
	if (err)
		goto err_free;
	s->skel = sites_bpf__open();
	if (!s->skel) {
		err = -errno;
		goto err_free;
	}
	if (live_per_process)
		s->skel->rodata->live_per_process = live_per_process;
	err = sites_bpf__load(s->skel);
	if (err)
		goto err_free;
	*out = s;
	return 0;
err_free:
	sites__destroy(s);
	return err;
}

static struct attached **find(struct sites *s, int pid)
{
	struct attached **a = &s->procs;

	while (*a && (*a)->pid != pid)
		a = &(*a)->next;
	return a;
}

static int add_link(struct attached *a, struct bpf_link *link)
{
	if (a->n_links == a->cap_links) {
		size_t cap = a->cap_links ? 2 * a->cap_links : 4;
		struct bpf_link **links = realloc(a->links, cap * sizeof(*links));

		if (!links)
			return -ENOMEM;
		a->links = links;
		a->cap_links = cap;
	}
	a->links[a->n_links++] = link;
	return 0;
}

static int attach_probe(struct sites *s, struct attached *a, bool alloc, const char *path)
{
	struct bpf_program *prog = alloc ? s->skel->progs.sites_alloc : s->skel->progs.sites_free;
	struct bpf_link *link = bpf_program__attach_usdt(prog, a->pid, path, USDT_PROVIDER,
							 alloc ? "alloc" : "free", NULL);
	int err;

	if (!link)
		return errno ? -errno : -EINVAL;
	err = add_link(a, link);
	if (err)
		bpf_link__destroy(link);
	return err;
}

static bool seen(const struct attached *a, const struct stat *st)
{
	for (size_t i = 0; i < a->n_binaries; i++)
		if (a->binaries[i].dev == st->st_dev && a->binaries[i].ino == st->st_ino)
			return true;
	return false;
}

/*
 * One /proc/PID/maps line: attaches to its file when it is executable and
 * carries the contract. 0 whether or not it did; -errno when libbpf failed.
 */
static int attach_mapping(struct sites *s, struct attached *a, const char *line)
{
	char range[64], perms[8], map_file[96], root_path[4200];
	struct usdt_found found;
	struct stat st, via_root;
	const char *path;
	int fd, err, n = 0;

	if (sscanf(line, "%63s %7s %*s %*s %*s %n", range, perms, &n) != 2 || !n)
		return 0;
	path = line + n;
	if (perms[2] != 'x' || path[0] != '/' || strstr(path, " (deleted)"))
		return 0;
	snprintf(map_file, sizeof(map_file), "/proc/%d/map_files/%s", a->pid, range);
	fd = open(map_file, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 0; /* gone, or unmapped since */
	if (fstat(fd, &st) || seen(a, &st) || usdt_cache__lookup(s->cache, fd, &found) ||
	    !usdt_found__any(&found)) {
		close(fd);
		return 0;
	}
	close(fd);
	if (snprintf(root_path, sizeof(root_path), "/proc/%d/root%s", a->pid, path) >=
		    (int)sizeof(root_path) ||
	    stat(root_path, &via_root) || via_root.st_dev != st.st_dev ||
	    via_root.st_ino != st.st_ino) {
		log_warn("sites: pid %d: %s is not the file it mapped: not attached", a->pid, path);
		return 0;
	}
	if (a->n_binaries == MAX_BINARIES)
		return 0;
	a->binaries[a->n_binaries++] = (struct binary){ .dev = st.st_dev, .ino = st.st_ino };
	/* Free first: a sample is never live without its free being watched. */
	if (found.free_args == 1) {
		err = attach_probe(s, a, false, root_path);
		if (err)
			return err;
	}
	if (found.alloc_args == 3) {
		err = attach_probe(s, a, true, root_path);
		if (err)
			return err;
	}
	return 0;
}

static int attach_all(struct sites *s, struct attached *a, char *maps)
{
	for (char *line = maps, *end; line && *line; line = end ? end + 1 : NULL) {
		int err;

		end = strchr(line, '\n');
		if (end)
			*end = '\0';
		err = attach_mapping(s, a, line);
		if (err)
			return err;
	}
	return 0;
}

/* Every key of @fd (a hash map) whose first 4 bytes are @pid, deleted; the
 * stack ids of the deleted sites (when @stack_ids) go to @stack_ids. */
static void sweep(int fd, size_t key_size, int pid, __u32 **stack_ids, size_t *n_ids)
{
	unsigned char key[16], next[16], *prev = NULL, *keys = NULL;
	size_t n = 0, cap = 0;

	while (bpf_map_get_next_key(fd, prev, next) == 0) {
		memcpy(key, next, key_size);
		prev = key;
		if (*(__u32 *)key != (__u32)pid)
			continue;
		if (n == cap) {
			unsigned char *more = realloc(keys, (cap ? 2 * cap : 64) * key_size);

			if (!more)
				break;
			keys = more;
			cap = cap ? 2 * cap : 64;
		}
		memcpy(keys + n++ * key_size, key, key_size);
	}
	if (stack_ids)
		*stack_ids = calloc(n ? n : 1, sizeof(__u32));
	for (size_t i = 0; i < n; i++) {
		bpf_map_delete_elem(fd, keys + i * key_size);
		if (stack_ids && *stack_ids)
			(*stack_ids)[(*n_ids)++] =
				((struct sites_key *)(keys + i * key_size))->stack_id;
	}
	free(keys);
}

/* Stacks of a gone process that no other process's site uses. A process
 * allocating from the very same stack at this moment may lose it (read as an
 * empty stack): stack ids are not counted references. */
static void drop_stacks(struct sites *s, __u32 *ids, size_t n)
{
	int fd = bpf_map__fd(s->skel->maps.sites_figures);
	struct sites_key key, *prev = NULL, next;

	while (bpf_map_get_next_key(fd, prev, &next) == 0) {
		key = next;
		prev = &key;
		for (size_t i = 0; i < n; i++)
			if (ids[i] == key.stack_id)
				ids[i] = SITES_NO_STACK;
	}
	for (size_t i = 0; i < n; i++)
		if (ids[i] != SITES_NO_STACK)
			bpf_map_delete_elem(bpf_map__fd(s->skel->maps.sites_stacks), &ids[i]);
}

static void forget(struct sites *s, int pid)
{
	struct attached **p = find(s, pid), *a = *p;
	__u32 key = (__u32)pid, *ids = NULL;
	size_t n_ids = 0;

	/* The programs stop counting it first, then its probes go. */
	bpf_map_delete_elem(bpf_map__fd(s->skel->maps.sites_procs), &key);
	if (a) {
		for (size_t i = 0; i < a->n_links; i++)
			bpf_link__destroy(a->links[i]);
		*p = a->next;
		free(a->links);
		free(a);
		s->n_procs--;
	}
	sweep(bpf_map__fd(s->skel->maps.sites_live), sizeof(struct sites_ptr), pid, NULL, NULL);
	sweep(bpf_map__fd(s->skel->maps.sites_figures), sizeof(struct sites_key), pid, &ids,
	      &n_ids);
	if (ids)
		drop_stacks(s, ids, n_ids);
	free(ids);
}

int sites__attach(struct sites *s, int pid)
{
	struct sites_proc zero = { 0 };
	struct attached *a;
	__u32 key = (__u32)pid;
	char *maps;
	bool fresh = false;
	int err;

	if (pid <= 0)
		return -EINVAL;
	maps = libc__pid_maps(pid);
	if (!maps)
		return errno == EACCES ? -EACCES : -ESRCH; /* EACCES: ptrace check */
	pthread_mutex_lock(&s->lock);
	a = *find(s, pid);
	if (!a) {
		err = -E2BIG;
		if (s->n_procs == SITES_MAX_PROCESSES)
			goto out_unlock;
		err = -ENOMEM;
		a = calloc(1, sizeof(*a));
		if (!a)
			goto out_unlock;
		a->pid = pid;
		a->next = s->procs;
		s->procs = a;
		s->n_procs++;
		fresh = true;
		if (bpf_map_update_elem(bpf_map__fd(s->skel->maps.sites_procs), &key, &zero,
					BPF_NOEXIST) &&
		    errno != EEXIST) {
			err = -errno;
			goto out_forget;
		}
	}
	err = attach_all(s, a, maps);
	if (err)
		goto out_forget;
	err = a->n_links ? 0 : -ENOENT;
	if (err)
		goto out_forget;
	goto out_unlock;
out_forget:
	if (fresh || err != -ENOENT)
		forget(s, pid);
out_unlock:
	pthread_mutex_unlock(&s->lock);
	free(maps);
	return err;
}

void sites__detach(struct sites *s, int pid)
{
	pthread_mutex_lock(&s->lock);
	forget(s, pid);
	pthread_mutex_unlock(&s->lock);
}

size_t sites__links(struct sites *s, int pid)
{
	struct attached *a;
	size_t n;

	pthread_mutex_lock(&s->lock);
	a = *find(s, pid);
	n = a ? a->n_links : 0;
	pthread_mutex_unlock(&s->lock);
	return n;
}

static size_t stack_depth(const uint64_t *ips)
{
	size_t n = 0;

	while (n < SITES_STACK_DEPTH && ips[n])
		n++;
	return n;
}

int sites__read(struct sites *s, int pid, sites_stack_fn fn, void *ctx, struct sites_drops *drops)
{
	int figures = bpf_map__fd(s->skel->maps.sites_figures);
	int stacks = bpf_map__fd(s->skel->maps.sites_stacks);
	struct sites_key key, next, *prev = NULL;
	uint64_t ips[SITES_STACK_DEPTH];
	struct sites_proc proc;
	__u32 tgid = (__u32)pid;
	int err = 0;

	if (bpf_map_lookup_elem(bpf_map__fd(s->skel->maps.sites_procs), &tgid, &proc))
		return -ENOENT;
	if (drops)
		*drops = proc.drops;
	while (!err && bpf_map_get_next_key(figures, prev, &next) == 0) {
		struct sites_figures f;
		size_t depth = 0;

		key = next;
		prev = &key;
		if (key.tgid != tgid || bpf_map_lookup_elem(figures, &key, &f))
			continue;
		if (key.stack_id != SITES_NO_STACK &&
		    !bpf_map_lookup_elem(stacks, &key.stack_id, ips))
			depth = stack_depth(ips);
		err = fn(ctx, ips, depth, &f);
	}
	return err;
}

void sites__total_drops(struct sites *s, struct sites_drops *out)
{
	const struct sites_drops *d = &s->skel->bss->total_drops;

	out->live_global = __atomic_load_n(&d->live_global, __ATOMIC_RELAXED);
	out->live_process = __atomic_load_n(&d->live_process, __ATOMIC_RELAXED);
	out->stack_lost = __atomic_load_n(&d->stack_lost, __ATOMIC_RELAXED);
	out->site_full = __atomic_load_n(&d->site_full, __ATOMIC_RELAXED);
}

void sites__destroy(struct sites *s)
{
	if (!s)
		return;
	while (s->procs) {
		struct attached *a = s->procs;

		s->procs = a->next;
		for (size_t i = 0; i < a->n_links; i++)
			bpf_link__destroy(a->links[i]);
		free(a->links);
		free(a);
	}
	sites_bpf__destroy(s->skel);
	usdt_cache__free(s->cache);
	pthread_mutex_destroy(&s->lock);
	free(s);
}
