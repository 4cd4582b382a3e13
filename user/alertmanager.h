/* SPDX-License-Identifier: Apache-2.0 */
/* Alerts to a Prometheus Alertmanager (API v2), from a thread of their own. */
#ifndef MEMTIDE_ALERTMANAGER_H
#define MEMTIDE_ALERTMANAGER_H

#include "alerts.h"
#include "buf.h"
#include "config.h"

struct alertmanager;

/* *out is NULL (and 0 returned) when no URL is configured. */
int alertmanager__start(const struct alertmanager_config *cfg, struct alerts *alerts,
			struct alertmanager **out);
/* Starts stopping without waiting: a request in flight is abandoned within a second. */
void alertmanager__shutdown(struct alertmanager *am);
void alertmanager__stop(struct alertmanager *am);
/* The POST /api/v2/alerts body for @n alerts, labelled with @instance. Pure. */
int alertmanager__body(const struct alert *al, size_t n, const char *instance, struct buf *out);

#endif
