// SPDX-License-Identifier: GPL-2.0
/*
 * Python audit probes: the interpreter's own python:audit USDT probe, or a
 * uprobe on PySys_Audit where a build has no probes. Every audit event
 * costs a name lookup; pickle.find_class is judged against the allowlist
 * (map py_patterns) for every process, and a global outside it marks the
 * process here, before find_class returns: the payload the unpickler is
 * about to call forks and execs under the mark. Other events are read for
 * marked processes only. Where CPython keeps what is read comes from user
 * space per interpreter (map py_layouts, by the attach cookie).
 *
 * Threat model: docs/threat-model.md §2.1 (marking), docs/python.md.
 */
#include "common.bpf.h"
#include <bpf/usdt.bpf.h>

/* PyTypeObject.tp_flags: what a type is a subclass of (3.8 to 3.13) */
#define PY_TPF_LONG (1ull << 24)
#define PY_TPF_LIST (1ull << 25)
#define PY_TPF_TUPLE (1ull << 26)
#define PY_TPF_BYTES (1ull << 27)
#define PY_TPF_UNICODE (1ull << 28)

/* PyASCIIObject.state bits */
#define PY_STR_KIND(s) (((s) >> 2) & 7)
#define PY_STR_COMPACT (1u << 5)
#define PY_STR_ASCII (1u << 6)

/* Items of a sequence argument (argv) read at most. */
#define PY_SEQ_ITEMS 16
/* Bytes of a PySys_Audit format string read. */
#define PY_FMT_MAX 32

/* Where an argument comes from: an object of the tuple (or a PySys_Audit
 * "O"), a C string or buffer ("s", "y#"), a C integer ("n", "i"), none,
 * or something the uprobe cannot read (a nested tuple, a float). */
enum py_src_how { PY_SRC_NONE, PY_SRC_OBJ, PY_SRC_CSTR, PY_SRC_INT, PY_SRC_FAULT };
struct py_src {
	u64 v;
	s64 len; /* PY_SRC_CSTR: bytes, -1 up to the NUL */
	u32 how;
	u32 _pad;
};

/* The per-CPU work area (in `scratch`): the record, its arguments right
 * behind it, and what is too big for the 512-byte stack. */
#define PY_DATA_MAX (MLW_PY_ARGS * MLW_PY_ARG_MAX)
/* the record's data[] is `data` here: it follows the record's fields */
#pragma clang diagnostic push
#pragma clang diagnostic ignored "-Wgnu-variable-sized-type-not-at-end"
struct py_work {
	struct mlw_python rec;
	char data[2 * PY_DATA_MAX]; /* used up to PY_DATA_MAX; slack for the verifier */
	struct mlw_py_seen_key sk;  /* sk.g: the global, NUL-padded */
	struct mlw_py_evkey ek;
	struct mlw_py_layout lay;
	struct mlw_py_evspec spec;
	struct py_src src[MLW_PY_ARGS];
	char fmt[PY_FMT_MAX];
	u64 va[8];    /* PySys_Audit: the variadic registers, */
	u64 va_stack; /* where the stack ones start, */
	u32 va_j;     /* the next one to take */
	u32 fmt_item, fmt_depth;
	u8 fmt_skip, va_lost;
	u32 off; /* bytes of data[] used */
	u32 mod_len, name_len;
	u8 name_odd;   /* the name has a '.' or starts with "__" */
	u8 unreadable; /* the global could not be read whole: never allowed */
};
#pragma clang diagnostic pop
_Static_assert(__builtin_offsetof(struct py_work, data) == sizeof(struct mlw_python),
	       "the arguments follow the record");
_Static_assert(sizeof(struct py_work) < MLW_SCRATCH_SIZE / 2, "fits the scratch buffer");

/* Offsets into the work area the text reader writes to (masked). */
#define PY_AT_MASK 0x1fff
#define PY_AT_DATA (__builtin_offsetof(struct py_work, data))
#define PY_AT_MOD (__builtin_offsetof(struct py_work, sk.g.mod))
#define PY_AT_NAME (__builtin_offsetof(struct py_work, sk.g.name))

static __always_inline struct py_work *py_work(void)
{
	return scratch_buf();
}

