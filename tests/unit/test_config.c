// SPDX-License-Identifier: Apache-2.0
/* Configuration: defaults, profiles, scalar parsers and every rejection with its position. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <errno.h>
#include <string.h>
#include <cmocka.h>
#include "buf.h"
#include "config.h"

#define TOKEN_FIXTURE SOURCE_DIR "/tests/fixtures/token.txt"

static struct config *parse_ok(const char *text)
{
	char err[CONFIG_ERR_LEN];
	struct config *cfg = NULL;
	int rc = config__parse("t.yaml", text, strlen(text), &cfg, err);

	if (rc)
		fail_msg("unexpected error: %s", err);
	return cfg;
}

/* Expects a rejection whose message starts with @where and contains @what. */
static void parse_bad(const char *text, const char *where, const char *what)
{
	char err[CONFIG_ERR_LEN];
	struct config *cfg = NULL;
	int rc = config__parse("t.yaml", text, strlen(text), &cfg, err);

	assert_int_equal(rc, -EINVAL);
	assert_null(cfg);
	if (strncmp(err, where, strlen(where)) != 0 || !strstr(err, what))
		fail_msg("got \"%s\", want \"%s...%s\"", err, where, what);
}

static void defaults_are_the_spec(void **state)
{
	struct config *cfg = parse_ok("");

	(void)state;
	assert_int_equal(cfg->memory.monitor_interval_ms, 30000);
	assert_true(cfg->memory.high_water_mark_percent == 80.0);
	assert_true(cfg->memory.low_water_mark_percent == 60.0);
	assert_true(cfg->memory.alert_threshold == 90.0);
	assert_true(cfg->memory.enable_auto_gc);
	assert_int_equal(cfg->memory.gc_interval_ms, 300000);
	assert_true(cfg->memory.force_gc_threshold == 95.0);
	assert_int_equal(cfg->memory.max_memory_mb, 1024);
	assert_int_equal(cfg->memory.max_heap_mb, 512);
	assert_string_equal(cfg->exporter.listen.host, "127.0.0.1");
	assert_int_equal(cfg->exporter.listen.port, 9464);
	assert_null(cfg->exporter.textfile_dir);
	assert_null(cfg->push.url);
	assert_string_equal(cfg->push.job, "memtide");
	assert_null(cfg->push.instance);
	assert_int_equal(cfg->push.interval_ms, 30000); /* follows monitor_interval */
	assert_int_equal(cfg->push.timeout_ms, 5000);
	assert_true(cfg->push.delete_on_shutdown);
	assert_null(cfg->api.token);
	assert_string_equal(cfg->kubernetes.pods_log_dir, "/var/log/pods");
	assert_string_equal(cfg->kubernetes.containers_log_dir, "/var/log/containers");
	assert_true(cfg->profiling.enabled);
	assert_int_equal(cfg->profiling.top_sites, 5);
	/* No targets section: the largest 10 processes, kernel tier. */
	assert_int_equal(cfg->n_targets, 1);
	assert_int_equal(cfg->targets[0].top_rss, 10);
	assert_int_equal(cfg->targets[0].heap, HEAP_NONE);
	config__free(cfg);
}

static void load_profile(const char *path, uint64_t interval, double high, double low, double alert,
			 uint64_t gc, double force, uint64_t mem, uint64_t heap)
{
	char err[CONFIG_ERR_LEN];
	struct config *cfg;

	if (config__load(path, &cfg, err))
		fail_msg("%s", err);
	assert_int_equal(cfg->memory.monitor_interval_ms, interval);
	assert_true(cfg->memory.high_water_mark_percent == high);
	assert_true(cfg->memory.low_water_mark_percent == low);
	assert_true(cfg->memory.alert_threshold == alert);
	assert_int_equal(cfg->memory.gc_interval_ms, gc);
	assert_true(cfg->memory.force_gc_threshold == force);
	assert_int_equal(cfg->memory.max_memory_mb, mem);
	assert_int_equal(cfg->memory.max_heap_mb, heap);
	assert_true(cfg->memory.enable_auto_gc);
	config__free(cfg);
}

static void shipped_profiles(void **state)
{
	(void)state;
	load_profile("config/memtide.yaml", 30000, 80, 60, 90, 300000, 95, 1024, 512);
	load_profile("config/development.yaml", 30000, 80, 60, 90, 300000, 95, 512, 256);
	load_profile("config/production.yaml", 30000, 75, 50, 85, 600000, 90, 2048, 1024);
	load_profile("config/high-load.yaml", 15000, 70, 40, 80, 180000, 85, 4096, 2048);
}

