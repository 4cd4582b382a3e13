// SPDX-License-Identifier: Apache-2.0
/* The collection loop: discovery, snapshots, outputs, signals (see agent.h). */
#include <errno.h>
#include <poll.h>
#include <malloc.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/signalfd.h>
#include "agent.h"
#include "alertmanager.h"
#include "alerts.h"
#include "buf.h"
#include "clock.h"
#include "collector.h"
#include "discovery.h"
#include "exposition.h"
#include "gc.h"
#include "http.h"
#include "kernel.h"
#include "log.h"
#include "memstat.h"
#include "policy.h"
#include "profile.h"
#include "push.h"
#include "snapshot.h"
#include "textfile.h"
#include "trim.h"
#include "heap.h"

/* Without event-driven discovery (bpf/procs.bpf.c did not load): /proc scans. */
#define DISCOVER_INTERVAL_MS 500
#define METRICS_MAX_BYTES (64u << 20)
#define EARLY_SNAPSHOT_GAP_MS 250

struct agent {
	struct config *cfg;
	bool once;
	struct kernel *kernel;
	struct heap *heap;
	struct trim *trim;
	struct policy *policy;
	struct gc_deps gc;
	struct alerts *alerts;
	struct profile *profile; /* NULL: no sampled allocation sites */
	struct alertmanager *alertmanager;
	struct collector *collector;
	struct discovery *discovery; /* NULL: /proc scans every DISCOVER_INTERVAL_MS */
	struct discovery_stats dstats;
	struct http *http;
	struct push *push;
	struct listen_addr listen; /* what the server is bound to: a reload cannot move it */
	bool reload_ok;
	bool marked; /* the first snapshot's memory logged */
	double reload_time, start_time;
	char node[NODE_NAME_LEN];
};

static bool loopback(const char *host)
{
	return strncmp(host, "127.", 4) == 0 || strcmp(host, "::1") == 0 ||
	       strcmp(host, "localhost") == 0;
}

static int start_http(struct agent *a)
{
	const struct exporter_config *e = &a->cfg->exporter;
	int err = http__start(e->listen.host, e->listen.port, &a->http);

	if (err)
		return err;
	a->listen.port = e->listen.port;
	a->listen.host = strdup(e->listen.host);
	if (!a->listen.host)
		return -ENOMEM;
	err = http__set_token(a->http, a->cfg->api.token);
	if (err)
		return err;
	log_info("serving metrics on http://%s%s%s:%u/metrics",
		 strchr(e->listen.host, ':') ? "[" : "", e->listen.host,
		 strchr(e->listen.host, ':') ? "]" : "", e->listen.port);
	if (!loopback(e->listen.host) && !a->cfg->api.token)
		log_warn("listening on %s with no api.token_file: anyone who can reach it can POST",
			 *e->listen.host ? e->listen.host : "every address");
	return 0;
}

static int request_trim(void *trim, int pid, const char **why)
{
	return trim__request(trim, pid, why);
}

/* What each module keeps per process goes when the collector stops tracking it. */
static void policy_gone(void *policy, const struct proc_key *k)
{
	policy__forget(policy, k);
}

static void alerts_gone(void *alerts, const struct proc_key *k)
{
	alerts__forget(alerts, k);
}

static void trim_gone(void *trim, const struct proc_key *k)
{
	trim__forget(trim, k);
}

static void uprobe_gone(void *heap, const struct proc_key *k)
{
	heap__drop(heap, k->pid);
}

static void profile_gone(void *profile, const struct proc_key *k)
{
	profile__forget(profile, k);
}

static void on_process_event(void *collector, const struct procs_event *e)
{
	collector__event(collector, e);
}

static int subscribe(struct agent *a)
{
	int err = collector__on_gone(a->collector, policy_gone, a->policy);

	err = err ? err : collector__on_gone(a->collector, alerts_gone, a->alerts);
	err = err ? err : collector__on_gone(a->collector, trim_gone, a->trim);
	if (!err && a->heap)
		err = collector__on_gone(a->collector, uprobe_gone, a->heap);
	if (!err && a->profile)
		err = collector__on_gone(a->collector, profile_gone, a->profile);
	return err;
}

