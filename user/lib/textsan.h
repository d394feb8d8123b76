/* Making hostile strings (paths, argv) safe to print and to put in JSON. */
#ifndef MLWATCH_TEXTSAN_H
#define MLWATCH_TEXTSAN_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Copies src as valid UTF-8: each byte of an invalid sequence becomes
 * U+FFFD. Returns true if anything was replaced or cut (out too small). */
bool utf8_sanitize(const char *src, size_t srclen, char *out, size_t outlen);

/* Whether s[0..n) is valid UTF-8; on false, *bad (may be NULL) is the
 * offset of the first bad sequence. */
bool utf8_valid(const uint8_t *s, size_t n, size_t *bad);

/* For one-line text output: control characters become \n, \t, \xNN,
 * invalid UTF-8 bytes \xNN, and C1 controls, bidirectional overrides,
 * isolates and marks and U+2028/U+2029 \u{XXXX}, so a path cannot forge a
 * log line or show it in another order. At most 4 output bytes per input
 * byte. Returns true if anything was escaped or cut. */
bool text_escape(const char *src, size_t srclen, char *out, size_t outlen);

/* Building one text line in out[len]: each appends at off and returns the
 * new offset; once off reaches len nothing more is written (the line is
 * cut, never overrun). text_put escapes s with text_escape (NULL: ""). */
size_t text_put(char *out, size_t len, size_t off, const char *s);
size_t text_putf(char *out, size_t len, size_t off, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
#endif
