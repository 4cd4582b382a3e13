// SPDX-License-Identifier: Apache-2.0
/* The agent's own VmRSS and VmHWM, for the start-up's debug log lines. */
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "log.h"
#include "memstat.h"

/* The value of "@key:   N kB" in @s, if the line is there. */
static bool field(const char *s, size_t len, const char *key, unsigned long *out)
{
	size_t k = strlen(key);

	for (size_t i = 0; i + k < len; i++) {
		char *end;

		if ((i && s[i - 1] != '\n') || strncmp(s + i, key, k) || s[i + k] != ':')
			continue;
		errno = 0;
		*out = strtoul(s + i + k + 1, &end, 10);
		return !errno && end != s + i + k + 1;
	}
	return false;
}

int memstat__parse(const char *status, size_t len, unsigned long *rss_kb, unsigned long *hwm_kb)
{
	/* strtoul stops at the first non-digit: the text must end in one. */
	if (!len || status[len - 1] != '\n')
		return -EINVAL;
	if (!field(status, len, "VmRSS", rss_kb) || !field(status, len, "VmHWM", hwm_kb))
		return -EINVAL;
	return 0;
}

void memstat__mark(const char *where)
{
	char buf[4096];
	unsigned long rss, hwm;
	ssize_t n;
	int fd = open("/proc/self/status", O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return;
	n = read(fd, buf, sizeof(buf));
	close(fd);
	if (n > 0 && !memstat__parse(buf, (size_t)n, &rss, &hwm))
		log_debug("memory after %s: VmRSS %lu kB, VmHWM %lu kB", where, rss, hwm);
}
