// SPDX-License-Identifier: Apache-2.0
/* A sampled stack's site: which frame, and its name as a label value. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>
#include "site.h"
#include "utf8.h"

static struct sym_frame frame(const char *path, const char *func, __u64 elf_addr)
{
	return (struct sym_frame){ .ip = 0x7f0000001234,
				   .map_index = *path ? 0 : -1,
				   .path = path,
				   .build_id = "",
				   .elf_addr = elf_addr,
				   .func = func,
				   .file = "" };
}

static void picks_the_first_frame_outside_the_allocator(void **state)
{
	struct sym_frame hooked[] = {
		frame("/usr/lib/memtide/libmemtide_hook.so", "malloc", 0x1000),
		frame("/usr/lib/x86_64-linux-gnu/libc.so.6", "strdup", 0x2000),
		frame("/srv/app/libfoo.so", "parse_request", 0x3000),
		frame("/srv/app/server", "main", 0x4000),
	};
	struct sym_frame cxx[] = {
		frame("/usr/lib/x86_64-linux-gnu/libstdc++.so.6.0.30", "_Znwm", 0x10),
		frame("/usr/lib/x86_64-linux-gnu/libstdc++.so.6.0.30",
		      "_ZNSs4_Rep9_S_createEmmRKSaIcE", 0x20),
		frame("/srv/app/server", "main", 0x4000),
	};
	/* A program firing the probes from its own wrapper: the wrapper is the sampler. */
	struct sym_frame direct[] = { frame("/srv/app/sdtalloc", "sdt_malloc", 0x400),
				      frame("/srv/app/sdtalloc", "site_small", 0x500) };
	struct sym_frame all_alloc[] = { frame("/lib/x86_64-linux-gnu/libc.so.6", "malloc", 1) };

	(void)state;
	assert_int_equal(site__pick(hooked, 4), 2);
	/* Only operator new is libstdc++'s allocator: a string's own code is a site. */
	assert_int_equal(site__pick(cxx, 3), 1);
	assert_int_equal(site__pick(direct, 2), 1);
	assert_int_equal(site__pick(direct, 1), 1);
	assert_int_equal(site__pick(all_alloc, 1), 1);
	assert_int_equal(site__pick(NULL, 0), 0);
}

static void names(void **state)
{
	char out[SITE_NAME_LEN];
	struct sym_frame f = frame("/srv/app/libfoo.so", "parse_request", 0x3000);

	(void)state;
	site__name(&f, out, sizeof(out));
	assert_string_equal(out, "parse_request (libfoo.so)");
	f = frame("/srv/app/libfoo.so", "", 0x3a0);
	site__name(&f, out, sizeof(out));
	assert_string_equal(out, "libfoo.so+0x3a0");
	f = frame("", "", 0);
	site__name(&f, out, sizeof(out));
	assert_string_equal(out, "[unknown]"); /* no runtime address, ever */
	/* The file unread: its offset, still no runtime address. */
	f = frame("/srv/app/gone.so", "", 0);
	f.map_start = 0x7f0000001000;
	f.map_offset = 0x2000;
	site__name(&f, out, sizeof(out));
	assert_string_equal(out, "gone.so+0x2234");
	f = frame("[anon:x]", "", 0x10);
	f.path = "";
	f.map_index = 2;
	site__name(&f, out, sizeof(out));
	assert_string_equal(out, "anonymous+0x10");
}

/* Names are bytes from files anyone can write: valid UTF-8, bounded. */
static void hostile_names(void **state)
{
	char out[SITE_NAME_LEN], longname[4096];
	struct sym_frame f = frame("/tmp/\xff\xfe.so", "f\xc3\x28{x=\"y\"}\n", 1);

	(void)state;
	site__name(&f, out, sizeof(out));
	assert_true(utf8__valid(out, strlen(out)));
	assert_non_null(strstr(out, "{x=\"y\"}"));
	memset(longname, 0xe2, sizeof(longname) - 1);
	longname[sizeof(longname) - 1] = '\0';
	f.func = longname;
	site__name(&f, out, sizeof(out));
	assert_true(strlen(out) < SITE_NAME_LEN);
	assert_true(utf8__valid(out, strlen(out)));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(picks_the_first_frame_outside_the_allocator),
		cmocka_unit_test(names),
		cmocka_unit_test(hostile_names),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
