// SPDX-License-Identifier: Apache-2.0
/*
 * The /proc and cgroup parsers on any file text: stat, status, meminfo,
 * cgroup (with roomy and with tiny output buffers), container ids, and the
 * selector's cgroup prefix match, whose prefix is the input's first line.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "fuzz.h"
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

static void container_id(const char *path, size_t len)
{
	char *id = exact(len);

	if (!procfs__container_id(path, id, len))
		FUZZ_CHECK(len >= 13 && strlen(id) == 12);
	free(id);
}

static void cgroup(const char *text, size_t v2_len, size_t v1_len)
{
	char *v2 = exact(v2_len), *v1 = exact(v1_len);

	if (!procfs__parse_cgroup(text, v2, v2_len, v1, v1_len)) {
		FUZZ_CHECK(!v2_len || strlen(v2) < v2_len);
		FUZZ_CHECK(!v1_len || strlen(v1) < v1_len);
		if (v2_len) {
			container_id(v2, 13);
			selector__cgroup_matches(text, v2);
		}
		if (v1_len)
			container_id(v1, 13);
	}
	free(v2);
	free(v1);
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
	container_id(prefix, 13);
	container_id(prefix, size % 16);
	selector__cgroup_matches(text, prefix);
	selector__cgroup_matches(text, "/");
	free(prefix);
	free(text);
	return 0;
}
