/*
 * Incidents: the alerts of one lineage (loader pid + mark time) gathered
 * into one story. A SOC analyst gets one record per compromise, "new" on
 * the first alert, "update" as the timeline grows, "closed" when the
 * lineage is gone, with the named attack chains it completed on top.
 * Noise control lives here too: identical alerts collapse into one step
 * with a count, and a per-incident and a global rate limit defer records;
 * nothing deferred is lost, it is folded into the next record and counted.
 *
 * The module decides what to emit and renders it; the caller writes it
 * (from the emit callback).
 */
#ifndef MLWATCH_INCIDENT_H
#define MLWATCH_INCIDENT_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

struct alert;
struct cJSON;

/* Bounds: a hostile lineage must not grow the collector without limit.
 * An open incident takes up to about 28 KiB (64 steps, 256 pids): the
 * default bound keeps the table under about 30 MiB (incident_table_max_bytes). */
#define INCIDENT_MAX_OPEN 1024 /* open incidents; the least recently active goes first */
#define INCIDENT_MIN_OPEN 16
#define INCIDENT_MAX_OPEN_MAX 65536
#define INCIDENT_MAX_STEPS 64    /* timeline entries per incident; the rest are counted */
#define INCIDENT_SUMMARY_MAX 256 /* bytes of a step summary, NUL included */
#define INCIDENT_RULE_MAX 65     /* bytes of a rule id (RULE_ID_MAX + NUL) */
#define INCIDENT_TITLE_MAX 160
#define INCIDENT_EXE_MAX 512
#define INCIDENT_MODEL_MAX 1024
#define INCIDENT_TAGS_MAX 32 /* distinct tags per incident (step tags index these) */
#define INCIDENT_TAG_LEN 32
#define INCIDENT_PIDS_MAX 256 /* distinct pids remembered; more are counted */
#define INCIDENT_ID_LEN 21    /* "mlw-" + 16 hex + NUL */
/* Context steps (record-only rules) kept for lineages with no incident yet,
 * replayed into one when it opens: the oldest lineage's go first. */
#define INCIDENT_CONTEXT_LINEAGES 256
#define INCIDENT_CONTEXT_STEPS 4 /* per lineage; later ones are counted */
#define INCIDENT_CONTEXT_TAGS 4
#define INCIDENT_CONTEXT_BUCKETS 512 /* power of two */

/* Defaults for the zero fields of struct incident_config. */
#define INCIDENT_DEF_UPDATES_PER_SEC 2
#define INCIDENT_DEF_GLOBAL_PER_SEC 20
#define INCIDENT_DEF_GLOBAL_BURST 100

enum incident_step_kind {
	INCIDENT_STEP_MODEL_OPEN, /* the load that started the lineage */
	INCIDENT_STEP_ROOT,       /* an ML control-plane root started it */
	INCIDENT_STEP_EXTERNAL_CONNECT,
	INCIDENT_STEP_METADATA_CONNECT,
	INCIDENT_STEP_SOCKET_STDIO, /* a socket dup'ed onto fd 0-2 */
	INCIDENT_STEP_SHELL_EXEC,
	INCIDENT_STEP_DOWNLOADER_EXEC,
	INCIDENT_STEP_INTERPRETER_EXEC,
	INCIDENT_STEP_NETTOOL_EXEC,
	INCIDENT_STEP_MINER_EXEC,
	INCIDENT_STEP_TEMP_EXEC,
	INCIDENT_STEP_CREDENTIAL_READ,
	INCIDENT_STEP_PERSISTENCE_WRITE,
	INCIDENT_STEP_MODEL_SCAN,    /* the static scan judged the model bad */
	INCIDENT_STEP_FILELESS_EXEC, /* a memfd or deleted file run */
	INCIDENT_STEP_RUNTIME_API,   /* a container runtime or the kubelet contacted */
	INCIDENT_STEP_RAW_SOCKET,
	INCIDENT_STEP_PYTHON_IMPORT, /* Python unpickled a global outside the allowlist */
	INCIDENT_STEP_PYTHON_CALL,   /* a payload's action, as the interpreter raised it */
	INCIDENT_STEP_OTHER,
	INCIDENT_STEP_KIND_MAX
};

