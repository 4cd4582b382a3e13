// SPDX-License-Identifier: Apache-2.0
/* One line per event on stderr, level-filtered. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include "log.h"
#include "utf8.h"

static const char *const level_names[] = { "debug", "info", "warn", "error" };
static enum log_level min_level = LOG_INFO;

int log__parse_level(const char *name, enum log_level *out)
{
	for (unsigned int i = 0; i < sizeof(level_names) / sizeof(level_names[0]); i++) {
		if (strcasecmp(name, level_names[i]) == 0) { /* INFO as well as info */
			*out = (enum log_level)i;
			return 0;
		}
	}
	return -EINVAL;
}

void log__set_level(enum log_level level)
{
	min_level = level;
}

/*
 * Lines carry bytes other people chose (process names, peer input): a
 * control character or a newline there could forge a line of its own, so
 * each becomes '?', and the line is made valid UTF-8 by the one sanitizer
 * (utf8.h), which also repairs a character vsnprintf cut at the end. A
 * trailing newline (libbpf's, libmicrohttpd's) is dropped.
 */
void log__vmsg(enum log_level level, const char *prefix, const char *fmt, va_list ap)
{
	char raw[1024], line[sizeof(raw) * UTF8_GROWTH], stamp[32];
	struct timespec now;
	struct tm tm;
	size_t n;

	if (level < min_level)
		return;
	clock_gettime(CLOCK_REALTIME, &now);
	gmtime_r(&now.tv_sec, &tm);
	strftime(stamp, sizeof(stamp), "%Y-%m-%dT%H:%M:%S", &tm);
	vsnprintf(raw, sizeof(raw), fmt, ap);
	n = strlen(raw);
	if (n && raw[n - 1] == '\n')
		n--;
	utf8__sanitize(line, sizeof(line), raw, n, UTF8_TAME);
	/* A single write keeps lines from concurrent threads whole. */
	fprintf(stderr, "%s.%03ldZ %-5s %s%s\n", stamp, now.tv_nsec / 1000000, level_names[level],
		prefix, line);
}

void log__msg(enum log_level level, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log__vmsg(level, "", fmt, ap);
	va_end(ap);
}
