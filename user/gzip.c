// SPDX-License-Identifier: Apache-2.0
/* Content-Encoding: gzip for /metrics, negotiated from Accept-Encoding. */
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <zlib.h>
#include "gzip.h"

/* Level 1: the page compresses about as well as at 6 (series names repeat),
 * in a fraction of the time, and it is compressed once per snapshot. */
#define GZIP_LEVEL 1
#define GZIP_WINDOW (15 + 16) /* 32 KiB window, gzip wrapper */

static const char *skip_space(const char *p)
{
	while (*p == ' ' || *p == '\t')
		p++;
	return p;
}

/* A qvalue is "0", "0.", "0.0", ... for zero: anything else admits. */
static bool q_is_zero(const char *p, size_t len)
{
	if (!len || p[0] != '0')
		return false;
	for (size_t i = 1; i < len; i++)
		if (!(i == 1 ? p[i] == '.' : p[i] == '0'))
			return false;
	return true;
}

/* The q of one element "coding *( OWS ; OWS param )" is zero; @end
 * excludes the comma. */
static bool element_refused(const char *p, const char *end)
{
	while ((p = memchr(p, ';', (size_t)(end - p)))) {
		const char *v, *v_end;

		p = skip_space(p + 1);
		if (end - p < 2 || (*p != 'q' && *p != 'Q') || p[1] != '=')
			continue;
		v = p + 2;
		for (v_end = v; v_end < end && *v_end != ' ' && *v_end != '\t' && *v_end != ';';)
			v_end++;
		return q_is_zero(v, (size_t)(v_end - v));
	}
	return false;
}

/* An explicit "gzip" decides; otherwise "*" does. */
bool gzip__accepted(const char *accept_encoding)
{
	const char *p = accept_encoding;
	int gzip = -1, star = -1;

	while (p) {
		const char *comma = strchr(p, ',');
		const char *end = comma ? comma : p + strlen(p);
		const char *name = skip_space(p), *n_end = name;

		while (n_end < end && *n_end != ';' && *n_end != ' ' && *n_end != '\t')
			n_end++;
		if (n_end - name == 4 && !strncasecmp(name, "gzip", 4))
			gzip = !element_refused(n_end, end);
		else if (n_end - name == 1 && *name == '*')
			star = !element_refused(n_end, end);
		p = comma ? comma + 1 : NULL;
	}
	return gzip >= 0 ? gzip : star > 0;
}

int gzip__compress(const void *data, size_t len, char **out, size_t *out_len)
{
	z_stream z = { 0 };
	uLong cap;
	char *dst;
	int ret;

	if (len > UINT_MAX)
		return -E2BIG;
	if (deflateInit2(&z, GZIP_LEVEL, Z_DEFLATED, GZIP_WINDOW, 8, Z_DEFAULT_STRATEGY) != Z_OK)
		return -ENOMEM;
	cap = deflateBound(&z, (uLong)len);
	dst = malloc(cap);
	if (!dst) {
		ret = -ENOMEM;
		goto end;
	}
	z.next_in = (Bytef *)data;
	z.avail_in = (uInt)len;
	z.next_out = (Bytef *)dst;
	z.avail_out = (uInt)cap;
	if (deflate(&z, Z_FINISH) != Z_STREAM_END) {
		free(dst);
		ret = -EIO;
		goto end;
	}
	*out = dst;
	*out_len = z.total_out;
	ret = 0;
end:
	deflateEnd(&z);
	return ret;
}
