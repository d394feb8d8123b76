/* The pickle allowlist and deny list compiled for the kernel's matcher
 * (map py_patterns): each side of "module:name" exact, a prefix, a suffix
 * or anything. What cannot be put that way is left out of the allowlist
 * (the kernel is then stricter: user space judges again) and widened on
 * the deny list (a prefix up to the first wildcard): never looser. */
#ifndef MLWATCH_PYPATTERN_H
#define MLWATCH_PYPATTERN_H
#include <stdbool.h>
#include <stddef.h>
#include <mlwatch/maps.h>
#include "scan/pickle/pickle_profiles.h"

enum pypattern_result {
	PYPAT_EXACT = 0, /* as written */
	PYPAT_WIDER = 1, /* a deny pattern made wider */
	PYPAT_LEFT_OUT = -1,
};
/* One "module:name" glob. */
enum pypattern_result pypattern_compile(const char *pat, bool allow, struct mlw_py_pattern *out);

struct pypattern_set {
	struct mlw_py_pattern v[MLW_PY_PATTERNS]; /* deny patterns first */
	size_t n;
	size_t left_out; /* allow patterns the kernel cannot match */
	size_t widened;  /* deny patterns matched wider than written */
	char first_left_out[MLW_PY_PAT_LEN * 2 + 2];
};
/* Every pattern of profile (pickle_profile_each). Deny patterns that do
 * not fit the table make its last entry deny everything. */
void pypattern_build(const struct pickle_profile *profile, struct pypattern_set *set);
#endif
