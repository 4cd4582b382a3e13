// SPDX-License-Identifier: Apache-2.0
/* The targets section: which processes are tracked, and with which tier. */
#include <ctype.h>
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "config_yaml.h"
#include "selector.h"
#include "sizes.h"

/*
 * glibc's regcomp() copies a repeated subexpression once per count it may
 * match ("x{2,5}" five times, "x+" twice), so stacked or nested repetitions
 * grow exponentially: "a+++++++++++++++++++++++++++++++" takes gigabytes; and
 * its epsilon closures grow with the square of the copies of what can match
 * empty: "(){1,100}{1,100}" takes 3.5 GB. It also recurses once per group:
 * "((((...", some thousands deep, overflows the stack. So patterns are weighed
 * before they are compiled: each atom and group times the counts of the
 * repetitions around it. A weight of 1000 costs regcomp() up to about 40 MB
 * and 40 ms; the squares of the weights have a budget for the whole file.
 */
#define REGEX_MAX_WEIGHT 1000
#define REGEX_BUDGET (REGEX_MAX_WEIGHT * REGEX_MAX_WEIGHT)
#define REGEX_MAX_DEPTH 64
#define REGEX_MAX_COUNT (REGEX_MAX_WEIGHT + 1)

/* The last character of the bracket expression that starts at @p. */
static const char *bracket_end(const char *p)
{
	const char *q = p + 1;

	if (*q == '^')
		q++;
	if (*q == ']') /* a leading ']' is a member */
		q++;
	while (*q && *q != ']') {
		/* [:class:], [.coll.] and [=equiv=] may hold a ']' */
		if (*q == '[' && (q[1] == ':' || q[1] == '.' || q[1] == '=')) {
			const char *end = q + 2;

			while (*end && !(end[0] == q[1] && end[1] == ']'))
				end++;
			q = *end ? end + 2 : end;
			continue;
		}
		q++;
	}
	return *q ? q : q - 1;
}

static uint64_t parse_count(const char **p)
{
	uint64_t n = 0;

	for (; isdigit((unsigned char)**p); (*p)++)
		if (n < REGEX_MAX_COUNT)
			n = n * 10 + (uint64_t)(**p - '0');
	return n;
}

/* How many copies of its operand the repetition at @p makes (0: @p is none),
 * and its length. */
static uint64_t repeat_count(const char *p, size_t *len)
{
	const char *q = p + 1;
	uint64_t min, max;

	*len = 1;
	if (*p == '*' || *p == '?')
		return 1;
	if (*p == '+')
		return 2;
	if (*p != '{')
		return 0;
	min = max = parse_count(&q);
	if (*q == ',') {
		q++;
		/* "{m,}" is m copies and a starred one */
		max = isdigit((unsigned char)*q) ? parse_count(&q) : min + 1;
	}
	if (*q != '}')
		return 0; /* not an interval: regcomp() decides */
	*len = (size_t)(q + 1 - p);
	return max > min ? (max ? max : 1) : (min ? min : 1);
}

/* The pattern's weight, or more than @budget once it exceeds it. */
static uint64_t regex_weight(const char *s, uint64_t budget)
{
	uint64_t total[REGEX_MAX_DEPTH + 1] = { 0 }, last[REGEX_MAX_DEPTH + 1] = { 0 }, count;
	size_t depth = 0, len;

	for (const char *p = s; *p; p++) {
		count = repeat_count(p, &len);
		if (count) {
			total[depth] += last[depth] * (count - 1);
			last[depth] *= count;
			p += len - 1;
		} else if (*p == '(') {
			if (++depth > REGEX_MAX_DEPTH)
				return budget + 1;
			total[depth] = last[depth] = 0;
		} else if (*p == ')' && depth) {
			last[depth - 1] = total[depth] + 1;
			total[depth - 1] += last[depth - 1];
			depth--;
		} else if (*p == '|') {
			last[depth] = 0;
		} else {
			if (*p == '\\' && p[1])
				p++;
			else if (*p == '[')
				p = bracket_end(p);
			total[depth]++;
			last[depth] = 1;
		}
		/* Each stays within @budget times REGEX_MAX_COUNT: no overflow. */
		if (total[depth] > budget)
			return budget + 1;
	}
	while (depth--)
		total[depth] += total[depth + 1];
	return total[0];
}

static int compile_regex(struct ctx *c, yaml_node_t *v, const char *key, const char *s, regex_t *re,
			 char **pattern)
{
	uint64_t weight = regex_weight(s, REGEX_MAX_WEIGHT);
	char why[128];
	int rc;

	if (weight > REGEX_MAX_WEIGHT || weight * weight > REGEX_BUDGET - c->regex_cost)
		return config_fail(
			c, v,
			"%s: regular expression too complex for regcomp() (groups nested over %d deep, or repetitions that expand it past %d elements, or with the file's other patterns past their budget): \"%s\"",
			key, REGEX_MAX_DEPTH, REGEX_MAX_WEIGHT, s);
	c->regex_cost += weight * weight;
	*pattern = strdup(s);
	if (!*pattern)
		return -ENOMEM;
	rc = regcomp(re, s, REG_EXTENDED | REG_NOSUB);
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
		if (parse_uint(s, MEMTIDE_PID_MAX - 1, &n) || n == 0)
			return config_fail(c, v, "pid: \"%s\" is not a process id", s);
		r->pid = (int)n;
		r->has_pid = true;
	} else if (strcmp(key, "comm") == 0) {
		err = compile_regex(c, v, key, s, &r->comm, &r->comm_pattern);
		r->has_comm = !err;
	} else if (strcmp(key, "cmdline") == 0) {
		err = compile_regex(c, v, key, s, &r->cmdline, &r->cmdline_pattern);
		r->has_cmdline = !err;
	} else if (strcmp(key, "cgroup") == 0) {
		if (*s != '/')
			return config_fail(c, v, "cgroup: \"%s\" must be a path starting with /",
					   s);
		r->cgroup_prefix = strdup(s);
		if (!r->cgroup_prefix)
			return -ENOMEM;
		err = selector__slice_prefix(s, &r->cgroup_slice);
	} else if (strcmp(key, "hooked") == 0) {
		bool b;

		if (parse_bool(s, &b) || !b)
			return config_fail(c, v, "hooked: only \"true\" is meaningful here");
		r->hooked = true;
	} else if (strcmp(key, "top_rss") == 0) {
		if (parse_uint(s, 100000, &n) || n == 0)
			return config_fail(c, v, "top_rss: \"%s\" is not a count from 1 to 100000",
					   s);
		r->top_rss = (unsigned int)n;
	} else {
		return config_fail(
			c, v,
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
			return config_fail(
				c, v,
				"match needs at least one of pid, comm, cmdline, cgroup, hooked, top_rss");
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
	free(r->comm_pattern);
	free(r->cmdline_pattern);
	free(r->cgroup_prefix);
	free(r->cgroup_slice);
}

int config_load_targets(struct ctx *c, yaml_node_t *seq, struct config *cfg)
{
	yaml_node_item_t *it;
	size_t n;

	if (seq->type != YAML_SEQUENCE_NODE)
		return config_fail(
			c, seq, "\"targets\" must be a list of { match: ..., heap: ... } entries");
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
