/* SPDX-License-Identifier: Apache-2.0 */
/*
 * A sampled stack's site: the frame that asked for the memory, named for a
 * label value. Pure functions over resolved frames (symbolize.h).
 */
#ifndef MEMTIDE_SITE_H
#define MEMTIDE_SITE_H

#include <stddef.h>
#include "symbolize.h"

/* A site's name as a label value: valid UTF-8, at most this long with its NUL. */
#define SITE_NAME_LEN 160

/*
 * The first frame outside the allocator. Frame 0 is the probe site, the
 * sampler's own code (in memtide's hook or in the program's allocation
 * wrapper): always the allocator's. So are the hook, libc (a strdup names its
 * caller), libstdc++'s operator new and the dynamic loader; @n when every
 * frame is (the caller then names frame 0).
 */
size_t site__pick(const struct sym_frame *f, size_t n);
/*
 * "function (module)" for a named frame, "module+0xADDR" (the address in the
 * ELF file's terms, as addr2line takes it) for an unnamed one, "[unknown]"
 * outside any mapping: never a runtime address, which would tell any reader
 * where the process's code lies. module is the mapping's file name without
 * its directories. Sanitized, cut to @len.
 */
void site__name(const struct sym_frame *f, char *out, size_t len);
/* A mapped frame's address in its file's terms: the ELF address, or the file
 * offset when the file could not be read. Never a runtime address. */
__u64 site__file_addr(const struct sym_frame *f);

#endif
