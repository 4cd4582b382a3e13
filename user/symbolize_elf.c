// SPDX-License-Identifier: Apache-2.0
/*
 * One ELF file read for symbolization: its PT_LOAD segments, build id, a
 * sorted function table (.symtab, else .dynsym) and a table of compile-unit
 * address ranges into its DWARF. libelf reads with pread (ELF_C_READ), not
 * mmap, so a file truncated under us is a read error, not a SIGBUS. DWARF goes
 * through libdw's dwarf_* calls on our own Elf handle rather than libdwfl:
 * libdwfl's standard callbacks find files and debug files by path, in the
 * agent's mount namespace, which is what must never happen here.
 */
#include <errno.h>
#include <fcntl.h>
#include <gelf.h>
#include <libelf.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <dwarf.h>
#include <elfutils/libdw.h>
#include <elfutils/libdwelf.h>
#include "procfs.h"
#include "symbolize_int.h"

int sym__elf_addr(bool exec, const struct sym_load *loads, size_t n, __u64 ip, __u64 map_start,
		  __u64 map_offset, __u64 *addr)
{
	__u64 off;

	if (exec) {
		*addr = ip;
		return 0;
	}
	if (ip < map_start)
		return -ENOENT;
	off = ip - map_start + map_offset;
	if (off < map_offset) /* wrapped */
		return -ENOENT;
	for (size_t i = 0; i < n; i++) {
		if (off >= loads[i].offset && off - loads[i].offset < loads[i].filesz) {
			*addr = off - loads[i].offset + loads[i].vaddr;
			return 0;
		}
	}
	return -ENOENT;
}

static int read_loads(Elf *elf, struct sym_file *f)
{
	size_t n;
	GElf_Phdr ph;

	if (elf_getphdrnum(elf, &n))
		return -ENOEXEC;
	if (n > SYM_MAX_LOADS)
		n = SYM_MAX_LOADS;
	f->loads = calloc(n ? n : 1, sizeof(*f->loads));
	if (!f->loads)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++) {
		if (!gelf_getphdr(elf, (int)i, &ph) || ph.p_type != PT_LOAD)
			continue;
		f->loads[f->nloads++] = (struct sym_load){ ph.p_offset, ph.p_vaddr, ph.p_filesz };
	}
	return 0;
}

static void read_build_id(Elf *elf, char *hex, size_t size)
{
	const unsigned char *id;
	ssize_t len = dwelf_elf_gnu_build_id(elf, (const void **)&id);

	hex[0] = '\0';
	for (ssize_t i = 0; i < len && (size_t)(2 * i + 2) < size; i++)
		snprintf(hex + 2 * i, 3, "%02x", id[i]);
}

static int by_addr(const void *a, const void *b)
{
	const struct sym_entry *x = a, *y = b;

	if (x->addr != y->addr)
		return x->addr < y->addr ? -1 : 1;
	return x->rank < y->rank ? -1 : x->rank > y->rank;
}

/* The first section of @type with entries, or NULL. */
static Elf_Scn *find_section(Elf *elf, Elf64_Word type, GElf_Shdr *sh)
{
	Elf_Scn *scn = NULL;

	while ((scn = elf_nextscn(elf, scn)))
		if (gelf_getshdr(scn, sh) && sh->sh_type == type && sh->sh_entsize && sh->sh_size)
			return scn;
	return NULL;
}

