// SPDX-License-Identifier: Apache-2.0
/* Which running processes the `targets:` rules select, and with which tier. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <linux/types.h>
#include "cgroup_ns.h"
#include "hookinfo.h"
#include "log.h"
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
		if (!e->cgroup || cgroup_ns__read_pid(e->pid, e->cgroup, CGROUP_MAX) < 0) {
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

/*
 * systemd names a slice after its whole ancestry: what the cgroupfs driver
 * calls /a/b is /a.slice/a-b.slice under the systemd driver (kubelet's
 * /kubepods/burstable is /kubepods.slice/kubepods-burstable.slice).
 * A '-' or '.' in a component has no such translation.
 */
int selector__slice_prefix(const char *prefix, char **out)
{
	size_t len = 0, joined = 0, last_len = 0;
	const char *p, *last = NULL;
	char *s;

	*out = NULL;
	for (p = prefix; *p == '/' && p[1]; p += 1 + strcspn(p + 1, "/")) {
		size_t c = strcspn(p + 1, "/");

		if (!c || memchr(p + 1, '-', c) || memchr(p + 1, '.', c))
			return 0;
		joined += (joined ? 1 : 0) + c;
		len += 1 + joined + strlen(".slice");
		/* No cgroup path read is longer: it could never match. */
		if (len >= CGROUP_MAX)
			return 0;
	}
	if (!joined)
		return 0;
	s = malloc(len + 2);
	if (!s)
		return -ENOMEM;
	*out = s;
	for (p = prefix; *p == '/' && p[1]; p += 1 + strcspn(p + 1, "/")) {
		size_t c = strcspn(p + 1, "/");
		char *name;

		*s++ = '/';
		name = s;
		if (last) {
			memmove(s, last, last_len);
			s += last_len;
			*s++ = '-';
		}
		memcpy(s, p + 1, c);
		s += c;
		last = name;
		last_len = (size_t)(s - name);
		memcpy(s, ".slice", strlen(".slice"));
		s += strlen(".slice");
	}
	if (*p == '/') /* a trailing '/' */
		*s++ = '/';
	*s = '\0';
	return 0;
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

/* All but `hooked`, which is the costly one (a maps read). */
static bool rule_matches_unhooked(const struct target_rule *r, struct proc_entry *e)
{
	if (r->has_pid && r->pid != e->pid)
		return false;
	if (r->has_comm && regexec(&r->comm, e->stat.comm, 0, NULL, 0) != 0)
		return false;
	if (r->has_cmdline && regexec(&r->cmdline, cmdline(e), 0, NULL, 0) != 0)
		return false;
	if (r->cgroup_prefix && !selector__cgroup_matches(cgroup(e), r->cgroup_prefix) &&
	    !(r->cgroup_slice && selector__cgroup_matches(cgroup(e), r->cgroup_slice)))
		return false;
	return true;
}

static bool rule_matches(const struct target_rule *r, struct proc_entry *e)
{
	return rule_matches_unhooked(r, e) && (!r->hooked || hooked(e));
}

static int by_rss_desc(const void *a, const void *b)
{
	const struct proc_entry *x = *(struct proc_entry *const *)a;
	const struct proc_entry *y = *(struct proc_entry *const *)b;

	if (x->stat.rss_pages != y->stat.rss_pages)
		return x->stat.rss_pages < y->stat.rss_pages ? 1 : -1;
	return x->pid - y->pid;
}

/*
 * A top_rss rule's choice moves only after two evaluations in a row agree:
 * short-lived processes on a quiet machine would each bring a new set of
 * series otherwise. Per process (pid, start time) and rule, how many
 * evaluations in a row it was in or out of the N largest.
 */
struct top_entry {
	size_t rule;
	int pid;
	uint64_t start;
	uint8_t in, out; /* evaluations in a row in, out of the N largest (up to 2) */
	bool member;
};

struct top_rss_memory {
	struct top_entry *old, *cur;
	size_t n_old, n_cur, cap;
	bool primed; /* evaluated once since the rules were set */
};

int top_rss_memory__new(struct top_rss_memory **out)
{
	*out = calloc(1, sizeof(**out));
	return *out ? 0 : -ENOMEM;
}

void top_rss_memory__free(struct top_rss_memory *m)
{
	if (!m)
		return;
	free(m->old);
	free(m->cur);
	free(m);
}

void top_rss_memory__reset(struct top_rss_memory *m)
{
	m->n_old = 0;
	m->primed = false;
}

static int by_rule_pid(const void *a, const void *b)
{
	const struct top_entry *x = a, *y = b;

	if (x->rule != y->rule)
		return x->rule < y->rule ? -1 : 1;
	return x->pid - y->pid;
}

static const struct top_entry *top_find(const struct top_rss_memory *m, size_t rule,
					const struct proc_entry *e)
{
	struct top_entry key = { .rule = rule, .pid = e->pid };
	const struct top_entry *t;

	if (!m->n_old)
		return NULL;
	t = bsearch(&key, m->old, m->n_old, sizeof(key), by_rule_pid);
	return t && t->start == e->stat.starttime ? t : NULL;
}

/* One process's step; whether it is selected now. */
static bool top_step(struct top_rss_memory *m, size_t rule, const struct target_rule *r,
		     const struct proc_entry *e, bool in, bool evaluate)
{
	const struct top_entry *old = top_find(m, rule, e);
	struct top_entry t =
		old ? *old
		    : (struct top_entry){ .rule = rule, .pid = e->pid, .start = e->stat.starttime };

	if (!evaluate) {
		/* Between evaluations the members stay; the rest waits. */
	} else if (!m->primed) {
		t.member = in; /* nothing to damp yet: the N largest at once */
	} else if (in) {
		t.out = 0;
		t.in += t.in < 2;
		if (!t.member && t.in == 2) {
			t.member = true;
			log_debug("pid %d (%s) enters the %u largest by RSS", e->pid, e->stat.comm,
				  r->top_rss);
		} else if (!t.member) {
			log_debug(
				"pid %d (%s) is among the %u largest by RSS once: not tracked yet",
				e->pid, e->stat.comm, r->top_rss);
		}
	} else {
		t.in = 0;
		t.out += t.out < 2;
		if (t.member && t.out == 2) {
			t.member = false;
			log_debug("pid %d (%s) leaves the %u largest by RSS", e->pid, e->stat.comm,
				  r->top_rss);
		}
	}
	if ((t.member || t.in) && m->n_cur < m->cap)
		m->cur[m->n_cur++] = t;
	return t.member;
}

static void top_select(struct top_rss_memory *m, size_t rule, const struct target_rule *r,
		       struct proc_entry **matches, size_t n, bool evaluate)
{
	qsort(matches, n, sizeof(*matches), by_rss_desc);
	for (size_t i = 0; i < n; i++) {
		bool member = m ? top_step(m, rule, r, matches[i], i < r->top_rss, evaluate)
				: i < r->top_rss;

		if (member)
			matches[i]->selected_rule = (int)rule;
	}
}

/*
 * Room in @cur for every entry a scan may keep: per rule, those among the N
 * largest at the last evaluation (members or not) and the members that were
 * then out for the first time (among the N largest at the one before): 2N.
 */
static bool top_room(struct top_rss_memory *m, const struct config *cfg, size_t n)
{
	struct top_entry *cur;
	size_t need = 0;

	for (size_t r = 0; r < cfg->n_targets; r++) {
		size_t most = 2 * (size_t)cfg->targets[r].top_rss;

		need += n < most ? n : most;
	}
	if (need <= m->cap)
		return true;
	cur = realloc(m->cur, need * sizeof(*cur));
	if (!cur)
		return false;
	m->cur = cur;
	cur = realloc(m->old, need * sizeof(*cur));
	if (!cur)
		return false;
	m->old = cur;
	m->cap = need;
	return true;
}

static void select_rules(const struct config *cfg, struct proc_entry *procs, size_t n,
			 struct top_rss_memory *mem, bool evaluate, bool top_only)
{
	struct proc_entry **matches = calloc(n ? n : 1, sizeof(*matches));

	if (mem && !top_room(mem, cfg, n))
		mem = NULL; /* out of memory: the N largest now */
	if (mem) {
		evaluate = evaluate || !mem->primed;
		mem->n_cur = 0;
	}
	for (size_t i = 0; i < n; i++)
		procs[i].selected_rule = -1;
	for (size_t r = 0; r < cfg->n_targets; r++) {
		const struct target_rule *rule = &cfg->targets[r];
		size_t m = 0;

		if (top_only && !rule->top_rss)
			continue;
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
			top_select(mem, r, rule, matches, m, evaluate);
			continue;
		}
		for (size_t i = 0; i < m; i++)
			matches[i]->selected_rule = (int)r;
	}
	if (mem && matches) {
		struct top_entry *t = mem->old;

		/* Entries come rule by rule; within a rule by RSS. */
		if (mem->n_cur > 1)
			qsort(mem->cur, mem->n_cur, sizeof(*mem->cur), by_rule_pid);
		mem->old = mem->cur;
		mem->n_old = mem->n_cur;
		mem->cur = t;
		mem->primed = mem->primed || evaluate;
	}
	free(matches);
}

