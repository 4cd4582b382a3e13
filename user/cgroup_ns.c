// SPDX-License-Identifier: Apache-2.0
/*
 * Cgroup paths as the host names them, from inside a private cgroup
 * namespace: pure path arithmetic, plus finding our namespace's root once.
 * setns() into the host's namespace would need CAP_SYS_ADMIN; instead our
 * own cgroup is looked up in the host's hierarchies (mounted by the
 * DaemonSet) by the pid its cgroup.procs lists.
 */
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include "cgroup_ns.h"
#include "log.h"
#include "procfs.h"

#define CGROUP_DIR "/sys/fs/cgroup"
/* Bounds of the walk: a node has a few thousand cgroups, a few levels deep. */
#define WALK_MAX_DEPTH 32
#define WALK_MAX_DIRS 100000

int cgroup_ns__resolve(const char *root, const char *rel, char *out, size_t len)
{
	const char *parts[2] = { root ? root : "", rel };
	size_t n = 0;

	if (rel[0] != '/')
		return -EINVAL;
	for (int i = 0; i < 2; i++) {
		for (const char *p = parts[i]; *p; p += strcspn(p, "/")) {
			size_t c;

			p += strspn(p, "/");
			c = strcspn(p, "/");
			if (!c || (c == 1 && p[0] == '.'))
				continue;
			if (c == 2 && p[0] == '.' && p[1] == '.') {
				if (!n)
					return -EINVAL; /* above the hierarchy's root */
				while (out[n - 1] != '/')
					n--;
				n--;
				continue;
			}
			if (n + 1 + c >= len)
				return -ENAMETOOLONG;
			out[n++] = '/';
			memcpy(out + n, p, c);
			n += c;
		}
	}
	if (!n) {
		if (len < 2)
			return -ENAMETOOLONG;
		out[n++] = '/';
	}
	out[n] = '\0';
	return 0;
}

int cgroup_ns__dotdots(const char *path)
{
	int n = 0;

	while (path[0] == '/' && path[1] == '.' && path[2] == '.' && (!path[3] || path[3] == '/')) {
		n++;
		path += 3;
	}
	return n;
}

/* Whether a v1 line's comma list of controllers names memory. */
static bool names_memory(const char *ctrl, size_t len)
{
	for (size_t i = 0; i < len;) {
		size_t n = strcspn(ctrl + i, ",:");

		if (n > len - i)
			n = len - i;
		if (n == 6 && strncmp(ctrl + i, "memory", 6) == 0)
			return true;
		i += n + 1;
	}
	return false;
}

static int append(char *out, size_t len, size_t *n, const char *s, size_t k)
{
	if (*n + k >= len)
		return -ENAMETOOLONG;
	memcpy(out + *n, s, k);
	*n += k;
	out[*n] = '\0';
	return 0;
}

/* One line of k bytes: its path resolved against root, else as it is. */
static int rewrite_line(const char *root, const char *line, size_t k, size_t head, char *out,
			size_t len, size_t *n)
{
	char rel[PATH_MAX], abs[PATH_MAX];

	if (root && root[0] && k - head < sizeof(rel)) {
		memcpy(rel, line + head, k - head);
		rel[k - head] = '\0';
		if (!cgroup_ns__resolve(root, rel, abs, sizeof(abs))) {
			int err = append(out, len, n, line, head);

			return err ? err : append(out, len, n, abs, strlen(abs));
		}
	}
	return append(out, len, n, line, k);
}

int cgroup_ns__rewrite(const char *v2_root, const char *v1_root, const char *in, char *out,
		       size_t len)
{
	size_t n = 0;

	if (!len)
		return -ENAMETOOLONG;
	out[0] = '\0';
	for (const char *line = in; *line;) {
		size_t k = strcspn(line, "\n");
		const char *ctrl = memchr(line, ':', k), *path = NULL, *root = NULL;
		int err;

		if (ctrl)
			path = memchr(ctrl + 1, ':', k - (size_t)(ctrl + 1 - line));
		if (path) {
			path++;
			if (ctrl == line + 1 && line[0] == '0' && path == ctrl + 2)
				root = v2_root;
			else if (names_memory(ctrl + 1, (size_t)(path - 1 - (ctrl + 1))))
				root = v1_root;
		}
		err = rewrite_line(root, line, k, path ? (size_t)(path - line) : k, out, len, &n);
		if (!err && line[k])
			err = append(out, len, &n, "\n", 1);
		if (err)
			return err;
		line += k + (line[k] ? 1 : 0);
	}
	return 0;
}

struct walk {
	int pid;
	const char *self;
	size_t self_len;
	int min_depth;
	unsigned int dirs;
	char path[PATH_MAX];
};

static bool lists_pid(const char *dir, int pid)
{
	char file[PATH_MAX + 16];
	bool found = false;
	FILE *f;
	int p;

	snprintf(file, sizeof(file), "%s/cgroup.procs", dir);
	f = fopen(file, "re");
	if (!f)
		return false;
	while (!found && fscanf(f, "%d", &p) == 1)
		found = p == pid;
	fclose(f);
	return found;
}

static bool is_ours(struct walk *w, size_t n, int depth)
{
	if (depth < w->min_depth)
		return false;
	if (w->self_len && (n < w->self_len || strcmp(w->path + n - w->self_len, w->self) != 0))
		return false;
	return lists_pid(w->path, w->pid);
}

