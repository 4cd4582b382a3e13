// SPDX-License-Identifier: Apache-2.0
/* The text format's primitives (families, escaped labels, samples, histograms)
 * and the per-process families built on them; every exposition file uses these. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "exposition_int.h"
#include "format.h"
#include "utf8.h"

void expo__family(struct buf *b, const char *name, const char *type, const char *help)
{
	/* HELP text escapes only backslash and newline; ours has neither. */
	buf__addf(b, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

/* Defense in depth: names are sanitized where they enter, but a label value
 * must be valid UTF-8 whatever its source (Prometheus drops the whole scrape). */
static void escape_label(struct buf *b, const char *value)
{
	bool valid = utf8__valid(value, strlen(value));
	char *clean = valid ? NULL : utf8__dup(value);

	if (!valid && !clean) {
		b->err = b->err ? b->err : -ENOMEM;
		return;
	}
	for (const char *p = clean ? clean : value; *p; p++) {
		switch (*p) {
		case '\\':
			buf__adds(b, "\\\\");
			break;
		case '"':
			buf__adds(b, "\\\"");
			break;
		case '\n':
			buf__adds(b, "\\n");
			break;
		default:
			buf__add(b, p, 1);
		}
	}
	free(clean);
}

static void labels(struct buf *b, const struct label *l, size_t n, const char *le)
{
	if (!n && !le)
		return;
	buf__adds(b, "{");
	for (size_t i = 0; i < n; i++) {
		buf__addf(b, "%s%s=\"", i ? "," : "", l[i].name);
		escape_label(b, l[i].value);
		buf__adds(b, "\"");
	}
	if (le)
		buf__addf(b, "%sle=\"%s\"", n ? "," : "", le);
	buf__adds(b, "}");
}

static void value(struct buf *b, double v)
{
	char text[FORMAT_DOUBLE_LEN];

	if (isnan(v))
		buf__adds(b, " NaN\n");
	else if (isinf(v))
		buf__adds(b, v > 0 ? " +Inf\n" : " -Inf\n");
	else
		buf__addf(b, " %s\n", format__double(text, v));
}

void expo__sample(struct buf *b, const char *name, const struct label *l, size_t n, double v)
{
	buf__adds(b, name);
	labels(b, l, n, NULL);
	value(b, v);
}

void expo__sample_u64(struct buf *b, const char *name, const struct label *l, size_t n, uint64_t v)
{
	buf__adds(b, name);
	labels(b, l, n, NULL);
	buf__addf(b, " %llu\n", (unsigned long long)v);
}

void expo__histogram(struct buf *b, const char *name, const struct label *l, size_t n,
		     const double *bounds, const uint64_t *counts, size_t n_bounds, double sum)
{
	uint64_t cumulative = 0;
	char le[FORMAT_DOUBLE_LEN];

	for (size_t i = 0; i <= n_bounds; i++) {
		cumulative += counts[i];
		if (i < n_bounds)
			format__double(le, bounds[i]);
		else
			snprintf(le, sizeof(le), "+Inf");
		buf__addf(b, "%s_bucket", name);
		labels(b, l, n, le);
		buf__addf(b, " %llu\n", (unsigned long long)cumulative);
	}
	buf__addf(b, "%s_sum", name);
	labels(b, l, n, NULL);
	value(b, sum);
	buf__addf(b, "%s_count", name);
	labels(b, l, n, NULL);
	buf__addf(b, " %llu\n", (unsigned long long)cumulative);
}

/* pid, comm and the pod identity's labels that are known, plus up to one extra label. */
size_t expo_process_labels(const struct sample *s, char pid[16], struct label *l,
			   const char *extra_name, const char *extra_value)
{
	const struct pod_identity *id = &s->ident;
	const struct label pod[] = { { "namespace", id->namespace },
				     { "pod", id->pod },
				     { "container", id->container },
				     { "pod_uid", id->pod_uid },
				     { "container_id", id->container_id } };
	size_t n = 0;

	snprintf(pid, 16, "%d", s->pid);
	l[n++] = (struct label){ "pid", pid };
	l[n++] = (struct label){ "comm", s->comm };
	for (size_t i = 0; i < sizeof(pod) / sizeof(pod[0]); i++)
		if (pod[i].value[0])
			l[n++] = pod[i];
	if (extra_name)
		l[n++] = (struct label){ extra_name, extra_value };
	return n;
}

void expo_per_process_where(struct buf *b, const struct snapshot *snap, const char *name,
			    const char *type, const char *help, sample_get get, sample_pred pred)
{
	struct label l[MAX_LABELS];
	char pid[16];

	expo__family(b, name, type, help);
	for (size_t i = 0; i < snap->n; i++) {
		size_t n;
		double v;

		if (pred && !pred(&snap->samples[i]))
			continue;
		v = get(&snap->samples[i]);
		if (!isfinite(v)) /* a figure this process's tier cannot know */
			continue;
		n = expo_process_labels(&snap->samples[i], pid, l, NULL, NULL);
		expo__sample(b, name, l, n, v);
	}
}