static void full_file(void **state)
{
	struct config *cfg =
		parse_ok("memory:\n"
			 "  monitor_interval: 500ms\n"
			 "  max_memory_mb: 0\n"
			 "targets:\n"
			 "  - match: { comm: \"^myservice$\" }\n"
			 "    heap: none\n"
			 "  - match: { pid: 42, cmdline: \"--port\", cgroup: /kubepods }\n"
			 "    heap: uprobe\n"
			 "  - match: { hooked: true, top_rss: 3 }\n"
			 "    heap: hook\n"
			 "exporter:\n"
			 "  listen: \"[::1]:9100\"\n"
			 "  textfile_dir: /var/lib\n" /* must exist, root's, 0755 */
			 "pushgateway:\n"
			 "  url: http://127.0.0.1:9091/\n"
			 "  job: node-memory\n"
			 "  instance: \"\"\n"
			 "  interval: 10s\n"
			 "  timeout: 2s\n"
			 "  delete_on_shutdown: false\n"
			 "api:\n"
			 "  token_file: " TOKEN_FIXTURE "\n");

	(void)state;
	assert_int_equal(cfg->memory.monitor_interval_ms, 500);
	assert_int_equal(cfg->memory.max_memory_mb, 0);
	assert_int_equal(cfg->n_targets, 3);
	assert_true(cfg->targets[0].has_comm);
	assert_int_equal(regexec(&cfg->targets[0].comm, "myservice", 0, NULL, 0), 0);
	assert_int_not_equal(regexec(&cfg->targets[0].comm, "myservice2", 0, NULL, 0), 0);
	assert_int_equal(cfg->targets[1].pid, 42);
	assert_string_equal(cfg->targets[1].cgroup_prefix, "/kubepods");
	assert_int_equal(cfg->targets[1].heap, HEAP_UPROBE);
	assert_true(cfg->targets[2].hooked);
	assert_int_equal(cfg->targets[2].top_rss, 3);
	assert_int_equal(cfg->targets[2].heap, HEAP_HOOK);
	assert_string_equal(cfg->exporter.listen.host, "::1");
	assert_int_equal(cfg->exporter.listen.port, 9100);
	assert_string_equal(cfg->exporter.textfile_dir, "/var/lib");
	assert_string_equal(cfg->push.url, "http://127.0.0.1:9091/");
	assert_string_equal(cfg->push.job, "node-memory");
	assert_null(cfg->push.instance);
	assert_int_equal(cfg->push.interval_ms, 10000);
	assert_int_equal(cfg->push.timeout_ms, 2000);
	assert_false(cfg->push.delete_on_shutdown);
	assert_string_equal(cfg->api.token, "s3cret-token");
	config__free(cfg);
}

