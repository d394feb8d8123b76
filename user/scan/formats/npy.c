/* NumPy .npy header parsing.
 *
 * numpy reads the header with ast.literal_eval (safe_eval), so the dict is
 * parsed here as a small Python literal grammar: strings (prefixes, escapes,
 * triple quotes, implicit concatenation), ints, True/False/None, tuples,
 * lists and dicts. The text is untrusted: every read is bounded by the
 * header length, nesting is capped, and nothing is allocated from a length
 * before that length is checked against the view. Offsets in messages are
 * byte offsets in the file. */
#include "npy.h"
#include "lib/textsan.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NPY_MAGIC "\x93NUMPY"
#define NPY_MAGIC_LEN 6
#define NPY_MAX_DEPTH 64
/* A field name or type string is printed at most this long in a message. */
#define NPY_QUOTE_MAX 40

enum npy_kind { NK_STR, NK_INT, NK_NUM, NK_TRUE, NK_FALSE, NK_NONE, NK_TUPLE, NK_LIST, NK_DICT };

struct npy_node {
	enum npy_kind kind;
	size_t pos, end; /* source span in the header text */
	/* NK_STR: decoded bytes in the arena's string buffer */
	size_t soff, slen;
	bool bytes;  /* b'' literal */
	bool unsure; /* an escape we cannot decode (\N{...}) */
	/* NK_INT */
	uint64_t ival;
	bool neg, big;
	/* containers: children are linked through next */
	size_t first, n, next;
};

#define NPY_NONE ((size_t)-1)

struct npy_parser {
	const char *t; /* header text (NUL-terminated copy) */
	size_t len, pos;
	uint64_t base;  /* file offset of t[0] */
	bool py2_longs; /* versions 1 and 2 accept 3L (numpy filters it) */
	struct npy_node *nodes;
	size_t nnodes, cap;
	char *sbuf; /* decoded strings; never longer than the text */
	size_t slen;
	char *err;
	size_t errlen;
	int depth;
	bool failed, oom;
};

