/* SPDX-License-Identifier: Apache-2.0 */
/* /proc readers: pure parsers over buffers, plus thin file readers. */
#ifndef MEMTIDE_PROCFS_H
#define MEMTIDE_PROCFS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* The kernel's comm is at most 16 bytes; sanitized (utf8.h) each byte may
 * become U+FFFD, 3 bytes: every comm memtide keeps is this long at most. */
#define PROC_COMM_RAW 16
#define PROC_COMM_LEN (PROC_COMM_RAW * 3)

struct proc_stat {
	char comm[PROC_COMM_LEN + 1];
	char state;
	int ppid;
	unsigned long flags;
	uint64_t minflt, majflt;
	uint64_t utime, stime; /* clock ticks */
	uint64_t starttime; /* clock ticks after boot */
	int64_t rss_pages;
};

int procfs__parse_stat(const char *buf, struct proc_stat *out);
bool procfs__is_kernel_thread(const struct proc_stat *st);
/* From /proc/PID/cgroup: the v2 path ("0::") and the v1 memory controller's. */
int procfs__parse_cgroup(const char *buf, char *v2, size_t v2_len, char *v1_memory, size_t v1_len);
int procfs__parse_meminfo_total(const char *buf, uint64_t *bytes);
/* memory.max or memory.limit_in_bytes; "max" reads as UINT64_MAX. */
int procfs__parse_limit(const char *buf, uint64_t *bytes);

/* Reads a whole (small) file, NUL-terminated; returns length or -errno. */
ssize_t procfs__read(const char *path, char *buf, size_t size);
ssize_t procfs__read_pid(int pid, const char *file, char *buf, size_t size);
/* Opens the regular file at @path (absolute, as the process sees it) under
 * @root_fd, its /proc/PID/root, with the lookup kept inside that root,
 * symbolic links and ".." included; read-only. Anything but a regular file
 * is never opened: -EINVAL. The fd or -errno. */
int procfs__open_in_root(int root_fd, const char *path);
/* Command line with NULs turned into spaces, sanitized (utf8.h). */
ssize_t procfs__cmdline(int pid, char *buf, size_t size);
uint64_t procfs__mem_total(void);
/* The effective (lowest on the path to the root) memory limit of the cgroup
 * paths procfs__parse_cgroup() found, or -ENOENT when unlimited or unknown. */
int procfs__cgroup_limit(const char *v2, const char *v1_memory, uint64_t *bytes);
long procfs__page_size(void);
long procfs__clock_ticks(void);

/* The owner of /proc/PID (the process's effective uid; root when it is not
 * dumpable); (uid_t)-1 when it is gone. */
uid_t procfs__pid_owner(int pid);

#endif
