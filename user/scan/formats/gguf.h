/* GGUF metadata reader: finds the Jinja chat templates (tokenizer.chat_template
 * and tokenizer.chat_template.<name>) that llama.cpp-based and Python
 * runtimes render, and flags templates that reach for Python objects or OS
 * access (server-side template injection, e.g. CVE-2024-34359). Tensor data
 * is never read. */
#ifndef MLWATCH_GGUF_H
#define MLWATCH_GGUF_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "lib/bytesrc.h"

#define GGUF_MAX_KV 1000000         /* more key/value pairs: refused */
#define GGUF_MAX_STRING (64u << 20) /* one string; longer: refused */
#define GGUF_MAX_HITS 16

struct gguf_hit {
	char key[128];   /* which template ("tokenizer.chat_template") */
	char what[64];   /* the matched construct ("__globals__", "os.popen") */
	uint64_t offset; /* in the file */
	bool malicious;  /* false: only suspicious */
};

struct gguf_info {
	uint32_t version;
	uint64_t n_tensors, n_kv;
	size_t templates; /* chat templates found */
	struct gguf_hit hits[GGUF_MAX_HITS];
	size_t nhits, hits_dropped;
};

/* Returns 0, -EINVAL (not GGUF, or malformed metadata: err says where; hits
 * found before the damage are kept), -ENOMEM, or a read error. */
int gguf_scan(const struct byte_src *s, struct gguf_info *g, char *err, size_t errlen);
#endif
