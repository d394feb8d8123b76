/* GGUF metadata reader and Jinja chat template checker.
 *
 * The key/value section is read front to back through a small buffer: a
 * tokenizer vocabulary can make it tens of MB, so array payloads are
 * skipped by arithmetic (fixed-size types) or element by element (strings)
 * and only chat template strings are ever loaded. Every count and length
 * the file claims is checked against the bytes left in the view first. */
#include "gguf.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "textsan.h"

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
	GT_UINT8, GT_INT8, GT_UINT16, GT_INT16, GT_UINT32, GT_INT32, GT_FLOAT32,
	GT_BOOL, GT_STRING, GT_ARRAY, GT_UINT64, GT_INT64, GT_FLOAT64, GT_COUNT
};

static const char TEMPLATE_KEY[] = "tokenizer.chat_template";

/* ---- buffered sequential reader --------------------------------------- */

struct rd {
	const struct byte_src *s;
	uint64_t pos;       /* next byte to consume */
	uint64_t boff;      /* file offset of buf[0] */
	size_t blen;
	bool be;            /* big-endian file (GGUF v3 allows it) */
	bool v1;            /* counts and lengths are u32 */
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
	case GT_UINT8: case GT_INT8: case GT_BOOL:
		return 1;
	case GT_UINT16: case GT_INT16:
		return 2;
	case GT_UINT32: case GT_INT32: case GT_FLOAT32:
		return 4;
	case GT_UINT64: case GT_INT64: case GT_FLOAT64:
		return 8;
	default:
		return 0;
	}
}

/* Where a value went wrong, for the error message. */
struct where {
	uint64_t kv;
	char key[96];       /* escaped */
	char *err;
	size_t errlen;
};

