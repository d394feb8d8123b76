/* Which file names make an open a model-load candidate in the kernel. */
#ifndef MLWATCH_MODELPATTERNS_H
#define MLWATCH_MODELPATTERNS_H
#include <stdbool.h>
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
#endif
