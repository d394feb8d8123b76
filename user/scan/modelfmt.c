/* Model file formats, told apart by their first bytes.
 *
 * Everything here reads only buf[0..len): the probe is attacker-controlled,
 * so every offset is checked against len before it is dereferenced. */
#include "modelfmt.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdint.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>
#define ZLIB_CONST
#include <zlib.h>

/* ---- limits ---------------------------------------------------------- */

/* Local headers we look at in a zip probe: torch puts data.pkl first, a
 * .keras archive its config in the first three; 64 is ample and bounded. */
#define ZIP_MAX_MEMBERS 64
#define ZIP_LOCAL_HDR_LEN 30
#define ZIP_FLAG_DATA_DESCRIPTOR 0x0008
#define ZIP_SIZE_IN_ZIP64 0xffffffffu
#define ZIP64_EXTRA_ID 0x0001
/* Tar members we look at: torch 0.1 wrote sys_info first. */
#define TAR_MAX_MEMBERS 16
#define TAR_BLOCK 512
#define TAR_NAME_LEN 100
#define TAR_SIZE_OFF 124
#define TAR_SIZE_LEN 12
#define TAR_MAGIC_OFF 257
/* Opcodes the pickle walker validates: enough to tell a pickle from text,
 * small enough to stay cheap on every model open. */
#define PICKLE_WALK_MAX_OPS 64
/* Nested MARKs the walker tracks; deeper nesting ends the walk (no verdict
 * against the stream). */
#define PICKLE_MAX_MARKS 32
#define PICKLE_HIGHEST_PROTOCOL 5
/* Protocol 0/1 has no magic: ask for at least this many valid opcodes of
 * this many kinds before calling a stream a pickle. */
#define PICKLE_MIN_OPS 3
#define PICKLE_MIN_KINDS 3
/* safetensors refuses headers above 100 MB. */
#define SAFETENSORS_MAX_HEADER 100000000ull
#define SAFETENSORS_MIN_HEADER 2
/* Old joblib "ZF" files: "ZF", the length in hex padded to 19 characters
 * (len(hex(2**64))), then a zlib stream. */
#define JOBLIB_ZF_HEADER_LEN 21

/* ---- small helpers --------------------------------------------------- */

static bool has_magic(const unsigned char *buf, size_t len, size_t off, const void *magic,
		      size_t mlen)
{
	return off <= len && len - off >= mlen && memcmp(buf + off, magic, mlen) == 0;
}

static uint16_t le16(const unsigned char *p)
{
	return (uint16_t)(p[0] | p[1] << 8);
}

