/* safetensors header validation, to the rules of the safetensors library:
 * a u64 LE length N (at most the library's limit, inside the file), N
 * bytes of UTF-8 JSON: an object whose keys are tensor names, each mapping
 * to exactly {dtype, shape, data_offsets}, plus an optional "__metadata__"
 * object of strings. Sorted by offsets, the tensors must tile the data
 * section [0, size - 8 - N) with no gap and no overlap, each holding
 * exactly prod(shape) * dtype size bytes.
 *
 * cJSON is lenient where serde_json is not (raw control characters, any
 * byte below 0x21 as whitespace, 1.0 or 1e3 as an integer, leading zeros),
 * so a lexical pass checks those first; it also counts the values, which
 * caps what cJSON will allocate for a hostile header. */
#include "safetensors.h"
#include "lib/textsan.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* JSON values allowed in one header: far above real files (a tensor costs
 * about ten), low enough that cJSON's tree stays small. */
#define ST_MAX_VALUES (2u << 20)
/* Integers beyond 2^53 do not survive cJSON's double; no real file has one. */
#define ST_MAX_INT 9007199254740992.0
#define ST_QUOTE_MAX 64

struct st_dtype {
	const char *name;
	unsigned bits;
};

/* The library's Dtype enum (0.6), with each element's size in bits. */
static const struct st_dtype st_dtypes[] = {
	{ "BOOL", 8 }, { "F4", 4 },      { "F6_E2M3", 6 }, { "F6_E3M2", 6 }, { "U8", 8 },
	{ "I8", 8 },   { "F8_E5M2", 8 }, { "F8_E4M3", 8 }, { "F8_E8M0", 8 }, { "I16", 16 },
	{ "U16", 16 }, { "F16", 16 },    { "BF16", 16 },   { "I32", 32 },    { "U32", 32 },
	{ "F32", 32 }, { "C64", 64 },    { "F64", 64 },    { "I64", 64 },    { "U64", 64 },
};

struct st_tensor {
	const char *name;
	uint64_t begin, end;
};

