/* SPDX-License-Identifier: Apache-2.0 */
/* Inside the exposition module: what its files share. */
#ifndef MEMTIDE_EXPOSITION_INT_H
#define MEMTIDE_EXPOSITION_INT_H

#include <stdbool.h>
#include "exposition.h"
#include "exposition_text.h"

/* pid, comm, five of the pod identity, one more. */
#define MAX_LABELS 8

/* A per-process value, read from each sample; a predicate picks the samples. */
typedef double (*sample_get)(const struct sample *s);
typedef bool (*sample_pred)(const struct sample *s);

/* pid, comm and the pod identity's labels that are known (namespace, pod,
 * container, pod_uid, container_id), plus up to one extra label. */
size_t expo_process_labels(const struct sample *s, char pid[16], struct label *l,
			   const char *extra_name, const char *extra_value);
/* One family; samples whose value is not finite (unknown to their tier) are left out. */
void expo_per_process_where(struct buf *b, const struct snapshot *snap, const char *name,
			    const char *type, const char *help, sample_get get, sample_pred pred);
void expo_render_heap(const struct snapshot *snap, struct buf *b);

#endif