static void rejections(void **state)
{
	(void)state;
	parse_bad("memory:\n  monitor_intervall: 30s\n",
		  "t.yaml:2:22:", "unknown key \"monitor_intervall\"");
	parse_bad("memry:\n  a: 1\n", "t.yaml:2:3:", "unknown section \"memry\"");
	parse_bad("memory:\n  monitor_interval: 30\n", "t.yaml:2:21:", "not a duration");
	parse_bad("memory:\n  monitor_interval: 0s\n", "t.yaml:2:21:", "greater than zero");
	parse_bad("memory:\n  gc_interval: 0m\n", "t.yaml:2:16:", "greater than zero");
	parse_bad("memory:\n  monitor_interval: [1, 2]\n", "t.yaml:2:21:", "single value");
	parse_bad("memory:\n  high_water_mark_percent: abc\n", "t.yaml:2:28:", "not a percentage");
	parse_bad("memory:\n  alert_threshold: 101\n", "t.yaml:2:20:", "not a percentage");
	parse_bad("memory:\n  enable_auto_gc: maybe\n", "t.yaml:2:19:", "not true or false");
	parse_bad("memory:\n  max_memory_mb: -1\n", "t.yaml:2:18:", "whole number");
	parse_bad("memory:\n  max_memory_mb: 1\n  max_memory_mb: 2\n",
		  "t.yaml:3:3:", "duplicate key \"max_memory_mb\"");
	parse_bad("memory: 5\n", "t.yaml:1:9:", "must be a mapping");
	parse_bad("kubernetes:\n  pods_log_dir: var/log/pods\n",
		  "t.yaml:2:17:", "must be an absolute path");
	parse_bad("profiling:\n  top_sites: 21\n", "t.yaml:2:14:", "more than 20");
	parse_bad("profiling:\n  top_sites: 0\n", "t.yaml:2:14:", "count from 1");
	parse_bad("profiling:\n  sample: 1\n", "t.yaml:2:11:", "known: enabled, top_sites");
	parse_bad("targets:\n  match: {}\n", "t.yaml:2:3:", "must be a list");
	parse_bad("targets:\n  - heap: none\n", "t.yaml:2:5:", "needs a \"match\"");
	parse_bad("targets:\n  - match: {}\n", "t.yaml:2:12:", "at least one of");
	parse_bad("targets:\n  - match: { comm: \"(\" }\n",
		  "t.yaml:2:20:", "bad regular expression");
	parse_bad("targets:\n  - match: { cmdline: \"a[\" }\n",
		  "t.yaml:2:23:", "bad regular expression");
	parse_bad("targets:\n  - match: { pid: 0 }\n", "t.yaml:2:19:", "not a process id");
	parse_bad("targets:\n  - match: { top_rss: x }\n", "t.yaml:2:23:", "top_rss");
	parse_bad("targets:\n  - match: { cgroup: kubepods }\n", "t.yaml:2:22:", "starting with /");
	parse_bad("targets:\n  - match: { hooked: false }\n", "t.yaml:2:22:", "only \"true\"");
	parse_bad("targets:\n  - match: { user: root }\n", "t.yaml:2:20:", "unknown key \"user\"");
	parse_bad("targets:\n  - match: { pid: 1 }\n    heap: ebpf\n",
		  "t.yaml:3:11:", "not one of none, uprobe, hook");
	parse_bad("targets:\n  - match: { pid: 1 }\n    tier: none\n",
		  "t.yaml:3:11:", "unknown key \"tier\"");
	parse_bad("exporter:\n  listen: 9464\n", "t.yaml:2:11:", "not host:port");
	parse_bad("exporter:\n  listen: \"127.0.0.1:70000\"\n", "t.yaml:2:11:", "not host:port");
	parse_bad("exporter:\n  textfile_dir: relative/dir\n", "t.yaml:2:17:", "absolute path");
	parse_bad("exporter:\n  port: 1\n", "t.yaml:2:9:", "unknown key \"port\"");
	parse_bad("memory:\n  monitor_interval: 30s\n bad indent\n",
		  "t.yaml:3:", "YAML syntax error");
	parse_bad("pushgateway:\n  url: localhost:9091\n",
		  "t.yaml:2:8:", "not an http:// or https:// URL");
	parse_bad("pushgateway:\n  job: \"\"\n", "t.yaml:2:8:", "job must not be empty");
	parse_bad("pushgateway:\n  interval: 0s\n", "t.yaml:2:13:", "greater than zero");
	parse_bad("pushgateway:\n  timeout: soon\n", "t.yaml:2:12:", "not a duration");
	parse_bad("pushgateway:\n  delete_on_shutdown: 1\n", "t.yaml:2:23:", "not true or false");
	parse_bad("pushgateway:\n  urls: x\n",
		  "t.yaml:2:9:", "unknown key \"urls\" in pushgateway");
	parse_bad("api:\n  token_file: /nonexistent/token\n",
		  "t.yaml:2:15:", "cannot read /nonexistent/token");
	parse_bad("api:\n  token_file: /dev/null\n", "t.yaml:2:15:", "/dev/null is empty");
	parse_bad("api:\n  token: x\n", "t.yaml:2:10:", "unknown key \"token\" in api");
}

struct memory_want {
	double low, high, alert, force;
	uint64_t mem, heap;
};

static void memory_is(const char *text, struct memory_want w)
{
	struct config *cfg = parse_ok(text);
	const struct memory_config *m = &cfg->memory;

	if (m->low_water_mark_percent != w.low || m->high_water_mark_percent != w.high ||
	    m->alert_threshold != w.alert || m->force_gc_threshold != w.force ||
	    m->max_memory_mb != w.mem || m->max_heap_mb != w.heap)
		fail_msg("%s: got low %g high %g alert %g force %g mem %llu heap %llu", text,
			 m->low_water_mark_percent, m->high_water_mark_percent, m->alert_threshold,
			 m->force_gc_threshold, (unsigned long long)m->max_memory_mb,
			 (unsigned long long)m->max_heap_mb);
	config__free(cfg);
}

