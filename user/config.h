/* SPDX-License-Identifier: Apache-2.0 */
/* The agent's settings, loaded from YAML and validated as a whole. */
#ifndef MEMTIDE_CONFIG_H
#define MEMTIDE_CONFIG_H

#include <regex.h>
#include <stdbool.h>
#include <stdint.h>
#include <stddef.h>

#define CONFIG_ERR_LEN 512

enum heap_tier { HEAP_NONE, HEAP_UPROBE, HEAP_HOOK };

struct memory_config {
	uint64_t monitor_interval_ms;
	double high_water_mark_percent;
	double low_water_mark_percent;
	double alert_threshold;
	bool enable_auto_gc;
	uint64_t gc_interval_ms;
	uint64_t reconcile_interval_ms; /* full /proc scan behind event-driven discovery */
	double force_gc_threshold;
	uint64_t max_memory_mb; /* 0: the process's cgroup limit, else total RAM */
	uint64_t max_heap_mb;
	/* api.gc_min_interval: kept here because every snapshot carries these
	 * settings to the HTTP threads, so a reload reaches them without locks. */
	uint64_t api_gc_min_interval_ms;
};

/* One `targets:` entry; every key present must match (logical AND). */
struct target_rule {
	bool has_pid, has_comm, has_cmdline, hooked;
	int pid;
	regex_t comm;
	regex_t cmdline;
	char *comm_pattern, *cmdline_pattern; /* as written, for config__print() */
	char *cgroup_prefix; /* NULL: any */
	char *cgroup_slice; /* the same prefix in systemd's slice names; NULL: none */
	unsigned int top_rss; /* 0: no limit; else the N largest by RSS that match */
	enum heap_tier heap;
};

struct listen_addr {
	char *host; /* "" for every address */
	unsigned int port;
};

struct exporter_config {
	struct listen_addr listen;
	char *textfile_dir; /* NULL: no textfile output */
};

struct push_config {
	char *url; /* NULL: no push */
	char *job;
	char *instance; /* NULL: $NODE_NAME, else the host name */
	uint64_t interval_ms; /* unset: the monitor interval */
	uint64_t timeout_ms;
	bool delete_on_shutdown;
};

struct api_config {
	char *token_file; /* NULL: POSTs need no token */
	char *token; /* the file's content, read at load */
};

struct alerts_config {
	uint64_t high_for_ms, critical_for_ms, trim_cpu_for_ms, leak_for_ms;
	double trim_cpu_percent;
	uint64_t leak_window_ms;
	uint64_t leak_objects;
	uint64_t history_size;
};

struct alertmanager_config {
	char *url; /* NULL: no Alertmanager */
	uint64_t resend_interval_ms;
	uint64_t timeout_ms;
};

/* Sampled allocation sites (the otel_memory USDT probes: hooked processes and
 * any program carrying them). */
#define PROFILING_MAX_TOP_SITES 20 /* each is a series per process */

struct profiling_config {
	bool enabled;
	uint64_t top_sites; /* per process on /metrics, at most PROFILING_MAX_TOP_SITES */
};

struct kubernetes_config {
	char *pods_log_dir; /* NULL: no pod names */
	char *containers_log_dir; /* NULL: no container names */
};

struct config {
	char *path;
	struct memory_config memory;
	struct target_rule *targets;
	size_t n_targets;
	struct exporter_config exporter;
	struct push_config push;
	struct api_config api;
	struct alerts_config alerts;
	struct alertmanager_config alertmanager;
	struct kubernetes_config kubernetes;
	struct profiling_config profiling;
};

/* Reads and validates @path. On error returns -errno (-EINVAL for content
 * errors) and writes "file:line:column: sentence" into @err. */
int config__load(const char *path, struct config **out, char err[CONFIG_ERR_LEN]);
/* The same from a text buffer; @name is used in messages. */
int config__parse(const char *name, const char *text, size_t len, struct config **out,
		  char err[CONFIG_ERR_LEN]);
void config__free(struct config *cfg);
const char *heap_tier__name(enum heap_tier tier);

struct buf;
/* Appends @cfg as YAML that config__parse() reads back to the same settings:
 * every key, defaults and derived values included. 0 or -errno. */
int config__print(const struct config *cfg, struct buf *b);

/* Scalar parsers, pure; 0 or -EINVAL. */
int parse_duration_ms(const char *s, uint64_t *out);
int parse_percent(const char *s, double *out);
int parse_uint(const char *s, uint64_t max, uint64_t *out);
int parse_bool(const char *s, bool *out);
int parse_listen(const char *s, char **host, unsigned int *port);

#endif
