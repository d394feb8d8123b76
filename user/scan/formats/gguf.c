/* GGUF metadata reader (the chat template checks are chat_template.c's).
 *
 * The key/value section is read front to back through a small buffer: a
 * tokenizer vocabulary can make it tens of MB, so array payloads are
 * skipped by arithmetic (fixed-size types) or element by element (strings)
 * and only chat template strings are ever loaded. Every count and length
 * the file claims is checked against the bytes left in the view first. */
#include "chat_template.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/textsan.h"

/* ---- limits ---------------------------------------------------------- */

#define GGUF_MAGIC "GGUF"
#define GGUF_MAX_VERSION 3
/* Real files never nest arrays; a little nesting is legal, more is abuse
 * (and recursion). */
#define GGUF_MAX_ARRAY_DEPTH 8
/* Key bytes kept for matching and reporting; the rest are skipped. */
#define GGUF_KEY_KEEP 256
#define RD_BUF 16384

enum gguf_type {
	GT_UINT8,
	GT_INT8,
	GT_UINT16,
	GT_INT16,
	GT_UINT32,
	GT_INT32,
	GT_FLOAT32,
	GT_BOOL,
	GT_STRING,
	GT_ARRAY,
	GT_UINT64,
	GT_INT64,
	GT_FLOAT64,
	GT_COUNT
};

static const char TEMPLATE_KEY[] = "tokenizer.chat_template";

/* ---- buffered sequential reader --------------------------------------- */

struct rd {
	const struct byte_src *s;
	uint64_t pos;  /* next byte to consume */
	uint64_t boff; /* file offset of buf[0] */
	size_t blen;
	bool be; /* big-endian file (GGUF v3 allows it) */
	bool v1; /* counts and lengths are u32 */
	uint8_t buf[RD_BUF];
};

static uint64_t rd_left(const struct rd *r)
{
	return r->pos < r->s->size ? r->s->size - r->pos : 0;
}

/* Exactly n bytes or an error: -EINVAL (-ERANGE internally) at the end of
 * the view, or the read error. */
static int rd_get(struct rd *r, void *out, size_t n)
{
	uint8_t *o = out;

	if (n > rd_left(r))
		return -ERANGE;
	while (n) {
		size_t have, take;
		ssize_t got;

		if (r->pos < r->boff || r->pos >= r->boff + r->blen) {
			got = bsrc_read(r->s, r->pos, r->buf, sizeof(r->buf));
			if (got < 0)
				return (int)got;
			if (got == 0)
				return -ERANGE;
			r->boff = r->pos;
			r->blen = (size_t)got;
		}
		have = (size_t)(r->boff + r->blen - r->pos);
		take = n < have ? n : have;
		memcpy(o, r->buf + (r->pos - r->boff), take);
		o += take;
		n -= take;
		r->pos += take;
	}
	return 0;
}

static int rd_skip(struct rd *r, uint64_t n)
{
	if (n > rd_left(r))
		return -ERANGE;
	r->pos += n;
	return 0;
}

