// SPDX-License-Identifier: Apache-2.0
/* The JSON documents of the API, built with json-c. */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <json-c/json_object.h>
#include "format.h"
#include "json.h"
#include "utf8.h"

#define RFC3339_END 253402300800.0 /* 10000-01-01T00:00:00Z */

static struct json_object *fresh(struct json_object *o, int *err)
{
	if (!o && !*err)
		*err = -ENOMEM;
	return o;
}

struct json_object *json__object(int *err)
{
	return *err ? NULL : fresh(json_object_new_object(), err);
}

struct json_object *json__array(int *err)
{
	return *err ? NULL : fresh(json_object_new_array(), err);
}

void json__add(struct json_object *o, const char *key, struct json_object *v, int *err)
{
	int rc;

	if (*err) {
		json_object_put(v);
		return;
	}
	rc = key ? json_object_object_add(o, key, v) : json_object_array_add(o, v);
	if (rc) {
		json_object_put(v);
		*err = -ENOMEM;
	}
}

/* A value made for json__add(): NULL from the constructor is out of memory, not null. */
static void add_made(struct json_object *o, const char *key, struct json_object *v, int *err)
{
	if (!v && !*err)
		*err = -ENOMEM;
	json__add(o, key, v, err);
}

void json__add_string(struct json_object *o, const char *key, const char *s, int *err)
{
	char *clean;

	if (*err)
		return;
	/* Defense in depth: names are sanitized where they enter, but not every string is a name.
	 */
	clean = utf8__dup(s);
	add_made(o, key, clean ? json_object_new_string(clean) : NULL, err);
	free(clean);
}

void json__add_number(struct json_object *o, const char *key, double v, int *err)
{
	char text[FORMAT_DOUBLE_LEN];

	if (*err)
		return;
	if (!isfinite(v))
		json__add(o, key, NULL, err);
	else
		add_made(o, key, json_object_new_double_s(v, format__double(text, v)), err);
}

void json__add_int(struct json_object *o, const char *key, int64_t v, int *err)
{
	if (!*err)
		add_made(o, key, json_object_new_int64(v), err);
}

void json__add_uint(struct json_object *o, const char *key, uint64_t v, int *err)
{
	if (!*err)
		add_made(o, key, json_object_new_uint64(v), err);
}

void json__add_bool(struct json_object *o, const char *key, bool v, int *err)
{
	if (!*err)
		add_made(o, key, json_object_new_boolean(v), err);
}

void json__add_time(struct json_object *o, const char *key, double t, int *err)
{
	char text[32];
	time_t secs;
	struct tm tm;

	/* RFC 3339 ends with year 9999; NaN and infinities are no time at all
	 * (and casting them to time_t is undefined). */
	if (!(t > 0 && t < RFC3339_END)) {
		json__add(o, key, NULL, err);
		return;
	}
	secs = (time_t)t;
	gmtime_r(&secs, &tm);
	strftime(text, sizeof(text), "%Y-%m-%dT%H:%M:%SZ", &tm);
	json__add_string(o, key, text, err);
}

int json__render(struct json_object *doc, int err, bool newline, struct buf *out)
{
	const char *text = NULL;

	if (!err && doc) {
		text = json_object_to_json_string_ext(doc, JSON_C_TO_STRING_PLAIN |
								   JSON_C_TO_STRING_NOSLASHESCAPE);
		if (!text)
			err = -ENOMEM;
	} else if (!err) {
		err = -ENOMEM;
	}
	if (!err) {
		buf__adds(out, text);
		if (newline)
			buf__adds(out, "\n");
		err = out->err;
	}
	json_object_put(doc);
	return err;
}