/* The functions of one symbol table, sorted, names copied (cut at SYM_NAME_MAX). */
static int read_symbols(Elf *elf, Elf_Scn *scn, const GElf_Shdr *sh, struct sym_file *f)
{
	Elf_Data *data = elf_getdata(scn, NULL);
	size_t n = sh->sh_size / sh->sh_entsize, pool = 0, cap = 0, k = 0;
	char *names = NULL;

	if (!data)
		return 0;
	if (n > SYM_MAX_SYMS)
		n = SYM_MAX_SYMS;
	f->syms = calloc(n ? n : 1, sizeof(*f->syms));
	if (!f->syms)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++) {
		GElf_Sym sym;
		const char *name;
		size_t len;
		int type;

		if (!gelf_getsym(data, (int)i, &sym))
			break;
		type = GELF_ST_TYPE(sym.st_info);
		if ((type != STT_FUNC && type != STT_GNU_IFUNC) || sym.st_shndx == SHN_UNDEF ||
		    !sym.st_value)
			continue;
		name = elf_strptr(elf, sh->sh_link, sym.st_name);
		if (!name || !*name)
			continue;
		len = strnlen(name, SYM_NAME_MAX);
		if (pool + len + 1 > cap) {
			size_t ncap = cap ? cap * 2 : 4096;
			char *p;

			while (ncap < pool + len + 1)
				ncap *= 2;
			if (ncap > UINT32_MAX || !(p = realloc(names, ncap))) {
				free(names);
				return -ENOMEM;
			}
			names = p;
			cap = ncap;
		}
		memcpy(names + pool, name, len);
		names[pool + len] = '\0';
		/* At one address: a global before a weak before a local, sized first. */
		f->syms[k++] = (struct sym_entry){
			.addr = sym.st_value,
			.size = sym.st_size,
			.name = (__u32)pool,
			.rank = (GELF_ST_BIND(sym.st_info) == STB_GLOBAL ? 0
				 : GELF_ST_BIND(sym.st_info) == STB_WEAK ? 1
									 : 2) *
					2 +
				!sym.st_size,
		};
		pool += len + 1;
	}
	f->names = names;
	f->nsyms = k;
	qsort(f->syms, k, sizeof(*f->syms), by_addr);
	f->cost += n * sizeof(*f->syms) + cap;
	return 0;
}

static bool terminated(Elf_Scn *scn)
{
	Elf_Data *d = elf_getdata(scn, NULL);

	return !d || !d->d_size || (d->d_buf && ((const char *)d->d_buf)[d->d_size - 1] == '\0');
}

static bool has_section(Elf *elf, const char *want, __u64 *dwarf_bytes)
{
	size_t shstrndx;
	Elf_Scn *scn = NULL;
	bool found = false;

	*dwarf_bytes = 0;
	if (elf_getshdrstrndx(elf, &shstrndx))
		return false;
	while ((scn = elf_nextscn(elf, scn))) {
		GElf_Shdr sh;
		GElf_Chdr ch;
		const char *name;

		if (!gelf_getshdr(scn, &sh) || !(name = elf_strptr(elf, shstrndx, sh.sh_name)))
			continue;
		if (strcmp(name, want) == 0 && sh.sh_type != SHT_NOBITS)
			found = true;
		/* libdw 0.188 runs strlen() over these (found by fuzz_elf): a last
		 * string without its NUL reads past the section. No DWARF then. */
		if ((strcmp(name, ".debug_str") == 0 || strcmp(name, ".debug_line_str") == 0) &&
		    !(sh.sh_flags & SHF_COMPRESSED) && !terminated(scn))
			*dwarf_bytes = UINT64_MAX;
		/* What libdw will hold in memory: a compressed section's full size. */
		if (strncmp(name, ".debug_", 7) == 0 && sh.sh_type != SHT_NOBITS &&
		    *dwarf_bytes != UINT64_MAX)
			*dwarf_bytes += (sh.sh_flags & SHF_COMPRESSED) && gelf_getchdr(scn, &ch)
						? ch.ch_size
						: sh.sh_size;
	}
	return found;
}

static int by_lo(const void *a, const void *b)
{
	const struct sym_cu *x = a, *y = b;

	return x->lo < y->lo ? -1 : x->lo > y->lo;
}

/* Every compile unit's address ranges: .debug_aranges may be missing (and is
 * not read back by this libdw when it is). */
static int read_cus(struct sym_file *f)
{
	Dwarf_CU *cu = NULL;
	Dwarf_Die cudie;
	size_t cap = 0;
	uint8_t unit_type;
	Dwarf_Half version;

	while (dwarf_get_units(f->dw, cu, &cu, &version, &unit_type, &cudie, NULL) == 0) {
		Dwarf_Addr base, lo, hi;
		ptrdiff_t off = 0;

		if (unit_type != DW_UT_compile && unit_type != DW_UT_partial)
			continue;
		while ((off = dwarf_ranges(&cudie, off, &base, &lo, &hi)) > 0) {
			if (f->ncus == SYM_MAX_CUS)
				goto out;
			if (f->ncus == cap) {
				size_t ncap = cap ? cap * 2 : 64;
				struct sym_cu *p = realloc(f->cus, ncap * sizeof(*p));

				if (!p)
					return -ENOMEM;
				f->cus = p;
				cap = ncap;
			}
			f->cus[f->ncus++] = (struct sym_cu){ lo, hi, dwarf_dieoffset(&cudie) };
		}
	}
out:
	if (f->ncus)
		qsort(f->cus, f->ncus, sizeof(*f->cus), by_lo);
	f->cost += cap * sizeof(*f->cus);
	return 0;
}

