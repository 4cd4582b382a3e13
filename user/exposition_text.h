/* SPDX-License-Identifier: Apache-2.0 */
/* Prometheus text format 0.0.4: the primitives, pure formatting into a struct buf. */
#ifndef MEMTIDE_EXPOSITION_TEXT_H
#define MEMTIDE_EXPOSITION_TEXT_H

#include <stddef.h>
#include <stdint.h>
#include "buf.h"

struct label {
	const char *name;
	const char *value;
};

/* HELP and TYPE lines; every family is written as one block after them. */
void expo__family(struct buf *b, const char *name, const char *type, const char *help);
void expo__sample(struct buf *b, const char *name, const struct label *labels, size_t n_labels,
		  double value);
void expo__sample_u64(struct buf *b, const char *name, const struct label *labels, size_t n_labels,
		      uint64_t value);
/*
 * @counts[i] is the number of observations in (bounds[i-1], bounds[i]]; the
 * last count is for (bounds[n_bounds-1], +Inf). Written cumulatively.
 */
void expo__histogram(struct buf *b, const char *name, const struct label *labels, size_t n_labels,
		     const double *bounds, const uint64_t *counts, size_t n_bounds, double sum);

#endif
