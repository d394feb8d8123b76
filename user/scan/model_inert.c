/* Can this file run code when a loader reads it? (see model_inert.h) */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "model_inert.h"
#include "lib/budget.h"
#include "lib/textsan.h"
#include "lib/zinflate.h"
#include "scan/formats/gguf.h"
#include "scan/formats/onnx.h"
#include "scan/formats/safetensors.h"
#include "scan/formats/tarread.h"
#include "scan/pickle/pickle_scan.h"

/* The end of central directory record sits in a zip's last 64 KiB + 22. */
#define ZIP_EOCD_SEARCH (65535u + 22u)

static void why(struct inert_verdict *v, const char *fmt, const char *arg)
{
	snprintf(v->why, sizeof(v->why), fmt, arg ? arg : "");
}

/* PNG (with a checked IHDR), JPEG, GIF, WebP. */
static const char *image_kind(const uint8_t *b, size_t n)
{
	static const uint8_t png[8] = { 0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n' };

	if (n >= 33 && memcmp(b, png, 8) == 0 && memcmp(b + 8, "\0\0\0\x0dIHDR", 8) == 0) {
		uint32_t crc = (uint32_t)b[29] << 24 | (uint32_t)b[30] << 16 |
			       (uint32_t)b[31] << 8 | b[32];

		return crc32(crc32(0, NULL, 0), b + 12, 17) == crc ? "image" : NULL;
	}
	if (n >= 4 && b[0] == 0xff && b[1] == 0xd8 && b[2] == 0xff &&
	    (b[3] == 0xe0 || b[3] == 0xe1 || b[3] == 0xdb || b[3] == 0xee))
		return "image";
	if (n >= 6 && (memcmp(b, "GIF87a", 6) == 0 || memcmp(b, "GIF89a", 6) == 0))
		return "image";
	if (n >= 12 && memcmp(b, "RIFF", 4) == 0 && memcmp(b + 8, "WEBP", 4) == 0)
		return "image";
	return NULL;
}

/* Printable UTF-8 prose or markup, not an encoding of bytes: base64 or hex
 * text is what a custom loader decodes and unpickles. */
static bool plain_text(const uint8_t *b, size_t n)
{
	size_t other = 0;

	if (!n || !utf8_valid(b, n, NULL))
		return false;
	for (size_t i = 0; i < n; i++) {
		uint8_t c = b[i];

		if (c < 0x20 && c != '\t' && c != '\n' && c != '\r' && c != '\f' && c != '\v')
			return false;
		if (c == 0x7f)
			return false;
		if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
		      c == '+' || c == '/' || c == '=' || c == '-' || c == '_' || c == ' ' ||
		      c == '\n' || c == '\r' || c == '\t'))
			other++;
	}
	return other > 0;
}

/* A stream that zlib would inflate (joblib picks zlib for any file that
 * starts with 0x78): its first 64 KiB decode without an error. A streaming
 * reader hands on what it inflated before an error (a bad checksum is only
 * found at the end); a need for a preset dictionary stops every reader
 * before its first byte. Unsure (out of memory, a read error): yes. */
static bool zlib_stream(const struct byte_src *s)
{
	struct zinflate_result z;
	bool ok;

	if (zinflate_src(s, 0, 65536, ZINF_ZLIB, 1u << 20, &z))
		return true;
	ok = z.len > 0 || z.zerr == 0 || z.zerr == Z_BUF_ERROR;
	zinflate_free(&z);
	return ok;
}

/* A compressor's magic that a loader picks the decompressor by (joblib by
 * the first bytes, pandas and tarfile by magic or name): what comes out
 * is a pickle or a tar again, and this check did not see it. */
