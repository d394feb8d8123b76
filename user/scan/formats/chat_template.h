/* Chat templates (Jinja) that run code when rendered, in GGUF metadata
 * and Hugging Face tokenizer configs. */
#ifndef MLWATCH_CHAT_TEMPLATE_H
#define MLWATCH_CHAT_TEMPLATE_H
#include "gguf.h"

/* Checks one template's text; adds hits (used by gguf_scan, and for HF
 * tokenizer_config.json templates). */
void gguf_check_template(const char *key, const uint8_t *t, size_t len, uint64_t base_off,
			 struct gguf_info *g);
#endif
