/* Zip reader for untrusted archives (PKWARE APPNOTE 6.3). Opens what the
 * ML loaders open (miniz in PyTorch, Python's zipfile) and records what
 * they silently accept. Every count, size and offset comes from the file,
 * so each is checked against the view before it is used or allocated. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "zipread.h"
#include "lib/budget.h"
#include "lib/zinflate.h"

#define SIG_LOCAL 0x04034b50u
#define SIG_CENTRAL 0x02014b50u
#define SIG_EOCD 0x06054b50u
#define SIG_EOCD64 0x06064b50u
#define SIG_LOC64 0x07064b50u

#define EOCD_LEN 22
#define EOCD64_LEN 56
#define LOC64_LEN 20
#define CEN_LEN 46
#define LOC_LEN 30

/* Flag bits writers use: encryption (reported on its own), deflate level
 * (1, 2), data descriptor (3), UTF-8 names (11). */
#define FLAGS_USUAL (0x0001u | 0x0002u | 0x0004u | 0x0008u | 0x0800u)
/* Any one central entry is smaller than this (46 + three 16-bit lengths),
 * so a window this big always holds a whole entry. */
#define CD_WINDOW (4u << 20)

static uint16_t le16(const uint8_t *p)
{
	return (uint16_t)(p[0] | p[1] << 8);
}

static uint32_t le32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint64_t le64(const uint8_t *p)
{
	return (uint64_t)le32(p) | (uint64_t)le32(p + 4) << 32;
}

