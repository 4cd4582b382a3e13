// SPDX-License-Identifier: Apache-2.0
/* /proc readers: pure parsers over buffers, plus thin file readers. */
#include <ctype.h>
#include <errno.h>
#include <sys/stat.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/syscall.h>
#include <linux/openat2.h>
#include "procfs.h"
#include "utf8.h"

#define PF_KTHREAD 0x00200000UL
#define CGROUP_ROOT "/sys/fs/cgroup"
/* Limits at or above this mean "unlimited" (v1 prints LONG_MAX rounded to pages). */
#define UNLIMITED_BYTES (UINT64_C(1) << 60)

int procfs__parse_stat(const char *buf, struct proc_stat *out)
{
	const char *open = strchr(buf, '('), *close = strrchr(buf, ')');
	unsigned long long v[22];
	char state;
	size_t n;

	if (!open || !close || close < open)
		return -EINVAL;
	memset(out, 0, sizeof(*out));
	/* comm may hold spaces and parentheses: it ends at the last ')'. It is
	 * whatever bytes the process chose: sanitized here, once, for every output. */
	n = (size_t)(close - open - 1);
	if (n > PROC_COMM_RAW)
		n = PROC_COMM_RAW;
	utf8__sanitize(out->comm, sizeof(out->comm), open + 1, n, 0);
	/* Fields 3..24: state ppid pgrp session tty tpgid flags minflt cminflt majflt
	 * cmajflt utime stime cutime cstime priority nice threads itrealvalue
	 * starttime vsize rss */
	if (sscanf(close + 1,
		   " %c %llu %llu %llu %llu %llu %llu %llu %llu %llu %llu %llu %llu %llu %llu"
		   " %llu %llu %llu %llu %llu %llu %llu",
		   &state, &v[0], &v[1], &v[2], &v[3], &v[4], &v[5], &v[6], &v[7], &v[8], &v[9],
		   &v[10], &v[11], &v[12], &v[13], &v[14], &v[15], &v[16], &v[17], &v[18], &v[19],
		   &v[20]) != 22)
		return -EINVAL;
	out->state = state;
	out->ppid = (int)v[0];
	out->flags = (unsigned long)v[5];
	out->minflt = v[6];
	out->majflt = v[8];
	out->utime = v[10];
	out->stime = v[11];
	out->starttime = v[18];
	out->rss_pages = (int64_t)v[20];
	return 0;
}

bool procfs__is_kernel_thread(const struct proc_stat *st)
{
	return st->flags & PF_KTHREAD;
}

static int field_kb(const char *buf, const char *name, uint64_t *out)
{
	size_t n = strlen(name);
	const char *p;

	for (p = buf; p && *p; p = strchr(p, '\n'), p = p ? p + 1 : NULL) {
		if (strncmp(p, name, n) == 0 && p[n] == ':') {
			char *end;

			errno = 0;
			*out = strtoull(p + n + 1, &end, 10);
			return errno || end == p + n + 1 ? -EINVAL : 0;
		}
	}
	return -ENOENT;
}

static void copy_line(char *dst, size_t len, const char *src)
{
	size_t n = strcspn(src, "\n");

	if (!len)
		return;
	if (n >= len)
		n = len - 1;
	memcpy(dst, src, n);
	dst[n] = '\0';
}

int procfs__parse_cgroup(const char *buf, char *v2, size_t v2_len, char *v1_memory, size_t v1_len)
{
	const char *line;
	int found = -ENOENT;

	if (v2_len)
		v2[0] = '\0';
	if (v1_len)
		v1_memory[0] = '\0';
	for (line = buf; line && *line; line = strchr(line, '\n'), line = line ? line + 1 : NULL) {
		const char *ctrl = strchr(line, ':'), *path;
		size_t clen;

		if (!ctrl)
			continue;
		ctrl++;
		path = strchr(ctrl, ':');
		if (!path)
			continue;
		clen = (size_t)(path - ctrl);
		path++;
		if (strncmp(line, "0::", 3) == 0) {
			copy_line(v2, v2_len, path);
			found = 0;
			continue;
		}
		/* v1 controllers are a comma list, e.g. "4:memory:/x" or "3:cpu,memory:/x". */
		for (const char *c = ctrl; c < path - 1;) {
			size_t n = strcspn(c, ",:");

			if (n == 6 && strncmp(c, "memory", 6) == 0 && c + n <= ctrl + clen) {
				copy_line(v1_memory, v1_len, path);
				found = 0;
			}
			c += n + 1;
		}
	}
	return found;
}

int procfs__parse_meminfo_total(const char *buf, uint64_t *bytes)
{
	uint64_t kb;
	int err = field_kb(buf, "MemTotal", &kb);

	if (!err)
		*bytes = kb * 1024;
	return err;
}

