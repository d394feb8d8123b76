/* Tar member listing, read the way Python's tarfile reads it (torch 0.1.x
 * loads its tar checkpoints with tarfile), so that the members listed are
 * the ones Python would see:
 *   - a header is valid when its checksum matches the signed or unsigned
 *     byte sum and every numeric field parses (octal or base-256);
 *   - the first all-zero block ends the archive;
 *   - GNU 'L' long names and pax 'x' path/size records apply to the next
 *     member, the first of a chain winning; 'K' and pax 'g' are skipped;
 *   - links, devices, directories and FIFOs own no data blocks, whatever
 *     their size field says; other types (unknown ones too) do.
 * Every length is checked against the view before it is used. */
#include "tarread.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define TAR_BLOCK 512
/* A pax extended header bigger than this is not read (Python would read it
 * whole: such a header is damage, not a name). */
#define TAR_PAX_MAX (1u << 20)

/* Header fields: offset, length. */
#define F_NAME 0, 100
#define F_MODE 100, 8
#define F_UID 108, 8
#define F_GID 116, 8
#define F_SIZE 124, 12
#define F_MTIME 136, 12
#define F_CHKSUM 148, 8
#define F_TYPE 156
#define F_DEVMAJOR 329, 8
#define F_DEVMINOR 337, 8
#define F_PREFIX 345, 155
#define F_SPARSE_EXT 482
#define F_SPARSE_EXT_NEXT 504

/* What Python's str.strip() takes away in ASCII: \x1c-\x1f count too. */
static bool py_space(uint8_t c)
{
	return c == ' ' || (c >= '\t' && c <= '\r') || (c >= 0x1c && c <= 0x1f);
}

/* A numeric field as Python's nti() reads it: base-256 when the first byte
 * is 0x80 (positive) or 0xff (negative); otherwise text up to the first NUL,
 * whitespace-trimmed, parsed as int(text or "0", 8), which also takes a
 * sign, a 0o prefix and single underscores between digits. Returns false
 * when Python would raise; *big when the value does not fit 64 bits. */
static bool tar_num(const uint8_t *f, size_t len, uint64_t *val, bool *neg, bool *big)
{
	size_t i = 0, e;
	bool digit = false;

	*val = 0;
	*neg = *big = false;
	if (f[0] == 0x80 || f[0] == 0xff) {
		uint64_t v = 0;

		for (i = 1; i < len; i++) {
			if (v >> 56)
				*big = true;
			v = v << 8 | f[i];
		}
		if (f[0] == 0xff) {
			/* -(256**(len-1) - v); a field of 9 bytes or more holds a
			 * magnitude past 64 bits unless v is close to 256**(len-1) */
			*neg = true;
			if (len - 1 < 8)
				v = ((uint64_t)1 << (8 * (len - 1))) - v;
			else
				*big = true;
		}
		*val = v;
		return true;
	}
	for (e = 0; e < len && f[e]; e++)
		if (f[e] >= 0x80)
			return false; /* not ASCII: the decode fails */
	while (i < e && py_space(f[i]))
		i++;
	while (e > i && py_space(f[e - 1]))
		e--;
	if (i == e)
		return true; /* "" reads as 0 */
	if (f[i] == '+' || f[i] == '-')
		*neg = f[i++] == '-';
	if (e - i >= 2 && f[i] == '0' && (f[i + 1] == 'o' || f[i + 1] == 'O')) {
		i += 2;
		if (i < e && f[i] == '_')
			i++;
	}
	for (; i < e; i++) {
		if (f[i] == '_' && digit && i + 1 < e && f[i + 1] != '_')
			continue;
		if (f[i] < '0' || f[i] > '7')
			return false;
		digit = true;
		if (*val >> 61)
			*big = true;
		*val = *val << 3 | (uint64_t)(f[i] - '0');
	}
	if (!digit)
		return false;
	if (*val == 0)
		*neg = false;
	return true;
}

