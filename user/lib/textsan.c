/* UTF-8 validation and escaping for the sinks. */
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "textsan.h"

/* Length of the valid UTF-8 sequence at s (1-4), or 0 if it is invalid
 * (overlong, surrogate, > U+10FFFF, or cut short). */
static size_t utf8_seq(const unsigned char *s, size_t n)
{
	uint32_t cp;
	size_t len;

	if (s[0] < 0x80)
		return 1;
	if (s[0] >= 0xc2 && s[0] <= 0xdf)
		len = 2, cp = s[0] & 0x1f;
	else if (s[0] >= 0xe0 && s[0] <= 0xef)
		len = 3, cp = s[0] & 0x0f;
	else if (s[0] >= 0xf0 && s[0] <= 0xf4)
		len = 4, cp = s[0] & 0x07;
	else
		return 0;
	if (n < len)
		return 0;
	for (size_t i = 1; i < len; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = (cp << 6) | (s[i] & 0x3f);
	}
	if ((len == 3 && cp < 0x800) || (len == 4 && (cp < 0x10000 || cp > 0x10ffff)) ||
	    (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	return len;
}

bool utf8_sanitize(const char *src, size_t srclen, char *out, size_t outlen)
{
	const unsigned char *s = (const unsigned char *)src;
	static const char repl[] = "\xef\xbf\xbd";
	bool changed = false;
	size_t i = 0, o = 0;

	if (outlen == 0)
		return srclen > 0;
	while (i < srclen && s[i]) {
		size_t n = utf8_seq(s + i, srclen - i);
		const char *from = n ? src + i : repl;
		size_t m = n ? n : 3;

		if (o + m >= outlen) {
			changed = true;
			break;
		}
		memcpy(out + o, from, m);
		o += m;
		i += n ? n : 1;
		changed |= !n;
	}
	out[o] = 0;
	return changed;
}

/* The code point of a valid sequence of n > 1 bytes (see utf8_seq). */
static uint32_t utf8_cp(const unsigned char *s, size_t n)
{
	uint32_t cp = s[0] & (n == 2 ? 0x1f : n == 3 ? 0x0f : 0x07);

	for (size_t i = 1; i < n; i++)
		cp = (cp << 6) | (s[i] & 0x3f);
	return cp;
}

/* Invisible characters that move or break a line on a terminal: C1
 * controls, the bidirectional embeddings, overrides, isolates and marks
 * (a path could show its text in another order), and the Unicode line
 * and paragraph separators. */
static bool cp_hostile(uint32_t cp)
{
	return (cp >= 0x80 && cp <= 0x9f) || cp == 0x061c || cp == 0x200e || cp == 0x200f ||
	       (cp >= 0x2028 && cp <= 0x202e) || (cp >= 0x2066 && cp <= 0x2069);
}

bool text_escape(const char *src, size_t srclen, char *out, size_t outlen)
{
	const unsigned char *s = (const unsigned char *)src;
	bool changed = false;
	size_t i = 0, o = 0;

	if (outlen == 0)
		return srclen > 0;
	while (i < srclen && s[i]) {
		char tmp[16];
		size_t n = utf8_seq(s + i, srclen - i), m;

		if (n == 1 && s[i] >= 0x20 && s[i] != 0x7f && s[i] != '\\') {
			tmp[0] = (char)s[i];
			m = 1;
		} else if (n > 1 && cp_hostile(utf8_cp(s + i, n))) {
			changed = true;
			m = (size_t)snprintf(tmp, sizeof(tmp), "\\u{%04X}", utf8_cp(s + i, n));
		} else if (n > 1) {
			memcpy(tmp, s + i, n);
			m = n;
		} else {
			n = 1;
			changed = true;
			if (s[i] == '\n')
				m = (size_t)snprintf(tmp, sizeof(tmp), "\\n");
			else if (s[i] == '\t')
				m = (size_t)snprintf(tmp, sizeof(tmp), "\\t");
			else if (s[i] == '\\')
				m = (size_t)snprintf(tmp, sizeof(tmp), "\\\\");
			else
				m = (size_t)snprintf(tmp, sizeof(tmp), "\\x%02x", s[i]);
		}
		if (o + m >= outlen) {
			changed = true;
			break;
		}
		memcpy(out + o, tmp, m);
		o += m;
		i += n;
	}
	out[o] = 0;
	return changed;
}

size_t text_put(char *out, size_t len, size_t off, const char *s)
{
	/* 4 bytes per byte at most: \xNN, or \u{XXXX} for 2 or 3 */
	size_t n = s ? strlen(s) : 0, cap = 4 * n + 1;
	char small[1024], *esc = cap <= sizeof(small) ? small : malloc(cap);
	int w;

	if (!esc || off >= len) {
		if (esc != small)
			free(esc);
		return off;
	}
	text_escape(s ? s : "", n, esc, cap);
	w = snprintf(out + off, len - off, "%s", esc);
	if (esc != small)
		free(esc);
	if (w > 0 && (size_t)w >= len - off) {
		/* cut: never in the middle of a UTF-8 sequence */
		size_t end = len - 1, k = end;

		while (k > off && ((unsigned char)out[k - 1] & 0xc0) == 0x80)
			k--;
		if (k > off && (unsigned char)out[k - 1] >= 0xc0 &&
		    utf8_seq((const unsigned char *)out + k - 1, end - (k - 1)) == 0)
			out[k - 1] = 0;
	}
	return off + (w > 0 ? (size_t)w : 0);
}

size_t text_putf(char *out, size_t len, size_t off, const char *fmt, ...)
{
	va_list ap;
	int w;

	if (off >= len)
		return off;
	va_start(ap, fmt);
	w = vsnprintf(out + off, len - off, fmt, ap);
	va_end(ap);
	return off + (w > 0 ? (size_t)w : 0);
}

/* Strict UTF-8: no overlongs, surrogates or code points past U+10FFFF. */
bool utf8_valid(const uint8_t *s, size_t n, size_t *bad)
{
	size_t i = 0;

	while (i < n) {
		uint8_t c = s[i];
		size_t k;
		uint32_t cp, min;

		if (c < 0x80) {
			i++;
			continue;
		}
		if ((c & 0xe0) == 0xc0) {
			k = 1;
			cp = c & 0x1f;
			min = 0x80;
		} else if ((c & 0xf0) == 0xe0) {
			k = 2;
			cp = c & 0x0f;
			min = 0x800;
		} else if ((c & 0xf8) == 0xf0) {
			k = 3;
			cp = c & 0x07;
			min = 0x10000;
		} else {
			goto bad_seq;
		}
		if (n - i <= k)
			goto bad_seq;
		for (size_t j = 1; j <= k; j++) {
			if ((s[i + j] & 0xc0) != 0x80)
				goto bad_seq;
			cp = cp << 6 | (s[i + j] & 0x3f);
		}
		if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
			goto bad_seq;
		i += k + 1;
	}
	return true;
bad_seq:
	if (bad)
		*bad = i;
	return false;
}
