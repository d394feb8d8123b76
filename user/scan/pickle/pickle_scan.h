/* Static pickle walker: finds every import (callable) a pickle would make,
 * without running it, and judges them against an allowlist profile. */
#ifndef MLWATCH_PICKLE_SCAN_H
#define MLWATCH_PICKLE_SCAN_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "pickle_profiles.h"

struct cJSON;

#define PICKLE_NAME_MAX 255  /* module / name bytes kept; longer is cut */
#define PICKLE_MAX_ERRORS 32 /* errors kept; more are only counted */

enum pickle_verdict { PV_CLEAN = 0, PV_SUSPICIOUS, PV_MALICIOUS, PV_ERROR };

enum pickle_err_kind {
	PERR_UNKNOWN_OPCODE = 1,
	PERR_TRUNCATED, /* an argument or line runs past the buffer */
	PERR_STACK_UNDERFLOW,
	PERR_MARK_UNDERFLOW, /* pop-to-mark with no mark */
	PERR_MEMO_MISS,      /* GET of a key never PUT */
	PERR_BAD_ARG,        /* unparsable line argument (GET/PUT key, ...) */
	PERR_BAD_GLOBAL,     /* STACK_GLOBAL operands are not strings */
	PERR_NO_STOP,        /* buffer ended without STOP */
	PERR_JOBLIB_ARRAY,   /* joblib inline array of unknown size or place */
	PERR_BAD_STRING,     /* a protocol 0 string escape Python would reject */
};

/* Bits of pickle_result.limits_hit; each names the limit that cut the walk. */
enum pickle_limit {
	PLIM_INPUT = 1 << 0, /* only the first max_input bytes were walked */
	PLIM_OPCODES = 1 << 1,
	PLIM_STACK = 1 << 2,    /* stack or mark-stack depth */
	PLIM_MEMO = 1 << 3,     /* memo key >= max_memo: not stored; joblib: more
				 * than max_memo tracked objects */
	PLIM_FINDINGS = 1 << 4, /* later findings only counted (verdict still sees them) */
	PLIM_STRING = 1 << 5,   /* a string/bytes argument or a name too long, or
				 * decoded strings past their budget */
	PLIM_DEPTH = 1 << 6,    /* nested pickle not walked */
	PLIM_TIME = 1 << 7,     /* the budget's deadline passed (budget->spent says so too) */
};

struct budget;

struct pickle_limits {
	size_t max_input, max_opcodes, max_stack, max_memo, max_findings, max_string;
	unsigned max_depth;
	/* the job's (lib/budget.h): its clock is read as each pickle, nested
	 * ones included, starts and every PICKLE_POLL_OPS opcodes; NULL: none */
	struct budget *budget;
};
#define PICKLE_POLL_OPS 4096
extern const struct pickle_limits pickle_default_limits;

enum pickle_import_kind { PIMP_GLOBAL, PIMP_STACK_GLOBAL, PIMP_INST, PIMP_EXT };

/* How an import was used (pickle_finding.use bits). */
enum pickle_use {
	PUSE_NEW = 1 << 0,  /* as a class to reconstruct: cls.__new__(cls, ...) (NEWOBJ,
	                     * copyreg._reconstructor, OBJ/INST with no arguments) */
	PUSE_CALL = 1 << 1, /* called with arguments: REDUCE, OBJ/INST with arguments */
};

struct pickle_finding {
	char module[PICKLE_NAME_MAX + 1]; /* raw bytes, NUL-free copy; EXT: "" */
	char name[PICKLE_NAME_MAX + 1];
	size_t offset; /* of the opcode, in the outermost buffer; inside a
				 * decoded (escaped) string: where that string starts */
	uint8_t opcode;
	enum pickle_import_kind kind;
	int32_t ext_code; /* EXT1/2/4 registry code, else -1 */
	unsigned depth;   /* 0 = top level, 1 = pickle inside a loads() arg ... */
	bool called;      /* consumed by REDUCE/OBJ/NEWOBJ/NEWOBJ_EX/INST */
	uint8_t use;      /* enum pickle_use bits */
	bool loader;      /* a known pickle loader (nested-load risk) */
	enum pickle_severity severity;
};

struct pickle_error {
	enum pickle_err_kind kind;
	size_t offset;
	uint8_t opcode;
	unsigned depth;
};

struct pickle_result {
	enum pickle_verdict verdict;
	const char *profile; /* profile name, or "none" */
	struct pickle_finding *findings;
	size_t nfindings;
	size_t findings_dropped;    /* past max_findings */
	enum pickle_severity worst; /* over all findings, dropped ones too */
	struct pickle_error errors[PICKLE_MAX_ERRORS];
	size_t nerrors;      /* may exceed PICKLE_MAX_ERRORS */
	unsigned limits_hit; /* enum pickle_limit bits */
	size_t opcodes;      /* opcodes walked, nested ones included */
	size_t persids;      /* PERSID/BINPERSID seen (torch storages) */
	size_t pickles;      /* top-level pickles walked */
	size_t nested;       /* nested pickles walked */
	bool trailing;       /* bytes follow the (last walked) STOP */
	size_t trailing_offset;
	bool trailing_unparsed; /* stream: a trailing segment was not a pickle */
	size_t consumed;        /* end of the last walked top-level pickle: just
					 * after its STOP, or where its walk ended */
	size_t arrays;          /* joblib: inline arrays skipped or walked */
};

/* Walks the first pickle in buf. profile may be NULL (nothing allowed).
 * Returns 0, or -ENOMEM (out is still valid and freeable). */
int pickle_scan(const uint8_t *buf, size_t len, const struct pickle_profile *profile,
		struct pickle_result *out);
/* As pickle_scan, with explicit limits (NULL = defaults). */
int pickle_scan_opts(const uint8_t *buf, size_t len, const struct pickle_profile *profile,
		     const struct pickle_limits *lim, struct pickle_result *out);
/* Walks consecutive pickles (legacy torch files stack five of them, then raw
 * storage bytes): a later segment that fails before any import or STOP is
 * taken as non-pickle data (trailing_unparsed), not as an error. */
int pickle_scan_stream(const uint8_t *buf, size_t len, const struct pickle_profile *profile,
		       const struct pickle_limits *lim, struct pickle_result *out);
/* Walks a joblib.dump file (uncompressed) the way joblib.load reads it:
 * after the BUILD of each NumpyArrayWrapper its array follows inline, raw
 * bytes (skipped) or, for object arrays, a whole pickle (walked as nested,
 * depth + 1). An array whose size cannot be told is a PERR_JOBLIB_ARRAY
 * error and ends the walk. */
int pickle_scan_joblib(const uint8_t *buf, size_t len, const struct pickle_profile *profile,
		       const struct pickle_limits *lim, struct pickle_result *out);
void pickle_result_free(struct pickle_result *r);

#endif