static bool tar_checksum_ok(const uint8_t *b)
{
	uint64_t want;
	bool neg, big;
	int64_t sig = 0;
	uint64_t uns = 0;

	if (!tar_num(b + 148, 8, &want, &neg, &big) || big)
		return false;
	for (size_t i = 0; i < TAR_BLOCK; i++) {
		uint8_t c = i >= 148 && i < 156 ? ' ' : b[i];

		uns += c;
		sig += (int8_t)c;
	}
	/* Python compares with both sums; the signed one may be negative */
	if (neg)
		return sig < 0 && want == (uint64_t)-sig;
	return want == uns || (sig >= 0 && want == (uint64_t)sig);
}

bool tar_probe(const uint8_t *b, size_t len)
{
	return b && len >= TAR_BLOCK && tar_checksum_ok(b);
}

static bool tar_zero_block(const uint8_t *b)
{
	for (size_t i = 0; i < TAR_BLOCK; i++)
		if (b[i])
			return false;
	return true;
}

static uint64_t tar_round(uint64_t n)
{
	return (n + TAR_BLOCK - 1) / TAR_BLOCK * TAR_BLOCK;
}

/* Types whose size field Python ignores when skipping data. */
static bool tar_no_data(char t)
{
	return t == '1' || t == '2' || t == '3' || t == '4' || t == '5' || t == '6';
}

/* Copies n bytes into a name buffer: cut at the first NUL when nul_ends (GNU
 * names are C strings), else NUL becomes '?'; sets *cut when it is full. */
static void tar_set_name(char *dst, bool *cut, const uint8_t *src, size_t n, bool nul_ends)
{
	size_t o = 0;

	*cut = false;
	for (size_t i = 0; i < n; i++) {
		if (!src[i] && nul_ends)
			break;
		if (o == TAR_NAME_MAX - 1) {
			*cut = true;
			break;
		}
		dst[o++] = src[i] ? (char)src[i] : '?';
	}
	dst[o] = 0;
}

struct tar_pending {
	bool have_name, name_cut, have_size, active;
	char name[TAR_NAME_MAX];
	uint64_t size;
};

/* pax records "LEN key=value\n", read as Python 3.11 does: stop quietly at
 * the first record that does not start "digits space key=", fail on a zero
 * length. */
static bool tar_pax(const uint8_t *buf, size_t n, bool *has_name, bool *has_size, char *name,
		    bool *name_cut, uint64_t *size)
{
	size_t pos = 0;

	*has_name = *has_size = false;
	while (pos < n) {
		size_t i = pos, ks, ke, ve;
		uint64_t len = 0;

		while (i < n && buf[i] >= '0' && buf[i] <= '9') {
			if (len > (UINT64_MAX - 9) / 10)
				return false;
			len = len * 10 + (uint64_t)(buf[i] - '0');
			i++;
		}
		if (i == pos || i >= n || buf[i] != ' ')
			break;
		ks = ++i;
		while (i < n && buf[i] != '=')
			i++;
		if (i == ks || i >= n)
			break;
		ke = i;
		if (len == 0)
			return false;
		/* value ends before the record's last byte (its newline) */
		ve = len - 1 > n - pos ? n : pos + (size_t)(len - 1);
		if (ve < ke + 1)
			ve = ke + 1;
		if (ke - ks == 4 && !memcmp(buf + ks, "path", 4)) {
			tar_set_name(name, name_cut, buf + ke + 1, ve - ke - 1, false);
			*has_name = true;
		} else if (ke - ks == 4 && !memcmp(buf + ks, "size", 4)) {
			uint64_t v = 0;
			bool ok = ve > ke + 1;

			/* int(value); Python 3.11 turns a bad one into 0 */
			for (size_t j = ke + 1; j < ve && ok; j++) {
				if (buf[j] < '0' || buf[j] > '9' || v > (UINT64_MAX - 9) / 10)
					ok = false;
				else
					v = v * 10 + (uint64_t)(buf[j] - '0');
			}
			*size = ok ? v : 0;
			*has_size = true;
		}
		if (len > n - pos)
			break;
		pos += (size_t)len;
	}
	return true;
}

