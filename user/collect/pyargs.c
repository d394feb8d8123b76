/*
 * A Python audit record's arguments as text. The record is ours, but its
 * bytes are the watched program's: a str may hold NULs, lone surrogates
 * or bidirectional overrides, a bytes object anything. What comes out is
 * valid UTF-8 without NULs; a str keeps its characters (the sinks escape
 * for their own format), bytes keep printable UTF-8 and escape the rest
 * as lib/textsan does (\xNN, \n, \\).
 *
 * Threat model: docs/threat-model.md §1.3 (trust boundaries).
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "pyargs.h"
#include "lib/textsan.h"

/* Appends code point cp as UTF-8 (U+FFFD for NUL, a surrogate or past
 * U+10FFFF); false when it does not fit. */
static bool put_cp(char *out, size_t cap, size_t *o, uint32_t cp)
{
	char b[4];
	size_t n;

	if (!cp || (cp >= 0xd800 && cp <= 0xdfff) || cp > 0x10ffff)
		cp = 0xfffd;
	if (cp < 0x80) {
		b[0] = (char)cp;
		n = 1;
	} else if (cp < 0x800) {
		b[0] = (char)(0xc0 | (cp >> 6));
		b[1] = (char)(0x80 | (cp & 0x3f));
		n = 2;
	} else if (cp < 0x10000) {
		b[0] = (char)(0xe0 | (cp >> 12));
		b[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
		b[2] = (char)(0x80 | (cp & 0x3f));
		n = 3;
	} else {
		b[0] = (char)(0xf0 | (cp >> 18));
		b[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
		b[2] = (char)(0x80 | ((cp >> 6) & 0x3f));
		b[3] = (char)(0x80 | (cp & 0x3f));
		n = 4;
	}
	if (*o + n >= cap)
		return false;
	memcpy(out + *o, b, n);
	*o += n;
	out[*o] = 0;
	return true;
}

/* Text that should be UTF-8, between NULs: checked (bytes) or sanitized
 * (a str: a bad sequence becomes U+FFFD). A NUL is "\x00" in bytes, U+FFFD
 * in a str. Returns whether anything was replaced. */
static bool put_segments(char *out, size_t cap, size_t *o, const char *s, size_t n, bool bytes)
{
	bool changed = false;
	size_t i = 0;

	while (i < n) {
		size_t seg = strnlen(s + i, n - i);

		if (seg) {
			if (bytes)
				changed |= text_escape(s + i, seg, out + *o, cap - *o);
			else
				changed |= utf8_sanitize(s + i, seg, out + *o, cap - *o);
			*o += strlen(out + *o);
		}
		i += seg;
		if (i < n) { /* a NUL */
			if (bytes) {
				if (*o + 4 < cap) {
					memcpy(out + *o, "\\x00", 5);
					*o += 4;
				}
			} else {
				put_cp(out, cap, o, 0);
			}
			changed = true;
			i++;
		}
	}
	return changed;
}

static uint32_t le(const unsigned char *p, size_t n)
{
	uint32_t v = 0;

	for (size_t i = n; i-- > 0;)
		v = (v << 8) | p[i];
	return v;
}

/* Code points of `unit` bytes each (1: Latin-1, 2: UCS-2, 4: UCS-4). */
static void put_units(char *out, size_t cap, size_t *o, const unsigned char *s, size_t n,
		      size_t unit)
{
	for (size_t i = 0; i + unit <= n; i += unit)
		if (!put_cp(out, cap, o, le(s + i, unit)))
			break;
}

/* A list's items, each NUL-ended, joined with single spaces. Returns the
 * items seen; *open set when the last one has no NUL (it was cut). */
static uint32_t put_items(char *out, size_t cap, size_t *o, const char *s, size_t n, bool *open)
{
	uint32_t items = 0;
	size_t i = 0;

	*open = false;
	while (i < n) {
		size_t l = strnlen(s + i, n - i);

		if (items && *o + 1 < cap) {
			out[(*o)++] = ' ';
			out[*o] = 0;
		}
		text_escape(s + i, l, out + *o, cap - *o);
		*o += strlen(out + *o);
		items++;
		*open = i + l == n;
		i += l + 1;
	}
	return items;
}

static uint32_t utf8_chars(const unsigned char *s, size_t n)
{
	uint32_t c = 0;

	for (size_t i = 0; i < n; i++)
		c += (s[i] & 0xc0) != 0x80;
	return c;
}

static void decode_one(struct py_args *a, size_t i, const struct mlw_python *rec,
		       const unsigned char *s, size_t len)
{
	char *out = a->text[i];
	size_t o = 0, cap = sizeof(a->text[i]), raw = len;
	uint32_t size = rec->size[i];
	bool open;

	out[0] = 0;
	if (len > MLW_PY_ARG_MAX) { /* the kernel keeps no more: read no more */
		len = MLW_PY_ARG_MAX;
		a->cut[i] = true;
	}
	switch (a->enc[i]) {
	case MLW_PY_ENC_NONE:
		a->bad[i] = raw != 0;
		break;
	case MLW_PY_ENC_UTF8:
		a->bad[i] = put_segments(out, cap, &o, (const char *)s, len, false);
		a->cut[i] |= utf8_chars(s, len) < size;
		break;
	case MLW_PY_ENC_LATIN1:
		put_units(out, cap, &o, s, len, 1);
		a->cut[i] |= len < size;
		break;
	case MLW_PY_ENC_UCS2:
	case MLW_PY_ENC_UCS4: {
		size_t unit = a->enc[i] == MLW_PY_ENC_UCS2 ? 2 : 4;

		put_units(out, cap, &o, s, len, unit);
		a->cut[i] |= len / unit < size || len % unit;
		break;
	}
	case MLW_PY_ENC_BYTES:
		put_segments(out, cap, &o, (const char *)s, len, true);
		a->cut[i] |= len < size;
		break;
	case MLW_PY_ENC_INT:
		if (len == 8) {
			uint64_t v = (uint64_t)le(s, 4) | (uint64_t)le(s + 4, 4) << 32;

			snprintf(out, cap, "%" PRId64, (int64_t)v);
		} else {
			a->bad[i] = true;
		}
		break;
	case MLW_PY_ENC_SEQ:
		a->items[i] = put_items(out, cap, &o, (const char *)s, len, &open);
		a->cut[i] |= open || a->items[i] < size;
		break;
	case MLW_PY_ENC_FAULT:
	default:
		a->enc[i] = MLW_PY_ENC_FAULT;
		a->bad[i] = true;
		break;
	}
	a->arg[i] = out;
}

int py_args_decode(const struct mlw_python *rec, size_t size, struct py_args *out, const char **why)
{
	const unsigned char *data = (const unsigned char *)rec->data;
	size_t avail, off = 0;
	uint64_t total = 0;

	if (size < sizeof(*rec)) {
		*why = "python record shorter than its struct";
		return -1;
	}
	avail = size - sizeof(*rec);
	if (rec->nargs > MLW_PY_ARGS) {
		*why = "python record has more arguments than MLW_PY_ARGS";
		return -1;
	}
	for (size_t i = 0; i < rec->nargs; i++)
		total += rec->len[i];
	if (total > avail) {
		*why = "python argument lengths exceed its record";
		return -1;
	}
	memset(out, 0, offsetof(struct py_args, text));
	out->event = rec->event;
	out->interp = rec->interp;
	out->pyflags = rec->pyflags;
	out->n = rec->nargs;
	for (size_t i = 0; i < out->n; i++) {
		out->enc[i] = rec->enc[i];
		decode_one(out, i, rec, data + off, rec->len[i]);
		off += rec->len[i];
		out->truncated |= out->cut[i];
		out->fault |= out->bad[i] || out->enc[i] == MLW_PY_ENC_FAULT;
	}
	out->truncated |= (rec->pyflags & MLW_PY_F_TRUNC) != 0;
	out->fault |= (rec->pyflags & MLW_PY_F_FAULT) != 0;
	return 0;
}
