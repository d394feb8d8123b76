#include <errno.h>
#include <gelf.h>
#include <libelf.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pyelf.h"

bool pyelf_name_version(const char *name, unsigned *major, unsigned *minor, char *abi,
			size_t abilen)
{
	const char *base = strrchr(name, '/'), *p;
	unsigned long ma, mi;
	char *end;
	size_t n = 0;

	base = base ? base + 1 : name;
	if (!strncmp(base, "libpython", 9))
		p = base + 9;
	else if (!strncmp(base, "python", 6))
		p = base + 6;
	else
		return false;
	if (*p < '0' || *p > '9')
		return false;
	ma = strtoul(p, &end, 10);
	if (*end != '.' || end[1] < '0' || end[1] > '9')
		return false;
	mi = strtoul(end + 1, &end, 10);
	while (*end && strchr("dmut", *end) && n + 1 < abilen)
		abi[n++] = *end++;
	if (abilen)
		abi[n] = 0;
	/* after the flags: the end, or ".so..." */
	if (*end && strncmp(end, ".so", 3))
		return false;
	if (ma != 3 || mi > 99)
		return false;
	*major = (unsigned)ma;
	*minor = (unsigned)mi;
	return true;
}

/* The stapsdt notes: owner "stapsdt", type 3; the descriptor is three
 * addresses (pc, base, semaphore), then provider, name and arguments. */
static bool has_audit_note(Elf_Data *d)
{
	size_t off = 0, noff, doff;
	GElf_Nhdr nh;

	while (off < d->d_size && (off = gelf_getnote(d, off, &nh, &noff, &doff)) > 0) {
		const char *owner = (const char *)d->d_buf + noff;
		const char *desc = (const char *)d->d_buf + doff;
		size_t addrs = 3 * 8, dl = nh.n_descsz;

		if (nh.n_type != 3 || nh.n_namesz != 8 || memcmp(owner, "stapsdt", 8) ||
		    dl <= addrs)
			continue;
		/* provider NUL name NUL, inside the descriptor */
		const char *prov = desc + addrs, *lim = desc + dl;
		const char *nm = memchr(prov, 0, (size_t)(lim - prov));

		if (!nm || ++nm >= lim || !memchr(nm, 0, (size_t)(lim - nm)))
			continue;
		if (!strcmp(prov, "python") && !strcmp(nm, "audit"))
			return true;
	}
	return false;
}

/* Py_Version (3.11+): PY_VERSION_HEX in a read-only data symbol. */
static bool read_py_version(Elf *e, const GElf_Sym *sym, unsigned *major, unsigned *minor)
{
	Elf_Scn *scn = elf_getscn(e, sym->st_shndx);
	GElf_Shdr sh;
	Elf_Data *d;
	unsigned char b[4];
	uint64_t off;
	uint32_t v;

	if (!scn || !gelf_getshdr(scn, &sh) || sh.sh_type != SHT_PROGBITS ||
	    sym->st_value < sh.sh_addr || sym->st_value + 4 > sh.sh_addr + sh.sh_size)
		return false;
	d = elf_getdata(scn, NULL);
	off = sym->st_value - sh.sh_addr;
	if (!d || !d->d_buf || off + 4 > d->d_size)
		return false;
	memcpy(b, (const char *)d->d_buf + off, 4);
	v = (uint32_t)b[0] | (uint32_t)b[1] << 8 | (uint32_t)b[2] << 16 | (uint32_t)b[3] << 24;
	if (v >> 24 != 3)
		return false;
	*major = 3;
	*minor = (v >> 16) & 0xff;
	return true;
}

