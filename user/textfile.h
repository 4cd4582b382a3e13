/* SPDX-License-Identifier: Apache-2.0 */
/*
 * node_exporter textfile output: <dir>/memtide.prom, replaced atomically,
 * never through a name another user could have planted.
 */
#ifndef MEMTIDE_TEXTFILE_H
#define MEMTIDE_TEXTFILE_H

#include <stddef.h>

#define TEXTFILE_WHY_LEN 1024

/*
 * Whether memtide may write in @dir (absolute): every directory from "/" down
 * must not be writable by group or others unless it has the sticky bit, @dir
 * must be owned by root or memtide's effective uid, and the symbolic links on
 * the way must be owned by one of them too. Returns 0, or -errno (-EPERM for
 * loose permissions, -ENOENT when it does not exist) with a sentence naming
 * @dir in @why. Used by the configuration at load time and by every write.
 */
int textfile__check_dir(const char *dir, char *why, size_t len);

/*
 * Replaces <dir>/memtide.prom with @text: a temporary file with a random name,
 * created O_EXCL|O_NOFOLLOW in the checked directory, renamed over it. Returns
 * 0 or -errno; a failure is logged once until it changes or a write succeeds.
 */
int textfile__write(const char *dir, const char *text, size_t len);

/*
 * Removes <dir>/memtide.prom (unlinkat: a symbolic link there is removed, not
 * followed), for a clean shutdown; logs it. Returns 0 (also when there was
 * none) or -errno.
 */
int textfile__remove(const char *dir);

#endif