/* A key the file leaves out follows the ones it gives (README, "Configuration"). */
static void unset_keys_follow(void **state)
{
	(void)state;
	/* Defaults that agree with the file stay. */
	memory_is("memory:\n  high_water_mark_percent: 90\n",
		  (struct memory_want){ 60, 90, 90, 95, 1024, 512 });
	memory_is("memory:\n  low_water_mark_percent: 70\n",
		  (struct memory_want){ 70, 80, 90, 95, 1024, 512 });
	/* max_heap_mb is half of max_memory_mb, rounded up; 0 (the limit) for 0. */
	memory_is("memory: { max_memory_mb: 100 }\n",
		  (struct memory_want){ 60, 80, 90, 95, 100, 50 });
	memory_is("memory: { max_memory_mb: 2048 }\n",
		  (struct memory_want){ 60, 80, 90, 95, 2048, 1024 });
	memory_is("memory: { max_memory_mb: 1 }\n", (struct memory_want){ 60, 80, 90, 95, 1, 1 });
	memory_is("memory: { max_memory_mb: 0 }\n", (struct memory_want){ 60, 80, 90, 95, 0, 0 });
	/* max_memory_mb is twice max_heap_mb; not for 0, which means "the memory limit". */
	memory_is("memory: { max_heap_mb: 2048 }\n",
		  (struct memory_want){ 60, 80, 90, 95, 4096, 2048 });
	memory_is("memory: { max_heap_mb: 100 }\n",
		  (struct memory_want){ 60, 80, 90, 95, 200, 100 });
	memory_is("memory: { max_heap_mb: 0 }\n", (struct memory_want){ 60, 80, 90, 95, 1024, 0 });
	memory_is("memory: { max_heap_mb: 1099511627776 }\n",
		  (struct memory_want){ 60, 80, 90, 95, 1099511627776ULL, 1099511627776ULL });
	/* low keeps its 20-point gap below high, or half of high when that is nearer. */
	memory_is("memory: { high_water_mark_percent: 50 }\n",
		  (struct memory_want){ 30, 50, 90, 95, 1024, 512 });
	memory_is("memory: { high_water_mark_percent: 10 }\n",
		  (struct memory_want){ 5, 10, 90, 95, 1024, 512 });
	/* high keeps the gap above low, at most 100; force_gc_threshold rises to it. */
	memory_is("memory: { low_water_mark_percent: 85 }\n",
		  (struct memory_want){ 85, 100, 90, 100, 1024, 512 });
	memory_is("memory: { low_water_mark_percent: 80 }\n",
		  (struct memory_want){ 80, 100, 90, 100, 1024, 512 });
	/* force_gc_threshold rises to alert_threshold and high_water_mark_percent. */
	memory_is("memory: { alert_threshold: 99 }\n",
		  (struct memory_want){ 60, 80, 99, 99, 1024, 512 });
	memory_is("memory: { high_water_mark_percent: 97 }\n",
		  (struct memory_want){ 60, 97, 90, 97, 1024, 512 });
	memory_is("memory: { high_water_mark_percent: 70, alert_threshold: 98 }\n",
		  (struct memory_want){ 60, 70, 98, 98, 1024, 512 });
	/* A lower force_gc_threshold pulls high, alert and then low down. */
	memory_is("memory: { force_gc_threshold: 85 }\n",
		  (struct memory_want){ 60, 80, 85, 85, 1024, 512 });
	memory_is("memory: { force_gc_threshold: 70, alert_threshold: 65 }\n",
		  (struct memory_want){ 60, 70, 65, 70, 1024, 512 });
	memory_is("memory: { force_gc_threshold: 50 }\n",
		  (struct memory_want){ 30, 50, 50, 50, 1024, 512 });
	/* Between a given low and force, high takes the gap, capped by force. */
	memory_is("memory: { low_water_mark_percent: 85, force_gc_threshold: 90 }\n",
		  (struct memory_want){ 85, 90, 90, 90, 1024, 512 });
	memory_is("memory: { low_water_mark_percent: 10, force_gc_threshold: 20 }\n",
		  (struct memory_want){ 10, 20, 20, 20, 1024, 512 });
	/* Keys outside memory: the push interval follows monitor_interval. */
	{
		struct config *cfg = parse_ok("memory: { monitor_interval: 7s }\n");

		assert_int_equal(cfg->push.interval_ms, 7000);
		config__free(cfg);
	}
}