static Elf *open_elf(int fd)
{
	Elf *elf = elf_begin(fd, ELF_C_READ, NULL);
	GElf_Ehdr eh;

	if (elf && (elf_kind(elf) != ELF_K_ELF || !gelf_getehdr(elf, &eh) ||
		    (eh.e_type != ET_EXEC && eh.e_type != ET_DYN))) {
		elf_end(elf);
		return NULL;
	}
	return elf;
}

/* The separate debug file by build id, in the process's root, when its build id matches. */
static int open_debug_file(int root_fd, const char *build_id, Elf **out)
{
	char path[256], id[129];
	int fd;

	*out = NULL;
	if (root_fd < 0 || strlen(build_id) < 4)
		return -1;
	snprintf(path, sizeof(path), "/usr/lib/debug/.build-id/%.2s/%s.debug", build_id,
		 build_id + 2);
	fd = procfs__open_in_root(root_fd, path);
	if (fd < 0)
		return -1;
	*out = open_elf(fd);
	if (!*out)
		goto fail;
	read_build_id(*out, id, sizeof(id));
	if (strcmp(id, build_id) == 0)
		return fd;
	elf_end(*out);
	*out = NULL;
fail:
	close(fd);
	return -1;
}

/* DWARF from @elf, if it has some within the limit; takes @fd either way. */
static void begin_dwarf(struct sym_file *f, int fd, Elf *elf)
{
	__u64 bytes;

	if (has_section(elf, ".debug_info", &bytes) && bytes <= SYM_MAX_DWARF_BYTES &&
	    (f->dw = dwarf_begin_elf(elf, DWARF_C_READ, NULL))) {
		f->dw_fd = fd;
		f->dw_elf = elf;
		f->cost += bytes;
		if (read_cus(f) == 0 && f->ncus)
			return;
		dwarf_end(f->dw);
		f->dw = NULL;
		f->dw_elf = NULL;
		f->dw_fd = -1;
	}
	elf_end(elf);
	close(fd);
}

int sym_file__load(int fd, const struct sym_key *key, int root_fd, struct sym_file **out)
{
	struct sym_file *f = calloc(1, sizeof(*f));
	Elf *elf = NULL, *debug = NULL;
	int err = -ENOMEM, debug_fd = -1;
	GElf_Shdr sh;
	Elf_Scn *scn;
	GElf_Ehdr eh;
	__u64 bytes;

	if (!f)
		goto fail;
	f->key = *key;
	f->dw_fd = -1;
	f->cost = sizeof(*f);
	err = -ENOEXEC;
	if (elf_version(EV_CURRENT) == EV_NONE || !(elf = open_elf(fd)) || !gelf_getehdr(elf, &eh))
		goto fail;
	f->exec = eh.e_type == ET_EXEC;
	err = read_loads(elf, f);
	if (err)
		goto fail;
	read_build_id(elf, f->build_id, sizeof(f->build_id));
	if (!has_section(elf, ".debug_info", &bytes))
		debug_fd = open_debug_file(root_fd, f->build_id, &debug);
	/* .symtab has the static functions; a stripped file keeps .dynsym only,
	 * and its debug file (when there is one) the full .symtab. */
	if ((scn = find_section(elf, SHT_SYMTAB, &sh)))
		err = read_symbols(elf, scn, &sh, f);
	else if (debug && (scn = find_section(debug, SHT_SYMTAB, &sh)))
		err = read_symbols(debug, scn, &sh, f);
	else if ((scn = find_section(elf, SHT_DYNSYM, &sh)))
		err = read_symbols(elf, scn, &sh, f);
	if (err)
		goto fail;
	if (debug) {
		begin_dwarf(f, debug_fd, debug);
		debug = NULL;
		elf_end(elf);
		close(fd);
	} else {
		begin_dwarf(f, fd, elf);
	}
	*out = f;
	return 0;
fail:
	if (debug) {
		elf_end(debug);
		close(debug_fd);
	}
	elf_end(elf);
	close(fd);
	sym_file__free(f);
	return err;
}