static __always_inline u64 rd64(u64 addr, bool *bad)
{
	u64 v = 0;

	if (bpf_probe_read_user(&v, sizeof(v), (const void *)addr))
		*bad = true;
	return v;
}

/* The type flags of obj; 0 with *bad set if unreadable. */
static __always_inline u64 py_tpflags(const struct mlw_py_layout *l, u64 obj, bool *bad)
{
	u64 type;

	if (!obj) {
		*bad = true;
		return 0;
	}
	type = rd64(obj + l->ob_type, bad);
	if (*bad || !type)
		return 0;
	return rd64(type + l->tp_flags, bad);
}

static __always_inline void py_fault(struct py_work *w, u32 arg)
{
	w->rec.enc[arg & (MLW_PY_ARGS - 1)] = MLW_PY_ENC_FAULT;
	w->rec.pyflags |= MLW_PY_F_FAULT;
	count(MLW_CNT_PY_FAULT);
}

/*
 * A str or bytes object, or a C buffer (src how), into the work area at
 * `at`, at most max bytes (<= MLW_PY_ARG_MAX): sets enc[arg] and size[arg]
 * and returns the bytes written. A str is read as it is kept: compact
 * ASCII as is, compact non-ASCII through its cached UTF-8 if it has one,
 * else its code units (the enc says which); a legacy (not compact) str is
 * not read. how_arg: PY_SRC_* | arg << 8 (BPF calls take five arguments).
 */
static __noinline u32 py_read_text(u64 obj, s64 clen, u32 at, u32 max, u32 how_arg)
{
	u32 how = how_arg & 0xff, arg = how_arg >> 8;
	struct py_work *w = py_work();
	const struct mlw_py_layout *l;
	u64 tpf, chars = 0, bytes = 0, src = 0, p;
	u32 state = 0, unit = 1, n;
	u8 enc = MLW_PY_ENC_NONE;
	bool bad = false;

	if (!w)
		return 0;
	arg &= MLW_PY_ARGS - 1;
	l = &w->lay;
	if (how == PY_SRC_CSTR) {
		if (clen < 0) {
			long r = bpf_probe_read_user_str((char *)w + (at & PY_AT_MASK),
							 MLW_PY_ARG_MAX, (const void *)obj);

			if (r <= 0) {
				py_fault(w, arg);
				return 0;
			}
			n = (u32)r - 1; /* without the NUL */
			if (n > max)
				n = max;
			if (r >= MLW_PY_ARG_MAX) {
				w->rec.pyflags |= MLW_PY_F_TRUNC;
				count(MLW_CNT_PY_TRUNC);
			}
			w->rec.enc[arg] = MLW_PY_ENC_UTF8;
			w->rec.size[arg] = n;
			return n;
		}
		chars = bytes = (u64)clen;
		src = obj;
		enc = MLW_PY_ENC_BYTES;
		goto copy;
	}
	if (how != PY_SRC_OBJ) {
		if (how == PY_SRC_FAULT)
			py_fault(w, arg);
		else
			w->rec.enc[arg] = MLW_PY_ENC_NONE;
		return 0;
	}
	tpf = py_tpflags(l, obj, &bad);
	if (bad)
		goto fault;
	if (tpf & PY_TPF_UNICODE) {
		chars = rd64(obj + l->str_length, &bad);
		if (bpf_probe_read_user(&state, sizeof(state), (const void *)(obj + l->str_state)))
			bad = true;
		if (bad || !(state & PY_STR_COMPACT))
			goto fault;
		if (state & PY_STR_ASCII) {
			bytes = chars;
			src = obj + l->str_ascii;
			enc = MLW_PY_ENC_UTF8;
		} else if ((p = rd64(obj + l->str_utf8, &bad))) {
			/* utf8_length is the field before utf8 */
			bytes = rd64(obj + l->str_utf8 - 8, &bad);
			src = p;
			enc = MLW_PY_ENC_UTF8;
		} else {
			unit = PY_STR_KIND(state);
			enc = unit == 1 ? MLW_PY_ENC_LATIN1 :
			      unit == 2 ? MLW_PY_ENC_UCS2 :
			      unit == 4 ? MLW_PY_ENC_UCS4 :
					  MLW_PY_ENC_FAULT;
			if (enc == MLW_PY_ENC_FAULT)
				goto fault;
			bytes = chars * unit;
			src = obj + l->str_compact;
		}
		if (bad)
			goto fault;
	} else if (tpf & PY_TPF_BYTES) {
		chars = bytes = rd64(obj + l->ob_size, &bad);
		src = obj + l->bytes_data;
		enc = MLW_PY_ENC_BYTES;
		if (bad)
			goto fault;
	} else {
		w->rec.enc[arg] = MLW_PY_ENC_NONE; /* another type: not read */
		return 0;
	}
copy:
	if (max > MLW_PY_ARG_MAX)
		max = MLW_PY_ARG_MAX;
	n = bytes > max ? max : (u32)bytes;
	if (n < bytes) {
		n &= ~(unit - 1); /* whole code units */
		w->rec.pyflags |= MLW_PY_F_TRUNC;
		count(MLW_CNT_PY_TRUNC);
	}
	n &= 2 * MLW_PY_ARG_MAX - 1;
	if (bpf_probe_read_user((char *)w + (at & PY_AT_MASK), n, (const void *)src))
		goto fault;
	w->rec.enc[arg] = enc;
	w->rec.size[arg] = (u32)chars;
	return n;
fault:
	py_fault(w, arg);
	return 0;
}

