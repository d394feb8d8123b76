/* Static pickle walker. Simulates just enough of the unpickler (stack, mark
 * stack, memo) to know which global every call consumes, never executing or
 * importing anything. Offsets are always into the outermost buffer. */
#include <cjson/cJSON.h>
#include <errno.h>
#include <fnmatch.h>
#include <stdlib.h>
#include <string.h>

#include "pickle_scan.h"
#include "textsan.h"

const struct pickle_limits pickle_default_limits = {
	.max_input = 1ull << 30, .max_opcodes = 50u * 1000 * 1000, .max_stack = 100000,
	.max_memo = 1u << 18, .max_findings = 4096, .max_string = 256u << 20, .max_depth = 4,
};

/* ---- profiles ------------------------------------------------------- */

static const char *const data_allow[] = {
	"collections:OrderedDict", "collections:defaultdict", "builtins:set",
	"builtins:frozenset", "builtins:bytearray", "builtins:slice", "builtins:complex",
	"builtins:object", "__builtin__:set", "__builtin__:frozenset", "__builtin__:object",
	/* protocol-2 pickles of py3 bytes go through _codecs.encode(str, 'latin1') */
	"_codecs:encode",
	/* instantiates the class argument, which is judged on its own */
	"copyreg:_reconstructor", "copy_reg:_reconstructor", NULL,
};
const struct pickle_profile pickle_profile_data = { "data", data_allow, NULL };

/* torch.nn.parameter.Parameter is allowed: torch's own weights_only loader
 * accepts it and _rebuild_from_type_v2 names it for Parameter subclasses.
 * torch.storage._load_from_bytes is NOT: it is torch.load on embedded bytes. */
static const char *const torch_allow[] = {
	"torch._utils:_rebuild_tensor_v2", "torch._utils:_rebuild_tensor",
	"torch._utils:_rebuild_parameter", "torch._utils:_rebuild_parameter_with_state",
	"torch._tensor:_rebuild_from_type_v2", "torch:*Storage", "torch:Size", "torch:Tensor",
	"torch.nn.parameter:Parameter", "torch:device", "torch:float16", "torch:float32",
	"torch:float64", "torch:bfloat16", "torch:half", "torch:float", "torch:double",
	"torch:int8", "torch:int16", "torch:int32", "torch:int64", "torch:uint8", "torch:bool",
	"torch:complex64", "torch:complex128", NULL,
};
const struct pickle_profile pickle_profile_torch = { "torch", torch_allow, &pickle_profile_data };

static const char *const numpy_allow[] = {
	"numpy.core.multiarray:_reconstruct", "numpy._core.multiarray:_reconstruct",
	"numpy.core.multiarray:scalar", "numpy._core.multiarray:scalar",
	"numpy.core.numeric:_frombuffer", "numpy._core.numeric:_frombuffer",
	"numpy:ndarray", "numpy:dtype", "numpy.dtypes:*DType", NULL,
};
const struct pickle_profile pickle_profile_numpy = { "numpy", numpy_allow, &pickle_profile_data };

static const char *const sklearn_allow[] = {
	"sklearn.*:*", "joblib.numpy_pickle:NumpyArrayWrapper",
	"sklearn.externals.joblib.numpy_pickle:NumpyArrayWrapper", NULL,
};
const struct pickle_profile pickle_profile_sklearn = { "sklearn", sklearn_allow,
						       &pickle_profile_numpy };

