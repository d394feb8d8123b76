/* Static pickle walker. Simulates just enough of the unpickler (stack, mark
 * stack, memo) to know which global every call consumes, never executing or
 * importing anything. Offsets are always into the outermost buffer. What is
 * allowed, denied or special (loaders, joblib arrays) is pickle_profiles.c's. */
#include <cjson/cJSON.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "pickle_scan.h"
#include "textsan.h"

const struct pickle_limits pickle_default_limits = {
	.max_input = 1ull << 30, .max_opcodes = 50u * 1000 * 1000, .max_stack = 100000,
	.max_memo = 1u << 18, .max_findings = 4096, .max_string = 256u << 20, .max_depth = 4,
};

/* ---- walker state ----------------------------------------------------- */

enum vkind { V_ANY = 0, V_STR, V_BYTES, V_GLOBAL, V_TUPLE, V_INT, V_NONE, V_OBJ };

/* How a string's bytes read: as they are (UTF-8 text, or bytes), Python
 * repr escapes (STRING), raw-unicode-escape (UNICODE). */
enum venc { E_RAW = 0, E_REPR, E_RUE };

enum vbits {
	VB_OWNED = 1 << 0,  /* p is walker-owned (decoded); src is where it came from */
	VB_ALLINT = 1 << 1, /* tuple of ints >= 0; num = their product */
	VB_DSTATE = 1 << 2, /* tuple shaped as a dtype state: num = elsize, num2 = flags */
	VB_LATIN1 = 1 << 3, /* tuple's second item names latin-1 */
	VB_UTF8 = 1 << 4,   /* tuple's second item names (or defaults to) utf-8 */
};

/* A stack value: strings and bytes are slices of the input (or of decoded
 * copies), a tuple keeps its first item and a few summaries, enough for
 * loads(b), STACK_GLOBAL, _codecs.encode and joblib's array headers. */
struct val {
	uint8_t kind, sub;        /* sub: V_TUPLE's first item's kind */
	uint8_t enc;              /* enum venc of p */
	uint8_t roles;            /* V_GLOBAL (or tuple's first item): pickle_role bits */
	uint16_t bits;            /* enum vbits */
	int32_t fi;               /* V_GLOBAL: finding index, -1 if dropped */
	const uint8_t *p;         /* V_STR / V_BYTES, or a tuple's first item */
	size_t n;
	uint64_t num, num2;       /* V_INT: value; V_OBJ: object index + 1 */
	size_t src;               /* VB_OWNED: offset in the outermost buffer */
};

#define OPAQUE ((struct val){ .fi = -1 })

struct memo_slot { struct val v; bool set; };

/* joblib mode: the mutable objects BUILD looks at. Values refer to them by
 * index so every stack and memo copy sees one object, as in Python. */
enum okind { O_DICT = 1, O_DTYPE, O_WRAP };
/* attribute states; for the alignment KNOWN means "a value, not None" */
enum astate { A_ABSENT = 0, A_KNOWN, A_UNKNOWN, A_NONE };

struct obj {
	uint8_t kind;
	uint8_t shape, dtype, align;  /* O_DICT / O_WRAP: state keys / attributes */
	bool parsed, flexible, hasobj;/* O_DTYPE: numpy.dtype(str) understood */
	uint64_t size;                /* O_DICT / O_WRAP: element count; O_DTYPE: itemsize */
	uint64_t dref;                /* O_DICT / O_WRAP: dtype object index + 1 */
};

struct owned { struct owned *next; uint8_t data[]; };

struct walker {
	const uint8_t *root;
	const struct pickle_profile *prof;
	const struct pickle_limits *lim;
	struct pickle_result *out;
	struct owned *owned;      /* decoded strings, freed after the scan */
	size_t owned_left;        /* bytes of them still allowed */
	bool oom;
};

#define IN_ROOT SIZE_MAX

struct frame {                /* one pickle being walked */
	struct walker *w;
	const uint8_t *b;
	size_t len, pos, op_off;
	size_t src;               /* IN_ROOT, or the outer offset b was decoded from */
	size_t fend;              /* end of the current protocol 4 FRAME */
	unsigned depth;
	uint8_t op;
	bool joblib;
	struct val *st;
	size_t nst, cap;
	size_t *marks;
	size_t nmarks, mcap;
	struct memo_slot *memo;
	size_t mlen, memo_count;
	struct obj *objs;
	size_t nobjs, ocap;
	size_t found;             /* imports this frame recorded (dropped ones too) */
	bool stopped;
};

static size_t frame_off(const struct frame *f)
{
	return f->src != IN_ROOT ? f->src : (size_t)(f->b - f->w->root) + f->op_off;
}

static void add_error(struct frame *f, enum pickle_err_kind k)
{
	struct pickle_result *r = f->w->out;

	if (r->nerrors < PICKLE_MAX_ERRORS)
		r->errors[r->nerrors] = (struct pickle_error){
			.kind = k, .offset = frame_off(f), .opcode = f->op, .depth = f->depth };
	r->nerrors++;
}

static void copy_name(struct walker *w, char *dst, const uint8_t *s, size_t n)
{
	size_t j = 0;

	if (n > PICKLE_NAME_MAX) {
		w->out->limits_hit |= PLIM_STRING;
		n = PICKLE_NAME_MAX;
	}
	for (size_t i = 0; i < n; i++)      /* an embedded NUL would hide the rest */
		dst[j++] = s[i] ? (char)s[i] : '?';
	dst[j] = 0;
}

/* Records an import; returns the value standing for it on the stack. */
static struct val add_import(struct frame *f, enum pickle_import_kind kind,
			     const uint8_t *mod, size_t ml, const uint8_t *nm, size_t nl,
			     int32_t ext)
{
	struct walker *w = f->w;
	struct pickle_result *r = w->out;
	struct pickle_finding fd = { .offset = frame_off(f), .opcode = f->op, .kind = kind,
				     .ext_code = ext, .depth = f->depth };
	struct val v = { .kind = V_GLOBAL, .fi = -1 };

	copy_name(w, fd.module, mod, ml);
	copy_name(w, fd.name, nm, nl);
	/* an extension code or an unresolved name cannot be judged: suspicious */
	if (kind == PIMP_EXT || !ml || !nl)
		fd.severity = PSEV_SUSPICIOUS;
	else
		fd.severity = pickle_judge(fd.module, fd.name, w->prof);
	if (fd.severity == PSEV_ALLOWED && (memchr(mod, 0, ml) || memchr(nm, 0, nl)))
		fd.severity = PSEV_SUSPICIOUS;
	if (kind != PIMP_EXT)
		v.roles = (uint8_t)pickle_global_roles(fd.module, fd.name);
	fd.loader = v.roles & PROLE_LOADER;
	if (fd.severity > r->worst)
		r->worst = fd.severity;
	f->found++;
	if (r->nfindings >= w->lim->max_findings) {
		r->limits_hit |= PLIM_FINDINGS;
		r->findings_dropped++;
		return v;
	}
	if ((r->nfindings & (r->nfindings - 1)) == 0 || r->nfindings == 0) {
		size_t nc = r->nfindings ? r->nfindings * 2 : 8;
		struct pickle_finding *nf = realloc(r->findings, nc * sizeof(*nf));
		if (!nf) {
			w->oom = true;
			return v;
		}
		r->findings = nf;
	}
	v.fi = (int32_t)r->nfindings;
	r->findings[r->nfindings++] = fd;
	return v;
}

