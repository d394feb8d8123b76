/* A growable byte buffer for rendering records; allocation failure is
 * sticky (oom) so callers check once at the end. */
#ifndef MLWATCH_FBUF_H
#define MLWATCH_FBUF_H
#include <stdbool.h>
#include <stddef.h>

struct fbuf {
	char *p; /* NUL-terminated when len > 0 */
	size_t len, cap;
	bool oom;
};

void fbuf_add(struct fbuf *b, const void *data, size_t n);
void fbuf_puts(struct fbuf *b, const char *s);
void fbuf_printf(struct fbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void fbuf_reset(struct fbuf *b); /* len = 0 and oom cleared, keeps the memory */
void fbuf_free(struct fbuf *b);

#endif
