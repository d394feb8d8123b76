// SPDX-License-Identifier: GPL-2.0
/*
 * The model-path matcher. A global function, so the verifier checks it
 * once on its own, not once per state of its caller; and every index into
 * the path window is a constant (see MLW_TAIL).
 */
#include "model_match.bpf.h"

#define T (MLW_TAIL - 1) /* index of the last character */

static __always_inline bool is_hex(char c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
}

static __always_inline bool tail_is(const char *t, int end, const char *lit, int n)
{
	/* lit occupies t[end - n + 1 .. end]; all offsets are constants */
	for (int i = 0; i < n; i++)
		if (t[end - n + 1 + i] != lit[i])
			return false;
	return true;
}

/* Directly inside a "...-packages" directory? Tried for each possible
 * basename length, nearest slash first. */
static __always_inline bool in_packages_dir(const char *t)
{
#pragma unroll
	for (int l = 5; l <= 64; l++) {
		if (t[T - l] == '/')
			return tail_is(t, T - l - 1, "-packages", 9);
	}
	return false;
}

/* The extension key of the 8 bytes that end just before the dot at
 * t[T - e] (the name part before a compressor's extension), or 0 when
 * they hold no dot. A switch on e keeps every offset constant. */
static __always_inline u64 inner_ext_key(const char *t, int e)
{
	u64 w = 0;

	/* one case per offset, written as a pattern */
	/* clang-format off */
	switch (e) {
#define INNER(n) case n: __builtin_memcpy(&w, &t[T - (n) - 8], 8); break;
	INNER(1) INNER(2) INNER(3) INNER(4) INNER(5) INNER(6) INNER(7) INNER(8)
#undef INNER
	default:
		return 0;
	}
	/* clang-format on */
#pragma unroll
	for (int i = 1; i < 8; i++)
		if (((w >> (8 * (7 - i))) & 0xff) == '.')
			return lower8(w >> (8 * (8 - i)));
	return 0;
}

/* "name.<model ext>.<compressor ext>": joblib and pandas pick the
 * decompressor by the last extension and unpickle what comes out. */
static __always_inline bool inner_is_model(const char *t, int e)
{
	u64 key = inner_ext_key(t, e);
	u32 *flags;

	if (!key || !bloom_has(key))
		return false;
	flags = bpf_map_lookup_elem(&model_exts, &key);
	return flags && !(*flags & (MLW_EXT_COMPRESSOR | MLW_EXT_NOT_INNER | MLW_EXT_LONG));
}

static __always_inline int ext_matches(const char *t, bool want_quiet)
{
	u64 last8, key;
	u32 *flags;
	int e = 0;

	/* the last '.' within the last 9 characters, with no '/' after it */
#pragma unroll
	for (int i = 1; i <= MLW_EXT_MAX; i++) {
		char c = t[T - i];

		if (t[T - i + 1] == '/' || t[T - i + 1] == 0)
			break;
		if (c == '.') {
			e = i;
			break;
		}
	}
	__builtin_memcpy(&last8, &t[T - 7], 8);
	/* the extension is the top e bytes: shift it down to byte 0; with no
	 * dot that close, the last 8 bytes may end a long one */
	key = e == 0 || e == 8 ? last8 : last8 >> (8 * (8 - e));
	key = lower8(key);
	/* only marked processes ask: unmarked ones never pay this lookup */
	if (want_quiet && e != 0 && bpf_map_lookup_elem(&quiet_exts, &key))
		return MLW_MATCH_QUIET;
	if (!bloom_has(key))
		return MLW_MATCH_NONE;
	flags = bpf_map_lookup_elem(&model_exts, &key);
	if (!flags || (e == 0) != !!(*flags & MLW_EXT_LONG))
		return MLW_MATCH_NONE;
	if (*flags & MLW_EXT_COMPRESSOR)
		return inner_is_model(t, e) ? MLW_MATCH_MODEL : MLW_MATCH_NONE;
	if (*flags & MLW_EXT_NOT_IN_PACKAGES)
		return in_packages_dir(t) ? MLW_MATCH_NONE : MLW_MATCH_MODEL;
	return MLW_MATCH_MODEL;
}

static __always_inline bool all_hex(const char *t, int end, int n)
{
	bool ok = true;

	for (int i = 0; i < n; i++)
		ok &= is_hex(t[end - i]);
	return ok;
}

/* .../blobs/<40 or 64 hex> and .../blobs/sha256-<64 hex> (or sha256:) */
static __always_inline bool blob_matches(const char *t)
{
	if (!mlw_match_hex_blobs)
		return false;
	if (t[T - 64] == '/' && tail_is(t, T - 65, "/blobs", 6))
		return all_hex(t, T, 64);
	if (t[T - 40] == '/' && tail_is(t, T - 41, "/blobs", 6))
		return all_hex(t, T, 40);
	if ((t[T - 64] == '-' || t[T - 64] == ':') && tail_is(t, T - 65, "/blobs/sha256", 13))
		return all_hex(t, T, 64);
	return false;
}

__noinline int mlw_match_path(u32 len, u32 want_quiet)
{
	int r;

	struct mlw_pathbuf *pb = pathbuf_get();

	if (!pb || len < 2 || len > MLW_PATH_MAX)
		return 0;
	/* the window ends at the last character; the guard pads short paths */
	if (bpf_probe_read_kernel(pb->tail, MLW_TAIL,
				  pb->path + ((len - 1) & (MLW_PATH_MAX - 1)) - MLW_TAIL))
		return 0;
	r = ext_matches(pb->tail, want_quiet != 0);
	if (r != MLW_MATCH_NONE)
		return r;
	return blob_matches(pb->tail) ? MLW_MATCH_MODEL : MLW_MATCH_NONE;
}