static void mark_called(struct frame *f, const struct val *v)
{
	if (v->kind == V_GLOBAL && v->fi >= 0)
		f->w->out->findings[v->fi].called = true;
}

/* false: a limit or OOM stops the walk */
static bool push(struct frame *f, struct val v)
{
	if (f->nst >= f->w->lim->max_stack) {
		f->w->out->limits_hit |= PLIM_STACK;
		return false;
	}
	if (f->nst == f->cap) {
		size_t nc = f->cap ? f->cap * 2 : 64;
		struct val *ns = realloc(f->st, nc * sizeof(*ns));
		if (!ns)
			return !(f->w->oom = true);
		f->st = ns;
		f->cap = nc;
	}
	f->st[f->nst++] = v;
	return true;
}

/* Below the innermost mark is out of reach, as in the real unpickler. */
static struct val pop(struct frame *f)
{
	size_t floor = f->nmarks ? f->marks[f->nmarks - 1] : 0;

	if (f->nst <= floor) {
		add_error(f, PERR_STACK_UNDERFLOW);
		return OPAQUE;
	}
	return f->st[--f->nst];
}

static struct val *top(struct frame *f)
{
	size_t floor = f->nmarks ? f->marks[f->nmarks - 1] : 0;

	if (f->nst <= floor) {
		add_error(f, PERR_STACK_UNDERFLOW);
		return NULL;
	}
	return &f->st[f->nst - 1];
}

/* Pops back to the innermost mark. The popped items stay readable at
 * *items until the next push. */
static bool pop_mark(struct frame *f, const struct val **items, size_t *count)
{
	size_t m;

	*items = NULL;
	*count = 0;
	if (!f->nmarks) {
		add_error(f, PERR_MARK_UNDERFLOW);
		return false;
	}
	m = f->marks[--f->nmarks];
	if (m > f->nst)
		m = f->nst;
	*items = f->st ? f->st + m : NULL;   /* nothing pushed yet: no stack */
	*count = f->nst - m;
	f->nst = m;
	return true;
}

static bool push_mark(struct frame *f)
{
	if (f->nmarks >= f->w->lim->max_stack) {
		f->w->out->limits_hit |= PLIM_STACK;
		return false;
	}
	if (f->nmarks == f->mcap) {
		size_t nc = f->mcap ? f->mcap * 2 : 16;
		size_t *nm = realloc(f->marks, nc * sizeof(*nm));
		if (!nm)
			return !(f->w->oom = true);
		f->marks = nm;
		f->mcap = nc;
	}
	f->marks[f->nmarks++] = f->nst;
	return true;
}

static void memo_put(struct frame *f, uint64_t key, const struct val *v)
{
	if (!v)
		return;
	if (key >= f->w->lim->max_memo) {
		f->w->out->limits_hit |= PLIM_MEMO;
		return;
	}
	if (key >= f->mlen) {
		size_t nl = f->mlen ? f->mlen : 64;
		while (nl <= key)
			nl *= 2;
		struct memo_slot *nm = realloc(f->memo, nl * sizeof(*nm));
		if (!nm) {
			f->w->oom = true;
			return;
		}
		memset(nm + f->mlen, 0, (nl - f->mlen) * sizeof(*nm));
		f->memo = nm;
		f->mlen = nl;
	}
	if (!f->memo[key].set)
		f->memo_count++;
	f->memo[key].v = *v;
	f->memo[key].set = true;
}

static bool memo_get(struct frame *f, uint64_t key)
{
	if (key < f->mlen && f->memo[key].set)
		return push(f, f->memo[key].v);
	add_error(f, PERR_MEMO_MISS);
	return push(f, OPAQUE);
}

/* ---- argument readers: false = truncated (error already recorded) ---- */

static bool take(struct frame *f, size_t n, const uint8_t **p)
{
	if (n > f->len - f->pos) {
		add_error(f, PERR_TRUNCATED);
		return false;
	}
	*p = f->b + f->pos;
	f->pos += n;
	return true;
}

static bool take_uint(struct frame *f, size_t n, uint64_t *v)
{
	const uint8_t *p;

	if (!take(f, n, &p))
		return false;
	*v = 0;
	for (size_t i = n; i-- > 0;)
		*v = (*v << 8) | p[i];
	return true;
}

static bool take_line(struct frame *f, const uint8_t **p, size_t *n)
{
	const uint8_t *s = f->b + f->pos;
	const uint8_t *nl = memchr(s, '\n', f->len - f->pos);

	if (!nl) {
		f->pos = f->len;
		add_error(f, PERR_TRUNCATED);
		return false;
	}
	*p = s;
	*n = (size_t)(nl - s);
	f->pos += *n + 1;
	return true;
}

/* Length-prefixed string/bytes argument of lb bytes. */
static bool take_counted(struct frame *f, size_t lb, const uint8_t **p, size_t *n)
{
	uint64_t l;

	if (!take_uint(f, lb, &l))
		return false;
	if (l > f->w->lim->max_string) {
		f->w->out->limits_hit |= PLIM_STRING;
		return false;
	}
	if (!take(f, (size_t)l, p))
		return false;
	*n = (size_t)l;
	return true;
}

static bool parse_key(struct frame *f, const uint8_t *s, size_t n, uint64_t *key)
{
	*key = 0;
	if (!n || n > 10)
		goto bad;
	for (size_t i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			goto bad;
		*key = *key * 10 + (uint64_t)(s[i] - '0');
	}
	return true;
bad:
	add_error(f, PERR_BAD_ARG);
	return false;
}

/* INT / LONG text argument as a value: decimal only (else opaque). */
static struct val int_line(const uint8_t *s, size_t n)
{
	bool neg = false;
	uint64_t v = 0;

	if (n && s[n - 1] == 'L')
		n--;
	if (n && (s[0] == '-' || s[0] == '+'))
		neg = *s++ == '-', n--;
	if (!n || n > 18)
		return OPAQUE;
	for (size_t i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return OPAQUE;
		v = v * 10 + (uint64_t)(s[i] - '0');
	}
	return (struct val){ .kind = V_INT, .fi = -1, .num = neg ? -v : v };
}

/* LONG1 / BININT*: little-endian two's complement of up to 8 bytes. */
static struct val int_le(const uint8_t *p, size_t n, bool is_signed)
{
	uint64_t v = 0;

	if (n > 8)
		return OPAQUE;
	for (size_t i = n; i-- > 0;)
		v = (v << 8) | p[i];
	if (is_signed && n && n < 8 && (p[n - 1] & 0x80))
		v |= ~0ull << (8 * n);
	return (struct val){ .kind = V_INT, .fi = -1, .num = v };
}

