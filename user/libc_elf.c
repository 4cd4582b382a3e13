// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <fcntl.h>
#include <gelf.h>
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
			if (strstr(basename_of(name), "musl") || strncmp(basename_of(name), "libc.so", 7) == 0)
				kind = LIBC_OTHER;
		}
		line = end ? end + 1 : NULL;
	}
	return kind;
}

int libc__find_library(const char *maps, const char *name, char *range, size_t range_len)
{
	size_t n = strlen(name);

	for (const char *line = maps; line && *line;) {
		const char *end = strchr(line, '\n');
		size_t len = end ? (size_t)(end - line) : strlen(line);

		if (len > n + 1 && line[len - n - 1] == '/' && strncmp(line + len - n, name, n) == 0) {
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
	int err = maps ? libc__find_library(maps, name, range, range_len) : -ENOENT;

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

int libc__offsets(const char *path, const char *const *names, size_t n, uint64_t *offsets)
{
	Elf_Scn *scn = NULL;
	int fd, err = -ENOENT;
	Elf *elf;

	memset(offsets, 0, n * sizeof(*offsets));
	if (elf_version(EV_CURRENT) == EV_NONE)
		return -EINVAL;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	elf = elf_begin(fd, ELF_C_READ, NULL);
	if (!elf) {
		close(fd);
		return -ENOEXEC;
	}
	while ((scn = elf_nextscn(elf, scn))) {
		GElf_Shdr sh;
		Elf_Data *data;

		if (!gelf_getshdr(scn, &sh) || sh.sh_type != SHT_DYNSYM)
			continue;
		data = elf_getdata(scn, NULL);
		for (size_t i = 0; data && sh.sh_entsize && i < sh.sh_size / sh.sh_entsize; i++) {
			GElf_Sym sym;
			const char *name;

			if (!gelf_getsym(data, (int)i, &sym) || GELF_ST_TYPE(sym.st_info) != STT_FUNC ||
			    !sym.st_value)
				continue;
			name = elf_strptr(elf, sh.sh_link, sym.st_name);
			for (size_t k = 0; name && k < n; k++) {
				if (!offsets[k] && strcmp(name, names[k]) == 0) {
					offsets[k] = file_offset(elf, sym.st_value);
					err = 0;
				}
			}
		}
	}
	elf_end(elf);
	close(fd);
	return err;
}
