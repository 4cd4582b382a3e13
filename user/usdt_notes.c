// SPDX-License-Identifier: Apache-2.0
/* SystemTap USDT notes of provider otel_memory, with libelf; cached by file. */
#include <errno.h>
#include <gelf.h>
#include <libelf.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include "usdt_notes.h"

#define NT_STAPSDT 3
/* Files remembered at once; when full the cache starts over (binaries are
 * few: this only bounds a host that keeps exec'ing fresh ones). */
#define CACHE_MAX 4096

int usdt_notes__parse_desc(const void *desc, size_t len, bool is64, struct usdt_note *out)
{
	size_t addrs = 3 * (is64 ? 8 : 4), at = addrs;
	const char *p = desc, *fields[3];

	if (!desc || len <= addrs)
		return -EINVAL;
	for (int i = 0; i < 3; i++) {
		const char *nul = memchr(p + at, '\0', len - at);

		if (!nul)
			return -EINVAL;
		fields[i] = p + at;
		at = (size_t)(nul - p) + 1;
		if (i < 2 && at >= len)
			return -EINVAL;
	}
	out->provider = fields[0];
	out->name = fields[1];
	out->args = fields[2];
	return 0;
}

unsigned usdt_notes__count_args(const char *args)
{
	unsigned n = 0;

	for (const char *p = args; *p;) {
		while (*p == ' ')
			p++;
		if (!*p)
			break;
		n++;
		while (*p && *p != ' ')
			p++;
	}
	return n;
}

static void note_found(const struct usdt_note *note, struct usdt_found *out)
{
	unsigned n = usdt_notes__count_args(note->args), *slot = NULL;

	if (strcmp(note->provider, USDT_PROVIDER) != 0)
		return;
	if (strcmp(note->name, "alloc") == 0)
		slot = &out->alloc_args;
	else if (strcmp(note->name, "free") == 0)
		slot = &out->free_args;
	if (slot && n > *slot)
		*slot = n;
}

static void scan_section(Elf_Data *data, bool is64, struct usdt_found *out)
{
	size_t off = 0, name_off, desc_off, next;
	GElf_Nhdr nhdr;

	while ((next = gelf_getnote(data, off, &nhdr, &name_off, &desc_off)) > 0) {
		const char *base = data->d_buf;
		struct usdt_note note;

		if (nhdr.n_type == NT_STAPSDT && nhdr.n_namesz == sizeof("stapsdt") &&
		    memcmp(base + name_off, "stapsdt", sizeof("stapsdt")) == 0 &&
		    usdt_notes__parse_desc(base + desc_off, nhdr.n_descsz, is64, &note) == 0)
			note_found(&note, out);
		off = next;
	}
}

int usdt_notes__scan_fd(int fd, struct usdt_found *out)
{
	Elf_Scn *scn = NULL;
	size_t shstrndx;
	Elf *elf;
	int class, err = 0;

	memset(out, 0, sizeof(*out));
	if (elf_version(EV_CURRENT) == EV_NONE)
		return -ENOEXEC;
	elf = elf_begin(fd, ELF_C_READ_MMAP, NULL);
	if (!elf)
		return -ENOEXEC;
	class = gelf_getclass(elf);
	if (elf_kind(elf) != ELF_K_ELF || class == ELFCLASSNONE ||
	    elf_getshdrstrndx(elf, &shstrndx)) {
		err = -ENOEXEC;
		goto out_end;
	}
	while ((scn = elf_nextscn(elf, scn))) {
		const char *name;
		GElf_Shdr shdr;
		Elf_Data *data;

		if (!gelf_getshdr(scn, &shdr) || shdr.sh_type != SHT_NOTE)
			continue;
		name = elf_strptr(elf, shstrndx, shdr.sh_name);
		if (!name || strcmp(name, ".note.stapsdt") != 0)
			continue;
		data = elf_getdata(scn, NULL);
		if (data && data->d_buf)
			scan_section(data, class == ELFCLASS64, out);
	}
out_end:
	elf_end(elf);
	return err;
}

struct cache_entry {
	dev_t dev;
	ino_t ino;
	off_t size;
	struct timespec mtime;
	struct usdt_found found;
};

struct usdt_cache {
	struct cache_entry *entries;
	size_t n;
};

int usdt_cache__new(struct usdt_cache **out)
{
	struct usdt_cache *c = calloc(1, sizeof(*c));

	if (!c)
		return -ENOMEM;
	c->entries = calloc(CACHE_MAX, sizeof(*c->entries));
	if (!c->entries) {
		free(c);
		return -ENOMEM;
	}
	*out = c;
	return 0;
}

void usdt_cache__free(struct usdt_cache *c)
{
	if (!c)
		return;
	free(c->entries);
	free(c);
}

static bool same_file(const struct cache_entry *e, const struct stat *st)
{
	return e->dev == st->st_dev && e->ino == st->st_ino && e->size == st->st_size &&
	       e->mtime.tv_sec == st->st_mtim.tv_sec && e->mtime.tv_nsec == st->st_mtim.tv_nsec;
}

int usdt_cache__lookup(struct usdt_cache *c, int fd, struct usdt_found *out)
{
	struct cache_entry *e;
	struct stat st;
	int err;

	if (fstat(fd, &st))
		return -errno;
	for (size_t i = 0; i < c->n; i++) {
		if (same_file(&c->entries[i], &st)) {
			*out = c->entries[i].found;
			return 0;
		}
	}
	err = usdt_notes__scan_fd(fd, out);
	if (err && err != -ENOEXEC)
		return err;
	if (c->n == CACHE_MAX)
		c->n = 0;
	e = &c->entries[c->n++];
	*e = (struct cache_entry){ .dev = st.st_dev,
				   .ino = st.st_ino,
				   .size = st.st_size,
				   .mtime = st.st_mtim,
				   .found = *out };
	return err;
}