static uint32_t le32(const unsigned char *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint64_t le64(const unsigned char *p)
{
	return (uint64_t)le32(p) | (uint64_t)le32(p + 4) << 32;
}

static bool mem_ends_with(const unsigned char *s, size_t n, const char *suffix)
{
	size_t m = strlen(suffix);

	return n >= m && memcmp(s + n - m, suffix, m) == 0;
}

static bool mem_contains(const unsigned char *s, size_t n, const char *needle)
{
	return memmem(s, n, needle, strlen(needle)) != NULL;
}

/* The last path component of a member name. */
static const unsigned char *mem_basename(const unsigned char *s, size_t n, size_t *blen)
{
	size_t i = n;

	while (i > 0 && s[i - 1] != '/')
		i--;
	*blen = n - i;
	return s + i;
}

static bool mem_equals(const unsigned char *s, size_t n, const char *lit)
{
	return n == strlen(lit) && memcmp(s, lit, n) == 0;
}

static bool name_has_suffix(const char *name, const char *suffix)
{
	size_t n = strlen(name), m = strlen(suffix);

	return n >= m && strcasecmp(name + n - m, suffix) == 0;
}

/* ---- pickle opcode walker -------------------------------------------- */

enum pk_arg {
	PA_INVALID = 0, /* not an opcode */
	PA_NONE,
	PA_PROTO, /* 1 byte, a protocol number */
	PA_FIXED1,
	PA_FIXED2,
	PA_FIXED4,
	PA_FIXED8,
	PA_LEN1,  /* 1-byte length, then the bytes */
	PA_LEN4,  /* unsigned 4-byte length */
	PA_LEN4S, /* signed 4-byte length (BINSTRING, LONG4) */
	PA_LEN8,
	PA_LINE_INT,    /* INT: digits, or 00/01 for booleans */
	PA_LINE_LONG,   /* LONG: digits with an optional L */
	PA_LINE_DIGITS, /* GET/PUT memo keys */
	PA_LINE_FLOAT,
	PA_LINE_QUOTED, /* STRING: 'x' or "x" */
	PA_LINE_ANY,    /* UNICODE: raw-unicode-escape, any bytes */
	PA_LINE_ASCII,  /* PERSID */
	PA_TWO_NAMES,   /* GLOBAL/INST: module\nname\n */
};

enum pk_flag {
	PF_MARK = 1u << 0,    /* pushes a mark */
	PF_TO_MARK = 1u << 1, /* pops everything down to the top mark first */
	PF_STOP = 1u << 2,
	PF_POP = 1u << 3,    /* POP: pops an item, or the mark if none is above it */
	PF_IMPORT = 1u << 4, /* names a module.attr */
	PF_CALL = 1u << 5,   /* calls something */
};

struct pk_op {
	uint8_t arg;        /* enum pk_arg */
	uint8_t flags;      /* enum pk_flag */
	uint8_t above_mark; /* items needed between the mark and the top (PF_TO_MARK) */
	uint8_t need;       /* items needed above the fence (after any pop to mark) */
	int8_t delta;       /* stack change after that */
};

/* The unpickler's stack effects, as in CPython's Modules/_pickle.c: a stream
 * that underflows is rejected there too, so text that happens to start with
 * an opcode byte is cut short quickly. */
/* a table indexed by opcode, several per line */
/* clang-format off */
static const struct pk_op pk_ops[256] = {
	['('] = { PA_NONE, PF_MARK, 0, 0, 0 },        /* MARK */
	['.'] = { PA_NONE, PF_STOP, 0, 1, 0 },        /* STOP */
	['0'] = { PA_NONE, PF_POP, 0, 0, 0 },         /* POP */
	['1'] = { PA_NONE, PF_TO_MARK, 0, 0, 0 },     /* POP_MARK */
	['2'] = { PA_NONE, 0, 0, 1, 1 },              /* DUP */
	['F'] = { PA_LINE_FLOAT, 0, 0, 0, 1 },        /* FLOAT */
	['I'] = { PA_LINE_INT, 0, 0, 0, 1 },          /* INT */
	['J'] = { PA_FIXED4, 0, 0, 0, 1 },            /* BININT */
	['K'] = { PA_FIXED1, 0, 0, 0, 1 },            /* BININT1 */
	['L'] = { PA_LINE_LONG, 0, 0, 0, 1 },         /* LONG */
	['M'] = { PA_FIXED2, 0, 0, 0, 1 },            /* BININT2 */
	['N'] = { PA_NONE, 0, 0, 0, 1 },              /* NONE */
	['P'] = { PA_LINE_ASCII, 0, 0, 0, 1 },        /* PERSID */
	['Q'] = { PA_NONE, 0, 0, 1, 0 },              /* BINPERSID */
	['R'] = { PA_NONE, PF_CALL, 0, 2, -1 },       /* REDUCE */
	['S'] = { PA_LINE_QUOTED, 0, 0, 0, 1 },       /* STRING */
	['T'] = { PA_LEN4S, 0, 0, 0, 1 },             /* BINSTRING */
	['U'] = { PA_LEN1, 0, 0, 0, 1 },              /* SHORT_BINSTRING */
	['V'] = { PA_LINE_ANY, 0, 0, 0, 1 },          /* UNICODE */
	['X'] = { PA_LEN4, 0, 0, 0, 1 },              /* BINUNICODE */
	['a'] = { PA_NONE, 0, 0, 2, -1 },             /* APPEND */
	['b'] = { PA_NONE, PF_CALL, 0, 2, -1 },       /* BUILD (__setstate__) */
	['c'] = { PA_TWO_NAMES, PF_IMPORT, 0, 0, 1 }, /* GLOBAL */
	['d'] = { PA_NONE, PF_TO_MARK, 0, 0, 1 },     /* DICT */
	['}'] = { PA_NONE, 0, 0, 0, 1 },              /* EMPTY_DICT */
	['e'] = { PA_NONE, PF_TO_MARK, 0, 1, 0 },     /* APPENDS */
	['g'] = { PA_LINE_DIGITS, 0, 0, 0, 1 },       /* GET */
	['h'] = { PA_FIXED1, 0, 0, 0, 1 },            /* BINGET */
	['i'] = { PA_TWO_NAMES, PF_TO_MARK | PF_IMPORT | PF_CALL, 0, 0, 1 }, /* INST */
	['j'] = { PA_FIXED4, 0, 0, 0, 1 },            /* LONG_BINGET */
	['l'] = { PA_NONE, PF_TO_MARK, 0, 0, 1 },     /* LIST */
	[']'] = { PA_NONE, 0, 0, 0, 1 },              /* EMPTY_LIST */
	['o'] = { PA_NONE, PF_TO_MARK | PF_CALL, 1, 0, 1 }, /* OBJ */
	['p'] = { PA_LINE_DIGITS, 0, 0, 1, 0 },       /* PUT */
	['q'] = { PA_FIXED1, 0, 0, 1, 0 },            /* BINPUT */
	['r'] = { PA_FIXED4, 0, 0, 1, 0 },            /* LONG_BINPUT */
	['s'] = { PA_NONE, 0, 0, 3, -2 },             /* SETITEM */
	['t'] = { PA_NONE, PF_TO_MARK, 0, 0, 1 },     /* TUPLE */
	[')'] = { PA_NONE, 0, 0, 0, 1 },              /* EMPTY_TUPLE */
	['u'] = { PA_NONE, PF_TO_MARK, 0, 1, 0 },     /* SETITEMS */
	['G'] = { PA_FIXED8, 0, 0, 0, 1 },            /* BINFLOAT */
	[0x80] = { PA_PROTO, 0, 0, 0, 0 },            /* PROTO */
	[0x81] = { PA_NONE, PF_CALL, 0, 2, -1 },      /* NEWOBJ */
	[0x82] = { PA_FIXED1, PF_IMPORT, 0, 0, 1 },   /* EXT1 */
	[0x83] = { PA_FIXED2, PF_IMPORT, 0, 0, 1 },   /* EXT2 */
	[0x84] = { PA_FIXED4, PF_IMPORT, 0, 0, 1 },   /* EXT4 */
	[0x85] = { PA_NONE, 0, 0, 1, 0 },             /* TUPLE1 */
	[0x86] = { PA_NONE, 0, 0, 2, -1 },            /* TUPLE2 */
	[0x87] = { PA_NONE, 0, 0, 3, -2 },            /* TUPLE3 */
	[0x88] = { PA_NONE, 0, 0, 0, 1 },             /* NEWTRUE */
	[0x89] = { PA_NONE, 0, 0, 0, 1 },             /* NEWFALSE */
	[0x8a] = { PA_LEN1, 0, 0, 0, 1 },             /* LONG1 */
	[0x8b] = { PA_LEN4S, 0, 0, 0, 1 },            /* LONG4 */
	['B'] = { PA_LEN4, 0, 0, 0, 1 },              /* BINBYTES */
	['C'] = { PA_LEN1, 0, 0, 0, 1 },              /* SHORT_BINBYTES */
	[0x8c] = { PA_LEN1, 0, 0, 0, 1 },             /* SHORT_BINUNICODE */
	[0x8d] = { PA_LEN8, 0, 0, 0, 1 },             /* BINUNICODE8 */
	[0x8e] = { PA_LEN8, 0, 0, 0, 1 },             /* BINBYTES8 */
	[0x8f] = { PA_NONE, 0, 0, 0, 1 },             /* EMPTY_SET */
	[0x90] = { PA_NONE, PF_TO_MARK, 0, 1, 0 },    /* ADDITEMS */
	[0x91] = { PA_NONE, PF_TO_MARK, 0, 0, 1 },    /* FROZENSET */
	[0x92] = { PA_NONE, PF_CALL, 0, 3, -2 },      /* NEWOBJ_EX */
	[0x93] = { PA_NONE, PF_IMPORT, 0, 2, -1 },    /* STACK_GLOBAL */
	[0x94] = { PA_NONE, 0, 0, 1, 0 },             /* MEMOIZE */
	[0x95] = { PA_FIXED8, 0, 0, 0, 0 },           /* FRAME */
	[0x96] = { PA_LEN8, 0, 0, 0, 1 },             /* BYTEARRAY8 */
	[0x97] = { PA_NONE, 0, 0, 0, 1 },             /* NEXT_BUFFER */
	[0x98] = { PA_NONE, 0, 0, 1, 0 },             /* READONLY_BUFFER */
};
/* clang-format on */

enum pk_argres { PK_ARG_OK, PK_ARG_TRUNC, PK_ARG_BAD };

struct pk_walk {
	size_t ops;       /* opcodes that parsed and fit the stack */
	unsigned kinds;   /* distinct opcodes among them */
	bool stop;        /* reached STOP */
	bool invalid;     /* hit a byte the unpickler would reject */
	bool imports;     /* saw GLOBAL/INST/STACK_GLOBAL/EXT* */
	bool calls;       /* saw REDUCE/OBJ/INST/NEWOBJ(_EX)/BUILD */
	bool binary;      /* a walked byte was neither printable ASCII nor \t \n \r */
	bool post_proto0; /* saw an opcode protocol 0 does not have */
	bool clean_stop;  /* STOP left exactly one item and no mark */
};

/* Protocol 0, the text protocol, has only these opcodes. */
static const char pickle_proto0_ops[] = "(.02FILNPRSVabcdgilpst";

static bool is_text_byte(unsigned char c)
{
	return (c >= 0x20 && c < 0x7f) || c == '\t' || c == '\n' || c == '\r';
}

static bool line_ok(enum pk_arg kind, const unsigned char *s, size_t n)
{
	size_t i = 0;

	switch (kind) {
	case PA_LINE_INT:
	case PA_LINE_LONG:
		if (n > 0 && (s[0] == '-' || s[0] == '+'))
			i++;
		if (kind == PA_LINE_LONG && n > i && s[n - 1] == 'L')
			n--;
		/* fall through */
	case PA_LINE_DIGITS:
		if (i >= n)
			return false;
		for (; i < n; i++)
			if (s[i] < '0' || s[i] > '9')
				return false;
		return true;
	case PA_LINE_FLOAT:
		if (n == 0)
			return false;
		for (; i < n; i++)
			if (!strchr("0123456789+-.eEinfatyINFATY", s[i]) || !s[i])
				return false;
		return true;
	case PA_LINE_QUOTED:
		return n >= 2 && (s[0] == '\'' || s[0] == '"') && s[n - 1] == s[0];
	case PA_LINE_ASCII:
		for (; i < n; i++)
			if (s[i] >= 0x80)
				return false;
		return true;
	case PA_LINE_ANY:
		return true;
	case PA_TWO_NAMES:
		/* A dotted Python name: what find_class can import. */
		if (n == 0)
			return false;
		for (; i < n; i++) {
			unsigned char c = s[i];

			if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
			      (c >= '0' && c <= '9') || c == '_' || c == '.'))
				return false;
		}
		return true;
	default:
		return false;
	}
}