/* An int object as 8 bytes, little-endian (30-bit digits). */
static __noinline u32 py_read_int(u64 obj, u32 at, u32 arg)
{
	struct py_work *w = py_work();
	const struct mlw_py_layout *l;
	u32 d[3] = {}, nd;
	bool bad = false, neg;
	u64 tpf, v;

	if (!w)
		return 0;
	arg &= MLW_PY_ARGS - 1;
	l = &w->lay;
	tpf = py_tpflags(l, obj, &bad);
	if (bad) {
		py_fault(w, arg);
		return 0;
	}
	if (!(tpf & PY_TPF_LONG)) {
		w->rec.enc[arg] = MLW_PY_ENC_NONE;
		return 0;
	}
	if (l->flags & MLW_PY_L_LONG_TAG) {
		u64 tag = rd64(obj + l->ob_size, &bad);

		neg = (tag & 3) == 2;
		nd = (u32)(tag >> 3);
	} else {
		s64 size = (s64)rd64(obj + l->ob_size, &bad);

		neg = size < 0;
		nd = (u32)(neg ? -size : size);
	}
	if (bpf_probe_read_user(d, sizeof(d), (const void *)(obj + l->long_digit)))
		bad = true;
	if (bad) {
		py_fault(w, arg);
		return 0;
	}
	v = nd > 0 ? d[0] : 0;
	if (nd > 1)
		v |= (u64)d[1] << 30;
	if (nd > 2)
		v |= (u64)d[2] << 60;
	if (nd > 3 || (nd == 3 && d[2] > 15)) {
		w->rec.pyflags |= MLW_PY_F_TRUNC;
		count(MLW_CNT_PY_TRUNC);
	}
	if (neg)
		v = -v;
	*(u64 *)((char *)w + (at & PY_AT_MASK)) = v;
	w->rec.enc[arg] = MLW_PY_ENC_INT;
	w->rec.size[arg] = nd;
	return 8;
}

/* Appends one record argument from a source; false when the record is
 * full. */
static __always_inline bool py_put(struct py_work *w, u32 *r, u32 how, u64 v, s64 len, bool num)
{
	u32 a = *r, n;

	if (a >= MLW_PY_ARGS || w->off > PY_DATA_MAX - MLW_PY_ARG_MAX)
		return false;
	if (how == PY_SRC_INT) {
		*(u64 *)(w->data + (w->off & (PY_DATA_MAX - 1))) = v;
		w->rec.enc[a] = MLW_PY_ENC_INT;
		w->rec.size[a] = 8;
		n = 8;
	} else if (num && how == PY_SRC_OBJ) {
		n = py_read_int(v, PY_AT_DATA + w->off, a);
	} else {
		n = py_read_text(v, len, PY_AT_DATA + w->off, MLW_PY_ARG_MAX, how | a << 8);
	}
	w->rec.len[a] = (u16)n;
	w->off += n;
	*r = a + 1;
	return true;
}

