/*
 * Static model triage: reads a model file the way its loader would (format
 * by magic bytes, containers opened as PyTorch/numpy/joblib/Keras open
 * them), walks every pickle the loader would run, and judges what it would
 * import against the allowlist profile of that format. Only the container
 * directories and the code-bearing members are read, never tensor data, so
 * the cost does not grow with the checkpoint's size.
 *
 * Thread-safe: a scan uses only its own report and the (read-only after
 * start-up) profiles, so the collector's worker thread may scan while the
 * CLI-style callers use it elsewhere.
 */
#ifndef MLWATCH_MODEL_SCAN_H
#define MLWATCH_MODEL_SCAN_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "modelfmt.h"
#include "collect/hfcache.h"
#include "lib/bytesrc.h"
#include "scan/pickle/pickle_scan.h"

struct cJSON;

#define SCAN_MEMBER_MAX 512 /* member path kept ("a.zip/b/data.pkl"); longer is cut */
#define SCAN_DETAIL_MAX 256

/* What a file is judged to be, worst first is highest. */
enum scan_verdict {
	SCAN_SKIPPED = 0, /* not a model format; nothing a loader would run */
	SCAN_CLEAN,
	SCAN_CUSTOM, /* clean but for classes outside the profile, rebuilt the way
	                     * pickle rebuilds any object (cls.__new__ and its state):
	                     * torch.save(model) of the user's own class. Not an alert */
	SCAN_ERROR,  /* could not be read or parsed; nothing bad seen */
	SCAN_SUSPICIOUS,
	SCAN_MALICIOUS,
};

enum scan_finding_kind {
	SF_IMPORT = 0,  /* a pickle import outside the profile */
	SF_PARSE_ERROR, /* a broken stream (a payload may sit before it) */
	SF_LIMIT,       /* a named limit cut the scan short */
	SF_UNSCANNABLE, /* a wrapper this scanner cannot open (7z, rar, xz ...) */
	SF_NOT_SCANNED, /* joblib with a compressor that is not zlib/gzip */
	SF_CONTAINER,   /* a zip/tar oddity the loader tolerates (bad CRC, ...) */
	SF_LAMBDA,      /* Keras Lambda layer / foreign module */
	SF_TEMPLATE,    /* GGUF chat template reaching for Python or the OS */
	SF_KIND_MAX,
};

struct scan_finding {
	enum scan_finding_kind kind;
	enum pickle_severity severity; /* suspicious or malicious */
	char member[SCAN_MEMBER_MAX];  /* "" for the file itself */
	uint64_t offset;               /* in the member's (decompressed) bytes */
	char module[PICKLE_NAME_MAX + 1], name[PICKLE_NAME_MAX + 1]; /* SF_IMPORT */
	bool called;                  /* SF_IMPORT: the import is called */
	bool custom;                  /* SF_IMPORT: only rebuilt as a class (SCAN_CUSTOM) */
	unsigned depth;               /* SF_IMPORT: nested-pickle depth */
	const char *profile;          /* the profile it was judged by, or "" */
	char detail[SCAN_DETAIL_MAX]; /* other kinds: what was seen */
};

/* Limits of one scan; each cut is reported as an SF_LIMIT finding. The
 * last two bound the whole file, however its parts multiply (overlapping
 * zip entries, nested archives, a pickle that loads one string again and
 * again): checked inside every loop, they end the scan as suspicious. */
struct scan_limits {
	uint64_t max_member;  /* bytes of one pickle / decompressed member read */
	unsigned max_nesting; /* containers inside containers */
	size_t max_members;   /* archive members looked at */
	size_t max_findings;  /* findings kept; more only counted */
	uint64_t max_inflate; /* bytes inflated, or copied out of stored zip
			       * members, in all (nested members too); 0: none */
	unsigned max_ms;      /* wall-clock time for the file, ms; 0: none */
};
extern const struct scan_limits scan_default_limits;

struct scan_report {
	enum scan_verdict verdict;
	enum model_format format;
	uint64_t size; /* file size */
	struct scan_finding *findings;
	size_t nfindings, findings_dropped;
	size_t members;              /* archive members looked at */
	size_t pickles;              /* pickles walked, nested ones included */
	size_t imports_allowed;      /* imports the profiles allowed */
	uint64_t bytes_read;         /* what the scan cost in I/O */
	uint64_t inflated;           /* bytes decompressed (or copied out of stored members) */
	unsigned cut;                /* BUDGET_TIME | BUDGET_INFLATE (lib/budget.h): the
				      * scan stopped there, reported as a limit finding */
	const char *profile;         /* profile of the main pickle, "" if none */
	size_t errors;               /* parts that could not be read or parsed */
	char error[SCAN_DETAIL_MAX]; /* the first of them, "" if none */
	char note[SCAN_DETAIL_MAX];  /* e.g. why a file was skipped */
};

/* Scans the file open at fd (size from fstat by the caller) named name
 * (for the name-only hints: ".onnx", ".joblib", a pickle-bearing name
 * inside an unknown wrapper). lim may be NULL. Returns 0 with *r filled
 * (errors are a verdict, not a failure), or -ENOMEM. */
int model_scan_fd(int fd, const char *name, const struct scan_limits *lim, struct scan_report *r);
/* The same on a buffer (tests, fuzzing, members already in memory). */
int model_scan_mem(const void *buf, size_t len, const char *name, const struct scan_limits *lim,
		   struct scan_report *r);
/* Opens path (following symlinks, regular files only, O_NONBLOCK so a FIFO
 * cannot hang it) and scans it. Open/stat failures are SCAN_ERROR. */
int model_scan_path(const char *path, const struct scan_limits *lim, struct scan_report *r);
void scan_report_free(struct scan_report *r);

#endif
