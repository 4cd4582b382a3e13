// SPDX-License-Identifier: Apache-2.0
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
#include "buf.h"
#include "config.h"
#include "fuzz.h"

static int memfd = -1;
static char path[64];

/* What a loaded configuration promises the rest of the agent. */
static void check_config(const struct config *cfg)
{
	const struct memory_config *m = &cfg->memory;

	FUZZ_CHECK(m->monitor_interval_ms > 0 && m->gc_interval_ms > 0);
	FUZZ_CHECK(m->low_water_mark_percent > 0 && m->force_gc_threshold <= 100);
	FUZZ_CHECK(cfg->push.interval_ms > 0);
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

/* --check-config's output loads, and prints the same again. */
static void check_round_trip(const struct config *cfg)
{
	char err[CONFIG_ERR_LEN];
	struct config *again = NULL;
	struct buf one, two;

	buf__init(&one, FUZZ_BUF_MAX);
	buf__init(&two, FUZZ_BUF_MAX);
	FUZZ_CHECK(config__print(cfg, &one) == 0);
	if (config__parse("printed", one.data, one.len, &again, err)) {
		fprintf(stderr, "printed configuration refused: %s\n%s", err, one.data);
		FUZZ_CHECK(!"the printed configuration loads");
	}
	FUZZ_CHECK(config__print(again, &two) == 0);
	FUZZ_CHECK(one.len == two.len && memcmp(one.data, two.data, one.len) == 0);
	config__free(again);
	buf__free(&one);
	buf__free(&two);
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
		check_round_trip(cfg);
		config__free(cfg);
		return 0;
	}
	/* Every refusal says why, within the buffer. */
	FUZZ_CHECK(memchr(err, '\0', sizeof(err)));
	FUZZ_CHECK(rc == -ENOMEM || err[0]);
	return 0;
}