int agent__new(struct config *cfg, bool once, struct agent **out)
{
	struct agent *a = calloc(1, sizeof(*a));
	struct policy_trim trim;
	int err;

	if (!a)
		return -ENOMEM;
	a->cfg = cfg;
	a->once = once;
	a->reload_ok = true;
	a->start_time = a->reload_time = clock__unix();
	node__name(a->node, sizeof(a->node));
	memstat__mark("the configuration");
	err = kernel__open(&a->kernel);
	if (err)
		goto free_agent;
	/* Loading parses the kernel's BTF (libbpf 1.1 holds it twice, ~11 MB,
	 * for a moment: the start-up peak); what it frees goes back before
	 * the heap tiers' load does the same. */
	malloc_trim(0);
	memstat__mark("loading the kernel tier");
	/* Without it, uprobe-tier targets still get the kernel tier. */
	if (heap__open(false, &a->heap))
		a->heap = NULL;
	memstat__mark("loading the heap tiers");
	err = trim__new(&a->trim);
	if (err)
		goto destroy_heap;
	trim = (struct policy_trim){ .request = request_trim, .ctx = a->trim };
	err = policy__new(&trim, &a->policy);
	if (err)
		goto free_trim;
	err = alerts__new(&cfg->alerts, &a->alerts);
	if (err)
		goto free_policy;
	/* Without it, the rest runs: no sites, no profiles. */
	err = profile__new(cfg, &a->profile);
	if (err) {
		log_warn("sampled allocation sites are off: %s", strerror(-err));
		a->profile = NULL;
	}
	err = collector__new(a->kernel, a->heap, a->trim, cfg, &a->collector);
	if (err)
		goto free_profile;
	err = subscribe(a);
	if (err)
		goto stop_http;
	/* Events are handled on the collection loop: it owns the tracked set. */
	err = discovery__open(on_process_event, a->collector, &a->discovery);
	if (err) {
		a->discovery = NULL;
		log_warn("process events unavailable (%s): scanning /proc twice a second",
			 strerror(-err));
	}
	collector__set_discovery(a->collector, a->discovery);
	a->dstats.on = a->discovery != NULL;
	memstat__mark("the collector's set-up");
	if (!once) {
		err = start_http(a);
		if (err)
			goto stop_http;
		a->gc = (struct gc_deps){ .trim = a->trim, .heap = a->heap };
		http__set_gc(a->http, &a->gc);
		http__set_alerts(a->http, a->alerts);
		http__set_profile(a->http, a->profile);
		err = alertmanager__start(&cfg->alertmanager, a->alerts, &a->alertmanager);
		if (err)
			goto stop_http;
		err = push__start(&cfg->push, cfg->memory.monitor_interval_ms, &a->push);
		if (err)
			goto stop_http;
		memstat__mark("starting the HTTP server and the pushers");
	}
	*out = a;
	return 0;

stop_http:
	discovery__destroy(a->discovery);
	push__stop(a->push, false);
	alertmanager__stop(a->alertmanager);
	http__stop(a->http);
	collector__free(a->collector);
free_profile:
	profile__free(a->profile);
	alerts__free(a->alerts);
free_policy:
	policy__free(a->policy);
free_trim:
	trim__free(a->trim);
destroy_heap:
	heap__destroy(a->heap);
	kernel__destroy(a->kernel);
free_agent:
	free(a->listen.host);
	free(a);
	return err;
}

/*
 * A stop is bounded (SIGTERM to exit within a few seconds, whatever the
 * backends do) and leaves nothing in the targets: the last push and the
 * Alertmanager client wind down on their own threads (each bounded) while
 * the HTTP server stops and every probe comes off; only then is anything
 * joined or freed.
 */
void agent__free(struct agent *a)
{
	if (!a)
		return;
	push__shutdown(a->push, true);
	alertmanager__shutdown(a->alertmanager);
	/* Nothing may ask for a trim or read a probe's map once they go. */
	http__stop(a->http);
	heap__destroy(a->heap);
	profile__free(a->profile);
	push__stop(a->push, true);
	alertmanager__stop(a->alertmanager);
	discovery__destroy(a->discovery);
	collector__free(a->collector);
	alerts__free(a->alerts);
	policy__free(a->policy);
	trim__free(a->trim);
	kernel__destroy(a->kernel);
	config__free(a->cfg);
	free(a->listen.host);
	free(a);
}

/* One snapshot, rendered once, handed to every output. */
static struct snapshot *take_snapshot(struct agent *a)
{
	uint64_t start = clock__boot_ns(); /* ns: a collection takes well under a millisecond */
	struct snapshot *snap = collector__snapshot(a->collector);
	struct buf b;

