// SPDX-License-Identifier: Apache-2.0
/*
 * The /proc and cgroup parsers on any file text: stat, status, meminfo,
 * cgroup (with roomy and with tiny output buffers), the pod identity from
 * cgroup paths and from the kubelet's log entry names (the input's first
 * line), and the selector's cgroup prefix match, whose prefix is that line;
 * the same line as a private cgroup namespace's root for the text's paths.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "cgroup_ns.h"
#include "fuzz.h"
#include "pods.h"
#include "procfs.h"
#include "selector.h"

/* Output buffers of exactly @len bytes, so that ASan catches one byte more. */
static char *exact(size_t len)
{
	char *p = malloc(len ? len : 1);

	if (!p)
		abort();
	return p;
}

static bool all_hex(const char *s)
{
	return strspn(s, "0123456789abcdef") == strlen(s);
}

/* Whatever a name's source, what comes out is a name Kubernetes would accept:
 * label values that need no escaping. */
static void check_identity(const struct pod_identity *id)
{
	const char *names[] = { id->namespace, id->pod, id->container };

	for (size_t i = 0; i < 3; i++)
		FUZZ_CHECK(strspn(names[i], "abcdefghijklmnopqrstuvwxyz0123456789-.") ==
			   strlen(names[i]));
	FUZZ_CHECK(!strchr(id->namespace, '.') && !strchr(id->container, '.'));
	FUZZ_CHECK(strlen(id->pod_uid) == 0 || strlen(id->pod_uid) == 32 ||
		   strlen(id->pod_uid) == POD_UID_LEN);
	FUZZ_CHECK(strspn(id->pod_uid, "0123456789abcdef-") == strlen(id->pod_uid));
	FUZZ_CHECK(!id->container_id[0] ||
		   (strlen(id->container_id) == POD_CONTAINER_ID_LEN && all_hex(id->container_id)));
}

static void identity(const char *v2, const char *v1)
{
	struct pod_identity id = { 0 };

	if (!pods__parse_cgroups(v2, v1, &id))
		FUZZ_CHECK(id.pod_uid[0] || id.container_id[0]);
	check_identity(&id);
}

static void names(const char *line)
{
	struct pod_identity id = { 0 };

	if (!pods__parse_pod_dir(line, &id))
		FUZZ_CHECK(id.namespace[0] && id.pod[0] && id.pod_uid[0]);
	check_identity(&id);
	memset(&id, 0, sizeof(id));
	if (!pods__parse_container_log(line, &id))
		FUZZ_CHECK(id.namespace[0] && id.pod[0] && id.container[0] && id.container_id[0]);
	check_identity(&id);
}

static void cgroup(const char *text, size_t v2_len, size_t v1_len)
{
	char *v2 = exact(v2_len), *v1 = exact(v1_len);

	if (!procfs__parse_cgroup(text, v2, v2_len, v1, v1_len)) {
		FUZZ_CHECK(!v2_len || strlen(v2) < v2_len);
		FUZZ_CHECK(!v1_len || strlen(v1) < v1_len);
		identity(v2_len ? v2 : "", v1_len ? v1 : "");
		if (v2_len)
			selector__cgroup_matches(text, v2);
	}
	free(v2);
	free(v1);
}

/* Resolved paths are normal: absolute, no empty, "." or ".." component. */
static void namespaced(const char *root, const char *text, size_t len)
{
	char *out = exact(len);

	if (!cgroup_ns__rewrite(root, root, text, out, len))
		FUZZ_CHECK(len && strlen(out) < len);
	if (!cgroup_ns__resolve(root, text, out, len)) {
		FUZZ_CHECK(out[0] == '/' && strlen(out) < len);
		FUZZ_CHECK(!strstr(out, "//") && !strstr(out, "/./") && !strstr(out, "/../"));
	}
	cgroup_ns__dotdots(text);
	free(out);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text = fuzz_cstr(data, size), *prefix;
	struct proc_stat st;
	uint64_t bytes;

	if (!procfs__parse_stat(text, &st)) {
		FUZZ_CHECK(strlen(st.comm) <= PROC_COMM_LEN);
		procfs__is_kernel_thread(&st);
	}
	procfs__parse_meminfo_total(text, &bytes);
	procfs__parse_limit(text, &bytes);
	cgroup(text, 4096, 4096);
	/* Lengths from the input's size: 0 and 1 are edges of their own. */
	cgroup(text, size % 7, size / 7 % 5);
	prefix = strndup(text, strcspn(text, "\n"));
	if (!prefix)
		abort();
	identity(prefix, text);
	names(prefix);
	selector__cgroup_matches(text, prefix);
	selector__cgroup_matches(text, "/");
	namespaced(prefix, text, 4096);
	namespaced(prefix, text, size % 11);
	free(prefix);
	free(text);
	return 0;
}