static int walk(struct walk *w, size_t n, int depth)
{
	struct dirent *de;
	int err = -ENOENT;
	DIR *d;

	if (is_ours(w, n, depth))
		return 0;
	if (depth >= WALK_MAX_DEPTH || ++w->dirs > WALK_MAX_DIRS)
		return -ENOENT;
	d = opendir(w->path);
	if (!d)
		return -ENOENT;
	while (err && (de = readdir(d))) {
		size_t k = strlen(de->d_name);

		if (de->d_type != DT_DIR || !strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		if (n + 1 + k >= sizeof(w->path))
			continue;
		w->path[n] = '/';
		memcpy(w->path + n + 1, de->d_name, k + 1);
		err = walk(w, n + 1 + k, depth + 1);
		if (err)
			w->path[n] = '\0';
	}
	closedir(d);
	return err;
}

int cgroup_ns__find_root(const char *mount, int pid, const char *self, int min_depth, char *out,
			 size_t len)
{
	struct walk w;
	size_t m = strlen(mount), n, k;
	int depth = 0, err;

	if (m >= sizeof(w.path) || self[0] != '/' || cgroup_ns__dotdots(self))
		return -EINVAL;
	w = (struct walk){ .pid = pid, .self = self };
	/* "/" is every directory's suffix; "/a/b" is two levels below the root. */
	w.self_len = strcmp(self, "/") ? strlen(self) : 0;
	for (const char *p = self; *p; p++)
		depth += *p == '/' && p[1] && p[1] != '/';
	w.min_depth = min_depth + depth;
	memcpy(w.path, mount, m + 1);
	err = walk(&w, m, 0);
	if (err)
		return err;
	n = strlen(w.path) - w.self_len;
	k = n > m ? n - m : 0;
	if (k + 2 > len)
		return -ENAMETOOLONG;
	memcpy(out, w.path + m, k);
	if (!k)
		out[k++] = '/';
	out[k] = '\0';
	return 0;
}

/* The roots of our namespace in the v2 and v1 memory hierarchies; "": the host's. */
static struct {
	char v2[PATH_MAX], v1[PATH_MAX];
} roots;
static pthread_once_t roots_once = PTHREAD_ONCE_INIT;

/* One hierarchy: private if the host's init reads above our root. */
static void discover_one(const char *name, const char *mount, const char *self, const char *init,
			 char *root, size_t len)
{
	int up = cgroup_ns__dotdots(init);

	if (!up)
		return;
	if (!mount || cgroup_ns__find_root(mount, (int)getpid(), self, up, root, len)) {
		root[0] = '\0';
		log_warn(
			"private cgroup namespace: our cgroup (%s) is not found in the %s hierarchy "
			"(%s): selection by cgroup, pod labels and container limits will not work",
			self, name, mount ? mount : "not mounted");
		return;
	}
	log_info("private cgroup namespace: its root is %s in the %s hierarchy (%s)", root, name,
		 mount);
}

static void discover(void)
{
	char self[4096], init[4096], self_v2[PATH_MAX], self_v1[PATH_MAX], init_v2[PATH_MAX],
		init_v1[PATH_MAX];
	const char *v2_mount = NULL, *v1_mount = NULL;

	/* /proc/1 is the host's init only with the host's pid namespace. */
	if (procfs__read_pid((int)getpid(), "cgroup", self, sizeof(self)) <= 0 ||
	    procfs__read_pid(1, "cgroup", init, sizeof(init)) <= 0)
		return;
	procfs__parse_cgroup(self, self_v2, sizeof(self_v2), self_v1, sizeof(self_v1));
	procfs__parse_cgroup(init, init_v2, sizeof(init_v2), init_v1, sizeof(init_v1));
	/* Where procfs__cgroup_limit() reads the limits; hybrid hosts mount v2 apart. */
	if (access(CGROUP_DIR "/cgroup.controllers", F_OK) == 0)
		v2_mount = CGROUP_DIR;
	else if (access(CGROUP_DIR "/unified/cgroup.controllers", F_OK) == 0)
		v2_mount = CGROUP_DIR "/unified";
	if (access(CGROUP_DIR "/memory/cgroup.procs", F_OK) == 0)
		v1_mount = CGROUP_DIR "/memory";
	if (self_v2[0])
		discover_one("v2", v2_mount, self_v2, init_v2, roots.v2, sizeof(roots.v2));
	if (self_v1[0])
		discover_one("v1 memory", v1_mount, self_v1, init_v1, roots.v1, sizeof(roots.v1));
}

ssize_t cgroup_ns__read_pid(int pid, char *buf, size_t len)
{
	char raw[4096];
	ssize_t n;

	pthread_once(&roots_once, discover);
	if (!roots.v2[0] && !roots.v1[0])
		return procfs__read_pid(pid, "cgroup", buf, len);
	n = procfs__read_pid(pid, "cgroup", raw, sizeof(raw));
	if (n <= 0)
		return n;
	/* Too long resolved: the paths as read, which at least say something. */
	if (cgroup_ns__rewrite(roots.v2, roots.v1, raw, buf, len))
		snprintf(buf, len, "%s", raw);
	return (ssize_t)strlen(buf);
}
