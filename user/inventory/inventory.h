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
#include <sys/types.h>
#include "collect/hfcache.h"
#include "detect/blocklist.h"
#include "mlwatch/events.h"
#include "scan/model_scan.h"
#include "scan/modelfmt.h"

struct cJSON;
struct inventory;

/* Files are read and hashed in chunks of this size. */
#define INV_CHUNK (1u << 20)

/* Defaults of the volume limits (inv_options_default). A checkpoint file
 * is at most tens of GB (the Hugging Face hub refuses files over 50 GB);
 * sha256 runs at about 1.6 GB/s, so 64 GiB is under a minute of the
 * hashing thread, where a 16 TiB sparse file would take hours. */
#define INV_WINDOW_MS 60000u            /* repeats of one load folded this long */
#define INV_RECORDS_PER_SEC 50u         /* records written per second... */
#define INV_BURST_SECONDS 10u           /* ...with bursts of this many seconds' worth */
#define INV_MAX_HASH_SIZE (64ull << 30) /* files over this are not hashed */
#define INV_STOP_WAIT_MS 2000u          /* exit waits this long for the threads */
#define INV_MAX_WINDOWS 4096u           /* identities folded at once */

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
	/* Repeats of one identity (file version, exe, uid) within window_ms
	 * of its record are folded into one record at the window's end;
	 * 0: every load is a record. */
	unsigned window_ms;
	unsigned max_windows; /* identities folded at once (0: INV_MAX_WINDOWS) */
	/* Records without an alert: at most records_per_sec (0: no limit),
	 * bursts of burst (0: INV_BURST_SECONDS worth). */
	unsigned records_per_sec, burst;
	uint64_t max_hash_size; /* bytes; larger files are not hashed (0: no cap) */
	unsigned stop_wait_ms;  /* exit abandons a thread stuck longer (0: default) */
	/* NULL: read(2). Tests stand in a hung file system. */
	ssize_t (*read_fn)(int fd, void *buf, size_t n);
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
	INV_HASH_TOO_LARGE,    /* not hashed: larger than max_hash_size (still scanned) */
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

/* What the rate limit held back: records (and the loads they stood for)
 * between first_ns and last_ns (CLOCK_REALTIME of the loads). */
struct inv_held_back {
	uint64_t records, loads;
	uint64_t first_ns, last_ns;
	unsigned per_sec, burst; /* the limit */
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
	/* > 0: this record stands for this many loads of one identity (file
	 * version, exe, uid) folded within the window, the first at
	 * repeats_since_ns; process and last_seen are the last of them. */
	uint64_t repeats, repeats_since_ns;
	/* Not NULL: no load, a summary of what the rate limit held back;
	 * pid, uid, comm, exe, paths and format are the last load held
	 * back, last_seen_ns its time. held_back_alert, if not NULL, is the
	 * same since the last such alert: raise it. */
	const struct inv_held_back *held_back, *held_back_alert;
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
	uint64_t unhashed_at_exit;           /* records flushed at shutdown without a hash */
	uint64_t dropped_at_exit;            /* records freed by inventory_free without a flush */
	uint64_t repeats;                    /* loads folded into a window's record */
	uint64_t repeat_records;             /* records that stand for folded loads */
	uint64_t windows_full;               /* identities not folded: max_windows open */
	uint64_t held_back, held_back_loads; /* records the rate limit held back */
	uint64_t held_back_summaries;        /* held-back records written (alerts: fewer) */
	uint64_t too_large;                  /* records of files over max_hash_size */
	uint64_t threads_abandoned;          /* stuck past stop_wait_ms at exit: left running */
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
 * and on every main-loop iteration: it also closes the windows that are
 * over, and past the rate limit holds records without an alert back and
 * hands over, a second after the first, a held_back summary. */
typedef void (*inv_emit_fn)(const struct inv_record *r, void *ctx);
size_t inventory_poll(struct inventory *inv, inv_emit_fn emit, void *ctx);

/* Records waiting for the worker (0: everything submitted was emitted or
 * is ready for the next poll). */
size_t inventory_pending(const struct inventory *inv);

/* The worker threads' queues now: jobs waiting for the scanner and for
 * the hasher, jobs not done (inflight <= cap: at cap a load is not hashed
 * and counted in queue_full), records waiting for a hash, and the bound. */
struct inv_queues {
	size_t scan, hash, inflight, waiting, cap;
};
void inventory_queues(struct inventory *inv, struct inv_queues *q);

/* At exit: stops the worker (a file being read is abandoned at the next
 * chunk; a thread stuck in one read for stop_wait_ms is left behind),
 * then emits every record still waiting, marked INV_HASH_SHUTDOWN, every
 * window's folded record and what the rate limit held back, past the
 * rate limit. Later submits are recorded without a hash. */
size_t inventory_flush(struct inventory *inv, inv_emit_fn emit, void *ctx);

/* Stops and joins the worker if still running; frees everything. */
void inventory_free(struct inventory *inv);

const struct inv_stats *inventory_stats(const struct inventory *inv);
void inventory_report(const struct inventory *inv, FILE *f);

#endif