/* ---- protocol 0 strings ------------------------------------------------ */

/* Decoded output: counted only (out NULL), or written up to cap. */
struct sink {
	uint8_t *out;
	size_t cap, len;
	bool full;
};

static bool sink_put(struct sink *k, uint8_t c)
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

static bool sink_utf8(struct sink *k, uint32_t cp)
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
static bool dec_repr(const uint8_t *s, size_t n, struct sink *k, bool as_text)
{
	static const char esc[] = "\\\\''\"\"a\ab\bf\fn\nr\rt\tv\v";

	for (size_t i = 0; i < n && !k->full;) {
		uint32_t v = s[i++];
		const char *e;

		if (v == '\\') {
			if (i >= n)
				return false;           /* trailing backslash */
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
			} else if (!sink_put(k, '\\')) {  /* unknown escape: kept */
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
static bool dec_rue(const uint8_t *s, size_t n, struct sink *k)
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

static uint8_t *own(struct walker *w, size_t n)
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

static bool in_root(const struct frame *f, const struct val *v)
{
	return f->src == IN_ROOT && !(v->bits & VB_OWNED);
}

/* The outer offset findings inside v's bytes are reported at. */
static size_t origin(const struct frame *f, const struct val *v)
{
	if (v->bits & VB_OWNED)
		return v->src;
	return f->src != IN_ROOT ? f->src : (size_t)(v->p - f->w->root);
}

/* An escaped string decoded into walker memory; NULL if it cannot be. */
static uint8_t *decode_owned(struct frame *f, const struct val *v, bool as_text, size_t *n)
{
	struct sink k = { .cap = v->enc == E_REPR && !as_text ? v->n : 2 * v->n };
	bool ok;

	if (!(k.out = own(f->w, k.cap)))
		return NULL;
	ok = v->enc == E_REPR ? dec_repr(v->p, v->n, &k, as_text) : dec_rue(v->p, v->n, &k);
	*n = k.len;
	return ok ? k.out : NULL;
}

/* Decodes UTF-8 in place to latin-1; false (s untouched) if a code point
 * is > 0xff or the text is not UTF-8. */
static bool utf8_to_latin1(uint8_t *s, size_t n, size_t *out)
{
	size_t j = 0;

	for (size_t i = 0; i < n; i++)
		if (s[i] >= 0x80 && (s[i] < 0xc2 || s[i] > 0xc3 || i + 1 >= n ||
				     (s[++i] & 0xc0) != 0x80))
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

static struct val bytes_val(const struct frame *f, const struct val *from, const uint8_t *p,
			    size_t n, bool owned)
{
	struct val v = { .kind = V_BYTES, .fi = -1, .p = p, .n = n };

	if (owned || (from->bits & VB_OWNED)) {
		v.bits = VB_OWNED;
		v.src = origin(f, from);
	}
	return v;
}

/* The bytes a loader or io.BytesIO gets from v; false if not bytes-like.
 * A py2 str (STRING) is its decoded bytes; a UNICODE str its latin-1
 * encoding where that exists, else UTF-8. */
static bool val_bytes(struct frame *f, const struct val *v, struct val *out)
{
	uint8_t *d;
	size_t n;

	if (v->kind == V_BYTES || (v->kind == V_STR && v->enc == E_RAW)) {
		*out = bytes_val(f, v, v->p, v->n, false);
		return true;
	}
	if (v->kind != V_STR || !(d = decode_owned(f, v, false, &n)))
		return false;
	if (v->enc == E_RUE)
		(void)utf8_to_latin1(d, n, &n);  /* on failure d is untouched */
	*out = bytes_val(f, v, d, n, true);
	return true;
}

/* A str value as UTF-8 text (decoded if escaped); false if not a str. */
static bool val_text(struct frame *f, const struct val *v, const uint8_t **p, size_t *n)
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
static bool name_text(const struct val *v, uint8_t *buf, size_t cap, const uint8_t **p,
		      size_t *n)
{
	struct sink k = { .out = buf, .cap = cap };
	bool ok;

	if (v->enc == E_RAW) {
		*p = v->p;
		*n = v->n;
		return true;
	}
	ok = v->enc == E_REPR ? dec_repr(v->p, v->n, &k, true) : dec_rue(v->p, v->n, &k);
	*p = buf;
	*n = k.full ? cap : k.len;
	return ok;
}

static bool text_is(const uint8_t *p, size_t n, const char *s)
{
	return n == strlen(s) && !memcmp(p, s, n);
}

/* _codecs.encode's encoding argument, as Python normalizes aliases. */
static uint16_t codec_bits(const struct val *v)
{
	static const char *const latin1[] = { "latin_1", "latin1", "latin", "l1", "iso8859_1",
					      "iso_8859_1", "8859", "cp819", "iso_ir_100", NULL };
	static const char *const utf8[] = { "utf_8", "utf8", "u8", "utf", "cp65001", NULL };
	uint8_t buf[24];
	const uint8_t *p;
	size_t n;

	if (v->kind != V_STR || !name_text(v, buf, sizeof(buf), &p, &n) || n >= sizeof(buf))
		return 0;
	char norm[sizeof(buf)];
	for (size_t i = 0; i < n; i++)
		norm[i] = p[i] == '-' || p[i] == ' ' ? '_' : (char)(p[i] | (p[i] >= 'A' && p[i] <= 'Z' ? 0x20 : 0));
	norm[n] = 0;
	for (const char *const *a = latin1; *a; a++)
		if (!strcmp(norm, *a))
			return VB_LATIN1;
	for (const char *const *a = utf8; *a; a++)
		if (!strcmp(norm, *a))
			return VB_UTF8;
	return 0;
}

/* ---- values ------------------------------------------------------------ */

static struct val tuple_of(const struct val *it, size_t cnt)
{
	struct val t = { .kind = V_TUPLE, .fi = -1, .bits = VB_ALLINT, .num = 1 };

	if (cnt) {
		t.sub = it[0].kind;
		t.roles = it[0].roles;
		if (t.sub == V_STR || t.sub == V_BYTES) {
			t.p = it[0].p;
			t.n = it[0].n;
			t.enc = it[0].enc;
			t.bits |= it[0].bits & VB_OWNED;
			t.src = it[0].src;
		}
	}
	/* _codecs.encode(s) defaults to utf-8 */
	t.bits |= cnt == 1 ? VB_UTF8 : cnt >= 2 ? codec_bits(&it[1]) : 0;
	for (size_t i = 0; i < cnt; i++) {
		uint64_t x = it[i].num;

		if (it[i].kind != V_INT || x > INT64_MAX || (x && t.num > INT64_MAX / x)) {
			t.bits &= (uint16_t)~VB_ALLINT;
			break;
		}
		t.num *= x;
	}
	/* numpy dtype state: (version 3|4, endian, subarray, names, fields,
	 * elsize, alignment, flags[, metadata]) */
	if (!(t.bits & VB_ALLINT) && (cnt == 8 || cnt == 9) && it[0].kind == V_INT &&
	    (it[0].num == 3 || it[0].num == 4) && it[5].kind == V_INT && it[7].kind == V_INT) {
		t.bits |= VB_DSTATE;
		t.num = it[5].num;
		t.num2 = it[7].num;
	}
	if (!(t.bits & (VB_ALLINT | VB_DSTATE)))
		t.num = 0;
	return t;
}

static struct val first_item(const struct val *t)
{
	if (t->kind != V_TUPLE)
		return OPAQUE;
	return (struct val){ .kind = t->sub, .fi = -1, .enc = t->enc, .roles = t->roles,
			     .bits = t->bits & VB_OWNED, .p = t->p, .n = t->n, .src = t->src };
}

/* ---- joblib objects ---------------------------------------------------- */

static struct val new_obj(struct frame *f, uint8_t kind)
{
	struct obj *o;

	if (!f->joblib)
		return OPAQUE;
	if (f->nobjs >= f->w->lim->max_memo) {
		f->w->out->limits_hit |= PLIM_MEMO;
		return OPAQUE;
	}
	if (f->nobjs == f->ocap) {
		size_t nc = f->ocap ? f->ocap * 2 : 32;
		struct obj *no = realloc(f->objs, nc * sizeof(*no));
		if (!no) {
			f->w->oom = true;
			return OPAQUE;
		}
		f->objs = no;
		f->ocap = nc;
	}
	o = &f->objs[f->nobjs++];
	memset(o, 0, sizeof(*o));
	o->kind = kind;
	return (struct val){ .kind = V_OBJ, .fi = -1, .num = f->nobjs };
}

static struct obj *obj_of(struct frame *f, const struct val *v, uint8_t kind)
{
	struct obj *o;

	if (!v || v->kind != V_OBJ || !v->num || v->num > f->nobjs)
		return NULL;
	o = &f->objs[v->num - 1];
	return o->kind == kind ? o : NULL;
}

/* A joblib NumpyArrayWrapper: attributes absent (made by __new__) or
 * unknown (made by __init__ with arguments this walker does not keep). */
static struct val new_wrap(struct frame *f, uint8_t st)
{
	struct val v = new_obj(f, O_WRAP);
	struct obj *o = obj_of(f, &v, O_WRAP);

	if (o)
		o->shape = o->dtype = o->align = st;
	return v;
}

/* numpy.dtype('<kind><size>'), the form numpy's own __reduce__ writes. */
static void parse_dtype(struct obj *o, const uint8_t *s, size_t n)
{
	size_t i = 0;
	uint64_t d = 0;
	uint8_t k;

	if (i < n && (s[i] == '<' || s[i] == '>' || s[i] == '|' || s[i] == '='))
		i++;
	if (i >= n)
		return;
	k = s[i++];
	if (i >= n || s[i] < '0' || s[i] > '9')
		return;
	for (; i < n && s[i] >= '0' && s[i] <= '9'; i++)
		if ((d = d * 10 + (uint64_t)(s[i] - '0')) > (1u << 30))
			return;
	if (i < n && (k == 'M' || k == 'm') && s[i] == '[' && s[n - 1] == ']')
		i = n;                            /* datetime unit: size unchanged */
	if (i != n)
		return;
	switch (k) {
	case 'b': case 'i': case 'u': case 'f': case 'c': case 'M': case 'm':
		if (!d)
			return;
		o->size = d;
		break;
	case 'S': case 'a': case 'V':
		o->size = d;
		o->flexible = true;
		break;
	case 'U':
		o->size = d * 4;
		o->flexible = true;
		break;
	case 'O':
		o->size = 8;
		o->hasobj = true;
		break;
	default:
		return;
	}
	o->parsed = true;
}

static struct val make_dtype(struct frame *f, const struct val *args)
{
	struct val v = new_obj(f, O_DTYPE), it = first_item(args);
	struct obj *o = obj_of(f, &v, O_DTYPE);
	uint8_t buf[32];
	const uint8_t *p;
	size_t n;

	if (o && it.kind == V_STR && name_text(&it, buf, sizeof(buf), &p, &n) &&
	    n < sizeof(buf))
		parse_dtype(o, p, n);
	return v;
}

/* dtype.__setstate__: numpy takes hasobject from the state's flags and,
 * for S/U/V, the itemsize from its elsize. */
static void dtype_setstate(struct obj *o, const struct val *st)
{
	if (st->kind != V_TUPLE || !(st->bits & VB_DSTATE)) {
		o->parsed = false;
		return;
	}
	o->hasobj = st->num2 & 1;
	if (o->flexible) {
		if ((int64_t)st->num <= 0 || st->num > (1u << 30))
			o->parsed = false;
		o->size = st->num;
	}
}

static void dict_set(struct frame *f, struct obj *d, const struct val *k, const struct val *v)
{
	uint8_t buf[40];
	const uint8_t *p;
	size_t n;

	if (k->kind != V_STR || !name_text(k, buf, sizeof(buf), &p, &n))
		return;
	if (text_is(p, n, "shape")) {
		d->shape = v->kind == V_TUPLE && (v->bits & VB_ALLINT) ? A_KNOWN : A_UNKNOWN;
		d->size = v->num;
	} else if (text_is(p, n, "dtype")) {
		d->dtype = obj_of(f, v, O_DTYPE) ? A_KNOWN : A_UNKNOWN;
		d->dref = v->num;
	} else if (text_is(p, n, "numpy_array_alignment_bytes")) {
		d->align = v->kind == V_NONE ? A_NONE : v->kind == V_ANY ? A_UNKNOWN : A_KNOWN;
	}
}

static void dict_set_items(struct frame *f, const struct val *d, const struct val *it,
			   size_t cnt)
{
	struct obj *o = obj_of(f, d, O_DICT);

	for (size_t i = 0; o && i + 1 < cnt; i += 2)
		dict_set(f, o, &it[i], &it[i + 1]);
}

static size_t walk_one(struct walker *w, const uint8_t *b, size_t len, unsigned depth,
		       bool joblib, size_t src, bool *stopped, size_t *found);

/* After a wrapper's BUILD joblib reads its array from the file: padding,
 * then raw data, or a whole pickle for object arrays. */
static bool read_array(struct frame *f, const struct obj *wr)
{
	struct walker *w = f->w;
	const struct obj *dt = NULL;
	const uint8_t *p;
	bool stopped;
	size_t found;

	if (wr->dtype == A_KNOWN && wr->dref && wr->dref <= f->nobjs)
		dt = &f->objs[wr->dref - 1];
	/* the data is read from the file, after a FRAME's end: not followed */
	if (!dt || dt->kind != O_DTYPE || !dt->parsed || f->fend > f->pos) {
		add_error(f, PERR_JOBLIB_ARRAY);
		return false;
	}
	w->out->arrays++;
	if (dt->hasobj) {
		if (f->depth + 1 > w->lim->max_depth) {
			w->out->limits_hit |= PLIM_DEPTH;
			return false;
		}
		w->out->nested++;
		f->pos += walk_one(w, f->b + f->pos, f->len - f->pos, f->depth + 1, false, f->src,
				   &stopped, &found);
		return stopped && !w->oom;
	}
	if (!dt->size || wr->shape != A_KNOWN || wr->align == A_UNKNOWN ||
	    wr->size > UINT64_MAX / dt->size) {
		add_error(f, PERR_JOBLIB_ARRAY);
		return false;
	}
	if (wr->align == A_KNOWN && (!take(f, 1, &p) || !take(f, *p, &p)))
		return false;
	if (wr->size * dt->size > f->len - f->pos) {
		add_error(f, PERR_TRUNCATED);
		return false;
	}
	f->pos += wr->size * dt->size;
	return true;
}

static bool build(struct frame *f, struct val *inst, const struct val *st)
{
	struct obj *o, *d;

	if ((o = obj_of(f, inst, O_DTYPE))) {
		dtype_setstate(o, st);
		return true;
	}
	if (!(o = obj_of(f, inst, O_WRAP)))
		return true;
	if ((d = obj_of(f, st, O_DICT))) {   /* inst.__dict__.update(state) */
		if (d->shape) {
			o->shape = d->shape;
			o->size = d->size;
		}
		if (d->dtype) {
			o->dtype = d->dtype;
			o->dref = d->dref;
		}
		if (d->align)
			o->align = d->align;
	} else if (st->kind != V_NONE) {
		o->shape = o->dtype = o->align = A_UNKNOWN;
	}
	*inst = OPAQUE;                     /* the wrapper becomes its array */
	return read_array(f, o);
}

/* ---- calls ------------------------------------------------------------- */

static void walk(struct walker *w, const uint8_t *b, size_t len, unsigned depth, size_t src)
{
	bool stopped;
	size_t found;

	(void)walk_one(w, b, len, depth, false, src, &stopped, &found);
}

/* A loader called on bytes: walk them one level deeper. */
static void maybe_nested(struct frame *f, const struct val *fn, const struct val *args)
{
	struct val it = first_item(args), by;

	if (fn->kind != V_GLOBAL || !(fn->roles & PROLE_LOADER) ||
	    (it.kind != V_BYTES && it.kind != V_STR))
		return;
	if (f->depth + 1 > f->w->lim->max_depth) {
		f->w->out->limits_hit |= PLIM_DEPTH;
		return;
	}
	if (!val_bytes(f, &it, &by))
		return;
	f->w->out->nested++;
	walk(f->w, by.p, by.n, f->depth + 1, in_root(f, &by) ? IN_ROOT : origin(f, &by));
}

/* _codecs.encode(str, enc): latin-1 (how protocols 0-2 carry bytes) or
 * UTF-8; any other encoding is opaque. */
static struct val encode_call(struct frame *f, const struct val *args)
{
	struct val it = first_item(args);
	const uint8_t *p;
	uint8_t *d;
	size_t n;

	if (!(args->bits & (VB_LATIN1 | VB_UTF8)) || !val_text(f, &it, &p, &n))
		return OPAQUE;
	if (args->bits & VB_UTF8)
		return bytes_val(f, &it, p, n, it.enc != E_RAW);
	if (!(d = own(f->w, n)))
		return OPAQUE;
	memcpy(d, p, n);
	if (!utf8_to_latin1(d, n, &n))
		return OPAQUE;
	return bytes_val(f, &it, d, n, true);
}

enum call_kind { CALL_REDUCE, CALL_INST, CALL_NEW };

/* The value a call returns, where the walker needs it: io.BytesIO(b) stays
 * b, _codecs.encode gives bytes, joblib mode builds dtypes and wrappers. */
static struct val call_result(struct frame *f, const struct val *fn, const struct val *args,
			      enum call_kind how, size_t nargs)
{
	struct val it = first_item(args), by;

	if (fn->kind != V_GLOBAL)
		return OPAQUE;
	if (fn->roles & PROLE_JOBLIB_ARRAY)
		return new_wrap(f, how == CALL_NEW || (how == CALL_INST && !nargs) ? A_ABSENT
										   : A_UNKNOWN);
	if (how == CALL_NEW || args->kind != V_TUPLE)
		return OPAQUE;
	if ((fn->roles & PROLE_BYTES_WRAPPER) && (it.kind == V_BYTES || it.kind == V_STR))
		return val_bytes(f, &it, &by) ? by : OPAQUE;
	if ((fn->roles & PROLE_CODECS_ENCODE) && it.kind == V_STR)
		return encode_call(f, args);
	if (fn->roles & PROLE_NP_DTYPE)
		return make_dtype(f, args);
	/* copyreg._reconstructor(cls, object, None) is object.__new__(cls) */
	if ((fn->roles & PROLE_RECONSTRUCTOR) && it.kind == V_GLOBAL &&
	    (it.roles & PROLE_JOBLIB_ARRAY))
		return new_wrap(f, A_ABSENT);
	return OPAQUE;
}

/* ---- the opcodes --------------------------------------------------------- */

/* One opcode. Returns false when the walk cannot sensibly go on. */
static bool step(struct frame *f)
{
	const uint8_t *p, *p2;
	const struct val *items;
	size_t n, n2, cnt;
	uint64_t u;
	struct val a, b, c, *t;
	struct sink chk = { 0 };

	f->op_off = f->pos;
	f->op = f->b[f->pos++];
	switch (f->op) {
	case '(': /* MARK */
		return push_mark(f);
	case '.': /* STOP */
		(void)pop(f);
		f->stopped = true;
		return false;
	case '0': /* POP: with nothing above the mark it drops the mark */
		if (f->nmarks && f->nst == f->marks[f->nmarks - 1])
			f->nmarks--;
		else
			(void)pop(f);
		return true;
	case '1': /* POP_MARK */
		pop_mark(f, &items, &cnt);
		return true;
	case '2': /* DUP */
		return (t = top(f)) ? push(f, *t) : push(f, OPAQUE);
	case 'F': /* FLOAT */
		return take_line(f, &p, &n) && push(f, OPAQUE);
	case 'I': case 'L': /* INT LONG: text line */
		return take_line(f, &p, &n) && push(f, int_line(p, n));
	case 'G': /* BINFLOAT */
		return take(f, 8, &p) && push(f, OPAQUE);
	case 'J': case 'K': case 'M': /* BININT BININT1 BININT2 */
		n = f->op == 'J' ? 4 : f->op == 'K' ? 1 : 2;
		return take(f, n, &p) && push(f, int_le(p, n, f->op == 'J'));
	case 0x8a: case 0x8b: /* LONG1 LONG4 */
		return take_counted(f, f->op == 0x8a ? 1 : 4, &p, &n) &&
		       push(f, int_le(p, n, true));
	case 0x88: case 0x89: /* NEWTRUE NEWFALSE: numpy takes them as 1 and 0 */
		return push(f, (struct val){ .kind = V_INT, .fi = -1, .num = f->op == 0x88 });
	case 'N': /* NONE */
		return push(f, (struct val){ .kind = V_NONE, .fi = -1 });
	case ')': /* EMPTY_TUPLE */
		return push(f, tuple_of(NULL, 0));
	case '}': /* EMPTY_DICT */
		return push(f, new_obj(f, O_DICT));
	case ']': case 0x8f: /* EMPTY_LIST EMPTY_SET */
		return push(f, OPAQUE);
	case 'P': /* PERSID: torch storage references, recorded only */
		if (!take_line(f, &p, &n))
			return false;
		f->w->out->persids++;
		return push(f, OPAQUE);
	case 'Q': /* BINPERSID */
		(void)pop(f);
		f->w->out->persids++;
		return push(f, OPAQUE);
	case 'S': /* STRING: quoted repr, decoded only where it matters */
		if (!take_line(f, &p, &n))
			return false;
		if (n >= 2 && (p[0] == '\'' || p[0] == '"') && p[n - 1] == p[0])
			p++, n -= 2;
		else
			add_error(f, PERR_BAD_STRING);  /* Python wants the quotes */
		if (!dec_repr(p, n, &chk, false))
			add_error(f, PERR_BAD_STRING);
		return push(f, (struct val){ .kind = V_STR, .enc = E_REPR, .fi = -1, .p = p, .n = n });
	case 'V': /* UNICODE: raw-unicode-escape line */
		if (!take_line(f, &p, &n))
			return false;
		if (!dec_rue(p, n, &chk))
			add_error(f, PERR_BAD_STRING);
		return push(f, (struct val){ .kind = V_STR, .enc = E_RUE, .fi = -1, .p = p, .n = n });
	case 'T': case 'U': case 'X': case 0x8c: case 0x8d: /* str forms */
		n = f->op == 'U' || f->op == 0x8c ? 1 : f->op == 0x8d ? 8 : 4;
		if (!take_counted(f, n, &p, &n))
			return false;
		/* py2 BINSTRING may really be bytes (encoding='bytes'); str is
		 * also what loads() gets from a py2 pickle, so both count */
		return push(f, (struct val){ .kind = V_STR, .fi = -1, .p = p, .n = n });
	case 'B': case 'C': case 0x8e: case 0x96: /* BINBYTES SHORT_BINBYTES BINBYTES8 BYTEARRAY8 */
		n = f->op == 'C' ? 1 : f->op == 'B' ? 4 : 8;
		if (!take_counted(f, n, &p, &n))
			return false;
		return push(f, (struct val){ .kind = V_BYTES, .fi = -1, .p = p, .n = n });
	case 0x97: /* NEXT_BUFFER: out-of-band data, not in this buffer */
		return push(f, OPAQUE);
	case 0x98: /* READONLY_BUFFER */
		(void)top(f);
		return true;
	case 'a': /* APPEND */
		(void)pop(f);
		(void)top(f);
		return true;
	case 'e': case 0x90: /* APPENDS ADDITEMS */
		pop_mark(f, &items, &cnt);
		(void)top(f);
		return true;
	case 'u': /* SETITEMS */
		pop_mark(f, &items, &cnt);
		if ((t = top(f)))
			dict_set_items(f, t, items, cnt);
		return true;
	case 's': /* SETITEM */
		c = pop(f);
		b = pop(f);
		if ((t = top(f)))
			dict_set_items(f, t, (struct val[]){ b, c }, 2);
		return true;
	case 'd': /* DICT */
		pop_mark(f, &items, &cnt);
		a = new_obj(f, O_DICT);             /* pushes nothing: items stay valid */
		dict_set_items(f, &a, items, cnt);
		return push(f, a);
	case 'l': case 0x91: /* LIST FROZENSET */
		pop_mark(f, &items, &cnt);
		return push(f, OPAQUE);
	case 't': /* TUPLE */
		pop_mark(f, &items, &cnt);
		return push(f, tuple_of(items, cnt));
	case 0x85: case 0x86: case 0x87: { /* TUPLE1-3 */
		struct val it[3];

		cnt = (size_t)(f->op - 0x84);
		for (size_t i = cnt; i-- > 0;)
			it[i] = pop(f);
		return push(f, tuple_of(it, cnt));
	}
	case 'g': /* GET */
		if (!take_line(f, &p, &n))
			return false;
		if (!parse_key(f, p, n, &u))
			return push(f, OPAQUE);
		return memo_get(f, u);
	case 'h': case 'j': /* BINGET LONG_BINGET */
		return take_uint(f, f->op == 'h' ? 1 : 4, &u) && memo_get(f, u);
	case 'p': /* PUT */
		if (!take_line(f, &p, &n))
			return false;
		if (parse_key(f, p, n, &u))
			memo_put(f, u, top(f));
		return true;
	case 'q': case 'r': /* BINPUT LONG_BINPUT */
		if (!take_uint(f, f->op == 'q' ? 1 : 4, &u))
			return false;
		memo_put(f, u, top(f));
		return true;
	case 0x94: /* MEMOIZE: the key is the memo's current size */
		memo_put(f, f->memo_count, top(f));
		return true;
	case 0x95: /* FRAME: a length hint, except where joblib reads the file */
		if (!take_uint(f, 8, &u))
			return false;
		f->fend = u > f->len - f->pos ? f->len : f->pos + u;
		return true;
	case 0x80: /* PROTO */
		return take(f, 1, &p);
	case 'c': /* GLOBAL module\nname\n */
	case 'i': /* INST module\nname\n, args from the mark: a call */
		if (!take_line(f, &p, &n) || !take_line(f, &p2, &n2))
			return false;
		a = add_import(f, f->op == 'c' ? PIMP_GLOBAL : PIMP_INST, p, n, p2, n2, -1);
		if (f->op == 'i') {
			mark_called(f, &a);
			pop_mark(f, &items, &cnt);
			b = tuple_of(items, cnt);
			maybe_nested(f, &a, &b);
			a = call_result(f, &a, &b, CALL_INST, cnt);
		}
		return push(f, a);
	case 0x93: { /* STACK_GLOBAL: module and name strings from the stack */
		uint8_t mb[PICKLE_NAME_MAX + 1], nb[PICKLE_NAME_MAX + 1];

		b = pop(f);
		a = pop(f);
		if (a.kind != V_STR || b.kind != V_STR ||
		    !name_text(&a, mb, sizeof(mb), &p, &n) || !name_text(&b, nb, sizeof(nb), &p2, &n2)) {
			add_error(f, PERR_BAD_GLOBAL);
			return push(f, add_import(f, PIMP_STACK_GLOBAL, NULL, 0, NULL, 0, -1));
		}
		return push(f, add_import(f, PIMP_STACK_GLOBAL, p, n, p2, n2, -1));
	}
	case 0x82: case 0x83: case 0x84: /* EXT1 EXT2 EXT4: copyreg registry codes */
		if (!take_uint(f, f->op == 0x82 ? 1 : f->op == 0x83 ? 2 : 4, &u))
			return false;
		return push(f, add_import(f, PIMP_EXT, NULL, 0, NULL, 0, (int32_t)u));
	case 'R': /* REDUCE: callable(*args) */
		b = pop(f);
		a = pop(f);
		mark_called(f, &a);
		maybe_nested(f, &a, &b);
		return push(f, call_result(f, &a, &b, CALL_REDUCE, 0));
	case 0x81: /* NEWOBJ: cls.__new__(cls, *args) */
		b = pop(f);
		a = pop(f);
		mark_called(f, &a);
		return push(f, call_result(f, &a, &b, CALL_NEW, 0));
	case 0x92: /* NEWOBJ_EX: cls, args, kwargs */
		(void)pop(f);
		b = pop(f);
		a = pop(f);
		mark_called(f, &a);
		return push(f, call_result(f, &a, &b, CALL_NEW, 0));
	case 'o': /* OBJ: mark, cls, args...: a function here is called too */
		pop_mark(f, &items, &cnt);
		a = cnt ? items[0] : OPAQUE;
		b = tuple_of(cnt ? items + 1 : NULL, cnt ? cnt - 1 : 0);
		mark_called(f, &a);
		maybe_nested(f, &a, &b);
		return push(f, call_result(f, &a, &b, CALL_INST, cnt ? cnt - 1 : 0));
	case 'b': /* BUILD: state for __setstate__/__dict__, not a call of a global */
		b = pop(f);
		if (!(t = top(f)) || !f->joblib)
			return true;
		return build(f, t, &b);
	default:
		add_error(f, PERR_UNKNOWN_OPCODE);
		return false;
	}
}

/* Walks one pickle at b; returns how many bytes it consumed. */
static size_t walk_one(struct walker *w, const uint8_t *b, size_t len, unsigned depth,
		       bool joblib, size_t src, bool *stopped, size_t *found)
{
	struct frame f = { .w = w, .b = b, .len = len, .depth = depth, .joblib = joblib,
			   .src = src };
	struct pickle_result *r = w->out;
	bool failed = false;

	while (f.pos < f.len) {
		if (r->opcodes >= w->lim->max_opcodes) {
			r->limits_hit |= PLIM_OPCODES;
			failed = true;
			break;
		}
		r->opcodes++;
		if (!step(&f) || w->oom) {
			failed = true;
			break;
		}
	}
	/* ran out of bytes between opcodes: the STOP itself is missing */
	if (!failed) {
		f.op_off = f.len;
		f.op = 0;
		add_error(&f, PERR_NO_STOP);
	}
	free(f.st);
	free(f.marks);
	free(f.memo);
	free(f.objs);
	*stopped = f.stopped;
	*found = f.found;
	return f.pos;
}

/* ---- entry points ----------------------------------------------------- */

static void verdict(struct pickle_result *r)
{
	if (r->worst == PSEV_MALICIOUS)
		r->verdict = PV_MALICIOUS;
	else if (r->nerrors && !r->nfindings && !r->findings_dropped)
		r->verdict = PV_ERROR;
	/* a broken stream or a cut walk cannot be called clean */
	else if (r->worst == PSEV_SUSPICIOUS || r->nerrors || r->limits_hit)
		r->verdict = PV_SUSPICIOUS;
	else
		r->verdict = PV_CLEAN;
}

enum scan_mode { SCAN_ONE, SCAN_STREAM, SCAN_JOBLIB };

static int scan(const uint8_t *buf, size_t len, const struct pickle_profile *profile,
		const struct pickle_limits *lim, struct pickle_result *out, enum scan_mode mode)
{
	struct walker w = { .root = buf, .prof = profile, .lim = lim ? lim : &pickle_default_limits,
			    .out = out };
	size_t pos = 0;

	memset(out, 0, sizeof(*out));
	out->profile = profile ? profile->name : "none";
	if (len > w.lim->max_input) {
		out->limits_hit |= PLIM_INPUT;
		len = w.lim->max_input;
	}
	/* decoded protocol 0 strings: at most about twice the input in all */
	w.owned_left = len > SIZE_MAX / 4 ? SIZE_MAX / 2 : 2 * len + 4096;
	do {
		size_t errs = out->nerrors, nf = out->nfindings, drop = out->findings_dropped;
		bool stopped;
		size_t found, used;

		used = walk_one(&w, buf + pos, len - pos, 0, mode == SCAN_JOBLIB, IN_ROOT,
				&stopped, &found);
		if (out->pickles && !stopped && !found) {
			/* not a pickle after all: raw data after the last STOP */
			out->nerrors = errs;
			out->nfindings = nf;
			out->findings_dropped = drop;
			out->trailing_unparsed = true;
			break;
		}
		out->pickles++;
		pos += used;
		out->consumed = pos;
		out->trailing = stopped && pos < len;
		out->trailing_offset = out->trailing ? pos : 0;
		if (!stopped || w.oom)
			break;
	} while (mode == SCAN_STREAM && pos < len);
	verdict(out);
	while (w.owned) {
		struct owned *o = w.owned;

		w.owned = o->next;
		free(o);
	}
	return w.oom ? -ENOMEM : 0;
}

int pickle_scan_opts(const uint8_t *buf, size_t len, const struct pickle_profile *profile,
		     const struct pickle_limits *lim, struct pickle_result *out)
{
	return scan(buf, len, profile, lim, out, SCAN_ONE);
}

int pickle_scan(const uint8_t *buf, size_t len, const struct pickle_profile *profile,
		struct pickle_result *out)
{
	return scan(buf, len, profile, NULL, out, SCAN_ONE);
}

int pickle_scan_stream(const uint8_t *buf, size_t len, const struct pickle_profile *profile,
		       const struct pickle_limits *lim, struct pickle_result *out)
{
	return scan(buf, len, profile, lim, out, SCAN_STREAM);
}

int pickle_scan_joblib(const uint8_t *buf, size_t len, const struct pickle_profile *profile,
		       const struct pickle_limits *lim, struct pickle_result *out)
{
	return scan(buf, len, profile, lim, out, SCAN_JOBLIB);
}

void pickle_result_free(struct pickle_result *r)
{
	free(r->findings);
	r->findings = NULL;
	r->nfindings = 0;
}

/* ---- names and JSON ----------------------------------------------------- */

const char *pickle_verdict_name(enum pickle_verdict v)
{
	static const char *const n[] = { "clean", "suspicious", "malicious", "error" };
	return (unsigned)v < 4 ? n[v] : "?";
}

const char *pickle_severity_name(enum pickle_severity s)
{
	static const char *const n[] = { "allowed", "suspicious", "malicious" };
	return (unsigned)s < 3 ? n[s] : "?";
}

const char *pickle_err_name(enum pickle_err_kind k)
{
	static const char *const n[] = { "?", "unknown-opcode", "truncated", "stack-underflow",
					 "mark-underflow", "memo-miss", "bad-argument",
					 "bad-stack-global", "no-stop", "joblib-array",
					 "bad-string" };
	return (unsigned)k < sizeof(n) / sizeof(n[0]) ? n[k] : "?";
}

const char *pickle_limit_name(enum pickle_limit bit)
{
	static const char *const n[] = { "input", "opcodes", "stack", "memo", "findings",
					 "string", "depth" };
	for (unsigned i = 0; i < 7; i++)
		if ((unsigned)bit == 1u << i)
			return n[i];
	return "?";
}

const char *pickle_opcode_name(uint8_t op)
{
	static const struct { uint8_t op; const char *name; } t[] = {
		{ '(', "MARK" }, { '.', "STOP" }, { '0', "POP" }, { '1', "POP_MARK" },
		{ '2', "DUP" }, { 'F', "FLOAT" }, { 'I', "INT" }, { 'J', "BININT" },
		{ 'K', "BININT1" }, { 'L', "LONG" }, { 'M', "BININT2" }, { 'N', "NONE" },
		{ 'P', "PERSID" }, { 'Q', "BINPERSID" }, { 'R', "REDUCE" }, { 'S', "STRING" },
		{ 'T', "BINSTRING" }, { 'U', "SHORT_BINSTRING" }, { 'V', "UNICODE" },
		{ 'X', "BINUNICODE" }, { 'a', "APPEND" }, { 'b', "BUILD" }, { 'c', "GLOBAL" },
		{ 'd', "DICT" }, { '}', "EMPTY_DICT" }, { 'e', "APPENDS" }, { 'g', "GET" },
		{ 'h', "BINGET" }, { 'i', "INST" }, { 'j', "LONG_BINGET" }, { 'l', "LIST" },
		{ ']', "EMPTY_LIST" }, { 'o', "OBJ" }, { 'p', "PUT" }, { 'q', "BINPUT" },
		{ 'r', "LONG_BINPUT" }, { 's', "SETITEM" }, { 't', "TUPLE" }, { ')', "EMPTY_TUPLE" },
		{ 'u', "SETITEMS" }, { 'G', "BINFLOAT" }, { 0x80, "PROTO" }, { 0x81, "NEWOBJ" },
		{ 0x82, "EXT1" }, { 0x83, "EXT2" }, { 0x84, "EXT4" }, { 0x85, "TUPLE1" },
		{ 0x86, "TUPLE2" }, { 0x87, "TUPLE3" }, { 0x88, "NEWTRUE" }, { 0x89, "NEWFALSE" },
		{ 0x8a, "LONG1" }, { 0x8b, "LONG4" }, { 'B', "BINBYTES" }, { 'C', "SHORT_BINBYTES" },
		{ 0x8c, "SHORT_BINUNICODE" }, { 0x8d, "BINUNICODE8" }, { 0x8e, "BINBYTES8" },
		{ 0x8f, "EMPTY_SET" }, { 0x90, "ADDITEMS" }, { 0x91, "FROZENSET" },
		{ 0x92, "NEWOBJ_EX" }, { 0x93, "STACK_GLOBAL" }, { 0x94, "MEMOIZE" },
		{ 0x95, "FRAME" }, { 0x96, "BYTEARRAY8" }, { 0x97, "NEXT_BUFFER" },
		{ 0x98, "READONLY_BUFFER" },
	};
	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++)
		if (t[i].op == op)
			return t[i].name;
	return "?";
}

static cJSON *add_utf8(cJSON *o, const char *key, const char *s)
{
	char buf[PICKLE_NAME_MAX * 3 + 4];   /* each bad byte may become U+FFFD */

	utf8_sanitize(s, strlen(s), buf, sizeof(buf));
	return cJSON_AddStringToObject(o, key, buf);
}

static const char *const import_kinds[] = { "global", "stack-global", "inst", "ext" };

cJSON *pickle_result_json(const struct pickle_result *r)
{
	cJSON *o = cJSON_CreateObject(), *a, *e;
	bool ok = o != NULL;

	ok = ok && cJSON_AddStringToObject(o, "verdict", pickle_verdict_name(r->verdict));
	ok = ok && cJSON_AddStringToObject(o, "profile", r->profile ? r->profile : "none");
	ok = ok && cJSON_AddNumberToObject(o, "pickles", (double)r->pickles);
	ok = ok && cJSON_AddNumberToObject(o, "nested", (double)r->nested);
	ok = ok && cJSON_AddNumberToObject(o, "opcodes", (double)r->opcodes);
	ok = ok && cJSON_AddNumberToObject(o, "persistent_ids", (double)r->persids);
	ok = ok && cJSON_AddBoolToObject(o, "trailing_data", r->trailing);
	if (ok && r->trailing)
		ok = cJSON_AddNumberToObject(o, "trailing_offset", (double)r->trailing_offset);
	ok = ok && cJSON_AddBoolToObject(o, "trailing_unparsed", r->trailing_unparsed);
	ok = ok && cJSON_AddNumberToObject(o, "consumed", (double)r->consumed);
	ok = ok && cJSON_AddNumberToObject(o, "joblib_arrays", (double)r->arrays);
	ok = ok && (a = cJSON_AddArrayToObject(o, "limits_hit"));
	for (unsigned i = 0; ok && i < 7; i++)
		if (r->limits_hit & (1u << i)) {
			e = cJSON_CreateString(pickle_limit_name(1u << i));
			ok = e && cJSON_AddItemToArray(a, e);
		}
	ok = ok && (a = cJSON_AddArrayToObject(o, "errors"));
	for (size_t i = 0; ok && i < r->nerrors && i < PICKLE_MAX_ERRORS; i++) {
		const struct pickle_error *er = &r->errors[i];
		ok = (e = cJSON_CreateObject()) && cJSON_AddItemToArray(a, e) &&
		     cJSON_AddStringToObject(e, "kind", pickle_err_name(er->kind)) &&
		     cJSON_AddNumberToObject(e, "offset", (double)er->offset) &&
		     cJSON_AddStringToObject(e, "opcode", pickle_opcode_name(er->opcode)) &&
		     cJSON_AddNumberToObject(e, "depth", er->depth);
	}
	ok = ok && cJSON_AddNumberToObject(o, "errors_total", (double)r->nerrors);
	ok = ok && (a = cJSON_AddArrayToObject(o, "findings"));
	for (size_t i = 0; ok && i < r->nfindings; i++) {
		const struct pickle_finding *fd = &r->findings[i];
		ok = (e = cJSON_CreateObject()) && cJSON_AddItemToArray(a, e) &&
		     add_utf8(e, "module", fd->module) && add_utf8(e, "name", fd->name) &&
		     cJSON_AddStringToObject(e, "kind", import_kinds[fd->kind]) &&
		     cJSON_AddNumberToObject(e, "offset", (double)fd->offset) &&
		     cJSON_AddStringToObject(e, "opcode", pickle_opcode_name(fd->opcode)) &&
		     cJSON_AddBoolToObject(e, "called", fd->called) &&
		     cJSON_AddBoolToObject(e, "loader", fd->loader) &&
		     cJSON_AddNumberToObject(e, "depth", fd->depth) &&
		     cJSON_AddStringToObject(e, "severity", pickle_severity_name(fd->severity));
		if (ok && fd->kind == PIMP_EXT)
			ok = cJSON_AddNumberToObject(e, "ext_code", fd->ext_code) != NULL;
	}
	ok = ok && cJSON_AddNumberToObject(o, "findings_dropped", (double)r->findings_dropped);
	if (!ok) {
		cJSON_Delete(o);
		return NULL;
	}
	return o;
}
