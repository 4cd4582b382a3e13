/* SPDX-License-Identifier: GPL-2.0 */
/* The uprobe tier: probes on a selected process's own glibc, and its figures. */
#ifndef MEMTIDE_UPROBE_H
#define MEMTIDE_UPROBE_H

#include <linux/types.h>
#include <stdbool.h>
#include <stdint.h>
#include "heap.h"

struct uprobe;

/* With @empty_probes every program returns at once (the benchmark's floor). */
int uprobe__open(bool empty_probes, struct uprobe **out);
void uprobe__destroy(struct uprobe *u);
/* Probes @pid's own glibc, found in its /proc/PID/maps and opened through
 * /proc/PID/map_files, so a process in another mount namespace is probed
 * through its own libc. -ENOEXEC: the process maps no glibc (static, or
 * another C library). */
int uprobe__attach(struct uprobe *u, int pid);
void uprobe__detach(struct uprobe *u, int pid);
/* The process's counters, summed over CPUs. */
int uprobe__read(struct uprobe *u, int pid, struct heap_stats *out);

/* Hook tier: probes memtide_hook_report() in @pid's control hook library.
 * -ENOENT: the process has not loaded the hook. */
int uprobe__attach_hook(struct uprobe *u, int pid);
void uprobe__detach_hook(struct uprobe *u, int pid);
int uprobe__read_hook(struct uprobe *u, int pid, struct hook_state *out);

#endif
