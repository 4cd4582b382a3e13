// SPDX-License-Identifier: Apache-2.0
/* JSON documents and Pushgateway paths, from fixture snapshots. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <errno.h>
#include <cmocka.h>
#include "api.h"
#include "push.h"

static struct snapshot *fixture(double usage_a, double usage_b)
{
	struct snapshot *s = snapshot__new(2, 2);

	s->n = 2;
	s->memory = (struct memory_config){ .high_water_mark_percent = 80,
					    .low_water_mark_percent = 60,
					    .alert_threshold = 90,
					    .max_memory_mb = 1024 };
	s->samples[0] = (struct sample){ .pid = 10,
					 .comm = "a\"b\\c\x01",
					 .rss_bytes = 1000,
					 .limit_bytes = 1 << 20,
					 .usage_percent = usage_a };
	s->samples[1] = (struct sample){
		.pid = 11,
		.comm = "db",
		.ident = { .namespace = "shop",
			   .pod = "db-0",
			   .container = "postgres",
			   .pod_uid = "8d3f9c1e-5b2a-4f6e-9a7d-3c4b5e6f7a8b",
			   .container_id =
				   "4f1c2a3b4c5d6e7f8a9b0c1d2e3f4a5b6c7d8e9f0a1b2c3d4e5f6a7b8c9d0e1f" },
		.rss_bytes = 3000,
		.limit_bytes = 2 << 20,
		.usage_percent = usage_b
	};
	s->agent.bpf_ok = true;
	return s;
}

static char *render(int (*fn)(const struct snapshot *, int, struct buf *), const struct snapshot *s,
		    int pid, int *rc)
{
	struct buf b;

	buf__init(&b, 1 << 20);
	*rc = fn(s, pid, &b);
	return buf__steal(&b, NULL);
}

static void stats_document(void **state)
{
	struct snapshot *s = fixture(10, 50);
	char *out;
	int rc;

	(void)state;
	out = render(api__stats, s, 0, &rc);
	assert_int_equal(rc, 0);
	/* Summary: RSS summed; usage and limit of the process nearest its limit. */
	assert_non_null(strstr(out, "{\"memory\":{\"alloc_bytes\":null,"));
	assert_non_null(strstr(
		out, "\"sys_bytes\":4000,\"usage_percent\":50,\"max_memory_mb\":2,"
		     "\"high_water_mark\":80,\"low_water_mark\":60,\"alert_threshold\":90},"));
	assert_non_null(
		strstr(out, "{\"pid\":10,\"comm\":\"a\\\"b\\\\c\\u0001\",\"tier\":\"none\","));
	assert_non_null(strstr(
		out,
		"\"pid\":11,\"comm\":\"db\",\"tier\":\"none\",\"namespace\":\"shop\","
		"\"pod\":\"db-0\",\"container\":\"postgres\",\"pod_uid\":\"8d3f9c1e-5b2a-4f6e-9a7d-3c4b5e6f7a8b\","
		"\"container_id\":\"4f1c2a3b4c5d6e7f8a9b0c1d2e3f4a5b6c7d8e9f0a1b2c3d4e5f6a7b8c9d0e1f\""));
	/* Outside pods: no pod field at all (as no label). */
	assert_null(
		strstr(out, "\"pid\":10,\"comm\":\"a\\\"b\\\\c\\u0001\",\"tier\":\"none\",\"n"));
	free(out);
	out = render(api__stats, s, 11, &rc);
	assert_int_equal(rc, 0);
	assert_null(strstr(out, "\"pid\":10"));
	assert_non_null(strstr(out, "\"sys_bytes\":3000"));
	free(out);
	free(render(api__stats, s, 12, &rc));
	assert_int_equal(rc, -ENOENT);
	snapshot__put(s);
}

