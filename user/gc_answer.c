// SPDX-License-Identifier: Apache-2.0
/* The answers to POST /api/v1/memory/gc: api__gc's document, and the refusals. */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include "gc.h"
#include "gc_int.h"

unsigned int gc_seconds_up(uint64_t ms)
{
	uint64_t s = ms / 1000 + (ms % 1000 != 0); /* no overflow near UINT64_MAX */

	return s < UINT_MAX ? (unsigned int)s : UINT_MAX;
}

/* An answer with no targets: {"error": ..., "retry_after_seconds": N}. */
void gc_refuse(struct gc_request *r, unsigned int status, unsigned int retry_after, const char *msg)
{
	int err = 0;
	struct json_object *doc = json__object(&err);

	r->status = status;
	r->retry_after = retry_after;
	buf__reset(&r->body);
	json__add_string(doc, "error", msg, &err);
	if (retry_after)
		json__add_uint(doc, "retry_after_seconds", retry_after, &err);
	err = json__render(doc, err, true, &r->body);
	if (err && !r->body.err)
		r->body.err = err;
}

/* The answer once nothing is left to wait for: 200 with every target, or 429
 * when each was refused by the rate limit (the same document, plus why). */
void gc_finish(struct gc_request *r)
{
	struct gc_result *results = NULL;
	struct json_object *doc;
	char msg[160];
	int err = 0;

	for (size_t i = 0; i < r->n; i++)
		if (r->t[i].want && !r->t[i].r.trimmed)
			r->t[i].r.reason = "signalled, but the hook did not answer in time";
	if (r->n) {
		results = malloc(r->n * sizeof(*results));
		if (!results) {
			gc_refuse(r, 500, 0, "out of memory");
			return;
		}
		for (size_t i = 0; i < r->n; i++)
			results[i] = r->t[i].r;
	}
	buf__reset(&r->body);
	r->status = 200;
	if (!r->n || r->limited < r->n) {
		err = api__gc(results, r->n, &r->body);
		goto out;
	}
	if (r->pid)
		snprintf(msg, sizeof(msg),
			 "pid %d was asked to trim through the API less than %u s ago", r->pid,
			 gc_seconds_up(r->min_interval_ms));
	else
		snprintf(msg, sizeof(msg),
			 "every target was asked to trim through the API less than %u s ago",
			 gc_seconds_up(r->min_interval_ms));
	r->status = 429;
	r->retry_after = gc_seconds_up(r->retry_ms);
	doc = json__object(&err);
	json__add_string(doc, "error", msg, &err);
	json__add_uint(doc, "retry_after_seconds", r->retry_after, &err);
	api__gc_add(doc, results, r->n, &err);
	err = json__render(doc, err, true, &r->body);
out:
	free(results);
	if (err && !r->body.err)
		r->body.err = err;
}

unsigned int gc_request__answer(struct gc_request *r, unsigned int *retry_after, char **body,
				size_t *len)
{
	*retry_after = r->retry_after;
	*body = r->body.err ? NULL : buf__steal(&r->body, len);
	return r->status ? r->status : 500;
}

void gc_request__free(struct gc_request *r)
{
	if (!r)
		return;
	buf__free(&r->body);
	free(r->t);
	free(r);
}
