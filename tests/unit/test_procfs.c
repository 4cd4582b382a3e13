// SPDX-License-Identifier: Apache-2.0
/* /proc and cgroup parsers on fixtures captured from real machines; target selection helpers. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <errno.h>
#include <cmocka.h>
#include "procfs.h"
#include "selector.h"
#include "libc_elf.h"

static char text[8192];

static const char *fixture(const char *name)
{
	char path[256];

	snprintf(path, sizeof(path), "tests/fixtures/%s", name);
	if (procfs__read(path, text, sizeof(text)) <= 0)
		fail_msg("cannot read %s", path);
	return text;
}

/* A comm is bytes the process chose (prctl(PR_SET_NAME)): it is kept as valid UTF-8. */
static void stat_invalid_utf8_comm(void **state)
{
	struct proc_stat st;

	(void)state;
	assert_int_equal(procfs__parse_stat("42 (\xff\"}\\\n\xe2\x82) S 1 1 1 0 -1 4194304 1 0 0 0 "
					    "1 1 0 0 20 0 1 0 5 1000 10",
					    &st),
			 0);
	assert_string_equal(st.comm, "\xef\xbf\xbd\"}\\\n\xef\xbf\xbd");
	assert_int_equal(st.ppid, 1);
}

static void stat_with_odd_comm(void **state)
{
	struct proc_stat st;

	(void)state;
	assert_int_equal(procfs__parse_stat(fixture("stat_odd_comm.txt"), &st), 0);
	assert_string_equal(st.comm, "my (odd) prog");
	assert_int_equal(st.state, 'S');
	assert_int_equal(st.ppid, 1);
	assert_int_equal(st.minflt, 12345);
	assert_int_equal(st.majflt, 67);
	assert_int_equal(st.utime, 150);
	assert_int_equal(st.stime, 75);
	assert_int_equal(st.starttime, 987654);
	assert_int_equal(st.rss_pages, 2500);
	assert_false(procfs__is_kernel_thread(&st));
}

static void stat_kernel_thread(void **state)
{
	struct proc_stat st;

	(void)state;
	assert_int_equal(procfs__parse_stat(fixture("stat_kthread.txt"), &st), 0);
	assert_string_equal(st.comm, "kthreadd");
	assert_true(procfs__is_kernel_thread(&st));
}

static void stat_garbage(void **state)
{
	struct proc_stat st;

	(void)state;
	assert_int_equal(procfs__parse_stat("", &st), -EINVAL);
	assert_int_equal(procfs__parse_stat("12 (x", &st), -EINVAL);
	assert_int_equal(procfs__parse_stat("12 (x) S 1 2", &st), -EINVAL);
}

static void cgroup_paths(void **state)
{
	char v2[512], v1[512];

	(void)state;
	assert_int_equal(
		procfs__parse_cgroup(fixture("cgroup_hybrid.txt"), v2, sizeof(v2), v1, sizeof(v1)),
		0);
	assert_string_equal(v2, "/");
	assert_string_equal(v1, "/process_api/7f8e70234f9b9ebf2024db2067c99d6b");
	procfs__parse_cgroup(fixture("cgroup_v1_docker.txt"), v2, sizeof(v2), v1, sizeof(v1));
	assert_string_equal(
		v1, "/docker/0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef");
	procfs__parse_cgroup("3:cpu,memory:/x\n", v2, sizeof(v2), v1, sizeof(v1));
	assert_string_equal(v1, "/x");
	assert_string_equal(v2, "");
	assert_int_equal(procfs__parse_cgroup("3:cpu:/x\n", v2, sizeof(v2), v1, sizeof(v1)),
			 -ENOENT);
}

static void limits(void **state)
{
	uint64_t v;

	(void)state;
	assert_int_equal(procfs__parse_limit("max\n", &v), 0);
	assert_true(v == UINT64_MAX);
	assert_int_equal(procfs__parse_limit("268435456\n", &v), 0);
	assert_int_equal(v, 268435456);
	assert_int_equal(procfs__parse_limit("9223372036854771712\n", &v), 0);
	assert_int_equal(procfs__parse_limit("maximum", &v), -EINVAL);
	assert_int_equal(procfs__parse_limit("", &v), -EINVAL);
	assert_int_equal(procfs__parse_meminfo_total(fixture("meminfo.txt"), &v), 0);
	assert_true(v > 0 && v % 1024 == 0);
}

static void cgroup_prefix(void **state)
{
	const char *k8s = "0::/kubepods.slice/kubepods-pod1.slice/cri-containerd-ab.scope\n";

	(void)state;
	assert_true(selector__cgroup_matches(k8s, "/kubepods.slice"));
	assert_true(selector__cgroup_matches(k8s, "/kubepods.slice/"));
	assert_false(selector__cgroup_matches(k8s, "/kubepods"));
	assert_false(selector__cgroup_matches(k8s, "/system.slice"));
	assert_true(selector__cgroup_matches(fixture("cgroup_hybrid.txt"), "/process_api"));
	assert_true(selector__cgroup_matches("0::/a\n", "/a"));
}

