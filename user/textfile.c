// SPDX-License-Identifier: Apache-2.0
/*
 * node_exporter textfile output: <dir>/memtide.prom, replaced atomically.
 *
 * memtide runs as root and the directory may be shared with node_exporter's
 * user, so no name in it is trusted. The directory is reached one component at
 * a time from "/" (openat with O_NOFOLLOW), every directory on the way is
 * checked through the descriptor that was opened, symbolic links are followed
 * only when root or memtide's own user owns them, and the directory is refused
 * when another user could swap names in it or above it (writable by group or
 * others without the sticky bit), as sshd refuses loose permissions. The
 * temporary file gets a random name and is created with O_EXCL|O_NOFOLLOW
 * relative to that descriptor, then renamed over memtide.prom: a symbolic link
 * planted at either name is never written through, only replaced.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include "log.h"
#include "textfile.h"

#define TEXTFILE_NAME "memtide.prom"
#define MAX_LINKS 40 /* as the kernel's path walk */
#define TMP_TRIES 8
#define TMP_NAME_LEN sizeof("." TEXTFILE_NAME ".0123456789abcdef.tmp")

/* A path walk from "/": what is left to walk, and where it is (for messages). */
struct walk {
	const char *dir;
	char *why;
	size_t len;
	char todo[PATH_MAX];
	char at[PATH_MAX];
	int links;
};

static int trusted(uid_t uid)
{
	return uid == 0 || uid == geteuid();
}

/* @at/@name into @out; -ENAMETOOLONG when it does not fit (then truncated). */
static int join(char *out, size_t len, const char *at, const char *name)
{
	size_t a = strlen(at), sep = strcmp(at, "/") != 0, n = strlen(name);

	if (a + sep + n >= len) {
		snprintf(out, len, "%s", at);
		return -ENAMETOOLONG;
	}
	memcpy(out, at, a);
	out[a] = '/';
	memcpy(out + a + sep, name, n + 1);
	return 0;
}

/* Checks directory @fd, which the walk reached at w->at; @last: it is the textfile_dir. */
static int check_dir_fd(struct walk *w, int fd, int last)
{
	struct stat st;

	if (fstat(fd, &st)) {
		int err = -errno;

		snprintf(w->why, w->len, "textfile_dir %s: cannot stat %s: %s", w->dir, w->at,
			 strerror(-err));
		return err;
	}
	if ((st.st_mode & (S_IWGRP | S_IWOTH)) && !(st.st_mode & S_ISVTX)) {
		if (last)
			snprintf(w->why, w->len,
				 "textfile_dir %s is writable by group or others without the "
				 "sticky bit (mode %04o): refusing to write there, as sshd would",
				 w->dir, (unsigned int)(st.st_mode & 07777));
		else
			snprintf(
				w->why, w->len,
				"textfile_dir %s: %s is writable by group or others without the sticky "
				"bit (mode %04o): refusing to write below it, as sshd would",
				w->dir, w->at, (unsigned int)(st.st_mode & 07777));
		return -EPERM;
	}
	if (last && !trusted(st.st_uid)) {
		snprintf(w->why, w->len,
			 "textfile_dir %s is owned by uid %u, neither root nor memtide's uid %u: "
			 "refusing to write there, as sshd would",
			 w->dir, (unsigned int)st.st_uid, (unsigned int)geteuid());
		return -EPERM;
	}
	return 0;
}

