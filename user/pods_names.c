// SPDX-License-Identifier: Apache-2.0
/*
 * The names of pods and containers, from the listings of the kubelet's log
 * directories (entry names only: no file is opened, no link followed). A
 * listing is read again only when its directory changed.
 */
#include <dirent.h>
#include <stddef.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include "clock.h"
#include "log.h"
#include "pods.h"

/* A node runs ~110 pods by default; this leaves room for every restart's log. */
#define POD_NAMES_MAX 8192
/* A listing read this soon after its directory's mtime may have missed a change
 * made within the same timestamp tick: it is read again at the next refresh. */
#define RACY_SECONDS 2.0

typedef int (*parse_fn)(const char *name, struct pod_identity *out);

struct listing {
	const char *what; /* for log lines */
	char *path;
	parse_fn parse;
	size_t key; /* offset of the key field in struct pod_identity */
	int (*cmp)(const void *, const void *); /* by that key */
	dev_t dev;
	ino_t ino;
	struct timespec mtime;
	bool read, racy;
	int err; /* the failure last logged, so each is said once */
	struct pod_identity *entries; /* sorted by key */
	size_t n, cap;
};

struct pod_names {
	struct listing pods, containers;
};

static int by_uid(const void *a, const void *b)
{
	return strcmp(((const struct pod_identity *)a)->pod_uid,
		      ((const struct pod_identity *)b)->pod_uid);
}

static int by_id(const void *a, const void *b)
{
	return strcmp(((const struct pod_identity *)a)->container_id,
		      ((const struct pod_identity *)b)->container_id);
}

struct pod_names *pod_names__new(void)
{
	struct pod_names *pn = calloc(1, sizeof(*pn));

	if (!pn)
		return NULL;
	pn->pods = (struct listing){ .what = "pod",
				     .parse = pods__parse_pod_dir,
				     .key = offsetof(struct pod_identity, pod_uid),
				     .cmp = by_uid };
	pn->containers = (struct listing){ .what = "container",
					   .parse = pods__parse_container_log,
					   .key = offsetof(struct pod_identity, container_id),
					   .cmp = by_id };
	return pn;
}

static void listing_reset(struct listing *l)
{
	free(l->path);
	free(l->entries);
	l->path = NULL;
	l->entries = NULL;
	l->n = l->cap = 0;
	l->read = false;
	l->err = 0;
}

void pod_names__free(struct pod_names *pn)
{
	if (!pn)
		return;
	listing_reset(&pn->pods);
	listing_reset(&pn->containers);
	free(pn);
}

static const char *key_of(const struct listing *l, const struct pod_identity *e)
{
	return (const char *)e + l->key;
}

static void say_failure(struct listing *l, int err)
{
	if (err == l->err)
		return;
	l->err = err;
	if (err == ENOENT)
		log_info("%s: not found: processes in pods get no %s names", l->path, l->what);
	else
		log_warn("%s: cannot list: %s: processes in pods get no %s names", l->path,
			 strerror(err), l->what);
}

static int add_entry(struct listing *l, const struct pod_identity *e)
{
	if (l->n == l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 64;
		struct pod_identity *p = realloc(l->entries, cap * sizeof(*p));

		if (!p)
			return -ENOMEM;
		l->entries = p;
		l->cap = cap;
	}
	l->entries[l->n++] = *e;
	return 0;
}

static int read_listing(struct listing *l, DIR *dir)
{
	size_t ignored = 0, over = 0;
	struct dirent *d;
	int err = 0;

	l->n = 0;
	while ((d = readdir(dir))) {
		struct pod_identity e = { 0 };

		if (d->d_name[0] == '.')
			continue;
		if (l->parse(d->d_name, &e)) {
			ignored++;
			continue;
		}
		if (l->n == POD_NAMES_MAX) {
			over++;
			continue;
		}
		err = add_entry(l, &e);
		if (err)
			break;
	}
	if (over)
		log_warn("%s: more than %d %s entries: %zu ignored", l->path, POD_NAMES_MAX,
			 l->what, over);
	if (ignored)
		log_debug("%s: %zu entries not named as the kubelet names them", l->path, ignored);
	qsort(l->entries, l->n, sizeof(*l->entries), l->cmp);
	return err;
}

static void refresh(struct listing *l, const char *path)
{
	struct stat st;
	DIR *dir;
	int fd, err;

	if (!path || !l->path || strcmp(path, l->path) != 0) {
		listing_reset(l);
		if (!path || !(l->path = strdup(path)))
			return;
	}
	fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0 || fstat(fd, &st)) {
		err = errno;
		if (fd >= 0)
			close(fd);
		l->n = 0;
		l->read = false;
		say_failure(l, err);
		return;
	}
	if (l->read && !l->racy && st.st_dev == l->dev && st.st_ino == l->ino &&
	    st.st_mtim.tv_sec == l->mtime.tv_sec && st.st_mtim.tv_nsec == l->mtime.tv_nsec) {
		close(fd);
		return;
	}
	dir = fdopendir(fd);
	if (!dir) {
		err = errno;
		close(fd);
		say_failure(l, err);
		return;
	}
	err = read_listing(l, dir);
	closedir(dir);
	if (err) {
		l->n = 0;
		l->read = false;
		say_failure(l, -err);
		return;
	}
	if (l->err)
		log_info("%s: listed: %zu %s names", l->path, l->n, l->what);
	l->err = 0;
	l->read = true;
	l->dev = st.st_dev;
	l->ino = st.st_ino;
	l->mtime = st.st_mtim;
	l->racy = clock__unix() - ((double)st.st_mtim.tv_sec + st.st_mtim.tv_nsec / 1e9) <
		  RACY_SECONDS;
}

void pod_names__refresh(struct pod_names *pn, const char *pods_dir, const char *containers_dir)
{
	refresh(&pn->pods, pods_dir);
	refresh(&pn->containers, containers_dir);
}

static const struct pod_identity *find(const struct listing *l, const char *key)
{
	size_t lo = 0, hi = l->n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = strcmp(key, key_of(l, &l->entries[mid]));

		if (!c)
			return &l->entries[mid];
		if (c < 0)
			hi = mid;
		else
			lo = mid + 1;
	}
	return NULL;
}

void pod_names__resolve(const struct pod_names *pn, struct pod_identity *id)
{
	const struct pod_identity *p, *c;

	id->namespace[0] = id->pod[0] = id->container[0] = '\0';
	/* Outside pods, a process keeps only what its cgroup says. */
	if (!pn || !id->pod_uid[0])
		return;
	p = find(&pn->pods, id->pod_uid);
	c = id->container_id[0] ? find(&pn->containers, id->container_id) : NULL;
	if (p) {
		memcpy(id->namespace, p->namespace, sizeof(id->namespace));
		memcpy(id->pod, p->pod, sizeof(id->pod));
	}
	/* The container's log names its pod: it must be the pod of the uid. */
	if (c && (!p || (!strcmp(c->namespace, p->namespace) && !strcmp(c->pod, p->pod)))) {
		memcpy(id->namespace, c->namespace, sizeof(id->namespace));
		memcpy(id->pod, c->pod, sizeof(id->pod));
		memcpy(id->container, c->container, sizeof(id->container));
	}
}