/* Length of the argument of the opcode at buf[pos - 1], starting at pos. */
static enum pk_argres pk_arg_len(enum pk_arg kind, const unsigned char *buf, size_t len, size_t pos,
				 size_t *arglen)
{
	size_t avail = len - pos, hdr = 0;
	uint64_t n = 0;

	switch (kind) {
	case PA_NONE:
		*arglen = 0;
		return PK_ARG_OK;
	case PA_PROTO:
		if (avail < 1)
			return PK_ARG_TRUNC;
		*arglen = 1;
		return buf[pos] <= PICKLE_HIGHEST_PROTOCOL ? PK_ARG_OK : PK_ARG_BAD;
	case PA_FIXED1:
		n = 1;
		break;
	case PA_FIXED2:
		n = 2;
		break;
	case PA_FIXED4:
		n = 4;
		break;
	case PA_FIXED8:
		n = 8;
		break;
	case PA_LEN1:
		hdr = 1;
		if (avail < hdr)
			return PK_ARG_TRUNC;
		n = buf[pos];
		break;
	case PA_LEN4:
	case PA_LEN4S:
		hdr = 4;
		if (avail < hdr)
			return PK_ARG_TRUNC;
		n = le32(buf + pos);
		if (kind == PA_LEN4S && n > INT32_MAX)
			return PK_ARG_BAD; /* negative length */
		break;
	case PA_LEN8:
		hdr = 8;
		if (avail < hdr)
			return PK_ARG_TRUNC;
		n = le64(buf + pos);
		if (n > INT64_MAX)
			return PK_ARG_BAD;
		break;
	case PA_TWO_NAMES: {
		const unsigned char *nl1 = memchr(buf + pos, '\n', avail);

		if (!nl1)
			return PK_ARG_TRUNC;
		size_t n1 = (size_t)(nl1 - (buf + pos));
		if (!line_ok(kind, buf + pos, n1))
			return PK_ARG_BAD;
		const unsigned char *nl2 = memchr(nl1 + 1, '\n', avail - n1 - 1);
		if (!nl2)
			return PK_ARG_TRUNC;
		size_t n2 = (size_t)(nl2 - (nl1 + 1));
		if (!line_ok(kind, nl1 + 1, n2))
			return PK_ARG_BAD;
		*arglen = n1 + 1 + n2 + 1;
		return PK_ARG_OK;
	}
	case PA_LINE_INT:
	case PA_LINE_LONG:
	case PA_LINE_DIGITS:
	case PA_LINE_FLOAT:
	case PA_LINE_QUOTED:
	case PA_LINE_ANY:
	case PA_LINE_ASCII: {
		const unsigned char *nl = memchr(buf + pos, '\n', avail);

		if (!nl)
			return PK_ARG_TRUNC;
		size_t ln = (size_t)(nl - (buf + pos));
		if (!line_ok(kind, buf + pos, ln))
			return PK_ARG_BAD;
		*arglen = ln + 1;
		return PK_ARG_OK;
	}
	default:
		return PK_ARG_BAD;
	}
	if (avail - hdr < n)
		return PK_ARG_TRUNC;
	*arglen = hdr + (size_t)n;
	return PK_ARG_OK;
}

