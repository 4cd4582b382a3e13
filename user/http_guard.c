// SPDX-License-Identifier: Apache-2.0
/*
 * libmicrohttpd's idle timeout restarts with every byte, so a client sending
 * one header byte a second holds a connection forever, and a few addresses
 * times the per-address cap can fill the server. Here a connection is
 * "waiting" from its start, and again after each answer, until the access
 * handler has its whole request. Waiting connections are closed once they
 * have waited GUARD_HEADER_TIMEOUT_MS, and when there would be more than
 * GUARD_WAITING_MAX of them: the oldest of the address that has the most
 * goes, so a scraper's single connection outlasts a flood from a handful of
 * addresses. Closing is shutdown() of the socket: libmicrohttpd sees the end
 * of the stream and cleans up as for any client that left; it closes the
 * descriptor only after the CLOSED notification, which takes it out of the
 * table under the same lock, so the descriptor shut down is always ours.
 */
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include "clock.h"
#include "http_guard.h"
#include "log.h"

#define REPORT_MS 60000 /* how often closings are summed up in the log, at most */

struct addr_key {
	unsigned char b[16]; /* IPv4 as IPv4-mapped IPv6 */
};

struct tracked {
	struct tracked *prev, *next; /* in the waiting list, oldest first */
	int fd;
	struct addr_key addr;
	uint64_t since_ms;
	bool waiting, closing;
};

struct addr_count {
	struct addr_key addr;
	unsigned int n;
};

struct http_guard {
	pthread_mutex_t lock;
	pthread_cond_t wake;
	bool stop;
	pthread_t thread;
	struct tracked *head, *tail;
	unsigned int n_waiting;
	/* waiting connections per address; never more addresses than connections */
	struct addr_count counts[GUARD_WAITING_MAX + 1];
	unsigned int n_counts;
	unsigned long closed_slow, closed_full; /* since the last report */
	uint64_t reported_ms; /* 0: never */
};

static struct addr_key key_of(const struct sockaddr *sa)
{
	struct addr_key k = { { 0 } };

	if (sa && sa->sa_family == AF_INET) {
		k.b[10] = k.b[11] = 0xff;
		memcpy(&k.b[12], &((const struct sockaddr_in *)sa)->sin_addr, 4);
	} else if (sa && sa->sa_family == AF_INET6) {
		const struct in6_addr *a = &((const struct sockaddr_in6 *)sa)->sin6_addr;

		memcpy(k.b, a, 16);
		/* One host holds a whole /64: count it as one address. */
		if (!IN6_IS_ADDR_V4MAPPED(a))
			memset(&k.b[8], 0, 8);
	}
	return k;
}

static struct addr_count *count_of(struct http_guard *g, const struct addr_key *k)
{
	for (unsigned int i = 0; i < g->n_counts; i++)
		if (!memcmp(&g->counts[i].addr, k, sizeof(*k)))
			return &g->counts[i];
	return NULL;
}

static void unlink_waiting(struct http_guard *g, struct tracked *t)
{
	struct addr_count *c;

	if (!t->waiting)
		return;
	*(t->prev ? &t->prev->next : &g->head) = t->next;
	*(t->next ? &t->next->prev : &g->tail) = t->prev;
	t->prev = t->next = NULL;
	t->waiting = false;
	g->n_waiting--;
	c = count_of(g, &t->addr);
	if (c && !--c->n)
		*c = g->counts[--g->n_counts];
}

static void close_tracked(struct http_guard *g, struct tracked *t)
{
	unlink_waiting(g, t);
	t->closing = true;
	shutdown(t->fd, SHUT_RDWR);
}

/* The oldest waiting connection of the address with the most of them (on a
 * tie, the oldest of those: never whichever the table happens to list first). */
static void close_one(struct http_guard *g)
{
	unsigned int most = 0;
	struct tracked *t;

	for (unsigned int i = 0; i < g->n_counts; i++)
		if (g->counts[i].n > most)
			most = g->counts[i].n;
	for (t = g->head; t; t = t->next) {
		const struct addr_count *c = count_of(g, &t->addr);

		if (c && c->n == most)
			break;
	}
	if (!t)
		t = g->head; /* the counts and the list always agree; this is a safety net */
	close_tracked(g, t);
	g->closed_full++;
}