/* Known code-execution primitives: malicious whatever the profile. */
static const char *const deny[] = {
	"os:*", "os.*:*", "posix:*", "nt:*", "subprocess:*", "runpy:*", "pty:*", "socket:*",
	"importlib:*", "importlib.*:*", "marshal:*", "pip:*", "pip.*:*", "shutil:*", "sys:*",
	"ctypes:*", "ctypes.*:*", "webbrowser:*", "code:*", "timeit:*", "pdb:*",
	"cProfile:run", "cProfile:runctx", "profile:run", "profile:runctx",
	"pkgutil:resolve_name", "operator:attrgetter", "operator:methodcaller",
	"_operator:attrgetter", "_operator:methodcaller",
	"builtins:exec", "builtins:eval", "builtins:compile", "builtins:__import__",
	"builtins:getattr", "builtins:setattr", "builtins:open", "builtins:breakpoint",
	"__builtin__:exec", "__builtin__:eval", "__builtin__:compile", "__builtin__:__import__",
	"__builtin__:getattr", "__builtin__:open", "__builtin__:execfile", NULL,
};
/* Modules that, met as a component of a dotted name (protocol 4 resolves
 * "a.b.c" by getattr), reach a denied module through another one. */
static const char *const deny_components[] = {
	"os", "posix", "nt", "subprocess", "sys", "builtins", "__builtins__", "importlib",
	"runpy", "pty", "socket", "shutil", "ctypes", "marshal", NULL,
};

/* Callables that unpickle their argument: the bytes they get are walked. */
static const char *const loaders[] = {
	"pickle:loads", "pickle:load", "_pickle:loads", "_pickle:load", "torch:load",
	"torch.serialization:load", "torch.storage:_load_from_bytes", "numpy:loads",
	"joblib:load", "cloudpickle:loads", "cloudpickle:load", "dill:loads", "dill:load", NULL,
};
/* io.BytesIO(b) is passed on as b, so loader(BytesIO(b)) is walked too. */
static const char *const bytes_wrappers[] = { "io:BytesIO", "_io:BytesIO", NULL };

static bool pat_match(const char *pat, const char *module, const char *name)
{
	const char *colon = strchr(pat, ':');
	char mpat[128];
	size_t ml;

	if (!colon || (ml = (size_t)(colon - pat)) >= sizeof(mpat))
		return false;
	memcpy(mpat, pat, ml);
	mpat[ml] = 0;
	if (fnmatch(mpat, module, 0) != 0 || fnmatch(colon + 1, name, 0) != 0)
		return false;
	/* a glob must not grant attribute traversal or dunder access */
	if (strchr(colon + 1, '*') && (strchr(name, '.') || !strncmp(name, "__", 2)))
		return false;
	return true;
}

static bool list_match(const char *const *l, const char *module, const char *name)
{
	for (; l && *l; l++)
		if (pat_match(*l, module, name))
			return true;
	return false;
}

static bool dotted_denied(const char *name)
{
	const char *s = name, *dot;
	char comp[PICKLE_NAME_MAX + 1];

	while ((dot = strchr(s, '.'))) {
		size_t n = (size_t)(dot - s);
		memcpy(comp, s, n);
		comp[n] = 0;
		for (const char *const *d = deny_components; *d; d++)
			if (!strcmp(comp, *d))
				return true;
		s = dot + 1;
	}
	return false;
}

enum pickle_severity pickle_judge(const char *module, const char *name,
				  const struct pickle_profile *profile)
{
	if (list_match(deny, module, name) || dotted_denied(name))
		return PSEV_MALICIOUS;
	for (const struct pickle_profile *p = profile; p; p = p->base)
		if (list_match(p->allow, module, name))
			return PSEV_ALLOWED;
	return PSEV_SUSPICIOUS;
}

/* ---- walker state ----------------------------------------------------- */

enum vkind { V_ANY = 0, V_STR, V_BYTES, V_GLOBAL, V_TUPLE };

/* A stack value: strings and bytes are slices of the input, a tuple keeps
 * only its first item (enough for loads(b) / STACK_GLOBAL). */
struct val {
	uint8_t kind, sub;        /* sub: first item's kind (tuple) */
	bool loader, wrapper;     /* V_GLOBAL: a loader / io.BytesIO */
	int32_t fi;               /* V_GLOBAL: finding index, -1 if dropped */
	const uint8_t *p;
	size_t n;
};

struct memo_slot { struct val v; bool set; };