static int rd_u32(struct rd *r, uint32_t *v)
{
	uint8_t b[4];
	int rc = rd_get(r, b, 4);

	if (rc)
		return rc;
	if (r->be)
		*v = (uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 | (uint32_t)b[2] << 8 | b[3];
	else
		*v = (uint32_t)b[3] << 24 | (uint32_t)b[2] << 16 | (uint32_t)b[1] << 8 | b[0];
	return 0;
}

static int rd_u64(struct rd *r, uint64_t *v)
{
	uint8_t b[8];
	int rc = rd_get(r, b, 8);

	if (rc)
		return rc;
	*v = 0;
	for (int i = 0; i < 8; i++)
		*v |= (uint64_t)b[r->be ? i : 7 - i] << (8 * (7 - i));
	return 0;
}

/* A count or a length: u32 in version 1, u64 after. */
static int rd_len(struct rd *r, uint64_t *v)
{
	uint32_t w;
	int rc;

	if (!r->v1)
		return rd_u64(r, v);
	if ((rc = rd_u32(r, &w)))
		return rc;
	*v = w;
	return 0;
}

static size_t len_size(const struct rd *r)
{
	return r->v1 ? 4 : 8;
}

/* ---- errors ------------------------------------------------------------ */

static void seterr(char *err, size_t errlen, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static void seterr(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (!errlen)
		return;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

static size_t type_size(uint32_t t)
{
	switch (t) {
	case GT_UINT8:
	case GT_INT8:
	case GT_BOOL:
		return 1;
	case GT_UINT16:
	case GT_INT16:
		return 2;
	case GT_UINT32:
	case GT_INT32:
	case GT_FLOAT32:
		return 4;
	case GT_UINT64:
	case GT_INT64:
	case GT_FLOAT64:
		return 8;
	default:
		return 0;
	}
}

/* Where a value went wrong, for the error message. */
struct where {
	uint64_t kv;
	char key[96]; /* escaped */
	char *err;
	size_t errlen;
};

static int fail(struct where *w, int rc, uint64_t off, const char *what)
{
	if (rc == -ERANGE) {
		seterr(w->err, w->errlen,
		       "kv %llu ('%s'): %s past the end of the file at offset %llu",
		       (unsigned long long)w->kv, w->key, what, (unsigned long long)off);
		return -EINVAL;
	}
	if (rc == -EINVAL)
		seterr(w->err, w->errlen, "kv %llu ('%s') at offset %llu: %s",
		       (unsigned long long)w->kv, w->key, (unsigned long long)off, what);
	else if (rc != -ENOMEM)
		seterr(w->err, w->errlen, "read error at offset %llu", (unsigned long long)off);
	return rc;
}

static int skip_string(struct rd *r, struct where *w)
{
	uint64_t at = r->pos, n;
	int rc;

	if ((rc = rd_len(r, &n)))
		return fail(w, rc, at, "string length");
	if (n > GGUF_MAX_STRING)
		return fail(w, -EINVAL, at, "string longer than the limit");
	if ((rc = rd_skip(r, n)))
		return fail(w, rc, at, "string");
	return 0;
}

/* Skips one value of type t (arrays recursively, depth bounded). Each array
 * element takes at least one byte of the file (an array element 4 + count
 * bytes), so the work is bounded by the file's size. */
static int skip_value(struct rd *r, uint32_t t, int depth, struct where *w)
{
	uint64_t at = r->pos, count, min;
	uint32_t et;
	size_t sz;
	int rc;

	if ((sz = type_size(t)))
		return (rc = rd_skip(r, sz)) ? fail(w, rc, at, "value") : 0;
	if (t == GT_STRING)
		return skip_string(r, w);
	if (t != GT_ARRAY) {
		seterr(w->err, w->errlen, "kv %llu ('%s') at offset %llu: unknown value type %u",
		       (unsigned long long)w->kv, w->key, (unsigned long long)at, t);
		return -EINVAL;
	}
	if (depth >= GGUF_MAX_ARRAY_DEPTH)
		return fail(w, -EINVAL, at, "arrays nested too deep");
	if ((rc = rd_u32(r, &et)) || (rc = rd_len(r, &count)))
		return fail(w, rc, at, "array header");
	if ((sz = type_size(et))) {
		if (count > rd_left(r) / sz)
			return fail(w, -ERANGE, at, "array data");
		return (rc = rd_skip(r, count * sz)) ? fail(w, rc, at, "array data") : 0;
	}
	if (et == GT_STRING)
		min = len_size(r);
	else if (et == GT_ARRAY)
		min = 4 + len_size(r);
	else {
		seterr(w->err, w->errlen,
		       "kv %llu ('%s') at offset %llu: unknown array element type %u",
		       (unsigned long long)w->kv, w->key, (unsigned long long)at, et);
		return -EINVAL;
	}
	if (count > rd_left(r) / min)
		return fail(w, -ERANGE, at, "array elements");
	for (uint64_t i = 0; i < count; i++)
		if ((rc = skip_value(r, et, depth + 1, w)))
			return rc;
	return 0;
}

static bool is_template_key(const char *k, uint64_t len)
{
	size_t tl = sizeof(TEMPLATE_KEY) - 1;

	if (len < tl || memcmp(k, TEMPLATE_KEY, tl))
		return false;
	/* the default template, or a named one: tokenizer.chat_template.<name> */
	return len == tl || (len > tl + 1 && k[tl] == '.');
}

/* Reads one key/value pair, checking a chat template when it is one. */
static int read_kv(struct rd *r, struct gguf_info *g, struct where *w)
{
	char key[GGUF_KEY_KEEP + 1];
	uint64_t at = r->pos, klen, slen;
	size_t keep;
	uint32_t t;
	uint8_t *text;
	int rc;

	strcpy(w->key, "?");
	if ((rc = rd_len(r, &klen)))
		return fail(w, rc, at, "key length");
	if (klen > GGUF_MAX_STRING)
		return fail(w, -EINVAL, at, "key longer than the limit");
	keep = klen < GGUF_KEY_KEEP ? (size_t)klen : GGUF_KEY_KEEP;
	if ((rc = rd_get(r, key, keep)) || (rc = rd_skip(r, klen - keep)))
		return fail(w, rc, at, "key");
	key[keep] = 0;
	text_escape(key, keep, w->key, sizeof(w->key));
	at = r->pos;
	if ((rc = rd_u32(r, &t)))
		return fail(w, rc, at, "value type");
	if (t >= GT_COUNT) {
		seterr(w->err, w->errlen, "kv %llu ('%s') at offset %llu: unknown value type %u",
		       (unsigned long long)w->kv, w->key, (unsigned long long)at, t);
		return -EINVAL;
	}
	if (t != GT_STRING || !is_template_key(key, klen))
		return skip_value(r, t, 0, w);
	at = r->pos;
	if ((rc = rd_len(r, &slen)))
		return fail(w, rc, at, "string length");
	if (slen > GGUF_MAX_STRING)
		return fail(w, -EINVAL, at, "chat template longer than the limit");
	if (slen > rd_left(r))
		return fail(w, -ERANGE, at, "chat template");
	if ((rc = bsrc_load(r->s, r->pos, (size_t)slen, &text)))
		/* -EIO: the file shrank under us, as good as truncated */
		return fail(w, rc == -EIO ? -ERANGE : rc, at, "chat template");
	gguf_check_template(key, text, (size_t)slen, r->pos, g);
	free(text);
	return rd_skip(r, slen) ? fail(w, -ERANGE, at, "chat template") : 0;
}

int gguf_scan(const struct byte_src *s, struct gguf_info *g, char *err, size_t errlen)
{
	struct where w = { .err = err, .errlen = errlen };
	uint8_t magic[4];
	uint32_t ver;
	uint64_t min_kv;
	struct rd *r;
	int rc;

	memset(g, 0, sizeof(*g));
	seterr(err, errlen, "%s", "");
	if (!(r = calloc(1, sizeof(*r))))
		return -ENOMEM;
	r->s = s;
	strcpy(w.key, "header");
	rc = rd_get(r, magic, sizeof(magic));
	if (rc == -ERANGE || (!rc && memcmp(magic, GGUF_MAGIC, 4))) {
		seterr(err, errlen, "not a GGUF file (no magic)");
		rc = -EINVAL;
		goto out;
	}
	if (rc || (rc = rd_u32(r, &ver)))
		goto hdr;
	if (ver > 0xffff && __builtin_bswap32(ver) <= GGUF_MAX_VERSION) {
		/* a big-endian file: its version reads byte-swapped */
		r->be = true;
		ver = __builtin_bswap32(ver);
	}
	g->version = ver;
	if (ver < 1 || ver > GGUF_MAX_VERSION) {
		seterr(err, errlen, "unsupported GGUF version %u", ver);
		rc = -EINVAL;
		goto out;
	}
	r->v1 = ver == 1;
	if ((rc = rd_len(r, &g->n_tensors)) || (rc = rd_len(r, &g->n_kv)))
		goto hdr;
	if (g->n_kv > GGUF_MAX_KV) {
		seterr(err, errlen, "kv_count %llu above the limit of %u",
		       (unsigned long long)g->n_kv, GGUF_MAX_KV);
		rc = -EINVAL;
		goto out;
	}
	/* smallest pair: empty key, type, one byte of value */
	min_kv = len_size(r) + 4 + 1;
	if (g->n_kv > rd_left(r) / min_kv) {
		seterr(err, errlen, "kv_count %llu cannot fit in the %llu bytes left",
		       (unsigned long long)g->n_kv, (unsigned long long)rd_left(r));
		rc = -EINVAL;
		goto out;
	}
	for (w.kv = 0; w.kv < g->n_kv; w.kv++)
		if ((rc = read_kv(r, g, &w)))
			goto out;
	rc = 0;
	goto out;
hdr:
	if (rc == -ERANGE) {
		seterr(err, errlen, "GGUF header truncated");
		rc = -EINVAL;
	} else if (rc != -ENOMEM) {
		seterr(err, errlen, "read error in the GGUF header");
	}
out:
	free(r);
	return rc;
}
