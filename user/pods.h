/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Kubernetes identity of a process without the API server: the pod uid and
 * container id from its cgroup path, the names from what the kubelet writes
 * on every node (/var/log/pods and /var/log/containers entry names).
 */
#ifndef MEMTIDE_PODS_H
#define MEMTIDE_PODS_H

#include <stdbool.h>
#include <stddef.h>

/* The limits Kubernetes validates names against (DNS-1123 label, subdomain). */
#define POD_NAMESPACE_LEN 63
#define POD_NAME_LEN 253
#define POD_CONTAINER_LEN 63
#define POD_UID_LEN 36 /* a UUID; static pods' are 32 hex digits */
#define POD_CONTAINER_ID_LEN 64

/* Every field is empty when unknown. */
struct pod_identity {
	char namespace[POD_NAMESPACE_LEN + 1];
	char pod[POD_NAME_LEN + 1];
	char container[POD_CONTAINER_LEN + 1]; /* the container's name */
	char pod_uid[POD_UID_LEN + 1];
	char container_id[POD_CONTAINER_ID_LEN + 1];
};

/*
 * From one cgroup path: pod_uid (under a kubepods cgroup, cgroupfs or systemd
 * driver) and container_id (containerd, CRI-O, Docker, Podman naming), the
 * deepest ones on the path. 0 when either was found, else -ENOENT; the names
 * are left as they were (pod_uid and container_id are set, empty if unknown).
 */
int pods__parse_cgroup(const char *path, struct pod_identity *out);
/* The same from a process's v2 path, or from its v1 memory controller's path
 * where that says more; 0 or -ENOENT. */
int pods__parse_cgroups(const char *v2, const char *v1_memory, struct pod_identity *out);
/* A /var/log/pods entry, "<namespace>_<pod>_<uid>": namespace, pod, pod_uid. */
int pods__parse_pod_dir(const char *name, struct pod_identity *out);
/* A /var/log/containers entry, "<pod>_<namespace>_<container>-<id>.log":
 * namespace, pod, container, container_id. */
int pods__parse_container_log(const char *name, struct pod_identity *out);

/* The names for processes' ids, from the two directories' listings. */
struct pod_names;

struct pod_names *pod_names__new(void);
void pod_names__free(struct pod_names *pn);
/* Re-reads a directory whose listing may have changed (a new path, or a new
 * mtime); NULL: none. Cheap when nothing changed: two stat() calls. */
void pod_names__refresh(struct pod_names *pn, const char *pods_dir, const char *containers_dir);
/* Fills namespace, pod and container of a process inside a pod (pod_uid
 * set) from its pod_uid and container_id; leaves them empty if unknown. */
void pod_names__resolve(const struct pod_names *pn, struct pod_identity *id);

#endif
