// SPDX-License-Identifier: Apache-2.0
/* Target selection on fixture process lists: cgroup layouts, top_rss hysteresis. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include "config.h"
#include "selector.h"

static struct config *parse(const char *text)
{
	char err[CONFIG_ERR_LEN];
	struct config *cfg = NULL;

	if (config__parse("t.yaml", text, strlen(text), &cfg, err))
		fail_msg("%s", err);
	return cfg;
}

static void slice_of(const char *prefix, const char *want)
{
	char *got;

	assert_int_equal(selector__slice_prefix(prefix, &got), 0);
	if (!want)
		assert_null(got);
	else
		assert_string_equal(got, want);
	free(got);
}

static void systemd_names(void **state)
{
	char long_prefix[3000];

	(void)state;
	slice_of("/kubepods", "/kubepods.slice");
	slice_of("/kubepods/", "/kubepods.slice/");
	slice_of("/kubepods/burstable", "/kubepods.slice/kubepods-burstable.slice");
	slice_of("/a/b/c/", "/a.slice/a-b.slice/a-b-c.slice/");
	/* No translation: already systemd's, a '-' or '.', empty components. */
	slice_of("/", NULL);
	slice_of("/kubepods.slice", NULL);
	slice_of("/system.slice/cron.service", NULL);
	slice_of("/my-app", NULL);
	slice_of("/a//b", NULL);
	/* Longer than any cgroup path read: never matches, so none. */
	for (size_t i = 0; i + 2 < sizeof(long_prefix); i += 2)
		memcpy(long_prefix + i, "/a", 2);
	long_prefix[sizeof(long_prefix) - 2] = '\0';
	slice_of(long_prefix, NULL);
}

static struct proc_entry entry(int pid, const char *comm, int64_t rss, const char *cgroup)
{
	struct proc_entry e = { .pid = pid, .hooked = -1, .selected_rule = -1 };

	snprintf(e.stat.comm, sizeof(e.stat.comm), "%s", comm);
	e.stat.rss_pages = rss;
	e.stat.starttime = 1000 + (uint64_t)pid;
	e.cgroup = strdup(cgroup ? cgroup : "0::/\n");
	return e;
}

static void release(struct proc_entry *procs, size_t n)
{
	for (size_t i = 0; i < n; i++)
		proc_entry__release(&procs[i]);
}

static void kubepods_both_drivers(void **state)
{
	struct config *cfg = parse("targets:\n"
				   "  - match: { cgroup: /kubepods/burstable }\n"
				   "  - match: { cgroup: \"/kubepods\" }\n");
	struct proc_entry p[] = {
		entry(10, "fs", 1, "0::/kubepods/burstable/pod1-2/abc\n"),
		entry(11, "sd", 1,
		      "0::/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod1_2.slice/cri-containerd-ab.scope\n"),
		entry(12, "sd-guaranteed", 1,
		      "0::/kubepods.slice/kubepods-pod3_4.slice/cri-containerd-cd.scope\n"),
		entry(13, "fs-besteffort", 1, "0::/kubepods/besteffort/pod5/ef\n"),
		/* hybrid hosts: the pod's path in a v1 hierarchy */
		entry(14, "v1", 1,
		      "9:name=systemd:/kubepods.slice/kubepods-besteffort.slice/x.scope\n0::/\n"),
		entry(15, "near-miss", 1, "0::/kubepods-x.slice/y.scope\n"),
		entry(16, "near-miss", 1, "0::/kubepodsx/y\n"),
		entry(17, "not-at-root", 1, "0::/system.slice/kubepods.slice\n"),
		entry(18, "host", 1, "0::/system.slice/cron.service\n"),
	};
	const int want[] = { 0, 0, 1, 1, 1, -1, -1, -1, -1 };
	struct top_rss_memory *mem;

	(void)state;
	assert_int_equal(top_rss_memory__new(&mem), 0);
	selector__select(cfg, p, 9, mem, true); /* no top_rss rule: nothing to remember */
	top_rss_memory__free(mem);
	for (size_t i = 0; i < 9; i++) {
		if (p[i].selected_rule != want[i])
			fail_msg("pid %d: rule %d, want %d", p[i].pid, p[i].selected_rule, want[i]);
	}
	release(p, 9);
	config__free(cfg);
}

/* Which of @p a scan selects, as a string of 0/1 in order. */
static const char *scan(const struct config *cfg, struct proc_entry *p, size_t n,
			struct top_rss_memory *mem, bool evaluate)
{
	static char out[16];

	selector__select(cfg, p, n, mem, evaluate);
	for (size_t i = 0; i < n; i++)
		out[i] = p[i].selected_rule >= 0 ? '1' : '0';
	out[n] = '\0';
	return out;
}