/* What a call emitted (through the emit callback), or the status a record
 * is rendered with. */
enum incident_record {
	INCIDENT_NONE,
	INCIDENT_NEW,
	INCIDENT_UPDATE,
	INCIDENT_CLOSED,
};

enum incident_close_reason {
	INCIDENT_OPEN_NOW,       /* not closed */
	INCIDENT_CLOSE_EXITED,   /* the lineage's last process is gone */
	INCIDENT_CLOSE_EVICTED,  /* the table was full: closed to make room */
	INCIDENT_CLOSE_SHUTDOWN, /* mlwatch is stopping */
};

/* One alert, as the collector hands it over. Strings are copied (and made
 * valid UTF-8); none needs to outlive the call. */
struct incident_input {
	uint32_t loader_pid; /* the lineage key: loader (or control-plane root) tgid */
	uint64_t mark_ns;    /* ... and the mark's time (hdr.mark.mark_ns) */
	uint64_t ts_ns;      /* event time, CLOCK_MONOTONIC */
	uint32_t pid;        /* acting process */
	const char *rule_id;
	const char *rule_title; /* may be NULL */
	int severity;           /* enum severity (rules.h) */
	const char *const *tags;
	size_t n_tags;
	enum incident_step_kind step;
	const char *summary;    /* "exec /bin/sh -c id", "connect 203.0.113.5:4444" */
	const char *loader_exe; /* may be NULL */
	const char *model_path; /* may be NULL (unknown, or a control-plane root) */
	bool root_scope;        /* the lineage root is a control-plane process */
	bool python_scope;      /* the lineage was marked by what Python unpickled, not
	                           * by a model file's open */
	const char *model_scan; /* the loader's static scan verdict ("clean", ...), or NULL */
	bool context;           /* a record-only rule: a step of the lineage's story that
	                           * opens no incident and completes no chain alone */
	uint64_t cgroup_id;     /* the loader's cgroup v2 id (0: unknown) */
};

struct incident_step {
	uint64_t ts_ns;   /* first seen */
	uint64_t last_ns; /* last seen (duplicates) */
	uint64_t count;   /* identical alerts collapsed into this step */
	uint64_t hash;    /* of rule + summary: a cheap duplicate test */
	uint32_t pid;
	uint32_t tag_mask; /* bits into incident.tags */
	enum incident_step_kind kind;
	int severity;
	char rule[INCIDENT_RULE_MAX];
	char summary[INCIDENT_SUMMARY_MAX];
};

struct incident_suppressed {
	uint64_t duplicates;     /* alerts collapsed into an existing step */
	uint64_t rate_limited;   /* alerts whose update the per-incident limit deferred */
	uint64_t global_limited; /* alerts whose record the global limit deferred */
	uint64_t steps_cut;      /* distinct steps past INCIDENT_MAX_STEPS */
	uint64_t tags_cut;       /* distinct tags past INCIDENT_TAGS_MAX */
	uint64_t pids_cut;       /* alerts from pids not listed: past INCIDENT_PIDS_MAX */
};

/* A named chain: one confirmed story, not three alerts. */
struct incident_chain {
	const char *id;
	const char *title;
	const char *tags[6];
	uint32_t all;   /* step kinds that must all be present */
	uint32_t any;   /* and one of these (0: none needed) */
	bool any_first; /* an `any` step comes no later than the last `all` step */
};

extern const struct incident_chain incident_chains[];
extern const size_t n_incident_chains;

struct incident {
	char id[INCIDENT_ID_LEN];
	uint32_t loader_pid;
	uint64_t mark_ns;
	bool root_scope;
	char loader_exe[INCIDENT_EXE_MAX];
	char model_path[INCIDENT_MODEL_MAX];
	char model_scan[16]; /* the static scan verdict of the loader's models, "" unknown */
	uint64_t cgroup_id;  /* the loader's cgroup v2 id: its container and pod (0: unknown) */
	char title[INCIDENT_TITLE_MAX];
	int severity;       /* max of the steps, critical once a chain completes */
	int title_severity; /* the severity the title was taken at */

