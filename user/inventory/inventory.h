/*
 * Model inventory: every confirmed model load becomes a record (who, which
 * file, its sha256, where it came from, how often this host loaded it), so
 * that after an advisory one can find every node that loaded a model, and
 * a blocklist can alert at load time.
 *
 * Threads: everything here is called from the collector's (main) thread.
 * One worker thread reads files to hash them, at low priority, through a
 * bounded job queue; its results come back through a completion queue
 * that inventory_poll() drains. Records are handed to a callback on the
 * calling thread, so sinks need no locking.
 */
#ifndef MLWATCH_INVENTORY_H
#define MLWATCH_INVENTORY_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include "collect/hfcache.h"
#include "detect/blocklist.h"
#include "mlwatch/events.h"
#include "scan/model_scan.h"
#include "scan/modelfmt.h"

struct cJSON;
struct inventory;

/* Files are read and hashed in chunks of this size. */
#define INV_CHUNK (1u << 20)

struct inv_options {
	const char *host;                  /* copied; NULL: gethostname() */
	const struct blocklist *blocklist; /* not copied: must outlive the inventory; may be NULL */
	unsigned queue_len;                /* hashes outstanding at once (default 256) */
	unsigned cache_entries; /* files remembered (default 4096; raised above queue_len) */
	unsigned max_waiting;   /* records waiting for a hash in progress (default 1024) */
	int nice;               /* worker niceness, 0-19 (default 19) */
	unsigned max_mib_per_s; /* worker read rate limit, MiB/s; 0: none (default) */
	bool no_scan;           /* skip the static scan (model_scan) of each file */
	const struct scan_limits *scan_limits; /* not copied; NULL: inv_scan_limits */
};

/* The runtime scan reads at most this much of one pickle member. */
extern const struct scan_limits inv_scan_limits;

void inv_options_default(struct inv_options *o);

/* What the collector knows when it confirms a model load. Strings are
 * copied. */
struct inv_load {
	uint32_t pid;
	uint32_t uid;
	int fd; /* the loader's fd for the file; -1 if unknown */
	const char *comm;
	const char *exe;
	const char *path;          /* as the process named it */
	const char *resolved_path; /* absolute */
	enum model_format format;
	uint64_t realtime_ns;        /* time of the load, CLOCK_REALTIME; 0: now */
	const struct mlw_open *open; /* the kernel's record of the open (copied); may be NULL */
};

enum inv_hash_status {
	INV_HASH_COMPUTED = 0, /* read in full for this record */
	INV_HASH_CACHED,       /* same file (dev, inode, size, mtime, ctime) hashed before */
	INV_HASH_PENDING,      /* early notice only: the worker is on it */
	INV_HASH_QUEUE_FULL,   /* not hashed: queue_len hashes already outstanding */
	INV_HASH_WAITING_FULL, /* not hashed: max_waiting records already waiting */
	INV_HASH_UNREADABLE,   /* stat, open or read failed (hash_errno) */
	INV_HASH_CHANGED,      /* the file changed between the load and the read */
	INV_HASH_NOT_REGULAR,  /* not a regular file */
	INV_HASH_SHUTDOWN,     /* mlwatch stopped before the worker got to it */
};

/* Alerts to raise for a record, now (each is raised once per load). */
#define INV_ALERT_BLOCKLIST_REPO 1u   /* repo id on the blocklist: known at load time */
#define INV_ALERT_BLOCKLIST_SHA256 2u /* sha256 on the blocklist: known once hashed */
/* contents differ from the digest the cache name promises */
#define INV_ALERT_DIGEST_MISMATCH 4u
/* the static scan found code execution: known before any behaviour */
#define INV_ALERT_SCAN_MALICIOUS 8u
/* the static scan found imports outside the format's allowlist */
#define INV_ALERT_SCAN_SUSPICIOUS 16u
#define INV_ALERT_LAST INV_ALERT_SCAN_SUSPICIOUS

/* The static scan of a record's file, done by a scanner thread before the
 * file is hashed (a scan reads only directories and pickles: milliseconds),
 * cached with the hash by file version. */
