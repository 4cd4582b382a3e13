/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The JSON documents, built with json-c. Strings go through the sanitizer
 * (utf8.h), numbers through format__double(), so a document is valid JSON
 * (and UTF-8) whatever bytes a process chose for its name.
 *
 * Every call takes the document's sticky error: the first failure (out of
 * memory) is kept in *err and later calls do nothing, so a builder checks once.
 */
#ifndef MEMTIDE_JSON_H
#define MEMTIDE_JSON_H

#include <stdbool.h>
#include <stdint.h>
#include "buf.h"

#define JSON_MAX (16u << 20) /* the largest JSON document memtide writes */

struct json_object;

struct json_object *json__object(int *err);
struct json_object *json__array(int *err);
/* Adds @v (taking it over; freed on failure) as @key of object @o, or at the end of array @o
 * when @key is NULL. A NULL @v is JSON null. */
void json__add(struct json_object *o, const char *key, struct json_object *v, int *err);
void json__add_string(struct json_object *o, const char *key, const char *s, int *err);
/* Finite numbers as themselves; NaN and infinities as null. */
void json__add_number(struct json_object *o, const char *key, double v, int *err);
void json__add_int(struct json_object *o, const char *key, int64_t v, int *err);
void json__add_uint(struct json_object *o, const char *key, uint64_t v, int *err);
void json__add_bool(struct json_object *o, const char *key, bool v, int *err);
/* Unix seconds as a quoted RFC 3339 UTC time; 0 or less, NaN and times past
 * year 9999 as null. */
void json__add_time(struct json_object *o, const char *key, double t, int *err);
/* Appends @doc's compact text to @out (then "\n" when @newline) and frees @doc.
 * Returns @err, or @out's error. */
int json__render(struct json_object *doc, int err, bool newline, struct buf *out);

#endif
