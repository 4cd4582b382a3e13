/* SPDX-License-Identifier: Apache-2.0 */
/* The JSON API's documents, rendered from a snapshot: pure functions over buffers. */
#ifndef MEMTIDE_API_H
#define MEMTIDE_API_H

#include "buf.h"
#include "json.h"
#include "snapshot.h"

/* GET /api/v1/memory/stats; @pid 0 for every process. -ENOENT: @pid not tracked. */
int api__stats(const struct snapshot *s, int pid, struct buf *out);
/* GET /health at unix time @now; returns the HTTP status (200, or 503 when the
 * agent itself is broken: no snapshot, or the kernel tier failing). */
unsigned int api__health(const struct snapshot *s, double now, struct buf *out);
/* One target of POST /api/v1/memory/gc. */
struct gc_result {
	int pid;
	char comm[PROC_COMM_LEN + 1];
	bool trimmed;
	const char *reason; /* why not, when !trimmed */
	struct memtide_hook_report report; /* the hook's, when trimmed */
};

/* The POST /api/v1/memory/gc answer: a message and one entry per target. */
int api__gc(const struct gc_result *r, size_t n, struct buf *out);
/* Its "message" and "results" members, added to @doc. */
void api__gc_add(struct json_object *doc, const struct gc_result *r, size_t n, int *err);
/* "ok", "warning" (at or above the high water mark) or "critical" (at or above
 * alert_threshold), on the thresholds the snapshot was taken with. */
const char *api__memory_state(const struct snapshot *s);

#endif
