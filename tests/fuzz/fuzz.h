/* SPDX-License-Identifier: Apache-2.0 */
/*
 * What the libFuzzer harnesses share: reading typed values and string fields
 * off the fuzz input, and a snapshot built from it. An input that runs out
 * reads as zeros, so every input is a valid one.
 */
#ifndef MEMTIDE_FUZZ_H
#define MEMTIDE_FUZZ_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "snapshot.h"

/* Large enough for any render of a fuzzed snapshot, so that only a real
 * overflow, not the cap, stops a writer. */
#define FUZZ_BUF_MAX (64u << 20)
/* Samples in a fuzzed snapshot: enough for the per-process loops. */
#define FUZZ_MAX_SAMPLES 8

/* A property of the code under test; a failure is a crash like any other. */
#define FUZZ_CHECK(cond)                                                                           \
	do {                                                                                       \
		if (!(cond)) {                                                                     \
			fprintf(stderr, "fuzz check failed: %s (%s:%d)\n", #cond, __FILE__,        \
				__LINE__);                                                         \
			abort();                                                                   \
		}                                                                                  \
	} while (0)

struct fuzz_in {
	const uint8_t *p;
	size_t n;
};

static inline void fuzz_bytes(struct fuzz_in *in, void *dst, size_t len)
{
	size_t k = len < in->n ? len : in->n;

	memcpy(dst, in->p, k);
	memset((char *)dst + k, 0, len - k);
	in->p += k;
	in->n -= k;
}

static inline uint8_t fuzz_u8(struct fuzz_in *in)
{
	uint8_t v;

	fuzz_bytes(in, &v, sizeof(v));
	return v;
}

static inline uint64_t fuzz_u64(struct fuzz_in *in)
{
	uint64_t v;

	fuzz_bytes(in, &v, sizeof(v));
	return v;
}

static inline int fuzz_int(struct fuzz_in *in)
{
	int v;

	fuzz_bytes(in, &v, sizeof(v));
	return v;
}

/* Raw bits: NaN, infinities and subnormals are all reachable. */
static inline double fuzz_double(struct fuzz_in *in)
{
	double v;

	fuzz_bytes(in, &v, sizeof(v));
	return v;
}

/* Through a byte: a bool holding anything but 0 or 1 is not a value C has. */
static inline bool fuzz_bool(struct fuzz_in *in)
{
	return fuzz_u8(in) & 1;
}

/*
 * A fixed-size string field (comm, the pod identity's): a length byte, then that many
 * arbitrary bytes (at most @size - 1), NUL-terminated within the field. The
 * bytes may hold NULs of their own, as a field copied from the kernel can.
 */
static inline void fuzz_field(struct fuzz_in *in, char *dst, size_t size)
{
	size_t len = fuzz_u8(in) % size;

	memset(dst, 0, size);
	fuzz_bytes(in, dst, len);
}

/*
 * Valid UTF-8, checked apart from user/utf8.c (which works from Unicode's
 * table of second-byte ranges): decode each code point, then reject
 * overlongs by its shortest length, surrogates and anything past U+10FFFF.
 */
static inline bool fuzz_valid_utf8(const char *text, size_t len)
{
	const unsigned char *s = (const unsigned char *)text;

	for (size_t i = 0; i < len;) {
		size_t n = s[i] < 0x80	       ? 1
			   : (s[i] >> 5) == 6  ? 2
			   : (s[i] >> 4) == 14 ? 3
			   : (s[i] >> 3) == 30 ? 4
					       : 0;
		uint32_t cp = n == 1   ? s[i]
			      : n == 2 ? s[i] & 0x1f
			      : n == 3 ? s[i] & 0x0f
				       : s[i] & 0x07;

		if (!n || i + n > len || s[i] == 0)
			return false;
		for (size_t k = 1; k < n; k++) {
			if ((s[i + k] & 0xc0) != 0x80)
				return false;
			cp = cp << 6 | (s[i + k] & 0x3f);
		}
		if ((n == 2 && cp < 0x80) || (n == 3 && cp < 0x800) || (n == 4 && cp < 0x10000) ||
		    (cp >= 0xd800 && cp <= 0xdfff) || cp > 0x10ffff)
			return false;
		i += n;
	}
	return true;
}

/* A heap string of exactly its length + 1, so that ASan sees any read past
 * its NUL; the caller frees it. */
static inline char *fuzz_string(struct fuzz_in *in, size_t max)
{
	size_t len = fuzz_u8(in);
	char *s;

	if (len > max)
		len = max;
	s = malloc(len + 1);
	if (!s)
		abort();
	fuzz_bytes(in, s, len);
	s[len] = '\0';
	return s;
}

/* The whole input as a C string of exactly its length + 1. */
static inline char *fuzz_cstr(const uint8_t *data, size_t size)
{
	char *s = malloc(size + 1);

	if (!s)
		abort();
	memcpy(s, data, size);
	s[size] = '\0';
	return s;
}

/*
 * Splits @text (NUL-terminated, writable) at its first newline: returns the
 * first line, NUL-terminated in place, and points *rest past it. Harnesses
 * that take a short argument (a prefix, a library name) read it from there.
 */