	if (!snap) {
		log_error("snapshot: out of memory");
		return NULL;
	}
	snap->agent.config_reload_ok = a->reload_ok;
	snap->agent.config_reload_time = a->reload_time;
	snap->agent.start_time = a->start_time;
	memcpy(snap->agent.node, a->node, sizeof(a->node));
	snap->agent.collect_seconds = (double)(clock__boot_ns() - start) / 1e9;
	push__stats(a->push, &snap->agent.push);
	if (a->profile)
		profile__fill(a->profile, snap, clock__mono_ms(), a->cfg->alerts.leak_window_ms);
	if (a->discovery) {
		discovery__events(a->discovery, a->dstats.events);
		a->dstats.lost = discovery__lost(a->discovery);
	}
	snap->agent.discovery = a->dstats;
	alerts__evaluate(a->alerts, &a->cfg->memory, snap, clock__mono_ms());
	buf__init(&b, METRICS_MAX_BYTES);
	if (exposition__render(snap, &b)) {
		log_error("rendering metrics: %s", strerror(-b.err));
		buf__free(&b);
		snapshot__put(snap);
		return NULL;
	}
	snap->metrics = buf__steal(&b, &snap->metrics_len);
	if (a->cfg->exporter.textfile_dir)
		textfile__write(a->cfg->exporter.textfile_dir, snap->metrics, snap->metrics_len);
	return snap;
}

static bool am_same(const struct alertmanager_config *x, const struct alertmanager_config *y)
{
	return (x->url == y->url || (x->url && y->url && !strcmp(x->url, y->url))) &&
	       x->resend_interval_ms == y->resend_interval_ms && x->timeout_ms == y->timeout_ms;
}

/* A bad new file keeps the running configuration. */
static void reload(struct agent *a)
{
	char err[CONFIG_ERR_LEN];
	struct config *next;
	int rc = config__load(a->cfg->path, &next, err);

	if (rc) {
		a->reload_ok = false;
		log_error("reload failed, keeping the running configuration: %s", err);
		return;
	}
	/* Against the bound address, not the last file: a value changed and then
	 * restored is no change. */
	if (a->listen.host && (strcmp(next->exporter.listen.host, a->listen.host) ||
			       next->exporter.listen.port != a->listen.port))
		log_warn("reload: exporter.listen changes take effect at restart");
	if (!push__same_config(&next->push, &a->cfg->push) ||
	    next->memory.monitor_interval_ms != a->cfg->memory.monitor_interval_ms) {
		push__stop(a->push, false);
		if (push__start(&next->push, next->memory.monitor_interval_ms, &a->push))
			log_error(
				"reload: cannot start pushing; pushes stay off until the next reload");
	}
	alerts__set_config(a->alerts, &next->alerts);
	if (!a->once && !am_same(&next->alertmanager, &a->cfg->alertmanager)) {
		alertmanager__stop(a->alertmanager);
		if (alertmanager__start(&next->alertmanager, a->alerts, &a->alertmanager))
			log_error("reload: cannot start the Alertmanager client");
	}
	if (a->http && http__set_token(a->http, next->api.token))
		log_error("reload: out of memory setting the API token");
	collector__set_config(a->collector, next);
	if (a->profile)
		profile__set_config(a->profile, next);
	config__free(a->cfg);
	a->cfg = next;
	a->reload_ok = true;
	a->reload_time = clock__unix();
	log_info("configuration reloaded from %s", next->path);
}

static void print_once(struct snapshot *snap)
{
	size_t done = 0;

	while (done < snap->metrics_len) {
		ssize_t n = write(STDOUT_FILENO, snap->metrics + done, snap->metrics_len - done);

		if (n <= 0 && errno != EINTR)
			break;
		if (n > 0)
			done += (size_t)n;
	}
}

static void reconcile(struct agent *a, enum reconcile_reason why)
{
	collector__discover(a->collector);
	a->dstats.reconciliations[why]++;
	log_debug("reconciled with /proc (%s)", why == RECONCILE_START	    ? "start"
						: why == RECONCILE_PERIODIC ? "periodic"
						: why == RECONCILE_LOST	    ? "lost events"
									    : "reload");
}

