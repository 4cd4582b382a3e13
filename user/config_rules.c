// SPDX-License-Identifier: Apache-2.0
/*
 * The memory section's keys that constrain each other. Only keys the file
 * gives can contradict each other; a key it leaves out starts at its default
 * and, where that would contradict what the file gives, follows it by the
 * rules below (documented in README.md, "Configuration").
 */
#include <math.h>
#include <stdint.h>
#include "config_yaml.h"

#define MAX_MB (UINT64_C(1) << 40) /* what a MiB key accepts */

/* The later of two nodes in the file: the one that makes the contradiction. */
static yaml_node_t *later(yaml_node_t *a, yaml_node_t *b)
{
	return a->start_mark.index > b->start_mark.index ? a : b;
}

/* Contradictions among the keys the file gives. */
static int check_given(struct ctx *c, const struct memory_given *g, const struct memory_config *m)
{
	if (g->low && g->high && m->low_water_mark_percent >= m->high_water_mark_percent)
		return config_fail(
			c, later(g->low, g->high),
			"low_water_mark_percent (%g) must be below high_water_mark_percent (%g)",
			m->low_water_mark_percent, m->high_water_mark_percent);
	if (g->high && g->force && m->high_water_mark_percent > m->force_gc_threshold)
		return config_fail(
			c, later(g->high, g->force),
			"high_water_mark_percent (%g) must not exceed force_gc_threshold (%g)",
			m->high_water_mark_percent, m->force_gc_threshold);
	if (g->alert && g->force && m->alert_threshold > m->force_gc_threshold)
		return config_fail(c, later(g->alert, g->force),
				   "alert_threshold (%g) must not exceed force_gc_threshold (%g)",
				   m->alert_threshold, m->force_gc_threshold);
	/* With high_water_mark_percent left out, it must fit between them. */
	if (g->low && g->force && !g->high && m->low_water_mark_percent >= m->force_gc_threshold)
		return config_fail(
			c, later(g->low, g->force),
			"low_water_mark_percent (%g) must be below force_gc_threshold (%g), with high_water_mark_percent between them",
			m->low_water_mark_percent, m->force_gc_threshold);
	if (g->low && !g->high && m->low_water_mark_percent >= 100)
		return config_fail(
			c, g->low,
			"low_water_mark_percent (%g) must be below 100, with high_water_mark_percent above it",
			m->low_water_mark_percent);
	if (g->heap && g->mem && m->max_memory_mb && m->max_heap_mb > m->max_memory_mb)
		return config_fail(c, later(g->heap, g->mem),
				   "max_heap_mb (%llu) must not exceed max_memory_mb (%llu)",
				   (unsigned long long)m->max_heap_mb,
				   (unsigned long long)m->max_memory_mb);
	return 0;
}

int config_settle_memory(struct ctx *c, yaml_node_t *map, const struct memory_given *g,
			 struct memory_config *m)
{
	const double gap = CONFIG_DEFAULT_HIGH - CONFIG_DEFAULT_LOW;
	int err = check_given(c, g, m);

	if (err)
		return err;
	if (!g->high) {
		if (m->high_water_mark_percent <= m->low_water_mark_percent)
			m->high_water_mark_percent = fmin(m->low_water_mark_percent + gap, 100);
		/* An unset force_gc_threshold rises to it instead (below). */
		if (g->force && m->high_water_mark_percent > m->force_gc_threshold)
			m->high_water_mark_percent = m->force_gc_threshold;
	}
	if (!g->low && m->low_water_mark_percent >= m->high_water_mark_percent) {
		m->low_water_mark_percent =
			fmax(m->high_water_mark_percent - gap, m->high_water_mark_percent / 2);
		/* Half of the smallest normal double is subnormal, which strtod()
		 * refuses: the configuration would not read back. */
		if (!isnormal(m->low_water_mark_percent))
			return config_fail(
				c, g->high ? g->high : map,
				"high_water_mark_percent (%g) leaves no room for low_water_mark_percent below it",
				m->high_water_mark_percent);
	}
	if (!g->force)
		m->force_gc_threshold = fmax(m->force_gc_threshold,
					     fmax(m->high_water_mark_percent, m->alert_threshold));
	if (!g->alert && m->alert_threshold > m->force_gc_threshold)
		m->alert_threshold = m->force_gc_threshold;
	/* The spec's ratio: max_heap_mb is half of max_memory_mb (512 of 1024). */
	if (g->mem && !g->heap)
		m->max_heap_mb = m->max_memory_mb / 2 + m->max_memory_mb % 2;
	if (g->heap && !g->mem && m->max_heap_mb)
		m->max_memory_mb = m->max_heap_mb <= MAX_MB / 2 ? 2 * m->max_heap_mb : MAX_MB;
	return 0;
}
