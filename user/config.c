// SPDX-License-Identifier: Apache-2.0
/*
 * YAML configuration: the libyaml document tree is walked section by section;
 * every error names file:line:column of the offending node.
 */
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>
#include "config.h"
#include "config_yaml.h"
#include "procfs.h"
#include "textfile.h"

#define CONFIG_MAX_BYTES (1 << 20)
#define DEFAULT_TOP_RSS 10

#define MAX_SECTION_KEYS 16

struct table_walk {
	const char *section;
	const struct key_spec *keys;
	size_t n;
	void *base;
	yaml_node_t *where[MAX_SECTION_KEYS]; /* value nodes, for cross-field messages */
};

#define M(field) offsetof(struct memory_config, field)
static const struct key_spec memory_keys[] = {
	{ "monitor_interval", K_DURATION, M(monitor_interval_ms) },
	{ "high_water_mark_percent", K_PERCENT, M(high_water_mark_percent) },
	{ "low_water_mark_percent", K_PERCENT, M(low_water_mark_percent) },
	{ "alert_threshold", K_PERCENT, M(alert_threshold) },
	{ "enable_auto_gc", K_BOOL, M(enable_auto_gc) },
	{ "gc_interval", K_DURATION, M(gc_interval_ms) },
	{ "reconcile_interval", K_DURATION, M(reconcile_interval_ms) },
	{ "force_gc_threshold", K_PERCENT, M(force_gc_threshold) },
	{ "max_memory_mb", K_MB, M(max_memory_mb) },
	{ "max_heap_mb", K_MB, M(max_heap_mb) },
};
#undef M

static const struct key_spec exporter_keys[] = {
	{ "listen", K_LISTEN, offsetof(struct exporter_config, listen) },
	{ "textfile_dir", K_ABSPATH, offsetof(struct exporter_config, textfile_dir) },
};

#define P(field) offsetof(struct push_config, field)
static const struct key_spec push_keys[] = {
	{ "url", K_URL, P(url) },
	{ "job", K_NONEMPTY, P(job) },
	{ "instance", K_STRING, P(instance) },
	{ "interval", K_DURATION, P(interval_ms) },
	{ "timeout", K_DURATION, P(timeout_ms) },
	{ "delete_on_shutdown", K_BOOL, P(delete_on_shutdown) },
};
#undef P

#define A(field) offsetof(struct alerts_config, field)
static const struct key_spec alerts_keys[] = {
	{ "high_for", K_DURATION, A(high_for_ms) },
	{ "critical_for", K_DURATION, A(critical_for_ms) },
	{ "trim_cpu_for", K_DURATION, A(trim_cpu_for_ms) },
	{ "trim_cpu_percent", K_PERCENT, A(trim_cpu_percent) },
	{ "leak_for", K_DURATION, A(leak_for_ms) },
	{ "leak_window", K_DURATION, A(leak_window_ms) },
	{ "leak_objects", K_COUNT, A(leak_objects) },
	{ "history_size", K_COUNT, A(history_size) },
};
#undef A

#define AM(field) offsetof(struct alertmanager_config, field)
static const struct key_spec alertmanager_keys[] = {
	{ "url", K_URL, AM(url) },
	{ "resend_interval", K_DURATION, AM(resend_interval_ms) },
	{ "timeout", K_DURATION, AM(timeout_ms) },
};
#undef AM

#define KS(field) offsetof(struct kubernetes_config, field)
static const struct key_spec kubernetes_keys[] = {
	{ "pods_log_dir", K_ABSPATH, KS(pods_log_dir) },
	{ "containers_log_dir", K_ABSPATH, KS(containers_log_dir) },
};
#undef KS

#define PR(field) offsetof(struct profiling_config, field)
static const struct key_spec profiling_keys[] = {
	{ "enabled", K_BOOL, PR(enabled) },
	{ "top_sites", K_COUNT, PR(top_sites) },
};
#undef PR

/* Offsets into struct config: gc_min_interval is stored with the memory settings. */
static const struct key_spec api_keys[] = {
	{ "token_file", K_ABSPATH, offsetof(struct config, api.token_file) },
	{ "gc_min_interval", K_DURATION, offsetof(struct config, memory.api_gc_min_interval_ms) },
};