/* Both keys in the file: an error at the later one, naming both. */
static void given_keys_contradict(void **state)
{
	(void)state;
	parse_bad("memory:\n  low_water_mark_percent: 80\n  high_water_mark_percent: 70\n",
		  "t.yaml:3:28:",
		  "low_water_mark_percent (80) must be below high_water_mark_percent (70)");
	parse_bad("memory:\n  high_water_mark_percent: 70\n  low_water_mark_percent: 70\n",
		  "t.yaml:3:27:",
		  "low_water_mark_percent (70) must be below high_water_mark_percent (70)");
	parse_bad("memory:\n  force_gc_threshold: 70\n  high_water_mark_percent: 75\n",
		  "t.yaml:3:28:",
		  "high_water_mark_percent (75) must not exceed force_gc_threshold (70)");
	parse_bad("memory:\n  alert_threshold: 96\n  force_gc_threshold: 95\n",
		  "t.yaml:3:23:", "alert_threshold (96) must not exceed force_gc_threshold (95)");
	parse_bad("memory:\n  max_heap_mb: 2048\n  max_memory_mb: 1024\n",
		  "t.yaml:3:18:", "max_heap_mb (2048) must not exceed max_memory_mb (1024)");
	parse_bad("memory:\n  max_memory_mb: 100\n  max_heap_mb: 101\n",
		  "t.yaml:3:16:", "max_heap_mb (101) must not exceed max_memory_mb (100)");
	/* high left out must fit between low and force. */
	parse_bad("memory:\n  low_water_mark_percent: 90\n  force_gc_threshold: 90\n",
		  "t.yaml:3:23:",
		  "low_water_mark_percent (90) must be below force_gc_threshold (90)");
	/* ... and below 100. */
	parse_bad("memory:\n  low_water_mark_percent: 100\n",
		  "t.yaml:2:27:", "low_water_mark_percent (100) must be below 100");
	/* Only the smallest double has no room below it. */
	parse_bad("memory:\n  high_water_mark_percent: 2.2250738585072014e-308\n",
		  "t.yaml:2:28:", "leaves no room");
	/* max_memory_mb: 0 (the process's limit) takes any max_heap_mb. */
	memory_is("memory: { max_memory_mb: 0, max_heap_mb: 4096 }\n",
		  (struct memory_want){ 60, 80, 90, 95, 0, 4096 });
}

/* Prints @text's configuration, reads the output back and prints that: the same. */
static char *print_twice(const char *text)
{
	struct config *cfg = parse_ok(text), *again;
	struct buf one, two;
	char *out;

	buf__init(&one, 1 << 24);
	buf__init(&two, 1 << 24);
	assert_int_equal(config__print(cfg, &one), 0);
	again = parse_ok(one.data);
	assert_int_equal(config__print(again, &two), 0);
	assert_string_equal(one.data, two.data);
	config__free(cfg);
	config__free(again);
	buf__free(&two);
	out = buf__steal(&one, &(size_t){ 0 });
	return out;
}

