/* Static pickle walker. Simulates just enough of the unpickler (stack, mark
 * stack, memo) to know which global every call consumes, never executing or
 * importing anything. Offsets are always into the outermost buffer. What is
 * allowed, denied or special (loaders, joblib arrays) is pickle_profiles.c's.
 * The walker's types are in pickle_walk.h; frame primitives, protocol 0
 * strings, joblib objects and names/JSON live in pickle_frame.c,
 * pickle_strings.c, pickle_joblib.c, pickle_render.c. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "pickle_joblib.h"
#include "pickle_strings.h"
#include "lib/budget.h"
#include "lib/textsan.h"

const struct pickle_limits pickle_default_limits = {
	.max_input = 1ull << 30,
	.max_opcodes = 50u * 1000 * 1000,
	.max_stack = 100000,
	.max_memo = 1u << 26,
	.max_findings = 4096,
	.max_string = 256u << 20,
	.max_depth = 4,
};

/* ---- walker state ----------------------------------------------------- */

static void copy_name(struct walker *w, char *dst, const uint8_t *s, size_t n)
{
	size_t j = 0;

	if (n > PICKLE_NAME_MAX) {
		w->out->limits_hit |= PLIM_STRING;
		n = PICKLE_NAME_MAX;
	}
	for (size_t i = 0; i < n; i++) /* an embedded NUL would hide the rest */
		dst[j++] = s[i] ? (char)s[i] : '?';
	dst[j] = 0;
}