	struct incident_step *steps; /* ordered by ts_ns */
	size_t n_steps, cap_steps;
	uint32_t kinds;       /* step kinds seen, cut steps included */
	uint32_t alert_kinds; /* ... of them, from alerts (not context): a chain
	                                * needs one of these */
	uint64_t kind_first[INCIDENT_STEP_KIND_MAX];
	uint64_t kind_last[INCIDENT_STEP_KIND_MAX];
	uint32_t chain_mask;     /* bits into incident_chains[] */
	uint8_t chain_order[32]; /* in the order they completed */
	size_t n_chains;
	char tags[INCIDENT_TAGS_MAX][INCIDENT_TAG_LEN];
	size_t n_tags;
	uint32_t *pids;
	size_t n_pids, cap_pids;

	uint64_t first_ns, last_ns; /* first and latest step time */
	uint64_t close_ns;
	enum incident_close_reason close_reason;
	uint64_t alerts; /* inputs taken, duplicates included */
	uint64_t seq;    /* records emitted for it */
	uint64_t folded; /* alerts taken since its last record */
	struct incident_suppressed sup;

	/* table bookkeeping */
	bool pending;       /* changed since its last record */
	bool closing;       /* closed, its record deferred by the global limit */
	uint64_t win_start; /* per-incident rate window */
	unsigned win_count;
	struct incident *hnext;
	struct incident *prev, *next; /* least recently active first */
};

/* Receives every record: render it (incident_to_json / incident_to_text)
 * and write it. inc is valid only during the call (a closed one is freed
 * after it); the callback must not call back into the table. */
typedef void (*incident_emit_fn)(void *ctx, const struct incident *inc,
				 enum incident_record status);

struct incident_config {
	const char *host;         /* part of the id (copied); NULL: "" */
	const char *boot_id;      /* NULL: read /proc/sys/kernel/random/boot_id */
	size_t max_open;          /* 0: INCIDENT_MAX_OPEN; at most INCIDENT_MAX_OPEN_MAX */
	size_t max_steps;         /* 0: INCIDENT_MAX_STEPS (at most that) */
	unsigned updates_per_sec; /* per incident; 0: default, UINT_MAX: no limit */
	unsigned global_per_sec;  /* records per second; 0: default, UINT_MAX: no limit */
	unsigned global_burst;    /* token bucket depth; 0: default */
	incident_emit_fn emit;    /* called for every record; may be NULL */
	void *emit_ctx;
};

struct incident_stats {
	uint64_t alerts;
	uint64_t opened;
	uint64_t closed;  /* closed records emitted */
	uint64_t evicted; /* closed early because the table was full */
	uint64_t records_new, records_update;
	uint64_t duplicates, rate_limited, global_limited, steps_cut;
	uint64_t closes_deferred; /* closed records held back by the global limit */
	uint64_t forced;          /* records emitted past the global limit (eviction, shutdown) */
	uint64_t alloc_failed;    /* alerts that could not be kept: out of memory */
	uint64_t context_kept;    /* context steps held for a lineage with no incident */
	uint64_t context_dropped; /* ... past INCIDENT_CONTEXT_STEPS, or overwritten */
	size_t peak_open;         /* most incidents open at once */
	size_t peak_bytes;        /* most bytes held at once (incident_table_bytes) */
};

/* A context step waiting for its lineage's incident. */
struct incident_context_step {
	uint64_t ts_ns;
	uint32_t pid;
	int severity;
	enum incident_step_kind step;
	char rule[INCIDENT_RULE_MAX];
	char summary[INCIDENT_SUMMARY_MAX];
	char tags[INCIDENT_CONTEXT_TAGS][INCIDENT_TAG_LEN];
	size_t n_tags;
};

