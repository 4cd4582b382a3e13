// SPDX-License-Identifier: Apache-2.0
/* The gc thread's sleep: an eventfd for kicks and the hooks' ring buffer. */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>
#include <bpf/libbpf.h>
#include "gc_wake.h"
#include "log.h"

struct gc_wake {
	int epfd, kick;
	struct ring_buffer *rb;
	gc_wake_fn fn;
	void *ctx;
};

static int on_record(void *ctx, void *data, size_t size)
{
	struct gc_wake *w = ctx;

	if (size >= sizeof(struct hook_event))
		w->fn(w->ctx, data);
	return 0;
}

static int watch(int epfd, int fd)
{
	struct epoll_event ev = { .events = EPOLLIN, .data.fd = fd };

	return epoll_ctl(epfd, EPOLL_CTL_ADD, fd, &ev) ? -errno : 0;
}

int gc_wake__new(int events_fd, gc_wake_fn fn, void *ctx, struct gc_wake **out)
{
	struct gc_wake *w = calloc(1, sizeof(*w));
	int err;

	if (!w)
		return -ENOMEM;
	w->fn = fn;
	w->ctx = ctx;
	w->kick = -1;
	w->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (w->epfd < 0) {
		err = -errno;
		goto fail;
	}
	w->kick = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (w->kick < 0) {
		err = -errno;
		goto fail;
	}
	err = watch(w->epfd, w->kick);
	if (err)
		goto fail;
	if (events_fd >= 0) {
		w->rb = ring_buffer__new(events_fd, on_record, w, NULL);
		if (!w->rb) {
			err = -errno;
			goto fail;
		}
		err = watch(w->epfd, ring_buffer__epoll_fd(w->rb));
		if (err)
			goto fail;
	}
	*out = w;
	return 0;

fail:
	log_error("gc: cannot set up the wait for hook reports: %d", err);
	gc_wake__free(w);
	return err;
}

void gc_wake__kick(struct gc_wake *w)
{
	uint64_t one = 1;

	/* Fails only when the counter is full: a wake-up is pending anyway. */
	if (write(w->kick, &one, sizeof(one)) < 0)
		return;
}

void gc_wake__wait(struct gc_wake *w, int timeout_ms)
{
	struct epoll_event ev[2];
	uint64_t n;

	if (epoll_wait(w->epfd, ev, 2, timeout_ms) < 0 && errno != EINTR)
		log_warn("gc: epoll_wait: %d", -errno);
	if (read(w->kick, &n, sizeof(n)) < 0 && errno != EAGAIN)
		log_warn("gc: reading its eventfd: %d", -errno);
	if (w->rb)
		ring_buffer__consume(w->rb);
}

void gc_wake__free(struct gc_wake *w)
{
	if (!w)
		return;
	ring_buffer__free(w->rb);
	if (w->kick >= 0)
		close(w->kick);
	if (w->epfd >= 0)
		close(w->epfd);
	free(w);
}
