/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Cgroup paths as the host names them. In a private cgroup namespace (the
 * container runtimes' default on cgroup v2) /proc/PID/cgroup reads relative
 * to our namespace's root ("0::/../../kubepods.slice/..."): each path is made
 * absolute again with that root, found once in the mounted hierarchies.
 */
#ifndef MEMTIDE_CGROUP_NS_H
#define MEMTIDE_CGROUP_NS_H

#include <stddef.h>
#include <sys/types.h>

/* root + rel, normalized ("." and ".." resolved) into out; a ".." above "/"
 * is -EINVAL, a path longer than len -ENAMETOOLONG. Pure. */
int cgroup_ns__resolve(const char *root, const char *rel, char *out, size_t len);

/* A /proc/PID/cgroup text with the v2 ("0::") and v1 memory paths resolved
 * against v2_root and v1_root (NULL or "": the path as it is; a path that
 * does not resolve stays as it is too); other lines are copied. Pure. */
int cgroup_ns__rewrite(const char *v2_root, const char *v1_root, const char *in, char *out,
		       size_t len);

/* The number of leading ".." components of a path read in a namespace: at
 * most the depth of the namespace's root (0: not in a private namespace). */
int cgroup_ns__dotdots(const char *path);

/* The namespace root below the hierarchy mounted at mount: the directory
 * (at least min_depth + depth of self deep, bounded walk) whose cgroup.procs
 * lists pid and whose path ends with self (our path in the namespace), with
 * self taken off; relative to mount, "/a/b". -ENOENT if none. */
int cgroup_ns__find_root(const char *mount, int pid, const char *self, int min_depth, char *out,
			 size_t len);

/* /proc/PID/cgroup with the host's paths (the roots found at the first call). */
ssize_t cgroup_ns__read_pid(int pid, char *buf, size_t len);

#endif
