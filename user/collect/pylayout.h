/* Where CPython keeps what the kernel's Python probe reads, by version
 * (default builds: not debug, not free-threaded). Data, never guessed: a
 * version without a table here is not attached. */
#ifndef MLWATCH_PYLAYOUT_H
#define MLWATCH_PYLAYOUT_H
#include <mlwatch/maps.h>

/* The layout of CPython major.minor into *out: 0, or -ENOENT when this
 * version is not one mlwatch knows. */
int pylayout_get(unsigned major, unsigned minor, struct mlw_py_layout *out);
/* The versions known, for --version: "3.8 3.9 ... 3.13". */
const char *pylayout_versions(void);
#endif
