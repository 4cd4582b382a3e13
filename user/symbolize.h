/* SPDX-License-Identifier: Apache-2.0 */
/*
 * User space symbolization of sampled stacks: for each instruction pointer of
 * a process, the mapping it falls in, the function (from .symtab, else
 * .dynsym) and file:line (DWARF, libdw). The files are opened as the process
 * sees them (/proc/PID/map_files, else /proc/PID/root with the lookup kept in
 * that root) and checked against the maps line's dev:inode; nothing is looked
 * up by path in the agent's own mount namespace. Not thread-safe: one caller
 * at a time per symbolizer.
 */
#ifndef MEMTIDE_SYMBOLIZE_H
#define MEMTIDE_SYMBOLIZE_H

#include <stddef.h>
#include <linux/types.h>

/* Names (functions, files) longer than this are cut here: they are bytes
 * from files any user can write, sanitize them (utf8.h) before printing. */
#define SYM_NAME_MAX 1024

/* Flags of symbolizer__resolve(). */
enum {
	/* ips[1..n-1] are return addresses (a captured user stack): look them up
	 * at ip - 1, inside the call instruction, so that a call ending a function
	 * (noreturn callee) names the caller and file:line is the call's line.
	 * ips[0] (the leaf, exact) and every sym_frame.ip stay as passed. */
	SYM_RETURN_ADDRS = 1u << 0,
};

/*
 * One resolved frame. The strings are never NULL ("" when unknown) and stay
 * valid until the next symbolizer__resolve(), __forget() or __free() on the
 * same symbolizer: copy what you keep.
 */
struct sym_frame {
	__u64 ip; /* as passed */
	/* The mapping, as /proc/PID/maps shows it: map_index < 0 when the IP is in
	 * no executable mapping (every other field is then empty). */
	int map_index; /* which executable mapping of this pid: group frames by it */
	const char *path; /* as the process sees it ("[vdso]", "/x (deleted)", "" anonymous) */
	__u64 map_start, map_limit, map_offset; /* [start, limit), file offset of start */
	const char *build_id; /* GNU build id, lowercase hex; "" when none or unread */
	__u64 elf_addr; /* the address in the ELF file's own terms (what addr2line takes) */
	/* The function: "" when unknown (no file, no symbol covering the address). */
	const char *func;
	__u64 func_offset; /* elf_addr (minus 1 for return addresses) - symbol value */
	/* The source line from DWARF: "" and 0 when there is none. */
	const char *file;
	unsigned int line;
};

struct symbolizer;

/* @cache_bytes bounds the per-file cache (symbol tables, DWARF handles; least
 * recently used first out); 0 for the default (256 MiB). 0 or -ENOMEM. */
int symbolizer__new(size_t cache_bytes, struct symbolizer **out);
void symbolizer__free(struct symbolizer *s);

/*
 * Resolves @n instruction pointers of process @pid into @out[0..n-1]. Reads
 * /proc/PID/maps on the first call for @pid (then cached: call
 * symbolizer__forget() when the process execs, maps new libraries or exits).
 * 0, or -errno when the process's maps cannot be read (-ENOENT gone, -EACCES);
 * frames that cannot be resolved are not an error (empty names).
 */
int symbolizer__resolve(struct symbolizer *s, int pid, const __u64 *ips, size_t n,
			unsigned int flags, struct sym_frame *out);
/* Drops the cached maps of @pid (the files' cache stays, shared by all pids). */
void symbolizer__forget(struct symbolizer *s, int pid);

struct sym_stats {
	size_t files, cache_bytes, pids; /* cached now */
	__u64 file_loads, file_hits, open_failures, evictions; /* since symbolizer__new() */
};
void symbolizer__stats(const struct symbolizer *s, struct sym_stats *out);

#endif
