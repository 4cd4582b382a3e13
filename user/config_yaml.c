// SPDX-License-Identifier: Apache-2.0
/* The YAML walking helpers the config module's files share: node lookup,
 * scalars, mappings without duplicate keys, and file:line:column errors. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <yaml.h>
#include "config_yaml.h"

int config_fail(struct ctx *c, const yaml_node_t *n, const char *fmt, ...)
{
	int len = snprintf(c->err, CONFIG_ERR_LEN, "%s:%zu:%zu: ", c->name, n->start_mark.line + 1,
			   n->start_mark.column + 1);
	va_list ap;

	if (len < 0 || len >= CONFIG_ERR_LEN)
		return -EINVAL;
	va_start(ap, fmt);
	vsnprintf(c->err + len, CONFIG_ERR_LEN - (size_t)len, fmt, ap);
	va_end(ap);
	return -EINVAL;
}

yaml_node_t *config_node(struct ctx *c, int id)
{
	return yaml_document_get_node(c->doc, id);
}

const char *config_scalar(struct ctx *c, yaml_node_t *n, const char *key, int *err)
{
	if (n->type != YAML_SCALAR_NODE) {
		*err = config_fail(c, n, "\"%s\" must be a single value, not a list or mapping",
				   key);
		return NULL;
	}
	return (const char *)n->data.scalar.value;
}

int config_each_pair(struct ctx *c, yaml_node_t *map, const char *section, pair_fn fn, void *arg)
{
	yaml_node_pair_t *p, *q;
	int err = 0;

	if (map->type != YAML_MAPPING_NODE)
		return config_fail(c, map, "\"%s\" must be a mapping of keys to values", section);
	for (p = map->data.mapping.pairs.start; p < map->data.mapping.pairs.top; p++) {
		yaml_node_t *k = config_node(c, p->key);
		const char *key = config_scalar(c, k, section, &err);

		if (!key)
			return err;
		for (q = map->data.mapping.pairs.start; q < p; q++) {
			yaml_node_t *prev = config_node(c, q->key);

			if (prev->type == YAML_SCALAR_NODE &&
			    strcmp((const char *)prev->data.scalar.value, key) == 0)
				return config_fail(c, k, "duplicate key \"%s\" in %s", key,
						   section);
		}
		err = fn(c, key, config_node(c, p->value), arg);
		if (err)
			return err;
	}
	return 0;
}