static const char *compressed(const struct byte_src *s, const uint8_t *b, size_t n)
{
	static const struct {
		const char *magic;
		size_t len;
		const char *what;
	} m[] = {
		{ "\x1f\x8b", 2, "gzip" },
		{ "ZF", 2, "joblib's old zlib" },
		{ "BZ", 2, "bzip2" },
		{ "\xfd"
		  "7zXZ\0",
		  6, "xz" },
		{ "\x5d\0", 2, "lzma" },
		{ "\x04\x22\x4d\x18", 4, "lz4" },
		{ "\x28\xb5\x2f\xfd", 4, "zstd" },
	};

	for (size_t i = 0; i < sizeof(m) / sizeof(m[0]); i++)
		if (n >= m[i].len && memcmp(b, m[i].magic, m[i].len) == 0)
			return m[i].what;
	if (n >= 2 && b[0] == 0x78 && zlib_stream(s))
		return "zlib";
	return NULL;
}

/* What a loader other than the format's own could find in the file: a tar
 * header or a compressor's stream at its start, a zip directory at its end
 * (zipfile, Keras), an HDF5 superblock where the HDF5 library looks (0,
 * 512, 1024, ...). */
static const char *foreign_container(const struct byte_src *s, const uint8_t *head, size_t hn)
{
	static const uint8_t hdf5[8] = { 0x89, 'H', 'D', 'F', '\r', '\n', 0x1a, '\n' };
	uint64_t from = s->size > ZIP_EOCD_SEARCH ? s->size - ZIP_EOCD_SEARCH : 0;
	size_t n = (size_t)(s->size - from);
	uint8_t *tail, sig[8];
	const char *found = NULL;
	ssize_t got;

	/* Python's tarfile needs no magic, only a checksum that adds up:
	 * torch.load reads a non-zip file as a tar before it unpickles it */
	if (tar_probe(head, hn))
		return "a tar header at its start";
	if ((found = compressed(s, head, hn)))
		return found[0] == 'z' && found[1] == 'l' ? "a zlib stream at its start" :
							    "a compressor's magic at its start";
	tail = malloc(n ? n : 1);
	got = tail ? bsrc_read(s, from, tail, n) : -ENOMEM;
	if (got < 0)
		found = "its end could not be read";
	else if (memmem(tail, (size_t)got, "PK\x05\x06", 4) ||
		 memmem(tail, (size_t)got, "PK\x06\x06", 4))
		found = "a zip directory at its end";
	free(tail);
	for (uint64_t off = 0; !found && off + sizeof(sig) <= s->size; off = off ? off * 2 : 512)
		if (bsrc_read(s, off, sig, sizeof(sig)) == (ssize_t)sizeof(sig) &&
		    memcmp(sig, hdf5, sizeof(sig)) == 0)
			found = "an HDF5 superblock inside";
	return found;
}

/* Text all the way through, not only in its first bytes. */
static bool text_throughout(const struct byte_src *s, struct inert_verdict *v)
{
	uint8_t *all = NULL;
	bool ok;

	if (s->size > INERT_TEXT_MAX) {
		why(v, "it is too large a text to check here", NULL);
		return false;
	}
	if (bsrc_load(s, 0, (size_t)s->size, &all)) {
		why(v, "could not read it whole", NULL);
		return false;
	}
	ok = plain_text(all, (size_t)s->size);
	free(all);
	if (!ok)
		why(v, "it is text only at its start", NULL);
	return ok;
}

/* Walked as the unpickler would read it: true when it imports nothing
 * before the walk ends inside what was read. text: the unpickler must
 * refuse the very first opcode. */