/* A list or tuple of str/bytes (argv): the items back to back, each with
 * its NUL; size[] is the item count. */
static __noinline void py_put_seq(u64 obj, u32 a)
{
	struct py_work *w = py_work();
	const struct mlw_py_layout *l;
	u64 tpf, items, count_items;
	u32 used = 0, start;
	bool bad = false;

	if (!w || a >= MLW_PY_ARGS || w->off > PY_DATA_MAX - MLW_PY_ARG_MAX)
		return;
	l = &w->lay;
	start = w->off;
	tpf = py_tpflags(l, obj, &bad);
	count_items = rd64(obj + l->ob_size, &bad);
	if (tpf & PY_TPF_TUPLE)
		items = obj + l->tuple_item;
	else
		items = rd64(obj + l->list_item, &bad);
	if (bad) {
		py_fault(w, a);
		w->rec.len[a] = 0;
		return;
	}
	for (int i = 0; i < PY_SEQ_ITEMS; i++) {
		u64 item;
		u32 n;

		if (i >= count_items || used >= MLW_PY_ARG_MAX - 1)
			break;
		item = rd64(items + 8 * i, &bad);
		if (bad)
			break;
		n = py_read_text(item, 0, PY_AT_DATA + ((start + used) & 0x7ff),
				 MLW_PY_ARG_MAX - 1 - used, PY_SRC_OBJ | a << 8);
		used += n;
		w->data[(start + used) & (2 * PY_DATA_MAX - 1)] = 0;
		used++;
	}
	if (count_items > PY_SEQ_ITEMS || used >= MLW_PY_ARG_MAX - 1) {
		w->rec.pyflags |= MLW_PY_F_TRUNC;
		count(MLW_CNT_PY_TRUNC);
	}
	if (used > MLW_PY_ARG_MAX)
		used = MLW_PY_ARG_MAX;
	if (bad) {
		py_fault(w, a);
	} else {
		w->rec.enc[a] = MLW_PY_ENC_SEQ;
		w->rec.size[a] = (u32)count_items;
	}
	w->rec.len[a] = (u16)used;
	w->off = start + used;
}

/* The arguments the event's spec asks for, in tuple order. */
static __noinline void py_put_args(void)
{
	struct py_work *w = py_work();
	u32 r = 0;

	if (!w)
		return;
	for (int i = 0; i < MLW_PY_ARGS; i++) {
		struct py_src *s = &w->src[i];
		u8 kind = w->spec.arg[i];
		bool bad = false;
		u64 tpf;

		if (kind == MLW_PY_ARG_SKIP)
			continue;
		if (kind == MLW_PY_ARG_INT) {
			if (!py_put(w, &r, s->how, s->v, s->len, true))
				break;
			continue;
		}
		tpf = s->how == PY_SRC_OBJ ? py_tpflags(&w->lay, s->v, &bad) : 0;
		if (kind == MLW_PY_ARG_SEQ && !bad && (tpf & (PY_TPF_LIST | PY_TPF_TUPLE))) {
			if (r >= MLW_PY_ARGS)
				break;
			py_put_seq(s->v, r);
			r++;
			continue;
		}
		if (kind == MLW_PY_ARG_ADDR && !bad && (tpf & PY_TPF_TUPLE)) {
			u64 items = s->v + w->lay.tuple_item;
			u64 host = rd64(items, &bad), port = rd64(items + 8, &bad);

			if (bad) {
				if (!py_put(w, &r, PY_SRC_FAULT, 0, 0, false) ||
				    !py_put(w, &r, PY_SRC_FAULT, 0, 0, true))
					break;
				continue;
			}
			if (!py_put(w, &r, PY_SRC_OBJ, host, 0, false) ||
			    !py_put(w, &r, PY_SRC_OBJ, port, 0, true))
				break;
			continue;
		}
		/* STR, or a SEQ / ADDR given as one str (a command line, an
		 * AF_UNIX path): the ADDR's port is then absent */
		if (!py_put(w, &r, bad ? PY_SRC_FAULT : s->how, s->v, s->len, false))
			break;
		if (kind == MLW_PY_ARG_ADDR && !py_put(w, &r, PY_SRC_NONE, 0, 0, true))
			break;
	}
	w->rec.nargs = (u8)r;
}