static int tar_push(struct tar_list *l, size_t *cap, const struct tar_entry *e)
{
	if (l->n >= TAR_MAX_ENTRIES) {
		l->entries_dropped++;
		return 0;
	}
	if (l->n == *cap) {
		size_t nc = *cap ? *cap * 2 : 16;
		struct tar_entry *ne;

		if (nc > TAR_MAX_ENTRIES)
			nc = TAR_MAX_ENTRIES;
		ne = realloc(l->e, nc * sizeof(*ne));
		if (!ne)
			return -ENOMEM;
		l->e = ne;
		*cap = nc;
	}
	l->e[l->n++] = *e;
	return 0;
}

void tar_list_free(struct tar_list *l)
{
	if (!l)
		return;
	free(l->e);
	memset(l, 0, sizeof(*l));
}

/* Checks every numeric field of a header; names the first bad one. */
static const char *tar_bad_field(const uint8_t *b, uint64_t *size, bool *neg_size)
{
	static const struct {
		size_t off, len;
		const char *name;
	} f[] = {
		{ F_MODE, "mode" },   { F_UID, "uid" },           { F_GID, "gid" },
		{ F_MTIME, "mtime" }, { F_DEVMAJOR, "devmajor" }, { F_DEVMINOR, "devminor" },
	};
	uint64_t v;
	bool neg, big;

	if (!tar_num(b + 124, 12, size, neg_size, &big) || big)
		return "size";
	for (size_t i = 0; i < sizeof(f) / sizeof(f[0]); i++)
		if (!tar_num(b + f[i].off, f[i].len, &v, &neg, &big))
			return f[i].name;
	return NULL;
}