/* What discovery does this turn: lost events, a reconciliation, look-agains. */
static uint64_t discover(struct agent *a, uint64_t now, uint64_t next, enum reconcile_reason *why,
			 uint64_t *lost_seen)
{
	uint64_t lost;

	if (!a->discovery) {
		if (now < next)
			return next;
		collector__discover(a->collector);
		return now + DISCOVER_INTERVAL_MS;
	}
	lost = discovery__lost(a->discovery);
	if (lost != *lost_seen) {
		*lost_seen = lost;
		log_warn("%llu process events lost (ring buffer full): reconciling with /proc",
			 (unsigned long long)lost);
		*why = RECONCILE_LOST;
		next = now;
	}
	if (now >= next) {
		reconcile(a, *why);
		*why = RECONCILE_PERIODIC;
		next = now + a->cfg->memory.reconcile_interval_ms;
	}
	collector__run_pending(a->collector);
	return next;
}

/* Waits for a signal, process events or @wake_ms; the signal, or 0. */
static int wait_for(struct agent *a, int sfd, uint64_t wake_ms)
{
	struct pollfd fds[2] = { { .fd = sfd, .events = POLLIN },
				 { .fd = a->discovery ? discovery__fd(a->discovery) : -1,
				   .events = POLLIN } };
	uint64_t now = clock__mono_ms();
	int timeout = wake_ms > now ? (int)(wake_ms - now < 60000 ? wake_ms - now : 60000) : 0;
	struct signalfd_siginfo si;

	if (poll(fds, 2, timeout) <= 0)
		return 0;
	if (fds[1].revents & POLLIN)
		discovery__consume(a->discovery);
	if ((fds[0].revents & POLLIN) && read(sfd, &si, sizeof(si)) == sizeof(si))
		return (int)si.ssi_signo;
	return 0;
}

int agent__run(struct agent *a)
{
	uint64_t next_discover = clock__mono_ms(), next_snapshot = next_discover, lost_seen = 0;
	uint64_t last_snapshot = 0, started_seen = 0;
	enum reconcile_reason why = RECONCILE_START;
	sigset_t set;
	int sfd, rc = 0;

	sigemptyset(&set);
	sigaddset(&set, SIGHUP);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	/* Signals and process events wake the same poll(). */
	sfd = signalfd(-1, &set, SFD_CLOEXEC);
	if (sfd < 0) {
		log_error("signalfd: %s", strerror(errno));
		return 1;
	}
	if (a->once)
		next_snapshot += a->cfg->memory.monitor_interval_ms;
	for (;;) {
		uint64_t now = clock__mono_ms(), wake, due;
		int sig;

		next_discover = discover(a, now, next_discover, &why, &lost_seen);
		/* A process just tracked is in the outputs (and POST gc) soon, not
		 * a monitor interval later; a fork storm costs a few snapshots a
		 * second at most. */
		if (!a->once && collector__started(a->collector) != started_seen &&
		    last_snapshot + EARLY_SNAPSHOT_GAP_MS < next_snapshot)
			next_snapshot = last_snapshot + EARLY_SNAPSHOT_GAP_MS;
		if (now >= next_snapshot) {
			started_seen = collector__started(a->collector);
			last_snapshot = now;
			struct snapshot *snap = take_snapshot(a);

			if (a->once) {
				if (snap) {
					print_once(snap);
					snapshot__put(snap);
				}
				rc = snap ? 0 : 1;
				break;
			}
			if (snap) {
				policy__evaluate(a->policy, &a->cfg->memory, snap,
						 clock__mono_ms());
				snapshot__publish(snap);
				if (!a->marked) { /* the first: the start-up's end */
					malloc_trim(0);
					memstat__mark("the first snapshot");
				}
				a->marked = true;
			}
			next_snapshot = now + a->cfg->memory.monitor_interval_ms;
		}
		wake = next_discover < next_snapshot ? next_discover : next_snapshot;
		due = a->discovery ? collector__next_due(a->collector) : UINT64_MAX;
		sig = wait_for(a, sfd, due < wake ? due : wake);
		if (sig == SIGHUP) {
			reload(a);
			why = RECONCILE_RELOAD;
			next_discover = next_snapshot = clock__mono_ms();
		} else if (sig == SIGINT || sig == SIGTERM) {
			log_info("%s: shutting down", strsignal(sig));
			/* node_exporter would serve the last figures for ever. */
			if (a->cfg->exporter.textfile_dir)
				textfile__remove(a->cfg->exporter.textfile_dir);
			break;
		}
	}
	close(sfd);
	return rc;
}
