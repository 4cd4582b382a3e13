// SPDX-License-Identifier: Apache-2.0
/* memory_gc_cpu_fraction: trims' CPU time over the process's, in a sliding window. */
#include <string.h>
#include "gc_window.h"

#define SLOTS (GC_WINDOW_INTERVALS + 1)

void gc_window__reset(struct gc_window *w)
{
	memset(w, 0, sizeof(*w));
}

double gc_window__add(struct gc_window *w, uint64_t trim_ns, uint64_t cpu_ns)
{
	unsigned int last = (w->first + w->n + SLOTS - 1) % SLOTS, slot;
	uint64_t trims, cpu;

	if (w->n && (trim_ns < w->trim_ns[last] || cpu_ns < w->cpu_ns[last]))
		gc_window__reset(w);
	if (w->n == SLOTS) { /* the oldest reading leaves */
		w->first = (w->first + 1) % SLOTS;
		w->n--;
	}
	slot = (w->first + w->n++) % SLOTS;
	w->trim_ns[slot] = trim_ns;
	w->cpu_ns[slot] = cpu_ns;
	trims = trim_ns - w->trim_ns[w->first];
	cpu = cpu_ns - w->cpu_ns[w->first];
	/* Read at different moments, the two can disagree by the part of a
	 * trim that straddles the window's start: never more than all. */
	if (!cpu)
		return 0;
	return trims >= cpu ? 1 : (double)trims / (double)cpu;
}
