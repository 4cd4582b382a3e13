// SPDX-License-Identifier: Apache-2.0
/* Alert state machine on fixture snapshots, and the Alertmanager body. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include "alertmanager.h"
#include "alerts.h"

static const struct alerts_config cfg = { .high_for_ms = 1000,
					  .critical_for_ms = 1000,
					  .trim_cpu_for_ms = 2000,
					  .leak_for_ms = 1000,
					  .trim_cpu_percent = 10,
					  .leak_window_ms = 10000,
					  .leak_objects = 1000,
					  .history_size = 8 };

static const struct memory_config memory = { .high_water_mark_percent = 80,
					     .low_water_mark_percent = 60,
					     .alert_threshold = 90 };

static struct snapshot *snap(double t, double usage, double cpu, int64_t objects)
{
	struct snapshot *s = snapshot__new(1, 1);
	union heap_figures *f = snapshot__heap_figures(s);

	s->n = 1;
	s->time = t;
	s->samples[0] = (struct sample){ .pid = 42,
					 .start_ticks = 7,
					 .comm = "svc",
					 .usage_percent = usage,
					 .has_uprobe = true,
					 .gc_cpu_fraction = cpu };
	f->uprobe.live_objects = objects;
	s->samples[0].heap = &f->uprobe;
	return s;
}

static uint64_t step(struct alerts *a, double t, double usage, double cpu, int64_t objects,
		     enum alert_kind k)
{
	struct snapshot *s = snap(t, usage, cpu, objects);
	uint64_t firing;

	alerts__evaluate(a, &memory, s, (uint64_t)(t * 1000));
	firing = s->agent.alerts_firing[k];
	snapshot__put(s);
	return firing;
}

static void trim_cpu_pending_firing_resolved(void **state)
{
	struct alerts *a;
	struct alert out[8];
	struct buf b;

	(void)state;
	assert_int_equal(alerts__new(&cfg, &a), 0);
	assert_int_equal(step(a, 100, 10, 0.15, 0, ALERT_TRIM_CPU), 0); /* pending */
	assert_int_equal(step(a, 101, 10, 0.15, 0, ALERT_TRIM_CPU), 0); /* for: 2 s */
	assert_int_equal(step(a, 102, 10, 0.15, 0, ALERT_TRIM_CPU), 1); /* firing */
	assert_int_equal(alerts__to_notify(a, out, 8), 1);
	assert_int_equal(out[0].kind, ALERT_TRIM_CPU);
	assert_int_equal(step(a, 103, 10, 0.05, 0, ALERT_TRIM_CPU), 0); /* resolved */
	/* The resolved alert waits for delivery, once. */
	assert_int_equal(alerts__to_notify(a, out, 8), 1);
	assert_int_equal(out[0].state, ALERT_RESOLVED);
	alerts__delivered(a, out, 1);
	assert_int_equal(alerts__to_notify(a, out, 8), 0);
	buf__init(&b, 1 << 16);
	alerts__json(a, &b);
	assert_non_null(strstr(
		b.data,
		"{\"active\":[],\"recent\":[{\"alertname\":\"MemoryGCHighCPU\",\"severity\":\"warning\",\"state\":\"resolved\""));
	buf__free(&b);
	alerts__free(a);
}

static void pending_dropped_without_firing(void **state)
{
	struct alerts *a;
	struct alert out[8];

	(void)state;
	assert_int_equal(alerts__new(&cfg, &a), 0);
	step(a, 100, 85, 0, 0, ALERT_HIGH);
	step(a, 100.5, 70, 0, 0, ALERT_HIGH); /* gone before its 'for' */
	assert_int_equal(step(a, 102, 70, 0, 0, ALERT_HIGH), 0);
	assert_int_equal(alerts__to_notify(a, out, 8), 0);
	alerts__free(a);
}

static void leak_over_window(void **state)
{
	struct alerts *a;

	(void)state;
	assert_int_equal(alerts__new(&cfg, &a), 0);
	assert_int_equal(step(a, 100, 10, 0, 100, ALERT_LEAK), 0);
	assert_int_equal(step(a, 104, 10, 0, 900, ALERT_LEAK), 0); /* +800: no */
	assert_int_equal(step(a, 108, 10, 0, 1500, ALERT_LEAK), 0); /* +1400: pending */
	assert_int_equal(step(a, 109, 10, 0, 1600, ALERT_LEAK), 1); /* firing */
	/* The old samples leave the window; no growth inside it: resolved. */
	assert_int_equal(step(a, 125, 10, 0, 1600, ALERT_LEAK), 0);
	alerts__free(a);
}

/* A profiled process's leak alert names the sites that grew most, by their
 * share of all growth (sites_growth_bytes counts sites outside the top too). */
