// SPDX-License-Identifier: Apache-2.0
/* memory_gc_cpu_fraction over a sliding window of readings. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include "gc_window.h"

#define MS 1000000ULL

/* One reading: the first only opens the window. */
static void first_reading_is_zero(void **state)
{
	struct gc_window w;

	(void)state;
	gc_window__reset(&w);
	assert_true(gc_window__add(&w, 5 * MS, 100 * MS) == 0);
}

/* 20 ms of trims in 100 ms of CPU: 0.2; then the process goes on without
 * trimming and the share falls as the trims leave the window. */
static void share_then_decay(void **state)
{
	struct gc_window w;
	uint64_t trims = 0, cpu = 0;
	double f;

	(void)state;
	gc_window__reset(&w);
	gc_window__add(&w, trims, cpu);
	trims += 20 * MS;
	cpu += 100 * MS;
	assert_float_equal(gc_window__add(&w, trims, cpu), 0.2, 1e-12);
	/* Nine more intervals of 100 ms CPU, no trims: 20 in 1000 ms. */
	for (int i = 0; i < GC_WINDOW_INTERVALS - 1; i++) {
		cpu += 100 * MS;
		f = gc_window__add(&w, trims, cpu);
	}
	assert_float_equal(f, 0.02, 1e-12);
	/* One more: the interval with the trims has left the window. */
	cpu += 100 * MS;
	assert_true(gc_window__add(&w, trims, cpu) == 0);
}

/* An idle process trimmed twice: both figures move only with the trims
 * (and the hook's bits of work around them): the share stays <= 1, and
 * falls to 0 once the window holds idle intervals only. */
static void idle_process_trimmed_twice(void **state)
{
	struct gc_window w;
	uint64_t trims = 0, cpu = 3 * MS;
	double f;

	(void)state;
	gc_window__reset(&w);
	gc_window__add(&w, trims, cpu);
	for (int i = 0; i < 2; i++) {
		trims += 400000;
		cpu += 450000;
		f = gc_window__add(&w, trims, cpu);
		assert_true(f > 0.8 && f <= 1);
	}
	for (int i = 0; i < GC_WINDOW_INTERVALS; i++)
		f = gc_window__add(&w, trims, cpu);
	assert_true(f == 0);
}

/* Readings taken a moment apart may show more trim time than CPU time in
 * the window (a trim straddling its start): never more than 1. */
static void clamped_to_one(void **state)
{
	struct gc_window w;

	(void)state;
	gc_window__reset(&w);
	gc_window__add(&w, 0, 10 * MS);
	assert_true(gc_window__add(&w, 3 * MS, 12 * MS) == 1);
	assert_true(gc_window__add(&w, 3 * MS, 12 * MS) == 1);
}

/* A counter going back (a new probe, a new process under the number)
 * starts the window again instead of wrapping to a huge share. */
static void counter_going_back_restarts(void **state)
{
	struct gc_window w;

	(void)state;
	gc_window__reset(&w);
	gc_window__add(&w, 50 * MS, 500 * MS);
	gc_window__add(&w, 60 * MS, 600 * MS);
	assert_true(gc_window__add(&w, 1 * MS, 700 * MS) == 0);
	assert_float_equal(gc_window__add(&w, 2 * MS, 710 * MS), 0.1, 1e-12);
	assert_true(gc_window__add(&w, 3 * MS, 5 * MS) == 0);
}

/* The ring wraps many times over and still measures exactly its window. */
static void window_slides(void **state)
{
	struct gc_window w;
	uint64_t trims = 0, cpu = 0;

	(void)state;
	gc_window__reset(&w);
	for (int i = 0; i < 100; i++) {
		double f;

		trims += (uint64_t)(i % 3) * MS;
		cpu += 10 * MS;
		f = gc_window__add(&w, trims, cpu);
		if (i >= GC_WINDOW_INTERVALS) { /* the last N intervals: i-N+1 .. i */
			uint64_t sum = 0;

			for (int k = i - GC_WINDOW_INTERVALS + 1; k <= i; k++)
				sum += (uint64_t)(k % 3) * MS;
			assert_float_equal(f, (double)sum / (GC_WINDOW_INTERVALS * 10 * MS), 1e-12);
		}
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(first_reading_is_zero),       cmocka_unit_test(share_then_decay),
		cmocka_unit_test(idle_process_trimmed_twice),  cmocka_unit_test(clamped_to_one),
		cmocka_unit_test(counter_going_back_restarts), cmocka_unit_test(window_slides),
	};

	return cmocka_run_group_tests_name("gc_window", tests, NULL, NULL);
}
