// SPDX-License-Identifier: Apache-2.0
/* Finds a process's C library and its functions' file offsets, for the uprobes. */
#include <errno.h>
#include <fcntl.h>
#include <gelf.h>
#include <stdbool.h>
#include <libelf.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "libc_elf.h"
#include "procfs.h"

static const char *basename_of(const char *path)
{
	const char *slash = strrchr(path, '/');

	return slash ? slash + 1 : path;
}

enum libc_kind libc__find(const char *maps, char *range, size_t range_len, char *path,
			  size_t path_len)
{
	enum libc_kind kind = LIBC_NONE;

	for (const char *line = maps; line && *line;) {
		const char *end = strchr(line, '\n'), *file = strchr(line, '/');
		size_t len = end ? (size_t)(end - line) : strlen(line);
		char name[256];
		size_t n;

		if (file && file < line + len) {
			n = (size_t)(line + len - file);
			if (n >= sizeof(name))
				n = sizeof(name) - 1;
			memcpy(name, file, n);
			name[n] = '\0';
			/* glibc: libc.so.6 (or libc-2.NN.so); musl: ld-musl-*.so.1, libc.musl-*. */
			if (strcmp(basename_of(name), "libc.so.6") == 0 ||
			    (strncmp(basename_of(name), "libc-2.", 7) == 0)) {
				size_t r = strcspn(line, " ");

				if (r >= range_len || n >= path_len)
					return LIBC_OTHER;
				memcpy(range, line, r);
				range[r] = '\0';
				memcpy(path, name, n + 1);
				return LIBC_GLIBC;
			}
			if (strstr(basename_of(name), "musl") ||
			    strncmp(basename_of(name), "libc.so", 7) == 0)
				kind = LIBC_OTHER;
		}
		line = end ? end + 1 : NULL;
	}
	return kind;
}

int libc__find_loader(const char *maps, char *path, size_t path_len)
{
	for (const char *line = maps; line && *line;) {
		const char *end = strchr(line, '\n'), *file = strchr(line, '/');
		size_t len = end ? (size_t)(end - line) : strlen(line);

		if (file && file < line + len && (size_t)(line + len - file) < path_len) {
			const char *base;

			memcpy(path, file, (size_t)(line + len - file));
			path[line + len - file] = '\0';
			base = basename_of(path);
			if (strncmp(base, "ld-linux", 8) == 0 && strstr(base, ".so"))
				return 0;
		}
		line = end ? end + 1 : NULL;
	}
	return -ENOENT;
}

int libc__find_library(const char *maps, const char *name, char *range, size_t range_len)
{
	size_t n = strlen(name);

	for (const char *line = maps; line && *line;) {
		const char *end = strchr(line, '\n');
		size_t len = end ? (size_t)(end - line) : strlen(line);

		if (len > n + 1 && line[len - n - 1] == '/' &&
		    strncmp(line + len - n, name, n) == 0) {
			size_t r = strcspn(line, " ");

			if (r >= range_len)
				return -ENOENT;
			memcpy(range, line, r);
			range[r] = '\0';
			return 0;
		}
		line = end ? end + 1 : NULL;
	}
	return -ENOENT;
}

/* Maps of processes with many mappings (a JVM, a browser) run to megabytes. */
#define MAPS_MAX (4 << 20)

char *libc__pid_maps(int pid)
{
	char *maps = malloc(MAPS_MAX);

	if (maps && procfs__read_pid(pid, "maps", maps, MAPS_MAX) > 0)
		return maps;
	free(maps);
	return NULL;
}

int libc__pid_library(int pid, const char *name, char *range, size_t range_len)
{
	char *maps = libc__pid_maps(pid);
	/* EACCES: the kernel's ptrace check (CAP_SYS_PTRACE for other users' processes). */
	int err = maps		    ? libc__find_library(maps, name, range, range_len)
		  : errno == EACCES ? -EACCES
				    : -ENOENT;

	free(maps);
	return err;
}

/* A symbol's address in memory to its offset in the file, through the
 * loadable segment that holds it. */