struct incident_context {
	uint32_t loader_pid; /* 0: free slot */
	uint64_t mark_ns;
	int16_t hprev, hnext; /* its hash chain (ctx_head), -1: none */
	size_t n;
	struct incident_context_step steps[INCIDENT_CONTEXT_STEPS];
};

struct incident_table {
	struct incident_config cfg; /* host and boot_id: copied below */
	char host[256];
	char boot_id[64];
	struct incident **buckets;
	size_t nbuckets; /* power of two */
	size_t count;
	struct incident *head, *tail; /* activity order: head is the least recent */
	size_t n_waiting;             /* pending or closing: what incident_tick looks at */
	double tokens;
	uint64_t bucket_ns;
	uint64_t now_ns;
	struct incident_context *ctx; /* INCIDENT_CONTEXT_LINEAGES, a ring */
	size_t ctx_next;
	int16_t ctx_head[INCIDENT_CONTEXT_BUCKETS]; /* slots by lineage hash, -1: none */
	size_t bytes; /* held now: the table, incidents, their steps and pids */
	struct incident_stats st;
};

/* Returns 0 or -ENOMEM. cfg may be NULL (all defaults, no callback). */
int incident_table_init(struct incident_table *t, const struct incident_config *cfg);
/* Frees everything without emitting (call incident_close_all first). */
void incident_table_free(struct incident_table *t);

/* Takes one alert (or, in->context, one context step: added to the
 * lineage's incident if it has one, else held for when it opens; it never
 * opens one itself). Emits (through cfg.emit) at most the incident's
 * new/update record, plus a closed one for an incident evicted to make
 * room; returns the new/update it emitted, or INCIDENT_NONE when the alert
 * was a duplicate or its record was deferred (the caller writes nothing
 * on the return value: the callback already had it). *out (may be NULL)
 * is the incident, valid until the next call into the table, or NULL if
 * it could not be allocated. An alert for a lineage already closed opens
 * it again under the same id, with status "new". */
enum incident_record incident_add(struct incident_table *t, const struct incident_input *in,
				  struct incident **out);
/* The static scan verdict of the lineage loader's models, when it comes
 * after the incident opened: kept for the incident's next record (nothing
 * is emitted for it). No-op without an open incident. */
void incident_set_scan(struct incident_table *t, uint32_t loader_pid, uint64_t mark_ns,
		       const char *verdict);
/* The lineage's last process is gone: emits its closed record (or defers
 * it while the global limit is spent) and drops it. Returns INCIDENT_CLOSED
 * if emitted, INCIDENT_NONE if deferred or no such incident. */
enum incident_record incident_lineage_exited(struct incident_table *t, uint32_t loader_pid,
					     uint64_t mark_ns, uint64_t now_ns);
/* Emits what the rate limits deferred, as far as they now allow. Cheap
 * when nothing waits. Returns the number of records emitted. */
size_t incident_tick(struct incident_table *t, uint64_t now_ns);
/* Shutdown: emits a closed record for every incident, limits or not. */
size_t incident_close_all(struct incident_table *t, uint64_t now_ns);
struct incident *incident_find(struct incident_table *t, uint32_t loader_pid, uint64_t mark_ns);
/* The stable id of a lineage: "mlw-" + 16 hex of a hash of all four. */
void incident_make_id(const char *host, const char *boot_id, uint32_t loader_pid, uint64_t mark_ns,
		      char out[INCIDENT_ID_LEN]);
/* Bytes held now (allocations, not the allocator's overhead), and the
 * most the table can hold: max_open incidents at max_steps and
 * INCIDENT_PIDS_MAX each. */
size_t incident_table_bytes(const struct incident_table *t);
size_t incident_table_max_bytes(const struct incident_table *t);
/* One line of counters, for the report at exit. */
void incident_report(const struct incident_table *t, FILE *f);

const char *incident_step_name(enum incident_step_kind k);
const char *incident_record_name(enum incident_record r);
const char *incident_close_reason_name(enum incident_close_reason r);

#endif