void selector__select(const struct config *cfg, struct proc_entry *procs, size_t n,
		      struct top_rss_memory *mem, bool evaluate)
{
	select_rules(cfg, procs, n, mem, evaluate, false);
}

void selector__select_top(const struct config *cfg, struct proc_entry *procs, size_t n,
			  struct top_rss_memory *mem)
{
	select_rules(cfg, procs, n, mem, true, true);
}

bool selector__has_top_rss(const struct config *cfg)
{
	for (size_t r = 0; r < cfg->n_targets; r++)
		if (cfg->targets[r].top_rss)
			return true;
	return false;
}

int selector__select_one(const struct config *cfg, struct proc_entry *e, bool *hook_unknown)
{
	*hook_unknown = false;
	for (size_t r = 0; r < cfg->n_targets; r++) {
		const struct target_rule *rule = &cfg->targets[r];

		if (rule->top_rss || !rule_matches_unhooked(rule, e))
			continue;
		/* Not hooked yet may be not loaded yet: the caller looks again. */
		if (rule->hooked && (e->hooked == HOOK_LATER || !hooked(e))) {
			*hook_unknown = true;
			continue;
		}
		return (int)r;
	}
	return -1;
}

void proc_entry__release(struct proc_entry *e)
{
	free(e->cmdline);
	free(e->cgroup);
	e->cmdline = e->cgroup = NULL;
}
