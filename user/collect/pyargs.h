/* The arguments of a Python audit record (struct mlw_python) as safe text:
 * each one valid UTF-8 without NULs, however the kernel found it. */
#ifndef MLWATCH_PYARGS_H
#define MLWATCH_PYARGS_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <mlwatch/events.h>

/* One argument's text at most: bytes escaped grow 4x (\xNN), and a
 * sequence's items are joined with one space each. */
#define PYARGS_TEXT_MAX (4 * MLW_PY_ARG_MAX + 1)

struct py_args {
	uint32_t event;  /* enum mlw_py_event (collect/pyevents.h) */
	uint32_t interp; /* the interpreter's index */
	uint16_t pyflags;
	size_t n;                     /* arguments */
	const char *arg[MLW_PY_ARGS]; /* into text; "" for None, an absent or unread one */
	uint8_t enc[MLW_PY_ARGS];     /* enum mlw_py_enc as sent (unknown ones: FAULT) */
	uint32_t items[MLW_PY_ARGS];  /* a sequence: the items decoded */
	bool cut[MLW_PY_ARGS];        /* shorter than the object was */
	bool bad[MLW_PY_ARGS];        /* not readable, or not what its encoding says */
	bool truncated;               /* an argument cut (here or by the kernel) */
	bool fault;                   /* an argument unreadable (here or by the kernel) */
	char text[MLW_PY_ARGS][PYARGS_TEXT_MAX];
};

/*
 * Decodes a record of `size` bytes into *out. Returns 0, or -1 with a
 * static reason in *why when the record cannot be trusted as a whole (more
 * arguments than it has room for, lengths past its end); an argument that
 * is merely odd (an unknown encoding, a cut code unit) is kept as "" or
 * what could be read, and flagged.
 */
int py_args_decode(const struct mlw_python *rec, size_t size, struct py_args *out,
		   const char **why);
#endif
