// SPDX-License-Identifier: Apache-2.0
/*
 * The node_exporter textfile in a directory another user may write to:
 * symbolic links planted at the final or temporary names are never written
 * through, loose directories are refused, removal never follows a link.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <errno.h>
#include <dirent.h>
#include <fcntl.h>
#include <ftw.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>
#include "config.h"
#include "textfile.h"

#define TEXT "memory_sys_bytes{pid=\"1\",comm=\"init\"} 4096\n"
#define SECRET "root-only secret, must never change\n"
#define NOBODY 65534

/* base/: victim (0600), textfile/ (0755): where the agent writes. */
struct fixture {
	char base[64];
	char dir[128];
	char victim[128];
	char prom[160];
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	int fd;

	if (!f)
		return -1;
	strcpy(f->base, "/tmp/memtide-textfile.XXXXXX");
	if (!mkdtemp(f->base))
		return -1;
	snprintf(f->dir, sizeof(f->dir), "%s/textfile", f->base);
	snprintf(f->victim, sizeof(f->victim), "%s/victim", f->base);
	snprintf(f->prom, sizeof(f->prom), "%s/memtide.prom", f->dir);
	if (mkdir(f->dir, 0755) || chmod(f->dir, 0755))
		return -1;
	fd = open(f->victim, O_WRONLY | O_CREAT | O_EXCL, 0600);
	if (fd < 0 || write(fd, SECRET, strlen(SECRET)) != (ssize_t)strlen(SECRET) || close(fd))
		return -1;
	*state = f;
	return 0;
}

static int rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	int rc = nftw(f->base, rm_one, 16, FTW_DEPTH | FTW_PHYS);

	free(f);
	return rc;
}

/* The file's content, or "" when it cannot be read. */
static const char *slurp(const char *path)
{
	static char buf[4096];
	int fd = open(path, O_RDONLY | O_NOFOLLOW);
	ssize_t n = fd < 0 ? -1 : read(fd, buf, sizeof(buf) - 1);

	if (fd >= 0)
		close(fd);
	buf[n < 0 ? 0 : n] = '\0';
	return buf;
}

static int entries(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	int n = 0;

	assert_non_null(d);
	while ((e = readdir(d)))
		n += strcmp(e->d_name, ".") && strcmp(e->d_name, "..");
	closedir(d);
	return n;
}

static void assert_victim_intact(const struct fixture *f)
{
	struct stat st;

	assert_int_equal(lstat(f->victim, &st), 0);
	assert_true(S_ISREG(st.st_mode));
	assert_int_equal(st.st_mode & 07777, 0600);
	assert_string_equal(slurp(f->victim), SECRET);
}

static void assert_regular_prom(const struct fixture *f)
{
	struct stat st;

	assert_int_equal(lstat(f->prom, &st), 0);
	assert_true(S_ISREG(st.st_mode));
	assert_int_equal(st.st_mode & 07777, 0644);
	assert_string_equal(slurp(f->prom), TEXT);
}

static void writes_the_file_and_nothing_else(void **state)
{
	struct fixture *f = *state;
	mode_t old = umask(077); /* node_exporter must read it whatever the umask */

	assert_int_equal(textfile__write(f->dir, TEXT, strlen(TEXT)), 0);
	umask(old);
	assert_regular_prom(f);
	assert_int_equal(entries(f->dir), 1);
	/* And again over the old one. */
	assert_int_equal(textfile__write(f->dir, "", 0), 0);
	assert_string_equal(slurp(f->prom), "");
	assert_int_equal(textfile__write(f->dir, TEXT, strlen(TEXT)), 0);
	assert_regular_prom(f);
	assert_int_equal(entries(f->dir), 1);
}

static void link_at_final_name_is_replaced(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(symlink(f->victim, f->prom), 0);
	assert_int_equal(textfile__write(f->dir, TEXT, strlen(TEXT)), 0);
	assert_victim_intact(f);
	assert_regular_prom(f);
	assert_int_equal(entries(f->dir), 1);
}