static uint64_t file_offset(Elf *elf, uint64_t addr)
{
	size_t n;
	GElf_Phdr ph;

	if (elf_getphdrnum(elf, &n))
		return 0;
	for (size_t i = 0; i < n; i++) {
		if (!gelf_getphdr(elf, (int)i, &ph) || ph.p_type != PT_LOAD || !(ph.p_flags & PF_X))
			continue;
		if (addr >= ph.p_vaddr && addr < ph.p_vaddr + ph.p_memsz)
			return addr - ph.p_vaddr + ph.p_offset;
	}
	return 0;
}

/* Calls @fn on every defined dynamic symbol of @elf until it returns true. */
static void each_dynsym(Elf *elf,
			bool (*fn)(Elf *elf, const GElf_Sym *sym, const char *name, void *ctx),
			void *ctx)
{
	Elf_Scn *scn = NULL;

	while ((scn = elf_nextscn(elf, scn))) {
		GElf_Shdr sh;
		Elf_Data *data;

		if (!gelf_getshdr(scn, &sh) || sh.sh_type != SHT_DYNSYM)
			continue;
		data = elf_getdata(scn, NULL);
		for (size_t i = 0; data && sh.sh_entsize && i < sh.sh_size / sh.sh_entsize; i++) {
			GElf_Sym sym;
			const char *name;

			if (!gelf_getsym(data, (int)i, &sym) || !sym.st_value ||
			    sym.st_shndx == SHN_UNDEF)
				continue;
			name = elf_strptr(elf, sh.sh_link, sym.st_name);
			if (name && fn(elf, &sym, name, ctx))
				return;
		}
	}
}

static int open_elf(const char *path, int *fd, Elf **elf)
{
	if (elf_version(EV_CURRENT) == EV_NONE)
		return -EINVAL;
	*fd = open(path, O_RDONLY | O_CLOEXEC);
	if (*fd < 0)
		return -errno;
	*elf = elf_begin(*fd, ELF_C_READ, NULL);
	if (!*elf) {
		close(*fd);
		return -ENOEXEC;
	}
	return 0;
}

struct offsets_ctx {
	const char *const *names;
	size_t n;
	uint64_t *offsets;
	int err;
};

static bool take_offset(Elf *elf, const GElf_Sym *sym, const char *name, void *arg)
{
	struct offsets_ctx *c = arg;

	if (GELF_ST_TYPE(sym->st_info) != STT_FUNC)
		return false;
	for (size_t k = 0; k < c->n; k++) {
		if (!c->offsets[k] && strcmp(name, c->names[k]) == 0) {
			c->offsets[k] = file_offset(elf, sym->st_value);
			c->err = 0;
		}
	}
	return false;
}

int libc__offsets(const char *path, const char *const *names, size_t n, uint64_t *offsets)
{
	struct offsets_ctx c = { names, n, offsets, -ENOENT };
	Elf *elf;
	int fd, err;

	memset(offsets, 0, n * sizeof(*offsets));
	err = open_elf(path, &fd, &elf);
	if (err)
		return err;
	each_dynsym(elf, take_offset, &c);
	elf_end(elf);
	close(fd);
	return c.err;
}

struct object_ctx {
	const char *name;
	uint64_t value, size;
};

static bool take_object(Elf *elf, const GElf_Sym *sym, const char *name, void *arg)
{
	struct object_ctx *c = arg;

	(void)elf;
	if (GELF_ST_TYPE(sym->st_info) != STT_OBJECT || strcmp(name, c->name))
		return false;
	c->value = sym->st_value;
	c->size = sym->st_size;
	return true;
}

/* The page-aligned address the first loadable segment asks for (0 for
 * shared libraries as linkers make them). */
static uint64_t first_load_vaddr(Elf *elf)
{
	size_t n;
	GElf_Phdr ph;

	if (elf_getphdrnum(elf, &n))
		return 0;
	for (size_t i = 0; i < n; i++)
		if (gelf_getphdr(elf, (int)i, &ph) && ph.p_type == PT_LOAD)
			return ph.p_vaddr & ~(uint64_t)0xfff;
	return 0;
}

int libc__object(const char *path, const char *name, uint64_t *offset, uint64_t *size)
{
	struct object_ctx c = { .name = name };
	Elf *elf;
	int fd, err;

	err = open_elf(path, &fd, &elf);
	if (err)
		return err;
	each_dynsym(elf, take_object, &c);
	if (c.value) {
		*offset = c.value - first_load_vaddr(elf);
		*size = c.size;
	}
	elf_end(elf);
	close(fd);
	return c.value ? 0 : -ENOENT;
}
