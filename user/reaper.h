/* SPDX-License-Identifier: Apache-2.0 */
/* Takes BPF links off the caller's thread: releasing a uprobe link waits for
 * an RCU grace period (~100 ms here), so links are closed by a small pool of
 * threads whose grace periods overlap. */
#ifndef MEMTIDE_REAPER_H
#define MEMTIDE_REAPER_H

#include <stddef.h>

struct reaper;

int reaper__new(struct reaper **out);
/* Takes ownership of the link fds @links[0..n); never blocks on a grace
 * period (closes them on the caller's thread only when no thread can be had). */
void reaper__add(struct reaper *r, const int *links, size_t n);
/* Waits until every link handed over is released, and joins the threads. */
void reaper__free(struct reaper *r);

#endif