/* ---- the allowlist ----------------------------------------------------- */

static __always_inline bool py_side(const char *key, u32 klen, const char *pat, u32 plen, u32 kind)
{
	u32 start = 0;

	if (kind == MLW_PY_M_ANY)
		return true;
	if (plen > MLW_PY_PAT_LEN || plen > klen || (kind == MLW_PY_M_EXACT && plen != klen))
		return false;
	if (kind == MLW_PY_M_SUFFIX)
		start = klen - plen;
	for (int j = 0; j < MLW_PY_PAT_LEN; j++) {
		if (j >= plen)
			break;
		if (key[(start + j) & (MLW_PY_NAME_MAX - 1)] != pat[j])
			return false;
	}
	return true;
}

struct py_judge_ctx {
	u32 verdict;
};

/* Deny patterns come first in the table: the first match decides. A
 * wildcard on the name side of an allow pattern never matches a dotted or
 * dunder name; a deny one does (the kernel may be stricter, not looser). */
static long py_judge_one(u32 i, void *vctx)
{
	struct py_judge_ctx *c = vctx;
	struct py_work *w = py_work();
	const struct mlw_py_pattern *p = bpf_map_lookup_elem(&py_patterns, &i);

	if (!w || !p || p->mod_kind == MLW_PY_M_END)
		return 1;
	if (p->verdict == MLW_PY_V_ALLOW && w->name_odd &&
	    (p->name_kind != MLW_PY_M_EXACT || w->name_odd > 1))
		return 0;
	if (!py_side(w->sk.g.mod, w->mod_len, p->mod, p->mod_len, p->mod_kind) ||
	    !py_side(w->sk.g.name, w->name_len, p->name, p->name_len, p->name_kind))
		return 0;
	c->verdict = p->verdict;
	return 1;
}

/* 1: the name starts with "__"; 2: it has a '.' (never allowed). */
static __always_inline u8 py_name_odd(const struct py_work *w)
{
	u8 odd = w->sk.g.name[0] == '_' && w->sk.g.name[1] == '_';

	for (int i = 0; i < MLW_PY_NAME_MAX; i++) {
		char ch = w->sk.g.name[i];

		if (!ch)
			break;
		if (ch == '.')
			return 2;
	}
	return odd;
}

static __always_inline u32 py_verdict(struct py_work *w)
{
	struct py_judge_ctx c = { .verdict = MLW_PY_V_UNLISTED };
	u8 *cached, v;

	if (w->unreadable)
		return MLW_PY_V_UNLISTED;
	cached = bpf_map_lookup_elem(&py_verdicts, &w->sk.g);
	if (cached)
		return *cached;
	w->name_odd = py_name_odd(w);
	bpf_loop(MLW_PY_PATTERNS, py_judge_one, &c, 0);
	count(MLW_CNT_PY_JUDGED);
	v = (u8)c.verdict;
	bpf_map_update_elem(&py_verdicts, &w->sk.g, &v, BPF_ANY);
	return c.verdict;
}

/* Marks the current process as the loader of what it unpickles, or adds
 * the reason to the mark it has. true: a new mark. */
static __always_inline bool py_mark(u32 tgid)
{
	struct mlw_mark_state *s = lookup_mark(tgid);
	u64 now = bpf_ktime_get_ns();
	struct mlw_mark_state m = {
		.m = { .loader_tgid = tgid, .reason = MLW_MARK_PYTHON, .mark_ns = now },
		.model_ns = now,
	};

	if (s) {
		if (!(s->m.reason & MLW_MARK_PYTHON))
			__sync_fetch_and_or(&s->m.reason, MLW_MARK_PYTHON);
		return false;
	}
	/* BPF_ANY: a cleared mark may still be there */
	if (!set_mark(tgid, &m, BPF_ANY))
		count(MLW_CNT_MARKS_SET);
	return true;
}

/* pickle.find_class(module, name): judged, the process marked when the
 * global is outside the allowlist, sent once per process and global. */
