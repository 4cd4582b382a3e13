// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include "log.h"
#include "textfile.h"

#define TEXTFILE_NAME "memtide.prom"

/* Written beside the final file and renamed over it, so node_exporter never
 * reads half a file; the temporary name does not end in .prom. */
int textfile__write(const char *dir, const char *text, size_t len)
{
	char tmp[4096], final[4096];
	size_t done = 0;
	int fd, err = 0;

	snprintf(tmp, sizeof(tmp), "%s/.%s.%d.tmp", dir, TEXTFILE_NAME, (int)getpid());
	snprintf(final, sizeof(final), "%s/%s", dir, TEXTFILE_NAME);
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0) {
		err = -errno;
		goto out;
	}
	while (done < len) {
		ssize_t n = write(fd, text + done, len - done);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			err = -errno;
			break;
		}
		done += (size_t)n;
	}
	if (close(fd) && !err)
		err = -errno;
	if (!err && rename(tmp, final))
		err = -errno;
	if (err)
		unlink(tmp);
out:
	if (err)
		log_warn("textfile %s: %s", final, strerror(-err));
	return err;
}