static bool pickle_inert(const struct byte_src *s, bool text, struct inert_verdict *v)
{
	size_t n = s->size < INERT_PICKLE_PROBE ? (size_t)s->size : INERT_PICKLE_PROBE;
	struct pickle_limits lim = pickle_default_limits;
	struct pickle_result r;
	uint8_t *buf = NULL;
	bool ok;

	if (bsrc_load(s, 0, n, &buf)) {
		why(v, "could not read its first bytes", NULL);
		return false;
	}
	lim.budget = s->budget;
	if (pickle_scan_stream(buf, n, NULL, &lim, &r)) {
		free(buf);
		pickle_result_free(&r);
		why(v, "out of memory walking it", NULL);
		return false;
	}
	ok = !r.nfindings && !r.findings_dropped && !r.limits_hit && !r.nested;
	if (!ok)
		why(v, "walked as a pickle, it imports something", NULL);
	/* a walk that ran out of bytes has not seen the rest of the stream */
	if (ok && n < s->size && r.nerrors &&
	    (r.errors[0].kind == PERR_TRUNCATED || r.errors[0].kind == PERR_NO_STOP)) {
		ok = false;
		why(v, "walked as a pickle, it runs past the bytes read", NULL);
	}
	if (ok && !r.nerrors && !r.pickles) {
		ok = false;
		why(v, "the pickle walk did not end", NULL);
	}
	if (ok && text && !(r.nerrors && r.errors[0].offset == 0 && r.errors[0].depth == 0)) {
		ok = false;
		why(v, "the unpickler would not refuse its first opcode", NULL);
	}
	pickle_result_free(&r);
	free(buf);
	return ok;
}

static int check(const struct byte_src *s, const char *name_hint, struct inert_verdict *v)
{
	uint8_t head[MODELFMT_PROBE_LEN];
	char err[128] = "";
	ssize_t got;
	bool text = false;
	const char *foreign;

	memset(v, 0, sizeof(*v));
	if (s->size == 0) {
		v->inert = true;
		v->kind = "empty";
		return 0;
	}
	got = bsrc_read(s, 0, head, sizeof(head));
	if (got <= 0) {
		why(v, "its first bytes could not be read", NULL);
		return got < 0 ? (int)got : -EIO;
	}
	v->format = model_format_detect(head, (size_t)got, name_hint);
	switch (v->format) {
	case MF_SAFETENSORS: {
		struct st_info si;
		uint64_t hl = 0;

		for (int i = 7; i >= 0; i--)
			hl = hl << 8 | head[i];
		if (hl > INERT_HEADER_MAX) {
			why(v, "its safetensors header is too large to check here", NULL);
			return 0;
		}
		if (safetensors_check(s, &si, err, sizeof(err))) {
			why(v, "not a valid safetensors file: %s", err);
			return 0;
		}
		v->kind = "safetensors";
		break;
	}
	case MF_ONNX:
		if (onnx_check(s, err, sizeof(err))) {
			why(v, "not a valid ONNX model: %s", err);
			return 0;
		}
		v->kind = "onnx";
		break;
	case MF_GGUF: {
		struct gguf_info gi;
		uint64_t used = 0;
		struct byte_src counted = *s;

		counted.bytes_read = &used;
		if (gguf_scan(&counted, &gi, err, sizeof(err))) {
			why(v, "not a valid GGUF file: %s", err);
			return 0;
		}
		if (gi.templates) {
			why(v, "its chat template runs on the first request", NULL);
			return 0;
		}
		if (used > INERT_HEADER_MAX) {
			why(v, "its GGUF metadata is too large to check here", NULL);
			return 0;
		}
		v->kind = "gguf";
		break;
	}
	case MF_UNKNOWN:
		if ((v->kind = image_kind(head, (size_t)got)))
			break;
		if (plain_text(head, (size_t)got)) {
			if (!text_throughout(s, v))
				return 0;
			v->kind = "text";
			text = true;
			break;
		}
		why(v, "its bytes are no format known to carry no code", NULL);
		return 0;
	default:
		why(v, "its format (%s) can run code", model_format_name(v->format));
		return 0;
	}
	if (!pickle_inert(s, text, v)) {
		v->kind = NULL;
		return 0;
	}
	if ((foreign = foreign_container(s, head, (size_t)got))) {
		why(v, "it holds %s", foreign);
		v->kind = NULL;
		return 0;
	}
	v->inert = true;
	return 0;
}

int model_inert_check(const struct byte_src *s, const char *name_hint, struct inert_verdict *v)
{
	int rc = check(s, name_hint, v);

	/* a part cut short by the deadline proves nothing */
	if (s->budget && (s->budget->spent & BUDGET_TIME)) {
		v->inert = false;
		v->kind = NULL;
		why(v, "its check ran out of time", NULL);
	}
	return rc;
}
