// SPDX-License-Identifier: Apache-2.0
/*
 * /proc/PID/maps: "start-end perms offset major:minor inode   path". The
 * kernel pads before the path; the path itself runs to the end of the line
 * and may hold spaces and any byte but '\n'.
 */
#include <errno.h>
#include <string.h>
#include "proc_maps.h"

#define DELETED " (deleted)"

/* Hex digits at *p (at most 16, at least one), up to @end. */
static int hex(const char **p, const char *end, __u64 *out)
{
	__u64 v = 0;
	int n = 0;

	for (; *p < end && n < 17; (*p)++, n++) {
		char c = **p;
		int d = c >= '0' && c <= '9'   ? c - '0'
			: c >= 'a' && c <= 'f' ? c - 'a' + 10
			: c >= 'A' && c <= 'F' ? c - 'A' + 10
					       : -1;

		if (d < 0)
			break;
		v = v << 4 | (__u64)d;
	}
	*out = v;
	return n >= 1 && n <= 16 ? 0 : -EINVAL;
}

static int dec(const char **p, const char *end, __u64 *out)
{
	__u64 v = 0;
	int n = 0;

	for (; *p < end && **p >= '0' && **p <= '9'; (*p)++, n++) {
		__u64 d = (__u64)(**p - '0');

		if (v > (~(__u64)0 - d) / 10)
			return -EINVAL;
		v = v * 10 + d;
	}
	*out = v;
	return n ? 0 : -EINVAL;
}

static int expect(const char **p, const char *end, char c)
{
	if (*p >= end || **p != c)
		return -EINVAL;
	(*p)++;
	return 0;
}

int proc_maps__parse_line(const char *line, size_t len, struct proc_map *out)
{
	const char *p = line, *end = line + len;
	__u64 major, minor;

	memset(out, 0, sizeof(*out));
	out->path = "";
	if (hex(&p, end, &out->start) || expect(&p, end, '-') || hex(&p, end, &out->end) ||
	    expect(&p, end, ' ') || end - p < 5)
		return -EINVAL;
	memcpy(out->perms, p, 4);
	p += 4;
	if (expect(&p, end, ' ') || hex(&p, end, &out->offset) || expect(&p, end, ' ') ||
	    hex(&p, end, &major) || expect(&p, end, ':') || hex(&p, end, &minor) ||
	    expect(&p, end, ' ') || dec(&p, end, &out->inode))
		return -EINVAL;
	if (out->end < out->start || major > 0xfff || minor > 0xfffff)
		return -EINVAL;
	out->dev_major = (unsigned int)major;
	out->dev_minor = (unsigned int)minor;
	if (p < end && *p != ' ')
		return -EINVAL;
	/* Paths start with '/' or '[' (or "anon_inode:"): the padding is spaces only. */
	while (p < end && *p == ' ')
		p++;
	out->path = p;
	out->path_len = (size_t)(end - p);
	out->deleted = out->path_len > strlen(DELETED) &&
		       memcmp(end - strlen(DELETED), DELETED, strlen(DELETED)) == 0;
	return 0;
}

int proc_maps__next(const char **pos, const char *end, struct proc_map *out)
{
	while (*pos < end) {
		const char *line = *pos, *nl = memchr(line, '\n', (size_t)(end - line));
		size_t len = nl ? (size_t)(nl - line) : (size_t)(end - line);

		*pos = nl ? nl + 1 : end;
		if (!proc_maps__parse_line(line, len, out))
			return 1;
	}
	return 0;
}

bool proc_map__is_file(const struct proc_map *m)
{
	return m->perms[2] == 'x' && m->inode && m->path_len && m->path[0] == '/';
}