static void print_round_trips(void **state)
{
	char *out;

	(void)state;
	out = print_twice("memory: { max_memory_mb: 100 }\n");
	assert_non_null(strstr(out, "\n  max_memory_mb: 100\n  max_heap_mb: 50\n"));
	assert_non_null(strstr(out, "\n  monitor_interval: 30s\n"));
	assert_non_null(strstr(out, "\ntargets:\n  - match: { top_rss: 10 }\n    heap: none\n"));
	assert_non_null(strstr(out, "\n  listen: \"127.0.0.1:9464\"\n"));
	assert_non_null(strstr(out, "\n  url: \"\"\n  job: \"memtide\"\n"));
	assert_non_null(strstr(out, "\n  interval: 30s\n"));
	assert_non_null(strstr(out, "\nkubernetes:\n  pods_log_dir: \"/var/log/pods\"\n"
				    "  containers_log_dir: \"/var/log/containers\"\n"));
	free(out);
	/* Empty: no names from that directory, and it stays so. */
	out = print_twice("kubernetes: { pods_log_dir: \"\", containers_log_dir: /srv/c }\n");
	assert_non_null(strstr(out, "\n  pods_log_dir: \"\"\n  containers_log_dir: \"/srv/c\"\n"));
	free(out);
	/* Every kind of value, and strings YAML must read back unchanged. */
	out = print_twice(
		"memory:\n  monitor_interval: 1h30m\n  gc_interval: 1500ms\n"
		"  high_water_mark_percent: 0.1\n  alert_threshold: 33.333333333333336\n"
		"targets:\n"
		"  - match: { comm: \"a\\\"b\\\\c\\td\\u2028\\x85\\u00e9\", pid: 7 }\n"
		"    heap: uprobe\n"
		"  - match: { cmdline: \"--port=[0-9]+\", cgroup: \"/a b\", hooked: true, top_rss: 2 }\n"
		"    heap: hook\n"
		"exporter: { listen: \"[::1]:9100\" }\n"
		"pushgateway: { url: \"http://h:9091/\", instance: \"x: y\", interval: 2w }\n"
		"api: { token_file: " TOKEN_FIXTURE ", gc_min_interval: 1d }\n"
		"alerts: { trim_cpu_percent: 12.5, leak_objects: 5 }\n"
		"alertmanager: { url: \"https://am/\" }\n");
	assert_non_null(strstr(
		out, "\n  monitor_interval: 90m\n  high_water_mark_percent: 0.1\n"
		     "  low_water_mark_percent: 0.05\n  alert_threshold: 33.333333333333336\n"));
	assert_non_null(strstr(out, "\n  gc_interval: 1500ms\n"));
	assert_non_null(strstr(
		out,
		"{ pid: 7, comm: \"a\\\"b\\\\c\\x09d\\u2028\\x85\u00e9\" }\n    heap: uprobe\n"));
	assert_non_null(strstr(
		out,
		"{ cmdline: \"--port=[0-9]+\", cgroup: \"/a b\", hooked: true, top_rss: 2 }\n    heap: hook\n"));
	assert_non_null(strstr(out, "\n  listen: \"[::1]:9100\"\n"));
	assert_non_null(strstr(out, "\n  instance: \"x: y\"\n  interval: 2w\n"));
	assert_non_null(
		strstr(out, "\n  token_file: \"" TOKEN_FIXTURE "\"\n  gc_min_interval: 1d\n"));
	free(out);
	/* A bracketed host that YAML or parse_listen() could misread. */
	out = print_twice("exporter: { listen: \"[[a]:80\" }\n");
	assert_non_null(strstr(out, "\n  listen: \"[[a]:80\"\n"));
	free(out);
	out = print_twice("exporter: { listen: \":80\" }\n");
	assert_non_null(strstr(out, "\n  listen: \":80\"\n"));
	free(out);
}

/* Patterns regcomp() would spend gigabytes on, or overflow its stack for (found by fuzzing). */
static void regex_complexity(void **state)
{
	char text[256], deep[70];
	struct config *cfg;

	(void)state;
	parse_bad("targets:\n  - match: { comm: \"a++++++++++++++++++++++++++++++++\" }\n",
		  "t.yaml:2:20:", "too complex");
	parse_bad("targets:\n  - match: { cmdline: \"(((a{1,100}){1,100}){1,100})\" }\n",
		  "t.yaml:2:23:", "too complex");
	/* The budget is the file's: the second pattern goes over it. */
	parse_bad("targets:\n  - match: { comm: \"(a{200}){4}\" }\n"
		  "  - match: { comm: \"(b{200}){4}\" }\n",
		  "t.yaml:3:20:", "too complex");
	/* Few copies, but of an empty group: 3.5 GB of epsilon closures. */
	parse_bad("targets:\n  - match: { comm: \"(){1,100}{1,100}\" }\n",
		  "t.yaml:2:20:", "too complex");
	memset(deep, '(', 65);
	deep[65] = '\0';
	snprintf(text, sizeof(text), "targets:\n  - match: { comm: \"%sa\" }\n", deep);
	parse_bad(text, "t.yaml:2:20:", "too complex");

	/* Ordinary patterns, brackets with ']' and classes, and a long count pass. */
	cfg = parse_ok("targets:\n  - match: { comm: \"^(nginx|postgres)[0-9]{1,3}$\" }\n"
		       "  - match: { cmdline: \"[]a[:alpha:]]+ --port=[0-9]+\" }\n"
		       "  - match: { comm: \"x{900}\" }\n");
	assert_int_equal(cfg->n_targets, 3);
	config__free(cfg);
}