#define N(keys) (sizeof(keys) / sizeof(keys[0]))
#define TABLE(name, keys, base)                                                                    \
	{                                                                                          \
		name, keys, N(keys), base,                                                         \
		{                                                                                  \
			0                                                                          \
		}                                                                                  \
	}

/* The same tables, for config__print(); targets come after memory. */
const struct config_section config_sections[] = {
	{ "memory", memory_keys, N(memory_keys), offsetof(struct config, memory) },
	{ "exporter", exporter_keys, N(exporter_keys), offsetof(struct config, exporter) },
	{ "pushgateway", push_keys, N(push_keys), offsetof(struct config, push) },
	{ "api", api_keys, N(api_keys), 0 },
	{ "alerts", alerts_keys, N(alerts_keys), offsetof(struct config, alerts) },
	{ "alertmanager", alertmanager_keys, N(alertmanager_keys),
	  offsetof(struct config, alertmanager) },
	{ "kubernetes", kubernetes_keys, N(kubernetes_keys), offsetof(struct config, kubernetes) },
	{ "profiling", profiling_keys, N(profiling_keys), offsetof(struct config, profiling) },
};
const size_t config_n_sections = N(config_sections);

/* Replaces a string field; an empty value clears it. */
static int set_string(char **field, const char *s)
{
	free(*field);
	*field = *s ? strdup(s) : NULL;
	return *s && !*field ? -ENOMEM : 0;
}

static int set_value(struct ctx *c, yaml_node_t *v, const char *key, enum kind kind, const char *s,
		     void *field)
{
	switch (kind) {
	case K_DURATION:
		if (parse_duration_ms(s, field))
			return config_fail(c, v,
					   "%s: \"%s\" is not a duration (e.g. 500ms, 30s, 5m, 1h)",
					   key, s);
		if (*(uint64_t *)field == 0)
			return config_fail(c, v, "%s must be greater than zero", key);
		return 0;
	case K_PERCENT:
		if (parse_percent(s, field) || *(double *)field == 0)
			return config_fail(c, v,
					   "%s: \"%s\" is not a percentage above 0 and at most 100",
					   key, s);
		return 0;
	case K_BOOL:
		if (parse_bool(s, field))
			return config_fail(c, v, "%s: \"%s\" is not true or false", key, s);
		return 0;
	case K_MB:
		if (parse_uint(s, UINT64_C(1) << 40, field))
			return config_fail(c, v, "%s: \"%s\" is not a whole number of MiB", key, s);
		return 0;
	case K_COUNT:
		if (parse_uint(s, 100000000, field) || *(uint64_t *)field == 0)
			return config_fail(c, v, "%s: \"%s\" is not a count from 1 to 100000000",
					   key, s);
		return 0;
	case K_NONEMPTY:
		if (!*s)
			return config_fail(c, v, "%s must not be empty", key);
		return set_string(field, s);
	case K_STRING:
		return set_string(field, s);
	case K_URL:
		if (*s && strncmp(s, "http://", 7) != 0 && strncmp(s, "https://", 8) != 0)
			return config_fail(c, v, "%s: \"%s\" is not an http:// or https:// URL",
					   key, s);
		return set_string(field, s);
	case K_ABSPATH:
		if (*s && *s != '/')
			return config_fail(c, v, "%s: \"%s\" must be an absolute path", key, s);
		return set_string(field, s);
	case K_LISTEN: {
		struct listen_addr *l = field;

		free(l->host);
		l->host = NULL;
		if (parse_listen(s, &l->host, &l->port))
			return config_fail(
				c, v, "%s: \"%s\" is not host:port (e.g. 127.0.0.1:9464)", key, s);
		return 0;
	}
	}
	return -EINVAL;
}

static int table_pair(struct ctx *c, const char *key, yaml_node_t *v, void *arg)
{
	struct table_walk *w = arg;
	char known[256] = "";
	const char *s;
	int err = 0;

	for (size_t i = 0; i < w->n; i++) {
		if (strcmp(key, w->keys[i].key) != 0)
			continue;
		s = config_scalar(c, v, key, &err);
		if (!s)
			return err;
		w->where[i] = v;
		return set_value(c, v, key, w->keys[i].kind, s,
				 (char *)w->base + w->keys[i].offset);
	}
	for (size_t i = 0; i < w->n; i++)
		snprintf(known + strlen(known), sizeof(known) - strlen(known), "%s%s",
			 i ? ", " : "", w->keys[i].key);
	return config_fail(c, v, "unknown key \"%s\" in %s (known: %s)", key, w->section, known);
}