/* Records an import; returns the value standing for it on the stack. */
static struct val add_import(struct frame *f, enum pickle_import_kind kind, const uint8_t *mod,
			     size_t ml, const uint8_t *nm, size_t nl, int32_t ext)
{
	struct walker *w = f->w;
	struct pickle_result *r = w->out;
	struct pickle_finding fd = { .offset = pw_frame_off(f),
				     .opcode = f->op,
				     .kind = kind,
				     .ext_code = ext,
				     .depth = f->depth };
	struct val v = { .kind = V_GLOBAL, .fi = -1, .fi0 = -1 };

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
	/* capacity: 8, then doubled each time it fills */
	if (r->nfindings == 0 || (r->nfindings >= 8 && !(r->nfindings & (r->nfindings - 1)))) {
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

static void mark_called(struct frame *f, const struct val *v, uint8_t use)
{
	if (v->kind == V_GLOBAL && v->fi >= 0) {
		f->w->out->findings[v->fi].called = true;
		f->w->out->findings[v->fi].use |= use;
	}
}

/* copyreg._reconstructor(cls, base, state) and copyreg.__newobj__(cls,
 * ...) are cls.__new__(cls): the class in their first argument is
 * reconstructed, not called. */
static void mark_reconstructed(struct frame *f, const struct val *args)
{
	if (args->kind == V_TUPLE && args->sub == V_GLOBAL && args->fi0 >= 0) {
		f->w->out->findings[args->fi0].called = true;
		f->w->out->findings[args->fi0].use |= PUSE_NEW;
	}
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
		pw_add_error(f, PERR_STACK_UNDERFLOW);
		return OPAQUE;
	}
	return f->st[--f->nst];
}

static struct val *top(struct frame *f)
{
	size_t floor = f->nmarks ? f->marks[f->nmarks - 1] : 0;

	if (f->nst <= floor) {
		pw_add_error(f, PERR_STACK_UNDERFLOW);
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
		pw_add_error(f, PERR_MARK_UNDERFLOW);
		return false;
	}
	m = f->marks[--f->nmarks];
	if (m > f->nst)
		m = f->nst;
	*items = f->st ? f->st + m : NULL; /* nothing pushed yet: no stack */
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

static bool opaque(const struct val *v)
{
	return v->kind == V_ANY && v->fi < 0 && !v->roles && !v->bits && !v->num && !v->num2;
}

static struct memo_ent *memo_slot(struct frame *f, uint64_t key)
{
	uint64_t h = key;
	size_t i;

	/* keys are small and dense: mix all bits before masking */
	h ^= h >> 33;
	h *= 0xff51afd7ed558ccdull;
	h ^= h >> 33;
	i = (size_t)h & (f->tcap - 1);

	while (f->mtab[i].key1 && f->mtab[i].key1 != key + 1)
		i = (i + 1) & (f->tcap - 1);
	return &f->mtab[i];
}

/* Keeps a value for key; false on OOM or when PICKLE_MEMO_VALUES_MAX are kept. */
static bool memo_keep(struct frame *f, uint64_t key, const struct val *v)
{
	struct memo_ent *e;

	if ((f->mused + 1) * 2 > f->tcap) {
		size_t nc = f->tcap ? f->tcap * 2 : 256;
		struct memo_ent *old = f->mtab;
		size_t oc = f->tcap;

		if (f->mused >= PICKLE_MEMO_VALUES_MAX)
			return false;
		if (!(f->mtab = calloc(nc, sizeof(*f->mtab)))) {
			f->mtab = old;
			f->w->oom = true;
			return false;
		}
		f->tcap = nc;
		for (size_t k = 0; k < oc; k++)
			if (old[k].key1)
				*memo_slot(f, old[k].key1 - 1) = old[k];
		free(old);
	}
	e = memo_slot(f, key);
	if (!e->key1)
		f->mused++;
	e->key1 = key + 1;
	e->v = *v;
	return true;
}

/* Every key costs one bit; only values that can matter later (strings,
 * globals, tuples, joblib objects) are kept, so a pickle of millions of
 * plain objects is walked whole in little memory. */
static void memo_put(struct frame *f, uint64_t key, const struct val *v)
{
	struct memo_ent *e;

	if (!v)
		return;
	if (key >= f->w->lim->max_memo) {
		f->w->out->limits_hit |= PLIM_MEMO;
		return;
	}
	if (key >= f->mbits) {
		size_t nb = f->mbits ? f->mbits : 4096;
		uint64_t *ns;

		while (nb <= key)
			nb *= 2;
		if (!(ns = realloc(f->mset, nb / 8))) {
			f->w->oom = true;
			return;
		}
		memset((uint8_t *)ns + f->mbits / 8, 0, (nb - f->mbits) / 8);
		f->mset = ns;
		f->mbits = nb;
	}
	if (!(f->mset[key / 64] & (1ull << (key % 64)))) {
		f->memo_count++;
		f->mset[key / 64] |= 1ull << (key % 64);
		e = NULL; /* a new key has no value kept yet */
	} else {
		e = f->tcap ? memo_slot(f, key) : NULL;
	}
	if (e && e->key1) {
		e->v = *v; /* a PUT again replaces, opaque or not */
		return;
	}
	if (!opaque(v) && !memo_keep(f, key, v)) {
		/* the key reads back as opaque: a name or loader argument
		 * behind it would be missed, so the walk is not clean */
		f->w->out->limits_hit |= PLIM_MEMO;
	}
}

static bool memo_get(struct frame *f, uint64_t key)
{
	struct memo_ent *e;

	if (key < f->mbits && (f->mset[key / 64] & (1ull << (key % 64)))) {
		e = f->tcap ? memo_slot(f, key) : NULL;
		return push(f, e && e->key1 ? e->v : OPAQUE);
	}
	pw_add_error(f, PERR_MEMO_MISS);
	return push(f, OPAQUE);
}

/* ---- argument readers: false = truncated (error already recorded) ---- */

static bool take_uint(struct frame *f, size_t n, uint64_t *v)
{
	const uint8_t *p;

	if (!pw_take(f, n, &p))
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
		pw_add_error(f, PERR_TRUNCATED);
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
	if (!pw_take(f, (size_t)l, p))
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
	pw_add_error(f, PERR_BAD_ARG);
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

/* ---- values ------------------------------------------------------------ */

static struct val tuple_of(const struct val *it, size_t cnt)
{
	struct val t = { .kind = V_TUPLE, .fi = -1, .fi0 = -1, .bits = VB_ALLINT, .num = 1 };

	if (cnt) {
		t.sub = it[0].kind;
		if (it[0].kind == V_GLOBAL)
			t.fi0 = it[0].fi;
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
	t.bits |= cnt == 1 ? VB_UTF8 : cnt >= 2 ? pw_codec_bits(&it[1]) : 0;
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

/* ---- calls ------------------------------------------------------------- */

static size_t walk_one(struct walker *w, const uint8_t *b, size_t len, unsigned depth, bool joblib,
		       size_t src, bool *stopped, size_t *found);

static void walk(struct walker *w, const uint8_t *b, size_t len, unsigned depth, size_t src)
{
	bool stopped;
	size_t found;

	(void)walk_one(w, b, len, depth, false, src, &stopped, &found);
}

/* A loader called on bytes: walk them one level deeper. */
static void maybe_nested(struct frame *f, const struct val *fn, const struct val *args)
{
	struct val it = pw_first_item(args), by;

	if (fn->kind != V_GLOBAL || !(fn->roles & PROLE_LOADER) ||
	    (it.kind != V_BYTES && it.kind != V_STR))
		return;
	if (f->depth + 1 > f->w->lim->max_depth) {
		f->w->out->limits_hit |= PLIM_DEPTH;
		return;
	}
	if (!pw_val_bytes(f, &it, &by))
		return;
	f->w->out->nested++;
	walk(f->w, by.p, by.n, f->depth + 1, pw_in_root(f, &by) ? IN_ROOT : pw_origin(f, &by));
}

/* _codecs.encode(str, enc): latin-1 (how protocols 0-2 carry bytes) or
 * UTF-8; any other encoding is opaque. */
static struct val encode_call(struct frame *f, const struct val *args)
{
	struct val it = pw_first_item(args);
	const uint8_t *p;
	uint8_t *d;
	size_t n;

	if (!(args->bits & (VB_LATIN1 | VB_UTF8)) || !pw_val_text(f, &it, &p, &n))
		return OPAQUE;
	if (args->bits & VB_UTF8)
		return pw_bytes_val(f, &it, p, n, it.enc != E_RAW);
	if (!(d = pw_own(f->w, n)))
		return OPAQUE;
	memcpy(d, p, n);
	if (!pw_utf8_to_latin1(d, n, &n))
		return OPAQUE;
	return pw_bytes_val(f, &it, d, n, true);
}

enum call_kind { CALL_REDUCE, CALL_INST, CALL_NEW };

/* The value a call returns, where the walker needs it: io.BytesIO(b) stays
 * b, _codecs.encode gives bytes, joblib mode builds dtypes and wrappers. */
static struct val call_result(struct frame *f, const struct val *fn, const struct val *args,
			      enum call_kind how, size_t nargs)
{
	struct val it = pw_first_item(args), by;

	if (fn->kind != V_GLOBAL)
		return OPAQUE;
	if (fn->roles & PROLE_JOBLIB_ARRAY)
		return pw_new_wrap(f, how == CALL_NEW || (how == CALL_INST && !nargs) ? A_ABSENT :
											A_UNKNOWN);
	if (how == CALL_NEW || args->kind != V_TUPLE)
		return OPAQUE;
	if ((fn->roles & PROLE_BYTES_WRAPPER) && (it.kind == V_BYTES || it.kind == V_STR))
		return pw_val_bytes(f, &it, &by) ? by : OPAQUE;
	if ((fn->roles & PROLE_CODECS_ENCODE) && it.kind == V_STR)
		return encode_call(f, args);
	if (fn->roles & PROLE_NP_DTYPE)
		return pw_make_dtype(f, args);
	/* copyreg._reconstructor(cls, object, None) is object.__new__(cls) */
	if ((fn->roles & PROLE_RECONSTRUCTOR) && it.kind == V_GLOBAL &&
	    (it.roles & PROLE_JOBLIB_ARRAY))
		return pw_new_wrap(f, A_ABSENT);
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
	struct pw_out chk = { 0 };

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
	case 'I':
	case 'L': /* INT LONG: text line */
		return take_line(f, &p, &n) && push(f, int_line(p, n));
	case 'G': /* BINFLOAT */
		return pw_take(f, 8, &p) && push(f, OPAQUE);
	case 'J':
	case 'K':
	case 'M': /* BININT BININT1 BININT2 */
		n = f->op == 'J' ? 4 : f->op == 'K' ? 1 : 2;
		return pw_take(f, n, &p) && push(f, int_le(p, n, f->op == 'J'));
	case 0x8a:
	case 0x8b: /* LONG1 LONG4 */
		return take_counted(f, f->op == 0x8a ? 1 : 4, &p, &n) &&
		       push(f, int_le(p, n, true));
	case 0x88:
	case 0x89: /* NEWTRUE NEWFALSE: numpy takes them as 1 and 0 */
		return push(f, (struct val){ .kind = V_INT, .fi = -1, .num = f->op == 0x88 });
	case 'N': /* NONE */
		return push(f, (struct val){ .kind = V_NONE, .fi = -1 });
	case ')': /* EMPTY_TUPLE */
		return push(f, tuple_of(NULL, 0));
	case '}': /* EMPTY_DICT */
		return push(f, pw_new_obj(f, O_DICT));
	case ']':
	case 0x8f: /* EMPTY_LIST EMPTY_SET */
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
			pw_add_error(f, PERR_BAD_STRING); /* Python wants the quotes */
		if (!pw_dec_repr(p, n, &chk, false))
			pw_add_error(f, PERR_BAD_STRING);
		return push(f,
			    (struct val){ .kind = V_STR, .enc = E_REPR, .fi = -1, .p = p, .n = n });
	case 'V': /* UNICODE: raw-unicode-escape line */
		if (!take_line(f, &p, &n))
			return false;
		if (!pw_dec_rue(p, n, &chk))
			pw_add_error(f, PERR_BAD_STRING);
		return push(f,
			    (struct val){ .kind = V_STR, .enc = E_RUE, .fi = -1, .p = p, .n = n });
	case 'T':
	case 'U':
	case 'X':
	case 0x8c:
	case 0x8d: /* str forms */
		n = f->op == 'U' || f->op == 0x8c ? 1 : f->op == 0x8d ? 8 : 4;
		if (!take_counted(f, n, &p, &n))
			return false;
		/* py2 BINSTRING may really be bytes (encoding='bytes'); str is
		 * also what loads() gets from a py2 pickle, so both count */
		return push(f, (struct val){ .kind = V_STR, .fi = -1, .p = p, .n = n });
	case 'B':
	case 'C':
	case 0x8e:
	case 0x96: /* BINBYTES SHORT_BINBYTES BINBYTES8 BYTEARRAY8 */
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
	case 'e':
	case 0x90: /* APPENDS ADDITEMS */
		pop_mark(f, &items, &cnt);
		(void)top(f);
		return true;
	case 'u': /* SETITEMS */
		pop_mark(f, &items, &cnt);
		if ((t = top(f)))
			pw_dict_set_items(f, t, items, cnt);
		return true;
	case 's': /* SETITEM */
		c = pop(f);
		b = pop(f);
		if ((t = top(f)))
			pw_dict_set_items(f, t, (struct val[]){ b, c }, 2);
		return true;
	case 'd': /* DICT */
		pop_mark(f, &items, &cnt);
		a = pw_new_obj(f, O_DICT); /* pushes nothing: items stay valid */
		pw_dict_set_items(f, &a, items, cnt);
		return push(f, a);
	case 'l':
	case 0x91: /* LIST FROZENSET */
		pop_mark(f, &items, &cnt);
		return push(f, OPAQUE);
	case 't': /* TUPLE */
		pop_mark(f, &items, &cnt);
		return push(f, tuple_of(items, cnt));
	case 0x85:
	case 0x86:
	case 0x87: { /* TUPLE1-3 */
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
	case 'h':
	case 'j': /* BINGET LONG_BINGET */
		return take_uint(f, f->op == 'h' ? 1 : 4, &u) && memo_get(f, u);
	case 'p': /* PUT */
		if (!take_line(f, &p, &n))
			return false;
		if (parse_key(f, p, n, &u))
			memo_put(f, u, top(f));
		return true;
	case 'q':
	case 'r': /* BINPUT LONG_BINPUT */
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
		return pw_take(f, 1, &p);
	case 'c': /* GLOBAL module\nname\n */
	case 'i': /* INST module\nname\n, args from the mark: a call */
		if (!take_line(f, &p, &n) || !take_line(f, &p2, &n2))
			return false;
		/* the unpickler decodes both lines as strict UTF-8 and refuses
		 * an empty one: nothing is imported, the load stops here */
		if (!n || !n2 || !utf8_valid(p, n, NULL) || !utf8_valid(p2, n2, NULL)) {
			pw_add_error(f, PERR_BAD_GLOBAL);
			return false;
		}
		a = add_import(f, f->op == 'c' ? PIMP_GLOBAL : PIMP_INST, p, n, p2, n2, -1);
		if (f->op == 'i') {
			pop_mark(f, &items, &cnt);
			/* no arguments: cls.__new__(cls); with them, cls(*args) */
			mark_called(f, &a, cnt ? PUSE_CALL : PUSE_NEW);
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
		    !pw_name_text(&a, mb, sizeof(mb), &p, &n) ||
		    !pw_name_text(&b, nb, sizeof(nb), &p2, &n2)) {
			pw_add_error(f, PERR_BAD_GLOBAL);
			return push(f, add_import(f, PIMP_STACK_GLOBAL, NULL, 0, NULL, 0, -1));
		}
		return push(f, add_import(f, PIMP_STACK_GLOBAL, p, n, p2, n2, -1));
	}
	case 0x82:
	case 0x83:
	case 0x84: /* EXT1 EXT2 EXT4: copyreg registry codes */
		if (!take_uint(f, f->op == 0x82 ? 1 : f->op == 0x83 ? 2 : 4, &u))
			return false;
		return push(f, add_import(f, PIMP_EXT, NULL, 0, NULL, 0, (int32_t)u));
	case 'R': /* REDUCE: callable(*args) */
		b = pop(f);
		a = pop(f);
		mark_called(f, &a, PUSE_CALL);
		if (a.kind == V_GLOBAL && (a.roles & PROLE_RECONSTRUCTOR))
			mark_reconstructed(f, &b);
		maybe_nested(f, &a, &b);
		return push(f, call_result(f, &a, &b, CALL_REDUCE, 0));
	case 0x81: /* NEWOBJ: cls.__new__(cls, *args) */
		b = pop(f);
		a = pop(f);
		mark_called(f, &a, PUSE_NEW);
		return push(f, call_result(f, &a, &b, CALL_NEW, 0));
	case 0x92: /* NEWOBJ_EX: cls, args, kwargs */
		(void)pop(f);
		b = pop(f);
		a = pop(f);
		mark_called(f, &a, PUSE_NEW);
		return push(f, call_result(f, &a, &b, CALL_NEW, 0));
	case 'o': /* OBJ: mark, cls, args...: a function here is called too */
		pop_mark(f, &items, &cnt);
		a = cnt ? items[0] : OPAQUE;
		b = tuple_of(cnt ? items + 1 : NULL, cnt ? cnt - 1 : 0);
		mark_called(f, &a, cnt > 1 ? PUSE_CALL : PUSE_NEW);
		maybe_nested(f, &a, &b);
		return push(f, call_result(f, &a, &b, CALL_INST, cnt ? cnt - 1 : 0));
	case 'b': /* BUILD: state for __setstate__/__dict__, not a call of a global */
		b = pop(f);
		if (!(t = top(f)) || !f->joblib)
			return true;
		return pw_build(f, t, &b);
	default:
		pw_add_error(f, PERR_UNKNOWN_OPCODE);
		return false;
	}
}

/* Walks one pickle at b; returns how many bytes it consumed. */
static size_t walk_one(struct walker *w, const uint8_t *b, size_t len, unsigned depth, bool joblib,
		       size_t src, bool *stopped, size_t *found)
{
	struct frame f = {
		.w = w, .b = b, .len = len, .depth = depth, .joblib = joblib, .src = src
	};
	struct pickle_result *r = w->out;
	size_t next = 0; /* opcode count at which the limits are looked at */
	bool failed = false;

	while (f.pos < f.len) {
		/* one opcode can cost its argument's length, and a nested walk
		 * can repeat a memoized string: the clock is read as each walk
		 * starts, then every PICKLE_POLL_OPS opcodes, at the cost of
		 * the one comparison the opcode limit needs anyway */
		if (r->opcodes >= next) {
			if (r->opcodes >= w->lim->max_opcodes) {
				r->limits_hit |= PLIM_OPCODES;
				failed = true;
				break;
			}
			if (budget_time_up(w->lim->budget)) {
				r->limits_hit |= PLIM_TIME;
				failed = true;
				break;
			}
			next = w->lim->max_opcodes - r->opcodes > PICKLE_POLL_OPS ?
				       r->opcodes + PICKLE_POLL_OPS :
				       w->lim->max_opcodes;
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
		pw_add_error(&f, PERR_NO_STOP);
	}
	free(f.st);
	free(f.marks);
	free(f.mset);
	free(f.mtab);
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
	struct walker w = { .root = buf,
			    .prof = profile,
			    .lim = lim ? lim : &pickle_default_limits,
			    .out = out,
			    .walk_one = walk_one };
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

		used = walk_one(&w, buf + pos, len - pos, 0, mode == SCAN_JOBLIB, IN_ROOT, &stopped,
				&found);
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
