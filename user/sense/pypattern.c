#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "pypattern.h"

static bool is_glob(char c)
{
	return c == '*' || c == '?' || c == '[' || c == '\\';
}

/* One side: exact, "x*", "*x", "*"; anything else is not expressible,
 * except on a deny pattern, which becomes the prefix before its first
 * wildcard (or anything). Returns the result for this side. */
static enum pypattern_result side(const char *s, size_t n, bool allow, uint8_t *kind, char *dst,
				  uint8_t *len)
{
	size_t globs = 0, first = n;

	for (size_t i = 0; i < n; i++)
		if (is_glob(s[i])) {
			globs++;
			if (first == n)
				first = i;
		}
	if (globs == 0 && n <= MLW_PY_PAT_LEN) {
		*kind = MLW_PY_M_EXACT;
		memcpy(dst, s, n);
		*len = (uint8_t)n;
		return PYPAT_EXACT;
	}
	if (n == 1 && s[0] == '*') {
		*kind = MLW_PY_M_ANY;
		*len = 0;
		return PYPAT_EXACT;
	}
	if (globs == 1 && s[n - 1] == '*' && n - 1 <= MLW_PY_PAT_LEN) {
		*kind = MLW_PY_M_PREFIX;
		memcpy(dst, s, n - 1);
		*len = (uint8_t)(n - 1);
		return PYPAT_EXACT;
	}
	if (globs == 1 && s[0] == '*' && n - 1 <= MLW_PY_PAT_LEN) {
		*kind = MLW_PY_M_SUFFIX;
		memcpy(dst, s + 1, n - 1);
		*len = (uint8_t)(n - 1);
		return PYPAT_EXACT;
	}
	if (allow)
		return PYPAT_LEFT_OUT;
	if (first > MLW_PY_PAT_LEN)
		first = MLW_PY_PAT_LEN;
	*kind = first ? MLW_PY_M_PREFIX : MLW_PY_M_ANY;
	memcpy(dst, s, first);
	*len = (uint8_t)first;
	return PYPAT_WIDER;
}

enum pypattern_result pypattern_compile(const char *pat, bool allow, struct mlw_py_pattern *out)
{
	const char *colon = strchr(pat, ':');
	enum pypattern_result a, b;

	memset(out, 0, sizeof(*out));
	if (!colon || strchr(colon + 1, ':'))
		return PYPAT_LEFT_OUT; /* not "module:name": pickle_judge never matches it */
	out->verdict = allow ? MLW_PY_V_ALLOW : MLW_PY_V_DENY;
	a = side(pat, (size_t)(colon - pat), allow, &out->mod_kind, out->mod, &out->mod_len);
	if (a == PYPAT_LEFT_OUT)
		goto out;
	b = side(colon + 1, strlen(colon + 1), allow, &out->name_kind, out->name, &out->name_len);
	if (b == PYPAT_LEFT_OUT)
		goto out;
	return a == PYPAT_WIDER || b == PYPAT_WIDER ? PYPAT_WIDER : PYPAT_EXACT;
out:
	memset(out, 0, sizeof(*out));
	return PYPAT_LEFT_OUT;
}

struct build_ctx {
	struct pypattern_set *set;
	bool want_allow;
	bool full; /* a deny pattern did not fit: the last entry denies all */
};

static void add_one(const char *pat, bool allow, void *vctx)
{
	struct build_ctx *c = vctx;
	struct pypattern_set *s = c->set;
	struct mlw_py_pattern p;
	enum pypattern_result r;

	if (allow != c->want_allow)
		return;
	r = pypattern_compile(pat, allow, &p);
	if (r == PYPAT_LEFT_OUT) {
		if (!allow) {
			/* not "module:name": pickle_judge never matches it either */
			return;
		}
		if (!s->left_out++)
			snprintf(s->first_left_out, sizeof(s->first_left_out), "%s", pat);
		return;
	}
	if (s->n >= MLW_PY_PATTERNS || c->full) {
		if (allow) {
			s->left_out++;
			return;
		}
		if (c->full)
			return;
		c->full = true;
		/* a deny that does not fit: deny everything (fail closed) */
		memset(&s->v[MLW_PY_PATTERNS - 1], 0, sizeof(s->v[0]));
		s->v[MLW_PY_PATTERNS - 1] = (struct mlw_py_pattern){ .verdict = MLW_PY_V_DENY,
								     .mod_kind = MLW_PY_M_ANY,
								     .name_kind = MLW_PY_M_ANY };
		s->widened++;
		return;
	}
	if (r == PYPAT_WIDER)
		s->widened++;
	s->v[s->n++] = p;
}

void pypattern_build(const struct pickle_profile *profile, struct pypattern_set *set)
{
	struct build_ctx c = { .set = set };

	memset(set, 0, sizeof(*set));
	pickle_profile_each(profile, add_one, &c); /* the deny list */
	c.want_allow = true;
	pickle_profile_each(profile, add_one, &c);
}