static void start_waiting(struct http_guard *g, struct tracked *t)
{
	struct addr_count *c;

	if (t->waiting || t->closing)
		return;
	if (!g->head) /* the sweeper sleeps until there is one */
		pthread_cond_signal(&g->wake);
	t->since_ms = clock__mono_ms();
	t->prev = g->tail;
	t->next = NULL;
	*(g->tail ? &g->tail->next : &g->head) = t;
	g->tail = t;
	t->waiting = true;
	g->n_waiting++;
	c = count_of(g, &t->addr);
	if (!c) {
		c = &g->counts[g->n_counts++];
		*c = (struct addr_count){ .addr = t->addr };
	}
	c->n++;
	while (g->n_waiting > GUARD_WAITING_MAX)
		close_one(g);
}

void http_guard__notify(void *cls, struct MHD_Connection *conn, void **socket_context,
			enum MHD_ConnectionNotificationCode code)
{
	struct http_guard *g = cls;
	struct tracked *t = *socket_context;
	const union MHD_ConnectionInfo *fd, *addr;

	if (code == MHD_CONNECTION_NOTIFY_CLOSED) {
		if (!t)
			return;
		pthread_mutex_lock(&g->lock);
		unlink_waiting(g, t);
		pthread_mutex_unlock(&g->lock);
		free(t);
		*socket_context = NULL;
		return;
	}
	fd = MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CONNECTION_FD);
	addr = MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
	if (!fd)
		return;
	t = calloc(1, sizeof(*t));
	if (!t) {
		/* Untracked, it could wait forever: better refused. */
		shutdown(fd->connect_fd, SHUT_RDWR);
		return;
	}
	t->fd = fd->connect_fd;
	t->addr = key_of(addr ? addr->client_addr : NULL);
	*socket_context = t;
	pthread_mutex_lock(&g->lock);
	start_waiting(g, t);
	pthread_mutex_unlock(&g->lock);
}

static struct tracked *tracked_of(struct MHD_Connection *conn)
{
	const union MHD_ConnectionInfo *ci =
		MHD_get_connection_info(conn, MHD_CONNECTION_INFO_SOCKET_CONTEXT);

	return ci ? ci->socket_context : NULL;
}

/* A request is in (no longer waiting), or answered (waiting for the next). */
static void set_waiting(struct http_guard *g, struct MHD_Connection *conn, bool waiting)
{
	struct tracked *t = tracked_of(conn);

	if (!t)
		return;
	pthread_mutex_lock(&g->lock);
	if (waiting)
		start_waiting(g, t);
	else
		unlink_waiting(g, t);
	pthread_mutex_unlock(&g->lock);
}

void http_guard__active(struct http_guard *g, struct MHD_Connection *conn)
{
	set_waiting(g, conn, false);
}

void http_guard__idle(struct http_guard *g, struct MHD_Connection *conn)
{
	set_waiting(g, conn, true);
}

/* With g->lock held: closes what waited too long, and hands back the closings
 * to report when a report is due; returns the milliseconds until there may be
 * something to do, UINT64_MAX for nothing. */
static uint64_t sweep(struct http_guard *g, unsigned long *slow, unsigned long *full)
{
	uint64_t now = clock__mono_ms(), next = UINT64_MAX;

	while (g->head && now - g->head->since_ms >= GUARD_HEADER_TIMEOUT_MS) {
		close_tracked(g, g->head);
		g->closed_slow++;
	}
	if (g->closed_slow || g->closed_full) {
		if (!g->reported_ms || now - g->reported_ms >= REPORT_MS) {
			/* Logged by the caller once the lock is let go: a slow stderr
			 * must not hold up every HTTP thread. */
			*slow = g->closed_slow;
			*full = g->closed_full;
			g->closed_slow = g->closed_full = 0;
			g->reported_ms = now;
		} else {
			next = g->reported_ms + REPORT_MS - now;
		}
	}
	if (g->head && g->head->since_ms + GUARD_HEADER_TIMEOUT_MS - now < next)
		next = g->head->since_ms + GUARD_HEADER_TIMEOUT_MS - now;
	return next;
}

