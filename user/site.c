// SPDX-License-Identifier: Apache-2.0
/* A sampled stack's site (site.h). */
#include <stdio.h>
#include <string.h>
#include "site.h"
#include "utf8.h"

static const char *base_name(const char *path)
{
	const char *slash = strrchr(path, '/');

	return slash ? slash + 1 : path;
}

static int starts(const char *s, const char *prefix)
{
	return strncmp(s, prefix, strlen(prefix)) == 0;
}

/* By file: the allocator's code lives in these objects; operator new also
 * by name, since libstdc++ holds far more than the allocator. */
static int allocator_frame(const struct sym_frame *f)
{
	const char *m = base_name(f->path);

	if (starts(m, "libmemtide_hook.so") || starts(m, "libc.so.") || starts(m, "libc-") ||
	    starts(m, "ld-linux") || starts(m, "ld-musl"))
		return 1;
	/* _Znwm, _Znam and their aligned and nothrow forms. */
	return starts(m, "libstdc++.so.") && (starts(f->func, "_Znw") || starts(f->func, "_Zna"));
}

size_t site__pick(const struct sym_frame *f, size_t n)
{
	for (size_t i = 1; i < n; i++)
		if (!allocator_frame(&f[i]))
			return i;
	return n;
}

__u64 site__file_addr(const struct sym_frame *f)
{
	return f->elf_addr ? f->elf_addr : f->ip - f->map_start + f->map_offset;
}

void site__name(const struct sym_frame *f, char *out, size_t len)
{
	char raw[SITE_NAME_LEN * 2];
	const char *m = base_name(f->path);

	/* Never a runtime address: any local user reads the outputs, and the
	 * kernel keeps other users' layouts from them (ASLR). */
	if (f->map_index < 0)
		snprintf(raw, sizeof(raw), "[unknown]");
	else if (*f->func)
		snprintf(raw, sizeof(raw), "%s (%s)", f->func, *m ? m : "anonymous");
	else
		snprintf(raw, sizeof(raw), "%s+0x%llx", *m ? m : "anonymous",
			 (unsigned long long)site__file_addr(f));
	utf8__sanitize(out, len, raw, strlen(raw), 0);
}
