// SPDX-License-Identifier: Apache-2.0
/* The /proc/PID/maps parser on fixture lines, and the IP to ELF address translation. */
#include <stdarg.h>
#include <stddef.h>
#include <errno.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>
#include "proc_maps.h"
#include "symbolize_int.h"

#define PAD "                          "

static void parse(const char *line, struct proc_map *m)
{
	assert_int_equal(proc_maps__parse_line(line, strlen(line), m), 0);
}

static void path_is(const struct proc_map *m, const char *want)
{
	assert_int_equal(m->path_len, strlen(want));
	assert_memory_equal(m->path, want, strlen(want));
}

static void file_mapping(void **state)
{
	struct proc_map m;

	(void)state;
	parse("7f4889e88000-7f4889e89000 r-xp 00001000 fe:00 5357749" PAD "/usr/lib/libsymlib.so",
	      &m);
	assert_int_equal(m.start, 0x7f4889e88000ull);
	assert_int_equal(m.end, 0x7f4889e89000ull);
	assert_int_equal(m.offset, 0x1000);
	assert_int_equal(m.dev_major, 0xfe);
	assert_int_equal(m.dev_minor, 0);
	assert_int_equal(m.inode, 5357749);
	assert_string_equal(m.perms, "r-xp");
	path_is(&m, "/usr/lib/libsymlib.so");
	assert_false(m.deleted);
	assert_true(proc_map__is_file(&m));
}

static void hostile_paths(void **state)
{
	struct proc_map m;

	(void)state;
	/* Spaces inside and at the end of the name are the name's. */
	parse("1000-2000 r-xp 00000000 08:01 42" PAD "/tmp/a b/lib x.so  ", &m);
	path_is(&m, "/tmp/a b/lib x.so  ");
	/* Deleted, and a name that only looks deleted in the middle. */
	parse("1000-2000 r-xp 00000000 08:01 42" PAD "/tmp/x (deleted)", &m);
	path_is(&m, "/tmp/x (deleted)");
	assert_true(m.deleted);
	parse("1000-2000 r-xp 00000000 08:01 42" PAD "/tmp/x (deleted)/y", &m);
	assert_false(m.deleted);
	parse("1000-2000 r-xp 00000000 08:01 42 (deleted)", &m);
	assert_false(m.deleted); /* the padding is not the name's: it is "(deleted)" */
	/* Odd bytes: invalid UTF-8, a tab, the kernel's escaped newline. */
	parse("1000-2000 r-xp 00000000 08:01 42 /tmp/\xff\xfe\t\\012x", &m);
	path_is(&m, "/tmp/\xff\xfe\t\\012x");
	/* memfd: a file, deleted, under a name that is not a path on disk. */
	parse("1000-2000 r-xp 00000000 00:01 1025" PAD "/memfd:jit (deleted)", &m);
	assert_true(m.deleted);
	assert_true(proc_map__is_file(&m));
}

static void pseudo_and_anonymous(void **state)
{
	struct proc_map m;

	(void)state;
	parse("7ffd4b1f2000-7ffd4b1f4000 r-xp 00000000 00:00 0" PAD "[vdso]", &m);
	path_is(&m, "[vdso]");
	assert_false(proc_map__is_file(&m));
	parse("7f0000000000-7f0000001000 rwxp 00000000 00:00 0 ", &m);
	path_is(&m, "");
	assert_false(proc_map__is_file(&m));
	parse("7f0000000000-7f0000001000 rwxp 00000000 00:00 0", &m);
	path_is(&m, "");
	/* Not executable: no frame can be in it. */
	parse("1000-2000 r--p 00000000 08:01 42 /lib/x.so", &m);
	assert_false(proc_map__is_file(&m));
	/* Upper-case hex and the widest values. */
	parse("FFFFFFFFFF600000-FFFFFFFFFF601000 --xp 00000000 FFF:FFFFF 18446744073709551615 [vsyscall]",
	      &m);
	assert_int_equal(m.start, 0xffffffffff600000ull);
	assert_int_equal(m.inode, UINT64_MAX);
}

