// SPDX-License-Identifier: Apache-2.0
/*
 * Test target: faults a known number of pages on command, so the kernel tier
 * can be compared with what /proc/PID/stat and /proc/PID/status say.
 * Commands on stdin, one per line, each answered "ok ..." on stdout:
 *   minor N   map N anonymous pages and touch each once (N minor faults)
 *   major N   read N pages of a file dropped from the page cache (major faults)
 *   free      unmap every anonymous mapping made so far
 *   exit      exit 0 (so does end of input)
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#define MAX_MAPS 64

static struct {
	char *addr;
	size_t len;
} maps[MAX_MAPS];
static int n_maps;

static int minor(long pages, long page)
{
	size_t len = (size_t)pages * (size_t)page;
	char *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	if (p == MAP_FAILED || n_maps == MAX_MAPS)
		return -1;
	/* No transparent huge pages: one fault per page. */
	madvise(p, len, MADV_NOHUGEPAGE);
	for (size_t off = 0; off < len; off += (size_t)page)
		p[off] = 1;
	maps[n_maps].addr = p;
	maps[n_maps++].len = len;
	return 0;
}

static int major(long pages, long page)
{
	char path[] = "/tmp/faulter.XXXXXX", *buf = calloc(1, (size_t)page);
	size_t len = (size_t)pages * (size_t)page;
	volatile char sum = 0;
	int fd = mkstemp(path);
	char *p;

	if (fd < 0 || !buf)
		return -1;
	unlink(path);
	for (long i = 0; i < pages; i++)
		if (write(fd, buf, (size_t)page) != page)
			return -1;
	free(buf);
	fsync(fd);
	posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED);
	p = mmap(NULL, len, PROT_READ, MAP_PRIVATE, fd, 0);
	if (p == MAP_FAILED)
		return -1;
	/* No readahead, no fault-around: each page is read by its own fault. */
	madvise(p, len, MADV_RANDOM);
	for (size_t off = 0; off < len; off += (size_t)page)
		sum += p[off];
	munmap(p, len);
	close(fd);
	return 0;
}

int main(void)
{
	long page = sysconf(_SC_PAGESIZE);
	char line[128], cmd[16];
	long n;

	setvbuf(stdout, NULL, _IOLBF, 0);
	printf("ready %d\n", (int)getpid());
	while (fgets(line, sizeof(line), stdin)) {
		int rc = 0;

		n = 0;
		if (sscanf(line, "%15s %ld", cmd, &n) < 1)
			continue;
		if (strcmp(cmd, "minor") == 0)
			rc = minor(n, page);
		else if (strcmp(cmd, "major") == 0)
			rc = major(n, page);
		else if (strcmp(cmd, "free") == 0)
			while (n_maps > 0) {
				n_maps--;
				munmap(maps[n_maps].addr, maps[n_maps].len);
			}
		else if (strcmp(cmd, "exit") == 0)
			return 0;
		else
			rc = -1;
		printf("%s %s %ld\n", rc ? "error" : "ok", cmd, n);
	}
	return 0;
}
