// SPDX-License-Identifier: Apache-2.0
/*
 * The effective configuration as YAML (--check-config): every key of every
 * section, so what the defaults and the derivation rules made of a file can
 * be read, and the output loads back to the same settings.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "buf.h"
#include "config_yaml.h"
#include "format.h"
#include "utf8.h"

static void add_number(struct buf *b, double v)
{
	char s[FORMAT_DOUBLE_LEN];

	buf__adds(b, format__double(s, v));
}

/* The largest unit that divides it: 30s, 5m, 1500ms. */
static void add_duration(struct buf *b, uint64_t ms)
{
	static const struct {
		const char *name;
		uint64_t ms;
	} units[] = { { "w", 604800000 }, { "d", 86400000 }, { "h", 3600000 },
		      { "m", 60000 },	  { "s", 1000 },     { "ms", 1 } };
	size_t i = 0;

	while (ms && ms % units[i].ms)
		i++;
	if (!ms)
		i = 5;
	buf__addf(b, "%llu%s", (unsigned long long)(ms / units[i].ms), units[i].name);
}

/*
 * The inside of a YAML double-quoted scalar. Whatever YAML would not read
 * back as itself is escaped: quotes, backslashes, C0 and C1 controls, and the
 * characters YAML 1.1 takes for line breaks (U+0085, U+2028, U+2029) or a BOM.
 */
static void add_escaped_n(struct buf *b, const char *str, size_t len)
{
	const unsigned char *s = (const unsigned char *)str, *end = s + len;
	uint32_t cp;
	size_t n;

	while (s < end) {
		n = utf8__next((const char *)s, (size_t)(end - s), &cp);
		if (!n) { /* not from libyaml, which reads UTF-8 only */
			buf__addf(b, "\\x%02x", *s++);
			continue;
		}
		if (cp == '"' || cp == '\\')
			buf__addf(b, "\\%c", (char)cp);
		else if (cp < 0x20 || (cp >= 0x7f && cp <= 0x9f))
			buf__addf(b, "\\x%02x", (unsigned int)cp);
		else if (cp == 0x2028 || cp == 0x2029 || cp == 0xfeff || cp == 0xfffe ||
			 cp == 0xffff)
			buf__addf(b, "\\u%04x", (unsigned int)cp);
		else
			buf__add(b, s, n);
		s += n;
	}
}

static void add_escaped(struct buf *b, const char *s)
{
	add_escaped_n(b, s, strlen(s));
}

/* NULL is the empty string, which every string key reads as "none". */
static void add_string(struct buf *b, const char *s)
{
	buf__adds(b, "\"");
	add_escaped(b, s ? s : "");
	buf__adds(b, "\"");
}

/* A URL's password is a secret: stdout of --check-config ends up in CI and
 * init-container logs. Printed as Prometheus prints secrets, "<secret>"
 * (which reads back, and prints again, the same). */
static void add_url(struct buf *b, const char *url)
{
	const char *auth = url ? strstr(url, "://") : NULL;
	const char *at, *colon;
	size_t host_start;

	if (!auth) {
		add_string(b, url);
		return;
	}
	auth += 3;
	host_start = strcspn(auth, "/?#");
	at = memrchr(auth, '@', host_start);
	colon = at ? memchr(auth, ':', (size_t)(at - auth)) : NULL;
	if (!colon) {
		add_string(b, url);
		return;
	}
	buf__adds(b, "\"");
	add_escaped_n(b, url, (size_t)(colon + 1 - url));
	buf__adds(b, "<secret>");
	add_escaped(b, at);
	buf__adds(b, "\"");
}

/* "host:port", the host in brackets when it has colons (IPv6) or starts with one. */
static void add_listen(struct buf *b, const struct listen_addr *l)
{
	bool v6 = strchr(l->host, ':') || l->host[0] == '[';

	buf__adds(b, v6 ? "\"[" : "\"");
	add_escaped(b, l->host);
	buf__addf(b, "%s:%u\"", v6 ? "]" : "", l->port);
}

static void add_value(struct buf *b, enum kind kind, const void *field)
{
	switch (kind) {
	case K_DURATION:
		add_duration(b, *(const uint64_t *)field);
		break;
	case K_PERCENT:
		add_number(b, *(const double *)field);
		break;
	case K_BOOL:
		buf__adds(b, *(const bool *)field ? "true" : "false");
		break;
	case K_MB:
	case K_COUNT:
		buf__addf(b, "%llu", (unsigned long long)*(const uint64_t *)field);
		break;
	case K_URL:
		add_url(b, *(char *const *)field);
		break;
	case K_STRING:
	case K_NONEMPTY:
	case K_ABSPATH:
		add_string(b, *(char *const *)field);
		break;
	case K_LISTEN:
		add_listen(b, field);
		break;
	}
}

static void add_targets(struct buf *b, const struct config *cfg)
{
	buf__adds(b, "targets:\n");
	for (size_t i = 0; i < cfg->n_targets; i++) {
		const struct target_rule *r = &cfg->targets[i];
		const char *sep = " ";

		buf__adds(b, "  - match: {");
		if (r->has_pid) {
			buf__addf(b, "%spid: %d", sep, r->pid);
			sep = ", ";
		}
		if (r->has_comm) {
			buf__addf(b, "%scomm: ", sep);
			add_string(b, r->comm_pattern);
			sep = ", ";
		}
		if (r->has_cmdline) {
			buf__addf(b, "%scmdline: ", sep);
			add_string(b, r->cmdline_pattern);
			sep = ", ";
		}
		if (r->cgroup_prefix) {
			buf__addf(b, "%scgroup: ", sep);
			add_string(b, r->cgroup_prefix);
			sep = ", ";
		}
		if (r->hooked) {
			buf__addf(b, "%shooked: true", sep);
			sep = ", ";
		}
		if (r->top_rss)
			buf__addf(b, "%stop_rss: %u", sep, r->top_rss);
		buf__addf(b, " }\n    heap: %s\n", heap_tier__name(r->heap));
	}
}

int config__print(const struct config *cfg, struct buf *b)
{
	for (size_t i = 0; i < config_n_sections; i++) {
		const struct config_section *sec = &config_sections[i];
		const char *base = (const char *)cfg + sec->base;

		buf__addf(b, "%s:\n", sec->name);
		for (size_t k = 0; k < sec->n; k++) {
			buf__addf(b, "  %s: ", sec->keys[k].key);
			add_value(b, sec->keys[k].kind, base + sec->keys[k].offset);
			buf__adds(b, "\n");
		}
		if (i == 0)
			add_targets(b, cfg);
	}
	return b->err;
}
