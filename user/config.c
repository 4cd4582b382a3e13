// SPDX-License-Identifier: GPL-2.0
/*
 * YAML configuration: the libyaml document tree is walked section by section;
 * every error names file:line:column of the offending node.
 */
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>
#include "config.h"

#define CONFIG_MAX_BYTES (1 << 20)
#define DEFAULT_TOP_RSS 10

struct ctx {
	const char *name;
	yaml_document_t *doc;
	char *err;
};

static int fail(struct ctx *c, const yaml_node_t *n, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int fail(struct ctx *c, const yaml_node_t *n, const char *fmt, ...)
{
	int len = snprintf(c->err, CONFIG_ERR_LEN, "%s:%zu:%zu: ", c->name,
			   n->start_mark.line + 1, n->start_mark.column + 1);
	va_list ap;

	if (len < 0 || len >= CONFIG_ERR_LEN)
		return -EINVAL;
	va_start(ap, fmt);
	vsnprintf(c->err + len, CONFIG_ERR_LEN - (size_t)len, fmt, ap);
	va_end(ap);
	return -EINVAL;
}

static yaml_node_t *node(struct ctx *c, int id)
{
	return yaml_document_get_node(c->doc, id);
}

static const char *scalar(struct ctx *c, yaml_node_t *n, const char *key, int *err)
{
	if (n->type != YAML_SCALAR_NODE) {
		*err = fail(c, n, "\"%s\" must be a single value, not a list or mapping", key);
		return NULL;
	}
	return (const char *)n->data.scalar.value;
}

/* Calls @fn for each key of mapping @map, rejecting non-mappings and duplicates. */
typedef int (*pair_fn)(struct ctx *c, const char *key, yaml_node_t *value, void *arg);

static int each_pair(struct ctx *c, yaml_node_t *map, const char *section, pair_fn fn, void *arg)
{
	yaml_node_pair_t *p, *q;
	int err = 0;

	if (map->type != YAML_MAPPING_NODE)
		return fail(c, map, "\"%s\" must be a mapping of keys to values", section);
	for (p = map->data.mapping.pairs.start; p < map->data.mapping.pairs.top; p++) {
		yaml_node_t *k = node(c, p->key);
		const char *key = scalar(c, k, section, &err);

		if (!key)
			return err;
		for (q = map->data.mapping.pairs.start; q < p; q++) {
			yaml_node_t *prev = node(c, q->key);

			if (prev->type == YAML_SCALAR_NODE &&
			    strcmp((const char *)prev->data.scalar.value, key) == 0)
				return fail(c, k, "duplicate key \"%s\" in %s", key, section);
		}
		err = fn(c, key, node(c, p->value), arg);
		if (err)
			return err;
	}
	return 0;
}

/* memory: table-driven, since every key is a plain typed scalar. */
enum kind { K_DURATION, K_PERCENT, K_BOOL, K_MB };

static const struct memory_key {
	const char *key;
	enum kind kind;
	size_t offset;
} memory_keys[] = {
	{ "monitor_interval", K_DURATION, offsetof(struct memory_config, monitor_interval_ms) },
	{ "high_water_mark_percent", K_PERCENT,
	  offsetof(struct memory_config, high_water_mark_percent) },
	{ "low_water_mark_percent", K_PERCENT,
	  offsetof(struct memory_config, low_water_mark_percent) },
	{ "alert_threshold", K_PERCENT, offsetof(struct memory_config, alert_threshold) },
	{ "enable_auto_gc", K_BOOL, offsetof(struct memory_config, enable_auto_gc) },
	{ "gc_interval", K_DURATION, offsetof(struct memory_config, gc_interval_ms) },
	{ "force_gc_threshold", K_PERCENT, offsetof(struct memory_config, force_gc_threshold) },
	{ "max_memory_mb", K_MB, offsetof(struct memory_config, max_memory_mb) },
	{ "max_heap_mb", K_MB, offsetof(struct memory_config, max_heap_mb) },
};
#define N_MEMORY_KEYS (sizeof(memory_keys) / sizeof(memory_keys[0]))

struct memory_walk {
	struct memory_config *m;
	yaml_node_t *where[N_MEMORY_KEYS]; /* value nodes, for cross-field messages */
};

static int memory_pair(struct ctx *c, const char *key, yaml_node_t *v, void *arg)
{
	struct memory_walk *w = arg;
	const char *s;
	int err = 0;

	for (unsigned int i = 0; i < N_MEMORY_KEYS; i++) {
		const struct memory_key *mk = &memory_keys[i];
		void *field = (char *)w->m + mk->offset;

		if (strcmp(key, mk->key) != 0)
			continue;
		s = scalar(c, v, key, &err);
		if (!s)
			return err;
		w->where[i] = v;
		switch (mk->kind) {
		case K_DURATION:
			if (parse_duration_ms(s, field))
				return fail(c, v, "%s: \"%s\" is not a duration (e.g. 500ms, 30s, 5m, 1h)",
					    key, s);
			if (*(uint64_t *)field == 0)
				return fail(c, v, "%s must be greater than zero", key);
			return 0;
		case K_PERCENT:
			if (parse_percent(s, field) || *(double *)field == 0)
				return fail(c, v, "%s: \"%s\" is not a percentage above 0 and at most 100",
					    key, s);
			return 0;
		case K_BOOL:
			if (parse_bool(s, field))
				return fail(c, v, "%s: \"%s\" is not true or false", key, s);
			return 0;
		case K_MB:
			if (parse_uint(s, UINT64_C(1) << 40, field))
				return fail(c, v, "%s: \"%s\" is not a whole number of MiB", key, s);
			return 0;
		}
	}
	return fail(c, v, "unknown key \"%s\" in memory", key);
}

static yaml_node_t *value_node(struct memory_walk *w, const char *key)
{
	for (unsigned int i = 0; i < N_MEMORY_KEYS; i++)
		if (strcmp(memory_keys[i].key, key) == 0)
			return w->where[i];
	return NULL;
}

/* Where two settings disagree: the first one the file gives, else the section. */
static yaml_node_t *where(struct memory_walk *w, yaml_node_t *map, const char *a, const char *b)
{
	yaml_node_t *n = value_node(w, a);

	if (!n)
		n = value_node(w, b);
	return n ? n : map;
}

static int load_memory(struct ctx *c, yaml_node_t *map, struct memory_config *m)
{
	struct memory_walk w = { .m = m };
	int err = each_pair(c, map, "memory", memory_pair, &w);

	if (err)
		return err;
	if (m->low_water_mark_percent >= m->high_water_mark_percent)
		return fail(c, where(&w, map, "low_water_mark_percent", "high_water_mark_percent"),
			    "low_water_mark_percent (%g) must be below high_water_mark_percent (%g)",
			    m->low_water_mark_percent, m->high_water_mark_percent);
	if (m->high_water_mark_percent > m->force_gc_threshold)
		return fail(c, where(&w, map, "high_water_mark_percent", "force_gc_threshold"),
			    "high_water_mark_percent (%g) must not exceed force_gc_threshold (%g)",
			    m->high_water_mark_percent, m->force_gc_threshold);
	if (m->alert_threshold > m->force_gc_threshold)
		return fail(c, where(&w, map, "alert_threshold", "force_gc_threshold"),
			    "alert_threshold (%g) must not exceed force_gc_threshold (%g)",
			    m->alert_threshold, m->force_gc_threshold);
	if (m->max_memory_mb && m->max_heap_mb > m->max_memory_mb)
		return fail(c, where(&w, map, "max_heap_mb", "max_memory_mb"),
			    "max_heap_mb (%llu) must not exceed max_memory_mb (%llu)",
			    (unsigned long long)m->max_heap_mb,
			    (unsigned long long)m->max_memory_mb);
	return 0;
}

static int compile_regex(struct ctx *c, yaml_node_t *v, const char *key, const char *s, regex_t *re)
{
	int rc = regcomp(re, s, REG_EXTENDED | REG_NOSUB);
	char why[128];

	if (rc == 0)
		return 0;
	regerror(rc, re, why, sizeof(why));
	return fail(c, v, "%s: bad regular expression \"%s\": %s", key, s, why);
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

	s = scalar(c, v, key, &err);
	if (!s)
		return err;
	if (strcmp(key, "pid") == 0) {
		if (parse_uint(s, 4194304, &n) || n == 0)
			return fail(c, v, "pid: \"%s\" is not a process id", s);
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
			return fail(c, v, "cgroup: \"%s\" must be a path starting with /", s);
		r->cgroup_prefix = strdup(s);
		if (!r->cgroup_prefix)
			return -ENOMEM;
	} else if (strcmp(key, "hooked") == 0) {
		bool b;

		if (parse_bool(s, &b) || !b)
			return fail(c, v, "hooked: only \"true\" is meaningful here");
		r->hooked = true;
	} else if (strcmp(key, "top_rss") == 0) {
		if (parse_uint(s, 100000, &n) || n == 0)
			return fail(c, v, "top_rss: \"%s\" is not a count from 1 to 100000", s);
		r->top_rss = (unsigned int)n;
	} else {
		return fail(c, v,
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
		err = each_pair(c, v, "match", match_pair, r);
		if (err)
			return err;
		if (rule_is_empty(r))
			return fail(c, v, "match needs at least one of pid, comm, cmdline, cgroup, hooked, top_rss");
		return 0;
	}
	if (strcmp(key, "heap") == 0) {
		s = scalar(c, v, key, &err);
		if (!s)
			return err;
		for (enum heap_tier t = HEAP_NONE; t <= HEAP_HOOK; t++) {
			if (strcmp(s, heap_tier__name(t)) == 0) {
				r->heap = t;
				return 0;
			}
		}
		return fail(c, v, "heap: \"%s\" is not one of none, uprobe, hook", s);
	}
	return fail(c, v, "unknown key \"%s\" in a target (known: match, heap)", key);
}

static void rule_free(struct target_rule *r)
{
	if (r->has_comm)
		regfree(&r->comm);
	if (r->has_cmdline)
		regfree(&r->cmdline);
	free(r->cgroup_prefix);
}

static int load_targets(struct ctx *c, yaml_node_t *seq, struct config *cfg)
{
	yaml_node_item_t *it;
	size_t n;

	if (seq->type != YAML_SEQUENCE_NODE)
		return fail(c, seq, "\"targets\" must be a list of { match: ..., heap: ... } entries");
	n = (size_t)(seq->data.sequence.items.top - seq->data.sequence.items.start);
	cfg->targets = calloc(n ? n : 1, sizeof(*cfg->targets));
	if (!cfg->targets)
		return -ENOMEM;
	for (it = seq->data.sequence.items.start; it < seq->data.sequence.items.top; it++) {
		struct target_rule *r = &cfg->targets[cfg->n_targets++];
		yaml_node_t *entry = node(c, *it);
		int err = each_pair(c, entry, "targets entry", target_pair, r);

		if (err)
			return err;
		if (rule_is_empty(r))
			return fail(c, entry, "a target needs a \"match\" mapping");
	}
	return 0;
}

static int exporter_pair(struct ctx *c, const char *key, yaml_node_t *v, void *arg)
{
	struct exporter_config *e = arg;
	int err = 0;
	const char *s = scalar(c, v, key, &err);

	if (!s)
		return err;
	if (strcmp(key, "listen") == 0) {
		free(e->listen_host);
		e->listen_host = NULL;
		if (parse_listen(s, &e->listen_host, &e->listen_port))
			return fail(c, v, "listen: \"%s\" is not host:port (e.g. 127.0.0.1:9464)", s);
		return 0;
	}
	if (strcmp(key, "textfile_dir") == 0) {
		free(e->textfile_dir);
		e->textfile_dir = NULL;
		if (!*s)
			return 0;
		if (*s != '/')
			return fail(c, v, "textfile_dir: \"%s\" must be an absolute path", s);
		e->textfile_dir = strdup(s);
		return e->textfile_dir ? 0 : -ENOMEM;
	}
	return fail(c, v, "unknown key \"%s\" in exporter (known: listen, textfile_dir)", key);
}

static int top_pair(struct ctx *c, const char *key, yaml_node_t *v, void *arg)
{
	struct config *cfg = arg;

	if (strcmp(key, "memory") == 0)
		return load_memory(c, v, &cfg->memory);
	if (strcmp(key, "targets") == 0)
		return load_targets(c, v, cfg);
	if (strcmp(key, "exporter") == 0)
		return each_pair(c, v, "exporter", exporter_pair, &cfg->exporter);
	return fail(c, v, "unknown section \"%s\" (known: memory, targets, exporter)", key);
}

static int set_defaults(struct config *cfg)
{
	cfg->memory = (struct memory_config){
		.monitor_interval_ms = 30000,
		.high_water_mark_percent = 80.0,
		.low_water_mark_percent = 60.0,
		.alert_threshold = 90.0,
		.enable_auto_gc = true,
		.gc_interval_ms = 300000,
		.force_gc_threshold = 95.0,
		.max_memory_mb = 1024,
		.max_heap_mb = 512,
	};
	cfg->exporter.listen_port = 9464;
	cfg->exporter.listen_host = strdup("127.0.0.1");
	return cfg->exporter.listen_host ? 0 : -ENOMEM;
}

/* Without a targets section, track what `make run` shows: the largest processes. */
static int default_targets(struct config *cfg)
{
	cfg->targets = calloc(1, sizeof(*cfg->targets));
	if (!cfg->targets)
		return -ENOMEM;
	cfg->targets[0].top_rss = DEFAULT_TOP_RSS;
	cfg->n_targets = 1;
	return 0;
}

int config__parse(const char *name, const char *text, size_t len, struct config **out,
		  char err[CONFIG_ERR_LEN])
{
	struct config *cfg = calloc(1, sizeof(*cfg));
	yaml_parser_t parser;
	yaml_document_t doc;
	struct ctx c = { .name = name, .doc = &doc, .err = err };
	yaml_node_t *root;
	int rc;

	err[0] = '\0';
	if (!cfg || !(cfg->path = strdup(name))) {
		rc = -ENOMEM;
		goto free_cfg;
	}
	rc = set_defaults(cfg);
	if (rc)
		goto free_cfg;
	if (!yaml_parser_initialize(&parser)) {
		rc = -ENOMEM;
		goto free_cfg;
	}
	yaml_parser_set_input_string(&parser, (const unsigned char *)text, len);
	if (!yaml_parser_load(&parser, &doc)) {
		snprintf(err, CONFIG_ERR_LEN, "%s:%zu:%zu: YAML syntax error: %s%s%s", name,
			 parser.problem_mark.line + 1, parser.problem_mark.column + 1,
			 parser.problem ? parser.problem : "unknown",
			 parser.context ? " " : "", parser.context ? parser.context : "");
		rc = -EINVAL;
		goto free_parser;
	}
	root = yaml_document_get_root_node(&doc);
	rc = root ? each_pair(&c, root, "the top level", top_pair, cfg) : 0;
	if (!rc && !cfg->targets)
		rc = default_targets(cfg);
	if (rc == -ENOMEM)
		snprintf(err, CONFIG_ERR_LEN, "%s: out of memory", name);
	yaml_document_delete(&doc);
free_parser:
	yaml_parser_delete(&parser);
	if (!rc) {
		*out = cfg;
		return 0;
	}
free_cfg:
	config__free(cfg);
	return rc;
}

int config__load(const char *path, struct config **out, char err[CONFIG_ERR_LEN])
{
	FILE *f = fopen(path, "re");
	char *text;
	size_t len;
	int rc;

	if (!f) {
		rc = -errno;
		snprintf(err, CONFIG_ERR_LEN, "%s: cannot open: %s", path, strerror(errno));
		return rc;
	}
	text = malloc(CONFIG_MAX_BYTES + 1);
	if (!text) {
		fclose(f);
		return -ENOMEM;
	}
	len = fread(text, 1, CONFIG_MAX_BYTES + 1, f);
	if (ferror(f) || len > CONFIG_MAX_BYTES) {
		snprintf(err, CONFIG_ERR_LEN, "%s: %s", path,
			 ferror(f) ? "read error" : "larger than 1 MiB");
		rc = ferror(f) ? -EIO : -EFBIG;
	} else {
		rc = config__parse(path, text, len, out, err);
	}
	free(text);
	fclose(f);
	return rc;
}

void config__free(struct config *cfg)
{
	if (!cfg)
		return;
	for (size_t i = 0; i < cfg->n_targets; i++)
		rule_free(&cfg->targets[i]);
	free(cfg->targets);
	free(cfg->exporter.listen_host);
	free(cfg->exporter.textfile_dir);
	free(cfg->path);
	free(cfg);
}

const char *heap_tier__name(enum heap_tier tier)
{
	switch (tier) {
	case HEAP_NONE:
		return "none";
	case HEAP_UPROBE:
		return "uprobe";
	case HEAP_HOOK:
		return "hook";
	}
	return "?";
}