static void missing_file(void **state)
{
	char err[CONFIG_ERR_LEN];
	struct config *cfg;

	(void)state;
	assert_int_equal(config__load("/nonexistent/memtide.yaml", &cfg, err), -ENOENT);
	assert_non_null(strstr(err, "/nonexistent/memtide.yaml: cannot open"));
}

static void durations(void **state)
{
	uint64_t ms;

	(void)state;
	assert_int_equal(parse_duration_ms("500ms", &ms), 0);
	assert_int_equal(ms, 500);
	assert_int_equal(parse_duration_ms("30s", &ms), 0);
	assert_int_equal(ms, 30000);
	assert_int_equal(parse_duration_ms("5m", &ms), 0);
	assert_int_equal(ms, 300000);
	assert_int_equal(parse_duration_ms("1d", &ms), 0); /* d and w as Prometheus takes them */
	assert_int_equal(ms, 86400000);
	assert_int_equal(parse_duration_ms("2w1d", &ms), 0);
	assert_int_equal(ms, 15 * 86400000ULL);
	assert_int_equal(parse_duration_ms("2h", &ms), 0);
	assert_int_equal(ms, 7200000);
	assert_int_equal(parse_duration_ms("1h30m", &ms), 0);
	assert_int_equal(ms, 5400000);
	assert_int_equal(parse_duration_ms("1.5s", &ms), 0);
	assert_int_equal(ms, 1500);
	assert_int_equal(parse_duration_ms("1m30s250ms", &ms), 0);
	assert_int_equal(ms, 90250);
	assert_int_equal(parse_duration_ms("30", &ms), -EINVAL);
	assert_int_equal(parse_duration_ms("", &ms), -EINVAL);
	assert_int_equal(parse_duration_ms("s", &ms), -EINVAL);
	assert_int_equal(parse_duration_ms("10y", &ms), -EINVAL);
	assert_int_equal(parse_duration_ms("10 s", &ms), -EINVAL);
	assert_int_equal(parse_duration_ms("10sec", &ms), -EINVAL);
	assert_int_equal(parse_duration_ms("-1s", &ms), -EINVAL);
	assert_int_equal(parse_duration_ms("99999999999h", &ms), -EINVAL);
}

static void scalars(void **state)
{
	unsigned int port;
	uint64_t u;
	double d;
	char *host;
	bool b;

	(void)state;
	assert_int_equal(parse_percent("80.5", &d), 0);
	assert_true(d == 80.5);
	assert_int_equal(parse_percent("nan", &d), -EINVAL);
	assert_int_equal(parse_percent("80%", &d), -EINVAL);
	assert_int_equal(parse_uint("12", 100, &u), 0);
	assert_int_equal(u, 12);
	assert_int_equal(parse_uint("+12", 100, &u), -EINVAL);
	assert_int_equal(parse_uint("101", 100, &u), -EINVAL);
	assert_int_equal(parse_bool("true", &b), 0);
	assert_true(b);
	assert_int_equal(parse_bool("yes", &b), -EINVAL);
	assert_int_equal(parse_listen(":9464", &host, &port), 0);
	assert_string_equal(host, "");
	assert_int_equal(port, 9464);
	free(host);
	assert_int_equal(parse_listen("[::]:80", &host, &port), 0);
	assert_string_equal(host, "::");
	free(host);
	assert_int_equal(parse_listen("::1:80", &host, &port), -EINVAL);
	assert_int_equal(parse_listen("host:0", &host, &port), -EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(defaults_are_the_spec),
		cmocka_unit_test(shipped_profiles),
		cmocka_unit_test(full_file),
		cmocka_unit_test(rejections),
		cmocka_unit_test(missing_file),
		cmocka_unit_test(durations),
		cmocka_unit_test(scalars),
		cmocka_unit_test(regex_complexity),
		cmocka_unit_test(unset_keys_follow),
		cmocka_unit_test(given_keys_contradict),
		cmocka_unit_test(print_round_trips),
	};

	return cmocka_run_group_tests_name("config", tests, NULL, NULL);
}