static void leak_names_sites(void **state)
{
	struct site_figures sites[3] = {
		{ .name = "cache_put (libfoo.so)", .inuse_bytes = 1 << 20, .growth_bytes = 100 },
		{ .name = "parse_request (server)", .inuse_bytes = 1 << 19, .growth_bytes = 900 },
		{ .name = "shrinking (server)", .inuse_bytes = 1 << 18, .growth_bytes = -500 },
	};
	struct alerts *a;
	struct buf b;
	char text[ALERT_DESCRIPTION_LEN];
	struct alert out[4];

	(void)state;
	assert_int_equal(alerts__new(&cfg, &a), 0);
	for (int i = 0; i < 4; i++) {
		struct snapshot *s = snap(100 + 4 * i, 10, 0, 100 + 700 * i);

		s->samples[0].profiled = true;
		s->samples[0].sites = sites;
		s->samples[0].n_sites = 3;
		s->samples[0].sites_growth_bytes = 1000;
		alerts__evaluate(a, &memory, s, (uint64_t)(100 + 4 * i) * 1000);
		snapshot__put(s);
	}
	assert_int_equal(alerts__to_notify(a, out, 4), 1);
	assert_int_equal(out[0].n_sites, 2);
	alert__description(&out[0], text, sizeof(text));
	assert_string_equal(
		text,
		"svc (pid 42) holds 1400 more live allocations than a window ago. Growth by site: parse_request (server) 90%, cache_put (libfoo.so) 10%.");
	buf__init(&b, 1 << 16);
	alerts__json(a, &b);
	assert_non_null(strstr(
		b.data,
		"\"sites\":[{\"site\":\"parse_request (server)\",\"growth_bytes\":900,\"share\":0.9},{\"site\":\"cache_put (libfoo.so)\",\"growth_bytes\":100,\"share\":0.1}]"));
	buf__free(&b);
	alerts__free(a);
}

static void process_gone_resolves(void **state)
{
	const struct proc_key other = { .pid = 42, .start_ticks = 8 };
	const struct proc_key gone = { .pid = 42, .start_ticks = 7 };
	struct alerts *a;
	struct alert out[8];

	(void)state;
	assert_int_equal(alerts__new(&cfg, &a), 0);
	step(a, 100, 95, 0, 0, ALERT_CRITICAL);
	assert_int_equal(step(a, 101, 95, 0, 0, ALERT_CRITICAL), 1);
	/* A later process under the same number is not this one. */
	alerts__forget(a, &other);
	assert_int_equal(alerts__to_notify(a, out, 8), 2);
	assert_int_equal(out[0].state, ALERT_FIRING);
	alerts__forget(a, &gone);
	/* Both the high and the critical alert resolve with their process. */
	assert_int_equal(alerts__to_notify(a, out, 8), 2);
	assert_int_equal(out[0].state, ALERT_RESOLVED);
	assert_int_equal(out[1].state, ALERT_RESOLVED);
	alerts__delivered(a, out, 2);
	/* Gone means gone: nothing is left to resolve or fire. */
	alerts__forget(a, &gone);
	assert_int_equal(alerts__to_notify(a, out, 8), 0);
	alerts__free(a);
}

/* The thresholds are reached at the figure itself: 80.0 is high, 90.0 critical. */
static void thresholds_at_the_boundary(void **state)
{
	struct alerts *a;

	(void)state;
	assert_int_equal(alerts__new(&cfg, &a), 0);
	step(a, 100, 80.0, 0, 0, ALERT_HIGH);
	assert_int_equal(step(a, 101, 80.0, 0, 0, ALERT_HIGH), 1);
	assert_int_equal(step(a, 102, 80.0, 0, 0, ALERT_CRITICAL), 0);
	step(a, 103, 90.0, 0, 0, ALERT_CRITICAL);
	assert_int_equal(step(a, 104, 90.0, 0, 0, ALERT_CRITICAL), 1);
	/* Just below: resolved. */
	assert_int_equal(step(a, 105, 79.99, 0, 0, ALERT_HIGH), 0);
	alerts__free(a);
}

static void alertmanager_body(void **state)
{
	struct alert al[2] = {
		{ .kind = ALERT_CRITICAL,
		  .state = ALERT_FIRING,
		  .pid = 42,
		  .comm = "s\"vc",
		  .value = 95.5,
		  .fired_at = 1767225600 },
		{ .kind = ALERT_HIGH,
		  .state = ALERT_RESOLVED,
		  .pid = 42,
		  .comm = "svc",
		  .value = 85,
		  .fired_at = 1767225600,
		  .resolved_at = 1767225660 },
	};
	struct buf b;

	(void)state;
	buf__init(&b, 1 << 16);
	assert_int_equal(alertmanager__body(al, 2, "node-1", &b), 0);
	assert_string_equal(
		b.data,
		"[{\"labels\":{\"alertname\":\"MemoryCriticalUsage\",\"severity\":\"critical\",\"job\":\"memtide\",\"pid\":\"42\",\"comm\":\"s\\\"vc\",\"instance\":\"node-1\"},"
		"\"annotations\":{\"summary\":\"Critical memory usage detected\",\"description\":\"s\\\"vc (pid 42) uses 95.5% of its limit.\"},"
		"\"startsAt\":\"2026-01-01T00:00:00Z\"},"
		"{\"labels\":{\"alertname\":\"MemoryHighUsage\",\"severity\":\"warning\",\"job\":\"memtide\",\"pid\":\"42\",\"comm\":\"svc\",\"instance\":\"node-1\"},"
		"\"annotations\":{\"summary\":\"High memory usage detected\",\"description\":\"svc (pid 42) uses 85.0% of its limit.\"},"
		"\"startsAt\":\"2026-01-01T00:00:00Z\",\"endsAt\":\"2026-01-01T00:01:00Z\"}]");
	buf__free(&b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(trim_cpu_pending_firing_resolved),
		cmocka_unit_test(pending_dropped_without_firing),
		cmocka_unit_test(leak_over_window),
		cmocka_unit_test(leak_names_sites),
		cmocka_unit_test(process_gone_resolves),
		cmocka_unit_test(thresholds_at_the_boundary),
		cmocka_unit_test(alertmanager_body),
	};

	return cmocka_run_group_tests_name("alerts", tests, NULL, NULL);
}
