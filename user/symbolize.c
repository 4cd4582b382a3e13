// SPDX-License-Identifier: Apache-2.0
/*
 * The symbolizer's caches: per pid, its executable mappings (from
 * /proc/PID/maps, until symbolizer__forget()); per file, what
 * symbolize_elf.c read from it, keyed by dev:inode:size:mtime and bounded by
 * bytes, least recently used out. Files are keyed by what fstat says rather
 * than by build id: a build id is bytes any user can write into a file, and
 * a file carrying libc's would otherwise name libc's frames in every process.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>
#include "buf.h"
#include "proc_maps.h"
#include "procfs.h"
#include "symbolize_int.h"

#define DEFAULT_CACHE_BYTES (256u << 20)
#define HASH_BUCKETS 1024
#define MAX_PIDS 1024
#define MAX_MAPS 65536
#define MAPS_MAX_BYTES (64u << 20)

struct sym_map {
	__u64 start, end, offset, inode;
	unsigned int major, minor;
	char *path; /* NUL-terminated copy of the maps line's path */
	bool is_file;
	int err; /* the file could not be opened or read: not retried */
	bool keyed;
	struct sym_key key; /* of the file, once opened */
};

struct sym_pid {
	int pid;
	struct sym_pid *next; /* most recently used first */
	struct sym_map *maps; /* sorted by start, as the kernel prints them */
	size_t n;
};

struct symbolizer {
	size_t budget;
	struct sym_file *buckets[HASH_BUCKETS];
	struct sym_file *head, *tail; /* LRU: head most recent */
	struct sym_pid *pids;
	struct sym_stats st;
};

int symbolizer__new(size_t cache_bytes, struct symbolizer **out)
{
	struct symbolizer *s = calloc(1, sizeof(*s));

	if (!s)
		return -ENOMEM;
	s->budget = cache_bytes ? cache_bytes : DEFAULT_CACHE_BYTES;
	*out = s;
	return 0;
}

static void free_pid(struct sym_pid *p)
{
	for (size_t i = 0; i < p->n; i++)
		free(p->maps[i].path);
	free(p->maps);
	free(p);
}

static size_t hash_key(const struct sym_key *k)
{
	__u64 h = k->dev * 0x9e3779b97f4a7c15ull ^ k->ino * 0xc2b2ae3d27d4eb4full ^ k->size ^
		  (__u64)k->mtime_nsec;

	return (size_t)(h ^ h >> 29) % HASH_BUCKETS;
}

static bool same_key(const struct sym_key *a, const struct sym_key *b)
{
	return a->dev == b->dev && a->ino == b->ino && a->size == b->size &&
	       a->mtime_sec == b->mtime_sec && a->mtime_nsec == b->mtime_nsec;
}

static void lru_unlink(struct symbolizer *s, struct sym_file *f)
{
	if (f->prev)
		f->prev->next = f->next;
	else
		s->head = f->next;
	if (f->next)
		f->next->prev = f->prev;
	else
		s->tail = f->prev;
	f->prev = f->next = NULL;
}

static void lru_push(struct symbolizer *s, struct sym_file *f)
{
	f->next = s->head;
	if (s->head)
		s->head->prev = f;
	s->head = f;
	if (!s->tail)
		s->tail = f;
}

static void drop_file(struct symbolizer *s, struct sym_file *f)
{
	struct sym_file **pp = &s->buckets[hash_key(&f->key)];

	while (*pp != f)
		pp = &(*pp)->hnext;
	*pp = f->hnext;
	lru_unlink(s, f);
	s->st.files--;
	s->st.cache_bytes -= f->cost;
	sym_file__free(f);
}

void symbolizer__free(struct symbolizer *s)
{
	if (!s)
		return;
	while (s->head)
		drop_file(s, s->head);
	while (s->pids) {
		struct sym_pid *p = s->pids;

		s->pids = p->next;
		free_pid(p);
	}
	free(s);
}

void symbolizer__forget(struct symbolizer *s, int pid)
{
	for (struct sym_pid **pp = &s->pids; *pp; pp = &(*pp)->next) {
		if ((*pp)->pid == pid) {
			struct sym_pid *p = *pp;

			*pp = p->next;
			free_pid(p);
			s->st.pids--;
			return;
		}
	}
}

