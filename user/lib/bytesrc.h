/* A read-only, bounded view of untrusted bytes: a file read with pread (so a
 * scanner touches only the parts it asks for, never maps it, and never reads
 * past the size fixed when the view was made) or a buffer in memory. Every
 * scanner parser reads through it; bytes_read says what a scan cost, and a
 * budget past its deadline fails every read, so no parser outlives it. */
#ifndef MLWATCH_BYTESRC_H
#define MLWATCH_BYTESRC_H
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct budget;

struct byte_src {
	int fd; /* -1 for a memory view */
	const uint8_t *mem;
	uint64_t base;         /* offset of this view inside fd / mem */
	uint64_t size;         /* bytes visible through the view */
	uint64_t *bytes_read;  /* shared counter; may be NULL */
	struct budget *budget; /* the job's (lib/budget.h); may be NULL */
};

void bsrc_from_mem(struct byte_src *s, const void *p, size_t n);
/* size: the file's size from fstat, fixed for the whole scan. */
void bsrc_from_fd(struct byte_src *s, int fd, uint64_t size);
/* A sub-view [off, off+len) of s, clamped to s. */
struct byte_src bsrc_sub(const struct byte_src *s, uint64_t off, uint64_t len);
/* Reads up to n bytes at off. Returns bytes read (short only at the end of
 * the view; 0 at or past it) or -errno: -ETIME once the budget's deadline
 * has passed. Retries EINTR and short preads. */
ssize_t bsrc_read(const struct byte_src *s, uint64_t off, void *buf, size_t n);
/* Reads exactly n bytes at off into a new buffer (n may be 0; the buffer
 * gets one extra NUL byte). -ERANGE if [off, off+n) leaves the view,
 * -ENOMEM, or a read error. */
int bsrc_load(const struct byte_src *s, uint64_t off, size_t n, uint8_t **out);
#endif
