/* SPDX-License-Identifier: Apache-2.0 */
/* Where a process's C library is, and where its functions are in the file. */
#ifndef MEMTIDE_LIBC_ELF_H
#define MEMTIDE_LIBC_ELF_H

#include <stddef.h>
#include <stdint.h>

enum libc_kind { LIBC_NONE, LIBC_GLIBC, LIBC_OTHER };

/* From /proc/PID/maps text: the glibc mapping's "start-end" range and path.
 * LIBC_OTHER for musl and other C libraries, LIBC_NONE when no C library is
 * mapped (a static binary). Pure. */
enum libc_kind libc__find(const char *maps, char *range, size_t range_len, char *path,
			  size_t path_len);
/* From /proc/PID/maps text: the path of glibc's dynamic loader (ld-linux*.so*),
 * which the kernel maps with a dynamically linked program. 0 or -ENOENT. Pure. */
int libc__find_loader(const char *maps, char *path, size_t path_len);
/* From /proc/PID/maps text: the "start-end" range of the first mapping of a
 * file named @name (its last path component). 0 or -ENOENT. Pure. */
int libc__find_library(const char *maps, const char *name, char *range, size_t range_len);
/* /proc/PID/maps, malloc'ed (the caller frees it); NULL when unreadable. */
char *libc__pid_maps(int pid);
/* 0 when @pid maps a file named @name, its first range in @range; -ENOENT
 * when it does not (or is gone). */
int libc__pid_library(int pid, const char *name, char *range, size_t range_len);
/* File offsets of the dynamic symbols @names in the ELF file at @path (0 where
 * absent): what uprobes attach to. */
int libc__offsets(const char *path, const char *const *names, size_t n, uint64_t *offsets);

/* An exported data object of the ELF file at @path: its distance from where
 * the file's first mapping starts in memory, and its size. 0 or -ENOENT. */
int libc__object(const char *path, const char *name, uint64_t *offset, uint64_t *size);

#endif