void symbolizer__stats(const struct symbolizer *s, struct sym_stats *out)
{
	*out = s->st;
}

static int read_maps(int pid, struct buf *b)
{
	char path[64], chunk[65536];
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "/proc/%d/maps", pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	while ((n = read(fd, chunk, sizeof(chunk))) != 0) {
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 || buf__add(b, chunk, (size_t)n)) {
			n = n < 0 ? -errno : b->err;
			close(fd);
			return (int)n;
		}
	}
	close(fd);
	return 0;
}

/* The executable mappings of @pid, parsed. */
static int load_pid(int pid, struct sym_pid **out)
{
	struct sym_pid *p = calloc(1, sizeof(*p));
	struct buf b;
	struct proc_map m;
	const char *pos, *end;
	size_t cap = 0;
	int err;

	buf__init(&b, MAPS_MAX_BYTES);
	if (!p)
		return -ENOMEM;
	p->pid = pid;
	err = read_maps(pid, &b);
	if (err)
		goto fail;
	pos = b.data;
	end = b.data ? b.data + b.len : NULL;
	while (pos && p->n < MAX_MAPS && proc_maps__next(&pos, end, &m)) {
		struct sym_map *sm;

		if (m.perms[2] != 'x')
			continue;
		if (p->n == cap) {
			size_t ncap = cap ? cap * 2 : 32;
			struct sym_map *q = realloc(p->maps, ncap * sizeof(*q));

			err = -ENOMEM;
			if (!q)
				goto fail;
			p->maps = q;
			cap = ncap;
		}
		sm = &p->maps[p->n];
		*sm = (struct sym_map){ .start = m.start,
					.end = m.end,
					.offset = m.offset,
					.inode = m.inode,
					.major = m.dev_major,
					.minor = m.dev_minor,
					.is_file = proc_map__is_file(&m) };
		sm->path = strndup(m.path, m.path_len);
		err = -ENOMEM;
		if (!sm->path)
			goto fail;
		p->n++;
	}
	buf__free(&b);
	*out = p;
	return 0;
fail:
	buf__free(&b);
	free_pid(p);
	return err;
}

static int find_pid(struct symbolizer *s, int pid, struct sym_pid **out)
{
	struct sym_pid **pp, *p;
	size_t n = 0;
	int err;

	for (pp = &s->pids; *pp; pp = &(*pp)->next, n++) {
		if ((*pp)->pid == pid) {
			p = *pp;
			*pp = p->next;
			goto front;
		}
	}
	err = load_pid(pid, &p);
	if (err)
		return err;
	s->st.pids++;
	/* Past MAX_PIDS, the least recently resolved pid goes. */
	if (n >= MAX_PIDS) {
		for (pp = &s->pids; (*pp)->next; pp = &(*pp)->next)
			;
		free_pid(*pp);
		*pp = NULL;
		s->st.pids--;
	}
front:
	p->next = s->pids;
	s->pids = p;
	*out = p;
	return 0;
}

static struct sym_map *find_map(struct sym_pid *p, __u64 ip)
{
	size_t lo = 0, hi = p->n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (p->maps[mid].start <= ip)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo && ip < p->maps[lo - 1].end ? &p->maps[lo - 1] : NULL;
}

/*
 * The very file mapped: /proc/PID/map_files/START-END (even deleted, or in
 * another mount namespace; needs CAP_SYS_ADMIN or CAP_CHECKPOINT_RESTORE),
 * else the path inside the process's root. Either way it must be a regular
 * file with the maps line's dev:inode.
 */
static int open_mapped(int pid, const struct sym_map *m, int *root_fd, struct sym_key *key)
{
	char path[96];
	struct stat st;
	int fd;

	snprintf(path, sizeof(path), "/proc/%d/map_files/%llx-%llx", pid,
		 (unsigned long long)m->start, (unsigned long long)m->end);
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
	if (fd < 0) {
		if (*root_fd < 0) {
			snprintf(path, sizeof(path), "/proc/%d/root", pid);
			*root_fd = open(path, O_PATH | O_DIRECTORY | O_CLOEXEC);
		}
		fd = *root_fd < 0 ? -1 : procfs__open_in_root(*root_fd, m->path);
		if (fd < 0)
			return -ENOENT;
	}
	if (fstat(fd, &st) || !S_ISREG(st.st_mode) || st.st_dev != makedev(m->major, m->minor) ||
	    st.st_ino != m->inode) {
		close(fd);
		return -ESTALE;
	}
	*key = (struct sym_key){ st.st_dev, st.st_ino, (__u64)st.st_size, st.st_mtim.tv_sec,
				 st.st_mtim.tv_nsec };
	return fd;
}