/* Walk the first opcodes of a would-be pickle, the way the unpickler would
 * read them, and say how far it got. Never reads past len. */
static void pickle_walk(const unsigned char *buf, size_t len, struct pk_walk *w)
{
	size_t marks[PICKLE_MAX_MARKS];
	size_t nmarks = 0, depth = 0, pos = 0;
	uint8_t seen[256 / 8] = { 0 };

	memset(w, 0, sizeof(*w));
	while (pos < len && w->ops < PICKLE_WALK_MAX_OPS) {
		unsigned char code = buf[pos];
		const struct pk_op *op = &pk_ops[code];
		size_t arglen = 0;

		if (op->arg == PA_INVALID) {
			w->invalid = true;
			return;
		}
		enum pk_argres r = pk_arg_len(op->arg, buf, len, pos + 1, &arglen);
		if (r == PK_ARG_TRUNC)
			return;
		if (r == PK_ARG_BAD) {
			w->invalid = true;
			return;
		}

		/* Stack effect; the fence is the top mark, as in _pickle.c. */
		if (op->flags & PF_MARK) {
			if (nmarks == PICKLE_MAX_MARKS)
				return; /* too deep to follow: no verdict either way */
			marks[nmarks++] = depth;
		} else if (op->flags & PF_POP) {
			size_t fence = nmarks ? marks[nmarks - 1] : 0;

			if (depth > fence)
				depth--;
			else if (nmarks)
				nmarks--;
			else {
				w->invalid = true;
				return;
			}
		} else {
			if (op->flags & PF_TO_MARK) {
				if (!nmarks || depth - marks[nmarks - 1] < op->above_mark) {
					w->invalid = true;
					return;
				}
				depth = marks[--nmarks];
			}
			size_t fence = nmarks ? marks[nmarks - 1] : 0;
			if (depth - fence < op->need) {
				w->invalid = true;
				return;
			}
			depth = (size_t)((long)depth + op->delta);
		}

		if (!strchr(pickle_proto0_ops, code) || !code)
			w->post_proto0 = true;
		for (size_t i = pos; i < pos + 1 + arglen && !w->binary; i++)
			w->binary = !is_text_byte(buf[i]);
		if (!(seen[code / 8] & (1u << (code % 8)))) {
			seen[code / 8] |= (uint8_t)(1u << (code % 8));
			w->kinds++;
		}
		w->ops++;
		if (op->flags & PF_IMPORT)
			w->imports = true;
		if (op->flags & PF_CALL)
			w->calls = true;
		pos += 1 + arglen;
		if (op->flags & PF_STOP) {
			w->stop = true;
			w->clean_stop = depth == 1 && nmarks == 0;
			return;
		}
	}
}

