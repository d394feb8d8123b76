/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Is this path a model file? Decided from the path's tail only, so the cost
 * stays flat however long the path is:
 *  - its extension is in `model_exts` (pushed from user space), or
 *  - its last component is a content-addressed blob (40+ hex digits, or
 *    sha256-<hex>) directly under a `blobs/` directory: the Hugging Face
 *    cache (models--org--name/blobs/<sha>) and Ollama (blobs/sha256-<hex>).
 * User space confirms every candidate by its first bytes.
 */
#ifndef MLWATCH_MODEL_MATCH_BPF_H
#define MLWATCH_MODEL_MATCH_BPF_H

#include "common.bpf.h"

#define MLW_MASK (MLW_PATH_MAX - 1)
/* git blob ids (40 hex) to sha256 digests (64 hex) */
#define MLW_BLOB_HEX_MIN 40
/* A file name is at most NAME_MAX bytes. */
#define MLW_NAME_MAX 255
#define MLW_BLOB_HEX_MAX 64

static __always_inline bool is_hex(char c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
}

/* Does the text ending just before index `end` equal lit (of n bytes)? */
static __always_inline bool ends_with_at(const char *path, u32 end, const char *lit, u32 n)
{
	u32 i;

	if (end < n)
		return false;
	for (i = 0; i < n; i++)
		if (path[(end - n + i) & MLW_MASK] != lit[i])
			return false;
	return true;
}

/* Is the file whose extension dot is at `dot` directly inside a
 * "...-packages" directory (site-packages, dist-packages)? */
static __always_inline bool in_packages_dir(const char *path, u32 dot)
{
	u32 i, slash = 0;

	for (i = 0; i < MLW_NAME_MAX; i++) {
		if (i >= dot)
			return false;
		if (path[(dot - 1 - i) & MLW_MASK] == '/') {
			slash = dot - 1 - i;
			break;
		}
	}
	return slash && ends_with_at(path, slash, "-packages", 9);
}

static __always_inline bool ext_matches(const char *path, u32 len)
{
	u32 i, dot = 0, extlen;
	u32 *flags;
	u64 key = 0;

	/* len counts the NUL: the last character is at len - 2. */
	for (i = 0; i <= MLW_EXT_MAX; i++) {
		char c;

		if (i + 2 > len)
			return false;
		c = path[(len - 2 - i) & MLW_MASK];
		if (c == '/')
			return false;
		if (c == '.') {
			dot = len - 2 - i;
			break;
		}
	}
	extlen = len - 2 - dot;
	if (dot == 0 || extlen == 0 || extlen > MLW_EXT_MAX)
		return false;
	/* pack lowercase, first character in the lowest byte (as user space) */
	for (i = 0; i < MLW_EXT_MAX; i++) {
		char c;

		if (i >= extlen)
			break;
		c = path[(dot + 1 + i) & MLW_MASK];
		if (c >= 'A' && c <= 'Z')
			c += 'a' - 'A';
		key |= (u64)(u8)c << (8 * i);
	}
	flags = bpf_map_lookup_elem(&model_exts, &key);
	if (!flags)
		return false;
	if (*flags & MLW_EXT_NOT_IN_PACKAGES)
		return !in_packages_dir(path, dot);
	return true;
}

static __always_inline bool blob_matches(const char *path, u32 len)
{
	u32 i, hex = 0, at;
	char c;

	if (!mlw_match_hex_blobs || len < MLW_BLOB_HEX_MIN + 8)
		return false;
	/* one scan: the run of hex digits that ends the path */
	for (i = 0; i < MLW_BLOB_HEX_MAX + 1; i++) {
		if (i + 2 > len || !is_hex(path[(len - 2 - i) & MLW_MASK]))
			break;
		hex++;
	}
	if (hex < MLW_BLOB_HEX_MIN || hex > MLW_BLOB_HEX_MAX || len < hex + 2)
		return false;
	at = len - 2 - hex; /* the byte before the hex run */
	c = path[at & MLW_MASK];
	if (c == '-' || c == ':') { /* Ollama: sha256-<hex> */
		if (!ends_with_at(path, at, "/sha256", 7))
			return false;
		at -= 7; /* now at the '/' before "sha256" */
	} else if (c != '/') {
		return false;
	}
	return ends_with_at(path, at, "/blobs", 6);
}

static __always_inline bool is_model_path(const char *path, u32 len)
{
	return ext_matches(path, len) || blob_matches(path, len);
}

#endif
