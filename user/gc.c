// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "api.h"
#include "clock.h"
#include "gc.h"
#include "log.h"
#include "snapshot.h"

#define WAIT_MS 10000 /* a trim of a 300 MB heap takes ~80 ms here */
#define POLL_MS 20

static bool candidate(const struct snapshot *s, const struct sample *smp, int pid)
{
	return pid ? smp->pid == pid
		   : smp->has_hook && smp->usage_percent >= s->memory.high_water_mark_percent;
}

unsigned int gc__handle(void *ctx, int pid, struct buf *out)
{
	struct gc_deps *d = ctx;
	struct snapshot *s = snapshot__current();
	struct gc_result *r = NULL;
	uint64_t *seen = NULL, deadline;
	size_t n = 0, waiting = 0;
	unsigned int status = 200;

	if (!s) {
		buf__adds(out, "{\"error\":\"no snapshot yet\"}\n");
		return 503;
	}
	r = calloc(s->n ? s->n : 1, sizeof(*r));
	seen = calloc(s->n ? s->n : 1, sizeof(*seen));
	if (!r || !seen) {
		status = 500;
		buf__adds(out, "{\"error\":\"out of memory\"}\n");
		goto out;
	}
	for (size_t i = 0; i < s->n; i++) {
		const struct sample *smp = &s->samples[i];
		struct hook_state h;

		if (!candidate(s, smp, pid))
			continue;
		r[n].pid = smp->pid;
		memcpy(r[n].comm, smp->comm, sizeof(r[n].comm));
		if (!smp->has_hook || !d->uprobe || uprobe__read_hook(d->uprobe, smp->pid, &h)) {
			r[n].reason = "no control hook loaded: never signalled";
		} else if (!trim__request(d->trim, smp->pid, &r[n].reason)) {
			seen[n] = h.trims + 1; /* the count its answer will bring */
			waiting++;
		}
		if (!seen[n])
			log_info("gc request: pid %d (%s) not trimmed: %s", smp->pid, smp->comm,
				 r[n].reason);
		n++;
	}
	if (pid && !n) {
		status = 404;
		buf__adds(out, "{\"error\":\"no tracked process has that pid\"}\n");
		goto out;
	}
	/* The hooks answer through their report function; wait for each. */
	deadline = clock__mono_ms() + WAIT_MS;
	while (waiting && clock__mono_ms() < deadline) {
		struct timespec pause = { 0, POLL_MS * 1000000L };

		nanosleep(&pause, NULL);
		for (size_t i = 0; i < n; i++) {
			struct hook_state h;

			if (!seen[i] || r[i].trimmed || uprobe__read_hook(d->uprobe, r[i].pid, &h) ||
			    h.trims < seen[i])
				continue;
			r[i].trimmed = true;
			r[i].report = h.last_trim;
			waiting--;
		}
	}
	for (size_t i = 0; i < n; i++)
		if (seen[i] && !r[i].trimmed)
			r[i].reason = "signalled, but the hook did not answer in time";
	api__gc(r, n, out);
out:
	free(r);
	free(seen);
	snapshot__put(s);
	return status;
}