static bool looks_like_pickle(const unsigned char *buf, size_t len)
{
	struct pk_walk w;

	if (len == 0)
		return false;
	pickle_walk(buf, len, &w);
	/* Protocol 2+: the PROTO opcode is the magic; one valid opcode after
	 * it is enough. A stream corrupt later still runs what came before
	 * (nullifAI), so a later error does not matter. */
	if (buf[0] == 0x80)
		return w.ops >= 2;
	/* Protocol 0/1 has no magic. Text that happens to start with opcode
	 * bytes ("Copyright" is SHORT_BINBYTES of length 'o') reaches binary
	 * opcodes only with printable arguments; real protocol 1 streams have binary
	 * arguments (memo indexes, lengths) from the first opcodes on. */
	if (w.post_proto0 && !w.binary)
		return false;
	if (w.ops < PICKLE_MIN_OPS || w.kinds < PICKLE_MIN_KINDS)
		return false;
	if (w.clean_stop || (!w.stop && !w.invalid))
		return true;
	/* A stream broken after an import and a call still ran the call. */
	return w.imports && w.calls;
}

/* ---- containers ------------------------------------------------------ */

static const unsigned char zip_local_magic[] = { 'P', 'K', 3, 4 };

struct zip_scan {
	bool torch, keras, first_npy;
	size_t members;
};

/* The entry's compressed size, from the zip64 extra field when the local
 * header says 0xffffffff (numpy's savez always writes zip64 entries). */
static bool zip_entry_size(const unsigned char *hdr, const unsigned char *extra, size_t xvis,
			   uint64_t *size)
{
	uint32_t csize = le32(hdr + 18), usize = le32(hdr + 22);

	if (csize != ZIP_SIZE_IN_ZIP64) {
		*size = csize;
		return true;
	}
	for (size_t off = 0; off + 4 <= xvis;) {
		uint16_t id = le16(extra + off), sz = le16(extra + off + 2);

		if (id == ZIP64_EXTRA_ID) {
			/* Fields appear only for the sizes that overflowed. */
			size_t at = off + 4 + (usize == ZIP_SIZE_IN_ZIP64 ? 8 : 0);

			if (at + 8 > off + 4 + sz || at + 8 > xvis)
				return false;
			*size = le64(extra + at);
			return true;
		}
		off += 4 + (size_t)sz;
	}
	return false;
}

static void zip_note_name(struct zip_scan *z, const unsigned char *name, size_t n)
{
	size_t blen;
	const unsigned char *base = mem_basename(name, n, &blen);

	/* torch: <archive>/data.pkl, <archive>/data/<n>, <archive>/version,
	 * newer <archive>/.data/version. */
	if (mem_ends_with(name, n, "/data.pkl") || mem_ends_with(name, n, "/version") ||
	    mem_contains(name, n, "/data/"))
		z->torch = true;
	if (z->members == 0 && mem_ends_with(name, n, ".npy"))
		z->first_npy = true;
	if (mem_equals(base, blen, "config.json") || mem_equals(base, blen, "metadata.json") ||
	    mem_equals(base, blen, "model.weights.h5"))
		z->keras = true;
}

static enum model_format detect_zip(const unsigned char *buf, size_t len)
{
	struct zip_scan z = { 0 };
	size_t off = 0;

	/* A file too short for one local header cannot be opened as a zip. */
	if (len < ZIP_LOCAL_HDR_LEN)
		return MF_UNKNOWN;
	while (z.members < ZIP_MAX_MEMBERS && has_magic(buf, len, off, zip_local_magic, 4) &&
	       len - off >= ZIP_LOCAL_HDR_LEN) {
		const unsigned char *h = buf + off;
		uint16_t flags = le16(h + 6), nlen = le16(h + 26), xlen = le16(h + 28);
		size_t name_off = off + ZIP_LOCAL_HDR_LEN;
		size_t nvis = len - name_off < nlen ? len - name_off : nlen;

		zip_note_name(&z, buf + name_off, nvis);
		z.members++;

		size_t data = name_off + nlen + xlen;
		if (data >= len)
			break;
		uint64_t size = 0;
		size_t xvis = len - (name_off + nlen) < xlen ? len - (name_off + nlen) : xlen;
		bool known = zip_entry_size(h, buf + name_off + nlen, xvis, &size);
		size_t next;

		if (known && !(size == 0 && (flags & ZIP_FLAG_DATA_DESCRIPTOR))) {
			if (size >= len - data)
				break;
			next = data + (size_t)size;
		} else {
			/* Sizes come after the data (torch sets bit 3): look for the
			 * next local header; a false hit only adds a name. */
			const unsigned char *p = memmem(buf + data, len - data, zip_local_magic, 4);
			if (!p)
				break;
			next = (size_t)(p - buf);
		}
		if (next <= off)
			break;
		off = next;
	}
	if (z.torch)
		return MF_TORCH_ZIP;
	if (z.first_npy)
		return MF_NUMPY_ZIP;
	if (z.keras)
		return MF_KERAS_ZIP;
	return MF_ZIP;
}

