/* SPDX-License-Identifier: Apache-2.0 */
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
	int hooked; /* -1 unknown, HOOK_LATER not looked at yet (just exec'd), else 0/1 */
	uint64_t hooked_at_ms; /* when that was read from its maps; 0: this scan */
	int selected_rule; /* -1: not selected */
};

#define HOOK_LATER (-2)

/* What top_rss rules remember between scans (hysteresis). */
struct top_rss_memory;

int top_rss_memory__new(struct top_rss_memory **out);
void top_rss_memory__free(struct top_rss_memory *m);
/* The rules changed: the next evaluation takes the N largest at once. */
void top_rss_memory__reset(struct top_rss_memory *m);

/*
 * Marks each entry's selected_rule: the first rule that selects it wins.
 * top_rss rules keep the N largest of the processes they match. With @mem,
 * a process joins them after two evaluations in a row among the N largest
 * and leaves after two out (the first evaluation takes the N largest at
 * once); @evaluate says whether this scan is an evaluation (else the members
 * stay while they match). Without @mem, the N largest now.
 */
void selector__select(const struct config *cfg, struct proc_entry *procs, size_t n,
		      struct top_rss_memory *mem, bool evaluate);
/* top_rss rules only, one evaluation (every process's RSS from the kernel,
 * those other rules track left out by the caller). */
void selector__select_top(const struct config *cfg, struct proc_entry *procs, size_t n,
			  struct top_rss_memory *mem);
bool selector__has_top_rss(const struct config *cfg);
/*
 * The first rule that selects one new or changed process, top_rss rules left
 * out (they move once per evaluation); -1 when none. *@hook_unknown: a
 * `hooked` rule would select it had it the hook loaded (it may load it
 * later: ld.so maps preloaded libraries after exec).
 */
int selector__select_one(const struct config *cfg, struct proc_entry *e, bool *hook_unknown);
bool selector__cgroup_matches(const char *proc_cgroup_text, const char *prefix);
/* @prefix in systemd's slice names (/a/b: /a.slice/a-b.slice) into *@out,
 * malloc()ed; NULL when it has none. 0 or -ENOMEM. */
int selector__slice_prefix(const char *prefix, char **out);
void proc_entry__release(struct proc_entry *e);

#endif
