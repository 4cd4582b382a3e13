/* SPDX-License-Identifier: Apache-2.0 */
/* The spec's four alerts, evaluated on every snapshot: pending → firing → resolved. */
#ifndef MEMTIDE_ALERTS_H
#define MEMTIDE_ALERTS_H

#include <stdbool.h>
#include <stdint.h>
#include "buf.h"
#include "config.h"
#include "proc_key.h"
#include "snapshot.h"

enum alert_kind { ALERT_HIGH, ALERT_CRITICAL, ALERT_TRIM_CPU, ALERT_LEAK, ALERT_KINDS };
enum alert_state { ALERT_PENDING, ALERT_FIRING, ALERT_RESOLVED };

/* The sites a leak alert names: those whose live bytes grew most over the
 * leak window, with their share of the growth of all sites that grew. */
#define ALERT_SITES 3
struct alert_site {
	char name[SITE_NAME_LEN];
	double growth_bytes, share;
};

/* Room for alert__description() with every site named. */
#define ALERT_DESCRIPTION_LEN (256 + ALERT_SITES * (SITE_NAME_LEN + 16))

struct alert {
	enum alert_kind kind;
	enum alert_state state;
	int pid;
	uint64_t start_ticks;
	char comm[PROC_COMM_LEN + 1];
	double value; /* what crossed the line: percent, fraction or objects */
	double active_at, fired_at, resolved_at; /* unix seconds; 0: not yet */
	uint64_t pending_since_ms;
	struct alert_site sites[ALERT_SITES]; /* leak alerts of profiled processes */
	size_t n_sites;
};

struct alerts;

int alerts__new(const struct alerts_config *cfg, struct alerts **out);
void alerts__free(struct alerts *a);
void alerts__set_config(struct alerts *a, const struct alerts_config *cfg);
/* Once per snapshot, before it is rendered, against the thresholds @m in
 * force: fills s->agent.alerts_firing. */
void alerts__evaluate(struct alerts *a, const struct memory_config *m, struct snapshot *s,
		      uint64_t now_ms);
/* The process is gone (proc_gone_fn): its firing alerts resolve, the rest go. */
void alerts__forget(struct alerts *a, const struct proc_key *k);
/* GET /api/v1/alerts: {"active": [...], "recent": [...]}, newest first. */
int alerts__json(struct alerts *a, struct buf *out);
/* For the Alertmanager notifier: firing alerts, then resolved ones not yet
 * delivered; returns how many were copied into @out (at most @max). */
size_t alerts__to_notify(struct alerts *a, struct alert *out, size_t max);
/* The notifier delivered everything up to the copy it took. */
void alerts__delivered(struct alerts *a, const struct alert *sent, size_t n);
bool alerts__changed(struct alerts *a); /* since the last alerts__to_notify() */

const char *alert__name(enum alert_kind kind);
const char *alert__severity(enum alert_kind kind);
const char *alert__summary(enum alert_kind kind);
void alert__description(const struct alert *al, char *buf, size_t len);

#endif