int procfs__parse_limit(const char *buf, uint64_t *bytes)
{
	char *end;

	if (strncmp(buf, "max", 3) == 0 && (buf[3] == '\n' || buf[3] == '\0')) {
		*bytes = UINT64_MAX;
		return 0;
	}
	if (!isdigit((unsigned char)*buf))
		return -EINVAL;
	errno = 0;
	*bytes = strtoull(buf, &end, 10);
	return errno || (*end && *end != '\n') ? -EINVAL : 0;
}

ssize_t procfs__read(const char *path, char *buf, size_t size)
{
	ssize_t n, total = 0;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return -errno;
	while ((size_t)total < size - 1) {
		n = read(fd, buf + total, size - 1 - (size_t)total);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			total = -errno;
			break;
		}
		if (n == 0)
			break;
		total += n;
	}
	close(fd);
	if (total >= 0)
		buf[total] = '\0';
	return total;
}

ssize_t procfs__read_pid(int pid, const char *file, char *buf, size_t size)
{
	char path[64];

	snprintf(path, sizeof(path), "/proc/%d/%s", pid, file);
	return procfs__read(path, buf, size);
}

int procfs__open_in_root(int root_fd, const char *path)
{
	/* Looked up without being opened: opening a device node (a watchdog, a
	 * tape) or a FIFO can act on it, and anyone may plant a link to one. */
	struct open_how how = {
		.flags = O_PATH | O_CLOEXEC,
		.resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS,
	};
	char self[64];
	struct stat st;
	int fd, file;

	while (*path == '/')
		path++;
	fd = (int)syscall(SYS_openat2, root_fd, *path ? path : ".", &how, sizeof(how));
	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) || !S_ISREG(st.st_mode)) {
		close(fd);
		return -EINVAL;
	}
	/* The very inode looked up, opened now. */
	snprintf(self, sizeof(self), "/proc/self/fd/%d", fd);
	file = open(self, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	file = file < 0 ? -errno : file;
	close(fd);
	return file;
}

ssize_t procfs__cmdline(int pid, char *buf, size_t size)
{
	char *raw = malloc(size);
	ssize_t n;

	if (!raw)
		return -ENOMEM;
	n = procfs__read_pid(pid, "cmdline", raw, size);
	for (ssize_t i = 0; i < n; i++)
		if (raw[i] == '\0')
			raw[i] = ' ';
	while (n > 0 && raw[n - 1] == ' ')
		n--;
	/* Selectors match what the outputs would show: the sanitized text. */
	if (n >= 0)
		n = (ssize_t)utf8__sanitize(buf, size, raw, (size_t)n, 0);
	free(raw);
	return n;
}

uint64_t procfs__mem_total(void)
{
	char buf[4096];
	uint64_t bytes = 0;

	if (procfs__read("/proc/meminfo", buf, sizeof(buf)) > 0)
		procfs__parse_meminfo_total(buf, &bytes);
	return bytes;
}

/* The lowest limit from @dir up to the hierarchy's root. */
static uint64_t lowest_limit(const char *root, const char *path, const char *file)
{
	char dir[4096], text[64];
	uint64_t best = UINT64_MAX, v;

	snprintf(dir, sizeof(dir), "%s%s", root, path);
	for (;;) {
		char *slash, f[4200];

		snprintf(f, sizeof(f), "%s/%s", dir, file);
		if (procfs__read(f, text, sizeof(text)) > 0 && !procfs__parse_limit(text, &v) &&
		    v < best)
			best = v;
		if (strlen(dir) <= strlen(root))
			break;
		slash = strrchr(dir, '/');
		if (!slash)
			break;
		*slash = '\0';
	}
	return best;
}

int procfs__cgroup_limit(const char *v2, const char *v1, uint64_t *bytes)
{
	uint64_t limit = UINT64_MAX;

	if (v1[0] && access(CGROUP_ROOT "/memory", F_OK) == 0)
		limit = lowest_limit(CGROUP_ROOT "/memory", v1, "memory.limit_in_bytes");
	else if (v2[0])
		limit = lowest_limit(CGROUP_ROOT, v2, "memory.max");
	if (limit >= UNLIMITED_BYTES)
		return -ENOENT;
	*bytes = limit;
	return 0;
}

long procfs__page_size(void)
{
	static long size;

	if (!size)
		size = sysconf(_SC_PAGESIZE);
	return size;
}

long procfs__clock_ticks(void)
{
	static long ticks;

	if (!ticks)
		ticks = sysconf(_SC_CLK_TCK);
	return ticks;
}

uid_t procfs__pid_owner(int pid)
{
	char path[32];
	struct stat st;

	snprintf(path, sizeof(path), "/proc/%d", pid);
	return stat(path, &st) ? (uid_t)-1 : st.st_uid;
}
