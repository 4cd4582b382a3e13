// SPDX-License-Identifier: Apache-2.0
/*
 * Pure parsers for the Kubernetes identity of a process: cgroup paths under
 * either kubelet cgroup driver, and the names of the kubelet's log entries.
 * Every name is untrusted: it must be what Kubernetes itself would accept.
 */
#include <errno.h>
#include <stdbool.h>
#include <string.h>
#include "pods.h"

#define SUFFIX_SCOPE ".scope"
#define SUFFIX_SLICE ".slice"
#define SUFFIX_LOG ".log"

static bool is_lower_hex(char c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
}

static bool is_lower_alnum(char c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z');
}

static bool hex_run(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!is_lower_hex(s[i]))
			return false;
	return true;
}

/* A DNS-1123 label: namespaces and container names. */
static bool dns_label(const char *s, size_t n)
{
	if (n == 0 || n > POD_NAMESPACE_LEN || !is_lower_alnum(s[0]) || !is_lower_alnum(s[n - 1]))
		return false;
	for (size_t i = 1; i + 1 < n; i++)
		if (!is_lower_alnum(s[i]) && s[i] != '-')
			return false;
	return true;
}

/* A DNS-1123 subdomain: pod names. Labels joined by dots, 253 bytes at most. */
static bool dns_subdomain(const char *s, size_t n)
{
	size_t start = 0;

	if (n == 0 || n > POD_NAME_LEN)
		return false;
	for (size_t i = 0; i <= n; i++) {
		if (i < n && s[i] != '.')
			continue;
		/* Each dot-separated part is a label, except for the 63-byte limit. */
		if (i == start || !is_lower_alnum(s[start]) || !is_lower_alnum(s[i - 1]))
			return false;
		for (size_t k = start; k < i; k++)
			if (!is_lower_alnum(s[k]) && s[k] != '-')
				return false;
		start = i + 1;
	}
	return true;
}

/*
 * A pod uid as the kubelet writes it: a UUID (8-4-4-4-12 lowercase hex), or
 * for static pods the 32 hex digits of their manifest's hash. @dash is what
 * separates the UUID's groups ('_' in systemd slice names).
 */
static bool pod_uid(const char *s, size_t n, char dash, char out[POD_UID_LEN + 1])
{
	if (n == 32 && hex_run(s, n)) {
		memcpy(out, s, n);
		out[n] = '\0';
		return true;
	}
	if (n != POD_UID_LEN)
		return false;
	for (size_t i = 0; i < n; i++) {
		bool sep = i == 8 || i == 13 || i == 18 || i == 23;

		if (sep ? s[i] != dash : !is_lower_hex(s[i]))
			return false;
		out[i] = sep ? '-' : s[i];
	}
	out[n] = '\0';
	return true;
}

static bool has_suffix(const char *s, size_t n, const char *suffix)
{
	size_t k = strlen(suffix);

	return n >= k && memcmp(s + n - k, suffix, k) == 0;
}

static bool contains(const char *s, size_t n, const char *needle)
{
	size_t k = strlen(needle);

	for (size_t i = 0; i + k <= n; i++)
		if (memcmp(s + i, needle, k) == 0)
			return true;
	return false;
}

/*
 * "pod<uid>" (cgroupfs driver) below a kubepods cgroup, or
 * "<...kubepods...>-pod<uid_with_underscores>.slice" (systemd driver).
 */
static bool pod_component(const char *c, size_t n, bool below_kubepods, char uid[POD_UID_LEN + 1])
{
	size_t body;

	if (below_kubepods && n > 3 && memcmp(c, "pod", 3) == 0)
		return pod_uid(c + 3, n - 3, '-', uid);
	if (!has_suffix(c, n, SUFFIX_SLICE))
		return false;
	body = n - strlen(SUFFIX_SLICE);
	for (size_t i = body; i >= 4; i--) {
		if (memcmp(c + i - 4, "-pod", 4) == 0)
			return contains(c, i - 4, "kubepods") && pod_uid(c + i, body - i, '_', uid);
	}
	return false;
}

/*
 * "<64 hex>" (cgroupfs driver, "/docker/<id>"), "<runtime>-<id>.scope"
 * (cri-containerd, crio, docker, libpod) or a "...:<runtime>:<id>" cgroups
 * path. The runtimes' monitors ("crio-conmon-<id>.scope") are not the container.
 */
static bool container_component(const char *c, size_t n, char id[POD_CONTAINER_ID_LEN + 1])
{
	const char *start;

	if (has_suffix(c, n, SUFFIX_SCOPE))
		n -= strlen(SUFFIX_SCOPE);
	if (n < POD_CONTAINER_ID_LEN)
		return false;
	start = c + n - POD_CONTAINER_ID_LEN;
	if (!hex_run(start, POD_CONTAINER_ID_LEN))
		return false;
	if (start > c) {
		if (start[-1] != '-' && start[-1] != ':')
			return false;
		if (has_suffix(c, (size_t)(start - c), "conmon-"))
			return false;
	}
	memcpy(id, start, POD_CONTAINER_ID_LEN);
	id[POD_CONTAINER_ID_LEN] = '\0';
	return true;
}

/* @p starts with "<prefix><64 hex><suffix>/": how long that is, else 0. */
static size_t skip_node(const char *p, const char *prefix, const char *suffix)
{
	size_t a = strlen(prefix), b = strlen(suffix);

	if (strncmp(p, prefix, a) || !hex_run(p + a, POD_CONTAINER_ID_LEN) ||
	    strncmp(p + a + POD_CONTAINER_ID_LEN, suffix, b))
		return 0;
	return a + POD_CONTAINER_ID_LEN + b;
}