static __noinline void py_find_class(u32 tgid)
{
	struct task_struct *task = bpf_get_current_task_btf();
	struct py_work *w = py_work();
	bool fresh = false, unsafe;
	u32 n, verdict;
	u8 one = 1;

	if (!w)
		return;
	__builtin_memset(&w->sk, 0, sizeof(w->sk));
	w->unreadable = 0;
	w->mod_len = py_read_text(w->src[0].v, w->src[0].len, PY_AT_MOD, MLW_PY_NAME_MAX - 1,
				  w->src[0].how);
	w->name_len = py_read_text(w->src[1].v, w->src[1].len, PY_AT_NAME, MLW_PY_NAME_MAX - 1,
				   w->src[1].how | 1 << 8);
	/* cut, unreadable, or kept as code units: not judged, never allowed */
	if ((w->rec.pyflags & (MLW_PY_F_TRUNC | MLW_PY_F_FAULT)) ||
	    w->rec.enc[0] != MLW_PY_ENC_UTF8 || w->rec.enc[1] != MLW_PY_ENC_UTF8)
		w->unreadable = 1;
	verdict = py_verdict(w);
	unsafe = verdict != MLW_PY_V_ALLOW;
	if (unsafe) {
		fresh = py_mark(tgid);
		count(MLW_CNT_PY_UNSAFE);
	}
	w->sk.tgid = tgid;
	w->sk.start_ns = task->group_leader->start_time;
	if (!fresh && bpf_map_lookup_elem(&py_seen, &w->sk)) {
		count(MLW_CNT_PY_REPEAT);
		return;
	}
	bpf_map_update_elem(&py_seen, &w->sk, &one, BPF_ANY);

	fill_hdr(&w->rec.hdr, MLW_EV_PYTHON, lookup_mark(tgid));
	if (fresh)
		w->rec.hdr.flags |= MLW_F_NEW_MARK;
	if (unsafe)
		w->rec.pyflags |= MLW_PY_F_UNSAFE;
	if (verdict == MLW_PY_V_DENY)
		w->rec.pyflags |= MLW_PY_F_DENIED;
	/* the names as read, as the record's two arguments */
	n = w->mod_len & (MLW_PY_NAME_MAX - 1);
	bpf_probe_read_kernel(w->data, n, w->sk.g.mod);
	w->rec.len[0] = (u16)n;
	w->off = n;
	n = w->name_len & (MLW_PY_NAME_MAX - 1);
	bpf_probe_read_kernel(w->data + (w->off & (MLW_PY_NAME_MAX - 1)), n, w->sk.g.name);
	w->rec.len[1] = (u16)n;
	w->off += n;
	w->rec.nargs = 2;
	emit(w, sizeof(struct mlw_python) + (w->off & (PY_DATA_MAX - 1)), MLW_EV_PYTHON);
}

/* ---- entry ------------------------------------------------------------- */

/* The first part of every hit: the event's name looked up. Returns the
 * work area when the event is one to read for this process, with the
 * record's fixed fields reset. */
static __always_inline struct py_work *py_begin(u64 event, u32 cookie, bool uprobe, u32 tgid)
{
	struct py_work *w = py_work();
	struct mlw_py_evspec *spec;
	struct mlw_py_layout *lay;

	count(MLW_CNT_PY_HITS);
	if (!w)
		return NULL;
	__builtin_memset(&w->ek, 0, sizeof(w->ek));
	if (bpf_probe_read_user_str(w->ek.name, sizeof(w->ek.name), (const void *)event) <= 0) {
		count(MLW_CNT_PY_FAULT);
		return NULL;
	}
	spec = bpf_map_lookup_elem(&py_events, &w->ek);
	if (!spec)
		return NULL;
	if (!(spec->flags & MLW_PY_S_FIND_CLASS) &&
	    (!(spec->flags & MLW_PY_S_MARKED) || !lookup_mark(tgid)))
		return NULL;
	if (tgid == mlw_self_tgid)
		return NULL;
	w->spec = *spec;
	lay = bpf_map_lookup_elem(&py_layouts, &cookie);
	if (lay)
		w->lay = *lay;
	else
		__builtin_memset(&w->lay, 0, sizeof(w->lay));
	w->rec.event = spec->id;
	w->rec.interp = cookie;
	w->rec.pyflags = uprobe ? MLW_PY_F_UPROBE : 0;
	w->rec.nargs = 0;
	w->rec._pad = 0;
	w->off = 0;
	for (int i = 0; i < MLW_PY_ARGS; i++) {
		w->rec.enc[i] = MLW_PY_ENC_NONE;
		w->rec.len[i] = 0;
		w->rec.size[i] = 0;
		w->src[i].how = PY_SRC_NONE;
		w->src[i].v = 0;
		w->src[i].len = 0;
	}
	return w;
}

