/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Is this path a model file? Decided from the path's tail only, so the cost
 * stays flat however long the path is:
 *  - its extension is in `model_exts` (pushed from user space), or
 *  - its last component is a content-addressed blob (40 or 64 hex digits,
 *    or sha256-<64 hex>) directly under a `blobs/` directory: the Hugging
 *    Face cache (models--org--name/blobs/<sha>) and Ollama.
 * User space confirms every candidate by its first bytes.
 */
#ifndef MLWATCH_MODEL_MATCH_BPF_H
#define MLWATCH_MODEL_MATCH_BPF_H

#include "common.bpf.h"

/* The path's last MLW_TAIL bytes are copied to a fixed window so every
 * check below uses constant offsets (variable ones defeat the verifier's
 * pruning). 128 covers "/blobs/sha256-" + 64 hex and a 64-byte .pth name
 * with its "-packages/" parent. */
#define MLW_TAIL 128

struct mlw_pathbuf {
	char guard[MLW_TAIL];    /* never written: zeros before short paths */
	char path[MLW_PATH_MAX]; /* bpf_probe_read_user_str lands here */
	char tail[MLW_TAIL];     /* tail[MLW_TAIL - 1] is the last character */
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, u32);
	__type(value, struct mlw_pathbuf);
} pathbuf SEC(".maps") __weak;

/* Extensions whose read-only opens by a marked process are not sent. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 64);
	__type(key, u64);
	__type(value, u32);
} quiet_exts SEC(".maps") __weak;

/* mlw_match_path() verdicts */
#define MLW_MATCH_NONE 0
#define MLW_MATCH_MODEL 1
#define MLW_MATCH_QUIET 2

/* 256-bit bloom filter of the extension keys (two bits each), set by user
 * space before load: most non-model extensions (.py .so .pyc) skip the
 * hash lookup. */
const volatile u64 mlw_ext_bloom[4] __weak = { ~0ull, ~0ull, ~0ull, ~0ull };

/* Lowercases ASCII letters in all 8 bytes at once. */
static __always_inline u64 lower8(u64 x)
{
	u64 h = x & 0x7f7f7f7f7f7f7f7full;
	u64 ge_a = h + 0x3f3f3f3f3f3f3f3full; /* >= 'A' sets bit 7 */
	u64 gt_z = h + 0x2525252525252525ull; /* >  'Z' sets bit 7 */
	u64 upper = ge_a & ~gt_z & ~x & 0x8080808080808080ull;

	return x | (upper >> 2);
}

static __always_inline bool bloom_has(u64 key)
{
	u64 h1 = (key * 0x9e3779b97f4a7c15ull) >> 56;
	u64 h2 = (key * 0xc2b2ae3d27d4eb4full) >> 56;

	return (mlw_ext_bloom[(h1 >> 6) & 3] & (1ull << (h1 & 63))) &&
	       (mlw_ext_bloom[(h2 >> 6) & 3] & (1ull << (h2 & 63)));
}

/* The extension key of a name whose last 8 bytes are last8 (little
 * endian, the last character in the top byte), as ext_matches() forms it
 * from a full path. A dot further back than 8 bytes gives last8 itself. */
static __always_inline u64 ext_key_of_last8(u64 last8)
{
#pragma unroll
	for (int e = 1; e < 8; e++)
		if (((last8 >> (8 * (7 - e))) & 0xff) == '.')
			return lower8(last8 >> (8 * (8 - e)));
	return lower8(last8);
}

static __always_inline struct mlw_pathbuf *pathbuf_get(void)
{
	u32 zero = 0;

	return bpf_map_lookup_elem(&pathbuf, &zero);
}

/* pb->path holds a string of len bytes (NUL included): MLW_MATCH_MODEL if
 * it names a model candidate; with want_quiet, MLW_MATCH_QUIET if its
 * extension is in quiet_exts. Defined in model_match.bpf.c. */
extern int mlw_match_path(u32 len, u32 want_quiet);

#endif
