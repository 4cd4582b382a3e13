/* SPDX-License-Identifier: GPL-2.0 */
/* The JSON API's documents, rendered from a snapshot: pure functions over buffers. */
#ifndef MEMTIDE_API_H
#define MEMTIDE_API_H

#include "buf.h"
#include "snapshot.h"

void json__string(struct buf *b, const char *s);
/* Finite numbers as themselves; NaN and infinities as null. */
void json__number(struct buf *b, double v);

/* GET /api/v1/memory/stats; @pid 0 for every process. -ENOENT: @pid not tracked. */
int api__stats(const struct snapshot *s, int pid, struct buf *out);
/* GET /health at unix time @now; returns the HTTP status (200, or 503 when the
 * agent itself is broken: no snapshot, or the kernel tier failing). */
unsigned int api__health(const struct snapshot *s, double now, struct buf *out);
/* POST /api/v1/memory/gc; @pid 0 for every over-watermark target. -ENOENT: @pid not tracked. */
int api__gc(const struct snapshot *s, int pid, struct buf *out);
/* "ok", "warning" (above the high water mark) or "critical" (above alert_threshold). */
const char *api__memory_state(const struct snapshot *s);

#endif