int tar_read_list(const struct byte_src *s, struct tar_list *l, char *err, size_t errlen)
{
	struct tar_pending pd = { 0 };
	uint8_t b[TAR_BLOCK];
	uint64_t off = 0, chain_start = 0;
	size_t cap = 0;
	int rc = 0;

	memset(l, 0, sizeof(*l));
	if (errlen)
		err[0] = 0;
	for (;;) {
		struct tar_entry e;
		uint64_t size, data_off;
		const char *bad;
		bool neg = false, first;
		ssize_t got;
		char type;

		if (!pd.active)
			chain_start = off;
		first = l->n == 0 && !l->entries_dropped && chain_start == 0;
		got = off < s->size ? bsrc_read(s, off, b, TAR_BLOCK) : 0;
		if (got < 0) {
			rc = (int)got;
			goto fail;
		}
		if (got < TAR_BLOCK) {
			if (first) {
				snprintf(err, errlen,
					 got == 0 ?
						 "tar: empty file" :
						 "tar: truncated header at byte %llu (size %llu)",
					 (unsigned long long)off, (unsigned long long)s->size);
				rc = -EINVAL;
				goto fail;
			}
			/* a partial block, or a long name with no member after it */
			if (got > 0 || pd.active)
				l->truncated = true;
			break;
		}
		if (tar_zero_block(b)) {
			if (pd.active)
				l->truncated = true;
			break;
		}
		if (!tar_checksum_ok(b)) {
			if (first) {
				snprintf(err, errlen, "tar: bad header checksum at byte %llu",
					 (unsigned long long)off);
				rc = -EINVAL;
				goto fail;
			}
			l->bad_checksum = true;
			break;
		}
		bad = tar_bad_field(b, &size, &neg);
		if (!bad && neg)
			bad = "size"; /* a negative size would walk backwards */
		if (bad) {
			if (first) {
				snprintf(err, errlen,
					 "tar: bad %s field in the header at byte %llu", bad,
					 (unsigned long long)off);
				rc = -EINVAL;
				goto fail;
			}
			l->truncated = true;
			break;
		}
		type = (char)b[F_TYPE];
		data_off = off + TAR_BLOCK;

		if (type == 'L' || type == 'K' || type == 'x' || type == 'X' || type == 'g') {
			bool has_name = false, has_size = false, cut = false;
			char name[TAR_NAME_MAX];
			uint64_t psize = 0;

			if (size > s->size - data_off) {
				l->truncated = true;
				break;
			}
			if (type == 'L' && !pd.have_name) {
				size_t n = size < TAR_NAME_MAX ? (size_t)size : TAR_NAME_MAX;
				uint8_t nb[TAR_NAME_MAX];

				got = bsrc_read(s, data_off, nb, n);
				if (got < 0 || (size_t)got != n) {
					rc = got < 0 ? (int)got : -EIO;
					goto fail;
				}
				tar_set_name(pd.name, &pd.name_cut, nb, n, true);
				pd.have_name = true;
			} else if (type == 'x' || type == 'X') {
				uint8_t *pb;

				if (size > TAR_PAX_MAX) {
					l->truncated = true;
					break;
				}
				rc = bsrc_load(s, data_off, (size_t)size, &pb);
				if (rc)
					goto fail;
				if (!tar_pax(pb, (size_t)size, &has_name, &has_size, name, &cut,
					     &psize)) {
					free(pb);
					l->truncated = true;
					break;
				}
				free(pb);
				/* the first extended header of a chain wins */
				if (has_name && !pd.have_name) {
					memcpy(pd.name, name, sizeof(name));
					pd.name_cut = cut;
					pd.have_name = true;
				}
				if (has_size && !pd.have_size) {
					pd.size = psize;
					pd.have_size = true;
				}
			}
			pd.active = true;
			off = data_off + tar_round(size);
			continue;
		}

		memset(&e, 0, sizeof(e));
		if (type == 0)
			type = '0'; /* AREGTYPE: a regular file */
		if (pd.have_name) {
			memcpy(e.name, pd.name, sizeof(e.name));
			e.name_cut = pd.name_cut;
		} else {
			char prefix[156];
			size_t nl = strnlen((const char *)b, 100);
			size_t pl = strnlen((const char *)b + 345, 155);

			/* a V7 directory is a regular file whose name ends in '/' */
			if (b[F_TYPE] == 0 && nl && b[nl - 1] == '/')
				type = '5';
			memcpy(prefix, b + 345, pl);
			prefix[pl] = 0;
			if (pl && type != 'S')
				snprintf(e.name, sizeof(e.name), "%s/%.*s", prefix, (int)nl,
					 (const char *)b);
			else
				snprintf(e.name, sizeof(e.name), "%.*s", (int)nl, (const char *)b);
		}
		if (type == '5') {
			size_t n = strlen(e.name);

			while (n && e.name[n - 1] == '/')
				e.name[--n] = 0;
		}
		if (pd.have_size)
			size = pd.size;
		e.type = type;
		/* old GNU sparse: more sparse maps in blocks after the header */
		if (type == 'S' && b[F_SPARSE_EXT]) {
			uint8_t x[TAR_BLOCK];

			do {
				got = data_off < s->size ? bsrc_read(s, data_off, x, TAR_BLOCK) : 0;
				if (got < 0) {
					rc = (int)got;
					goto fail;
				}
				if (got < TAR_BLOCK) {
					l->truncated = true;
					goto done;
				}
				data_off += TAR_BLOCK;
			} while (x[F_SPARSE_EXT_NEXT]);
		}
		e.data_off = data_off;
		e.size = tar_no_data(type) ? 0 : size;
		pd = (struct tar_pending){ 0 };
		if (e.size > s->size - data_off) {
			/* keep the name: the member is there, its data is not */
			l->truncated = true;
			rc = tar_push(l, &cap, &e);
			if (rc)
				goto fail;
			break;
		}
		rc = tar_push(l, &cap, &e);
		if (rc)
			goto fail;
		off = data_off + tar_round(e.size);
		if (off < data_off)
			break;
	}
done:
	return 0;
fail:
	tar_list_free(l);
	if (rc == -ENOMEM && errlen)
		snprintf(err, errlen, "tar: out of memory");
	return rc;
}