/* The rest, once the sources of the arguments are known. */
static __always_inline void py_finish(struct py_work *w, u32 tgid)
{
	if (w->spec.flags & MLW_PY_S_FIND_CLASS) {
		py_find_class(tgid);
		return;
	}
	fill_hdr(&w->rec.hdr, MLW_EV_PYTHON, lookup_mark(tgid));
	py_put_args();
	emit(w, sizeof(struct mlw_python) + (w->off & (2 * PY_DATA_MAX - 1)), MLW_EV_PYTHON);
}

/* The USDT probe's argument tuple: its first items. */
static __noinline void py_src_tuple(u64 tuple)
{
	struct py_work *w = py_work();
	bool bad = false;
	u64 tpf, n;

	if (!w)
		return;
	/* no layout: this interpreter was never configured; nothing is read */
	if (!w->lay.version)
		bad = true;
	tpf = bad ? 0 : py_tpflags(&w->lay, tuple, &bad);
	n = bad ? 0 : rd64(tuple + w->lay.ob_size, &bad);
	if (bad || !(tpf & PY_TPF_TUPLE)) {
		for (int i = 0; i < MLW_PY_ARGS; i++)
			w->src[i].how = PY_SRC_FAULT;
		return;
	}
	for (int i = 0; i < MLW_PY_ARGS; i++) {
		if (i >= n)
			break;
		w->src[i].v = rd64(tuple + w->lay.tuple_item + 8 * i, &bad);
		w->src[i].how = bad ? PY_SRC_FAULT : PY_SRC_OBJ;
	}
}

SEC("usdt")
int BPF_USDT(handle_py_audit, const char *event, void *args)
{
	u32 tgid = current_tgid();
	struct py_work *w = py_begin((u64)event, (u32)bpf_usdt_cookie(ctx), false, tgid);

	if (!w)
		return 0;
	py_src_tuple((u64)args);
	py_finish(w, tgid);
	return 0;
}

/* ---- the PySys_Audit fallback ------------------------------------------ */

/* Integer registers that carry PySys_Audit's variadic arguments (after
 * event and format); the rest are on the stack. */
#if defined(__TARGET_ARCH_arm64)
#define PY_VA_REGS 6
#else
#define PY_VA_REGS 4
#endif

/* Saves the variadic registers and where the stack ones start, by the
 * platform's calling convention (at entry the return address is at sp on
 * x86-64; nothing is on arm64). */
static __always_inline bool py_save_va(struct pt_regs *ctx, struct py_work *w)
{
#if defined(__TARGET_ARCH_x86)
	w->va[0] = ctx->dx;
	w->va[1] = ctx->cx;
	w->va[2] = ctx->r8;
	w->va[3] = ctx->r9;
	w->va_stack = ctx->sp + 8;
	return true;
#elif defined(__TARGET_ARCH_arm64)
	struct user_pt_regs *r = (struct user_pt_regs *)ctx;

	for (int i = 0; i < PY_VA_REGS; i++)
		w->va[i] = r->regs[2 + i];
	w->va_stack = r->sp;
	return true;
#else
	return false;
#endif
}

/* The next variadic argument. */
static __always_inline u64 py_va_next(struct py_work *w, bool *bad)
{
	u32 j = w->va_j++;

	if (j < PY_VA_REGS)
		return w->va[j & 7];
	if (j > 64) {
		*bad = true;
		return 0;
	}
	return rd64(w->va_stack + 8 * (u64)(j - PY_VA_REGS), bad);
}

/*
 * One character of the Py_BuildValue format: each top-level unit is a
 * tuple item (a pair of outer parentheses is the tuple itself); its
 * variadic arguments are taken in order. A nested group, a float, or a
 * unit not known is an item that cannot be read (after an unknown one,
 * nothing more can be placed). State in the work area: the verifier sees
 * this body once.
 */
