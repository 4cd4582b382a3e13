// SPDX-License-Identifier: GPL-2.0
/* One line per event on stderr, level-filtered. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include "log.h"

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

enum log_level log__level(void)
{
	return min_level;
}

void log__msg(enum log_level level, const char *fmt, ...)
{
	char line[1024], stamp[32];
	struct timespec now;
	struct tm tm;
	va_list ap;

	if (level < min_level)
		return;
	clock_gettime(CLOCK_REALTIME, &now);
	gmtime_r(&now.tv_sec, &tm);
	strftime(stamp, sizeof(stamp), "%Y-%m-%dT%H:%M:%S", &tm);
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	/* A single write keeps lines from concurrent threads whole. */
	fprintf(stderr, "%s.%03ldZ %-5s %s\n", stamp, now.tv_nsec / 1000000, level_names[level],
		line);
}
