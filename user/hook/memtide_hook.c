// SPDX-License-Identifier: Apache-2.0
/*
 * memtide's control hook: preload it (LD_PRELOAD=libmemtide_hook.so) or link
 * it, and memtide can ask the process to run malloc_trim(0).
 *
 * On a real-time signal (SIGRTMIN+4 unless MEMTIDE_HOOK_SIGNAL says another
 * offset) the handler only wakes a thread of the hook's own (it writes to an
 * eventfd: async-signal-safe, no allocation). That thread reads mallinfo2()
 * and RSS, trims, measures, reads them again and calls memtide_hook_report(),
 * where a memtide uprobe copies the report (with the trim's wall and CPU
 * time); every MEMTIDE_HOOK_INTERVAL_MS (default 10000, 0: never) it reports
 * mallinfo2() alone. Without an agent the report is an empty function call.
 * The hook never aborts: whatever fails, it goes quiet and the process runs
 * on. A handler the program installed itself for that signal is left alone
 * (the hook then stays passive).
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/types.h>
#include <malloc.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>
#include "hook.h"
#include "hook_count.h"

static int wake_fd = -1;
static long interval_ms = 10000;
static __u64 trims;

/* Read by the agent (bpf/hook.h): initialised data, so it is in the file. */
__attribute__((visibility("default"))) volatile struct memtide_hook_info memtide_hook_info = {
	.magic = MEMTIDE_HOOK_MAGIC,
	.version = MEMTIDE_HOOK_VERSION,
};

/* Where memtide's uprobe reads reports: must stay a real, exported call. */
__attribute__((noinline, visibility("default"))) void
memtide_hook_report(const struct memtide_hook_report *report)
{
	__asm__ volatile("" : : "r"(report) : "memory");
}

static void on_signal(int sig)
{
	uint64_t one = 1;
	int saved = errno;

	(void)sig;
	if (wake_fd >= 0 && write(wake_fd, &one, sizeof(one)) < 0) {
		/* Nothing to do: a wake-up already pending is as good. */
	}
	errno = saved;
}

/* /proc/self/statm: "size resident ...", in pages. */
static __u64 rss_bytes(void)
{
	int fd = open("/proc/self/statm", O_RDONLY | O_CLOEXEC);
	char buf[128], *p = buf;
	ssize_t n;

	if (fd < 0)
		return 0;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return 0;
	buf[n] = '\0';
	strtoul(p, &p, 10); /* size */
	return (__u64)strtoul(p, NULL, 10) * (__u64)sysconf(_SC_PAGESIZE);
}

/* The number of mmapped chunks, for the counts' sum: one walk of the
 * arenas (under their locks) per report. */
static size_t read_mallinfo(struct memtide_hook_mallinfo *out)
{
	struct mallinfo2 mi = mallinfo2();

	out->arena = mi.arena;
	out->hblkhd = mi.hblkhd;
	out->uordblks = mi.uordblks;
	out->fordblks = mi.fordblks;
	out->keepcost = mi.keepcost;
	return mi.hblks;
}

static __u64 now_ns(clockid_t clock)
{
	struct timespec ts;

	if (clock_gettime(clock, &ts))
		return 0;
	return (__u64)ts.tv_sec * 1000000000ULL + (__u64)ts.tv_nsec;
}

static void trim_and_report(void)
{
	struct memtide_hook_report r = { .version = MEMTIDE_HOOK_VERSION,
					 .kind = MEMTIDE_HOOK_TRIM };
	__u64 start, start_cpu;
	size_t mmapped;

	read_mallinfo(&r.before);
	r.rss_before = rss_bytes();
	/* CPU time as well as wall time: memtide's gc_cpu_fraction is the
	 * trims' share of the process's CPU time, which a trim waiting (on
	 * the arena lock, or preempted) does not use. */
	start_cpu = now_ns(CLOCK_THREAD_CPUTIME_ID);
	start = now_ns(CLOCK_MONOTONIC);
	r.trim_result = malloc_trim(0);
	r.trim_ns = now_ns(CLOCK_MONOTONIC) - start;
	r.trim_cpu_ns = now_ns(CLOCK_THREAD_CPUTIME_ID) - start_cpu;
	r.rss_after = rss_bytes();
	mmapped = read_mallinfo(&r.after);
	r.seq = ++trims;
	hook_count__sum(&r.counts, mmapped);
	memtide_hook_report(&r);
}

static void info_report(void)
{
	struct memtide_hook_report r = { .version = MEMTIDE_HOOK_VERSION,
					 .kind = MEMTIDE_HOOK_INFO,
					 .seq = trims };
	size_t mmapped = read_mallinfo(&r.before);

	r.rss_before = rss_bytes();
	hook_count__sum(&r.counts, mmapped);
	memtide_hook_report(&r);
}

static void *control(void *arg)
{
	struct pollfd p = { .fd = wake_fd, .events = POLLIN };
	sigset_t all;

	(void)arg;
	/* Signals are for the program's threads; this one only polls. */
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, NULL);
	info_report();
	for (;;) {
		uint64_t count;
		int n = poll(&p, 1, interval_ms > 0 ? (int)interval_ms : -1);

		if (n < 0 && errno != EINTR)
			return NULL;
		if (n > 0 && read(wake_fd, &count, sizeof(count)) == sizeof(count))
			trim_and_report();
		else if (n == 0)
			info_report();
	}
}

static void start_control(void)
{
	pthread_attr_t attr;
	pthread_t thread;

	wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (wake_fd < 0)
		return;
	if (pthread_attr_init(&attr))
		return;
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	pthread_attr_setstacksize(&attr, 64 * 1024);
	if (pthread_create(&thread, &attr, control, NULL)) {
		close(wake_fd);
		wake_fd = -1;
	}
	pthread_attr_destroy(&attr);
}

/* The child of a fork has no control thread and shares the eventfd: it gets
 * its own of both. */
static void after_fork_child(void)
{
	if (wake_fd >= 0)
		close(wake_fd);
	wake_fd = -1;
	trims = 0;
	start_control();
}

static long env_long(const char *name, long fallback, long min, long max)
{
	const char *v = getenv(name);
	char *end;
	long n;

	if (!v || !*v)
		return fallback;
	errno = 0;
	n = strtol(v, &end, 10);
	return errno || *end || n < min || n > max ? fallback : n;
}

__attribute__((constructor)) static void memtide_hook_init(void)
{
	struct sigaction old, sa = { .sa_handler = on_signal, .sa_flags = SA_RESTART };
	int signo = SIGRTMIN + (int)env_long(MEMTIDE_HOOK_SIGNAL_ENV, MEMTIDE_HOOK_DEFAULT_SIGNAL,
					     0, SIGRTMAX - SIGRTMIN);

	hook_count__init();
	interval_ms = env_long(MEMTIDE_HOOK_INTERVAL_ENV, 10000, 0, 86400000);
	memtide_hook_info.interval_ms = (__u32)interval_ms;
	/* Never take over a handler the program set for itself. */
	if (sigaction(signo, NULL, &old) || old.sa_handler != SIG_DFL)
		return;
	sigemptyset(&sa.sa_mask);
	start_control();
	if (wake_fd < 0 || sigaction(signo, &sa, NULL))
		return;
	/* Only now: the agent signals nothing but what is said here. */
	memtide_hook_info.signo = signo;
	pthread_atfork(NULL, NULL, after_fork_child);
}