void sym_file__free(struct sym_file *f)
{
	if (!f)
		return;
	if (f->dw) {
		dwarf_end(f->dw);
		elf_end(f->dw_elf);
		close(f->dw_fd);
	}
	for (size_t i = 0; i < f->nsrcs; i++)
		free(f->srcs[i].full);
	free(f->srcs);
	free(f->cus);
	free(f->loads);
	free(f->syms);
	free(f->names);
	free(f);
}

const struct sym_entry *sym_file__lookup(const struct sym_file *f, __u64 addr)
{
	size_t lo = 0, hi = f->nsyms;
	const struct sym_entry *e;

	/* The last entry at or below @addr; the best-ranked of its address. */
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (f->syms[mid].addr <= addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (!lo)
		return NULL;
	e = &f->syms[lo - 1];
	while (e > f->syms && e[-1].addr == e->addr)
		e--;
	/* A sized symbol covers its size only: past it, the address belongs to
	 * something the table does not name (a static function of a stripped file). */
	if (e->size && addr - e->addr >= e->size)
		return NULL;
	return e;
}

/*
 * A relative source name joined to its compile unit's directory, as addr2line
 * prints it; kept per file by libdw's pointer, which lives as long as the
 * Dwarf handle. @name itself when it is absolute or nothing can be joined.
 */
static const char *full_name(struct sym_file *f, Dwarf_Die *cudie, const char *name)
{
	size_t lo = 0, hi = f->nsrcs, dlen, nlen;
	Dwarf_Attribute attr;
	const char *dir;
	struct sym_src *p;
	char *full;

	if (name[0] == '/')
		return name;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (f->srcs[mid].name == name)
			return f->srcs[mid].full;
		if ((uintptr_t)f->srcs[mid].name < (uintptr_t)name)
			lo = mid + 1;
		else
			hi = mid;
	}
	dir = dwarf_formstring(dwarf_attr(cudie, DW_AT_comp_dir, &attr));
	if (!dir || !*dir || f->nsrcs == SYM_MAX_SRCS)
		return name;
	dlen = strnlen(dir, SYM_NAME_MAX + 1);
	nlen = strlen(name);
	if (dlen + 1 + nlen > SYM_NAME_MAX || !(full = malloc(dlen + nlen + 2)))
		return name;
	p = realloc(f->srcs, (f->nsrcs + 1) * sizeof(*p));
	if (!p) {
		free(full);
		return name;
	}
	f->srcs = p;
	snprintf(full, dlen + nlen + 2, "%s%s%s", dir, dir[dlen - 1] == '/' ? "" : "/", name);
	memmove(&p[lo + 1], &p[lo], (f->nsrcs - lo) * sizeof(*p));
	p[lo] = (struct sym_src){ name, full };
	f->nsrcs++;
	f->cost += sizeof(*p) + dlen + nlen + 2;
	return full;
}

void sym_file__line(struct sym_file *f, __u64 addr, const char **file, unsigned int *line)
{
	size_t lo = 0, hi = f->ncus;
	Dwarf_Die cudie;
	Dwarf_Line *l;
	const char *src;
	int n = 0;

	*file = "";
	*line = 0;
	if (!f->dw)
		return;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (f->cus[mid].lo <= addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	/* Ranges do not nest in practice; look back a little in case they overlap. */
	for (size_t i = lo; i > 0 && n < 8; i--, n++) {
		const struct sym_cu *c = &f->cus[i - 1];

		if (addr >= c->hi || !dwarf_offdie(f->dw, c->die, &cudie))
			continue;
		l = dwarf_getsrc_die(&cudie, addr);
		src = l ? dwarf_linesrc(l, NULL, NULL) : NULL;
		if (!src || strnlen(src, SYM_NAME_MAX + 1) > SYM_NAME_MAX)
			return;
		*file = full_name(f, &cudie, src);
		dwarf_lineno(l, (int *)line);
		return;
	}
}