/* Tar size field: octal, or GNU base-256 when the top bit is set. */
static bool tar_size(const unsigned char *f, uint64_t *out)
{
	uint64_t v = 0;
	size_t i = 0;

	if (f[0] & 0x80) {
		for (i = 1; i < TAR_SIZE_LEN; i++) {
			if (v >> 56)
				return false;
			v = v << 8 | f[i];
		}
		*out = v;
		return true;
	}
	while (i < TAR_SIZE_LEN && f[i] == ' ')
		i++;
	for (; i < TAR_SIZE_LEN && f[i] >= '0' && f[i] <= '7'; i++)
		v = v << 3 | (uint64_t)(f[i] - '0');
	*out = v;
	return true;
}

static bool is_tar(const unsigned char *buf, size_t len, size_t off)
{
	return has_magic(buf, len, off + TAR_MAGIC_OFF, "ustar", 5);
}

static enum model_format detect_tar(const unsigned char *buf, size_t len)
{
	size_t off = 0;

	for (int i = 0; i < TAR_MAX_MEMBERS && is_tar(buf, len, off); i++) {
		const unsigned char *h = buf + off;
		const unsigned char *nul = memchr(h, '\0', TAR_NAME_LEN);
		size_t nlen = nul ? (size_t)(nul - h) : TAR_NAME_LEN, blen;
		const unsigned char *base = mem_basename(h, nlen, &blen);
		uint64_t size;

		/* pax headers (GNU names them <dir>/PaxHeaders.N/<member>) are
		 * walked like members: the member itself follows anyway. */
		if (mem_equals(base, blen, "pickle") || mem_equals(base, blen, "storages") ||
		    mem_equals(base, blen, "tensors") || mem_equals(base, blen, "sys_info"))
			return MF_TORCH_TAR;
		if (!tar_size(h + TAR_SIZE_OFF, &size))
			break;
		uint64_t blocks = (size + TAR_BLOCK - 1) / TAR_BLOCK;
		if (blocks >= (len - off) / TAR_BLOCK)
			break;
		off += TAR_BLOCK + (size_t)blocks * TAR_BLOCK;
	}
	return MF_UNKNOWN;
}

/* ---- safetensors ----------------------------------------------------- */

/* The visible part of the JSON header must be lexically JSON: raw control
 * bytes or stray text mean something else (a pickle dressed as safetensors)
 * that the real loader would reject. */
static bool json_header_plausible(const unsigned char *s, size_t n, bool complete)
{
	bool in_str = false, first = true;
	unsigned char last = '{';

	for (size_t i = 0; i < n; i++) {
		unsigned char c = s[i];

		if (in_str) {
			if (c < 0x20)
				return false;
			if (c == '\\')
				i++;
			else if (c == '"')
				in_str = false;
			continue;
		}
		if (c == ' ' || c == '\t' || c == '\n' || c == '\r')
			continue;
		if (first && c != '"')
			return false;
		first = false;
		last = c;
		if (c == '"')
			in_str = true;
		else if (!strchr("{}[]:,-+.0123456789eEtrufalsn", c) || !c)
			return false;
	}
	return !complete || (!in_str && last == '}');
}

static bool is_safetensors(const unsigned char *buf, size_t len)
{
	if (len < 9)
		return false;
	uint64_t n = le64(buf);
	if (n < SAFETENSORS_MIN_HEADER || n > SAFETENSORS_MAX_HEADER || buf[8] != '{')
		return false;
	size_t vis = len - 9;
	bool complete = n - 1 <= vis;

	return json_header_plausible(buf + 9, complete ? (size_t)n - 1 : vis, complete);
}

/* ---- whole-file compression ------------------------------------------ */

/* Inflate the start of a zlib (window_bits 15) or gzip (31) stream and say
 * whether it is a pickle. A cut stream is normal: the probe is a prefix. */
static bool inflated_is_pickle(const unsigned char *in, size_t len, int window_bits)
{
	unsigned char out[MODELFMT_PROBE_LEN];
	z_stream zs;

	memset(&zs, 0, sizeof(zs));
	if (inflateInit2(&zs, window_bits) != Z_OK)
		return false;
	zs.next_in = in;
	zs.avail_in = len > UINT32_MAX ? UINT32_MAX : (uInt)len;
	zs.next_out = out;
	zs.avail_out = sizeof(out);
	/* Z_BUF_ERROR (truncated) and Z_DATA_ERROR (corrupt later) still leave
	 * the bytes produced so far, which the loader would also have read. */
	(void)inflate(&zs, Z_SYNC_FLUSH);
	size_t got = sizeof(out) - zs.avail_out;
	inflateEnd(&zs);
	return looks_like_pickle(out, got);
}