static void heap_fields_when_known(void **state)
{
	struct snapshot *s = fixture(10, 20);
	union heap_figures *f = snapshot__heap_figures(s);
	char *out;
	int rc;

	(void)state;
	s->samples[0].tier = HEAP_UPROBE;
	s->samples[0].has_uprobe = true;
	s->samples[0].anon_bytes = 10000;
	f->uprobe = (struct heap_stats){ .live_bytes = 600,
					 .live_chunk_bytes = 800,
					 .live_objects = 3,
					 .total_alloc_bytes = 5000,
					 .trims = 2 };
	s->samples[0].heap = &f->uprobe;
	s->samples[0].gc_cpu_fraction = 0.25;
	out = render(api__stats, s, 0, &rc);
	assert_int_equal(rc, 0);
	/* The summary sums what is known: one process here. */
	assert_non_null(strstr(out, "{\"memory\":{\"alloc_bytes\":600,\"total_alloc_bytes\":5000,"
				    "\"heap_alloc_bytes\":800,\"heap_sys_bytes\":10000,"
				    "\"heap_idle_bytes\":9200,\"heap_inuse_bytes\":800,"
				    "\"heap_objects\":3,\"gc_count\":2,\"gc_cpu_fraction\":0.25,"));
	assert_non_null(strstr(
		out,
		"\"pid\":10,\"comm\":\"a\\\"b\\\\c\\u0001\",\"tier\":\"uprobe\",\"alloc_bytes\":600,"));
	assert_non_null(strstr(
		out,
		"\"pid\":11,\"comm\":\"db\",\"tier\":\"none\",\"namespace\":\"shop\","
		"\"pod\":\"db-0\",\"container\":\"postgres\",\"pod_uid\":\"8d3f9c1e-5b2a-4f6e-9a7d-3c4b5e6f7a8b\","
		"\"container_id\":\"4f1c2a3b4c5d6e7f8a9b0c1d2e3f4a5b6c7d8e9f0a1b2c3d4e5f6a7b8c9d0e1f\",\"alloc_bytes\":null,"));
	free(out);
	/* Frees of blocks from before the probes never make live figures negative. */
	f->uprobe.live_bytes = -4096;
	f->uprobe.live_objects = -2;
	out = render(api__stats, s, 10, &rc);
	assert_non_null(strstr(out, "\"alloc_bytes\":0,"));
	assert_non_null(strstr(out, "\"heap_objects\":0,"));
	free(out);
	snapshot__put(s);
}

static void health_states(void **state)
{
	const struct {
		double a, b;
		const char *memory;
	} cases[] = { { 10, 79.9, "ok" }, { 10, 80.5, "warning" }, { 95, 50, "critical" } };
	struct buf b;

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct snapshot *s = fixture(cases[i].a, cases[i].b);
		char want[128];

		s->memory.monitor_interval_ms = 30000;
		s->time = 1767225600 - 30;
		buf__init(&b, 4096);
		assert_int_equal(api__health(s, 1767225600, &b), 200);
		assert_non_null(strstr(b.data, "\"collector\":\"ok\""));
		snprintf(want, sizeof(want), "\"memory\":\"%s\"}}", cases[i].memory);
		assert_non_null(strstr(b.data, want));
		snprintf(want, sizeof(want), "{\"status\":\"%s\",\"time\":\"2026-01-01T00:00:00Z\"",
			 cases[i].memory);
		assert_non_null(strstr(b.data, want));
		assert_non_null(strstr(b.data, "\"pushgateway\":\"disabled\""));
		buf__free(&b);
		snapshot__put(s);
	}
	/* A failing Pushgateway is a warning; a failing kernel tier breaks the agent. */
	{
		struct snapshot *s = fixture(1, 1);

		s->agent.push = (struct push_stats){ .enabled = true, .consecutive_failures = 2 };
		buf__init(&b, 4096);
		assert_int_equal(api__health(s, 0, &b), 200);
		assert_non_null(strstr(b.data, "{\"status\":\"warning\""));
		assert_non_null(strstr(b.data, "\"pushgateway\":\"warning\""));
		buf__free(&b);
		/* A snapshot older than two intervals: the collection loop is stuck. */
		s->memory.monitor_interval_ms = 1000;
		buf__init(&b, 4096);
		assert_int_equal(api__health(s, 2.5, &b), 503);
		assert_non_null(strstr(b.data, "{\"status\":\"critical\""));
		assert_non_null(strstr(b.data, "\"collector\":\"critical\""));
		buf__free(&b);
		s->agent.bpf_ok = false;
		buf__init(&b, 4096);
		assert_int_equal(api__health(s, 0, &b), 503);
		assert_non_null(strstr(b.data, "{\"status\":\"critical\""));
		buf__free(&b);
		snapshot__put(s);
	}
	buf__init(&b, 4096);
	assert_int_equal(api__health(NULL, 0, &b), 503);
	buf__free(&b);
}

