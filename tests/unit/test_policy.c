// SPDX-License-Identifier: Apache-2.0
/* The watermark policy on fixture snapshots, with a recording fake for the
 * trim: no process is signalled, none is needed. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include "api.h"
#include "policy.h"
#include "thresholds.h"

#define GC_MS 60000
#define MONITOR_MS 1000
#define MIB (1024ULL * 1024)

static const struct memory_config memory = {
	.monitor_interval_ms = MONITOR_MS,
	.high_water_mark_percent = 80,
	.low_water_mark_percent = 60,
	.alert_threshold = 90,
	.enable_auto_gc = true,
	.gc_interval_ms = GC_MS,
	.force_gc_threshold = 95,
};

/* The fake trim: counts the requests per pid. */
struct recorder {
	unsigned int requests;
	int last_pid;
};

static int record(void *ctx, int pid, const char **why)
{
	struct recorder *r = ctx;

	(void)why;
	r->requests++;
	r->last_pid = pid;
	return 0;
}

/* One hooked process: @usage percent, @trims done so far, the last of which
 * gave back @released bytes of a 100 MiB RSS. */
struct proc {
	double usage;
	uint64_t trims, released;
	bool loaded, pending;
};

static unsigned int eval(struct policy *p, struct recorder *r, const struct proc *pr,
			 uint64_t now_ms)
{
	struct snapshot *s = snapshot__new(1, 1);
	struct sample *smp = &s->samples[0];
	union heap_figures *f = snapshot__heap_figures(s);
	unsigned int before = r->requests;

	assert_non_null(s);
	s->n = 1;
	*smp = (struct sample){ .pid = 4242,
				.start_ticks = 7,
				.comm = "svc",
				.tier = HEAP_HOOK,
				.usage_percent = pr->usage,
				.has_hook = pr->trims > 0,
				.hook_loaded = pr->loaded,
				.hook_pending = pr->pending };
	f->hook.trims = pr->trims;
	f->hook.last_trim.rss_before = 100 * MIB;
	f->hook.last_trim.rss_after = 100 * MIB - pr->released;
	smp->hook = &f->hook;
	policy__evaluate(p, &memory, s, now_ms);
	snapshot__put(s);
	return r->requests - before;
}

static struct policy *new_policy(struct recorder *r)
{
	const struct policy_trim trim = { .request = record, .ctx = r };
	struct policy *p;

	memset(r, 0, sizeof(*r));
	assert_int_equal(policy__new(&trim, &p), 0);
	return p;
}

/* At exactly the high water mark: trimmed once, not again inside gc_interval. */
static void high_water_once_per_gc_interval(void **state)
{
	struct proc pr = { .usage = 80.0, .loaded = true };
	struct recorder r;
	struct policy *p = new_policy(&r);

	(void)state;
	assert_int_equal(eval(p, &r, &(struct proc){ .usage = 79.9, .loaded = true }, 1000), 0);
	assert_int_equal(eval(p, &r, &pr, 2000), 1);
	assert_int_equal(r.last_pid, 4242);
	/* The trim answered and gave back plenty: effective, still armed. */
	pr.trims = 1;
	pr.released = 10 * MIB;
	assert_int_equal(eval(p, &r, &pr, 3000), 0);
	assert_int_equal(eval(p, &r, &pr, 2000 + GC_MS - 1), 0);
	assert_int_equal(eval(p, &r, &pr, 2000 + GC_MS), 1);
	policy__free(p);
}

/* A trim that gave back nothing disarms until usage falls below the low water
 * mark, however long it stays above the high one; then one trim again. */
static void low_water_rearms(void **state)
{
	struct proc pr = { .usage = 85, .loaded = true };
	struct recorder r;
	struct policy *p = new_policy(&r);
	uint64_t t = 1000;

	(void)state;
	assert_int_equal(eval(p, &r, &pr, t), 1);
	pr.trims = 1; /* answered: 0 bytes back */
	assert_int_equal(eval(p, &r, &pr, t += 1000), 0);
	/* Far past gc_interval and its backoff: still above high, still disarmed. */
	for (int i = 0; i < 5; i++)
		assert_int_equal(eval(p, &r, &pr, t += 100 * (uint64_t)GC_MS), 0);
	/* Down to exactly the low water mark: not below it, not re-armed. */
	pr.usage = 60.0;
	assert_int_equal(eval(p, &r, &pr, t += 1000), 0);
	pr.usage = 85;
	assert_int_equal(eval(p, &r, &pr, t += 1000), 0);
	/* Below it: re-armed; above high again: trimmed, once. */
	pr.usage = 59.9;
	assert_int_equal(eval(p, &r, &pr, t += 1000), 0);
	pr.usage = 85;
	assert_int_equal(eval(p, &r, &pr, t += 1000), 1);
	assert_int_equal(eval(p, &r, &pr, t += 1000), 0);
	policy__free(p);
}

/* At force_gc_threshold: a trim inside gc_interval, and even while disarmed,
 * at most once per monitor interval. */