static bool joblib_name(const char *hint)
{
	static const char *const suffixes[] = {
		".joblib", ".pkl", ".sav", ".gz", ".z", ".bz2", ".xz", ".lzma", ".lz4",
	};

	if (!hint)
		return false;
	for (size_t i = 0; i < sizeof(suffixes) / sizeof(suffixes[0]); i++)
		if (name_has_suffix(hint, suffixes[i]))
			return true;
	return false;
}

static bool joblib_zf_header(const unsigned char *buf, size_t len)
{
	if (len <= JOBLIB_ZF_HEADER_LEN || buf[2] != '0' || buf[3] != 'x')
		return false;
	for (size_t i = 4; i < JOBLIB_ZF_HEADER_LEN; i++) {
		unsigned char c = buf[i];

		if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F') ||
		      c == ' ' || c == 'L'))
			return false;
	}
	return true;
}

/* Returns true when buf starts with a compression magic; *out is then the
 * verdict (MF_JOBLIB_COMPRESSED or MF_UNKNOWN). */
static bool detect_compressed(const unsigned char *buf, size_t len, const char *hint,
			      enum model_format *out)
{
	static const unsigned char gzip_magic[] = { 0x1f, 0x8b };
	static const unsigned char xz_magic[] = { 0xfd, '7', 'z', 'X', 'Z', 0x00 };
	static const unsigned char lzma_magic[] = { 0x5d, 0x00, 0x00 };
	static const unsigned char lz4_magic[] = { 0x04, 0x22, 0x4d, 0x18 };

	if (len >= 2 && buf[0] == 0x78 &&
	    (buf[1] == 0x01 || buf[1] == 0x5e || buf[1] == 0x9c || buf[1] == 0xda)) {
		*out = inflated_is_pickle(buf, len, MAX_WBITS) ? MF_JOBLIB_COMPRESSED : MF_UNKNOWN;
		return true;
	}
	if (has_magic(buf, len, 0, gzip_magic, sizeof(gzip_magic))) {
		*out = inflated_is_pickle(buf, len, MAX_WBITS + 16) ? MF_JOBLIB_COMPRESSED :
								      MF_UNKNOWN;
		return true;
	}
	if (has_magic(buf, len, 0, "ZF", 2)) {
		if (joblib_zf_header(buf, len)) {
			/* read_zfile skips one space after the header if present. */
			size_t at = JOBLIB_ZF_HEADER_LEN + (buf[JOBLIB_ZF_HEADER_LEN] == ' ');

			if (at < len && inflated_is_pickle(buf + at, len - at, MAX_WBITS)) {
				*out = MF_JOBLIB_COMPRESSED;
				return true;
			}
		}
		*out = joblib_name(hint) ? MF_JOBLIB_COMPRESSED : MF_UNKNOWN;
		return true;
	}
	if ((len >= 4 && buf[0] == 'B' && buf[1] == 'Z' && buf[2] == 'h' && buf[3] >= '1' &&
	     buf[3] <= '9') ||
	    has_magic(buf, len, 0, xz_magic, sizeof(xz_magic)) ||
	    has_magic(buf, len, 0, lzma_magic, sizeof(lzma_magic)) ||
	    has_magic(buf, len, 0, lz4_magic, sizeof(lz4_magic))) {
		/* No decompressor here: only a joblib-like name tips it. */
		*out = joblib_name(hint) ? MF_JOBLIB_COMPRESSED : MF_UNKNOWN;
		return true;
	}
	return false;
}

/* ---- the detector ---------------------------------------------------- */

enum model_format model_format_detect(const unsigned char *buf, size_t len, const char *name_hint)
{
	static const unsigned char torch_legacy_magic[] = {
		0x80, 0x02, 0x8a, 0x0a, 0x6c, 0xfc, 0x9c, 0x46, 0xf9, 0x20, 0x6a, 0xa8, 0x50, 0x19,
	};
	static const unsigned char numpy_magic[] = { 0x93, 'N', 'U', 'M', 'P', 'Y' };
	static const unsigned char hdf5_magic[] = { 0x89, 'H', 'D', 'F', '\r', '\n', 0x1a, '\n' };
	static const unsigned char sevenzip_magic[] = { '7', 'z', 0xbc, 0xaf, 0x27, 0x1c };
	enum model_format f;

