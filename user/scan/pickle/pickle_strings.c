/* Protocol 0 strings: decoding STRING (repr escapes) and UNICODE
 * (raw-unicode-escape) arguments, and the walker-owned copies they decode to. */
#include <stdlib.h>
#include <string.h>

#include "pickle_strings.h"

static bool sink_put(struct pw_out *k, uint8_t c)
{
	if (k->out) {
		if (k->len >= k->cap) {
			k->full = true;
			return false;
		}
		k->out[k->len] = c;
	}
	k->len++;
	return true;
}

static bool sink_utf8(struct pw_out *k, uint32_t cp)
{
	if (cp < 0x80)
		return sink_put(k, (uint8_t)cp);
	if (cp < 0x800)
		return sink_put(k, (uint8_t)(0xc0 | cp >> 6)) &&
		       sink_put(k, (uint8_t)(0x80 | (cp & 0x3f)));
	if (cp < 0x10000)
		return sink_put(k, (uint8_t)(0xe0 | cp >> 12)) &&
		       sink_put(k, (uint8_t)(0x80 | ((cp >> 6) & 0x3f))) &&
		       sink_put(k, (uint8_t)(0x80 | (cp & 0x3f)));
	return sink_put(k, (uint8_t)(0xf0 | cp >> 18)) &&
	       sink_put(k, (uint8_t)(0x80 | ((cp >> 12) & 0x3f))) &&
	       sink_put(k, (uint8_t)(0x80 | ((cp >> 6) & 0x3f))) &&
	       sink_put(k, (uint8_t)(0x80 | (cp & 0x3f)));
}

static int hexval(uint8_t c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if ((c | 0x20) >= 'a' && (c | 0x20) <= 'f')
		return (c | 0x20) - 'a' + 10;
	return -1;
}

/* Python's escape_decode (STRING). as_text: bytes >= 0x80 as latin-1 code
 * points in UTF-8. false where Python raises. Stops early when k is full. */
bool pw_dec_repr(const uint8_t *s, size_t n, struct pw_out *k, bool as_text)
{
	static const char esc[] = "\\\\''\"\"a\ab\bf\fn\nr\rt\tv\v";

	for (size_t i = 0; i < n && !k->full;) {
		uint32_t v = s[i++];
		const char *e;

		if (v == '\\') {
			if (i >= n)
				return false; /* trailing backslash */
			v = s[i++];
			if (v == '\n')
				continue;
			if (v >= '0' && v <= '7') {
				v -= '0';
				for (int d = 0; d < 2 && i < n && s[i] >= '0' && s[i] <= '7'; d++)
					v = v * 8 + (uint32_t)(s[i++] - '0');
				v &= 0xff;
			} else if (v == 'x') {
				if (n - i < 2 || hexval(s[i]) < 0 || hexval(s[i + 1]) < 0)
					return false;
				v = (uint32_t)(hexval(s[i]) * 16 + hexval(s[i + 1]));
				i += 2;
			} else if (v && (e = strchr(esc, (int)v)) && (e - esc) % 2 == 0) {
				v = (uint8_t)e[1];
			} else if (!sink_put(k, '\\')) { /* unknown escape: kept */
				break;
			}
		}
		if (as_text && v >= 0x80)
			sink_utf8(k, v);
		else
			sink_put(k, (uint8_t)v);
	}
	return true;
}

/* raw-unicode-escape (UNICODE) to UTF-8: only \uXXXX and \UXXXXXXXX are
 * escapes, a "\\" pair is two backslashes, other bytes are latin-1. */
bool pw_dec_rue(const uint8_t *s, size_t n, struct pw_out *k)
{
	for (size_t i = 0; i < n && !k->full;) {
		uint32_t c = s[i++], cp = 0;
		int cnt;

		if (c != '\\' || i >= n) {
			sink_utf8(k, c);
			continue;
		}
		c = s[i++];
		if (c != 'u' && c != 'U') {
			if (sink_utf8(k, '\\'))
				sink_utf8(k, c);
			continue;
		}
		for (cnt = c == 'u' ? 4 : 8; cnt; cnt--, i++) {
			if (i >= n || hexval(s[i]) < 0)
				return false;
			cp = cp * 16 + (uint32_t)hexval(s[i]);
		}
		if (cp > 0x10ffff)
			return false;
		sink_utf8(k, cp);
	}
	return true;
}

uint8_t *pw_own(struct walker *w, size_t n)
{
	struct owned *o;

	if (n > w->owned_left || n > w->lim->max_string) {
		w->out->limits_hit |= PLIM_STRING;
		return NULL;
	}
	if (!(o = malloc(sizeof(*o) + n + 1))) {
		w->oom = true;
		return NULL;
	}
	w->owned_left -= n;
	o->next = w->owned;
	w->owned = o;
	return o->data;
}

bool pw_in_root(const struct frame *f, const struct val *v)
{
	return f->src == IN_ROOT && !(v->bits & VB_OWNED);
}

/* The outer offset findings inside v's bytes are reported at. */
size_t pw_origin(const struct frame *f, const struct val *v)
{
	if (v->bits & VB_OWNED)
		return v->src;
	return f->src != IN_ROOT ? f->src : (size_t)(v->p - f->w->root);
}

