/* SPDX-License-Identifier: Apache-2.0 */
/* /proc/PID/maps lines, parsed: a pure function over the text. */
#ifndef MEMTIDE_PROC_MAPS_H
#define MEMTIDE_PROC_MAPS_H

#include <stdbool.h>
#include <stddef.h>
#include <linux/types.h>

struct proc_map {
	__u64 start, end, offset, inode;
	unsigned int dev_major, dev_minor;
	char perms[5]; /* "r-xp" */
	/* The path as the kernel prints it, within the parsed text (not
	 * NUL-terminated): any bytes but '\n' (which the kernel prints as
	 * "\012"); "" for anonymous memory, "[vdso]", "[heap]" and the like. */
	const char *path;
	size_t path_len;
	bool deleted; /* the path ends in " (deleted)" */
};

/* Parses one line, @len bytes without its newline. 0 or -EINVAL. */
int proc_maps__parse_line(const char *line, size_t len, struct proc_map *out);
/*
 * Parses the next well-formed line of the text [*pos, end) into @out and moves
 * *pos past it; malformed lines are skipped. 1 when a line was parsed, 0 at
 * the end.
 */
int proc_maps__next(const char **pos, const char *end, struct proc_map *out);
/* Whether the mapping is executable and backed by a file (not "[vdso]"). */
bool proc_map__is_file(const struct proc_map *m);

#endif