	if (!buf || len == 0)
		return MF_UNKNOWN;
	/* Before the pickle check: the legacy magic is itself a pickle. */
	if (has_magic(buf, len, 0, torch_legacy_magic, sizeof(torch_legacy_magic)))
		return MF_TORCH_LEGACY;
	/* Zip before anything else, as torch.load decides. */
	if (has_magic(buf, len, 0, zip_local_magic, sizeof(zip_local_magic)))
		return detect_zip(buf, len);
	if (has_magic(buf, len, 0, numpy_magic, sizeof(numpy_magic)))
		return MF_NUMPY;
	if (has_magic(buf, len, 0, hdf5_magic, sizeof(hdf5_magic)))
		return MF_HDF5;
	if (has_magic(buf, len, 0, "GGUF", 4))
		return MF_GGUF;
	if (has_magic(buf, len, 0, sevenzip_magic, sizeof(sevenzip_magic)))
		return MF_SEVENZIP;
	if (detect_compressed(buf, len, name_hint, &f))
		return f;
	if (is_tar(buf, len, 0))
		return detect_tar(buf, len);
	/* Pickle before safetensors: a stream that parses as a pickle is one,
	 * whatever its first eight bytes would mean as a length. */
	if (looks_like_pickle(buf, len))
		return memmem(buf, len, "joblib", 6) ? MF_JOBLIB : MF_PICKLE;
	if (is_safetensors(buf, len))
		return MF_SAFETENSORS;
	/* Protobuf has no magic: ModelProto starts with field 1 (ir_version). */
	if (name_hint && name_has_suffix(name_hint, ".onnx") && buf[0] == 0x08)
		return MF_ONNX;
	return MF_UNKNOWN;
}

/* The name a file descriptor link points at, as the name hint: reading a
 * model through /proc/<pid>/fd/<n> must not lose the ".onnx"/".xz" that
 * the bytes alone cannot decide. Falls back to the path itself. */
static const char *name_hint_for(const char *path, char *target, size_t len)
{
	static const char deleted[] = " (deleted)";

	if (strncmp(path, "/proc/", 6) != 0 || !strstr(path, "/fd/"))
		return path;
	ssize_t n = readlink(path, target, len - 1);
	if (n <= 0)
		return path;
	target[n] = '\0';
	size_t dl = sizeof(deleted) - 1;
	if ((size_t)n > dl && strcmp(target + n - dl, deleted) == 0)
		target[n - dl] = '\0';
	return target;
}

int model_format_detect_file(const char *path, enum model_format *out)
{
	unsigned char buf[MODELFMT_PROBE_LEN];
	char target[PATH_MAX];
	struct stat st;
	size_t got = 0;
	int fd, err;

	if (!path || !out)
		return -EINVAL;
	/* O_NONBLOCK: opening a FIFO must not hang the collector. O_NOATIME:
	 * the monitor should not change what the user sees; it needs
	 * ownership or CAP_FOWNER, so retry without it. */
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY | O_NOATIME);
	if (fd < 0 && errno == EPERM)
		fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) < 0) {
		err = -errno;
		close(fd);
		return err;
	}
	/* Reading a FIFO or a device would steal or block on the loader's data. */
	if (!S_ISREG(st.st_mode)) {
		close(fd);
		return S_ISDIR(st.st_mode) ? -EISDIR : -EINVAL;
	}
	while (got < sizeof(buf)) {
		ssize_t n = read(fd, buf + got, sizeof(buf) - got);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			err = -errno;
			close(fd);
			return err;
		}
		if (n == 0)
			break;
		got += (size_t)n;
	}
	close(fd);
	*out = model_format_detect(buf, got, name_hint_for(path, target, sizeof(target)));
	return 0;
}

static const char *const format_names[MF_FORMAT_MAX] = {
	[MF_UNKNOWN] = "unknown",
	[MF_TORCH_ZIP] = "torch-zip",
	[MF_TORCH_LEGACY] = "torch-legacy",
	[MF_TORCH_TAR] = "torch-tar",
	[MF_PICKLE] = "pickle",
	[MF_JOBLIB] = "joblib",
	[MF_JOBLIB_COMPRESSED] = "joblib-compressed",
	[MF_NUMPY] = "numpy",
	[MF_NUMPY_ZIP] = "numpy-zip",
	[MF_KERAS_ZIP] = "keras",
	[MF_ZIP] = "zip",
	[MF_HDF5] = "hdf5",
	[MF_GGUF] = "gguf",
	[MF_SAFETENSORS] = "safetensors",
	[MF_ONNX] = "onnx",
	[MF_SEVENZIP] = "7z",
};

const char *model_format_name(enum model_format f)
{
	if ((unsigned)f >= MF_FORMAT_MAX || !format_names[f])
		return "unknown";
	return format_names[f];
}

bool model_format_can_run_code(enum model_format f)
{
	switch (f) {
	case MF_TORCH_ZIP:
	case MF_TORCH_LEGACY:
	case MF_TORCH_TAR:
	case MF_PICKLE:
	case MF_JOBLIB:
	case MF_JOBLIB_COMPRESSED:
	case MF_NUMPY: /* object arrays carry a pickle */
	case MF_NUMPY_ZIP:
	case MF_KERAS_ZIP: /* Lambda layers */
	case MF_HDF5:      /* Keras .h5 Lambda layers */
	case MF_ZIP:       /* may wrap anything */
	case MF_SEVENZIP:
	case MF_GGUF: /* chat template runs on the first request */
		return true;
	case MF_SAFETENSORS:
	case MF_ONNX:
	case MF_UNKNOWN:
	case MF_FORMAT_MAX:
		return false;
	}
	return false;
}
