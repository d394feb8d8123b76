/* Bounded reads of untrusted bytes from a file or a buffer. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "budget.h"
#include "bytesrc.h"

void bsrc_from_mem(struct byte_src *s, const void *p, size_t n)
{
	*s = (struct byte_src){ .fd = -1, .mem = p, .size = n };
}

void bsrc_from_fd(struct byte_src *s, int fd, uint64_t size)
{
	*s = (struct byte_src){ .fd = fd, .size = size };
}

struct byte_src bsrc_sub(const struct byte_src *s, uint64_t off, uint64_t len)
{
	struct byte_src v = *s;

	if (off > s->size)
		off = s->size;
	if (len > s->size - off)
		len = s->size - off;
	v.base = s->base + off;
	v.size = len;
	return v;
}

ssize_t bsrc_read(const struct byte_src *s, uint64_t off, void *buf, size_t n)
{
	size_t got = 0;

	if (budget_time_up(s->budget))
		return -ETIME;
	if (off >= s->size)
		return 0;
	if (n > s->size - off)
		n = (size_t)(s->size - off);
	if (s->fd < 0) {
		memcpy(buf, s->mem + s->base + off, n);
		got = n;
	} else {
		while (got < n) {
			ssize_t r = pread(s->fd, (char *)buf + got, n - got,
					  (off_t)(s->base + off + got));
			if (r < 0 && errno == EINTR)
				continue;
			if (r < 0)
				return -errno;
			if (r == 0)
				break; /* the file shrank under us */
			got += (size_t)r;
		}
	}
	if (s->bytes_read)
		*s->bytes_read += got;
	return (ssize_t)got;
}

int bsrc_load(const struct byte_src *s, uint64_t off, size_t n, uint8_t **out)
{
	uint8_t *b;
	ssize_t r;

	*out = NULL;
	if (off > s->size || n > s->size - off)
		return -ERANGE;
	if (!(b = malloc(n + 1)))
		return -ENOMEM;
	r = bsrc_read(s, off, b, n);
	if (r < 0 || (size_t)r != n) {
		free(b);
		return r < 0 ? (int)r : -EIO;
	}
	b[n] = 0;
	*out = b;
	return 0;
}
