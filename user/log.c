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

/*
 * Lines carry bytes other people chose (process names, peer input): a
 * control character or a newline there could forge a line of its own, so
 * each becomes '?'. A trailing newline (libbpf's, libmicrohttpd's) is dropped.
 */
static void tame(char *line)
{
	size_t n = strlen(line);

	if (n && line[n - 1] == '\n')
		line[--n] = '\0';
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)line[i] < 0x20 || line[i] == 0x7f)
			line[i] = '?';
}

void log__vmsg(enum log_level level, const char *prefix, const char *fmt, va_list ap)
{
	char line[1024], stamp[32];
	struct timespec now;
	struct tm tm;

	if (level < min_level)
		return;
	clock_gettime(CLOCK_REALTIME, &now);
	gmtime_r(&now.tv_sec, &tm);
	strftime(stamp, sizeof(stamp), "%Y-%m-%dT%H:%M:%S", &tm);
	vsnprintf(line, sizeof(line), fmt, ap);
	tame(line);
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