/*
 * Pods live where the kubelet puts them: at the root of the hierarchy
 * (/kubepods..., either driver), or at the root of a node that is itself a
 * container (kind: /docker/<id>/kubepods..., /system.slice/docker-<id>.scope/
 * kubelet.slice/kubelet-kubepods.slice...). Anywhere else, such as a user's
 * delegated subtree below /user.slice, "kubepods" and "pod<uid>" are names
 * anybody can choose: they would lend a real pod's identity to any process.
 */
static bool kubelet_placed(const char *path)
{
	const char *p = path + (path[0] == '/');
	size_t n = skip_node(p, "docker/", "/");

	if (!n)
		n = skip_node(p, "system.slice/docker-", ".scope/");
	p += n;
	if (n && !strncmp(p, "kubelet.slice/", strlen("kubelet.slice/")))
		p += strlen("kubelet.slice/");
	return !strncmp(p, "kubepods", strlen("kubepods")) ||
	       !strncmp(p, "kubelet-kubepods", strlen("kubelet-kubepods"));
}

int pods__parse_cgroup(const char *path, struct pod_identity *out)
{
	char uid[POD_UID_LEN + 1] = "", id[POD_CONTAINER_ID_LEN + 1] = "";
	bool below_kubepods = false, placed = kubelet_placed(path);
	const char *c = path;

	while (*c) {
		size_t n = strcspn(c, "/\n");
		char found[POD_UID_LEN + 1];

		if (n) {
			if (placed && pod_component(c, n, below_kubepods, found)) {
				memcpy(uid, found, sizeof(uid));
				/* A container above its pod is the node's (kind). */
				id[0] = '\0';
			} else {
				container_component(c, n, id);
			}
			below_kubepods = below_kubepods || contains(c, n, "kubepods");
		}
		if (c[n] != '/')
			break;
		c += n + 1;
	}
	memcpy(out->pod_uid, uid, sizeof(uid));
	memcpy(out->container_id, id, sizeof(id));
	return uid[0] || id[0] ? 0 : -ENOENT;
}

/* How much a cgroup path says: a pod uid counts for more than a container id. */
static int score(const struct pod_identity *id)
{
	return 2 * !!id->pod_uid[0] + !!id->container_id[0];
}

/* A cgroupfs-driver kubelet on a hybrid layout places containers in the v1
 * hierarchies only: the v2 path is then systemd's, and says nothing. */
int pods__parse_cgroups(const char *v2, const char *v1_memory, struct pod_identity *out)
{
	struct pod_identity v1 = { 0 };
	int err = pods__parse_cgroup(v2, out);

	if (!pods__parse_cgroup(v1_memory, &v1) && score(&v1) > score(out)) {
		memcpy(out->pod_uid, v1.pod_uid, sizeof(v1.pod_uid));
		memcpy(out->container_id, v1.container_id, sizeof(v1.container_id));
		err = 0;
	}
	return err;
}

static void copy(char *dst, const char *src, size_t n)
{
	memcpy(dst, src, n);
	dst[n] = '\0';
}

/* Splits "a_b_c" into exactly three non-empty parts ('_' is in no valid name). */
static bool three_parts(const char *s, size_t n, const char *part[3], size_t len[3])
{
	const char *end = s + n, *u1 = memchr(s, '_', n), *u2;

	if (!u1)
		return false;
	u2 = memchr(u1 + 1, '_', (size_t)(end - u1 - 1));
	if (!u2 || memchr(u2 + 1, '_', (size_t)(end - u2 - 1)))
		return false;
	part[0] = s;
	len[0] = (size_t)(u1 - s);
	part[1] = u1 + 1;
	len[1] = (size_t)(u2 - u1 - 1);
	part[2] = u2 + 1;
	len[2] = (size_t)(end - u2 - 1);
	return true;
}

int pods__parse_pod_dir(const char *name, struct pod_identity *out)
{
	const char *part[3];
	size_t len[3];
	char uid[POD_UID_LEN + 1];

	if (!three_parts(name, strlen(name), part, len) || !dns_label(part[0], len[0]) ||
	    !dns_subdomain(part[1], len[1]) || !pod_uid(part[2], len[2], '-', uid))
		return -EINVAL;
	copy(out->namespace, part[0], len[0]);
	copy(out->pod, part[1], len[1]);
	memcpy(out->pod_uid, uid, sizeof(uid));
	return 0;
}

int pods__parse_container_log(const char *name, struct pod_identity *out)
{
	size_t n = strlen(name), tail = 1 + POD_CONTAINER_ID_LEN + strlen(SUFFIX_LOG);
	const char *id, *part[3];
	size_t len[3];

	if (n <= tail || !has_suffix(name, n, SUFFIX_LOG))
		return -EINVAL;
	id = name + n - tail + 1;
	if (id[-1] != '-' || !hex_run(id, POD_CONTAINER_ID_LEN))
		return -EINVAL;
	if (!three_parts(name, n - tail, part, len) || !dns_subdomain(part[0], len[0]) ||
	    !dns_label(part[1], len[1]) || !dns_label(part[2], len[2]))
		return -EINVAL;
	copy(out->pod, part[0], len[0]);
	copy(out->namespace, part[1], len[1]);
	copy(out->container, part[2], len[2]);
	copy(out->container_id, id, POD_CONTAINER_ID_LEN);
	return 0;
}
