// SPDX-License-Identifier: Apache-2.0
/* Prometheus text rendering: escaping, histograms, one block per family, the size cap. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <errno.h>
#include <cmocka.h>
#include "buf.h"
#include "exposition.h"
#include "exposition_text.h"

static void label_escaping(void **state)
{
	struct label l[] = { { "comm", "a\\b\"c\nd" }, { "pid", "7" } };
	struct buf b;

	(void)state;
	buf__init(&b, 4096);
	expo__sample(&b, "m", l, 2, 1.5);
	assert_string_equal(b.data, "m{comm=\"a\\\\b\\\"c\\nd\",pid=\"7\"} 1.5\n");
	buf__free(&b);
}

/* Prometheus drops the whole scrape on one invalid label value: U+FFFD instead. */
static void label_invalid_utf8(void **state)
{
	struct label l[] = { { "comm", "x\xff{\xe2\x82" } };
	struct buf b;

	(void)state;
	buf__init(&b, 4096);
	expo__sample(&b, "m", l, 1, 0.024794836);
	assert_string_equal(b.data, "m{comm=\"x\xef\xbf\xbd{\xef\xbf\xbd\"} 0.024794836\n");
	buf__free(&b);
}

static void values(void **state)
{
	struct buf b;

	(void)state;
	buf__init(&b, 4096);
	expo__sample(&b, "a", NULL, 0, 3);
	expo__sample(&b, "b", NULL, 0, 0.25);
	expo__sample(&b, "c", NULL, 0, 1.0 / 0.0);
	expo__sample(&b, "d", NULL, 0, 0.0 / 0.0);
	expo__sample_u64(&b, "e", NULL, 0, UINT64_MAX);
	assert_string_equal(b.data, "a 3\nb 0.25\nc +Inf\nd NaN\ne 18446744073709551615\n");
	buf__free(&b);
}

static void histogram_layout(void **state)
{
	const double bounds[] = { 1000, 1e6 };
	const uint64_t counts[] = { 2, 3, 1 };
	struct label l[] = { { "pid", "1" } };
	struct buf b;

	(void)state;
	buf__init(&b, 4096);
	expo__family(&b, "h_ns", "histogram", "A histogram.");
	expo__histogram(&b, "h_ns", l, 1, bounds, counts, 2, 1234.5);
	assert_string_equal(b.data, "# HELP h_ns A histogram.\n"
				    "# TYPE h_ns histogram\n"
				    "h_ns_bucket{pid=\"1\",le=\"1000\"} 2\n"
				    "h_ns_bucket{pid=\"1\",le=\"1000000\"} 5\n"
				    "h_ns_bucket{pid=\"1\",le=\"+Inf\"} 6\n"
				    "h_ns_sum{pid=\"1\"} 1234.5\n"
				    "h_ns_count{pid=\"1\"} 6\n");
	buf__free(&b);
}

/* Every family appears once, its samples right after its TYPE line. */
static void families_grouped(void **state)
{
	struct snapshot *s = snapshot__new(2, 2);
	char *seen[256];
	size_t n_seen = 0;
	struct buf b;
	char *text, *line, *save, current[128] = "";

	(void)state;
	s->n = 2;
	s->samples[0] = (struct sample){ .pid = 10,
					 .comm = "web\"srv",
					 .rss_bytes = 4096,
					 .limit_bytes = 1 << 20,
					 .usage_percent = 0.390625 };
	s->samples[1] = (struct sample){
		.pid = 11,
		.comm = "db",
		.ident = { .namespace = "shop",
			   .pod = "db-0",
			   .container = "postgres",
			   .pod_uid = "8d3f9c1e-5b2a-4f6e-9a7d-3c4b5e6f7a8b",
			   .container_id =
				   "4f1c2a3b4c5d6e7f8a9b0c1d2e3f4a5b6c7d8e9f0a1b2c3d4e5f6a7b8c9d0e1f" },
		.minflt = 5,
		.majflt = 1
	};
	buf__init(&b, 1 << 20);
	assert_int_equal(exposition__render(s, &b), 0);
	assert_non_null(strstr(b.data, "memory_sys_bytes{pid=\"10\",comm=\"web\\\"srv\"} 4096\n"));
	assert_non_null(strstr(b.data, "memory_max_memory_mb{pid=\"10\",comm=\"web\\\"srv\"} 1\n"));
	/* Every label a process can have, in this order, with one more (kind). */
	assert_non_null(strstr(
		b.data,
		"memory_page_faults_total{pid=\"11\",comm=\"db\","
		"namespace=\"shop\",pod=\"db-0\",container=\"postgres\","
		"pod_uid=\"8d3f9c1e-5b2a-4f6e-9a7d-3c4b5e6f7a8b\","
		"container_id=\"4f1c2a3b4c5d6e7f8a9b0c1d2e3f4a5b6c7d8e9f0a1b2c3d4e5f6a7b8c9d0e1f\","
		"kind=\"major\"} 1\n"));
	assert_non_null(strstr(b.data, "# TYPE memory_page_faults_total counter\n"));
	assert_non_null(strstr(b.data, "memtide_build_info{version="));
	text = strdup(b.data);
	for (line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		char name[128];

		if (sscanf(line, "# TYPE %127s", name) == 1) {
			for (size_t i = 0; i < n_seen; i++)
				if (strcmp(seen[i], name) == 0)
					fail_msg("family %s appears twice", name);
			seen[n_seen++] = strdup(name);
			strcpy(current, name);
		} else if (line[0] != '#') {
			/* A sample belongs to the family whose block it is in. */
			assert_int_equal(strncmp(line, current, strlen(current)), 0);
		}
	}
	assert_true(n_seen > 10);
	for (size_t i = 0; i < n_seen; i++)
		free(seen[i]);
	free(text);
	buf__free(&b);
	snapshot__put(s);
}

