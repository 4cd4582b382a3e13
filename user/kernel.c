// SPDX-License-Identifier: Apache-2.0
/* open → size maps → load → attach, as in libbpf-bootstrap; one cleanup path. */
#include <errno.h>
#include <stdbool.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "log.h"
#include "caps.h"
#include "kernel.h"
#include "seqcount.h"
#include "mm.skel.h"

/* Attempts at a whole copy of the OOM victim before the last one is kept. */
#define VICTIM_TRIES 1000

struct kernel {
	struct mm_bpf *skel;
	struct mm_oom_victim victim; /* the last whole copy */
};

static int libbpf_log(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	/* libbpf's own lines already start with "libbpf: ". */
	log__vmsg(level == LIBBPF_WARN ? LOG_WARN : LOG_DEBUG,
		  strncmp(fmt, "libbpf: ", 8) ? "libbpf: " : "", fmt, ap);
	return 0;
}

int kernel__open(struct kernel **out)
{
	struct kernel *l = calloc(1, sizeof(*l));
	int err;

	if (!l)
		return -ENOMEM;
	libbpf_set_print(libbpf_log);
	l->skel = mm_bpf__open();
	if (!l->skel) {
		err = -errno;
		log_error("cannot open the BPF object: %s", strerror(-err));
		goto free_kernel;
	}
	err = mm_bpf__load(l->skel);
	if (err) {
		log_error(
			"kernel tier unavailable: loading the BPF programs needs BTF, CAP_BPF and CAP_PERFMON%s: %s",
			caps__lacking_bpf(), strerror(-err));
		goto destroy_skel;
	}
	err = mm_bpf__attach(l->skel);
	if (err) {
		log_error("cannot attach the BPF programs: %s", strerror(-err));
		goto destroy_skel;
	}
	*out = l;
	return 0;

destroy_skel:
	mm_bpf__destroy(l->skel);
free_kernel:
	free(l);
	return err;
}

void kernel__destroy(struct kernel *l)
{
	if (!l)
		return;
	mm_bpf__destroy(l->skel);
	free(l);
}

static void set_tracked_bit(struct kernel *l, int tgid, bool on)
{
	__u64 *word = &l->skel->bss->tracked_bits[tgid / 64], bit = 1ULL << (tgid % 64);

	if (on)
		__atomic_fetch_or(word, bit, __ATOMIC_RELEASE);
	else
		__atomic_fetch_and(word, ~bit, __ATOMIC_RELEASE);
}

int kernel__track(struct kernel *l, int tgid)
{
	if (tgid <= 0 || tgid >= MEMTIDE_PID_MAX)
		return -EINVAL;
	set_tracked_bit(l, tgid, true);
	return 0;
}

void kernel__untrack(struct kernel *l, int tgid)
{
	if (tgid > 0 && tgid < MEMTIDE_PID_MAX)
		set_tracked_bit(l, tgid, false);
}

static int by_tgid(const void *a, const void *b)
{
	return ((const struct kernel_process *)a)->tgid - ((const struct kernel_process *)b)->tgid;
}

static void add_record(struct kernel_process *p, const struct mm_task_record *r)
{
	if (!p->threads++) {
		p->tgid = (int)r->tgid;
		p->start_boottime_ns = r->start_boottime_ns;
		memcpy(p->comm, r->comm, sizeof(p->comm));
		p->comm[sizeof(p->comm) - 1] = '\0';
		p->leader_exited = r->leader_exited;
	}
	p->minflt += r->minflt;
	p->majflt += r->majflt;
	/* Threads share the mm; a thread without one (exiting) reports zeros. */
	if (r->hiwater_rss_pages || r->rss_pages[MM_RSS_ANON] || r->rss_pages[MM_RSS_FILE]) {
		memcpy(p->rss_pages, r->rss_pages, sizeof(p->rss_pages));
		p->hiwater_rss_pages = r->hiwater_rss_pages;
	}
}

/* Threads come after their leader (the iterator walks tasks by id), so the
 * last slot is nearly always the one; a search covers the rest. */
static struct kernel_process *slot(struct kernel_process *procs, size_t *count, __u32 tgid)
{
	if (*count && procs[*count - 1].tgid == (int)tgid)
		return &procs[*count - 1];
	for (size_t i = 0; i < *count; i++)
		if (procs[i].tgid == (int)tgid)
			return &procs[i];
	return *count < PROC_MAX_TRACKED ? &procs[(*count)++] : NULL;
}

int kernel__read(struct kernel *l, struct kernel_process **out, size_t *n)
{
	struct kernel_process *procs = calloc(PROC_MAX_TRACKED, sizeof(*procs)), *p;
	struct mm_task_record batch[256];
	size_t count = 0, have = 0;
	int fd, err = 0;

	if (!procs)
		return -ENOMEM;
	fd = bpf_iter_create(bpf_link__fd(l->skel->links.dump_tracked));
	if (fd < 0) {
		err = -errno;
		goto free_procs;
	}
	for (;;) {
		ssize_t got = read(fd, (char *)batch + have, sizeof(batch) - have);
		size_t records;

		if (got < 0 && errno == EINTR)
			continue;
		if (got < 0) {
			err = -errno;
			goto close_fd;
		}
		if (got == 0)
			break;
		have += (size_t)got;
		records = have / sizeof(batch[0]);
		for (size_t i = 0; i < records; i++) {
			p = slot(procs, &count, batch[i].tgid);
			if (p)
				add_record(p, &batch[i]);
		}
		/* Keep a partial record for the next read. */
		have -= records * sizeof(batch[0]);
		memmove(batch, (char *)batch + records * sizeof(batch[0]), have);
	}
	qsort(procs, count, sizeof(*procs), by_tgid);
	*out = procs;
	*n = count;
	close(fd);
	return 0;

close_fd:
	close(fd);
free_procs:
	free(procs);
	return err;
}

void kernel__counters(struct kernel *l, struct kernel_counters *out)
{
	const struct mm_oom_victim *shared = &l->skel->bss->oom_victim;
	struct mm_oom_victim copy;

	out->oom_kills = __atomic_load_n(&l->skel->bss->oom_kills, __ATOMIC_RELAXED);
	/* Written as we read it (another OOM kill, now): the next snapshot has it. */
	if (!seqcount__read(&shared->seq, &copy, shared, sizeof(copy), VICTIM_TRIES))
		l->victim = copy;
	out->oom_victim = l->victim;
}