static void links_at_temporary_names_are_not_followed(void **state)
{
	struct fixture *f = *state;
	char path[256];
	int planted = 0;

	/* The old predictable name, and a spread of others under the same prefix. */
	snprintf(path, sizeof(path), "%s/.memtide.prom.%d.tmp", f->dir, (int)getpid());
	planted += symlink(f->victim, path) == 0;
	snprintf(path, sizeof(path), "%s/.memtide.prom.tmp", f->dir);
	planted += symlink(f->victim, path) == 0;
	for (int i = 0; i < 512; i++) {
		snprintf(path, sizeof(path), "%s/.memtide.prom.%016llx.tmp", f->dir,
			 (unsigned long long)i * 0x9e3779b97f4a7c15ull);
		planted += symlink(f->victim, path) == 0;
		snprintf(path, sizeof(path), "%s/.memtide.prom.%d", f->dir, i);
		planted += symlink(f->victim, path) == 0;
	}
	assert_int_equal(planted, 1026);
	for (int i = 0; i < 5; i++)
		assert_int_equal(textfile__write(f->dir, TEXT, strlen(TEXT)), 0);
	assert_victim_intact(f);
	assert_regular_prom(f);
	/* The planted links are left alone, and nothing else is left behind. */
	assert_int_equal(entries(f->dir), 1027);
}

static void loose_directory_is_refused(void **state)
{
	struct fixture *f = *state;
	char why[TEXTFILE_WHY_LEN], want[256];

	assert_int_equal(symlink(f->victim, f->prom), 0);
	assert_int_equal(chmod(f->dir, 0777), 0);
	assert_int_equal(textfile__write(f->dir, TEXT, strlen(TEXT)), -EPERM);
	assert_int_equal(textfile__check_dir(f->dir, why, sizeof(why)), -EPERM);
	snprintf(want, sizeof(want),
		 "textfile_dir %s is writable by group or others without the sticky bit (mode "
		 "0777): refusing",
		 f->dir);
	if (strncmp(why, want, strlen(want)) != 0)
		fail_msg("got \"%s\", want \"%s...\"", why, want);
	assert_victim_intact(f);
	assert_int_equal(entries(f->dir), 1); /* only the planted link */
	/* Group-writable is as loose. */
	assert_int_equal(chmod(f->dir, 0775), 0);
	assert_int_equal(textfile__write(f->dir, TEXT, strlen(TEXT)), -EPERM);
	assert_int_equal(entries(f->dir), 1);
	assert_victim_intact(f);
}

static void sticky_directory_is_accepted(void **state)
{
	struct fixture *f = *state;
	char why[TEXTFILE_WHY_LEN];

	assert_int_equal(symlink(f->victim, f->prom), 0);
	assert_int_equal(chmod(f->dir, 01777), 0);
	assert_int_equal(textfile__check_dir(f->dir, why, sizeof(why)), 0);
	assert_int_equal(textfile__write(f->dir, TEXT, strlen(TEXT)), 0);
	assert_victim_intact(f);
	assert_regular_prom(f);
	assert_int_equal(entries(f->dir), 1);
}

static void loose_ancestor_is_refused(void **state)
{
	struct fixture *f = *state;
	char loose[160], inner[200], why[TEXTFILE_WHY_LEN];

	snprintf(loose, sizeof(loose), "%s/loose", f->base);
	snprintf(inner, sizeof(inner), "%s/inner", loose);
	assert_int_equal(mkdir(loose, 0755), 0);
	assert_int_equal(mkdir(inner, 0755), 0);
	assert_int_equal(chmod(loose, 0777), 0);
	assert_int_equal(textfile__check_dir(inner, why, sizeof(why)), -EPERM);
	if (!strstr(why, loose) || !strstr(why, "(mode 0777)"))
		fail_msg("got \"%s\"", why);
	assert_int_equal(textfile__write(inner, TEXT, strlen(TEXT)), -EPERM);
	assert_int_equal(entries(inner), 0);
	/* The same through a symbolic link (owned by us) that leads below it. */
	snprintf(inner, sizeof(inner), "%s/link", f->base);
	assert_int_equal(symlink("loose/inner", inner), 0);
	assert_int_equal(textfile__check_dir(inner, why, sizeof(why)), -EPERM);
	assert_int_equal(chmod(loose, 01777), 0);
	assert_int_equal(textfile__check_dir(inner, why, sizeof(why)), 0);
}

