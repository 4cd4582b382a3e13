/* SPDX-License-Identifier: GPL-2.0 */
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

/* Writes "file:line:column: sentence" for node @n; returns -EINVAL. */
int config_fail(struct ctx *c, const yaml_node_t *n, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
yaml_node_t *config_node(struct ctx *c, int id);
const char *config_scalar(struct ctx *c, yaml_node_t *n, const char *key, int *err);
/* Calls @fn for each key of mapping @map, rejecting non-mappings and duplicates. */
typedef int (*pair_fn)(struct ctx *c, const char *key, yaml_node_t *value, void *arg);
int config_each_pair(struct ctx *c, yaml_node_t *map, const char *section, pair_fn fn, void *arg);

int config_load_targets(struct ctx *c, yaml_node_t *seq, struct config *cfg);
void config_rule_free(struct target_rule *r);

#endif
