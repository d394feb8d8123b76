/* The pickle walker's strings: protocol 0 escapes, decoded copies, text
 * and bytes views of stack values. Internal to the walker. */
#ifndef MLWATCH_PICKLE_STRINGS_H
#define MLWATCH_PICKLE_STRINGS_H
#include "pickle_walk.h"

bool pw_dec_repr(const uint8_t *s, size_t n, struct pw_out *k, bool as_text);
bool pw_dec_rue(const uint8_t *s, size_t n, struct pw_out *k);
uint8_t *pw_own(struct walker *w, size_t n);
bool pw_in_root(const struct frame *f, const struct val *v);
size_t pw_origin(const struct frame *f, const struct val *v);
bool pw_utf8_to_latin1(uint8_t *s, size_t n, size_t *out);
struct val pw_bytes_val(const struct frame *f, const struct val *from, const uint8_t *p, size_t n,
			bool owned);
bool pw_val_bytes(struct frame *f, const struct val *v, struct val *out);
bool pw_val_text(struct frame *f, const struct val *v, const uint8_t **p, size_t *n);
bool pw_name_text(const struct val *v, uint8_t *buf, size_t cap, const uint8_t **p, size_t *n);
bool pw_text_is(const uint8_t *p, size_t n, const char *s);
uint16_t pw_codec_bits(const struct val *v);
#endif
