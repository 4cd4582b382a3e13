// SPDX-License-Identifier: GPL-2.0
#include <stdlib.h>
#include <string.h>
#include <linux/types.h>
#include "hookinfo.h"
#include "selector.h"

#define CMDLINE_MAX 4096
#define CGROUP_MAX 4096

static const char *cmdline(struct proc_entry *e)
{
	if (!e->cmdline) {
		e->cmdline = malloc(CMDLINE_MAX);
		if (!e->cmdline || procfs__cmdline(e->pid, e->cmdline, CMDLINE_MAX) < 0) {
			free(e->cmdline);
			e->cmdline = strdup("");
		}
	}
	return e->cmdline ? e->cmdline : "";
}

static const char *cgroup(struct proc_entry *e)
{
	if (!e->cgroup) {
		e->cgroup = malloc(CGROUP_MAX);
		if (!e->cgroup || procfs__read_pid(e->pid, "cgroup", e->cgroup, CGROUP_MAX) < 0) {
			free(e->cgroup);
			e->cgroup = strdup("");
		}
	}
	return e->cgroup ? e->cgroup : "";
}

/* The real hook, not a file with its name (LD_PRELOAD or linked). */
static bool hooked(struct proc_entry *e)
{
	struct hook_found found;

	if (e->hooked < 0)
		e->hooked = !hookinfo__inspect(e->pid, &found);
	return e->hooked;
}

static bool path_has_prefix(const char *path, size_t len, const char *prefix)
{
	size_t n = strlen(prefix);

	if (n > len || strncmp(path, prefix, n) != 0)
		return false;
	/* Whole components only: "/a" selects "/a" and "/a/b", not "/ab". */
	return n == len || (n && prefix[n - 1] == '/') || path[n] == '/';
}

bool selector__cgroup_matches(const char *text, const char *prefix)
{
	for (const char *line = text; line && *line;) {
		const char *path = strchr(line, ':');
		size_t len;

		path = path ? strchr(path + 1, ':') : NULL;
		if (!path)
			break;
		path++;
		len = strcspn(path, "\n");
		if (path_has_prefix(path, len, prefix))
			return true;
		line = strchr(path, '\n');
		line = line ? line + 1 : NULL;
	}
	return false;
}

static bool rule_matches(const struct target_rule *r, struct proc_entry *e)
{
	if (r->has_pid && r->pid != e->pid)
		return false;
	if (r->has_comm && regexec(&r->comm, e->stat.comm, 0, NULL, 0) != 0)
		return false;
	if (r->has_cmdline && regexec(&r->cmdline, cmdline(e), 0, NULL, 0) != 0)
		return false;
	if (r->cgroup_prefix && !selector__cgroup_matches(cgroup(e), r->cgroup_prefix))
		return false;
	if (r->hooked && !hooked(e))
		return false;
	return true;
}

static int by_rss_desc(const void *a, const void *b)
{
	const struct proc_entry *x = *(struct proc_entry *const *)a;
	const struct proc_entry *y = *(struct proc_entry *const *)b;

	if (x->stat.rss_pages != y->stat.rss_pages)
		return x->stat.rss_pages < y->stat.rss_pages ? 1 : -1;
	return x->pid - y->pid;
}

void selector__select(const struct config *cfg, struct proc_entry *procs, size_t n)
{
	struct proc_entry **matches = calloc(n ? n : 1, sizeof(*matches));

	for (size_t i = 0; i < n; i++)
		procs[i].selected_rule = -1;
	for (size_t r = 0; r < cfg->n_targets; r++) {
		const struct target_rule *rule = &cfg->targets[r];
		size_t m = 0;

		for (size_t i = 0; i < n; i++) {
			if (procs[i].selected_rule >= 0 || !rule_matches(rule, &procs[i]))
				continue;
			if (!matches) /* out of memory: select without ranking */
				procs[i].selected_rule = (int)r;
			else
				matches[m++] = &procs[i];
		}
		if (!matches)
			continue;
		if (rule->top_rss) {
			qsort(matches, m, sizeof(*matches), by_rss_desc);
			if (m > rule->top_rss)
				m = rule->top_rss;
		}
		for (size_t i = 0; i < m; i++)
			matches[i]->selected_rule = (int)r;
	}
	free(matches);
}

void proc_entry__release(struct proc_entry *e)
{
	free(e->cmdline);
	free(e->cgroup);
	e->cmdline = e->cgroup = NULL;
}