static void scan_syms(Elf *e, Elf_Scn *scn, const GElf_Shdr *sh, struct pyelf *out)
{
	Elf_Data *d = elf_getdata(scn, NULL);
	size_t n = sh->sh_entsize ? sh->sh_size / sh->sh_entsize : 0;

	for (size_t i = 0; d && i < n; i++) {
		GElf_Sym sym;
		const char *nm;

		if (!gelf_getsym(d, (int)i, &sym) || sym.st_shndx == SHN_UNDEF)
			continue;
		nm = elf_strptr(e, sh->sh_link, sym.st_name);
		if (!nm || (nm[0] != 'P' && nm[0] != '_'))
			continue;
		if (!strcmp(nm, "PySys_Audit") && GELF_ST_TYPE(sym.st_info) == STT_FUNC)
			out->sysaudit = true;
		else if (!strcmp(nm, "Py_Version") && !out->major &&
			 read_py_version(e, &sym, &out->major, &out->minor))
			out->version_from = "Py_Version";
		else if (!strcmp(nm, "_Py_NegativeRefcount") || !strcmp(nm, "_Py_RefTotal"))
			out->debug = true;
		else if (!strcmp(nm, "_Py_PrintReferences") || !strcmp(nm, "_Py_AddToAllObjects"))
			out->trace_refs = true;
		else if (!strcmp(nm, "_Py_MergeZeroLocalRefcount") ||
			 !strcmp(nm, "_Py_DecRefShared"))
			out->free_threaded = true;
	}
}

static void scan_dynamic(Elf *e, Elf_Scn *scn, const GElf_Shdr *sh, struct pyelf *out)
{
	Elf_Data *d = elf_getdata(scn, NULL);
	size_t n = sh->sh_entsize ? sh->sh_size / sh->sh_entsize : 0;

	for (size_t i = 0; d && i < n; i++) {
		GElf_Dyn dyn;
		const char *s;

		if (!gelf_getdyn(d, (int)i, &dyn))
			continue;
		if (dyn.d_tag != DT_NEEDED && dyn.d_tag != DT_SONAME)
			continue;
		s = elf_strptr(e, sh->sh_link, dyn.d_un.d_val);
		if (!s)
			continue;
		if (dyn.d_tag == DT_SONAME)
			snprintf(out->soname, sizeof(out->soname), "%s", s);
		else if (!strncmp(s, "libpython3", 10) && !out->needed[0])
			snprintf(out->needed, sizeof(out->needed), "%s", s);
	}
}

int pyelf_read(int fd, const char *name, struct pyelf *out, char *err, size_t errlen)
{
	Elf_Scn *scn = NULL;
	Elf *e;
	char abi[8] = "";
	unsigned ma, mi;

	memset(out, 0, sizeof(*out));
	if (elf_version(EV_CURRENT) == EV_NONE) {
		snprintf(err, errlen, "libelf: %s", elf_errmsg(-1));
		return -EINVAL;
	}
	e = elf_begin(fd, ELF_C_READ_MMAP, NULL);
	if (!e) {
		snprintf(err, errlen, "not readable as ELF: %s", elf_errmsg(-1));
		return -EINVAL;
	}
	if (elf_kind(e) != ELF_K_ELF || gelf_getclass(e) != ELFCLASS64) {
		snprintf(err, errlen, "not a 64-bit ELF file");
		elf_end(e);
		return -ENOEXEC;
	}
	while ((scn = elf_nextscn(e, scn))) {
		GElf_Shdr sh;

		if (!gelf_getshdr(scn, &sh))
			continue;
		if (sh.sh_type == SHT_NOTE) {
			Elf_Data *d = elf_getdata(scn, NULL);

			if (d && !out->usdt && has_audit_note(d))
				out->usdt = true;
		} else if (sh.sh_type == SHT_DYNSYM || sh.sh_type == SHT_SYMTAB) {
			scan_syms(e, scn, &sh, out);
		} else if (sh.sh_type == SHT_DYNAMIC) {
			scan_dynamic(e, scn, &sh, out);
		}
	}
	elf_end(e);
	/* before 3.11 no symbol has the version: the soname, else the name
	 * (which also carry the ABI flags) */
	if ((out->soname[0] && pyelf_name_version(out->soname, &ma, &mi, abi, sizeof(abi))) ||
	    (name && pyelf_name_version(name, &ma, &mi, abi, sizeof(abi)))) {
		if (!out->major) {
			out->major = ma;
			out->minor = mi;
			out->version_from = out->soname[0] && pyelf_name_version(out->soname, &ma,
										 &mi, abi,
										 sizeof(abi)) ?
						    "soname" :
						    "file name";
		}
	}
	if (strchr(abi, 'd'))
		out->debug = true;
	if (strchr(abi, 't'))
		out->free_threaded = true;
	return 0;
}