static long py_fmt_one(u32 i, void *unused)
{
	struct py_work *w = py_work();
	u32 how = PY_SRC_FAULT, k;
	bool bad = false;
	s64 len = -1;
	u64 v = 0;
	char c, nx;

	if (!w || i >= PY_FMT_MAX - 1)
		return 1;
	c = w->fmt[i & (PY_FMT_MAX - 1)];
	nx = w->fmt[(i + 1) & (PY_FMT_MAX - 1)];
	if (!c || w->va_lost)
		return 1;
	if (w->fmt_skip) {
		w->fmt_skip = 0;
		return 0;
	}
	switch (c) {
	case '(':
	case '[':
	case '{':
		if (i == 0 && c == '(')
			return 0; /* the tuple itself */
		if (!w->fmt_depth++) {
			if (w->fmt_item < MLW_PY_ARGS)
				w->src[w->fmt_item & (MLW_PY_ARGS - 1)].how = PY_SRC_FAULT;
			w->fmt_item++;
		}
		return 0;
	case ')':
	case ']':
	case '}':
		if (w->fmt_depth)
			w->fmt_depth--;
		return 0;
	case ' ':
	case ',':
	case ':':
	case '\t':
		return 0;
	case 'O':
	case 'S':
	case 'N':
		v = py_va_next(w, &bad);
		how = PY_SRC_OBJ;
		if (nx == '&') { /* O&: converter, argument */
			py_va_next(w, &bad);
			w->fmt_skip = 1;
			how = PY_SRC_FAULT;
		}
		break;
	case 's':
	case 'z':
	case 'y':
	case 'U':
		v = py_va_next(w, &bad);
		how = v ? PY_SRC_CSTR : PY_SRC_NONE;
		if (nx == '#') {
			len = (s64)py_va_next(w, &bad);
			w->fmt_skip = 1;
		}
		break;
	case 'i':
	case 'b':
	case 'h':
		v = (u64)(s64)(s32)py_va_next(w, &bad);
		how = PY_SRC_INT;
		break;
	case 'B':
	case 'H':
	case 'I':
	case 'c':
	case 'C':
		v = (u32)py_va_next(w, &bad);
		how = PY_SRC_INT;
		break;
	case 'l':
	case 'k':
	case 'L':
	case 'K':
	case 'n':
		v = py_va_next(w, &bad);
		how = PY_SRC_INT;
		break;
	case 'd':
	case 'f':
		break; /* in a floating-point register: not read */
	default:
		w->va_lost = 1;
		break;
	}
	if (w->fmt_depth)
		return 0;
	k = w->fmt_item;
	if (k < MLW_PY_ARGS) {
		w->src[k & (MLW_PY_ARGS - 1)].how = bad ? PY_SRC_FAULT : how;
		w->src[k & (MLW_PY_ARGS - 1)].v = v;
		w->src[k & (MLW_PY_ARGS - 1)].len = len;
	}
	w->fmt_item = k + 1;
	return 0;
}

SEC("uprobe")
int BPF_KPROBE(handle_py_sysaudit, const char *event, const char *format)
{
	u32 tgid = current_tgid();
	struct py_work *w = py_begin((u64)event, (u32)bpf_get_attach_cookie(ctx), true, tgid);

	if (!w)
		return 0;
	__builtin_memset(w->fmt, 0, sizeof(w->fmt));
	w->va_j = w->fmt_item = w->fmt_depth = 0;
	w->fmt_skip = w->va_lost = 0;
	if (!w->lay.version || !py_save_va(ctx, w) ||
	    bpf_probe_read_user_str(w->fmt, sizeof(w->fmt), format) <= 0) {
		for (int i = 0; i < MLW_PY_ARGS; i++)
			w->src[i].how = PY_SRC_FAULT;
	} else {
		bpf_loop(PY_FMT_MAX, py_fmt_one, NULL, 0);
		/* items after an unknown unit: their arguments are not known */
		for (int i = 0; i < MLW_PY_ARGS; i++)
			if (w->va_lost && i >= w->fmt_item)
				w->src[i].how = PY_SRC_FAULT;
	}
	py_finish(w, tgid);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
