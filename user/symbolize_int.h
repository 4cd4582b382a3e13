/* SPDX-License-Identifier: Apache-2.0 */
/* The symbolizer's per-file part (symbolize_elf.c), shared with its cache (symbolize.c). */
#ifndef MEMTIDE_SYMBOLIZE_INT_H
#define MEMTIDE_SYMBOLIZE_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <linux/types.h>
#include "symbolize.h"

/* Which file: what fstat says, so a file rewritten in place is a new one. */
struct sym_key {
	__u64 dev, ino, size;
	__s64 mtime_sec, mtime_nsec;
};

/* A PT_LOAD segment: file bytes [offset, offset + filesz) at vaddr. */
struct sym_load {
	__u64 offset, vaddr, filesz;
};

struct sym_entry {
	__u64 addr, size;
	__u32 name; /* offset in the names pool */
	__u32 rank; /* which of several at one address wins: global, sized */
};

struct sym_cu {
	__u64 lo, hi;
	__u64 die; /* the CU DIE's offset */
};

struct sym_src {
	const char *name; /* libdw's, relative */
	char *full;
};

struct sym_file {
	struct sym_key key;
	struct sym_file *hnext, *prev, *next; /* hash chain, LRU list */
	bool exec; /* ET_EXEC: its addresses are absolute */
	struct sym_load *loads;
	size_t nloads;
	struct sym_entry *syms;
	size_t nsyms;
	char *names;
	char build_id[129];
	/* DWARF: the file that holds it (this one or its separate debug file). */
	int dw_fd;
	void *dw_elf, *dw; /* Elf *, Dwarf * */
	struct sym_cu *cus;
	size_t ncus;
	struct sym_src *srcs; /* relative source names joined to their comp_dir, by pointer */
	size_t nsrcs;
	size_t cost; /* bytes, roughly: what the cache budget counts */
};

/* Limits against hostile files: bounded memory and work per file. */
#define SYM_MAX_LOADS 256
#define SYM_MAX_SYMS (4u << 20)
#define SYM_MAX_CUS (1u << 20)
#define SYM_MAX_SRCS 65536
#define SYM_MAX_DWARF_BYTES (1ull << 30)

/*
 * Reads the ELF file open at @fd (its key @key): segments, build id, symbols,
 * and DWARF from it or from its separate debug file under @root_fd (the
 * process's root, O_PATH; -1 for none). Keeps @fd when DWARF is used,
 * otherwise closes it; on error @fd is closed. 0, -ENOEXEC or -ENOMEM.
 */
int sym_file__load(int fd, const struct sym_key *key, int root_fd, struct sym_file **out);
void sym_file__free(struct sym_file *f);
/* The symbol covering @addr (an ELF address), or NULL. */
const struct sym_entry *sym_file__lookup(const struct sym_file *f, __u64 addr);
/* file:line of @addr from DWARF; "" and 0 when unknown. */
void sym_file__line(struct sym_file *f, __u64 addr, const char **file, unsigned int *line);

/*
 * The ELF address of @ip in a mapping of [map_start, ...) from file offset
 * @map_offset: for ET_EXEC the IP itself; otherwise the file offset it maps,
 * through the PT_LOAD segment holding that offset. 0 or -ENOENT. Pure.
 */
int sym__elf_addr(bool exec, const struct sym_load *loads, size_t n, __u64 ip, __u64 map_start,
		  __u64 map_offset, __u64 *addr);

#endif
