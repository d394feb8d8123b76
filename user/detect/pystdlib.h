/* Whether a module belongs to Python's standard library. */
#ifndef MLWATCH_PYSTDLIB_H
#define MLWATCH_PYSTDLIB_H
#include <stdbool.h>

/* By its top-level name ("pydoc", "os.path" -> "os"); false for NULL. */
bool py_stdlib_module(const char *module);
#endif
