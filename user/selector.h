/* SPDX-License-Identifier: GPL-2.0 */
/* Which running processes the `targets:` rules select, and with which tier. */
#ifndef MEMTIDE_SELECTOR_H
#define MEMTIDE_SELECTOR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "config.h"
#include "procfs.h"

/* A process seen in one /proc scan; the optional parts are read on demand. */
struct proc_entry {
	int pid;
	struct proc_stat stat;
	char *cmdline; /* NULL until a rule needs it */
	char *cgroup; /* the /proc/PID/cgroup text, likewise */
	int hooked; /* -1 unknown, else 0/1 */
	uint64_t hooked_at_ms; /* when that was read from its maps; 0: this scan */
	int selected_rule; /* -1: not selected */
};

/* Marks each entry's selected_rule: the first rule that selects it wins.
 * top_rss rules keep the N largest of the processes they match. */
void selector__select(const struct config *cfg, struct proc_entry *procs, size_t n);
bool selector__cgroup_matches(const char *proc_cgroup_text, const char *prefix);
void proc_entry__release(struct proc_entry *e);

#endif