static inline char *fuzz_first_line(char *text, char **rest)
{
	char *nl = strchr(text, '\n');

	*rest = nl ? nl + 1 : text + strlen(text);
	if (nl)
		*nl = '\0';
	return text;
}

static inline void fuzz_sample(struct fuzz_in *in, struct snapshot *snap, struct sample *s)
{
	union heap_figures *f;

	s->pid = fuzz_int(in);
	s->start_ticks = fuzz_u64(in);
	fuzz_field(in, s->comm, sizeof(s->comm));
	fuzz_field(in, s->ident.namespace, sizeof(s->ident.namespace));
	fuzz_field(in, s->ident.pod, sizeof(s->ident.pod));
	fuzz_field(in, s->ident.container, sizeof(s->ident.container));
	fuzz_field(in, s->ident.pod_uid, sizeof(s->ident.pod_uid));
	fuzz_field(in, s->ident.container_id, sizeof(s->ident.container_id));
	s->tier = (enum heap_tier)(fuzz_u8(in) % (HEAP_HOOK + 1));
	s->rss_bytes = fuzz_u64(in);
	s->anon_bytes = fuzz_u64(in);
	s->file_bytes = fuzz_u64(in);
	s->shmem_bytes = fuzz_u64(in);
	s->swap_bytes = fuzz_u64(in);
	s->rss_peak_bytes = fuzz_u64(in);
	s->minflt = fuzz_u64(in);
	s->majflt = fuzz_u64(in);
	s->limit_bytes = fuzz_u64(in);
	s->heap_limit_bytes = fuzz_u64(in);
	s->limit_from_cgroup = fuzz_bool(in);
	s->usage_percent = fuzz_double(in);
	s->has_uprobe = fuzz_bool(in);
	/* Integer-only structs: any bytes are a value. */
	if (s->has_uprobe) {
		f = snapshot__heap_figures(snap);
		fuzz_bytes(in, &f->uprobe, sizeof(f->uprobe));
		s->heap = &f->uprobe;
	}
	s->has_hook = fuzz_bool(in);
	if (s->has_hook) {
		f = snapshot__heap_figures(snap);
		fuzz_bytes(in, &f->hook, sizeof(f->hook));
		s->hook = &f->hook;
	}
	s->gc_cpu_fraction = fuzz_double(in);
}

static inline void fuzz_agent_stats(struct fuzz_in *in, struct agent_stats *a)
{
	for (size_t i = 0; i <= HEAP_HOOK; i++)
		a->targets_by_tier[i] = fuzz_u64(in);
	a->targets_dropped = fuzz_u64(in);
	for (size_t i = 0; i < HEAP_STATES; i++)
		a->heap_states[i] = fuzz_u64(in);
	a->oom_kills_total = fuzz_u64(in);
	a->oom_victim_pid = fuzz_int(in);
	fuzz_field(in, a->oom_victim_comm, sizeof(a->oom_victim_comm));
	a->oom_victim_time = fuzz_double(in);
	a->config_reload_ok = fuzz_bool(in);
	a->config_reload_time = fuzz_double(in);
	a->collect_seconds = fuzz_double(in);
	a->start_time = fuzz_double(in);
	a->bpf_ok = fuzz_bool(in);
	for (size_t i = 0; i < 4; i++)
		a->alerts_firing[i] = fuzz_u64(in);
	a->push.enabled = fuzz_bool(in);
	a->push.successes = fuzz_u64(in);
	a->push.failures = fuzz_u64(in);
	a->push.consecutive_failures = (unsigned int)fuzz_u64(in);
	a->push.last_success_time = fuzz_double(in);
	for (size_t i = 0; i < TARGET_STATES; i++)
		a->target_states[i] = fuzz_u64(in);
}

/*
 * A snapshot as the collector would hand it over, but with every field from
 * the input: label strings are arbitrary bytes, numbers any bit pattern. The
 * samples come first so that short inputs still have some.
 */
static inline struct snapshot *fuzz_snapshot(struct fuzz_in *in)
{
	size_t n = fuzz_u8(in) % (FUZZ_MAX_SAMPLES + 1);
	struct snapshot *s = snapshot__new(n, 2 * n);

	if (!s)
		abort();
	s->n = n;
	for (size_t i = 0; i < n; i++)
		fuzz_sample(in, s, &s->samples[i]);
	s->time = fuzz_double(in);
	s->memory.monitor_interval_ms = fuzz_u64(in);
	s->memory.high_water_mark_percent = fuzz_double(in);
	s->memory.low_water_mark_percent = fuzz_double(in);
	s->memory.alert_threshold = fuzz_double(in);
	s->memory.enable_auto_gc = fuzz_bool(in);
	s->memory.gc_interval_ms = fuzz_u64(in);
	s->memory.force_gc_threshold = fuzz_double(in);
	s->memory.max_memory_mb = fuzz_u64(in);
	s->memory.max_heap_mb = fuzz_u64(in);
	fuzz_agent_stats(in, &s->agent);
	return s;
}

#endif