static struct sym_file *lookup_file(struct symbolizer *s, const struct sym_key *key)
{
	for (struct sym_file *f = s->buckets[hash_key(key)]; f; f = f->hnext) {
		if (same_key(&f->key, key)) {
			lru_unlink(s, f);
			lru_push(s, f);
			return f;
		}
	}
	return NULL;
}

static struct sym_file *get_file(struct symbolizer *s, int pid, struct sym_map *m, int *root_fd)
{
	struct sym_file *f;
	int fd;

	if (m->keyed && (f = lookup_file(s, &m->key))) {
		s->st.file_hits++;
		return f;
	}
	fd = open_mapped(pid, m, root_fd, &m->key);
	if (fd < 0) {
		s->st.open_failures++;
		m->err = fd;
		return NULL;
	}
	m->keyed = true;
	if ((f = lookup_file(s, &m->key))) {
		close(fd);
		s->st.file_hits++;
		return f;
	}
	if (*root_fd < 0) {
		char path[64];

		snprintf(path, sizeof(path), "/proc/%d/root", pid);
		*root_fd = open(path, O_PATH | O_DIRECTORY | O_CLOEXEC);
	}
	m->err = sym_file__load(fd, &m->key, *root_fd, &f);
	if (m->err)
		return NULL;
	s->st.file_loads++;
	s->st.files++;
	s->st.cache_bytes += f->cost;
	f->hnext = s->buckets[hash_key(&f->key)];
	s->buckets[hash_key(&f->key)] = f;
	lru_push(s, f);
	return f;
}

static void resolve_one(struct symbolizer *s, int pid, struct sym_pid *p, __u64 ip, bool ret,
			int *root_fd, struct sym_frame *out)
{
	struct sym_map *m = find_map(p, ip);
	const struct sym_entry *e;
	struct sym_file *f;
	__u64 addr;
	size_t cost;

	*out = (struct sym_frame){
		.ip = ip, .map_index = -1, .path = "", .build_id = "", .func = "", .file = ""
	};
	if (!m)
		return;
	out->map_index = (int)(m - p->maps);
	out->path = m->path;
	out->map_start = m->start;
	out->map_limit = m->end;
	out->map_offset = m->offset;
	if (!m->is_file || m->err || !(f = get_file(s, pid, m, root_fd)))
		return;
	out->build_id = f->build_id;
	if (sym__elf_addr(f->exec, f->loads, f->nloads, ip, m->start, m->offset, &addr))
		return;
	out->elf_addr = addr;
	/* A return address is past its call: the call itself is one byte back. */
	if (ret && addr)
		addr--;
	e = sym_file__lookup(f, addr);
	if (e) {
		out->func = f->names + e->name;
		out->func_offset = addr - e->addr;
	}
	cost = f->cost;
	sym_file__line(f, addr, &out->file, &out->line);
	s->st.cache_bytes += f->cost - cost; /* source names joined on the way */
}

int symbolizer__resolve(struct symbolizer *s, int pid, const __u64 *ips, size_t n,
			unsigned int flags, struct sym_frame *out)
{
	struct sym_pid *p;
	int root_fd = -1, err;

	/* Evicting only here keeps every string of the last answer valid until now. */
	while (s->st.cache_bytes > s->budget && s->tail) {
		drop_file(s, s->tail);
		s->st.evictions++;
	}
	err = find_pid(s, pid, &p);
	if (err)
		return err;
	for (size_t i = 0; i < n; i++)
		resolve_one(s, pid, p, ips[i], i > 0 && (flags & SYM_RETURN_ADDRS), &root_fd,
			    &out[i]);
	if (root_fd >= 0)
		close(root_fd);
	return 0;
}