/* Moves the walk (back) to "/", checked as an ancestor. */
static int walk_root(struct walk *w, int *fd)
{
	int err;

	if (*fd >= 0)
		close(*fd);
	strcpy(w->at, "/");
	*fd = open("/", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (*fd < 0) {
		err = -errno;
		snprintf(w->why, w->len, "textfile_dir %s: cannot open /: %s", w->dir,
			 strerror(-err));
		return err;
	}
	return check_dir_fd(w, *fd, 0);
}

/* @name in directory @fd is a symbolic link: splices its target before @rest. */
static int walk_link(struct walk *w, int *fd, const char *name, const struct stat *st,
		     const char *rest)
{
	char target[PATH_MAX], path[PATH_MAX], next[PATH_MAX];
	ssize_t n;

	join(path, sizeof(path), w->at, name);
	if (!trusted(st->st_uid)) {
		snprintf(w->why, w->len,
			 "textfile_dir %s: symbolic link %s is owned by uid %u, neither root nor "
			 "memtide's uid %u: refusing to follow it, as sshd would",
			 w->dir, path, (unsigned int)st->st_uid, (unsigned int)geteuid());
		return -EPERM;
	}
	if (++w->links > MAX_LINKS) {
		snprintf(w->why, w->len, "textfile_dir %s: too many symbolic links", w->dir);
		return -ELOOP;
	}
	n = readlinkat(*fd, name, target, sizeof(target));
	if (n < 0 || (size_t)n >= sizeof(target)) {
		n = n < 0 ? -errno : -ENAMETOOLONG;
		snprintf(w->why, w->len, "textfile_dir %s: cannot read symbolic link %s: %s",
			 w->dir, path, strerror((int)-n));
		return (int)n;
	}
	target[n] = '\0';
	if ((size_t)snprintf(next, sizeof(next), "%s/%s", target, rest) >= sizeof(next)) {
		snprintf(w->why, w->len, "textfile_dir %s: path too long", w->dir);
		return -ENAMETOOLONG;
	}
	strcpy(w->todo, next);
	return target[0] == '/' ? walk_root(w, fd) : 0;
}

/*
 * Opens @dir for the *at() calls, checked all the way from "/"; returns the
 * descriptor, or -errno with the reason in @why.
 */
static int open_dir(const char *dir, char *why, size_t len)
{
	struct walk w = { .dir = dir, .why = why, .len = len };
	char name[NAME_MAX + 1], *p, *end;
	int fd = -1, next, err;
	struct stat st;

	if (dir[0] != '/') {
		snprintf(why, len, "textfile_dir %s is not an absolute path", dir);
		return -EINVAL;
	}
	if (strlen(dir) >= sizeof(w.todo)) {
		snprintf(why, len, "textfile_dir %s: path too long", dir);
		return -ENAMETOOLONG;
	}
	strcpy(w.todo, dir);
	err = walk_root(&w, &fd);
	if (err)
		goto fail;
	p = w.todo;
	for (;;) {
		p += strspn(p, "/");
		if (!*p)
			break;
		end = p + strcspn(p, "/");
		if ((size_t)(end - p) > NAME_MAX) {
			snprintf(why, len, "textfile_dir %s: a component is too long", dir);
			err = -ENAMETOOLONG;
			goto fail;
		}
		memcpy(name, p, (size_t)(end - p));
		name[end - p] = '\0';
		p = end;
		if (strcmp(name, ".") == 0)
			continue;
		next = openat(fd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		err = next < 0 ? -errno : 0;
		if ((err == -ELOOP || err == -ENOTDIR) &&
		    fstatat(fd, name, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISLNK(st.st_mode)) {
			/* The rest moves to the start of todo, behind the link's target. */
			char rest[PATH_MAX];

			strcpy(rest, p);
			err = walk_link(&w, &fd, name, &st, rest);
			if (err)
				goto fail;
			p = w.todo;
			continue;
		}
		if (next < 0) {
			char path[PATH_MAX];

			join(path, sizeof(path), w.at, name);
			if (err == -ENOENT && !p[strspn(p, "/")] && !w.links)
				snprintf(why, len, "textfile_dir %s does not exist", dir);
			else if (err == -ENOENT)
				snprintf(why, len, "textfile_dir %s: %s does not exist", dir, path);
			else if (err == -ENOTDIR)
				snprintf(why, len, "textfile_dir %s: %s is not a directory", dir,
					 path);
			else
				snprintf(why, len, "textfile_dir %s: cannot open %s: %s", dir, path,
					 strerror(-err));
			goto fail;
		}
		close(fd);
		fd = next;
		if (strcmp(name, "..") == 0) {
			char *slash = strrchr(w.at, '/');

			slash[slash == w.at] = '\0';
		} else {
			char at[PATH_MAX];

			err = join(at, sizeof(at), w.at, name);
			if (err) {
				snprintf(why, len, "textfile_dir %s: path too long", dir);
				goto fail;
			}
			strcpy(w.at, at);
		}
		err = check_dir_fd(&w, fd, !p[strspn(p, "/")]);
		if (err)
			goto fail;
	}
	/* Again as the textfile_dir itself, for paths that end in "/", "." or a link. */
	err = check_dir_fd(&w, fd, 1);
	if (err)
		goto fail;
	return fd;
fail:
	if (fd >= 0)
		close(fd);
	return err;
}

int textfile__check_dir(const char *dir, char *why, size_t len)
{
	int fd = open_dir(dir, why, len);

	if (fd < 0)
		return fd;
	close(fd);
	return 0;
}

/* Creates a temporary file with a fresh random name; returns its descriptor or -errno. */
static int create_tmp(int dirfd, char name[TMP_NAME_LEN])
{
	static uint64_t counter; /* atomic: only the fallback uses it */
	uint64_t r;
	int fd;

	for (int i = 0; i < TMP_TRIES; i++) {
		if (getrandom(&r, sizeof(r), GRND_NONBLOCK) != (ssize_t)sizeof(r)) {
			/* Early boot: unpredictable names only avoid collisions, O_EXCL is the
			 * guard. */
			struct timespec ts;

			clock_gettime(CLOCK_MONOTONIC, &ts);
			r = ((uint64_t)ts.tv_sec << 30) ^ (uint64_t)ts.tv_nsec ^
			    ((uint64_t)getpid() << 40) ^
			    (__atomic_add_fetch(&counter, 1, __ATOMIC_RELAXED) *
			     0x9e3779b97f4a7c15ull);
		}
		snprintf(name, TMP_NAME_LEN, ".%s.%016llx.tmp", TEXTFILE_NAME,
			 (unsigned long long)r);
		fd = openat(dirfd, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
			    0644);
		if (fd >= 0)
			return fd;
		if (errno != EEXIST)
			return -errno;
	}
	return -EEXIST;
}

static int write_all(int fd, const char *text, size_t len)
{
	size_t done = 0;

	while (done < len) {
		ssize_t n = write(fd, text + done, len - done);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		done += (size_t)n;
	}
	return 0;
}

/*
 * The write runs every monitor_interval: a failure is logged when it differs
 * from the last one logged, and once more when writing works again.
 */
static pthread_mutex_t report_lock = PTHREAD_MUTEX_INITIALIZER;
static char last_why[TEXTFILE_WHY_LEN];

static void report(int err, const char *why, const char *dir)
{
	pthread_mutex_lock(&report_lock);
	if (err && strcmp(why, last_why) != 0) {
		if (err == -EPERM)
			log_error("%s (logged again only if it changes)", why);
		else
			log_warn("%s (logged again only if it changes)", why);
		snprintf(last_why, sizeof(last_why), "%s", why);
	} else if (!err && last_why[0] && dir) {
		log_info("textfile %s/%s written again", dir, TEXTFILE_NAME);
		last_why[0] = '\0';
	}
	pthread_mutex_unlock(&report_lock);
}

int textfile__write(const char *dir, const char *text, size_t len)
{
	char why[TEXTFILE_WHY_LEN], tmp[TMP_NAME_LEN];
	int dirfd, fd, err;

	dirfd = open_dir(dir, why, sizeof(why));
	if (dirfd < 0) {
		err = dirfd;
		goto out;
	}
	fd = create_tmp(dirfd, tmp);
	if (fd < 0) {
		err = fd;
		snprintf(why, sizeof(why), "textfile %s/%s: cannot create a temporary file: %s",
			 dir, TEXTFILE_NAME, strerror(-err));
		goto close_dir;
	}
	err = write_all(fd, text, len);
	/* 0644 whatever the umask: node_exporter runs as another user. */
	if (!err && fchmod(fd, 0644))
		err = -errno;
	if (close(fd) && !err)
		err = -errno;
	if (err) {
		snprintf(why, sizeof(why), "textfile %s/%s: cannot write the temporary file: %s",
			 dir, TEXTFILE_NAME, strerror(-err));
		goto unlink_tmp;
	}
	if (renameat(dirfd, tmp, dirfd, TEXTFILE_NAME)) {
		err = -errno;
		snprintf(why, sizeof(why),
			 "textfile %s/%s: cannot rename the temporary file over it: %s", dir,
			 TEXTFILE_NAME, strerror(-err));
		goto unlink_tmp;
	}
	goto close_dir;
unlink_tmp:
	unlinkat(dirfd, tmp, 0);
close_dir:
	close(dirfd);
out:
	report(err, why, dir);
	return err;
}

int textfile__remove(const char *dir)
{
	char why[TEXTFILE_WHY_LEN];
	int dirfd, err = 0;

	dirfd = open_dir(dir, why, sizeof(why));
	if (dirfd < 0) {
		err = dirfd;
		goto out;
	}
	/* unlinkat removes the name itself, whatever it is: a link is not followed. */
	if (unlinkat(dirfd, TEXTFILE_NAME, 0) == 0)
		log_info("removed %s/%s: node_exporter stops serving memtide's figures", dir,
			 TEXTFILE_NAME);
	else if (errno != ENOENT) {
		err = -errno;
		snprintf(why, sizeof(why), "textfile %s/%s: cannot remove it: %s", dir,
			 TEXTFILE_NAME, strerror(-err));
	}
	close(dirfd);
out:
	if (err)
		report(err, why, NULL);
	return err;
}
