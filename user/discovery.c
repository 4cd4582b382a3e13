// SPDX-License-Identifier: Apache-2.0
/* Discovery's BPF side: load, attach, drain the ring buffer, read the iterator. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "discovery.h"
#include "log.h"
#include "procfs.h"
#include "procs.skel.h"

struct discovery {
	struct procs_bpf *skel;
	struct ring_buffer *rb;
	discovery_event_fn fn;
	void *ctx;
	uint64_t events[PROCS_NR];
};

static int on_event(void *ctx, void *data, size_t size)
{
	struct discovery *d = ctx;
	struct procs_event e;

	if (size < sizeof(e))
		return 0;
	memcpy(&e, data, sizeof(e));
	if (e.type >= PROCS_NR)
		return 0;
	e.comm[sizeof(e.comm) - 1] = '\0';
	d->events[e.type]++;
	d->fn(d->ctx, &e);
	return 0;
}

/* A power of two of whole pages, or the default. */
static unsigned int ringbuf_bytes(void)
{
	const char *s = getenv("MEMTIDE_DISCOVERY_RINGBUF_BYTES");
	unsigned long v = s ? strtoul(s, NULL, 10) : 0;

	if (v < (unsigned long)procfs__page_size() || v > (1UL << 30) || (v & (v - 1)))
		return PROCS_RINGBUF_BYTES;
	return (unsigned int)v;
}

int discovery__open(discovery_event_fn fn, void *ctx, struct discovery **out)
{
	struct discovery *d = calloc(1, sizeof(*d));
	int err;

	if (!d)
		return -ENOMEM;
	d->fn = fn;
	d->ctx = ctx;
	d->skel = procs_bpf__open();
	if (!d->skel) {
		err = -errno;
		goto free_d;
	}
	d->skel->rodata->ns_per_tick = 1000000000ULL / (uint64_t)procfs__clock_ticks();
	err = bpf_map__set_max_entries(d->skel->maps.events, ringbuf_bytes());
	err = err ? err : procs_bpf__load(d->skel);
	err = err ? err : procs_bpf__attach(d->skel);
	if (err)
		goto destroy_skel;
	d->rb = ring_buffer__new(bpf_map__fd(d->skel->maps.events), on_event, d, NULL);
	if (!d->rb) {
		err = -errno;
		goto destroy_skel;
	}
	*out = d;
	return 0;

destroy_skel:
	procs_bpf__destroy(d->skel);
free_d:
	free(d);
	return err;
}

void discovery__destroy(struct discovery *d)
{
	if (!d)
		return;
	ring_buffer__free(d->rb);
	procs_bpf__destroy(d->skel);
	free(d);
}

int discovery__fd(const struct discovery *d)
{
	return ring_buffer__epoll_fd(d->rb);
}

int discovery__consume(struct discovery *d)
{
	return ring_buffer__consume(d->rb);
}

uint64_t discovery__lost(const struct discovery *d)
{
	return __atomic_load_n(&d->skel->bss->lost, __ATOMIC_RELAXED);
}

void discovery__events(const struct discovery *d, uint64_t out[PROCS_NR])
{
	memcpy(out, d->events, sizeof(d->events));
}

static int by_pid(const void *a, const void *b)
{
	const struct procs_record *x = a, *y = b;

	return (x->pid > y->pid) - (x->pid < y->pid);
}

int discovery__read_procs(struct discovery *d, struct procs_record **out, size_t *n)
{
	size_t cap = 1024, have = 0; /* bytes read, a partial record included */
	char *buf = malloc(cap * sizeof(struct procs_record)), *grown;
	int fd, err = 0;

	if (!buf)
		return -ENOMEM;
	fd = bpf_iter_create(bpf_link__fd(d->skel->links.dump_procs));
	if (fd < 0) {
		err = -errno;
		goto free_buf;
	}
	for (;;) {
		ssize_t got;

		if (have == cap * sizeof(struct procs_record)) {
			grown = realloc(buf, 2 * cap * sizeof(struct procs_record));
			if (!grown) {
				err = -ENOMEM;
				goto close_fd;
			}
			buf = grown;
			cap *= 2;
		}
		got = read(fd, buf + have, cap * sizeof(struct procs_record) - have);
		if (got < 0 && errno == EINTR)
			continue;
		if (got < 0) {
			err = -errno;
			goto close_fd;
		}
		if (got == 0)
			break;
		have += (size_t)got;
	}
	close(fd);
	*n = have / sizeof(struct procs_record);
	qsort(buf, *n, sizeof(struct procs_record), by_pid);
	*out = (struct procs_record *)buf;
	return 0;

close_fd:
	close(fd);
free_buf:
	free(buf);
	return err;
}
