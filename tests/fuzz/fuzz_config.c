// SPDX-License-Identifier: GPL-2.0
/*
 * The configuration loader on arbitrary files. The input goes through
 * config__load() from a memfd, the way a file named by --config or reread on
 * SIGHUP does, so the reading path is covered along with the YAML walk.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>
#include "config.h"
#include "fuzz.h"

static int memfd = -1;
static char path[64];

/* What a loaded configuration promises the rest of the agent. */
static void check_config(const struct config *cfg)
{
	const struct memory_config *m = &cfg->memory;

	FUZZ_CHECK(m->monitor_interval_ms > 0 && m->gc_interval_ms > 0);
	FUZZ_CHECK(m->low_water_mark_percent < m->high_water_mark_percent);
	FUZZ_CHECK(m->high_water_mark_percent <= m->force_gc_threshold);
	FUZZ_CHECK(m->alert_threshold <= m->force_gc_threshold);
	FUZZ_CHECK(!m->max_memory_mb || m->max_heap_mb <= m->max_memory_mb);
	FUZZ_CHECK(cfg->n_targets > 0);
	for (size_t i = 0; i < cfg->n_targets; i++) {
		const struct target_rule *r = &cfg->targets[i];

		FUZZ_CHECK(r->has_pid || r->has_comm || r->has_cmdline || r->cgroup_prefix ||
			   r->hooked || r->top_rss);
		FUZZ_CHECK(!r->cgroup_prefix || r->cgroup_prefix[0] == '/');
		FUZZ_CHECK(r->heap <= HEAP_HOOK);
	}
	FUZZ_CHECK(cfg->exporter.listen.host);
	FUZZ_CHECK(cfg->exporter.listen.port > 0 && cfg->exporter.listen.port <= 65535);
	FUZZ_CHECK(cfg->push.job && cfg->push.job[0]);
	FUZZ_CHECK(cfg->alerts.history_size > 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char err[CONFIG_ERR_LEN];
	struct config *cfg = NULL;
	int rc;

	if (memfd < 0) {
		memfd = memfd_create("memtide-fuzz.yaml", MFD_CLOEXEC);
		if (memfd < 0)
			abort();
		snprintf(path, sizeof(path), "/proc/self/fd/%d", memfd);
	}
	if (ftruncate(memfd, 0) || pwrite(memfd, data, size, 0) != (ssize_t)size)
		abort();
	memset(err, 0x55, sizeof(err));
	rc = config__load(path, &cfg, err);
	if (rc == 0) {
		check_config(cfg);
		config__free(cfg);
		return 0;
	}
	/* Every refusal says why, within the buffer. */
	FUZZ_CHECK(memchr(err, '\0', sizeof(err)));
	FUZZ_CHECK(rc == -ENOMEM || err[0]);
	return 0;
}
