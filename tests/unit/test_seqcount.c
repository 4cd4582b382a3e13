// SPDX-License-Identifier: Apache-2.0
/* The OOM victim's reader: a copy is whole, or it is retried, never mixed. */
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <pthread.h>
#include <linux/types.h>
#include <cmocka.h>
#include "mm.h"
#include "seqcount.h"

static void copies_a_quiet_record(void **state)
{
	struct mm_oom_victim v = { .seq = 4, .time_ns = 7, .tgid = 42, .comm = "victim" }, out;

	(void)state;
	assert_int_equal(seqcount__read(&v.seq, &out, &v, sizeof(v), 1), 0);
	assert_memory_equal(&out, &v, sizeof(v));
}

static void refuses_a_record_being_written(void **state)
{
	struct mm_oom_victim v = { .seq = 5, .tgid = 42, .comm = "victim" }, out;

	(void)state;
	assert_int_equal(seqcount__read(&v.seq, &out, &v, sizeof(v), 100), -EAGAIN);
	assert_int_equal(seqcount__read(&v.seq, &out, &v, sizeof(v), 0), -EAGAIN);
}

/* A writer that rewrites the record as mark_victim does, field by field,
 * alternating two victims whose pid and name belong together. */
struct writer {
	struct mm_oom_victim v;
	int stop;
};

static void *write_victims(void *arg)
{
	struct writer *w = arg;

	for (unsigned int i = 0; !__atomic_load_n(&w->stop, __ATOMIC_RELAXED); i++) {
		char c = i & 1 ? 'b' : 'a';

		__atomic_fetch_add(&w->v.seq, 1, __ATOMIC_SEQ_CST);
		__atomic_store_n(&w->v.tgid, (__u32)c, __ATOMIC_RELAXED);
		for (size_t k = 0; k < sizeof(w->v.comm) - 1; k++)
			__atomic_store_n(&w->v.comm[k], c, __ATOMIC_RELAXED);
		__atomic_store_n(&w->v.time_ns, (__u64)c, __ATOMIC_RELAXED);
		__atomic_fetch_add(&w->v.seq, 1, __ATOMIC_SEQ_CST);
	}
	return NULL;
}

static void never_mixes_two_victims(void **state)
{
	struct writer w = { .v = { .tgid = 'a', .time_ns = 'a', .comm = "aaaaaaaaaaaaaaa" } };
	unsigned int whole = 0;
	pthread_t t;

	(void)state;
	assert_int_equal(pthread_create(&t, NULL, write_victims, &w), 0);
	for (int i = 0; i < 200000; i++) {
		struct mm_oom_victim out;

		if (seqcount__read(&w.v.seq, &out, &w.v, sizeof(out), 1000))
			continue;
		whole++;
		assert_true(out.tgid == 'a' || out.tgid == 'b');
		assert_int_equal(out.time_ns, out.tgid);
		for (size_t k = 0; k < sizeof(out.comm) - 1; k++)
			assert_int_equal(out.comm[k], (char)out.tgid);
	}
	__atomic_store_n(&w.stop, 1, __ATOMIC_RELAXED);
	pthread_join(t, NULL);
	assert_true(whole > 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(copies_a_quiet_record),
		cmocka_unit_test(refuses_a_record_being_written),
		cmocka_unit_test(never_mixes_two_victims),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
