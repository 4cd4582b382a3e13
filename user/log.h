/* SPDX-License-Identifier: Apache-2.0 */
#ifndef MEMTIDE_LOG_H
#define MEMTIDE_LOG_H

#include <stdarg.h>

enum log_level { LOG_DEBUG, LOG_INFO, LOG_WARN, LOG_ERROR };

int log__parse_level(const char *name, enum log_level *out);
void log__set_level(enum log_level level);
/* One line; control characters in it become '?', invalid UTF-8 U+FFFD (utf8.h). */
void log__msg(enum log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* The same for callers that hold a va_list (other libraries' loggers), after @prefix. */
void log__vmsg(enum log_level level, const char *prefix, const char *fmt, va_list ap)
	__attribute__((format(printf, 3, 0)));

#define log_debug(...) log__msg(LOG_DEBUG, __VA_ARGS__)
#define log_info(...) log__msg(LOG_INFO, __VA_ARGS__)
#define log_warn(...) log__msg(LOG_WARN, __VA_ARGS__)
#define log_error(...) log__msg(LOG_ERROR, __VA_ARGS__)

#endif