static int fail(struct where *w, int rc, uint64_t off, const char *what)
{
	if (rc == -ERANGE) {
		seterr(w->err, w->errlen, "kv %llu ('%s'): %s past the end of the file at offset %llu",
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

/* ---- chat template checks ---------------------------------------------- */

/* Attribute names whose only use in a template is to climb from a Jinja
 * object to Python's internals. */
static const char *const DUNDERS[] = {
	"__class__", "__mro__", "__base__", "__bases__", "__subclasses__", "__globals__",
	"__builtins__", "__init__", "__import__", "__getattribute__", "__dict__", "__code__",
	"__func__", "__self__", "__module__", "__reduce__", "__reduce_ex__", "__loader__",
	"__spec__", "__closure__", "__getitem__", "__call__", "__subclasshook__",
	"__init_subclass__", "__new__", "__qualname__", "__name__", "__doc__", "__file__",
};
/* Jinja/Flask globals whose attributes lead to module globals. */
static const char *const GLOBAL_OBJS[] = {
	"lipsum", "cycler", "joiner", "namespace", "url_for", "get_flashed_messages",
};
/* Names that are harmful as a looked-up attribute name ('...'] / attr()). */
static const char *const DANGER_NAMES[] = {
	"os", "popen", "subprocess", "eval", "exec", "builtins", "import_module", "spawn",
	"execv", "execve", "posix", "sys", "modules",
};

#define CHAIN_MAX 256
#define HUGE_RANGE 100000ull
#define MAX_BOUND 64

enum tok { T_NONE, T_IDENT, T_STR, T_NUM, T_OP };
enum chain_ctx { CC_OTHER, CC_SUBSCRIPT, CC_ATTR };

struct token {
	enum tok type;
	size_t off, len;
	char op;
};

struct tctx {
	const char *key;
	const uint8_t *t;
	size_t len;
	uint64_t base;
	struct gguf_info *g;
	struct token p1, p2;          /* last two tokens of this region */
	int balance;                  /* open ( [ { in the region */
	/* a run of string literals joined by ~, + or juxtaposition */
	bool chain, chain_op;
	enum chain_ctx chain_ctx;
	size_t chain_off, chain_len;
	char chain_buf[CHAIN_MAX];
	/* |attr( waiting for its argument */
	int attr_state;               /* 1: saw |attr, 2: saw its ( */
	size_t attr_off;
	int range_level;              /* balance inside range( ... ), 0: none */
	int stmt;                     /* 0 none, 1 set, 2 for (binding), 3 macro */
	char bound[MAX_BOUND][32];    /* names the template binds itself */
	size_t nbound;
};

static void hit(struct tctx *c, const char *what, size_t off, bool malicious)
{
	struct gguf_info *g = c->g;
	char key[sizeof(g->hits[0].key)];
	struct gguf_hit *h;

	text_escape(c->key, strlen(c->key), key, sizeof(key));
	for (size_t i = 0; i < g->nhits; i++) {
		h = &g->hits[i];
		if (!strcmp(h->key, key) && !strcmp(h->what, what)) {
			h->malicious |= malicious;
			return;
		}
	}
	if (g->nhits >= GGUF_MAX_HITS) {
		g->hits_dropped++;
		return;
	}
	h = &g->hits[g->nhits++];
	memset(h, 0, sizeof(*h));
	memcpy(h->key, key, sizeof(h->key));
	text_escape(what, strlen(what), h->what, sizeof(h->what));
	h->offset = c->base + off;
	h->malicious = malicious;
}

static bool in_list(const char *const *l, size_t n, const char *s, size_t len)
{
	for (size_t i = 0; i < n; i++)
		if (strlen(l[i]) == len && !memcmp(l[i], s, len))
			return true;
	return false;
}

#define IN(list, s, len) in_list(list, sizeof(list) / sizeof(list[0]), s, len)

static bool tok_is(const struct tctx *c, const struct token *k, const char *s)
{
	size_t n = strlen(s);

	return k->type == T_IDENT && k->len == n && !memcmp(c->t + k->off, s, n);
}

static bool op_is(const struct token *k, char op)
{
	return k->type == T_OP && k->op == op;
}

static bool is_ident_start(uint8_t ch)
{
	return ch == '_' || (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z');
}

static bool is_ident(uint8_t ch)
{
	return is_ident_start(ch) || (ch >= '0' && ch <= '9');
}

static bool is_space(uint8_t ch)
{
	return ch == ' ' || ch == '\t' || ch == '\n' || ch == '\r' || ch == '\f' || ch == '\v';
}

static bool has_dunder(const char *s, size_t n)
{
	return memmem(s, n, "__", 2) != NULL;
}

static bool is_bound(const struct tctx *c, const char *s, size_t n)
{
	for (size_t i = 0; i < c->nbound; i++)
		if (strlen(c->bound[i]) == n && !memcmp(c->bound[i], s, n))
			return true;
	return false;
}

static void bind(struct tctx *c, const struct token *k)
{
	if (c->nbound < MAX_BOUND && k->len < sizeof(c->bound[0])) {
		memcpy(c->bound[c->nbound], c->t + k->off, k->len);
		c->bound[c->nbound++][k->len] = 0;
	}
}

/* Next non-space byte at or after i (0 at the end). */
static uint8_t peek(const struct tctx *c, size_t i)
{
	while (i < c->len && is_space(c->t[i]))
		i++;
	return i < c->len ? c->t[i] : 0;
}

/* The identifier after the next '.' from i, if any: used to tell "self."
 * from "self._TemplateReference__context". */
static bool next_attr_has_dunder(const struct tctx *c, size_t i)
{
	size_t s;

	while (i < c->len && is_space(c->t[i]))
		i++;
	if (i >= c->len || c->t[i] != '.')
		return false;
	for (i++; i < c->len && is_space(c->t[i]); i++)
		;
	for (s = i; i < c->len && is_ident(c->t[i]); i++)
		;
	return has_dunder((const char *)c->t + s, i - s);
}

static int hexval(uint8_t ch)
{
	if (ch >= '0' && ch <= '9')
		return ch - '0';
	if (ch >= 'a' && ch <= 'f')
		return ch - 'a' + 10;
	if (ch >= 'A' && ch <= 'F')
		return ch - 'A' + 10;
	return -1;
}

static void chain_put(struct tctx *c, char ch)
{
	if (c->chain_len < sizeof(c->chain_buf))
		c->chain_buf[c->chain_len++] = ch;
}

/* Appends a string literal's value (quotes at s and s+n-1, or unterminated)
 * decoded as Jinja does (Python escapes), so '\x5f\x5fclass\x5f\x5f' and
 * '\N{LOW LINE}' spellings normalise to the attribute name they reach. */
static void chain_decode(struct tctx *c, size_t s, size_t n)
{
	const uint8_t *p = c->t + s + 1, *e = c->t + s + n;

	if (n >= 2 && c->t[s + n - 1] == c->t[s])
		e--;
	while (p < e) {
		uint32_t cp = 0;
		int digits = 0, h;

		if (*p != '\\' || p + 1 >= e) {
			chain_put(c, (char)*p++);
			continue;
		}
		p++;
		switch (*p) {
		case 'x': digits = 2; break;
		case 'u': digits = 4; break;
		case 'U': digits = 8; break;
		case 'n': chain_put(c, '\n'); p++; continue;
		case 't': chain_put(c, '\t'); p++; continue;
		case 'N':
			if (p + 1 < e && p[1] == '{') {
				/* character names are short: a bounded look keeps a
				 * literal full of "\N{" linear */
				size_t lim = (size_t)(e - p) < 64 ? (size_t)(e - p) : 64;
				const uint8_t *q = memchr(p, '}', lim);

				if (q) {
					bool low = q - p - 2 == 8 &&
						   !strncasecmp((const char *)p + 2, "LOW LINE", 8);
					chain_put(c, low ? '_' : '?');
					p = q + 1;
					continue;
				}
			}
			chain_put(c, '\\');
			continue;
		default:
			if (*p >= '0' && *p <= '7') {
				for (int k = 0; k < 3 && p < e && *p >= '0' && *p <= '7'; k++)
					cp = cp * 8 + (uint32_t)(*p++ - '0');
				chain_put(c, cp < 0x80 ? (char)cp : '?');
				continue;
			}
			if (*p == '\\' || *p == '\'' || *p == '"') {
				chain_put(c, (char)*p++);
				continue;
			}
			chain_put(c, '\\');
			continue;
		}
		p++;
		for (int k = 0; k < digits; k++) {
			if (p >= e || (h = hexval(*p)) < 0)
				break;
			cp = cp * 16 + (uint32_t)h;
			p++;
		}
		chain_put(c, cp < 0x80 ? (char)cp : '?');
	}
}

/* Judges a finished run of string literals. Returns true when it named
 * something dangerous (so |attr( on it needs no separate hit). */
static bool chain_flush(struct tctx *c)
{
	const char *b = c->chain_buf;
	size_t n = c->chain_len;
	bool lookup = c->chain_ctx != CC_OTHER, found = false, prose = false;
	char what[64];

	if (!c->chain)
		return false;
	c->chain = false;
	/* a bare name ('__class__', or pieces joined) is meant for a lookup
	 * even when stored in a variable first; prose that mentions one is not */
	for (size_t i = 0; i < n && !lookup; i++)
		if (!is_ident((uint8_t)b[i]))
			prose = true;
	for (size_t i = 0; i < sizeof(DUNDERS) / sizeof(DUNDERS[0]); i++)
		if (memmem(b, n, DUNDERS[i], strlen(DUNDERS[i]))) {
			hit(c, DUNDERS[i], c->chain_off, !prose);
			found = true;
		}
	if (found)
		return !prose;
	if (lookup && IN(DANGER_NAMES, b, n)) {
		snprintf(what, sizeof(what), "'%.*s' lookup", (int)n, b);
		hit(c, what, c->chain_off, true);
		return true;
	}
	for (size_t i = 0; i + 1 < n;) {
		const char *d = memmem(b + i, n - i, "__", 2);
		size_t j, k;

		if (!d)
			break;
		j = (size_t)(d - b);
		for (k = j + 2; k < n && is_ident((uint8_t)b[k]) &&
				!(b[k] == '_' && k + 1 < n && b[k + 1] == '_'); k++)
			;
		if (k > j + 2 && k + 1 < n && b[k] == '_' && b[k + 1] == '_') {
			/* a whole __name__ nobody lists: still an attribute climb when
			 * looked up, odd text otherwise */
			snprintf(what, sizeof(what), "%.*s", (int)(k + 2 - j), d);
			hit(c, what, c->chain_off, lookup);
			return lookup;
		}
		if ((j > 0 && is_ident((uint8_t)b[j - 1]) && b[j - 1] != '_') ||
		    (j + 2 < n && is_ident((uint8_t)b[j + 2]) && b[j + 2] != '_') || n == 2) {
			/* '__cla' ~ x ~ 'ss__': a piece of a dunder name */
			hit(c, "dunder fragment in string", c->chain_off, false);
			return false;
		}
		i = j + 1;
	}
	return false;
}

static void attr_done(struct tctx *c, bool named_danger)
{
	if (c->attr_state && !named_danger)
		hit(c, "|attr(", c->attr_off, false);
	c->attr_state = 0;
}

static void ident_rules(struct tctx *c, const struct token *k, size_t end)
{
	const char *s = (const char *)c->t + k->off;
	size_t n = k->len;
	bool attr = op_is(&c->p1, '.');
	bool global = !attr && !is_bound(c, s, n);
	uint8_t nx = peek(c, end);
	char what[64];

	if (has_dunder(s, n)) {
		if (attr && c->p2.type == T_IDENT &&
		    (IN(GLOBAL_OBJS, (const char *)c->t + c->p2.off, c->p2.len) ||
		     tok_is(c, &c->p2, "self") || tok_is(c, &c->p2, "config") ||
		     tok_is(c, &c->p2, "request")))
			snprintf(what, sizeof(what), "%.*s.%.*s", (int)c->p2.len,
				 (const char *)c->t + c->p2.off, (int)n, s);
		else
			snprintf(what, sizeof(what), "%.*s", (int)n, s);
		/* an attribute climb; a bare name is only odd unless it is a
		 * known dunder (__import__ etc. are never template variables) */
		hit(c, what, k->off, attr || IN(DUNDERS, s, n));
		return;
	}
	if (n == 5 && !memcmp(s, "popen", n)) {
		hit(c, attr && tok_is(c, &c->p2, "os") ? "os.popen" : "popen(", k->off, true);
		return;
	}
	if (n == 10 && !memcmp(s, "subprocess", n)) {
		hit(c, "subprocess", k->off, true);
		return;
	}
	if (n == 6 && !memcmp(s, "system", n) && attr && tok_is(c, &c->p2, "os")) {
		hit(c, "os.system", k->off, true);
		return;
	}
	if (nx == '(' && ((n == 6 && !memcmp(s, "system", n)) || (n == 4 && !memcmp(s, "eval", n)) ||
			  (n == 4 && !memcmp(s, "exec", n)))) {
		snprintf(what, sizeof(what), "%.*s(", (int)n, s);
		hit(c, what, k->off, true);
		return;
	}
	if (n == 6 && !memcmp(s, "import", n)) {
		hit(c, "import", k->off, true);
		return;
	}
	if (n == 11 && !memcmp(s, "application", n) && attr && tok_is(c, &c->p2, "request")) {
		hit(c, "request.application", c->p2.off, true);
		return;
	}
	if (!global)
		return;
	if (n == 20 && !memcmp(s, "get_flashed_messages", n)) {
		hit(c, "get_flashed_messages", k->off, true);
		return;
	}
	if (IN(GLOBAL_OBJS, s, n) && (nx == '[' || nx == '|' || nx == '.')) {
		/* a dunder right after is reported as "lipsum.__globals__" */
		if (!next_attr_has_dunder(c, end)) {
			snprintf(what, sizeof(what), "%.*s", (int)n, s);
			hit(c, what, k->off, true);
		}
		return;
	}
	if (n == 6 && !memcmp(s, "config", n) && (nx == '.' || nx == '[')) {
		hit(c, "config.", k->off, true);
		return;
	}
	if (n == 4 && !memcmp(s, "self", n) && nx == '.' && !next_attr_has_dunder(c, end)) {
		hit(c, "self.", k->off, false);
		return;
	}
	if (n == 5 && !memcmp(s, "range", n) && nx == '(')
		c->range_level = c->balance + 1;
}

/* One token of a code region, in order. */
static void token(struct tctx *c, const struct token *k, size_t end)
{
	/* string literal runs: 'a' ~ 'b', 'a' + 'b', 'a' 'b' */
	if (c->chain) {
		if (k->type == T_STR && (c->chain_op || c->p1.type == T_STR)) {
			chain_decode(c, k->off, k->len);
			c->chain_op = false;
			goto shift;
		}
		if (k->type == T_OP && (k->op == '~' || k->op == '+') && !c->chain_op) {
			c->chain_op = true;
			goto shift;
		}
		attr_done(c, chain_flush(c));
	}
	if (c->attr_state == 1) {
		if (op_is(k, '('))
			c->attr_state = 2;
		else
			attr_done(c, false);
	} else if (c->attr_state == 2 && k->type != T_STR) {
		attr_done(c, false);
	}
	switch (k->type) {
	case T_STR:
		c->chain = true;
		c->chain_op = false;
		c->chain_off = k->off;
		c->chain_len = 0;
		c->chain_ctx = c->attr_state == 2 ? CC_ATTR :
			       op_is(&c->p1, '[') ? CC_SUBSCRIPT : CC_OTHER;
		chain_decode(c, k->off, k->len);
		break;
	case T_IDENT:
		if (c->p1.type == T_NONE)
			c->stmt = tok_is(c, k, "set") ? 1 : tok_is(c, k, "for") ? 2 :
				  tok_is(c, k, "macro") ? 3 : 0;
		if (op_is(&c->p1, '|') && tok_is(c, k, "attr")) {
			c->attr_state = 1;
			c->attr_off = c->p1.off;
			break;
		}
		if (c->stmt == 1 && c->p2.type == T_NONE && c->p1.type == T_IDENT) {
			bind(c, k);
			c->stmt = 0;
		} else if (c->stmt == 2) {
			if (tok_is(c, k, "in"))
				c->stmt = 0;
			else
				bind(c, k);
		} else if (c->stmt == 3 && !op_is(&c->p1, '=')) {
			bind(c, k);
		}
		ident_rules(c, k, end);
		break;
	case T_NUM:
		if (c->range_level && c->balance >= c->range_level) {
			uint64_t v = 0;
			bool big = false;

			for (size_t i = 0; i < k->len; i++) {
				uint8_t ch = c->t[k->off + i];

				if (ch == '_')
					continue;
				if (ch < '0' || ch > '9')
					break;
				v = v * 10 + (ch - '0');
				if (v >= HUGE_RANGE)
					big = true;
			}
			if (big)
				hit(c, "huge range()", k->off, false);
		}
		break;
	case T_OP:
		if (k->op == '(' || k->op == '[' || k->op == '{')
			c->balance++;
		else if ((k->op == ')' || k->op == ']' || k->op == '}') && c->balance > 0)
			c->balance--;
		if (c->range_level && c->balance < c->range_level)
			c->range_level = 0;
		break;
	default:
		break;
	}
shift:
	c->p2 = c->p1;
	c->p1 = *k;
}

/* Lexes a {{ }} or {% %} region from i (after the opener) to its closer,
 * which, as in Jinja, only counts outside strings and brackets. Returns the
 * index after the closer (or len). */
static size_t code_region(struct tctx *c, size_t i, char kind)
{
	const uint8_t *t = c->t;
	size_t n = c->len;

	c->p1.type = c->p2.type = T_NONE;
	c->balance = 0;
	c->chain = false;
	c->attr_state = 0;
	c->range_level = 0;
	c->stmt = 0;
	while (i < n) {
		struct token k = { .off = i };
		uint8_t ch = t[i];

		if (is_space(ch)) {
			i++;
			continue;
		}
		if (c->balance == 0 && i + 1 < n && t[i + 1] == '}' &&
		    ((kind == '{' && ch == '}') || (kind == '%' && ch == '%'))) {
			i += 2;
			break;
		}
		if (ch == '\'' || ch == '"') {
			for (i++; i < n && t[i] != ch; i++)
				if (t[i] == '\\' && i + 1 < n)
					i++;
			i = i < n ? i + 1 : n;
			k.type = T_STR;
		} else if (ch >= '0' && ch <= '9') {
			while (i < n && (is_ident(t[i]) || t[i] == '.'))
				i++;
			k.type = T_NUM;
		} else if (is_ident_start(ch)) {
			while (i < n && is_ident(t[i]))
				i++;
			k.type = T_IDENT;
		} else {
			k.type = T_OP;
			k.op = (char)ch;
			i++;
		}
		k.len = i - k.off;
		token(c, &k, i);
	}
	if (c->chain)
		attr_done(c, chain_flush(c));
	attr_done(c, false);
	return i;
}

/* Literal text is only printed, but a dunder name in it means the
 * template's code may be hidden where this lexer does not look. */
static void text_rules(struct tctx *c, size_t s, size_t e)
{
	char what[64];

	for (size_t i = 0; i < sizeof(DUNDERS) / sizeof(DUNDERS[0]); i++) {
		const uint8_t *p = memmem(c->t + s, e - s, DUNDERS[i], strlen(DUNDERS[i]));

		if (p) {
			snprintf(what, sizeof(what), "%s in text", DUNDERS[i]);
			hit(c, what, (size_t)(p - c->t), false);
		}
	}
}

/* After {% raw %}: the index after the matching {% endraw %} (or len). */
static size_t skip_raw(struct tctx *c, size_t i)
{
	while (i < c->len) {
		const uint8_t *p = memmem(c->t + i, c->len - i, "{%", 2);
		size_t j;

		if (!p)
			return c->len;
		j = (size_t)(p - c->t) + 2;
		while (j < c->len && (is_space(c->t[j]) || c->t[j] == '-' || c->t[j] == '+'))
			j++;
		if (c->len - j >= 6 && !memcmp(c->t + j, "endraw", 6)) {
			p = memmem(c->t + j, c->len - j, "%}", 2);
			return p ? (size_t)(p - c->t) + 2 : c->len;
		}
		i = j;
	}
	return c->len;
}

void gguf_check_template(const char *key, const uint8_t *t, size_t len, uint64_t base_off,
			 struct gguf_info *g)
{
	struct tctx *c = calloc(1, sizeof(*c));
	size_t i = 0;

	g->templates++;
	if (!c) {
		/* cannot look: say so rather than pass the template as clean */
		struct tctx tmp = { .key = key ? key : "", .g = g };

		hit(&tmp, "not checked (out of memory)", 0, false);
		return;
	}
	c->key = key ? key : "";
	c->t = t;
	c->len = len;
	c->base = base_off;
	c->g = g;
	while (i < len) {
		size_t j = i, start;
		char kind = 0;

		for (; j + 1 < len; j++)
			if (t[j] == '{' && (t[j + 1] == '{' || t[j + 1] == '%' || t[j + 1] == '#')) {
				kind = (char)t[j + 1];
				break;
			}
		if (!kind) {
			text_rules(c, i, len);
			break;
		}
		text_rules(c, i, j);
		if (kind == '#') {
			const uint8_t *p = j + 2 < len ? memmem(t + j + 2, len - j - 2, "#}", 2) : NULL;

			i = p ? (size_t)(p - t) + 2 : len;
			continue;
		}
		start = j + 2;
		i = code_region(c, start, kind);
		if (kind == '%') {
			size_t k = start;

			while (k < i && (is_space(t[k]) || t[k] == '-' || t[k] == '+'))
				k++;
			if (i - k >= 3 && !memcmp(t + k, "raw", 3) && (k + 3 >= i || !is_ident(t[k + 3])))
				i = skip_raw(c, i);
		}
	}
	free(c);
}