static int seterr(char *err, size_t errlen, int rc, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static int seterr(char *err, size_t errlen, int rc, const char *fmt, ...)
{
	va_list ap;

	if (err && errlen) {
		va_start(ap, fmt);
		vsnprintf(err, errlen, fmt, ap);
		va_end(ap);
	}
	return rc;
}

/* Reads exactly n bytes at off: 1, 0 when they are not all in the view, or
 * -errno. */
static int read_exact(const struct byte_src *s, uint64_t off, void *buf, size_t n)
{
	ssize_t r;

	if (off > s->size || n > s->size - off)
		return 0;
	r = bsrc_read(s, off, buf, n);
	if (r < 0)
		return (int)r;
	return (size_t)r == n;
}

static int sig_at(const struct byte_src *s, uint64_t off, uint32_t sig)
{
	uint8_t b[4];
	int r = read_exact(s, off, b, 4);

	return r <= 0 ? r : le32(b) == sig;
}

/* Where the central directory is, as one end record describes it. */
struct cdloc {
	uint64_t start, len; /* actual position and bytes to parse */
	uint64_t shift;      /* prepended bytes */
	uint64_t claimed;    /* entry count the end record claims */
	uint64_t eocd_end;   /* end of the end record and its comment */
	bool zip64;
};

/* Reads the zip64 end record that the locator before the end record at
 * eocd points to. Like zipfile, looks right before the locator first (its
 * offset field is wrong when bytes were prepended), then where it says. */
static int read_eocd64(const struct byte_src *s, uint64_t eocd, uint8_t rec[EOCD64_LEN],
		       uint64_t *rec_off)
{
	uint8_t loc[LOC64_LEN];
	uint64_t cand[2];
	int r;

	if (eocd < LOC64_LEN + EOCD64_LEN)
		return 0;
	if ((r = read_exact(s, eocd - LOC64_LEN, loc, LOC64_LEN)) <= 0)
		return r;
	if (le32(loc) != SIG_LOC64)
		return 0;
	cand[0] = eocd - LOC64_LEN - EOCD64_LEN;
	cand[1] = le64(loc + 8);
	for (int i = 0; i < 2; i++) {
		if ((r = read_exact(s, cand[i], rec, EOCD64_LEN)) < 0)
			return r;
		if (r && le32(rec) == SIG_EOCD64 && cand[i] < eocd) {
			*rec_off = cand[i];
			return 1;
		}
	}
	return 0;
}

/* Checks that a central directory of cd_size bytes ending at end is at
 * cd_off (as miniz reads it) or right before end (where zipfile finds it
 * after prepended bytes): 1 with loc's place filled, 0 with err set, or
 * -errno. */
static int check_cd(const struct byte_src *s, uint64_t end, uint64_t cd_off, uint64_t cd_size,
		    struct cdloc *loc, char *err, size_t errlen)
{
	uint64_t actual;
	int r;

	if (cd_size > end)
		return seterr(err, errlen, 0,
			      "central directory size %" PRIu64 " larger than the %" PRIu64
			      " bytes before its end record",
			      cd_size, end);
	if (cd_size == 0) {
		/* an empty archive: nothing to check but the place */
		if (cd_off > end)
			return seterr(err, errlen, 0,
				      "central directory at %" PRIu64
				      " past its end record at %" PRIu64,
				      cd_off, end);
		loc->start = end;
		loc->len = 0;
		loc->shift = end - cd_off;
		return 1;
	}
	if (cd_off < end) {
		if ((r = sig_at(s, cd_off, SIG_CENTRAL)) < 0)
			return r;
		if (r) {
			loc->start = cd_off;
			loc->len = end - cd_off < cd_size ? end - cd_off : cd_size;
			loc->shift = 0;
			return 1;
		}
	}
	actual = end - cd_size;
	if (actual > cd_off) {
		if ((r = sig_at(s, actual, SIG_CENTRAL)) < 0)
			return r;
		if (r) {
			loc->start = actual;
			loc->len = cd_size;
			loc->shift = actual - cd_off;
			return 1;
		}
	}
	if (cd_off >= s->size)
		return seterr(err, errlen, 0,
			      "central directory at %" PRIu64 " past end of file (size %" PRIu64
			      ")",
			      cd_off, s->size);
	return seterr(err, errlen, 0,
		      "no central directory at %" PRIu64 " (end record at %" PRIu64 ")", cd_off,
		      end);
}

/* Checks the end record at eocd (whose 22 bytes are b), with its zip64
 * record when a locator precedes it: 1 with *loc filled, 0 with err set,
 * or -errno. The zip64 values win, as in both loaders; the 32-bit ones are
 * tried when they lead nowhere. */
static int try_eocd(const struct byte_src *s, uint64_t eocd, const uint8_t *b, struct cdloc *loc,
		    char *err, size_t errlen)
{
	uint8_t rec[EOCD64_LEN];
	uint64_t rec_off = 0;
	int r;

	memset(loc, 0, sizeof(*loc));
	loc->eocd_end = eocd + EOCD_LEN + le16(b + 20);
	if ((r = read_eocd64(s, eocd, rec, &rec_off)) < 0)
		return r;
	if (r) {
		r = check_cd(s, rec_off, le64(rec + 48), le64(rec + 40), loc, err, errlen);
		if (r) {
			loc->zip64 = r > 0;
			loc->claimed = le64(rec + 32);
			return r;
		}
		err = NULL; /* the zip64 record's error is the one to tell */
	}
	loc->claimed = le16(b + 10);
	return check_cd(s, eocd, le32(b + 16), le32(b + 12), loc, err, errlen);
}

/* Finds the end record: the last one in the tail whose directory checks
 * out, preferring a non-empty directory (a fake empty end record hidden in
 * the comment would hide every member). The last 4 KiB are searched first:
 * most archives have no comment, and the full window costs 64 KiB. */
static int find_cd(const struct byte_src *s, struct cdloc *out, char *err, size_t errlen)
{
	static const uint64_t windows[2] = { 4096, ZIP_MAX_COMMENT_SCAN };
	uint64_t size = s->size, tail_len = 0, tail_off;
	uint8_t *tail;
	bool have_empty = false, seen = false;
	struct cdloc loc, empty = { 0 };
	char first_err[256] = "";
	int rc;

	if (size < EOCD_LEN)
		return seterr(err, errlen, -EINVAL,
			      "no end of central directory record (file is %" PRIu64 " bytes)",
			      size);
	for (int pass = 0; pass < 2; pass++) {
		uint64_t want = size < windows[pass] ? size : windows[pass];

		if (want == tail_len)
			break; /* the file is no bigger than the first window */
		tail_len = want;
		tail_off = size - tail_len;
		have_empty = seen = false;
		if ((rc = bsrc_load(s, tail_off, (size_t)tail_len, &tail)))
			return rc == -ERANGE ?
				       seterr(err, errlen, -EINVAL, "file shrank while read") :
				       rc;
		for (size_t i = (size_t)tail_len - EOCD_LEN + 1; i-- > 0;) {
			char e2[256] = "";

			if (tail[i] != 'P' || le32(tail + i) != SIG_EOCD)
				continue;
			rc = try_eocd(s, tail_off + i, tail + i, &loc, e2, sizeof(e2));
			if (rc < 0) {
				free(tail);
				return rc;
			}
			if (!rc) {
				if (!seen)
					snprintf(first_err, sizeof(first_err), "%s", e2);
				seen = true;
				continue;
			}
			if (loc.len) {
				*out = loc;
				free(tail);
				return 0;
			}
			if (!have_empty)
				empty = loc;
			have_empty = true;
		}
		free(tail);
	}
	if (have_empty) {
		*out = empty;
		return 0;
	}
	if (seen)
		return seterr(err, errlen, -EINVAL, "%s", first_err);
	return seterr(err, errlen, -EINVAL, "no end of central directory record");
}

/* A window over the central directory: one read when it is small (the
 * usual case), bounded memory when it is not. */
struct cdwin {
	const struct byte_src *s;
	uint64_t start, end; /* the directory */
	uint64_t woff;       /* file offset of buf[0] */
	size_t wlen, cap;
	uint8_t *buf;
};

/* Makes [off, off+n) available; returns a pointer to it, NULL when it is
 * past the directory (or *rc set on a read error). */
static const uint8_t *cd_get(struct cdwin *w, uint64_t off, size_t n, int *rc)
{
	ssize_t r;
	size_t want;

	if (off > w->end || n > w->end - off)
		return NULL;
	if (off >= w->woff && off + n <= w->woff + w->wlen)
		return w->buf + (off - w->woff);
	want = w->end - off < w->cap ? (size_t)(w->end - off) : w->cap;
	if (n > want)
		return NULL;
	r = bsrc_read(w->s, off, w->buf, want);
	if (r < 0) {
		*rc = (int)r;
		return NULL;
	}
	w->woff = off;
	w->wlen = (size_t)r;
	return (size_t)r >= n ? w->buf : NULL;
}

/* Applies the zip64 extra field (id 1) of a central entry: the 64-bit
 * values follow in a fixed order, present only for fields set to ~0. */
static void apply_zip64(struct zip_entry *e, const uint8_t *x, size_t xlen, uint32_t csize32,
			uint32_t usize32, uint32_t off32)
{
	while (xlen >= 4) {
		uint16_t id = le16(x), sz = le16(x + 2);
		const uint8_t *p = x + 4;
		size_t left;

		if ((size_t)sz > xlen - 4)
			return;
		left = sz;
		if (id == 1) {
			if (usize32 == 0xffffffffu && left >= 8) {
				e->usize = le64(p);
				p += 8;
				left -= 8;
				e->anomalies |= ZA_ZIP64;
			}
			if (csize32 == 0xffffffffu && left >= 8) {
				e->csize = le64(p);
				p += 8;
				left -= 8;
				e->anomalies |= ZA_ZIP64;
			}
			if (off32 == 0xffffffffu && left >= 8) {
				e->local_off = le64(p);
				e->anomalies |= ZA_ZIP64;
			}
			return;
		}
		x += 4 + (size_t)sz;
		xlen -= 4 + (size_t)sz;
	}
}

/* Reads the local header of e (one small read, its name included) to find
 * where the data starts, and compares it with the central entry. */
static int check_local(const struct byte_src *s, struct zip_entry *e, const uint8_t *cname,
		       size_t cnlen, uint64_t cd_start)
{
	uint8_t h[LOC_LEN + ZIP_NAME_MAX];
	size_t cmp = cnlen < ZIP_NAME_MAX ? cnlen : ZIP_NAME_MAX;
	uint64_t end;
	uint16_t lnlen, lxlen;
	int r = read_exact(s, e->local_off, h, LOC_LEN + cmp);
	bool have_name = r > 0;

	if (r < 0)
		return r;
	if (!r && (r = read_exact(s, e->local_off, h, LOC_LEN)) < 0)
		return r;
	if (!r || le32(h) != SIG_LOCAL) {
		/* where the data would be if the local header matched */
		e->anomalies |= ZA_BAD_LOCAL | (r ? 0 : ZA_OUT_OF_RANGE);
		if (e->local_off > UINT64_MAX - LOC_LEN - cnlen)
			e->data_off = UINT64_MAX;
		else
			e->data_off = e->local_off + LOC_LEN + cnlen;
		return 0;
	}
	/* the header was read, so local_off + 30 is inside the file */
	lnlen = le16(h + 26);
	lxlen = le16(h + 28);
	e->data_off = e->local_off + LOC_LEN + lnlen + lxlen;
	/* a name cut by the end of the file differs in length or is caught
	 * below as out of range */
	if (lnlen != cnlen || (have_name && memcmp(h + LOC_LEN, cname, cmp)))
		e->anomalies |= ZA_NAME_MISMATCH;
	if (!(e->flags & 0x0008)) {
		/* sizes are in the local header too, unless deferred to a
		 * descriptor (bit 3) or to a zip64 extra (~0) */
		uint32_t lc = le32(h + 18), lu = le32(h + 22);

		if ((lc != 0xffffffffu && lc != e->csize) || (lu != 0xffffffffu && lu != e->usize))
			e->anomalies |= ZA_SIZE_MISMATCH;
	}
	if (e->data_off > s->size || e->csize > s->size - e->data_off)
		e->anomalies |= ZA_OUT_OF_RANGE;
	/* a member inside, or running into, the central directory */
	else if (e->local_off >= cd_start ||
		 (!__builtin_add_overflow(e->data_off, e->csize, &end) && end > cd_start))
		e->anomalies |= ZA_OUT_OF_RANGE;
	return 0;
}

static int name_cmp(const void *a, const void *b)
{
	const struct zip_entry *x = *(const struct zip_entry *const *)a;
	const struct zip_entry *y = *(const struct zip_entry *const *)b;

	return strcmp(x->name, y->name);
}

/* Marks every entry whose name another entry also uses. */
static int mark_dups(struct zip_dir *d)
{
	struct zip_entry **v;

	if (d->n < 2)
		return 0;
	if (!(v = malloc(d->n * sizeof(*v))))
		return -ENOMEM;
	for (size_t i = 0; i < d->n; i++)
		v[i] = &d->e[i];
	qsort(v, d->n, sizeof(*v), name_cmp);
	for (size_t i = 1; i < d->n; i++)
		if (!strcmp(v[i - 1]->name, v[i]->name)) {
			v[i - 1]->anomalies |= ZA_DUP_NAME;
			v[i]->anomalies |= ZA_DUP_NAME;
		}
	free(v);
	return 0;
}

static int off_cmp(const void *a, const void *b)
{
	const struct zip_entry *x = *(const struct zip_entry *const *)a;
	const struct zip_entry *y = *(const struct zip_entry *const *)b;

	return x->local_off < y->local_off ? -1 : x->local_off > y->local_off;
}

/* Where an entry's bytes end at the least, as the central directory sizes
 * them: its local header without name and extra, then its data (stored:
 * miniz reads usize, zipfile csize). */
static uint64_t entry_end(const struct zip_entry *e)
{
	uint64_t n = e->method == 0 && e->usize > e->csize ? e->usize : e->csize, end;

	return __builtin_add_overflow(e->local_off, LOC_LEN + n, &end) ? UINT64_MAX : end;
}

/* Marks every entry whose bytes overlap another's: many directory entries
 * on one local header, or a header inside another member's data. No
 * writer does either; an overlapped-zip bomb does both. */
static int mark_overlaps(struct zip_dir *d)
{
	struct zip_entry **v, *far = NULL;
	uint64_t end = 0;

	if (d->n < 2)
		return 0;
	if (!(v = malloc(d->n * sizeof(*v))))
		return -ENOMEM;
	for (size_t i = 0; i < d->n; i++)
		v[i] = &d->e[i];
	qsort(v, d->n, sizeof(*v), off_cmp);
	for (size_t i = 0; i < d->n; i++) {
		if (far && v[i]->local_off < end) {
			v[i]->anomalies |= ZA_OVERLAP;
			far->anomalies |= ZA_OVERLAP;
		}
		if (!far || entry_end(v[i]) > end) {
			far = v[i];
			end = entry_end(v[i]);
		}
	}
	free(v);
	for (size_t i = 0; i < d->n; i++)
		d->overlaps += !!(d->e[i].anomalies & ZA_OVERLAP);
	return 0;
}

/* Parses one central entry at *pos into e (when e is not NULL: past the
 * entry limit it is only stepped over); returns 1, 0 at the end of the
 * directory, or -errno. The local header is read later (finish_entry). */
static int parse_central(struct cdwin *w, uint64_t *pos, struct zip_entry *e,
			 const struct cdloc *loc)
{
	const uint8_t *h, *p;
	uint16_t nlen, xlen, clen;
	uint32_t csize32, usize32, off32;
	size_t keep;
	uint64_t total;
	int rc = 0;

	if (!(h = cd_get(w, *pos, CEN_LEN, &rc)))
		return rc;
	if (le32(h) != SIG_CENTRAL)
		return 0;
	nlen = le16(h + 28);
	xlen = le16(h + 30);
	clen = le16(h + 32);
	total = (uint64_t)CEN_LEN + nlen + xlen + clen;
	if (!(p = cd_get(w, *pos, (size_t)total, &rc)))
		return rc; /* an entry cut by the end of the directory */
	*pos += total;
	if (!e)
		return 1;
	memset(e, 0, sizeof(*e));
	e->flags = le16(p + 8);
	e->method = le16(p + 10);
	e->crc = le32(p + 16);
	csize32 = le32(p + 20);
	usize32 = le32(p + 24);
	off32 = le32(p + 42);
	e->csize = csize32;
	e->usize = usize32;
	e->local_off = off32;
	apply_zip64(e, p + CEN_LEN + nlen, xlen, csize32, usize32, off32);
	keep = nlen < ZIP_NAME_MAX - 1 ? nlen : ZIP_NAME_MAX - 1;
	e->name_cut = nlen > keep;
	for (size_t i = 0; i < keep; i++) {
		uint8_t c = p[CEN_LEN + i];

		if (!c) {
			c = '?';
			e->anomalies |= ZA_NAME_NUL;
		}
		e->name[i] = (char)c;
	}
	e->name[keep] = 0;
	if (e->flags & 0x0001)
		e->anomalies |= ZA_ENCRYPTED;
	if (e->flags & ~FLAGS_USUAL)
		e->anomalies |= ZA_ODD_FLAGS;
	if (e->method != 0 && e->method != 8)
		e->anomalies |= ZA_UNSUPPORTED_METHOD;
	else if (e->method == 0 && !(e->flags & 0x0001) && e->csize != e->usize)
		e->anomalies |= ZA_SIZE_MISMATCH;
	if (__builtin_add_overflow(e->local_off, loc->shift, &e->local_off)) {
		e->local_off = UINT64_MAX;
		e->anomalies |= ZA_OUT_OF_RANGE;
	}
	/* until the local header is read: where this central entry is */
	e->cen_off = *pos - total;
	e->data_off = e->cen_off;
	return 1;
}

/* Second pass over one entry: its central name again, then its local
 * header. */
static int finish_entry(const struct byte_src *s, struct cdwin *w, struct zip_entry *e,
			uint64_t cd_start)
{
	const uint8_t *p;
	uint16_t nlen;
	int rc = 0;

	if (!(p = cd_get(w, e->cen_off, CEN_LEN, &rc)))
		return rc ? rc : -EIO;
	nlen = le16(p + 28);
	if (!(p = cd_get(w, e->cen_off, CEN_LEN + (size_t)nlen, &rc)))
		return rc ? rc : -EIO;
	rc = check_local(s, e, p + CEN_LEN, nlen, cd_start);
	e->located = !rc;
	return rc;
}

int zip_locate(const struct byte_src *s, struct zip_dir *d, struct zip_entry *e)
{
	uint8_t h[CEN_LEN + ZIP_NAME_MAX];
	uint16_t nlen;
	size_t n;
	int rc;

	if (e->located)
		return 0;
	if ((rc = read_exact(s, e->cen_off, h, CEN_LEN)) <= 0)
		return rc < 0 ? rc : -EIO;
	nlen = le16(h + 28);
	n = nlen < ZIP_NAME_MAX ? nlen : ZIP_NAME_MAX;
	if ((rc = read_exact(s, e->cen_off, h, CEN_LEN + n)) <= 0)
		return rc < 0 ? rc : -EIO;
	if ((rc = check_local(s, e, h + CEN_LEN, n, d->cd_start)))
		return rc;
	e->located = true;
	d->anomalies |= e->anomalies;
	return 0;
}

/* Asks the kernel to start reading every local header at once: on a cold
 * cache one read after another would wait for each seek in turn. Only for
 * as many members as a checkpoint has; each call costs a syscall. */
#define PREFETCH_MAX 4096

static void prefetch_locals(const struct byte_src *s, const struct zip_dir *d)
{
	if (s->fd < 0 || d->n < 2 || d->n > PREFETCH_MAX)
		return;
	for (size_t i = 0; i < d->n; i++)
		if (d->e[i].local_off < s->size)
			posix_fadvise(s->fd, (off_t)(s->base + d->e[i].local_off),
				      LOC_LEN + ZIP_NAME_MAX, POSIX_FADV_WILLNEED);
}

static int open_dir(const struct byte_src *s, struct zip_dir *d, char *err, size_t errlen,
		    bool lazy)
{
	struct cdloc loc = { 0 };
	struct cdwin w = { .s = s };
	uint64_t pos, min_local = UINT64_MAX;
	size_t cap;
	int rc;

	memset(d, 0, sizeof(*d));
	if (err && errlen)
		err[0] = 0;
	if ((rc = find_cd(s, &loc, err, errlen)))
		return rc;
	if (loc.zip64)
		d->anomalies |= ZA_ZIP64;
	if (loc.shift) {
		d->shift = loc.shift;
		d->anomalies |= ZA_PREPENDED;
	}
	if (loc.eocd_end < s->size)
		d->anomalies |= ZA_TRAILING;
	d->cd_start = loc.start;
	if (!loc.len)
		return 0;
	w.start = loc.start;
	w.end = loc.start + loc.len;
	w.cap = loc.len < CD_WINDOW ? (size_t)loc.len : CD_WINDOW;
	if (!(w.buf = malloc(w.cap)))
		return -ENOMEM;
	/* never more slots than the directory has room for */
	cap = loc.len / CEN_LEN;
	if (loc.claimed && loc.claimed < cap)
		cap = (size_t)loc.claimed;
	if (cap > ZIP_MAX_ENTRIES)
		cap = ZIP_MAX_ENTRIES;
	if (cap < 1)
		cap = 1;
	if (!(d->e = malloc(cap * sizeof(*d->e)))) {
		free(w.buf);
		return -ENOMEM;
	}
	pos = loc.start;
	for (;;) {
		struct zip_entry *e = NULL;

		if (d->n < ZIP_MAX_ENTRIES) {
			if (d->n == cap) {
				size_t ncap = cap * 2 > ZIP_MAX_ENTRIES ? ZIP_MAX_ENTRIES : cap * 2;
				struct zip_entry *ne = realloc(d->e, ncap * sizeof(*ne));

				if (!ne) {
					rc = -ENOMEM;
					break;
				}
				d->e = ne;
				cap = ncap;
			}
			e = &d->e[d->n];
		}
		rc = parse_central(&w, &pos, e, &loc);
		if (rc <= 0)
			break;
		rc = 0;
		if (!e) {
			d->entries_dropped++;
			continue;
		}
		if (e->local_off < min_local)
			min_local = e->local_off;
		d->n++;
	}
	if (!rc && !lazy) {
		prefetch_locals(s, d);
		for (size_t i = 0; i < d->n && !rc; i++)
			rc = finish_entry(s, &w, &d->e[i], loc.start);
	}
	free(w.buf);
	if (!rc)
		rc = mark_dups(d);
	if (!rc)
		rc = mark_overlaps(d);
	if (rc) {
		zip_close(d);
		return seterr(err, errlen, rc, "reading the central directory: %s", strerror(-rc));
	}
	for (size_t i = 0; i < d->n; i++)
		d->anomalies |= d->e[i].anomalies;
	/* bytes before the first member, even with offsets that account for them */
	if (d->n && min_local > loc.shift)
		d->anomalies |= ZA_PREPENDED;
	return 0;
}

int zip_open(const struct byte_src *s, struct zip_dir *d, char *err, size_t errlen)
{
	return open_dir(s, d, err, errlen, false);
}

int zip_open_lazy(const struct byte_src *s, struct zip_dir *d, char *err, size_t errlen)
{
	return open_dir(s, d, err, errlen, true);
}

/* CRC-32 of any length (zlib takes at most 4 GiB a call). */
static uint32_t crc_of(const uint8_t *p, size_t n)
{
	uLong c = crc32(0, NULL, 0);

	while (n) {
		uInt k = n > (1u << 30) ? (1u << 30) : (uInt)n;

		c = crc32(c, p, k);
		p += k;
		n -= k;
	}
	return (uint32_t)c;
}

int zip_read(const struct byte_src *s, struct zip_dir *d, struct zip_entry *e, size_t max,
	     uint8_t **out, size_t *len, bool *truncated)
{
	uint64_t want, avail;
	uint8_t *buf;
	bool full, by_budget;

	*out = NULL;
	*len = 0;
	*truncated = false;
	if (!e->located) {
		int rc = zip_locate(s, d, e);

		if (rc)
			return rc;
	}
	if (e->flags & 0x0001)
		return -EACCES;
	if (e->method != 0 && e->method != 8)
		return -ENOTSUP;
	if (e->method == 8) {
		struct zinflate_result r;
		int rc = zinflate_src(s, e->data_off, e->csize, ZINF_RAW, max, &r);

		if (rc)
			return rc;
		full = r.ended && !r.truncated;
		if (full && r.len != e->usize)
			e->anomalies |= ZA_SIZE_MISMATCH;
		if (full && crc_of(r.data, r.len) != e->crc)
			e->anomalies |= ZA_BAD_CRC;
		d->anomalies |= e->anomalies;
		*out = r.data;
		*len = r.len;
		*truncated = r.truncated;
		return 0;
	}
	/* Stored: miniz reads usize bytes, zipfile csize; a scanner reads both. */
	want = e->csize > e->usize ? e->csize : e->usize;
	avail = e->data_off < s->size ? s->size - e->data_off : 0;
	full = want <= max;
	if (want > max) {
		want = max;
		*truncated = true;
	}
	if (want > avail) {
		want = avail;
		full = false;
	}
	if ((by_budget = budget_inflate_room(s->budget, want) < want)) {
		want = budget_inflate_room(s->budget, want);
		*truncated = true;
		full = false;
	}
	if (!(buf = malloc((size_t)want + 1)))
		return -ENOMEM;
	if (want) {
		ssize_t r = bsrc_read(s, e->data_off, buf, (size_t)want);

		if (r < 0) {
			free(buf);
			return (int)r;
		}
		if ((uint64_t)r != want)
			full = false;
		want = (uint64_t)r;
	}
	buf[want] = 0;
	budget_charge_inflate(s->budget, want, by_budget);
	if (full && want >= e->usize && crc_of(buf, (size_t)e->usize) != e->crc)
		e->anomalies |= ZA_BAD_CRC;
	d->anomalies |= e->anomalies;
	*out = buf;
	*len = (size_t)want;
	return 0;
}

struct zip_entry *zip_find(struct zip_dir *d, const char *name)
{
	for (size_t i = 0; i < d->n; i++)
		if (!d->e[i].name_cut && !strcmp(d->e[i].name, name))
			return &d->e[i];
	return NULL;
}

void zip_close(struct zip_dir *d)
{
	free(d->e);
	memset(d, 0, sizeof(*d));
}

const char *zip_anomaly_name(enum zip_anomaly bit)
{
	switch (bit) {
	case ZA_NAME_MISMATCH:
		return "name-mismatch";
	case ZA_BAD_CRC:
		return "bad-crc";
	case ZA_ENCRYPTED:
		return "encrypted";
	case ZA_ODD_FLAGS:
		return "odd-flags";
	case ZA_SIZE_MISMATCH:
		return "size-mismatch";
	case ZA_DUP_NAME:
		return "duplicate-name";
	case ZA_BAD_LOCAL:
		return "bad-local-header";
	case ZA_PREPENDED:
		return "prepended-bytes";
	case ZA_ZIP64:
		return "zip64";
	case ZA_NAME_NUL:
		return "nul-in-name";
	case ZA_OUT_OF_RANGE:
		return "out-of-range";
	case ZA_UNSUPPORTED_METHOD:
		return "unsupported-method";
	case ZA_TRAILING:
		return "trailing-bytes";
	case ZA_OVERLAP:
		return "overlapping-data";
	case ZA_BITS:
		break;
	}
	return "unknown";
}