static void paths_through_links_dots_and_slashes(void **state)
{
	struct fixture *f = *state;
	char path[256], why[TEXTFILE_WHY_LEN];

	snprintf(path, sizeof(path), "%s/link", f->base);
	assert_int_equal(symlink(f->dir, path), 0); /* absolute target */
	assert_int_equal(textfile__write(path, TEXT, strlen(TEXT)), 0);
	assert_regular_prom(f);
	snprintf(path, sizeof(path), "%s/rel", f->base);
	assert_int_equal(symlink("./textfile/", path), 0);
	assert_int_equal(textfile__check_dir(path, why, sizeof(why)), 0);
	snprintf(path, sizeof(path), "/%s//textfile/../textfile/./", f->base);
	assert_int_equal(textfile__check_dir(path, why, sizeof(why)), 0);
	/* A loop, a file, and a directory that does not exist. */
	snprintf(path, sizeof(path), "%s/loop", f->base);
	assert_int_equal(symlink("loop", path), 0);
	assert_int_equal(textfile__check_dir(path, why, sizeof(why)), -ELOOP);
	assert_int_equal(textfile__check_dir(f->victim, why, sizeof(why)), -ENOTDIR);
	assert_non_null(strstr(why, "is not a directory"));
	snprintf(path, sizeof(path), "%s/missing", f->base);
	assert_int_equal(textfile__check_dir(path, why, sizeof(why)), -ENOENT);
	assert_non_null(strstr(why, "does not exist"));
	assert_int_equal(textfile__write(path, TEXT, strlen(TEXT)), -ENOENT);
	assert_int_equal(textfile__check_dir("relative", why, sizeof(why)), -EINVAL);
}

/* Root only: directories and links owned by another user. */
static void foreign_owner_is_refused(void **state)
{
	struct fixture *f = *state;
	char path[256], why[TEXTFILE_WHY_LEN];

	if (geteuid() != 0)
		skip();
	assert_int_equal(chown(f->dir, NOBODY, NOBODY), 0);
	assert_int_equal(textfile__check_dir(f->dir, why, sizeof(why)), -EPERM);
	assert_non_null(strstr(why, "is owned by uid 65534"));
	assert_int_equal(textfile__write(f->dir, TEXT, strlen(TEXT)), -EPERM);
	assert_int_equal(entries(f->dir), 0);
	assert_int_equal(chown(f->dir, 0, 0), 0);
	/* A link planted by another user in a sticky directory is not followed. */
	snprintf(path, sizeof(path), "%s/link", f->base);
	assert_int_equal(symlink(f->dir, path), 0);
	assert_int_equal(lchown(path, NOBODY, NOBODY), 0);
	assert_int_equal(textfile__check_dir(path, why, sizeof(why)), -EPERM);
	assert_non_null(strstr(why, "symbolic link"));
}

static void remove_does_not_follow_links(void **state)
{
	struct fixture *f = *state;
	struct stat st;

	assert_int_equal(textfile__write(f->dir, TEXT, strlen(TEXT)), 0);
	assert_int_equal(textfile__remove(f->dir), 0);
	assert_int_equal(entries(f->dir), 0);
	assert_int_equal(textfile__remove(f->dir), 0); /* nothing there: fine */
	assert_int_equal(symlink(f->victim, f->prom), 0);
	assert_int_equal(textfile__remove(f->dir), 0);
	assert_int_equal(lstat(f->prom, &st), -1);
	assert_victim_intact(f);
	/* Nor in a loose directory, where it never wrote. */
	assert_int_equal(symlink(f->victim, f->prom), 0);
	assert_int_equal(chmod(f->dir, 0777), 0);
	assert_int_equal(textfile__remove(f->dir), -EPERM);
	assert_int_equal(lstat(f->prom, &st), 0);
	assert_victim_intact(f);
}

