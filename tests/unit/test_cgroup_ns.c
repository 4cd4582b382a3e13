// SPDX-License-Identifier: Apache-2.0
/* Cgroup paths read in a private cgroup namespace, made the host's again. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <errno.h>
#include <unistd.h>
#include <cmocka.h>
#include "cgroup_ns.h"

static char out[256];

static void resolve_relative(void **state)
{
	(void)state;
	assert_int_equal(cgroup_ns__resolve("/x/y/z", "/../../a/b", out, sizeof(out)), 0);
	assert_string_equal(out, "/x/a/b");
	/* Our own cgroup, and those below it, read without "..". */
	assert_int_equal(cgroup_ns__resolve("/x/y", "/", out, sizeof(out)), 0);
	assert_string_equal(out, "/x/y");
	assert_int_equal(cgroup_ns__resolve("/x/y", "/c/./d/", out, sizeof(out)), 0);
	assert_string_equal(out, "/x/y/c/d");
	assert_int_equal(cgroup_ns__resolve("/x", "/..", out, sizeof(out)), 0);
	assert_string_equal(out, "/");
}

static void resolve_refuses(void **state)
{
	(void)state;
	assert_int_equal(cgroup_ns__resolve("/x", "/../../a", out, sizeof(out)), -EINVAL);
	assert_int_equal(cgroup_ns__resolve("/", "/..", out, sizeof(out)), -EINVAL);
	assert_int_equal(cgroup_ns__resolve("/x", "a", out, sizeof(out)), -EINVAL);
	assert_int_equal(cgroup_ns__resolve("/x", "/abcdef", out, 6), -ENAMETOOLONG);
	assert_int_equal(cgroup_ns__resolve("/x", "/abc", out, 7), 0);
}

/* Not in a private namespace: no root, the path as it is. */
static void resolve_without_root(void **state)
{
	(void)state;
	assert_int_equal(cgroup_ns__resolve(NULL, "/kubepods/pod1/c", out, sizeof(out)), 0);
	assert_string_equal(out, "/kubepods/pod1/c");
	assert_int_equal(cgroup_ns__resolve("/", "/a", out, sizeof(out)), 0);
	assert_string_equal(out, "/a");
}

static void dotdots(void **state)
{
	(void)state;
	assert_int_equal(cgroup_ns__dotdots("/"), 0);
	assert_int_equal(cgroup_ns__dotdots("/init.scope"), 0);
	assert_int_equal(cgroup_ns__dotdots("/../../init.scope"), 2);
	assert_int_equal(cgroup_ns__dotdots("/../.."), 2);
	assert_int_equal(cgroup_ns__dotdots("/..x"), 0);
}

static void rewrite_text(void **state)
{
	char text[512];

	(void)state;
	assert_int_equal(cgroup_ns__rewrite("/ns/agent", "/m/agent",
					    "12:cpu,cpuacct:/../x\n"
					    "4:memory:/../../kubepods/pod1/c1\n"
					    "0::/../../kubepods.slice/k.scope\n",
					    text, sizeof(text)),
			 0);
	assert_string_equal(text, "12:cpu,cpuacct:/../x\n"
				  "4:memory:/kubepods/pod1/c1\n"
				  "0::/kubepods.slice/k.scope\n");
	/* No roots: unchanged; a path that cannot resolve: unchanged. */
	assert_int_equal(cgroup_ns__rewrite("", NULL, "0::/../a\n", text, sizeof(text)), 0);
	assert_string_equal(text, "0::/../a\n");
	assert_int_equal(cgroup_ns__rewrite("/a", "", "0::/../../b", text, sizeof(text)), 0);
	assert_string_equal(text, "0::/../../b");
	assert_int_equal(cgroup_ns__rewrite("/a", "", "0::/", text, 4), -ENAMETOOLONG);
}

/* The walk over a tree shaped like a hierarchy; cgroup.procs are plain files. */
static void find_root_in_tree(void **state)
{
	char dir[] = "/tmp/test_cgroup_ns.XXXXXX", cmd[512];

	(void)state;
	assert_non_null(mkdtemp(dir));
	snprintf(
		cmd, sizeof(cmd),
		"cd %s && mkdir -p a/b/c ns/agent/sub kubepods/pod1 && "
		"printf '1\\n4242\\n' >cgroup.procs && printf '7\\n' >ns/agent/cgroup.procs && "
		"printf '4242\\n' >a/b/c/cgroup.procs && printf '3\\n4242\\n' >ns/agent/sub/cgroup.procs",
		dir);
	assert_int_equal(system(cmd), 0);
	/* The root lists every pid: too shallow for an init two levels above us. */
	assert_int_equal(cgroup_ns__find_root(dir, 4242, "/", 2, out, sizeof(out)), 0);
	/* Either of the two directories listing us at depth 3 (a/b/c) or
	 * (ns/agent/sub) is found; with our path "/sub" only ns/agent fits. */
	assert_int_equal(cgroup_ns__find_root(dir, 4242, "/sub", 2, out, sizeof(out)), 0);
	assert_string_equal(out, "/ns/agent");
	assert_int_equal(cgroup_ns__find_root(dir, 7, "/", 2, out, sizeof(out)), 0);
	assert_string_equal(out, "/ns/agent");
	assert_int_equal(cgroup_ns__find_root(dir, 7, "/", 3, out, sizeof(out)), -ENOENT);
	assert_int_equal(cgroup_ns__find_root(dir, 99, "/", 1, out, sizeof(out)), -ENOENT);
	assert_int_equal(cgroup_ns__find_root(dir, 4242, "/../x", 1, out, sizeof(out)), -EINVAL);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	assert_int_equal(system(cmd), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(resolve_relative),	cmocka_unit_test(resolve_refuses),
		cmocka_unit_test(resolve_without_root), cmocka_unit_test(dotdots),
		cmocka_unit_test(rewrite_text),		cmocka_unit_test(find_root_in_tree),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