static int load_table(struct ctx *c, yaml_node_t *map, struct table_walk *w)
{
	return config_each_pair(c, map, w->section, table_pair, w);
}

static yaml_node_t *value_node(struct table_walk *w, const char *key)
{
	for (size_t i = 0; i < w->n; i++)
		if (strcmp(w->keys[i].key, key) == 0)
			return w->where[i];
	return NULL;
}

static int load_memory(struct ctx *c, yaml_node_t *map, struct memory_config *m)
{
	struct table_walk w = TABLE("memory", memory_keys, m);
	struct memory_given g;
	int err = load_table(c, map, &w);

	if (err)
		return err;
	g = (struct memory_given){
		.low = value_node(&w, "low_water_mark_percent"),
		.high = value_node(&w, "high_water_mark_percent"),
		.alert = value_node(&w, "alert_threshold"),
		.force = value_node(&w, "force_gc_threshold"),
		.mem = value_node(&w, "max_memory_mb"),
		.heap = value_node(&w, "max_heap_mb"),
	};
	return config_settle_memory(c, map, &g, m);
}

/* The token is read at load time, so a missing or empty file is a config error. */
static int load_api(struct ctx *c, yaml_node_t *map, struct config *cfg)
{
	struct api_config *api = &cfg->api;
	struct table_walk w = TABLE("api", api_keys, cfg);
	char buf[1024];
	yaml_node_t *v;
	ssize_t n;
	int err = load_table(c, map, &w);

	if (err || !api->token_file)
		return err;
	v = value_node(&w, "token_file");
	n = procfs__read(api->token_file, buf, sizeof(buf));
	if (n < 0)
		return config_fail(c, v, "token_file: cannot read %s: %s", api->token_file,
				   strerror((int)-n));
	while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == '\r' || buf[n - 1] == ' '))
		buf[--n] = '\0';
	if (n == 0)
		return config_fail(c, v, "token_file: %s is empty", api->token_file);
	api->token = strdup(buf);
	return api->token ? 0 : -ENOMEM;
}

/*
 * The textfile directory must exist (node_exporter reads it, it does not make
 * it) and pass the same permission check as every write.
 */
static int load_exporter(struct ctx *c, yaml_node_t *map, struct exporter_config *e)
{
	struct table_walk w = TABLE("exporter", exporter_keys, e);
	char why[TEXTFILE_WHY_LEN];
	yaml_node_t *v;
	int err = load_table(c, map, &w);

	if (err || !e->textfile_dir)
		return err;
	if (textfile__check_dir(e->textfile_dir, why, sizeof(why))) {
		v = value_node(&w, "textfile_dir");
		return config_fail(c, v ? v : map, "%s", why);
	}
	return 0;
}

static int load_profiling(struct ctx *c, yaml_node_t *map, struct profiling_config *p)
{
	struct table_walk w = TABLE("profiling", profiling_keys, p);
	int err = load_table(c, map, &w);

	if (!err && p->top_sites > PROFILING_MAX_TOP_SITES)
		return config_fail(c, value_node(&w, "top_sites"),
				   "top_sites: %llu is more than %d (each is a series per process)",
				   (unsigned long long)p->top_sites, PROFILING_MAX_TOP_SITES);
	return err;
}

