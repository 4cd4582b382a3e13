/* SPDX-License-Identifier: Apache-2.0 */
/* The uprobe tier: probes on a selected process's own glibc, and its figures. */
#ifndef MEMTIDE_HEAP_H
#define MEMTIDE_HEAP_H

#include <linux/types.h>
#include <stdbool.h>
#include <stdint.h>
#include "heap_types.h"

struct heap;

/* With @empty_probes every program returns at once (the benchmark's floor). */
int heap__open(bool empty_probes, struct heap **out);
/* Stops attaching and removes every probe before it returns: a probe left
 * behind would keep trapping in its target after memtide is gone. */
void heap__destroy(struct heap *u);
enum heap_probe {
	HEAP_PROBE_MALLOC, /* the uprobe tier: the malloc family in the process's own glibc */
	HEAP_PROBE_HOOK, /* the hook tier: the control hook's report function */
};

/*
 * Asks for @pid's probes of @kind; they are attached on the module's own
 * threads, so the caller never waits. Returns -EINPROGRESS until that is
 * done, then 0, or once the attach's error: -ENOEXEC, no glibc mapped (static,
 * or another C library); -ENOENT, not the real control hook; -E2BIG, no slot.
 * Libraries are found in /proc/PID/maps and opened through
 * /proc/PID/map_files, so a process in another mount namespace is probed
 * through its own files; a process ld.so has not mapped libc into yet is
 * probed on the libc.so.6 beside its loader, checked once libc is mapped.
 */
int heap__want(struct heap *u, int pid, enum heap_probe kind);
/* Both kinds off @pid: the programs ignore it at once, the probes themselves
 * are removed on other threads (each waits for a grace period). */
void heap__drop(struct heap *u, int pid);
/* Synchronous attach of the malloc family (the benchmark probes itself). */
int heap__attach(struct heap *u, int pid);
/* The process's counters, summed over CPUs. */
int heap__read(struct heap *u, int pid, struct heap_stats *out);
/* The hook tier: what the process's hook last reported. */
int heap__read_hook(struct heap *u, int pid, struct hook_state *out);
/* The hook tier's ring buffer of struct hook_event (a trim reported, a hooked
 * process gone): a map fd for ring_buffer__new(). */
int heap__hook_events_fd(struct heap *u);

#endif
