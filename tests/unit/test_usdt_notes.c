// SPDX-License-Identifier: Apache-2.0
/* The otel_memory USDT notes: descriptors parsed from buffers, and the notes
 * of ELF files built from tests/targets (sdtalloc, libsdtsite.so, heapdriver). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>
#include "usdt_notes.h"

static void parses_a_descriptor(void **state)
{
	static const char desc64[] =
		"AAAAAAAABBBBBBBBCCCCCCCCotel_memory\0alloc\0008@%rdi 8@%rsi 8@%rdx";
	static const char desc32[] = "AAAABBBBCCCCotel_memory\0free\0-4@%eax";
	struct usdt_note n;

	(void)state;
	assert_int_equal(usdt_notes__parse_desc(desc64, sizeof(desc64), true, &n), 0);
	assert_string_equal(n.provider, "otel_memory");
	assert_string_equal(n.name, "alloc");
	assert_int_equal(usdt_notes__count_args(n.args), 3);
	assert_int_equal(usdt_notes__parse_desc(desc32, sizeof(desc32), false, &n), 0);
	assert_string_equal(n.name, "free");
	assert_int_equal(usdt_notes__count_args(n.args), 1);
}

static void refuses_truncated_descriptors(void **state)
{
	static const char desc[] = "AAAAAAAABBBBBBBBCCCCCCCCotel_memory\0alloc\0008@%rdi";
	struct usdt_note n;

	(void)state;
	/* Addresses only, then cut inside each string: no NUL in bounds. */
	assert_int_equal(usdt_notes__parse_desc(desc, 24, true, &n), -EINVAL);
	assert_int_equal(usdt_notes__parse_desc(desc, 30, true, &n), -EINVAL);
	assert_int_equal(usdt_notes__parse_desc(desc, 38, true, &n), -EINVAL);
	assert_int_equal(usdt_notes__parse_desc(desc, sizeof(desc) - 1, true, &n), -EINVAL);
	assert_int_equal(usdt_notes__parse_desc(NULL, 100, true, &n), -EINVAL);
}

static void counts_arguments(void **state)
{
	(void)state;
	assert_int_equal(usdt_notes__count_args(""), 0);
	assert_int_equal(usdt_notes__count_args("  "), 0);
	assert_int_equal(usdt_notes__count_args(" 8@%rax  8@%r12 8@%rdx "), 3);
	assert_int_equal(usdt_notes__count_args("8@-16(%rbp)"), 1);
}

static int scan(const char *file, struct usdt_found *f)
{
	int fd = open(file, O_RDONLY), err;

	assert_true(fd >= 0);
	err = usdt_notes__scan_fd(fd, f);
	close(fd);
	return err;
}

static void finds_the_targets_probes(void **state)
{
	struct usdt_found f;

	(void)state;
	assert_int_equal(scan(TARGETS_DIR "/sdtalloc", &f), 0);
	assert_int_equal(f.alloc_args, 3);
	assert_int_equal(f.free_args, 1);
	assert_int_equal(scan(TARGETS_DIR "/libsdtsite.so", &f), 0);
	assert_int_equal(f.alloc_args, 3);
	assert_int_equal(f.free_args, 0);
	/* No notes at all; not ELF. */
	assert_int_equal(scan(TARGETS_DIR "/heapdriver", &f), 0);
	assert_false(usdt_found__any(&f));
	assert_int_equal(scan(SOURCE_DIR "/tests/fixtures/meminfo.txt", &f), -ENOEXEC);
	assert_false(usdt_found__any(&f));
}

static void caches_by_file(void **state)
{
	struct usdt_cache *c;
	struct usdt_found f;
	int fd;

	(void)state;
	assert_int_equal(usdt_cache__new(&c), 0);
	fd = open(TARGETS_DIR "/sdtalloc", O_RDONLY);
	assert_true(fd >= 0);
	assert_int_equal(usdt_cache__lookup(c, fd, &f), 0);
	assert_int_equal(f.alloc_args, 3);
	/* Cached: the answer no longer reads the file (a descriptor at its end
	 * would read nothing if it did). */
	lseek(fd, 0, SEEK_END);
	memset(&f, 0, sizeof(f));
	assert_int_equal(usdt_cache__lookup(c, fd, &f), 0);
	assert_int_equal(f.free_args, 1);
	close(fd);
	fd = open(TARGETS_DIR "/heapdriver", O_RDONLY);
	assert_int_equal(usdt_cache__lookup(c, fd, &f), 0);
	assert_false(usdt_found__any(&f));
	close(fd);
	usdt_cache__free(c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(parses_a_descriptor),
		cmocka_unit_test(refuses_truncated_descriptors),
		cmocka_unit_test(counts_arguments),
		cmocka_unit_test(finds_the_targets_probes),
		cmocka_unit_test(caches_by_file),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