/* Lines of stderr holding @what while @fn runs. */
static int logged(void (*fn)(struct fixture *), struct fixture *f, const char *what)
{
	char path[160], line[2048];
	int saved = dup(2), fd, n = 0;
	FILE *log;

	snprintf(path, sizeof(path), "%s/log", f->base);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	assert_true(saved >= 0 && fd >= 0);
	fflush(stderr);
	dup2(fd, 2);
	close(fd);
	fn(f);
	fflush(stderr);
	dup2(saved, 2);
	close(saved);
	log = fopen(path, "r");
	assert_non_null(log);
	while (fgets(line, sizeof(line), log))
		n += strstr(line, what) != NULL;
	fclose(log);
	return n;
}

static void refuse_five_times(struct fixture *f)
{
	for (int i = 0; i < 5; i++)
		assert_int_equal(textfile__write(f->dir, TEXT, strlen(TEXT)), -EPERM);
}

static void fix_and_write_twice(struct fixture *f)
{
	assert_int_equal(chmod(f->dir, 0755), 0);
	assert_int_equal(textfile__write(f->dir, TEXT, strlen(TEXT)), 0);
	assert_int_equal(textfile__write(f->dir, TEXT, strlen(TEXT)), 0);
}

/* Every monitor_interval: the same refusal is logged once, then its end once. */
static void refusal_is_logged_once(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(chmod(f->dir, 0777), 0);
	assert_int_equal(logged(refuse_five_times, f, "refusing to write there"), 1);
	assert_int_equal(logged(refuse_five_times, f, "refusing to write there"), 0);
	assert_int_equal(chmod(f->dir, 0770), 0); /* another reason: logged */
	assert_int_equal(logged(refuse_five_times, f, "(mode 0770)"), 1);
	assert_int_equal(logged(fix_and_write_twice, f, "written again"), 1);
	assert_int_equal(chmod(f->dir, 0777), 0);
	assert_int_equal(logged(refuse_five_times, f, "refusing to write there"), 1);
	assert_int_equal(logged(fix_and_write_twice, f, "written again"), 1);
}

/* The configuration runs the same check, with the key's position. */
static void config_refuses_loose_and_missing_dirs(void **state)
{
	struct fixture *f = *state;
	char text[256], err[CONFIG_ERR_LEN];
	struct config *cfg = NULL;

	snprintf(text, sizeof(text), "exporter:\n  textfile_dir: %s\n", f->dir);
	assert_int_equal(config__parse("t.yaml", text, strlen(text), &cfg, err), 0);
	assert_string_equal(cfg->exporter.textfile_dir, f->dir);
	config__free(cfg);
	cfg = NULL;
	assert_int_equal(chmod(f->dir, 0777), 0);
	assert_int_equal(config__parse("t.yaml", text, strlen(text), &cfg, err), -EINVAL);
	assert_null(cfg);
	if (strncmp(err, "t.yaml:2:17: textfile_dir ", 26) != 0 || !strstr(err, "(mode 0777)") ||
	    !strstr(err, "sticky bit"))
		fail_msg("got \"%s\"", err);
	snprintf(text, sizeof(text), "exporter:\n  listen: \":9464\"\n  textfile_dir: %s/none\n",
		 f->base);
	assert_int_equal(config__parse("t.yaml", text, strlen(text), &cfg, err), -EINVAL);
	if (strncmp(err, "t.yaml:3:17: textfile_dir ", 26) != 0 || !strstr(err, "does not exist"))
		fail_msg("got \"%s\"", err);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(writes_the_file_and_nothing_else),
		T(link_at_final_name_is_replaced),
		T(links_at_temporary_names_are_not_followed),
		T(loose_directory_is_refused),
		T(sticky_directory_is_accepted),
		T(loose_ancestor_is_refused),
		T(paths_through_links_dots_and_slashes),
		T(foreign_owner_is_refused),
		T(remove_does_not_follow_links),
		T(refusal_is_logged_once),
		T(config_refuses_loose_and_missing_dirs),
	};

	return cmocka_run_group_tests_name("textfile", tests, NULL, NULL);
}
