/* SPDX-License-Identifier: Apache-2.0 */
/* Pushgateway: PUT the current snapshot every interval from a thread of its own. */
#ifndef MEMTIDE_PUSH_H
#define MEMTIDE_PUSH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "buf.h"
#include "config.h"
#include "push_stats.h"

struct push;

/* *out is NULL (and 0 returned) when no URL is configured. */
int push__start(const struct push_config *cfg, uint64_t monitor_interval_ms, struct push **out);
/* Starts stopping without waiting: with @final, the thread pushes once more
 * and then, if configured, deletes the group, within about two seconds in all. */
void push__shutdown(struct push *p, bool final);
/* push__shutdown(), then waits for the thread and frees. */
void push__stop(struct push *p, bool final);
void push__stats(struct push *p, struct push_stats *out);
bool push__same_config(const struct push_config *a, const struct push_config *b);

/* "/metrics/job/<job>/instance/<instance>", values in @base64 form when they
 * are empty or hold anything but unreserved URL characters. Pure. */
int push__group_path(const char *job, const char *instance, struct buf *out);

#endif
