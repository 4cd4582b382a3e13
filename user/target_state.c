// SPDX-License-Identifier: Apache-2.0
/* Whether a tracked process made it into a snapshot, and if not, why. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "log.h"
#include "target_state.h"

const char *target_state__name(enum target_state s)
{
	static const char *const names[TARGET_STATES] = { "reported", "gone", "unreadable" };

	return s < TARGET_STATES ? names[s] : "unknown";
}

/* memtide's number in the pid namespace of the /proc it reads, or 0. */
static long proc_self_pid(void)
{
	char buf[32];
	ssize_t n = readlink("/proc/self", buf, sizeof(buf) - 1);

	if (n <= 0)
		return 0;
	buf[n] = '\0';
	return strtol(buf, NULL, 10);
}

/*
 * The kernel tier reads processes with a BPF task iterator, which walks the
 * pid namespace memtide runs in; /proc may be another's (a container that
 * mounts the host's /proc without sharing its pid namespace). And some
 * kernels keep processes from root itself (pid 1 of some sandboxes: its
 * /proc/1/maps and ns/ are denied, and the iterator skips it).
 */
static void explain_unreadable(int pid, const char *comm, enum log_level level)
{
	char path[64], link[64];

	if (proc_self_pid() != (long)getpid()) {
		log__msg(
			level,
			"pid %d (%s) is selected but in no output: memtide's /proc is another pid namespace's than its own, and the kernel tier sees only its own (run memtide in the host's pid namespace: hostPID: true)",
			pid, comm);
		return;
	}
	snprintf(path, sizeof(path), "/proc/%d/ns/pid", pid);
	if (readlink(path, link, sizeof(link)) < 0 && errno != ENOENT) {
		log__msg(
			level,
			"pid %d (%s) is selected but in no output: the kernel tier has no record of it, and this kernel keeps it from memtide (%s: %s)",
			pid, comm, path, strerror(errno));
		return;
	}
	log__msg(level,
		 "pid %d (%s) is selected but in no output: the kernel tier has no record of it",
		 pid, comm);
}

void target_state__explain(int pid, const char *comm, enum target_state s, bool quiet)
{
	enum log_level level = quiet ? LOG_DEBUG : LOG_INFO;

	if (s == TARGET_GONE)
		log__msg(
			level,
			"pid %d (%s) is selected but in no output: it exited before the snapshot could read it",
			pid, comm);
	else if (s == TARGET_UNREADABLE)
		explain_unreadable(pid, comm, LOG_INFO);
}