static int top_pair(struct ctx *c, const char *key, yaml_node_t *v, void *arg)
{
	struct config *cfg = arg;

	if (strcmp(key, "memory") == 0)
		return load_memory(c, v, &cfg->memory);
	if (strcmp(key, "targets") == 0)
		return config_load_targets(c, v, cfg);
	if (strcmp(key, "exporter") == 0)
		return load_exporter(c, v, &cfg->exporter);
	if (strcmp(key, "pushgateway") == 0) {
		struct table_walk w = TABLE("pushgateway", push_keys, &cfg->push);

		return load_table(c, v, &w);
	}
	if (strcmp(key, "api") == 0)
		return load_api(c, v, cfg);
	if (strcmp(key, "alerts") == 0) {
		struct table_walk w = TABLE("alerts", alerts_keys, &cfg->alerts);

		return load_table(c, v, &w);
	}
	if (strcmp(key, "alertmanager") == 0) {
		struct table_walk w = TABLE("alertmanager", alertmanager_keys, &cfg->alertmanager);

		return load_table(c, v, &w);
	}
	if (strcmp(key, "kubernetes") == 0) {
		struct table_walk w = TABLE("kubernetes", kubernetes_keys, &cfg->kubernetes);

		return load_table(c, v, &w);
	}
	if (strcmp(key, "profiling") == 0)
		return load_profiling(c, v, &cfg->profiling);
	return config_fail(
		c, v,
		"unknown section \"%s\" (known: memory, targets, exporter, pushgateway, api, alerts, alertmanager, kubernetes, profiling)",
		key);
}

static int set_defaults(struct config *cfg)
{
	cfg->memory = (struct memory_config){
		.monitor_interval_ms = 30000,
		.high_water_mark_percent = CONFIG_DEFAULT_HIGH,
		.low_water_mark_percent = CONFIG_DEFAULT_LOW,
		.alert_threshold = 90.0,
		.enable_auto_gc = true,
		.gc_interval_ms = 300000,
		.reconcile_interval_ms = 60000,
		.force_gc_threshold = 95.0,
		.max_memory_mb = 1024,
		.max_heap_mb = 512,
		.api_gc_min_interval_ms = 10000,
	};
	cfg->exporter.listen.port = 9464;
	cfg->exporter.listen.host = strdup("127.0.0.1");
	cfg->push.job = strdup("memtide");
	cfg->push.timeout_ms = 5000;
	cfg->push.delete_on_shutdown = true;
	/* The spec's alerting rules: for 5m, 2m, 3m, 5m; CPU 10%; 1000 objects in 10m. */
	cfg->alerts = (struct alerts_config){ .high_for_ms = 300000,
					      .critical_for_ms = 120000,
					      .trim_cpu_for_ms = 180000,
					      .leak_for_ms = 300000,
					      .trim_cpu_percent = 10,
					      .leak_window_ms = 600000,
					      .leak_objects = 1000,
					      .history_size = 100 };
	cfg->profiling.enabled = true;
	cfg->profiling.top_sites = 5;
	cfg->alertmanager.resend_interval_ms = 60000;
	cfg->alertmanager.timeout_ms = 5000;
	/* Where the kubelet writes them on every node (the DaemonSet mounts them). */
	cfg->kubernetes.pods_log_dir = strdup("/var/log/pods");
	cfg->kubernetes.containers_log_dir = strdup("/var/log/containers");
	if (!cfg->kubernetes.pods_log_dir || !cfg->kubernetes.containers_log_dir)
		return -ENOMEM;
	return cfg->exporter.listen.host && cfg->push.job ? 0 : -ENOMEM;
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
			 parser.problem ? parser.problem : "unknown", parser.context ? " " : "",
			 parser.context ? parser.context : "");
		rc = -EINVAL;
		goto free_parser;
	}
	root = yaml_document_get_root_node(&doc);
	rc = root ? config_each_pair(&c, root, "the top level", top_pair, cfg) : 0;
	if (!rc && !cfg->targets)
		rc = default_targets(cfg);
	/* Unset, the push interval follows the monitor interval. */
	if (!rc && !cfg->push.interval_ms)
		cfg->push.interval_ms = cfg->memory.monitor_interval_ms;
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
		config_rule_free(&cfg->targets[i]);
	free(cfg->targets);
	free(cfg->exporter.listen.host);
	free(cfg->exporter.textfile_dir);
	free(cfg->push.url);
	free(cfg->push.job);
	free(cfg->push.instance);
	free(cfg->alertmanager.url);
	free(cfg->api.token_file);
	free(cfg->api.token);
	free(cfg->kubernetes.pods_log_dir);
	free(cfg->kubernetes.containers_log_dir);
	free(cfg->path);
	free(cfg);
}