static void gc_document(void **state)
{
	struct gc_result r[2] = {
		{ .pid = 10,
		  .comm = "web",
		  .trimmed = true,
		  .report = { .rss_before = 300 << 20,
			      .rss_after = 100 << 20,
			      .trim_ns = 80000000,
			      .before = { .uordblks = 5000, .fordblks = 9000, .arena = 14000 },
			      .after = { .uordblks = 5000, .fordblks = 9000, .arena = 14000 } } },
		{ .pid = 11, .comm = "db", .reason = "no control hook loaded: never signalled" },
	};
	struct buf b;

	(void)state;
	buf__init(&b, 4096);
	assert_int_equal(api__gc(r, 2, &b), 0);
	assert_non_null(strstr(b.data, "{\"message\":\"trimmed 1 of 2 targets\",\"results\":["));
	assert_non_null(strstr(b.data,
			       "{\"pid\":10,\"comm\":\"web\",\"trimmed\":true,"
			       "\"released_bytes\":209715200,\"duration_ns\":80000000,"
			       "\"before\":{\"rss_bytes\":314572800,\"heap_inuse_bytes\":5000,"
			       "\"heap_free_bytes\":9000,\"heap_sys_bytes\":14000},"));
	assert_non_null(strstr(b.data,
			       "{\"pid\":11,\"comm\":\"db\",\"trimmed\":false,"
			       "\"reason\":\"no control hook loaded: never signalled\"}]}"));
	buf__free(&b);
	buf__init(&b, 4096);
	assert_int_equal(api__gc(NULL, 0, &b), 0);
	assert_non_null(strstr(
		b.data,
		"\"message\":\"no target: no hooked process is above the high water mark\",\"results\":[]"));
	buf__free(&b);
}

static void json_values(void **state)
{
	struct json_object *doc;
	struct buf b;
	int err = 0;

	(void)state;
	buf__init(&b, 4096);
	doc = json__object(&err);
	json__add_string(doc, "s", "tab\there\nnl é /", &err);
	json__add_number(doc, "half", 0.5, &err);
	json__add_number(doc, "inf", 1.0 / 0.0, &err);
	json__add_number(doc, "short", 0.024794836, &err);
	json__add_number(doc, "third", 0.1 + 0.2, &err);
	json__add_time(doc, "never", 0, &err);
	json__add_time(doc, "t", 1.5e9, &err);
	json__add_uint(doc, "big", UINT64_MAX, &err);
	assert_int_equal(json__render(doc, err, true, &b), 0);
	assert_string_equal(b.data, "{\"s\":\"tab\\there\\nnl é /\",\"half\":0.5,\"inf\":null,"
				    "\"short\":0.024794836,\"third\":0.30000000000000004,"
				    "\"never\":null,\"t\":\"2017-07-14T02:40:00Z\","
				    "\"big\":18446744073709551615}\n");
	buf__free(&b);
}

/* Bytes no process name should put in a document: they come out valid UTF-8. */
static void json_invalid_utf8(void **state)
{
	struct json_object *doc;
	struct buf b;
	int err = 0;

	(void)state;
	buf__init(&b, 4096);
	doc = json__array(&err);
	json__add_string(doc, NULL, "a\xff\"{}\\\xe2\x82", &err);
	assert_int_equal(json__render(doc, err, false, &b), 0);
	assert_string_equal(b.data, "[\"a\xef\xbf\xbd\\\"{}\\\\\xef\xbf\xbd\"]");
	buf__free(&b);
}

static void group_paths(void **state)
{
	struct buf b;

	(void)state;
	buf__init(&b, 4096);
	push__group_path("memtide", "node-1.example", &b);
	assert_string_equal(b.data, "/metrics/job/memtide/instance/node-1.example");
	buf__reset(&b);
	push__group_path("a/b", "", &b);
	assert_string_equal(b.data, "/metrics/job@base64/YS9i/instance@base64/=");
	buf__reset(&b);
	push__group_path("memtide", "host with space", &b);
	assert_string_equal(b.data, "/metrics/job/memtide/instance@base64/aG9zdCB3aXRoIHNwYWNl");
	buf__free(&b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(stats_document), cmocka_unit_test(heap_fields_when_known),
		cmocka_unit_test(health_states),  cmocka_unit_test(gc_document),
		cmocka_unit_test(json_values),	  cmocka_unit_test(json_invalid_utf8),
		cmocka_unit_test(group_paths),
	};

	return cmocka_run_group_tests_name("api", tests, NULL, NULL);
}
