/* Which file names make an open a model-load candidate in the kernel. */
#ifndef MLWATCH_MODELPATTERNS_H
#define MLWATCH_MODELPATTERNS_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* NULL-terminated: the model formats (torch, pickle, joblib, numpy, keras, gguf,
 * onnx, safetensors and their usual spellings). */
extern const char *const model_default_exts[];

/* Packs an extension (no dot) the way bpf/model_match.bpf.c looks it up:
 * lowercase, first character in the lowest byte; one longer than
 * MLW_EXT_MAX by its last MLW_EXT_MAX bytes (see MLW_EXT_LONG). Returns
 * false if it is empty or holds '/' or '.'. */
bool model_ext_key(const char *ext, uint64_t *key);
/* NULL-terminated: read-only opens of these by a marked process are not
 * sent (counted as opens_quiet). */
extern const char *const model_quiet_exts[];
/* MLW_EXT_* flags the kernel applies to this extension. */
uint32_t model_ext_flags(const char *ext);
/* Adds a key to the kernel's 256-bit extension bloom filter. */
void model_ext_bloom_add(uint64_t bloom[4], uint64_t key);
/* The kernel's bloom filter (mlw_ext_bloom) of the defaults and n_extra
 * more extensions; set before load. */
void model_ext_bloom_fill(uint64_t bloom[4], const char *const *extra, int n_extra);
/* Fills the kernel's model_exts map (exts_fd) with the defaults and n_extra
 * more, and quiet_exts (quiet_fd) with model_quiet_exts; after load. An
 * extra one that cannot be keyed is skipped with a warning. Returns 0 or
 * -errno. */
int model_exts_push(int exts_fd, int quiet_fd, const char *const *extra, int n_extra);

/* The extensions as model_exts_push gives them to the kernel, for
 * model_path_is_candidate. */
#define MODEL_EXTS_TABLE_MAX 256
struct model_exts_table {
	size_t n;
	uint64_t key[MODEL_EXTS_TABLE_MAX];
	uint32_t flags[MODEL_EXTS_TABLE_MAX];
	bool hex_blobs; /* blobs/<sha> names are models (mlw_match_hex_blobs) */
};
/* The defaults and n_extra more (one that cannot be keyed is skipped, as
 * model_exts_push skips it). */
void model_exts_table_fill(struct model_exts_table *t, const char *const *extra, int n_extra,
			   bool hex_blobs);
/* bpf/model_match.bpf.c's verdict MLW_MATCH_MODEL on path, in user space:
 * the same window on the path's tail and the same rules, for paths the
 * kernel never saw opened (files a process held before mlwatch started).
 * tests/unit/sense/test_model_match_bpf.c runs both on every path it has. */
bool model_path_is_candidate(const struct model_exts_table *t, const char *path);
#endif