/* An escaped string decoded into walker memory; NULL if it cannot be. */
static uint8_t *decode_owned(struct frame *f, const struct val *v, bool as_text, size_t *n)
{
	struct pw_out k = { .cap = v->enc == E_REPR && !as_text ? v->n : 2 * v->n };
	bool ok;

	if (!(k.out = pw_own(f->w, k.cap)))
		return NULL;
	ok = v->enc == E_REPR ? pw_dec_repr(v->p, v->n, &k, as_text) : pw_dec_rue(v->p, v->n, &k);
	*n = k.len;
	return ok ? k.out : NULL;
}

/* Decodes UTF-8 in place to latin-1; false (s untouched) if a code point
 * is > 0xff or the text is not UTF-8. */
bool pw_utf8_to_latin1(uint8_t *s, size_t n, size_t *out)
{
	size_t j = 0;

	for (size_t i = 0; i < n; i++)
		if (s[i] >= 0x80 &&
		    (s[i] < 0xc2 || s[i] > 0xc3 || i + 1 >= n || (s[++i] & 0xc0) != 0x80))
			return false;
	for (size_t i = 0; i < n; j++) {
		if (s[i] < 0x80) {
			s[j] = s[i++];
		} else {
			s[j] = (uint8_t)((s[i] & 0x1f) << 6 | (s[i + 1] & 0x3f));
			i += 2;
		}
	}
	*out = j;
	return true;
}

struct val pw_bytes_val(const struct frame *f, const struct val *from, const uint8_t *p, size_t n,
			bool owned)
{
	struct val v = { .kind = V_BYTES, .fi = -1, .p = p, .n = n };

	if (owned || (from->bits & VB_OWNED)) {
		v.bits = VB_OWNED;
		v.src = pw_origin(f, from);
	}
	return v;
}

/* The bytes a loader or io.BytesIO gets from v; false if not bytes-like.
 * A py2 str (STRING) is its decoded bytes; a UNICODE str its latin-1
 * encoding where that exists, else UTF-8. */
bool pw_val_bytes(struct frame *f, const struct val *v, struct val *out)
{
	uint8_t *d;
	size_t n;

	if (v->kind == V_BYTES || (v->kind == V_STR && v->enc == E_RAW)) {
		*out = pw_bytes_val(f, v, v->p, v->n, false);
		return true;
	}
	if (v->kind != V_STR || !(d = decode_owned(f, v, false, &n)))
		return false;
	if (v->enc == E_RUE)
		(void)pw_utf8_to_latin1(d, n, &n); /* on failure d is untouched */
	*out = pw_bytes_val(f, v, d, n, true);
	return true;
}

/* A str value as UTF-8 text (decoded if escaped); false if not a str. */
bool pw_val_text(struct frame *f, const struct val *v, const uint8_t **p, size_t *n)
{
	if (v->kind != V_STR)
		return false;
	if (v->enc == E_RAW) {
		*p = v->p;
		*n = v->n;
		return true;
	}
	return (*p = decode_owned(f, v, true, n)) != NULL;
}

/* A (short) str decoded into buf for names and keys; a result of cap
 * bytes means it was cut. false where the escapes are bad. */
bool pw_name_text(const struct val *v, uint8_t *buf, size_t cap, const uint8_t **p, size_t *n)
{
	struct pw_out k = { .out = buf, .cap = cap };
	bool ok;

	if (v->enc == E_RAW) {
		*p = v->p;
		*n = v->n;
		return true;
	}
	ok = v->enc == E_REPR ? pw_dec_repr(v->p, v->n, &k, true) : pw_dec_rue(v->p, v->n, &k);
	*p = buf;
	*n = k.full ? cap : k.len;
	return ok;
}

bool pw_text_is(const uint8_t *p, size_t n, const char *s)
{
	return n == strlen(s) && !memcmp(p, s, n);
}

/* _codecs.encode's encoding argument, as Python normalizes aliases. */
uint16_t pw_codec_bits(const struct val *v)
{
	static const char *const latin1[] = { "latin_1",    "latin1",     "latin", "l1",
					      "iso8859_1",  "iso_8859_1", "8859",  "cp819",
					      "iso_ir_100", NULL };
	static const char *const utf8[] = { "utf_8", "utf8", "u8", "utf", "cp65001", NULL };
	uint8_t buf[24];
	const uint8_t *p;
	size_t n;

	if (v->kind != V_STR || !pw_name_text(v, buf, sizeof(buf), &p, &n) || n >= sizeof(buf))
		return 0;
	char norm[sizeof(buf)];
	for (size_t i = 0; i < n; i++)
		norm[i] = p[i] == '-' || p[i] == ' ' ?
				  '_' :
				  (char)(p[i] | (p[i] >= 'A' && p[i] <= 'Z' ? 0x20 : 0));
	norm[n] = 0;
	for (const char *const *a = latin1; *a; a++)
		if (!strcmp(norm, *a))
			return VB_LATIN1;
	for (const char *const *a = utf8; *a; a++)
		if (!strcmp(norm, *a))
			return VB_UTF8;
	return 0;
}
