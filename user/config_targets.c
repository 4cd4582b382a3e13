// SPDX-License-Identifier: GPL-2.0
/* The targets section: which processes are tracked, and with which tier. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "config_yaml.h"

static int compile_regex(struct ctx *c, yaml_node_t *v, const char *key, const char *s, regex_t *re)
{
	int rc = regcomp(re, s, REG_EXTENDED | REG_NOSUB);
	char why[128];

	if (rc == 0)
		return 0;
	regerror(rc, re, why, sizeof(why));
	return config_fail(c, v, "%s: bad regular expression \"%s\": %s", key, s, why);
}

static bool rule_is_empty(const struct target_rule *r)
{
	return !r->has_pid && !r->has_comm && !r->has_cmdline && !r->cgroup_prefix && !r->hooked &&
	       !r->top_rss;
}

static int match_pair(struct ctx *c, const char *key, yaml_node_t *v, void *arg)
{
	struct target_rule *r = arg;
	const char *s;
	uint64_t n;
	int err = 0;

	s = config_scalar(c, v, key, &err);
	if (!s)
		return err;
	if (strcmp(key, "pid") == 0) {
		if (parse_uint(s, 4194304, &n) || n == 0)
			return config_fail(c, v, "pid: \"%s\" is not a process id", s);
		r->pid = (int)n;
		r->has_pid = true;
	} else if (strcmp(key, "comm") == 0) {
		err = compile_regex(c, v, key, s, &r->comm);
		r->has_comm = !err;
	} else if (strcmp(key, "cmdline") == 0) {
		err = compile_regex(c, v, key, s, &r->cmdline);
		r->has_cmdline = !err;
	} else if (strcmp(key, "cgroup") == 0) {
		if (*s != '/')
			return config_fail(c, v, "cgroup: \"%s\" must be a path starting with /", s);
		r->cgroup_prefix = strdup(s);
		if (!r->cgroup_prefix)
			return -ENOMEM;
	} else if (strcmp(key, "hooked") == 0) {
		bool b;

		if (parse_bool(s, &b) || !b)
			return config_fail(c, v, "hooked: only \"true\" is meaningful here");
		r->hooked = true;
	} else if (strcmp(key, "top_rss") == 0) {
		if (parse_uint(s, 100000, &n) || n == 0)
			return config_fail(c, v, "top_rss: \"%s\" is not a count from 1 to 100000", s);
		r->top_rss = (unsigned int)n;
	} else {
		return config_fail(c, v,
			    "unknown key \"%s\" in match (known: pid, comm, cmdline, cgroup, hooked, top_rss)",
			    key);
	}
	return err;
}

static int target_pair(struct ctx *c, const char *key, yaml_node_t *v, void *arg)
{
	struct target_rule *r = arg;
	const char *s;
	int err = 0;

	if (strcmp(key, "match") == 0) {
		err = config_each_pair(c, v, "match", match_pair, r);
		if (err)
			return err;
		if (rule_is_empty(r))
			return config_fail(c, v, "match needs at least one of pid, comm, cmdline, cgroup, hooked, top_rss");
		return 0;
	}
	if (strcmp(key, "heap") == 0) {
		s = config_scalar(c, v, key, &err);
		if (!s)
			return err;
		for (enum heap_tier t = HEAP_NONE; t <= HEAP_HOOK; t++) {
			if (strcmp(s, heap_tier__name(t)) == 0) {
				r->heap = t;
				return 0;
			}
		}
		return config_fail(c, v, "heap: \"%s\" is not one of none, uprobe, hook", s);
	}
	return config_fail(c, v, "unknown key \"%s\" in a target (known: match, heap)", key);
}

void config_rule_free(struct target_rule *r)
{
	if (r->has_comm)
		regfree(&r->comm);
	if (r->has_cmdline)
		regfree(&r->cmdline);
	free(r->cgroup_prefix);
}

int config_load_targets(struct ctx *c, yaml_node_t *seq, struct config *cfg)
{
	yaml_node_item_t *it;
	size_t n;

	if (seq->type != YAML_SEQUENCE_NODE)
		return config_fail(c, seq, "\"targets\" must be a list of { match: ..., heap: ... } entries");
	n = (size_t)(seq->data.sequence.items.top - seq->data.sequence.items.start);
	cfg->targets = calloc(n ? n : 1, sizeof(*cfg->targets));
	if (!cfg->targets)
		return -ENOMEM;
	for (it = seq->data.sequence.items.start; it < seq->data.sequence.items.top; it++) {
		struct target_rule *r = &cfg->targets[cfg->n_targets++];
		yaml_node_t *entry = config_node(c, *it);
		int err = config_each_pair(c, entry, "targets entry", target_pair, r);

		if (err)
			return err;
		if (rule_is_empty(r))
			return config_fail(c, entry, "a target needs a \"match\" mapping");
	}
	return 0;
}

