// SPDX-License-Identifier: Apache-2.0
/* Pure parsers for configuration scalars, and the names of their enumerations. */
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "config.h"

/* Go-style durations: one or more <number><unit>, units ms, s, m, h ("1h30m", "1.5s"). */
int parse_duration_ms(const char *s, uint64_t *out)
{
	static const struct {
		const char *name;
		double ms;
	} units[] = { { "ms", 1 },     { "s", 1e3 },	 { "m", 60e3 },
		      { "h", 3600e3 }, { "d", 86400e3 }, { "w", 604800e3 } }; /* as Prometheus */
	double total = 0;

	if (!*s)
		return -EINVAL;
	while (*s) {
		double value = 0, scale = 1, unit = 0;
		bool digits = false;

		for (; isdigit((unsigned char)*s); s++, digits = true)
			value = value * 10 + (*s - '0');
		if (*s == '.') {
			for (s++; isdigit((unsigned char)*s); s++, digits = true) {
				scale /= 10;
				value += (*s - '0') * scale;
			}
		}
		if (!digits)
			return -EINVAL;
		/* Longest unit first so "ms" is not read as "m". */
		for (unsigned int i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
			size_t n = strlen(units[i].name);

			if (strncmp(s, units[i].name, n) == 0 && !isalpha((unsigned char)s[n])) {
				unit = units[i].ms;
				s += n;
				break;
			}
		}
		if (unit == 0)
			return -EINVAL;
		total += value * unit;
	}
	if (total > 1e15)
		return -EINVAL;
	*out = (uint64_t)llround(total);
	return 0;
}

int parse_percent(const char *s, double *out)
{
	char *end;
	double v;

	errno = 0;
	v = strtod(s, &end);
	if (errno || end == s || *end || !isfinite(v) || v < 0 || v > 100)
		return -EINVAL;
	*out = v;
	return 0;
}

int parse_uint(const char *s, uint64_t max, uint64_t *out)
{
	unsigned long long v;
	char *end;

	if (!isdigit((unsigned char)*s))
		return -EINVAL;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno || *end || v > max)
		return -EINVAL;
	*out = v;
	return 0;
}

int parse_bool(const char *s, bool *out)
{
	if (strcmp(s, "true") == 0)
		*out = true;
	else if (strcmp(s, "false") == 0)
		*out = false;
	else
		return -EINVAL;
	return 0;
}

/* "host:port" or "[v6addr]:port"; an empty host means every address. */
int parse_listen(const char *s, char **host, unsigned int *port)
{
	const char *colon, *h = s;
	size_t hlen;
	uint64_t p;

	if (*s == '[') {
		const char *close = strchr(s, ']');

		if (!close || close[1] != ':')
			return -EINVAL;
		h = s + 1;
		hlen = (size_t)(close - h);
		colon = close + 1;
	} else {
		colon = strrchr(s, ':');
		if (!colon || memchr(s, ':', (size_t)(colon - s)))
			return -EINVAL;
		hlen = (size_t)(colon - s);
	}
	if (parse_uint(colon + 1, 65535, &p) || p == 0)
		return -EINVAL;
	*host = strndup(h, hlen);
	if (!*host)
		return -ENOMEM;
	*port = (unsigned int)p;
	return 0;
}

const char *heap_tier__name(enum heap_tier tier)
{
	switch (tier) {
	case HEAP_NONE:
		return "none";
	case HEAP_UPROBE:
		return "uprobe";
	case HEAP_HOOK:
		return "hook";
	}
	return "?";
}