static int st_fail(char *err, size_t errlen, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int st_fail(char *err, size_t errlen, const char *fmt, ...)
{
	char msg[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	snprintf(err, errlen, "safetensors: %s", msg);
	return -EINVAL;
}

/* A name from the file, fit for a message: printable ASCII, cut short. */
static const char *st_quote(char *out, size_t outlen, const char *s)
{
	size_t o = 0;

	for (size_t i = 0; s[i] && o + 5 < outlen; i++) {
		unsigned char c = (unsigned char)s[i];

		if (i >= ST_QUOTE_MAX) {
			memcpy(out + o, "...", 3);
			o += 3;
			break;
		}
		if (c >= 0x20 && c < 0x7f && c != '\\' && c != '\'') {
			out[o++] = (char)c;
		} else {
			snprintf(out + o, outlen - o, "\\x%02x", c);
			o += 4;
		}
	}
	out[o] = 0;
	return out;
}

/* The lexical pass (see the top comment). Returns 0 or -EINVAL. */
static int st_lex(const char *t, size_t n, char *err, size_t errlen)
{
	size_t values = 0;

	for (size_t i = 0; i < n;) {
		unsigned char c = (unsigned char)t[i];

		if (c == '"') {
			size_t start = i++;

			for (;;) {
				if (i >= n)
					return st_fail(err, errlen,
						       "unterminated string at byte %zu",
						       8 + start);
				c = (unsigned char)t[i];
				if (c == '"')
					break;
				if (c < 0x20)
					return st_fail(err, errlen,
						       "control character in a string at byte %zu",
						       8 + i);
				i += c == '\\' ? 2 : 1;
			}
			i++;
			values++;
		} else if (c == '-' || (c >= '0' && c <= '9')) {
			size_t start = i;

			while (i < n && (t[i] == '-' || t[i] == '+' || t[i] == '.' || t[i] == 'e' ||
					 t[i] == 'E' || (t[i] >= '0' && t[i] <= '9')))
				i++;
			for (size_t j = start; j < i; j++)
				if (t[j] < '0' || t[j] > '9' ||
				    (j == start && t[j] == '0' && i - start > 1))
					return st_fail(err, errlen,
						       "number '%.*s' at byte %zu is not a "
						       "non-negative integer",
						       (int)(i - start > 24 ? 24 : i - start),
						       t + start, 8 + start);
			values++;
		} else {
			if (c < 0x20 && c != ' ' && c != '\t' && c != '\n' && c != '\r')
				return st_fail(err, errlen, "control character at byte %zu", 8 + i);
			if (c == '{' || c == '[' || c == 't' || c == 'f' || c == 'n')
				values++;
			i++;
		}
		if (values > ST_MAX_VALUES)
			return st_fail(err, errlen, "header has more than %u JSON values",
				       ST_MAX_VALUES);
	}
	return 0;
}

static bool st_uint(const cJSON *v, uint64_t *out)
{
	if (!cJSON_IsNumber(v) || !(v->valuedouble >= 0) || v->valuedouble > ST_MAX_INT)
		return false;
	*out = (uint64_t)v->valuedouble;
	return (double)*out == v->valuedouble;
}

static int st_cmp_name(const void *a, const void *b)
{
	return strcmp(((const struct st_tensor *)a)->name, ((const struct st_tensor *)b)->name);
}

static int st_cmp_off(const void *a, const void *b)
{
	const struct st_tensor *x = a, *y = b;

	if (x->begin != y->begin)
		return x->begin < y->begin ? -1 : 1;
	if (x->end != y->end)
		return x->end < y->end ? -1 : 1;
	return 0;
}

/* One tensor entry: checks its fields and fills t's offsets. */
static int st_tensor(const cJSON *o, struct st_tensor *t, char *err, size_t errlen)
{
	const cJSON *dtype = NULL, *shape = NULL, *offs = NULL, *f;
	char q[ST_QUOTE_MAX * 4 + 8], q2[ST_QUOTE_MAX * 4 + 8];
	const struct st_dtype *dt = NULL;
	uint64_t nel = 1, bits;
	bool overflow = false;

	st_quote(q, sizeof(q), t->name);
	if (!cJSON_IsObject(o))
		return st_fail(err, errlen, "tensor '%s' is not an object", q);
	cJSON_ArrayForEach(f, o) {
		const cJSON **slot = !strcmp(f->string, "dtype")        ? &dtype :
				     !strcmp(f->string, "shape")        ? &shape :
				     !strcmp(f->string, "data_offsets") ? &offs :
									  NULL;

		if (!slot)
			return st_fail(err, errlen, "tensor '%s': unknown key '%s'", q,
				       st_quote(q2, sizeof(q2), f->string));
		if (*slot)
			return st_fail(err, errlen, "tensor '%s': duplicate key '%s'", q,
				       f->string);
		*slot = f;
	}
	if (!dtype || !shape || !offs)
		return st_fail(err, errlen, "tensor '%s': missing '%s'", q,
			       !dtype ? "dtype" :
			       !shape ? "shape" :
					"data_offsets");
	if (!cJSON_IsString(dtype))
		return st_fail(err, errlen, "tensor '%s': dtype is not a string", q);
	for (size_t i = 0; i < sizeof(st_dtypes) / sizeof(st_dtypes[0]); i++)
		if (!strcmp(dtype->valuestring, st_dtypes[i].name))
			dt = &st_dtypes[i];
	if (!dt)
		return st_fail(err, errlen, "tensor '%s': unknown dtype '%s'", q,
			       st_quote(q2, sizeof(q2), dtype->valuestring));
	if (!cJSON_IsArray(shape))
		return st_fail(err, errlen, "tensor '%s': shape is not a list", q);
	cJSON_ArrayForEach(f, shape) {
		uint64_t d;

		if (!st_uint(f, &d))
			return st_fail(err, errlen,
				       "tensor '%s': shape entry is not a non-negative "
				       "integer",
				       q);
		/* checked_mul in order, as the library folds: [2^32, 2^32, 0]
		 * overflows before the 0 is reached */
		if (d && nel > UINT64_MAX / d)
			overflow = true;
		if (!overflow)
			nel *= d;
	}
	if (!cJSON_IsArray(offs) || cJSON_GetArraySize(offs) != 2 ||
	    !st_uint(cJSON_GetArrayItem(offs, 0), &t->begin) ||
	    !st_uint(cJSON_GetArrayItem(offs, 1), &t->end))
		return st_fail(err, errlen, "tensor '%s': data_offsets is not [begin, end]", q);
	if (t->end < t->begin)
		return st_fail(err, errlen,
			       "tensor '%s': data_offsets [%llu, %llu] end before begin", q,
			       (unsigned long long)t->begin, (unsigned long long)t->end);
	if (overflow || nel > UINT64_MAX / dt->bits)
		return st_fail(err, errlen, "tensor '%s': shape overflows", q);
	bits = nel * dt->bits;
	if (bits % 8)
		return st_fail(err, errlen,
			       "tensor '%s': %llu elements of %s do not fill whole bytes", q,
			       (unsigned long long)nel, dt->name);
	if (t->end - t->begin != bits / 8)
		return st_fail(err, errlen,
			       "tensor '%s': data_offsets [%llu, %llu] hold %llu bytes, "
			       "shape and dtype need %llu",
			       q, (unsigned long long)t->begin, (unsigned long long)t->end,
			       (unsigned long long)(t->end - t->begin),
			       (unsigned long long)(bits / 8));
	return 0;
}

static int st_metadata(const cJSON *m, struct st_info *info, char *err, size_t errlen)
{
	const cJSON *f;
	char q[ST_QUOTE_MAX * 4 + 8];

	if (cJSON_IsNull(m))
		return 0; /* Option<HashMap>: null is None */
	if (!cJSON_IsObject(m))
		return st_fail(err, errlen, "__metadata__ is not an object");
	cJSON_ArrayForEach(f, m) {
		if (!cJSON_IsString(f))
			return st_fail(err, errlen, "__metadata__ value for '%s' is not a string",
				       st_quote(q, sizeof(q), f->string));
		info->metadata_keys++;
	}
	return 0;
}

int safetensors_check(const struct byte_src *s, struct st_info *info, char *err, size_t errlen)
{
	uint8_t pre[8];
	uint64_t n = 0, data;
	uint8_t *text = NULL;
	cJSON *root = NULL;
	const cJSON *c;
	const char *end = NULL;
	struct st_tensor *t = NULL;
	size_t nt = 0, cap = 0, bad;
	bool meta_seen = false;
	char q[ST_QUOTE_MAX * 4 + 8], q2[ST_QUOTE_MAX * 4 + 8];
	ssize_t got;
	int rc;

	memset(info, 0, sizeof(*info));
	if (errlen)
		err[0] = 0;
	got = bsrc_read(s, 0, pre, sizeof(pre));
	if (got < 0)
		return (int)got;
	if (got < 8)
		return st_fail(err, errlen, "file too short (size %llu)",
			       (unsigned long long)s->size);
	for (int i = 7; i >= 0; i--)
		n = n << 8 | pre[i];
	if (n > ST_MAX_HEADER)
		return st_fail(err, errlen, "header length %llu exceeds the %u limit",
			       (unsigned long long)n, ST_MAX_HEADER);
	if (n > s->size - 8)
		return st_fail(err, errlen, "header length %llu runs past end of file (size %llu)",
			       (unsigned long long)n, (unsigned long long)s->size);
	info->header_len = n;
	data = s->size - 8 - n;
	rc = bsrc_load(s, 8, (size_t)n, &text);
	if (rc)
		return rc == -ERANGE ? -EIO : rc;
	if (!utf8_valid(text, (size_t)n, &bad)) {
		rc = st_fail(err, errlen, "header is not valid UTF-8 at byte %zu", 8 + bad);
		goto out;
	}
	if ((rc = st_lex((const char *)text, (size_t)n, err, errlen)))
		goto out;
	root = cJSON_ParseWithLengthOpts((const char *)text, (size_t)n, &end, 0);
	if (!root) {
		rc = st_fail(err, errlen, "header is not valid JSON (near byte %llu)",
			     (unsigned long long)(8 + (end && end >= (char *)text ?
							       (uint64_t)(end - (char *)text) :
							       0)));
		goto out;
	}
	/* serde_json allows only whitespace after the value (the writer pads
	 * with spaces) */
	for (const char *p = end; p < (char *)text + n; p++)
		if (*p != ' ' && *p != '\t' && *p != '\n' && *p != '\r') {
			rc = st_fail(err, errlen, "text after the header object at byte %llu",
				     (unsigned long long)(8 + (uint64_t)(p - (char *)text)));
			goto out;
		}
	if (!cJSON_IsObject(root)) {
		rc = st_fail(err, errlen, "header is not a JSON object");
		goto out;
	}
	cJSON_ArrayForEach(c, root) {
		if (!strcmp(c->string, "__metadata__")) {
			if (meta_seen) {
				rc = st_fail(err, errlen, "duplicate __metadata__");
				goto out;
			}
			meta_seen = true;
			if ((rc = st_metadata(c, info, err, errlen)))
				goto out;
			continue;
		}
		if (nt == cap) {
			size_t nc = cap ? cap * 2 : 64;
			struct st_tensor *nn = realloc(t, nc * sizeof(*nn));

			if (!nn) {
				rc = -ENOMEM;
				goto out;
			}
			t = nn;
			cap = nc;
		}
		t[nt].name = c->string;
		if ((rc = st_tensor(c, &t[nt], err, errlen)))
			goto out;
		nt++;
	}
	/* the library keeps the last of a repeated name, so the first one's
	 * range is left uncovered: refused either way, said plainly here */
	if (nt > 1) {
		qsort(t, nt, sizeof(*t), st_cmp_name);
		for (size_t i = 1; i < nt; i++)
			if (!strcmp(t[i].name, t[i - 1].name)) {
				rc = st_fail(err, errlen, "duplicate tensor name '%s'",
					     st_quote(q, sizeof(q), t[i].name));
				goto out;
			}
		qsort(t, nt, sizeof(*t), st_cmp_off);
	}
	{
		uint64_t start = 0;

		for (size_t i = 0; i < nt; i++) {
			st_quote(q, sizeof(q), t[i].name);
			if (t[i].begin < start) {
				rc = st_fail(err, errlen,
					     "tensor '%s': data_offsets [%llu, %llu] overlap "
					     "tensor '%s'",
					     q, (unsigned long long)t[i].begin,
					     (unsigned long long)t[i].end,
					     st_quote(q2, sizeof(q2), t[i - 1].name));
				goto out;
			}
			if (t[i].begin > start) {
				rc = st_fail(err, errlen,
					     "tensor '%s': data_offsets begin %llu leaves a "
					     "hole of %llu bytes",
					     q, (unsigned long long)t[i].begin,
					     (unsigned long long)(t[i].begin - start));
				goto out;
			}
			if (t[i].end > data) {
				rc = st_fail(err, errlen,
					     "tensor '%s': data_offsets end %llu runs past "
					     "the data section (%llu bytes)",
					     q, (unsigned long long)t[i].end,
					     (unsigned long long)data);
				goto out;
			}
			start = t[i].end;
		}
		if (start != data) {
			rc = st_fail(err, errlen,
				     "tensors cover %llu of the data section's %llu bytes",
				     (unsigned long long)start, (unsigned long long)data);
			goto out;
		}
		info->tensors = nt;
		info->data_bytes = start;
	}
	rc = 0;
out:
	if (rc) {
		size_t keep = info->header_len;

		memset(info, 0, sizeof(*info));
		info->header_len = keep;
		if (rc == -ENOMEM && errlen)
			snprintf(err, errlen, "safetensors: out of memory");
	}
	free(t);
	cJSON_Delete(root);
	free(text);
	return rc;
}