static void force_gc_threshold(void **state)
{
	struct proc pr = { .usage = 85, .loaded = true };
	struct recorder r;
	struct policy *p = new_policy(&r);
	uint64_t t = 1000;

	(void)state;
	assert_int_equal(eval(p, &r, &pr, t), 1);
	pr.trims = 1; /* ineffective: disarmed, backing off */
	assert_int_equal(eval(p, &r, &pr, t += 10), 0);
	pr.usage = 94.99;
	assert_int_equal(eval(p, &r, &pr, t += MONITOR_MS), 0);
	pr.usage = 95.0;
	/* Backing off still holds it (the ineffective trim's gc_interval). */
	assert_int_equal(eval(p, &r, &pr, t += MONITOR_MS), 0);
	t = 1000 + 10 + GC_MS;
	assert_int_equal(eval(p, &r, &pr, t), 1);
	pr.trims = 2;
	pr.released = 10 * MIB; /* effective: no backoff */
	assert_int_equal(eval(p, &r, &pr, t + MONITOR_MS - 1), 0);
	assert_int_equal(eval(p, &r, &pr, t + MONITOR_MS), 1);
	policy__free(p);
}

/* Without the hook: never signalled; its probe going on: next snapshot. */
static void never_unhooked_nor_pending(void **state)
{
	struct recorder r;
	struct policy *p = new_policy(&r);

	(void)state;
	assert_int_equal(eval(p, &r, &(struct proc){ .usage = 99 }, 1000), 0);
	assert_int_equal(
		eval(p, &r, &(struct proc){ .usage = 99, .loaded = true, .pending = true }, 2000),
		0);
	assert_int_equal(eval(p, &r, &(struct proc){ .usage = 99, .loaded = true }, 3000), 1);
	policy__free(p);
}

/* A process forgotten (gone) starts afresh: its interval no longer holds. */
static void forget_drops_the_entry(void **state)
{
	struct proc pr = { .usage = 85, .loaded = true };
	const struct proc_key other = { .pid = 4242, .start_ticks = 8 };
	const struct proc_key gone = { .pid = 4242, .start_ticks = 7 };
	struct recorder r;
	struct policy *p = new_policy(&r);

	(void)state;
	assert_int_equal(eval(p, &r, &pr, 1000), 1);
	pr.trims = 1;
	pr.released = 10 * MIB;
	assert_int_equal(eval(p, &r, &pr, 2000), 0);
	policy__forget(p, &other); /* another process: nothing changes */
	assert_int_equal(eval(p, &r, &pr, 3000), 0);
	policy__forget(p, &gone);
	assert_int_equal(eval(p, &r, &pr, 4000), 1);
	policy__free(p);
}

static void auto_gc_off(void **state)
{
	struct memory_config off = memory;
	struct recorder r;
	struct policy *p = new_policy(&r);
	struct snapshot *s = snapshot__new(1, 1);

	(void)state;
	off.enable_auto_gc = false;
	s->n = 1;
	s->samples[0] = (struct sample){ .pid = 1,
					 .usage_percent = 99,
					 .hook_loaded = true,
					 .hook = &snapshot__heap_figures(s)->hook };
	policy__evaluate(p, &off, s, 1000);
	assert_int_equal(r.requests, 0);
	snapshot__put(s);
	policy__free(p);
}

/* POST gc's targets: ?pid whatever its usage, else the hooked at or above high. */
static void gc_targets(void **state)
{
	struct sample s = { .pid = 9, .usage_percent = 80.0, .hook_loaded = true };

	(void)state;
	assert_true(policy__gc_target(&memory, &s, 0));
	assert_true(policy__gc_target(&memory, &s, 9));
	assert_false(policy__gc_target(&memory, &s, 10));
	s.usage_percent = 79.99;
	assert_false(policy__gc_target(&memory, &s, 0));
	assert_true(policy__gc_target(&memory, &s, 9));
	s.usage_percent = 90;
	s.hook_loaded = false;
	assert_false(policy__gc_target(&memory, &s, 0));
	s.hook_pending = true;
	assert_true(policy__gc_target(&memory, &s, 0));
}

/* One operator per threshold, the same for /health as for the policy. */
static void thresholds_boundary(void **state)
{
	struct snapshot *s = snapshot__new(1, 1);

	(void)state;
	assert_true(thresholds__high(&memory, 80.0));
	assert_false(thresholds__high(&memory, 79.999));
	assert_true(thresholds__critical(&memory, 90.0));
	assert_false(thresholds__critical(&memory, 89.999));
	assert_true(thresholds__force_gc(&memory, 95.0));
	assert_false(thresholds__force_gc(&memory, 94.999));
	assert_true(thresholds__low(&memory, 59.999));
	assert_false(thresholds__low(&memory, 60.0));
	s->n = 1;
	s->memory = memory;
	s->samples[0] = (struct sample){ .pid = 1, .usage_percent = 79.999 };
	assert_string_equal(api__memory_state(s), "ok");
	s->samples[0].usage_percent = 80.0;
	assert_string_equal(api__memory_state(s), "warning");
	s->samples[0].usage_percent = 90.0;
	assert_string_equal(api__memory_state(s), "critical");
	snapshot__put(s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(high_water_once_per_gc_interval),
		cmocka_unit_test(low_water_rearms),
		cmocka_unit_test(force_gc_threshold),
		cmocka_unit_test(never_unhooked_nor_pending),
		cmocka_unit_test(forget_drops_the_entry),
		cmocka_unit_test(auto_gc_off),
		cmocka_unit_test(gc_targets),
		cmocka_unit_test(thresholds_boundary),
	};

	return cmocka_run_group_tests_name("policy", tests, NULL, NULL);
}
