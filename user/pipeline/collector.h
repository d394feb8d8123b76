/*
 * Collector: the per-event pipeline. decode -> process table -> (model
 * confirmation) -> classify -> rules -> sinks, in ring-buffer order, so a
 * loader's model open is always handled before what it does next.
 */
#ifndef MLWATCH_COLLECTOR_H
#define MLWATCH_COLLECTOR_H
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include "cluster/podwatch.h"
#include "collect/cgmap.h"
#include "collect/exeid.h"
#include "collect/judge.h"
#include "collect/proctable.h"
#include "config/options.h"
#include "detect/blocklist.h"
#include "detect/dropped.h"
#include "detect/incident.h"
#include "detect/rules.h"
#include "detect/selfprot.h"
#include "inventory/inventory.h"
#include "forward/fanout.h"
#include "metrics/labeltab.h"
#include "output/sink.h"
#include "health.h"
#include "output_health.h"
#include "sense/sensors.h"

struct seed_stats;

struct collector_stats {
	uint64_t events[MLW_EV_KIND_MAX];
	uint64_t decode_errors;
	uint64_t alerts;
	uint64_t models_confirmed; /* model opens that may run code (or could not be judged) */
	uint64_t models_inert;     /* proven data only: the loader was unmarked */
	uint64_t peer_reads;       /* candidates opened by another mlwatch: not judged */
	uint64_t roots_by_argv;    /* interpreters marked as control-plane roots */
	uint64_t marks_cleared;
	uint64_t marks_set_by_user;
	uint64_t alerts_suppressed_inert; /* in flight from a load proven data only */
	uint64_t alerts_collapsed; /* identical to one already written: counted on the incident step */
	uint64_t steps_recorded; /* record-only rules: incident context, no alert line */
	/* Python find_class records, by user space's verdict */
	uint64_t py_allowed;       /* allowed, not flagged: evidence only (one per process
	                           * and global: the kernel sends no repeat) */
	uint64_t py_user_allowed;  /* flagged by the kernel, allowed here: no alert, the
	                           * mark stays (a pattern the kernel cannot express) */
	uint64_t py_unsafe;        /* outside the allowlist: alerted */
	uint64_t py_denied;        /* on the deny list: alerted (critical) */
	uint64_t py_custom;        /* outside it, not the standard library (a user's class):
	                            * watched, not alerted */
	uint64_t py_kernel_missed; /* allowed by the kernel, not here: marked from here */
};

/*
 * What the Python probe (sense/) does for the collector, wired where both
 * are made: user space allowed a global the kernel flagged (so the kernel
 * may stop flagging it), and the name of an interpreter by the index its
 * records carry. Any may be NULL.
 */
struct collector_py_hooks {
	void *ctx;
	void (*allow_global)(void *ctx, const char *module, const char *name);
	/* "/usr/bin/python3.11 (3.11.2)", or NULL when unknown */
	const char *(*interp_name)(void *ctx, uint32_t idx);
};

struct collector {
	const struct options *opt;
	struct sensors *sensors; /* NULL in unit tests: no map writes */
	struct proctable pt;
	struct dropped *dropped;   /* recent writes of watched lineages */
	struct incident_table inc; /* alerts gathered per lineage */
	/* the rules in force; swapped whole on SIGHUP (single thread: the
	 * swap happens between ring-buffer callbacks). NULL: built-ins. */
	const struct ruleset *rules;
	/* model inventory: every confirmed load, hashed off the hot path */
	struct inventory *inv;
	struct blocklist bl;
	struct exeid exe;     /* programs known by identity */
	struct judge judge;   /* can a loader's model run code? */
	struct sink inv_sink; /* --inventory FILE, when given */
	bool inv_sink_open;
	struct sink *sink;
	/* forwarding (--outputs): every record as JSON, whatever the sink's
	 * form; NULL: none */
	struct fanout *fwd;
	struct output_health oh;
	/* container and pod identity (collector_start_identity); a record
	 * looks it up, an event never does */
	struct cgmap cg;
	struct podwatch *pods; /* NULL: no cluster */
	char host[256];
	int64_t boot_to_real_ns;
	struct collector_stats st;
	struct health health;  /* kernel losses, alerted while running */
	struct selfprot self;  /* what other processes did to mlwatch */
	uint64_t last_tick_ns; /* monotonic: collector_tick's last run */
	/* table limits as of the last collector-limit-reached alert */
	uint64_t limits_told[7];
	uint64_t limits_told_ns;
	uint64_t handled; /* records handled: ticks run inside long drains */
	/* set by a signal handler: stop draining, even while records keep
	 * coming faster than they are handled */
	volatile sig_atomic_t *stop;
	/* --metrics-addr (collector_metrics.h): called at the end of each
	 * collector_tick, drains included (NULL: none), with the server the
	 * snapshot goes to and the snapshot's own state */
	void (*on_tick)(struct collector *c);
	struct metrics_server *metrics;
	struct collector_mx *mx;
	struct labeltab alerts_by_rule; /* alerts written, by rule id and severity */
	uint64_t last_event_ns;         /* boot-time ns of the last record; 0: none */
	struct collector_py_hooks py;   /* collector_set_py_hooks */
	/* the walk of /proc at start (seed.h), exported; NULL before it.
	 * The caller of seed_run keeps it while the collector lives. */
	const struct seed_stats *seed;
};

