/* SPDX-License-Identifier: Apache-2.0 */
/* Prometheus text format 0.0.4: pure formatting into a struct buf. */
#ifndef MEMTIDE_EXPOSITION_H
#define MEMTIDE_EXPOSITION_H

#include "buf.h"
#include "snapshot.h"

#define EXPOSITION_CONTENT_TYPE "text/plain; version=0.0.4; charset=utf-8"

/* The whole /metrics page for @s; returns 0 or the buffer's error. */
int exposition__render(const struct snapshot *s, struct buf *b);

#endif