static void malformed_lines(void **state)
{
	static const char *const bad[] = {
		"",
		"1000-2000",
		"1000 r-xp 00000000 08:01 42 /x",
		"2000-1000 r-xp 00000000 08:01 42 /x", /* end before start */
		"1000-2000 r-x 00000000 08:01 42 /x",
		"1000-2000 r-xp 0000000g 08:01 42 /x",
		"1000-2000 r-xp 00000000 0801 42 /x",
		"1000-2000 r-xp 00000000 08:01 /x",
		"1000-2000 r-xp 00000000 08:01 42/x",
		"1000-2000 r-xp 00000000 08:01 99999999999999999999 /x", /* inode overflows */
		"10000000000000000-10000000000000001 r-xp 0 0:0 0", /* 17 hex digits */
		"1000-2000 r-xp 00000000 1000:01 42 /x", /* major past 12 bits */
	};
	struct proc_map m;

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(proc_maps__parse_line(bad[i], strlen(bad[i]), &m), -EINVAL);
}

static void next_skips_bad_lines(void **state)
{
	static const char text[] = "garbage\n"
				   "1000-2000 r-xp 00000000 08:01 42 /a\n"
				   "\n"
				   "3000-4000 r-xp 00001000 08:01 43 /b b"; /* no final newline */
	const char *pos = text, *end = text + sizeof(text) - 1;
	struct proc_map m;

	(void)state;
	assert_int_equal(proc_maps__next(&pos, end, &m), 1);
	path_is(&m, "/a");
	assert_int_equal(proc_maps__next(&pos, end, &m), 1);
	path_is(&m, "/b b");
	assert_int_equal(m.offset, 0x1000);
	assert_int_equal(proc_maps__next(&pos, end, &m), 0);
}

/* Program headers of a PIE as ld lays them out (readelf -lW symtarget):
 * LOAD 0x000000 0x0000 r, 0x001000 0x1000 r-x, 0x002000 0x2000 r,
 * 0x002dd8 0x3dd8 rw (file offset and vaddr differ by 0x1000 there). */
static const struct sym_load pie[] = {
	{ 0x0, 0x0, 0x628 },
	{ 0x1000, 0x1000, 0x1d9 },
	{ 0x2000, 0x2000, 0x10c },
	{ 0x2dd8, 0x3dd8, 0x258 },
};

static void elf_address(void **state)
{
	__u64 a;

	(void)state;
	/* The text mapping starts at file offset 0x1000. */
	assert_int_equal(sym__elf_addr(false, pie, 4, 0x5644240a416d, 0x5644240a4000, 0x1000, &a),
			 0);
	assert_int_equal(a, 0x116d);
	/* A segment whose vaddr is not its offset: vaddr = offset - p_offset + p_vaddr. */
	assert_int_equal(sym__elf_addr(false, pie, 4, 0x7000e10, 0x7000000, 0x2000, &a), 0);
	assert_int_equal(a, 0x3e10);
	/* Past every segment's file bytes, before the mapping, wrapping: unknown. */
	assert_int_equal(sym__elf_addr(false, pie, 4, 0x5200, 0x4000, 0x1000, &a), -ENOENT);
	assert_int_equal(sym__elf_addr(false, pie, 4, 0x3fff, 0x4000, 0x1000, &a), -ENOENT);
	assert_int_equal(sym__elf_addr(false, pie, 4, ~0ull, 0, 2, &a), -ENOENT);
	assert_int_equal(sym__elf_addr(false, pie, 0, 0x4000, 0x4000, 0, &a), -ENOENT);
	/* ET_EXEC: linked at its address, the IP is the ELF address. */
	assert_int_equal(sym__elf_addr(true, pie, 4, 0x401234, 0x401000, 0x1000, &a), 0);
	assert_int_equal(a, 0x401234);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(file_mapping),		cmocka_unit_test(hostile_paths),
		cmocka_unit_test(pseudo_and_anonymous), cmocka_unit_test(malformed_lines),
		cmocka_unit_test(next_skips_bad_lines), cmocka_unit_test(elf_address),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
