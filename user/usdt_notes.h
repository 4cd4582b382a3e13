/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Which binaries carry the OpenTelemetry memory-profiling USDT probes: the
 * SystemTap notes (.note.stapsdt) of provider otel_memory, read with libelf,
 * and a cache by file identity so a library mapped by many processes is read
 * once (libbpf parses the notes again when it attaches: only for binaries
 * that have them).
 */
#ifndef MEMTIDE_USDT_NOTES_H
#define MEMTIDE_USDT_NOTES_H

#include <stdbool.h>
#include <stddef.h>

#define USDT_PROVIDER "otel_memory"

/* One note's descriptor, parsed: pointers into the buffer. */
struct usdt_note {
	const char *provider, *name, *args;
};

/* What a binary offers of the contract: each probe's argument count, 0 when
 * absent (a probe fired from several places counts once, with its largest). */
struct usdt_found {
	unsigned alloc_args, free_args;
};

static inline bool usdt_found__any(const struct usdt_found *f)
{
	return f->alloc_args || f->free_args;
}

/* A stapsdt note's descriptor: three addresses (8 bytes each when @is64, 4
 * otherwise), then provider, name and argument strings, each NUL-terminated
 * inside @len. 0 or -EINVAL. Pure. */
int usdt_notes__parse_desc(const void *desc, size_t len, bool is64, struct usdt_note *out);
/* Arguments in a note's argument string ("8@%rdi -8@%rsi"). Pure. */
unsigned usdt_notes__count_args(const char *args);
/* The otel_memory probes of the ELF file open at @fd (read from its start):
 * 0 with *out zeroed when it has none; -ENOEXEC when it is not ELF. */
int usdt_notes__scan_fd(int fd, struct usdt_found *out);

struct usdt_cache;

int usdt_cache__new(struct usdt_cache **out);
void usdt_cache__free(struct usdt_cache *c);
/* usdt_notes__scan_fd(), remembered by the file's device, inode, size and
 * mtime (a binary replaced in place is read again). Not thread-safe. */
int usdt_cache__lookup(struct usdt_cache *c, int fd, struct usdt_found *out);

#endif