static void libc_in_maps(void **state)
{
	char range[64], path[256];

	(void)state;
	assert_int_equal(
		libc__find("55d0c0a00000-55d0c0a01000 r--p 00000000 fe:00 42 /usr/bin/app\n"
			   "7f12ff67c000-7f12ff6a2000 r--p 00000000 fe:00 10953230 "
			   "/lib/x86_64-linux-gnu/libc.so.6\n"
			   "7f12ff6a2000-7f12ff7f8000 r-xp 00026000 fe:00 10953230 "
			   "/lib/x86_64-linux-gnu/libc.so.6\n",
			   range, sizeof(range), path, sizeof(path)),
		LIBC_GLIBC);
	assert_string_equal(range, "7f12ff67c000-7f12ff6a2000");
	assert_string_equal(path, "/lib/x86_64-linux-gnu/libc.so.6");
	assert_int_equal(libc__find("7f00-7f01 r-xp 0 fe:00 1 /lib/ld-musl-x86_64.so.1\n", range,
				    sizeof(range), path, sizeof(path)),
			 LIBC_OTHER);
	assert_int_equal(libc__find("00400000-00401000 r-xp 0 fe:00 1 /usr/bin/static\n"
				    "7ffd0000-7ffd1000 rw-p 0 00:00 0 [stack]\n",
				    range, sizeof(range), path, sizeof(path)),
			 LIBC_NONE);
	/* A name that merely contains "libc.so.6" is not glibc. */
	assert_int_equal(libc__find("7f00-7f01 r-xp 0 fe:00 1 /opt/x/notlibc.so.6\n", range,
				    sizeof(range), path, sizeof(path)),
			 LIBC_NONE);
}

/* Just exec'd: the kernel mapped the program and ld.so, nothing else yet. */
static void loader_in_maps(void **state)
{
	char path[64];

	(void)state;
	assert_int_equal(
		libc__find_loader("55d0c0a00000-55d0c0a01000 r--p 00000000 fe:00 42 /usr/bin/app\n"
				  "7f12ff67c000-7f12ff6a2000 r--p 00000000 fe:00 9 "
				  "/usr/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2\n"
				  "7ffd0000-7ffd1000 rw-p 0 00:00 0 [stack]\n",
				  path, sizeof(path)),
		0);
	assert_string_equal(path, "/usr/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2");
	/* Static, musl's loader, a name merely holding "ld-linux", too long a path. */
	assert_int_equal(libc__find_loader("00400000-00401000 r-xp 0 fe:00 1 /usr/bin/static\n",
					   path, sizeof(path)),
			 -ENOENT);
	assert_int_equal(libc__find_loader("7f00-7f01 r-xp 0 fe:00 1 /lib/ld-musl-x86_64.so.1\n",
					   path, sizeof(path)),
			 -ENOENT);
	assert_int_equal(libc__find_loader("7f00-7f01 r-xp 0 fe:00 1 /opt/my-ld-linux.so.2\n", path,
					   sizeof(path)),
			 -ENOENT);
	assert_int_equal(libc__find_loader("7f00-7f01 r-xp 0 fe:00 1 /a/very/long/directory/name/"
					   "that/does/not/fit/ld-linux-x86-64.so.2\n",
					   path, sizeof(path)),
			 -ENOENT);
}

static void libc_symbols(void **state)
{
	const char *names[] = { "malloc", "__libc_malloc", "memalign", "aligned_alloc", "no_such" };
	uint64_t off[5];

	(void)state;
	assert_int_equal(libc__offsets("/lib/x86_64-linux-gnu/libc.so.6", names, 5, off), 0);
	assert_true(off[0] > 0);
	assert_true(off[0] == off[1]); /* aliases share an address */
	assert_true(off[2] == off[3]);
	assert_int_equal(off[4], 0);
	assert_int_equal(libc__offsets("/nonexistent", names, 5, off), -ENOENT);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(stat_with_odd_comm), cmocka_unit_test(stat_invalid_utf8_comm),
		cmocka_unit_test(stat_kernel_thread), cmocka_unit_test(stat_garbage),
		cmocka_unit_test(cgroup_paths),	      cmocka_unit_test(limits),
		cmocka_unit_test(cgroup_prefix),      cmocka_unit_test(libc_in_maps),
		cmocka_unit_test(loader_in_maps),     cmocka_unit_test(libc_symbols),
	};

	return cmocka_run_group_tests_name("procfs", tests, NULL, NULL);
}