/* A profiled process's sites: one series each, the site as a label. */
static void sites(void **state)
{
	static const struct site_figures f[2] = {
		{ .name = "parse_request (libfoo.so)",
		  .inuse_bytes = 3 << 20,
		  .alloc_bytes = 9 << 20 },
		{ .name = "x\"{y} (\xc3.so)", .inuse_bytes = 512, .alloc_bytes = 1024 },
	};
	struct snapshot *s = snapshot__new(2, 2);
	struct buf b;

	(void)state;
	s->n = 2;
	s->samples[0] = (struct sample){ .pid = 10,
					 .comm = "svc",
					 .profiled = true,
					 .sites = f,
					 .n_sites = 2,
					 .sites_dropped = 3 };
	s->samples[1] = (struct sample){ .pid = 11, .comm = "plain" };
	buf__init(&b, 1 << 20);
	assert_int_equal(exposition__render(s, &b), 0);
	assert_non_null(strstr(
		b.data,
		"# TYPE memory_heap_site_inuse_bytes gauge\n"
		"memory_heap_site_inuse_bytes{pid=\"10\",comm=\"svc\",site=\"parse_request (libfoo.so)\"} 3145728\n"
		"memory_heap_site_inuse_bytes{pid=\"10\",comm=\"svc\",site=\"x\\\"{y} (\xef\xbf\xbd.so)\"} 512\n#"));
	assert_non_null(strstr(
		b.data,
		"# TYPE memory_heap_site_alloc_bytes_total counter\n"
		"memory_heap_site_alloc_bytes_total{pid=\"10\",comm=\"svc\",site=\"parse_request (libfoo.so)\"} 9437184\n"));
	assert_non_null(strstr(
		b.data, "memory_heap_site_samples_dropped_total{pid=\"10\",comm=\"svc\"} 3\n#"));
	assert_null(strstr(b.data, "pid=\"11\",comm=\"plain\",site"));
	buf__free(&b);
	snapshot__put(s);
}

static void size_cap(void **state)
{
	struct buf b;
	char *out;
	size_t len;

	(void)state;
	buf__init(&b, 16);
	assert_int_equal(buf__adds(&b, "0123456789"), 0);
	assert_int_equal(buf__addf(&b, "%s", "0123456789"), -E2BIG);
	/* Once failed, stays failed: callers check once at the end. */
	assert_int_equal(buf__adds(&b, "x"), -E2BIG);
	out = buf__steal(&b, &len);
	assert_string_equal(out, "0123456789");
	assert_int_equal(len, 10);
	free(out);
	buf__free(&b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(label_escaping),
		cmocka_unit_test(label_invalid_utf8),
		cmocka_unit_test(values),
		cmocka_unit_test(histogram_layout),
		cmocka_unit_test(families_grouped),
		cmocka_unit_test(size_cap),
		cmocka_unit_test(sites),
	};

	return cmocka_run_group_tests_name("exposition", tests, NULL, NULL);
}
