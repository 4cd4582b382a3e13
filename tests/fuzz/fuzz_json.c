// SPDX-License-Identifier: Apache-2.0
/*
 * The JSON writers: /api/v1/memory/stats and /health over a snapshot made
 * from the input, the POST /api/v1/memory/gc answer, the Alertmanager body,
 * and the json__add_*() builders on the rest of the input. Strings are
 * arbitrary bytes: every document must be valid UTF-8 and parse (json-c's
 * own parser) as the object or array it should be.
 */
#include <errno.h>
#include <linux/types.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "alertmanager.h"
#include "alerts.h"
#include "api.h"
#include "buf.h"
#include "fuzz.h"
#include "json.h"
#include <json-c/json_object.h>
#include <json-c/json_tokener.h>

#define MAX_ITEMS 4

static void check_text(const struct buf *b)
{
	struct json_object *doc;

	FUZZ_CHECK(b->err == 0 && b->data && strlen(b->data) == b->len);
	FUZZ_CHECK(fuzz_valid_utf8(b->data, b->len));
	doc = json_tokener_parse(b->data);
	FUZZ_CHECK(doc && (json_object_is_type(doc, json_type_object) ||
			   json_object_is_type(doc, json_type_array)));
	json_object_put(doc);
}

static void stats_and_health(struct fuzz_in *in, struct buf *b)
{
	struct snapshot *s = fuzz_snapshot(in);
	int pid = fuzz_int(in), rc;
	const struct snapshot *health;
	unsigned int status;
	double now;

	/* A tracked pid most of the time, else whatever the input says. */
	if (s->n && fuzz_bool(in))
		pid = s->samples[fuzz_u8(in) % s->n].pid;
	buf__reset(b);
	rc = api__stats(s, pid, b);
	FUZZ_CHECK(rc == 0 || (rc == -ENOENT && pid));
	if (!rc)
		check_text(b);
	buf__reset(b);
	/* Read in order: argument evaluation order is unspecified. */
	health = fuzz_bool(in) ? s : NULL;
	now = fuzz_double(in);
	status = api__health(health, now, b);
	FUZZ_CHECK(status == 200 || status == 503);
	check_text(b);
	snapshot__put(s);
}

static void gc_answer(struct fuzz_in *in, struct buf *b)
{
	struct gc_result r[MAX_ITEMS];
	char *reasons[MAX_ITEMS] = { NULL };
	size_t n = fuzz_u8(in) % (MAX_ITEMS + 1);

	memset(r, 0, sizeof(r));
	for (size_t i = 0; i < n; i++) {
		r[i].pid = fuzz_int(in);
		fuzz_field(in, r[i].comm, sizeof(r[i].comm));
		r[i].trimmed = fuzz_bool(in);
		if (fuzz_bool(in))
			r[i].reason = reasons[i] = fuzz_string(in, 255);
		fuzz_bytes(in, &r[i].report, sizeof(r[i].report));
	}
	buf__reset(b);
	FUZZ_CHECK(api__gc(r, n, b) == 0);
	check_text(b);
	for (size_t i = 0; i < n; i++)
		free(reasons[i]);
}

static void alertmanager_body(struct fuzz_in *in, struct buf *b)
{
	struct alert al[MAX_ITEMS];
	size_t n = fuzz_u8(in) % (MAX_ITEMS + 1);
	char *instance;

	memset(al, 0, sizeof(al));
	for (size_t i = 0; i < n; i++) {
		/* Enums as the evaluator makes them: in range. */
		al[i].kind = (enum alert_kind)(fuzz_u8(in) % ALERT_KINDS);
		al[i].state = (enum alert_state)(fuzz_u8(in) % (ALERT_RESOLVED + 1));
		al[i].pid = fuzz_int(in);
		al[i].start_ticks = fuzz_u64(in);
		fuzz_field(in, al[i].comm, sizeof(al[i].comm));
		al[i].value = fuzz_double(in);
		al[i].active_at = fuzz_double(in);
		al[i].fired_at = fuzz_double(in);
		al[i].resolved_at = fuzz_double(in);
		al[i].pending_since_ms = fuzz_u64(in);
	}
	instance = fuzz_string(in, 255);
	buf__reset(b);
	FUZZ_CHECK(alertmanager__body(al, n, instance, b) == 0);
	check_text(b);
	free(instance);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_in in = { data, size };
	struct json_object *doc;
	struct buf b;
	char *rest;
	int err = 0;

	buf__init(&b, FUZZ_BUF_MAX);
	stats_and_health(&in, &b);
	gc_answer(&in, &b);
	alertmanager_body(&in, &b);

	buf__reset(&b);
	doc = json__object(&err);
	json__add_number(doc, "n", fuzz_double(&in), &err);
	json__add_time(doc, "t", fuzz_double(&in), &err);
	rest = fuzz_cstr(in.p, in.n);
	json__add_string(doc, "s", rest, &err);
	FUZZ_CHECK(json__render(doc, err, true, &b) == 0);
	check_text(&b);
	free(rest);
	buf__free(&b);
	return 0;
}