/* Sleeps until the oldest waiting connection's time is up (or a report is
 * due); with nothing waiting, until one starts. */
static void *sweeper(void *arg)
{
	struct http_guard *g = arg;

	pthread_mutex_lock(&g->lock);
	while (!g->stop) {
		unsigned long slow = 0, full = 0;
		uint64_t next = sweep(g, &slow, &full);
		struct timespec until = clock__deadline(next == UINT64_MAX ? 0 : next);

		if (slow || full) {
			pthread_mutex_unlock(&g->lock);
			log_warn(
				"http: closed %lu connections that sent no whole request within %d s and %lu beyond %d waiting at once",
				slow, GUARD_HEADER_TIMEOUT_MS / 1000, full, GUARD_WAITING_MAX);
			pthread_mutex_lock(&g->lock);
			continue;
		}

		if (next == UINT64_MAX)
			pthread_cond_wait(&g->wake, &g->lock);
		else
			pthread_cond_timedwait(&g->wake, &g->lock, &until);
	}
	pthread_mutex_unlock(&g->lock);
	return NULL;
}

int http_guard__new(struct http_guard **out)
{
	struct http_guard *g = calloc(1, sizeof(*g));
	int err;

	if (!g)
		return -ENOMEM;
	err = clock__cond_init(&g->wake);
	if (err)
		goto free_guard;
	pthread_mutex_init(&g->lock, NULL);
	err = -pthread_create(&g->thread, NULL, sweeper, g);
	if (err)
		goto destroy;
	*out = g;
	return 0;

destroy:
	pthread_mutex_destroy(&g->lock);
	pthread_cond_destroy(&g->wake);
free_guard:
	free(g);
	return err;
}

void http_guard__free(struct http_guard *g)
{
	if (!g)
		return;
	pthread_mutex_lock(&g->lock);
	g->stop = true;
	pthread_cond_signal(&g->wake);
	pthread_mutex_unlock(&g->lock);
	pthread_join(g->thread, NULL);
	pthread_mutex_destroy(&g->lock);
	pthread_cond_destroy(&g->wake);
	free(g);
}

void http_peer(struct MHD_Connection *conn, char *out, size_t len)
{
	const union MHD_ConnectionInfo *ci =
		MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
	const struct sockaddr *sa = ci ? ci->client_addr : NULL;
	struct sockaddr_in v4;
	char host[INET6_ADDRSTRLEN], port[8];
	socklen_t sl;

	if (!sa || (sa->sa_family != AF_INET && sa->sa_family != AF_INET6)) {
		snprintf(out, len, "an unknown address");
		return;
	}
	sl = sa->sa_family == AF_INET ? sizeof(struct sockaddr_in) : sizeof(struct sockaddr_in6);
	/* A dual-stack socket shows IPv4 clients as ::ffff:a.b.c.d: print them as IPv4. */
	if (sa->sa_family == AF_INET6 &&
	    IN6_IS_ADDR_V4MAPPED(&((const struct sockaddr_in6 *)sa)->sin6_addr)) {
		const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)sa;

		v4 = (struct sockaddr_in){ .sin_family = AF_INET, .sin_port = s6->sin6_port };
		memcpy(&v4.sin_addr, &s6->sin6_addr.s6_addr[12], 4);
		sa = (const struct sockaddr *)&v4;
		sl = sizeof(v4);
	}
	if (getnameinfo(sa, sl, host, sizeof(host), port, sizeof(port),
			NI_NUMERICHOST | NI_NUMERICSERV)) {
		snprintf(out, len, "an unknown address");
		return;
	}
	snprintf(out, len, sa->sa_family == AF_INET6 ? "[%s]:%s" : "%s:%s", host, port);
}