#define INV_SCAN_TOP 2 /* worst findings kept as text */
#define INV_SCAN_LINE 256
struct inv_scan {
	bool done; /* false: not scanned (off, queue full, unreadable) */
	enum scan_verdict verdict;
	uint32_t findings; /* suspicious or malicious findings, dropped ones too */
	uint32_t duration_us;
	uint64_t bytes_read;
	unsigned cut; /* BUDGET_* (lib/budget.h): what stopped the scan */
	char top[INV_SCAN_TOP][INV_SCAN_LINE];
	char error[INV_SCAN_LINE];
};

struct inv_record {
	/* false: an early notice of a repo hit, sent at load time while the
	 * file is still being hashed; the complete record follows. Write
	 * only complete records to the inventory. */
	bool complete;
	unsigned alerts; /* INV_ALERT_* */
	const char *host;
	uint32_t pid, uid;
	const char *comm, *exe;
	const char *path, *resolved_path;
	enum model_format format;
	uint64_t dev, ino, size; /* 0 when the file could not be stat'ed */
	uint64_t mtime_ns;
	enum inv_hash_status hash;
	int hash_errno;  /* for INV_HASH_UNREADABLE */
	char sha256[65]; /* lower-case hex; "" unless COMPUTED or CACHED */
	struct model_origin origin;
	bool digest_mismatch; /* origin.name_sha256 does not prefix sha256 */
	/* This file version on this host: first load seen, this load, loads
	 * so far (this one included). CLOCK_REALTIME ns. */
	uint64_t first_seen_ns, last_seen_ns;
	uint64_t load_count;
	struct inv_scan scan;
	bool has_open;                     /* open: the load's kernel record */
	struct mlw_open open;              /* header and open fields, without the path */
	const struct bl_entry *repo_match; /* into the blocklist; NULL: none */
	const struct bl_entry *sha256_match;
};

struct inv_stats {
	uint64_t loads;   /* inventory_submit calls */
	uint64_t records; /* complete records emitted */
	uint64_t notices; /* early repo-hit notices emitted */
	uint64_t folded;  /* same process loading the same file again: counted only */
	uint64_t hashed;  /* files read in full */
	uint64_t bytes_hashed;
	uint64_t cache_hits;
	uint64_t cache_evictions;
	uint64_t queue_full;
	uint64_t waiting_full;
	uint64_t read_errors;
	uint64_t changed;
	uint64_t not_regular;
	uint64_t blocklist_hits; /* blocklist alerts raised (repo + sha256) */
	uint64_t digest_mismatches;
	uint64_t scanned;                         /* files scanned (not counting cache hits) */
	uint64_t scan_malicious, scan_suspicious; /* scan alerts raised */
	/* scans the deadline or the inflate budget stopped (each one suspicious) */
	uint64_t scan_cut_time, scan_cut_inflate;
	uint64_t unhashed_at_exit; /* records flushed at shutdown without a hash */
	uint64_t dropped_at_exit;  /* records freed by inventory_free without a flush */
};

/* Starts the worker. Returns NULL (message in err) on failure. */
struct inventory *inventory_new(const struct inv_options *o, char *err, size_t errlen);

/* One model load. Cheap: a few stat/open calls, no file reads but a
 * best-effort 64-byte HF refs/main. A repo hit or a cached hash makes a
 * record ready at once; otherwise it is ready when the worker is done.
 * Returns 0, or -ENOMEM (the load is lost and counted nowhere else). */
int inventory_submit(struct inventory *inv, const struct inv_load *l);

/* Hands every ready record to emit (in order), on this thread. emit may
 * be NULL (records are dropped). emit must not call back into the
 * inventory. Returns how many were handed over. Call after each submit
 * and on every main-loop iteration. */
typedef void (*inv_emit_fn)(const struct inv_record *r, void *ctx);
size_t inventory_poll(struct inventory *inv, inv_emit_fn emit, void *ctx);

/* Records waiting for the worker (0: everything submitted was emitted or
 * is ready for the next poll). */
size_t inventory_pending(const struct inventory *inv);

/* At exit: stops the worker (a file being read is abandoned at the next
 * chunk), then emits every record still waiting, marked
 * INV_HASH_SHUTDOWN. Later submits are recorded without a hash. */
size_t inventory_flush(struct inventory *inv, inv_emit_fn emit, void *ctx);

/* Stops and joins the worker if still running; frees everything. */
void inventory_free(struct inventory *inv);

const struct inv_stats *inventory_stats(const struct inventory *inv);
void inventory_report(const struct inventory *inv, FILE *f);

#endif