static void top_rss_hysteresis(void **state)
{
	struct config *cfg = parse("targets:\n"
				   "  - match: { comm: ^urgent$ }\n"
				   "  - match: { top_rss: 2 }\n");
	struct proc_entry p[] = {
		entry(1, "big", 100, NULL),
		entry(2, "mid", 90, NULL),
		entry(3, "spiky", 10, NULL),
		entry(4, "urgent", 1, NULL),
	};
	struct top_rss_memory *mem;

	(void)state;
	assert_int_equal(top_rss_memory__new(&mem), 0);
	/* The first evaluation takes the 2 largest at once; other rules act alike. */
	assert_string_equal(scan(cfg, p, 3, mem, false), "110");
	/* A spike for one evaluation changes nothing. */
	p[2].stat.rss_pages = 200;
	assert_string_equal(scan(cfg, p, 3, mem, false), "110");
	assert_string_equal(scan(cfg, p, 3, mem, true), "110");
	p[2].stat.rss_pages = 10;
	assert_string_equal(scan(cfg, p, 3, mem, true), "110");
	/* A lasting one: in after two evaluations; "mid" out after two. */
	p[2].stat.rss_pages = 200;
	assert_string_equal(scan(cfg, p, 3, mem, true), "110");
	/* Between evaluations nothing moves, but a pid rule acts at once. */
	assert_string_equal(scan(cfg, p, 4, mem, false), "1101");
	assert_string_equal(scan(cfg, p, 4, mem, true), "1011");
	/* A process gone is forgotten: a new one under its number starts afresh. */
	assert_string_equal(scan(cfg, p, 2, mem, true), "10");
	p[2].stat.starttime++;
	assert_string_equal(scan(cfg, p, 3, mem, true), "100");
	assert_string_equal(scan(cfg, p, 3, mem, true), "101");
	/* New rules: the 2 largest at once again. */
	top_rss_memory__reset(mem);
	assert_string_equal(scan(cfg, p, 3, mem, false), "101");
	/* Without memory: the 2 largest now. */
	p[1].stat.rss_pages = 300;
	assert_string_equal(scan(cfg, p, 3, NULL, false), "011");
	top_rss_memory__free(mem);
	release(p, 4);
	config__free(cfg);
}

/* Each key of a rule must hold; the first rule that selects a process wins;
 * the hooked and cmdline answers come from the entry (no /proc read). */
static void rules_and_order(void **state)
{
	struct config *cfg = parse("targets:\n"
				   "  - match: { pid: 21, comm: ^api$ }\n"
				   "  - match: { comm: ^api, cmdline: \"--port 80\" }\n"
				   "  - match: { hooked: true }\n"
				   "  - match: { comm: ^worker$ }\n");
	struct proc_entry p[] = {
		entry(21, "api", 1, NULL), /* pid and comm: rule 0 */
		entry(22, "api", 1, NULL), /* comm, but not pid 21; cmdline matches: rule 1 */
		entry(23, "api-v2", 1, NULL), /* comm, not cmdline; hooked: rule 2 */
		entry(24, "worker", 1, NULL), /* hooked as well: the earlier rule wins */
		entry(25, "worker", 1, NULL), /* not hooked: rule 3 */
		entry(26, "other", 1, NULL), /* nothing */
	};
	const int want[] = { 0, 1, 2, 2, 3, -1 };
	const int hooked[] = { 0, 0, 1, 1, 0, 0 };
	const char *cmd[] = { "api", "api --port 80", "api --port 81", "w", "w", "x" };

	(void)state;
	for (size_t i = 0; i < 6; i++) {
		p[i].hooked = hooked[i];
		p[i].cmdline = strdup(cmd[i]);
	}
	selector__select(cfg, p, 6, NULL, true);
	for (size_t i = 0; i < 6; i++) {
		if (p[i].selected_rule != want[i])
			fail_msg("pid %d: rule %d, want %d", p[i].pid, p[i].selected_rule, want[i]);
	}
	release(p, 6);
	config__free(cfg);
}

/* A top_rss rule ranks only what no earlier rule took, and only what it matches. */
static void top_rss_after_other_rules(void **state)
{
	struct config *cfg = parse("targets:\n"
				   "  - match: { comm: ^db$ }\n"
				   "  - match: { comm: ^svc, top_rss: 2 }\n");
	struct proc_entry p[] = {
		entry(31, "db", 500, NULL),   entry(32, "svc-a", 10, NULL),
		entry(33, "svc-b", 30, NULL), entry(34, "svc-c", 20, NULL),
		entry(35, "huge", 900, NULL),
	};

	(void)state;
	selector__select(cfg, p, 5, NULL, true);
	assert_int_equal(p[0].selected_rule, 0);
	assert_int_equal(p[1].selected_rule, -1);
	assert_int_equal(p[2].selected_rule, 1);
	assert_int_equal(p[3].selected_rule, 1);
	assert_int_equal(p[4].selected_rule, -1);
	release(p, 5);
	config__free(cfg);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(systemd_names),
		cmocka_unit_test(kubepods_both_drivers),
		cmocka_unit_test(top_rss_hysteresis),
		cmocka_unit_test(rules_and_order),
		cmocka_unit_test(top_rss_after_other_rules),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
