/* Internal to the pickle walker (pickle_scan.c, pickle_strings.c,
 * pickle_joblib.c): its state, and the frame primitives of pickle_frame.c
 * they all use. Not public API. */
#ifndef MLWATCH_PICKLE_WALK_H
#define MLWATCH_PICKLE_WALK_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "pickle_scan.h"

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
	uint8_t kind, sub; /* sub: V_TUPLE's first item's kind */
	uint8_t enc;       /* enum venc of p */
	uint8_t roles;     /* V_GLOBAL (or tuple's first item): pickle_role bits */
	uint16_t bits;     /* enum vbits */
	int32_t fi;        /* V_GLOBAL: finding index, -1 if dropped */
	int32_t fi0;       /* V_TUPLE: its first item's finding index, or -1 */
	const uint8_t *p;  /* V_STR / V_BYTES, or a tuple's first item */
	size_t n;
	uint64_t num, num2; /* V_INT: value; V_OBJ: object index + 1 */
	size_t src;         /* VB_OWNED: offset in the outermost buffer */
};

#define OPAQUE ((struct val){ .fi = -1, .fi0 = -1 })

/* A memo value worth keeping (not OPAQUE), by key + 1 (0: empty slot). */
struct memo_ent {
	uint64_t key1;
	struct val v;
};
/* Memo values kept at once; most memo entries are opaque and cost one bit. */
#define PICKLE_MEMO_VALUES_MAX (1u << 20)

/* joblib mode: the mutable objects BUILD looks at. Values refer to them by
 * index so every stack and memo copy sees one object, as in Python. */
enum okind { O_DICT = 1, O_DTYPE, O_WRAP };
/* attribute states; for the alignment KNOWN means "a value, not None" */
enum astate { A_ABSENT = 0, A_KNOWN, A_UNKNOWN, A_NONE };

struct obj {
	uint8_t kind;
	uint8_t shape, dtype, align;   /* O_DICT / O_WRAP: state keys / attributes */
	bool parsed, flexible, hasobj; /* O_DTYPE: numpy.dtype(str) understood */
	uint64_t size;                 /* O_DICT / O_WRAP: element count; O_DTYPE: itemsize */
	uint64_t dref;                 /* O_DICT / O_WRAP: dtype object index + 1 */
};

struct owned {
	struct owned *next;
	uint8_t data[];
};

struct walker {
	const uint8_t *root;
	const struct pickle_profile *prof;
	const struct pickle_limits *lim;
	struct pickle_result *out;
	struct owned *owned; /* decoded strings, freed after the scan */
	size_t owned_left;   /* bytes of them still allowed */
	bool oom;
	/* the walker itself, for joblib's arrays of objects (a nested pickle
	 * inline after BUILD): joblib's objects sit below the walker */
	size_t (*walk_one)(struct walker *w, const uint8_t *b, size_t len, unsigned depth,
			   bool joblib, size_t src, bool *stopped, size_t *found);
};

#define IN_ROOT SIZE_MAX

struct frame { /* one pickle being walked */
	struct walker *w;
	const uint8_t *b;
	size_t len, pos, op_off;
	size_t src;  /* IN_ROOT, or the outer offset b was decoded from */
	size_t fend; /* end of the current protocol 4 FRAME */
	unsigned depth;
	uint8_t op;
	bool joblib;
	struct val *st;
	size_t nst, cap;
	size_t *marks;
	size_t nmarks, mcap;
	uint64_t *mset;        /* memo keys PUT so far, one bit each */
	size_t mbits;          /* bits mset has room for */
	struct memo_ent *mtab; /* the non-opaque values, open addressing */
	size_t tcap, mused;
	size_t memo_count; /* distinct keys: MEMOIZE's next key */
	struct obj *objs;
	size_t nobjs, ocap;
	size_t found; /* imports this frame recorded (dropped ones too) */
	bool stopped;
};

/* Decoded output: counted only (out NULL), or written up to cap. */
struct pw_out {
	uint8_t *out;
	size_t cap, len;
	bool full;
};

/* ---- pickle_frame.c --------------------------------------------------- */

/* The outer-buffer offset of the opcode being walked. */
size_t pw_frame_off(const struct frame *f);
void pw_add_error(struct frame *f, enum pickle_err_kind k);
/* n bytes of argument; false = truncated (error already recorded) */
bool pw_take(struct frame *f, size_t n, const uint8_t **p);
struct val pw_first_item(const struct val *t);
#endif
