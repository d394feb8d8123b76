/* libFuzzer target: the GGUF metadata reader and the chat template checker
 * on untrusted bytes. Checks that what it reports stays inside the input
 * and agrees with itself. */
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "scan/formats/chat_template.h"

static void check_info(const struct gguf_info *g, size_t size)
{
	if (g->nhits > GGUF_MAX_HITS)
		__builtin_trap();
	for (size_t i = 0; i < g->nhits; i++) {
		const struct gguf_hit *h = &g->hits[i];

		if (h->offset >= size || !*h->what)
			__builtin_trap();
		if (strnlen(h->key, sizeof(h->key)) >= sizeof(h->key) ||
		    strnlen(h->what, sizeof(h->what)) >= sizeof(h->what))
			__builtin_trap();
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct gguf_info g;
	struct byte_src s;
	char err[160];
	int rc;

	bsrc_from_mem(&s, data, size);
	rc = gguf_scan(&s, &g, err, sizeof(err));
	if (rc != 0 && rc != -EINVAL && rc != -ENOMEM)
		__builtin_trap();
	if (strnlen(err, sizeof(err)) >= sizeof(err) || (rc == -EINVAL && !*err) || (!rc && *err))
		__builtin_trap();
	check_info(&g, size);
	if (!rc && g.n_kv > GGUF_MAX_KV)
		__builtin_trap();

	/* the same bytes as a template on their own (HF tokenizer_config.json) */
	memset(&g, 0, sizeof(g));
	gguf_check_template("tokenizer_config.json", data, size, 0, &g);
	if (g.templates != 1)
		__builtin_trap();
	check_info(&g, size);
	return 0;
}