static void npy_fail(struct npy_parser *p, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* The first problem wins; messages start "npy header: ". */
static void npy_fail(struct npy_parser *p, const char *fmt, ...)
{
	char msg[224];
	va_list ap;

	if (p->failed)
		return;
	p->failed = true;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	snprintf(p->err, p->errlen, "npy header: %s", msg);
}

/* File offset of header text position pos, for "at byte %llu". */
#define AT(pos) ((unsigned long long)(p->base + (pos)))

/* Quote untrusted text for a message: printable ASCII only, cut short. */
static void npy_quote(char *out, size_t outlen, const char *s, size_t n)
{
	size_t o = 0;

	for (size_t i = 0; i < n && o + 5 < outlen; i++) {
		unsigned char c = (unsigned char)s[i];

		if (i >= NPY_QUOTE_MAX) {
			memcpy(out + o, "...", 3);
			o += 3;
			break;
		}
		if (c >= 0x20 && c < 0x7f && c != '\\') {
			out[o++] = (char)c;
		} else {
			snprintf(out + o, outlen - o, "\\x%02x", c);
			o += 4;
		}
	}
	if (outlen)
		out[o < outlen ? o : outlen - 1] = 0;
}

static size_t npy_new_node(struct npy_parser *p, enum npy_kind k, size_t pos)
{
	struct npy_node *n;

	if (p->nnodes == p->cap) {
		size_t cap = p->cap ? p->cap * 2 : 32;
		struct npy_node *nn = realloc(p->nodes, cap * sizeof(*nn));

		if (!nn) {
			p->oom = true;
			npy_fail(p, "out of memory at byte %llu", AT(pos));
			return NPY_NONE;
		}
		p->nodes = nn;
		p->cap = cap;
	}
	n = &p->nodes[p->nnodes];
	memset(n, 0, sizeof(*n));
	n->kind = k;
	n->pos = pos;
	n->first = n->next = NPY_NONE;
	return p->nnodes++;
}

static void npy_skip_ws(struct npy_parser *p)
{
	while (p->pos < p->len) {
		char c = p->t[p->pos];

		if (c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v') {
			p->pos++;
		} else if (c == '#') {
			while (p->pos < p->len && p->t[p->pos] != '\n')
				p->pos++;
		} else if (c == '\\' && p->pos + 1 < p->len && p->t[p->pos + 1] == '\n') {
			p->pos += 2; /* explicit line joining */
		} else {
			break;
		}
	}
}

static int npy_hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Appends code point cp to the string buffer (UTF-8; there is always room:
 * an escape is longer than what it decodes to). */
static void npy_put_cp(struct npy_parser *p, uint32_t cp)
{
	char *o = p->sbuf + p->slen;

	if (cp < 0x80) {
		o[0] = (char)cp;
		p->slen += 1;
	} else if (cp < 0x800) {
		o[0] = (char)(0xc0 | (cp >> 6));
		o[1] = (char)(0x80 | (cp & 0x3f));
		p->slen += 2;
	} else if (cp < 0x10000) {
		o[0] = (char)(0xe0 | (cp >> 12));
		o[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
		o[2] = (char)(0x80 | (cp & 0x3f));
		p->slen += 3;
	} else {
		o[0] = (char)(0xf0 | (cp >> 18));
		o[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
		o[2] = (char)(0x80 | ((cp >> 6) & 0x3f));
		o[3] = (char)(0x80 | (cp & 0x3f));
		p->slen += 4;
	}
}

/* One string literal at p->pos (prefix already consumed), appended to the
 * buffer. Returns false on a syntax error. */
static bool npy_str_body(struct npy_parser *p, struct npy_node *n, bool raw)
{
	char q = p->t[p->pos];
	bool triple = p->pos + 2 < p->len && p->t[p->pos + 1] == q && p->t[p->pos + 2] == q;
	size_t start = p->pos;

	p->pos += triple ? 3 : 1;
	for (;;) {
		char c;

		if (p->pos >= p->len) {
			npy_fail(p, "unterminated string at byte %llu", AT(start));
			return false;
		}
		c = p->t[p->pos];
		if (c == q && (!triple || (p->pos + 2 < p->len && p->t[p->pos + 1] == q &&
					   p->t[p->pos + 2] == q))) {
			p->pos += triple ? 3 : 1;
			return true;
		}
		if (c == '\n' && !triple) {
			npy_fail(p, "unterminated string at byte %llu", AT(start));
			return false;
		}
		if (c != '\\') {
			p->sbuf[p->slen++] = c;
			p->pos++;
			continue;
		}
		if (p->pos + 1 >= p->len) {
			npy_fail(p, "unterminated string at byte %llu", AT(start));
			return false;
		}
		c = p->t[p->pos + 1];
		if (raw) {
			/* a raw string keeps the backslash; it still escapes a quote */
			p->sbuf[p->slen++] = '\\';
			p->sbuf[p->slen++] = c;
			p->pos += 2;
			continue;
		}
		p->pos += 2;
		switch (c) {
		case '\n':
			break;
		case '\\':
			p->sbuf[p->slen++] = '\\';
			break;
		case '\'':
			p->sbuf[p->slen++] = '\'';
			break;
		case '"':
			p->sbuf[p->slen++] = '"';
			break;
		case 'a':
			p->sbuf[p->slen++] = '\a';
			break;
		case 'b':
			p->sbuf[p->slen++] = '\b';
			break;
		case 'f':
			p->sbuf[p->slen++] = '\f';
			break;
		case 'n':
			p->sbuf[p->slen++] = '\n';
			break;
		case 'r':
			p->sbuf[p->slen++] = '\r';
			break;
		case 't':
			p->sbuf[p->slen++] = '\t';
			break;
		case 'v':
			p->sbuf[p->slen++] = '\v';
			break;
		case 'x':
		case 'u':
		case 'U': {
			int digits = c == 'x' ? 2 : c == 'u' ? 4 : 8;
			uint32_t cp = 0;

			if (c != 'x' && n->bytes) {
				/* \u is not an escape in a bytes literal */
				p->sbuf[p->slen++] = '\\';
				p->sbuf[p->slen++] = c;
				break;
			}
			if (p->len - p->pos < (size_t)digits) {
				npy_fail(p, "truncated \\%c escape at byte %llu", c,
					 AT(p->pos - 2));
				return false;
			}
			for (int i = 0; i < digits; i++) {
				int h = npy_hexval(p->t[p->pos + i]);

				if (h < 0) {
					npy_fail(p, "bad \\%c escape at byte %llu", c,
						 AT(p->pos - 2));
					return false;
				}
				cp = cp << 4 | (uint32_t)h;
			}
			if (cp > 0x10ffff) {
				npy_fail(p, "bad \\%c escape at byte %llu", c, AT(p->pos - 2));
				return false;
			}
			p->pos += (size_t)digits;
			if (n->bytes)
				p->sbuf[p->slen++] = (char)cp;
			else
				npy_put_cp(p, cp);
			break;
		}
		case 'N':
			/* a named character: could spell anything, 'O' included */
			n->unsure = true;
			p->sbuf[p->slen++] = '?';
			if (!n->bytes && p->pos < p->len && p->t[p->pos] == '{') {
				while (p->pos < p->len && p->t[p->pos] != '}' && p->t[p->pos] != q)
					p->pos++;
				if (p->pos < p->len && p->t[p->pos] == '}')
					p->pos++;
			}
			break;
		default:
			if (c >= '0' && c <= '7') {
				uint32_t cp = (uint32_t)(c - '0');

				for (int i = 0; i < 2 && p->pos < p->len && p->t[p->pos] >= '0' &&
						p->t[p->pos] <= '7';
				     i++)
					cp = cp * 8 + (uint32_t)(p->t[p->pos++] - '0');
				if (n->bytes)
					p->sbuf[p->slen++] = (char)cp;
				else
					npy_put_cp(p, cp);
			} else {
				/* unknown escapes stay as written */
				p->sbuf[p->slen++] = '\\';
				p->sbuf[p->slen++] = c;
			}
		}
	}
}

/* Length of a string prefix (r, b, u, rb, br, any case) before a quote at
 * p->pos, or 0 when none. */
static size_t npy_str_prefix(const struct npy_parser *p, bool *raw, bool *bytes)
{
	size_t i = p->pos;

	*raw = *bytes = false;
	for (int k = 0; k < 2 && i < p->len; k++, i++) {
		char c = p->t[i];

		if (c == 'r' || c == 'R') {
			if (*raw)
				return (size_t)-1;
			*raw = true;
		} else if (c == 'b' || c == 'B') {
			if (*bytes)
				return (size_t)-1;
			*bytes = true;
		} else if ((c == 'u' || c == 'U') && k == 0) {
			if (i + 1 < p->len && (p->t[i + 1] == '\'' || p->t[i + 1] == '"'))
				return 1;
			return (size_t)-1;
		} else {
			break;
		}
	}
	if (i < p->len && i > p->pos && (p->t[i] == '\'' || p->t[i] == '"'))
		return i - p->pos;
	return (size_t)-1;
}

static size_t npy_parse_value(struct npy_parser *p);

static size_t npy_parse_string(struct npy_parser *p)
{
	size_t id = npy_new_node(p, NK_STR, p->pos);
	bool first = true;

	if (id == NPY_NONE)
		return id;
	p->nodes[id].soff = p->slen;
	/* implicit concatenation: 'a' "b" is one string */
	for (;;) {
		bool raw = false, bytes = false;
		size_t pre = 0;

		if (p->t[p->pos] != '\'' && p->t[p->pos] != '"') {
			pre = npy_str_prefix(p, &raw, &bytes);
			if (pre == (size_t)-1)
				break;
		}
		if (!first && bytes != p->nodes[id].bytes) {
			npy_fail(p, "cannot mix bytes and str literals at byte %llu", AT(p->pos));
			return NPY_NONE;
		}
		p->nodes[id].bytes = bytes;
		p->pos += pre;
		if (!npy_str_body(p, &p->nodes[id], raw))
			return NPY_NONE;
		first = false;
		npy_skip_ws(p);
		if (p->pos >= p->len)
			break;
	}
	p->nodes[id].slen = p->slen - p->nodes[id].soff;
	p->nodes[id].end = p->pos;
	return id;
}

static bool npy_isalnum(char c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	       c == '_';
}

/* A number token: a Python int (decimal, 0x, 0o, 0b, underscores) becomes
 * NK_INT; floats and anything else numeric become NK_NUM. */
static size_t npy_parse_number(struct npy_parser *p, bool neg, size_t start)
{
	size_t id = npy_new_node(p, NK_INT, start), s = p->pos, e = p->pos;
	unsigned base = 10;
	uint64_t v = 0;
	bool big = false, isint = true, digit_seen = false, py2_long = false;
	size_t i;

	if (id == NPY_NONE)
		return id;
	while (e < p->len) {
		char c = p->t[e];

		if (npy_isalnum(c) || c == '.')
			e++;
		else if ((c == '+' || c == '-') && (p->t[e - 1] == 'e' || p->t[e - 1] == 'E') &&
			 !(e - s >= 2 && p->t[s] == '0' &&
			   (p->t[s + 1] == 'x' || p->t[s + 1] == 'X')))
			e++; /* 1e-5 */
		else
			break;
	}
	/* numpy strips Python 2's 3L before parsing versions 1.0 and 2.0 */
	if (p->py2_longs && e - s >= 2 && p->t[e - 1] == 'L') {
		py2_long = true;
		e--;
	}
	i = s;
	if (e - s >= 2 && p->t[s] == '0' && strchr("xXoObB", p->t[s + 1])) {
		char b = p->t[s + 1];

		base = b == 'x' || b == 'X' ? 16 : b == 'o' || b == 'O' ? 8 : 2;
		i += 2;
		if (i < e && p->t[i] == '_')
			i++;
	}
	for (; i < e; i++) {
		char c = p->t[i];
		int d = npy_hexval(c);

		if (c == '_' && digit_seen && i + 1 < e && p->t[i + 1] != '_')
			continue;
		if (d < 0 || (unsigned)d >= base) {
			isint = false;
			break;
		}
		digit_seen = true;
		if (v > (UINT64_MAX - (unsigned)d) / base)
			big = true;
		else
			v = v * base + (unsigned)d;
	}
	if (!digit_seen)
		isint = false;
	if (py2_long && !isint) {
		py2_long = false;
		e++;
	}
	/* Python 3 has no leading zeros in a decimal int other than 0 itself */
	if (isint && base == 10 && p->t[s] == '0' && v != 0)
		isint = false;
	if (!isint) {
		/* 1.5, 1e3, 2j: a number, not an int; junk like 1abc is an error */
		bool ok = true;

		for (i = s; i < e; i++) {
			char c = p->t[i];

			if (!((c >= '0' && c <= '9') || c == '.' || c == 'e' || c == 'E' ||
			      c == '_' || c == '+' || c == '-' ||
			      ((c == 'j' || c == 'J') && i + 1 == e))) {
				ok = false;
				break;
			}
		}
		if (!ok) {
			npy_fail(p, "bad number at byte %llu", AT(s));
			return NPY_NONE;
		}
		p->nodes[id].kind = NK_NUM;
	}
	p->pos = e + py2_long;
	p->nodes[id].ival = v;
	p->nodes[id].neg = neg && (v != 0 || big);
	p->nodes[id].big = big;
	p->nodes[id].end = p->pos;
	return id;
}

/* Items until the closing bracket; fills the container's child list. Sets
 * *trailing_comma (for telling (x) from (x,)). */
static bool npy_parse_items(struct npy_parser *p, size_t id, char close, bool dict,
			    bool *trailing_comma)
{
	size_t last = NPY_NONE;

	*trailing_comma = false;
	for (;;) {
		size_t k, v = NPY_NONE;

		npy_skip_ws(p);
		if (p->pos >= p->len) {
			npy_fail(p, "unbalanced '%c' at byte %llu", p->t[p->nodes[id].pos],
				 AT(p->nodes[id].pos));
			return false;
		}
		if (p->t[p->pos] == close) {
			p->pos++;
			return true;
		}
		if (p->nodes[id].n && !*trailing_comma) {
			npy_fail(p, "expected ',' or '%c' at byte %llu", close, AT(p->pos));
			return false;
		}
		k = npy_parse_value(p);
		if (k == NPY_NONE)
			return false;
		if (dict) {
			npy_skip_ws(p);
			if (p->pos >= p->len || p->t[p->pos] != ':') {
				npy_fail(p, "expected ':' in dict at byte %llu", AT(p->pos));
				return false;
			}
			p->pos++;
			v = npy_parse_value(p);
			if (v == NPY_NONE)
				return false;
			p->nodes[k].next = v;
		}
		if (last == NPY_NONE)
			p->nodes[id].first = k;
		else
			p->nodes[last].next = k;
		last = dict ? v : k;
		p->nodes[id].n++;
		npy_skip_ws(p);
		*trailing_comma = p->pos < p->len && p->t[p->pos] == ',';
		if (*trailing_comma)
			p->pos++;
	}
}

static size_t npy_parse_value(struct npy_parser *p)
{
	size_t start, id;
	char c;

	npy_skip_ws(p);
	start = p->pos;
	if (p->pos >= p->len) {
		npy_fail(p, "unexpected end of header at byte %llu", AT(p->pos));
		return NPY_NONE;
	}
	c = p->t[p->pos];
	if (c == '(' || c == '[' || c == '{') {
		char close = c == '(' ? ')' : c == '[' ? ']' : '}';
		bool comma;

		if (++p->depth > NPY_MAX_DEPTH) {
			npy_fail(p, "nested deeper than %d at byte %llu", NPY_MAX_DEPTH,
				 AT(p->pos));
			return NPY_NONE;
		}
		id = npy_new_node(p, c == '(' ? NK_TUPLE : c == '[' ? NK_LIST : NK_DICT, start);
		if (id == NPY_NONE)
			return id;
		p->pos++;
		if (!npy_parse_items(p, id, close, c == '{', &comma))
			return NPY_NONE;
		p->depth--;
		p->nodes[id].end = p->pos;
		/* (x) is x itself, not a tuple */
		if (c == '(' && p->nodes[id].n == 1 && !comma)
			return p->nodes[id].first;
		return id;
	}
	if (c == '\'' || c == '"')
		return npy_parse_string(p);
	if (c == '-' || c == '+') {
		p->pos++;
		npy_skip_ws(p);
		if (p->pos < p->len && ((p->t[p->pos] >= '0' && p->t[p->pos] <= '9') ||
					(p->t[p->pos] == '.' && p->pos + 1 < p->len &&
					 p->t[p->pos + 1] >= '0' && p->t[p->pos + 1] <= '9')))
			return npy_parse_number(p, c == '-', start);
		npy_fail(p, "bad sign at byte %llu", AT(start));
		return NPY_NONE;
	}
	if ((c >= '0' && c <= '9') ||
	    (c == '.' && p->pos + 1 < p->len && p->t[p->pos + 1] >= '0' && p->t[p->pos + 1] <= '9'))
		return npy_parse_number(p, false, start);
	if (npy_isalnum(c)) {
		size_t e = p->pos;
		bool raw, bytes;

		if (npy_str_prefix(p, &raw, &bytes) != (size_t)-1)
			return npy_parse_string(p);
		while (e < p->len && npy_isalnum(p->t[e]))
			e++;
		if (e - p->pos == 4 && !memcmp(p->t + p->pos, "True", 4))
			id = npy_new_node(p, NK_TRUE, start);
		else if (e - p->pos == 5 && !memcmp(p->t + p->pos, "False", 5))
			id = npy_new_node(p, NK_FALSE, start);
		else if (e - p->pos == 4 && !memcmp(p->t + p->pos, "None", 4))
			id = npy_new_node(p, NK_NONE, start);
		else {
			char q[64];

			npy_quote(q, sizeof(q), p->t + p->pos, e - p->pos);
			npy_fail(p, "name '%s' is not a literal at byte %llu", q, AT(start));
			return NPY_NONE;
		}
		if (id != NPY_NONE) {
			p->pos = e;
			p->nodes[id].end = e;
		}
		return id;
	}
	npy_fail(p, "unexpected character 0x%02x at byte %llu", (unsigned char)c, AT(start));
	return NPY_NONE;
}

/* ---- dtype ------------------------------------------------------------------ */

static bool npy_str_is(const struct npy_parser *p, const struct npy_node *n, const char *s)
{
	size_t l = strlen(s);

	return n->kind == NK_STR && !n->bytes && n->slen == l && !memcmp(p->sbuf + n->soff, s, l);
}

/* A dtype string that holds Python objects: 'O', '|O8', 'object', or a
 * comma list such as 'f8,O'. No other type code or name contains 'O'. */
static bool npy_type_str_object(const struct npy_parser *p, const struct npy_node *n)
{
	const char *s = p->sbuf + n->soff;

	if (n->unsure)
		return true;
	return memchr(s, 'O', n->slen) || memmem(s, n->slen, "object", 6);
}

/* Walks a descr value the way numpy's descr_to_dtype does: a string, a
 * (subtype, shape) tuple, or a list of (name, type[, shape]) fields. */
static bool npy_descr_object(const struct npy_parser *p, size_t id, int depth)
{
	const struct npy_node *n = &p->nodes[id];

	if (depth > NPY_MAX_DEPTH)
		return true;
	if (n->kind == NK_STR)
		return npy_type_str_object(p, n);
	if (n->kind == NK_TUPLE)
		return n->first != NPY_NONE && npy_descr_object(p, n->first, depth + 1);
	if (n->kind != NK_LIST)
		return false;
	for (size_t f = n->first; f != NPY_NONE; f = p->nodes[f].next) {
		const struct npy_node *fn = &p->nodes[f];
		size_t t;

		if ((fn->kind != NK_TUPLE && fn->kind != NK_LIST) || fn->n < 2)
			continue;
		t = p->nodes[fn->first].next; /* field type, after the name */
		if (npy_descr_object(p, t, depth + 1))
			return true;
	}
	return false;
}

/* Bytes per item of a simple dtype string such as '<f8', '|S3', '<U5',
 * '<M8[ns]'; 0 when unknown or not a fixed-size plain type. */
static uint64_t npy_itemsize(const char *s, size_t n)
{
	static const struct {
		char c;
		unsigned size;
	} one[] = {
		{ '?', 1 }, { 'b', 1 }, { 'B', 1 },  { 'h', 2 }, { 'H', 2 },  { 'i', 4 },
		{ 'I', 4 }, { 'l', 8 }, { 'L', 8 },  { 'q', 8 }, { 'Q', 8 },  { 'e', 2 },
		{ 'f', 4 }, { 'd', 8 }, { 'g', 16 }, { 'F', 8 }, { 'D', 16 }, { 'G', 32 },
	};
	uint64_t num = 0;
	size_t i = 0, d;
	char kind;

	if (n && strchr("<>|=", s[0]))
		i++;
	if (i >= n)
		return 0;
	kind = s[i++];
	if (i == n) {
		for (size_t k = 0; k < sizeof(one) / sizeof(one[0]); k++)
			if (one[k].c == kind)
				return one[k].size;
		return 0;
	}
	for (d = i; d < n && s[d] >= '0' && s[d] <= '9'; d++) {
		if (num > (UINT64_MAX - 9) / 10)
			return 0;
		num = num * 10 + (uint64_t)(s[d] - '0');
	}
	if (d == i || num == 0)
		return 0;
	switch (kind) {
	case 'M':
	case 'm':
		/* datetime64/timedelta64: 8 bytes, an optional [unit] */
		if (num != 8 || (d < n && (s[d] != '[' || s[n - 1] != ']')))
			return 0;
		return 8;
	case 'U':
		if (d != n || num > UINT64_MAX / 4)
			return 0;
		return num * 4;
	case 'b':
		return d == n && num == 1 ? 1 : 0;
	case 'i':
	case 'u':
		return d == n && (num == 1 || num == 2 || num == 4 || num == 8) ? num : 0;
	case 'f':
		return d == n && (num == 2 || num == 4 || num == 8 || num == 16) ? num : 0;
	case 'c':
		return d == n && (num == 8 || num == 16 || num == 32) ? num : 0;
	case 'S':
	case 'a':
	case 'V':
		return d == n ? num : 0;
	default:
		return 0;
	}
}

/* ---- the header ------------------------------------------------------------- */

/* Checks the dict and fills h from it. */
static bool npy_check_dict(struct npy_parser *p, size_t root, struct npy_header *h)
{
	const struct npy_node *d = &p->nodes[root];
	size_t descr = NPY_NONE, fortran = NPY_NONE, shape = NPY_NONE;
	uint64_t count = 1;
	bool overflow = false;

	if (d->kind != NK_DICT) {
		npy_fail(p, "header is not a dict at byte %llu", AT(d->pos));
		return false;
	}
	/* like a Python dict literal, a repeated key keeps its last value */
	for (size_t k = d->first; k != NPY_NONE; k = p->nodes[p->nodes[k].next].next) {
		const struct npy_node *kn = &p->nodes[k];

		if (npy_str_is(p, kn, "descr")) {
			descr = kn->next;
		} else if (npy_str_is(p, kn, "fortran_order")) {
			fortran = kn->next;
		} else if (npy_str_is(p, kn, "shape")) {
			shape = kn->next;
		} else {
			char q[64] = "";

			if (kn->kind == NK_STR)
				npy_quote(q, sizeof(q), p->sbuf + kn->soff, kn->slen);
			if (kn->kind == NK_STR && !kn->bytes)
				npy_fail(p, "unexpected key '%s' at byte %llu", q, AT(kn->pos));
			else
				npy_fail(p, "unexpected non-str key at byte %llu", AT(kn->pos));
			return false;
		}
	}
	if (descr == NPY_NONE || fortran == NPY_NONE || shape == NPY_NONE) {
		npy_fail(p, "missing '%s' key",
			 descr == NPY_NONE   ? "descr" :
			 fortran == NPY_NONE ? "fortran_order" :
					       "shape");
		return false;
	}

	if (p->nodes[fortran].kind != NK_TRUE && p->nodes[fortran].kind != NK_FALSE) {
		npy_fail(p, "fortran_order is not True or False at byte %llu",
			 AT(p->nodes[fortran].pos));
		return false;
	}
	h->fortran_order = p->nodes[fortran].kind == NK_TRUE;

	if (p->nodes[shape].kind != NK_TUPLE) {
		npy_fail(p, "shape is not a tuple at byte %llu", AT(p->nodes[shape].pos));
		return false;
	}
	for (size_t e = p->nodes[shape].first; e != NPY_NONE; e = p->nodes[e].next) {
		const struct npy_node *en = &p->nodes[e];
		char q[64];

		npy_quote(q, sizeof(q), p->t + en->pos, en->end - en->pos);
		if (en->kind != NK_INT) {
			npy_fail(p, "shape entry %s at byte %llu is not an int", q, AT(en->pos));
			return false;
		}
		if (en->neg) {
			npy_fail(p, "shape entry %s at byte %llu is negative", q, AT(en->pos));
			return false;
		}
		if (en->big) {
			npy_fail(p, "shape entry %s at byte %llu is too large", q, AT(en->pos));
			return false;
		}
		if (h->ndim >= NPY_MAX_DIMS) {
			npy_fail(p, "more than %d dimensions at byte %llu", NPY_MAX_DIMS,
				 AT(en->pos));
			return false;
		}
		h->shape[h->ndim++] = en->ival;
		if (en->ival && count > UINT64_MAX / en->ival)
			overflow = true;
		else
			count *= en->ival;
	}
	/* a zero dimension makes the array empty whatever the others say */
	for (unsigned i = 0; i < h->ndim; i++)
		if (!h->shape[i]) {
			count = 0;
			overflow = false;
		}

	const struct npy_node *dn = &p->nodes[descr];
	const char *text;
	size_t tlen;

	if (dn->kind == NK_STR && !dn->bytes) {
		text = p->sbuf + dn->soff;
		tlen = dn->slen;
	} else if (dn->kind == NK_LIST || dn->kind == NK_TUPLE) {
		text = p->t + dn->pos;
		tlen = dn->end - dn->pos;
		h->structured = dn->kind == NK_LIST;
	} else {
		npy_fail(p, "descr is not a str or a list at byte %llu", AT(dn->pos));
		return false;
	}
	if (tlen >= NPY_DESCR_MAX) {
		tlen = NPY_DESCR_MAX - 1;
		h->descr_cut = true;
	}
	memcpy(h->descr, text, tlen);
	h->descr[tlen] = 0;
	h->has_object = npy_descr_object(p, descr, 0);
	if (dn->kind == NK_STR && !h->has_object && !dn->unsure && !memchr(text, ',', dn->slen))
		h->itemsize = npy_itemsize(p->sbuf + dn->soff, dn->slen);
	if (h->itemsize) {
		if (overflow || (count && h->itemsize > UINT64_MAX / count)) {
			h->data_bytes = 0;
			h->size_mismatch = true;
		} else {
			h->data_bytes = h->itemsize * count;
		}
	}
	return true;
}

int npy_parse(const struct byte_src *s, struct npy_header *h, char *err, size_t errlen)
{
	uint8_t pre[12];
	ssize_t got;
	uint64_t hlen, hoff;
	uint8_t *text = NULL;
	struct npy_parser p = { .err = err, .errlen = errlen };
	size_t root;
	int rc;

	memset(h, 0, sizeof(*h));
	if (errlen)
		err[0] = 0;
	got = bsrc_read(s, 0, pre, sizeof(pre));
	if (got < 0)
		return (int)got;
	if (got < NPY_MAGIC_LEN + 2 || memcmp(pre, NPY_MAGIC, NPY_MAGIC_LEN)) {
		snprintf(err, errlen,
			 got < NPY_MAGIC_LEN + 2 && !memcmp(pre, NPY_MAGIC, (size_t)got) ?
				 "npy: file too short (size %llu)" :
				 "npy: bad magic (size %llu)",
			 (unsigned long long)s->size);
		return -EINVAL;
	}
	h->major = pre[6];
	h->minor = pre[7];
	if ((h->major != 1 && h->major != 2 && h->major != 3) || h->minor != 0) {
		snprintf(err, errlen, "npy: unsupported format version %u.%u", h->major, h->minor);
		return -EINVAL;
	}
	hoff = h->major == 1 ? 10 : 12;
	if ((uint64_t)got < hoff) {
		snprintf(err, errlen, "npy: file too short for the header length (size %llu)",
			 (unsigned long long)s->size);
		return -EINVAL;
	}
	hlen = h->major == 1 ? (uint64_t)pre[8] | (uint64_t)pre[9] << 8 :
			       (uint64_t)pre[8] | (uint64_t)pre[9] << 8 | (uint64_t)pre[10] << 16 |
				       (uint64_t)pre[11] << 24;
	h->header_len = hlen;
	if (hlen > s->size - hoff) {
		snprintf(err, errlen, "npy: header length %llu runs past end of file (size %llu)",
			 (unsigned long long)hlen, (unsigned long long)s->size);
		return -EINVAL;
	}
	if (hlen > NPY_MAX_HEADER) {
		snprintf(err, errlen, "npy: header length %llu exceeds the %u limit",
			 (unsigned long long)hlen, NPY_MAX_HEADER);
		return -EINVAL;
	}
	h->data_off = hoff + hlen;
	rc = bsrc_load(s, hoff, (size_t)hlen, &text);
	if (rc)
		return rc == -ERANGE ? -EIO : rc;
	/* Python refuses source text with NUL bytes; 3.0 is UTF-8, 1.0/2.0 latin-1 */
	if (memchr(text, 0, hlen)) {
		snprintf(err, errlen, "npy header: NUL byte at byte %llu",
			 (unsigned long long)(hoff +
					      (uint64_t)((uint8_t *)memchr(text, 0, hlen) - text)));
		free(text);
		return -EINVAL;
	}
	if (h->major == 3 && !utf8_valid(text, hlen, NULL)) {
		snprintf(err, errlen, "npy header: not valid UTF-8 (version 3.0)");
		free(text);
		return -EINVAL;
	}
	p.t = (const char *)text;
	p.len = hlen;
	p.base = hoff;
	p.py2_longs = h->major < 3;
	/* decoded strings are never longer than their source */
	p.sbuf = malloc(hlen + 1);
	if (!p.sbuf) {
		free(text);
		return -ENOMEM;
	}
	root = npy_parse_value(&p);
	if (root != NPY_NONE) {
		npy_skip_ws(&p);
		if (p.pos < p.len)
			npy_fail(&p, "trailing text after the dict at byte %llu",
				 (unsigned long long)(p.base + p.pos));
	}
	if (!p.failed && root != NPY_NONE)
		npy_check_dict(&p, root, h);
	if (!p.failed && h->itemsize && !h->size_mismatch)
		h->size_mismatch = h->data_bytes != s->size - h->data_off;
	rc = p.oom ? -ENOMEM : p.failed ? -EINVAL : 0;
	free(p.nodes);
	free(p.sbuf);
	free(text);
	if (rc)
		memset(h, 0, sizeof(*h));
	return rc;
}
