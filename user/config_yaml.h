/* SPDX-License-Identifier: Apache-2.0 */
/* Inside the config module: the YAML walking helpers its files share. */
#ifndef MEMTIDE_CONFIG_YAML_H
#define MEMTIDE_CONFIG_YAML_H

#include <yaml.h>
#include "config.h"

struct ctx {
	const char *name;
	yaml_document_t *doc;
	char *err;
	uint64_t regex_cost; /* the squared weights of the patterns so far (config_targets.c) */
};

/* Sections whose keys are plain typed scalars are described by tables. */
enum kind {
	K_DURATION,
	K_PERCENT,
	K_BOOL,
	K_MB,
	K_COUNT,
	K_STRING,
	K_NONEMPTY,
	K_URL,
	K_ABSPATH,
	K_LISTEN
};

struct key_spec {
	const char *key;
	enum kind kind;
	size_t offset; /* from the section's base */
};

struct config_section {
	const char *name;
	const struct key_spec *keys;
	size_t n;
	size_t base; /* offset of the section's base in struct config */
};

extern const struct config_section config_sections[];
extern const size_t config_n_sections;

/* Writes "file:line:column: sentence" for node @n; returns -EINVAL. */
int config_fail(struct ctx *c, const yaml_node_t *n, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
yaml_node_t *config_node(struct ctx *c, int id);
const char *config_scalar(struct ctx *c, yaml_node_t *n, const char *key, int *err);
/* Calls @fn for each key of mapping @map, rejecting non-mappings and duplicates. */
typedef int (*pair_fn)(struct ctx *c, const char *key, yaml_node_t *value, void *arg);
int config_each_pair(struct ctx *c, yaml_node_t *map, const char *section, pair_fn fn, void *arg);

/* The defaults the memory section's rules start from (config_rules.c). */
#define CONFIG_DEFAULT_HIGH 80.0
#define CONFIG_DEFAULT_LOW 60.0

/* The value nodes of the memory keys that constrain each other; NULL: not in the file. */
struct memory_given {
	yaml_node_t *low, *high, *alert, *force, *mem, *heap;
};

/* Rejects contradictions between keys the file gives, then moves the keys it
 * leaves out to agree with them. */
int config_settle_memory(struct ctx *c, yaml_node_t *map, const struct memory_given *g,
			 struct memory_config *m);

int config_load_targets(struct ctx *c, yaml_node_t *seq, struct config *cfg);
void config_rule_free(struct target_rule *r);

#endif