/*
 * The collector's table limits, as counters that only grow: a counter that
 * moved since the last look means a bound was reached in between (what a
 * limit alert reports). The *_peak and *_max fields say how close the
 * tables came to their bounds.
 */
struct collector_limits {
	/* process table (--max-procs) */
	uint64_t procs_evicted_exited;   /* exited entries dropped before their linger ended */
	uint64_t procs_evicted_unmarked; /* live unmarked entries dropped for room */
	uint64_t procs_refused;          /* new processes not tracked: the table is full of marked
	                           * live processes (their alerts lack ancestry) */
	uint64_t procs_clipped;          /* paths or args stored clipped or not at all: the
	                           * table's string budget is spent */
	uint64_t procs_alloc_failed;
	size_t procs_peak, procs_max;
	size_t procs_peak_bytes, procs_max_bytes;
	/* incident table (--max-incidents) */
	uint64_t incidents_evicted; /* open incidents closed early to make room */
	uint64_t incident_steps_cut;
	uint64_t incident_context_dropped;
	uint64_t incidents_alloc_failed;
	size_t incidents_peak, incidents_max;
	size_t incidents_peak_bytes, incidents_max_bytes;
	/* files written by watched lineages (DROPPED_MAX) */
	uint64_t dropped_forgotten; /* writes forgotten before their window ended */
	/* identity (cgmap.h, podcache.h): records without their container or pod */
	uint64_t cgroups_full; /* cgroups not remembered: the map was at its bound */
	uint64_t pods_full;    /* pods not kept: the cache was full of live pods */
};

int collector_init(struct collector *c, const struct options *o, struct sensors *s,
		   struct sink *sink);
/* Every record from now on also goes to f's outputs. 0, or -1 (memory). */
int collector_forward(struct collector *c, struct fanout *f);
/* The Python probe's hooks (copied). */
void collector_set_py_hooks(struct collector *c, const struct collector_py_hooks *h);
/* Fills *out; cheap (no walk), callable at any time between records. */
void collector_limits(const struct collector *c, struct collector_limits *out);
/* One line naming the tables' bounds, for the start-up messages. */
void collector_print_bounds(const struct collector *c, FILE *f);
/* ring_buffer callback: returns 0 (a bad record is counted, never fatal),
 * or -EINTR once *stop is set, after handling the record. */
int collector_handle(void *ctx, void *data, size_t size);
/* Once-a-second work: expiry, incident limits, sensor health. Returns at
 * once when called sooner; called from the main loop and, during a long
 * drain, from collector_handle. */
#define COLLECTOR_TICK_NS 1000000000ull
void collector_tick(struct collector *c);
/* A health alert (health_render.h) written now, to every output; sets
 * host and time. */
void collector_health_alert(struct collector *c, struct health_alert *a);
/* Loads --blocklist, opens --inventory and starts the hashing thread.
 * Returns 0, or an MLW_EXIT_* code after printing what is wrong. */
int collector_start_inventory(struct collector *c);
/* Container identity from the cgroup v2 mount, and pod names from the
 * Kubernetes API when in a cluster (podwatch.h); says on stderr what it
 * found. Returns 0, or an MLW_EXIT_* code after printing what is wrong
 * with the API's settings. */
int collector_start_identity(struct collector *c);
/* Hands out finished inventory records (each main-loop turn). */
void collector_poll_inventory(struct collector *c);
/* At shutdown, after the last drain: closes every open incident. */
void collector_finish(struct collector *c);
void collector_report(struct collector *c, FILE *f);
void collector_free(struct collector *c);
#endif
