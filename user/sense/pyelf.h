/* What a binary says about the Python in it: the python:audit probe, the
 * PySys_Audit symbol, its version and build, read from its ELF file. */
#ifndef MLWATCH_PYELF_H
#define MLWATCH_PYELF_H
#include <stdbool.h>
#include <stddef.h>

struct pyelf {
	bool usdt;                /* a stapsdt note for provider "python", probe "audit" */
	bool sysaudit;            /* PySys_Audit defined here (exported or not) */
	bool debug;               /* a debug build (Py_REF_DEBUG: _Py_NegativeRefcount...) */
	bool trace_refs;          /* Py_TRACE_REFS: PyObject has two more pointers */
	bool free_threaded;       /* Py_GIL_DISABLED (3.13t) */
	unsigned major, minor;    /* 0: not known */
	const char *version_from; /* "Py_Version", "soname", "file name", or NULL */
	char needed[64];          /* a DT_NEEDED libpython3*, "" if none */
	char soname[64];          /* DT_SONAME, "" if none */
};

/* Reads the ELF open at fd; name is the file's name (its version may be in
 * it: python3.9, libpython3.9.so.1.0). 0, or -errno with err saying why
 * (not an ELF file, unreadable). A binary with nothing of Python in it
 * reads fine: usdt and sysaudit false, no version. */
int pyelf_read(int fd, const char *name, struct pyelf *out, char *err, size_t errlen);

/* The version in a name like "python3.11", "libpython3.9.so.1.0",
 * "libpython3.13t.so": true with *major, *minor and the ABI flags after
 * the minor ("", "d", "t", "td"). */
bool pyelf_name_version(const char *name, unsigned *major, unsigned *minor, char *abi,
			size_t abilen);
#endif