struct walker {
	const uint8_t *root;
	const struct pickle_profile *prof;
	const struct pickle_limits *lim;
	struct pickle_result *out;
	bool oom;
};

struct frame {                /* one pickle being walked */
	struct walker *w;
	const uint8_t *b;
	size_t len, pos, op_off;
	unsigned depth;
	uint8_t op;
	struct val *st;
	size_t nst, cap;
	size_t *marks;
	size_t nmarks, mcap;
	struct memo_slot *memo;
	size_t mlen, memo_count;
	size_t found;             /* imports this frame recorded (dropped ones too) */
	bool stopped;
};

static void add_error(struct frame *f, enum pickle_err_kind k)
{
	struct pickle_result *r = f->w->out;

	if (r->nerrors < PICKLE_MAX_ERRORS)
		r->errors[r->nerrors] = (struct pickle_error){
			.kind = k, .offset = (size_t)(f->b - f->w->root) + f->op_off,
			.opcode = f->op, .depth = f->depth };
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
	struct pickle_finding fd = { .offset = (size_t)(f->b - w->root) + f->op_off,
				     .opcode = f->op, .kind = kind, .ext_code = ext,
				     .depth = f->depth };
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
	fd.loader = kind != PIMP_EXT && list_match(loaders, fd.module, fd.name);
	v.loader = fd.loader;
	v.wrapper = kind != PIMP_EXT && list_match(bytes_wrappers, fd.module, fd.name);
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
		return (struct val){ .fi = -1 };
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

/* Pops back to the innermost mark; *first gets the item just above it. */
static bool pop_mark(struct frame *f, struct val *first, size_t *count)
{
	size_t m;

	if (!f->nmarks) {
		add_error(f, PERR_MARK_UNDERFLOW);
		if (first)
			*first = (struct val){ .fi = -1 };
		if (count)
			*count = 0;
		return false;
	}
	m = f->marks[--f->nmarks];
	if (m > f->nst)
		m = f->nst;
	if (first)
		*first = m < f->nst ? f->st[m] : (struct val){ .fi = -1 };
	if (count)
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
	return push(f, (struct val){ .fi = -1 });
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

static void walk(struct walker *w, const uint8_t *b, size_t len, unsigned depth);

/* A loader called on bytes: walk them one level deeper. */
static void maybe_nested(struct frame *f, const struct val *fn, const struct val *args)
{
	if (fn->kind != V_GLOBAL || !fn->loader || args->kind != V_TUPLE ||
	    (args->sub != V_BYTES && args->sub != V_STR))
		return;
	if (f->depth + 1 > f->w->lim->max_depth) {
		f->w->out->limits_hit |= PLIM_DEPTH;
		return;
	}
	f->w->out->nested++;
	walk(f->w, args->p, args->n, f->depth + 1);
}

/* The value a call returns: io.BytesIO(b) stays b, the rest is opaque. */
static struct val call_result(const struct val *fn, const struct val *args)
{
	if (fn->kind == V_GLOBAL && fn->wrapper && args->kind == V_TUPLE && args->sub == V_BYTES)
		return (struct val){ .kind = V_BYTES, .fi = -1, .p = args->p, .n = args->n };
	return (struct val){ .fi = -1 };
}

static struct val tuple_of(const struct val *first, size_t count)
{
	struct val t = { .kind = V_TUPLE, .fi = -1 };

	if (count && (first->kind == V_STR || first->kind == V_BYTES)) {
		t.sub = first->kind;
		t.p = first->p;
		t.n = first->n;
	}
	return t;
}

/* One opcode. Returns false when the walk cannot sensibly go on. */
static bool step(struct frame *f)
{
	const uint8_t *p, *p2;
	size_t n, n2, cnt;
	uint64_t u;
	struct val a, b, *t;

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
		pop_mark(f, NULL, NULL);
		return true;
	case '2': /* DUP */
		return (t = top(f)) ? push(f, *t) : push(f, (struct val){ .fi = -1 });
	case 'F': case 'I': case 'L': /* FLOAT INT LONG: text line */
		return take_line(f, &p, &n) && push(f, (struct val){ .fi = -1 });
	case 'J': case 'K': case 'M': case 'G': /* BININT BININT1 BININT2 BINFLOAT */
		n = f->op == 'J' ? 4 : f->op == 'K' ? 1 : f->op == 'M' ? 2 : 8;
		return take(f, n, &p) && push(f, (struct val){ .fi = -1 });
	case 0x8a: case 0x8b: /* LONG1 LONG4 */
		return take_counted(f, f->op == 0x8a ? 1 : 4, &p, &n) &&
		       push(f, (struct val){ .fi = -1 });
	case 'N': case 0x88: case 0x89: /* NONE NEWTRUE NEWFALSE */
	case ')': case ']': case '}': case 0x8f: /* EMPTY_TUPLE/LIST/DICT/SET */
		if (f->op == ')')
			return push(f, (struct val){ .kind = V_TUPLE, .fi = -1 });
		return push(f, (struct val){ .fi = -1 });
	case 'P': /* PERSID: torch storage references, recorded only */
		if (!take_line(f, &p, &n))
			return false;
		f->w->out->persids++;
		return push(f, (struct val){ .fi = -1 });
	case 'Q': /* BINPERSID */
		(void)pop(f);
		f->w->out->persids++;
		return push(f, (struct val){ .fi = -1 });
	case 'S': /* STRING: quoted repr; quotes dropped, escapes kept */
		if (!take_line(f, &p, &n))
			return false;
		if (n >= 2 && (p[0] == '\'' || p[0] == '"') && p[n - 1] == p[0])
			p++, n -= 2;
		return push(f, (struct val){ .kind = V_STR, .fi = -1, .p = p, .n = n });
	case 'V': /* UNICODE: raw-unicode-escape line */
		if (!take_line(f, &p, &n))
			return false;
		return push(f, (struct val){ .kind = V_STR, .fi = -1, .p = p, .n = n });
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
		return push(f, (struct val){ .fi = -1 });
	case 0x98: /* READONLY_BUFFER */
		(void)top(f);
		return true;
	case 'a': /* APPEND */
		(void)pop(f);
		(void)top(f);
		return true;
	case 'e': case 'u': case 0x90: /* APPENDS SETITEMS ADDITEMS */
		pop_mark(f, NULL, NULL);
		(void)top(f);
		return true;
	case 's': /* SETITEM */
		(void)pop(f);
		(void)pop(f);
		(void)top(f);
		return true;
	case 'l': case 'd': case 0x91: /* LIST DICT FROZENSET */
		pop_mark(f, NULL, NULL);
		return push(f, (struct val){ .fi = -1 });
	case 't': /* TUPLE */
		pop_mark(f, &a, &cnt);
		return push(f, tuple_of(&a, cnt));
	case 0x85: case 0x86: case 0x87: /* TUPLE1-3 */
		cnt = (size_t)(f->op - 0x84);
		for (size_t i = 0; i < cnt; i++)
			a = pop(f);                 /* the last popped is the first item */
		return push(f, tuple_of(&a, cnt));
	case 'g': /* GET */
		if (!take_line(f, &p, &n))
			return false;
		if (!parse_key(f, p, n, &u))
			return push(f, (struct val){ .fi = -1 });
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
	case 0x95: /* FRAME: a length hint only */
		return take(f, 8, &p);
	case 0x80: /* PROTO */
		return take(f, 1, &p);
	case 'c': /* GLOBAL module\nname\n */
	case 'i': /* INST module\nname\n, args from the mark: a call */
		if (!take_line(f, &p, &n) || !take_line(f, &p2, &n2))
			return false;
		a = add_import(f, f->op == 'c' ? PIMP_GLOBAL : PIMP_INST, p, n, p2, n2, -1);
		if (f->op == 'i') {
			mark_called(f, &a);
			pop_mark(f, &b, &cnt);
			b = tuple_of(&b, cnt);
			maybe_nested(f, &a, &b);
			a = call_result(&a, &b);
		}
		return push(f, a);
	case 0x93: /* STACK_GLOBAL: module and name strings from the stack */
		b = pop(f);
		a = pop(f);
		if (a.kind != V_STR || b.kind != V_STR) {
			add_error(f, PERR_BAD_GLOBAL);
			return push(f, add_import(f, PIMP_STACK_GLOBAL, NULL, 0, NULL, 0, -1));
		}
		return push(f, add_import(f, PIMP_STACK_GLOBAL, a.p, a.n, b.p, b.n, -1));
	case 0x82: case 0x83: case 0x84: /* EXT1 EXT2 EXT4: copyreg registry codes */
		if (!take_uint(f, f->op == 0x82 ? 1 : f->op == 0x83 ? 2 : 4, &u))
			return false;
		return push(f, add_import(f, PIMP_EXT, NULL, 0, NULL, 0, (int32_t)u));
	case 'R': /* REDUCE: callable(*args) */
		b = pop(f);
		a = pop(f);
		mark_called(f, &a);
		maybe_nested(f, &a, &b);
		return push(f, call_result(&a, &b));
	case 0x81: /* NEWOBJ: cls.__new__(cls, *args) */
		(void)pop(f);
		a = pop(f);
		mark_called(f, &a);
		return push(f, (struct val){ .fi = -1 });
	case 0x92: /* NEWOBJ_EX: cls, args, kwargs */
		(void)pop(f);
		(void)pop(f);
		a = pop(f);
		mark_called(f, &a);
		return push(f, (struct val){ .fi = -1 });
	case 'o': /* OBJ: mark, cls, args... */
		pop_mark(f, &a, &cnt);
		mark_called(f, &a);
		return push(f, (struct val){ .fi = -1 });
	case 'b': /* BUILD: state for __setstate__/__dict__, not a call of a global */
		(void)pop(f);
		(void)top(f);
		return true;
	default:
		add_error(f, PERR_UNKNOWN_OPCODE);
		return false;
	}
}

/* Walks one pickle at b; returns how many bytes it consumed. */
static size_t walk_one(struct walker *w, const uint8_t *b, size_t len, unsigned depth,
		       bool *stopped, size_t *found)
{
	struct frame f = { .w = w, .b = b, .len = len, .depth = depth };
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
	*stopped = f.stopped;
	*found = f.found;
	return f.pos;
}

static void walk(struct walker *w, const uint8_t *b, size_t len, unsigned depth)
{
	bool stopped;
	size_t found;

	(void)walk_one(w, b, len, depth, &stopped, &found);
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

static int scan(const uint8_t *buf, size_t len, const struct pickle_profile *profile,
		const struct pickle_limits *lim, struct pickle_result *out, bool stream)
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
	do {
		size_t errs = out->nerrors, nf = out->nfindings, drop = out->findings_dropped;
		bool stopped;
		size_t found, used;

		used = walk_one(&w, buf + pos, len - pos, 0, &stopped, &found);
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
		out->trailing = stopped && pos < len;
		out->trailing_offset = out->trailing ? pos : 0;
		if (!stopped || w.oom)
			break;
	} while (stream && pos < len);
	verdict(out);
	return w.oom ? -ENOMEM : 0;
}

int pickle_scan_opts(const uint8_t *buf, size_t len, const struct pickle_profile *profile,
		     const struct pickle_limits *lim, struct pickle_result *out)
{
	return scan(buf, len, profile, lim, out, false);
}

int pickle_scan(const uint8_t *buf, size_t len, const struct pickle_profile *profile,
		struct pickle_result *out)
{
	return scan(buf, len, profile, NULL, out, false);
}

int pickle_scan_stream(const uint8_t *buf, size_t len, const struct pickle_profile *profile,
		       const struct pickle_limits *lim, struct pickle_result *out)
{
	return scan(buf, len, profile, lim, out, true);
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
					 "bad-stack-global", "no-stop" };
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
