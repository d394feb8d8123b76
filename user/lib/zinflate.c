/* Bounded zlib inflation of untrusted streams read through a byte_src.
 * The output buffer grows geometrically but never past max_out + 1: the
 * extra byte both holds the NUL and tells "more output exists" apart from
 * "the stream ended exactly at max_out". max_out shrinks to what the job's
 * budget has left, and each inflate() call makes at most ZINF_STEP bytes,
 * so the deadline is looked at every few milliseconds. */
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "budget.h"
#include "zinflate.h"

#define ZINF_CHUNK (256u << 10)
#define ZINF_FIRST_OUT (64u << 10)
#define ZINF_STEP (4u << 20)

struct zin {
	const struct byte_src *src;
	uint64_t pos, end; /* next byte of input to read, end of input */
	uint8_t *buf;
	z_stream zs;
	uint64_t fed; /* bytes handed to zlib so far */
};

/* Refills the input buffer when zlib has used it up. Returns bytes now
 * available (0 at the end of the input) or -errno. */
static ssize_t zin_fill(struct zin *z)
{
	ssize_t r;
	size_t want;

	if (z->zs.avail_in)
		return z->zs.avail_in;
	if (z->pos >= z->end)
		return 0;
	want = z->end - z->pos < ZINF_CHUNK ? (size_t)(z->end - z->pos) : ZINF_CHUNK;
	r = bsrc_read(z->src, z->pos, z->buf, want);
	if (r <= 0) {
		z->end = z->pos; /* a short view (or a file that shrank) ends the input */
		return r;
	}
	z->pos += (uint64_t)r;
	z->zs.next_in = z->buf;
	z->zs.avail_in = (uInt)r;
	z->fed += (uint64_t)r;
	return r;
}

/* After a gzip member: skips zero padding (as Python's gzip does) and says
 * whether another member starts. */
static int gzip_next_member(struct zin *z, bool *more)
{
	uint8_t two[2];
	ssize_t r;

	*more = false;
	for (;;) {
		r = zin_fill(z);
		if (r <= 0)
			return (int)r;
		if (z->zs.next_in[0] != 0)
			break;
		z->zs.next_in++;
		z->zs.avail_in--;
	}
	if (z->zs.next_in[0] != 0x1f)
		return 0;
	if (z->zs.avail_in >= 2) {
		*more = z->zs.next_in[1] == 0x8b;
		return 0;
	}
	/* the magic straddles the chunk boundary: peek at the next byte */
	r = bsrc_read(z->src, z->pos, two, 1);
	if (r < 0)
		return (int)r;
	*more = r == 1 && two[0] == 0x8b;
	return 0;
}

int zinflate_src(const struct byte_src *src, uint64_t off, uint64_t in_len, enum zinflate_fmt fmt,
		 size_t max_out, struct zinflate_result *r)
{
	struct zin z = { .src = src };
	struct budget *b = src->budget;
	size_t cap, len = 0, lim;
	int wbits = fmt == ZINF_RAW ? -15 : fmt == ZINF_ZLIB ? 15 : 16 + 15;
	int zr = Z_OK, rc = 0;
	bool by_budget = false, timed_out = false;
	uint8_t *out;

	memset(r, 0, sizeof(*r));
	if (off > src->size)
		off = src->size;
	if (in_len > src->size - off)
		in_len = src->size - off;
	z.pos = off;
	z.end = off + in_len;
	if (budget_inflate_room(b, max_out) < max_out) {
		max_out = (size_t)budget_inflate_room(b, max_out);
		by_budget = true;
	}
	/* lim: room for one byte past max_out, to learn whether the stream has more */
	lim = max_out < SIZE_MAX ? max_out + 1 : SIZE_MAX;
	cap = lim < ZINF_FIRST_OUT ? lim : ZINF_FIRST_OUT;
	out = malloc(cap);
	z.buf = malloc(in_len < ZINF_CHUNK ? (size_t)in_len + 1 : ZINF_CHUNK);
	if (!out || !z.buf) {
		free(out);
		free(z.buf);
		return -ENOMEM;
	}
	if (inflateInit2(&z.zs, wbits) != Z_OK) {
		free(out);
		free(z.buf);
		return -ENOMEM;
	}
	for (;;) {
		ssize_t got;
		size_t room;

		if (budget_time_up(b)) {
			timed_out = true;
			break;
		}
		got = zin_fill(&z);
		if (got == -ETIME) {
			timed_out = true;
			break;
		}
		if (got < 0) {
			rc = (int)got;
			break;
		}
		if (len == cap) {
			size_t ncap;
			uint8_t *p;

			if (cap == lim)
				break;
			ncap = cap > lim / 2 ? lim : cap * 2;
			if (!(p = realloc(out, ncap))) {
				rc = -ENOMEM;
				break;
			}
			out = p;
			cap = ncap;
		}
		room = cap - len < ZINF_STEP ? cap - len : ZINF_STEP;
		z.zs.next_out = out + len;
		z.zs.avail_out = (uInt)room;
		zr = inflate(&z.zs, Z_NO_FLUSH);
		len += room - z.zs.avail_out;
		if (zr == Z_STREAM_END) {
			bool more = false;

			r->ended = true;
			if (fmt != ZINF_GZIP)
				break;
			if ((rc = gzip_next_member(&z, &more)) < 0 || !more)
				break;
			if (inflateReset(&z.zs) != Z_OK) {
				r->zerr = Z_STREAM_ERROR;
				break;
			}
			r->ended = false;
			continue;
		}
		if (zr == Z_BUF_ERROR) {
			/* No progress: the output is full (grown or stopped above), or
			 * more input is needed; with none left the stream was cut. */
			if (len < cap && (z.zs.avail_in || z.pos >= z.end)) {
				r->zerr = Z_BUF_ERROR;
				break;
			}
			continue;
		}
		if (zr == Z_MEM_ERROR) {
			rc = -ENOMEM;
			break;
		}
		if (zr != Z_OK) {
			r->zerr = zr; /* Z_DATA_ERROR, Z_NEED_DICT, Z_STREAM_ERROR */
			break;
		}
	}
	r->in_used = z.fed - z.zs.avail_in;
	inflateEnd(&z.zs);
	free(z.buf);
	if (rc) {
		free(out);
		memset(r, 0, sizeof(*r));
		return rc;
	}
	if (len > max_out || timed_out) {
		/* the stream had more than max_out bytes, or no time was left
		 * to learn how many */
		len = len < max_out ? len : max_out;
		r->truncated = true;
		r->ended = false;
		r->zerr = 0;
	}
	budget_charge_inflate(b, len, by_budget && r->truncated && !timed_out);
	if (len == cap) {
		uint8_t *p = realloc(out, len + 1);

		if (!p) {
			free(out);
			memset(r, 0, sizeof(*r));
			return -ENOMEM;
		}
		out = p;
	}
	out[len] = 0;
	r->data = out;
	r->len = len;
	return 0;
}

void zinflate_free(struct zinflate_result *r)
{
	free(r->data);
	r->data = NULL;
	r->len = 0;
}
