/* The Prometheus snapshot of the collector's state (see collector_metrics.h). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "collector_metrics.h"
#include "seed.h"
#include "collect/decode.h"
#include "sense/pyprobe.h"

struct collector_mx {
	struct expo e;
	struct sensors_map_usage maps;
	int maps_err;          /* the last count's error; 0: maps is current */
	uint64_t maps_next_ns; /* monotonic: when to count the maps again */
	uint64_t start_s;      /* unix time at attach */
	unsigned warned;       /* render errors already said on stderr */
};

static uint64_t clock_ns(clockid_t id)
{
	struct timespec ts;

	clock_gettime(id, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

int collector_metrics_attach(struct collector *c, struct metrics_server *m)
{
	c->mx = calloc(1, sizeof(*c->mx));
	if (!c->mx)
		return -1;
	expo_init(&c->mx->e, METRICS_SNAPSHOT_MAX);
	c->mx->start_s = clock_ns(CLOCK_REALTIME) / 1000000000ull;
	c->mx->maps_err = -ENOENT;
	c->metrics = m;
	c->on_tick = collector_metrics_publish;
	return 0;
}

void collector_metrics_detach(struct collector *c)
{
	c->on_tick = NULL;
	c->metrics = NULL;
	if (!c->mx)
		return;
	expo_free(&c->mx->e);
	free(c->mx);
	c->mx = NULL;
}

/* Shorthands: one family, then its samples. */
#define L(...) ((const char *const[]){ __VA_ARGS__, NULL })
#define COUNTER(e, name, help) expo_family(e, name, EXPO_COUNTER, help)
#define GAUGE(e, name, help) expo_family(e, name, EXPO_GAUGE, help)

static void one_u64(struct expo *e, const char *name, enum expo_type t, const char *help,
		    uint64_t v)
{
	expo_family(e, name, t, help);
	expo_u64(e, NULL, v);
}

static void render_events(struct collector *c, struct expo *e, const uint64_t *cnt)
{
	COUNTER(e, "mlwatch_events_total", "Records received from the kernel, by event kind.");
	for (int k = 1; k < MLW_EV_KIND_MAX; k++)
		expo_u64(e, L("kind", event_kind_name((enum mlw_event_kind)k)), c->st.events[k]);
	one_u64(e, "mlwatch_events_malformed_total", EXPO_COUNTER,
		"Records that did not decode (dropped).", c->st.decode_errors);
	COUNTER(e, "mlwatch_events_lost_total",
		"Records the kernel could not send, by reason: ringbuf_full (no room), shed "
		"(the ring past the share kept for vital records), syscall_stash_full (kind "
		"unknown).");
	for (int k = 1; cnt && k < MLW_EV_KIND_MAX; k++) {
		const char *kind = event_kind_name((enum mlw_event_kind)k);

		expo_u64(e, L("reason", "ringbuf_full", "kind", kind),
			 cnt[MLW_CNT_RB_FULL_EXEC + k - 1]);
		expo_u64(e, L("reason", "shed", "kind", kind), cnt[MLW_CNT_SHED_EXEC + k - 1]);
	}
	if (cnt)
		expo_u64(e, L("reason", "syscall_stash_full", "kind", "unknown"),
			 cnt[MLW_CNT_PENDING_FULL]);
	if (cnt) {
		one_u64(e, "mlwatch_marks_lost_total", EXPO_COUNTER,
			"Processes the kernel could not mark (marks map full): their lineage "
			"is not watched.",
			cnt[MLW_CNT_MARKS_FULL]);
		COUNTER(e, "mlwatch_kernel_counter_total",
			"Every counter of the BPF sensors, by its name (docs/metrics.md).");
		for (int i = 0; i < MLW_CNT_MAX; i++)
			expo_u64(e, L("counter", sensors_counter_name(i)), cnt[i]);
	}
	GAUGE(e, "mlwatch_last_event_timestamp_seconds",
	      "Unix time of the last record received; 0 before the first.");
	expo_f64(e, NULL,
		 c->last_event_ns ?
			 (double)(c->last_event_ns + (uint64_t)c->boot_to_real_ns) / 1e9 :
			 0.0);
}

static void render_alerts(struct collector *c, struct expo *e)
{
	const struct labeltab *t = &c->alerts_by_rule;

	COUNTER(e, "mlwatch_alerts_total", "Alerts written, by rule id and severity.");
	for (size_t i = 0; i < t->n; i++)
		expo_u64(e, L("rule", t->rows[i].a, "severity", t->rows[i].b), t->rows[i].n);
	one_u64(e, "mlwatch_alerts_unlabelled_total", EXPO_COUNTER,
		"Alerts written whose rule and severity found no row (the table holds "
		"256): counted here only.",
		t->overflow);
	one_u64(e, "mlwatch_alerts_collapsed_total", EXPO_COUNTER,
		"Alerts not written again: the same rule on the same thing, counted on its "
		"incident step.",
		c->st.alerts_collapsed);
	one_u64(e, "mlwatch_alert_write_errors_total", EXPO_COUNTER,
		"Records the local output (stdout or -o) could not write.",
		c->sink ? c->sink->failed : 0);
}

static void render_tables(struct collector *c, struct expo *e)
{
	struct collector_limits l;
	struct collector_mx *mx = c->mx;

	collector_limits(c, &l);
	one_u64(e, "mlwatch_marked_processes", EXPO_GAUGE,
		"Live processes of a watched lineage in the process table (the collector's "
		"view).",
		c->pt.cls[PROC_MARKED].n);
	if (mx && !mx->maps_err) {
		GAUGE(e, "mlwatch_bpf_map_entries",
		      "Entries in the kernel's marks and unmarks maps (counted at most once a "
		      "second).");
		expo_u64(e, L("map", "marks"), (uint64_t)mx->maps.marks);
		expo_u64(e, L("map", "unmarks"), (uint64_t)mx->maps.unmarks);
		GAUGE(e, "mlwatch_bpf_map_capacity", "Entries the kernel's maps can hold.");
		expo_u64(e, L("map", "marks"), mx->maps.marks_max);
		expo_u64(e, L("map", "unmarks"), mx->maps.unmarks_max);
	}
	one_u64(e, "mlwatch_ringbuf_bytes", EXPO_GAUGE, "Size of the kernel-to-user ring buffer.",
		(uint64_t)c->opt->ringbuf_mb << 20);
	one_u64(e, "mlwatch_proctable_entries", EXPO_GAUGE, "Processes in the process table.",
		c->pt.count);
	one_u64(e, "mlwatch_proctable_capacity", EXPO_GAUGE,
		"Processes the process table holds (--max-procs).", l.procs_max);
	one_u64(e, "mlwatch_proctable_peak_entries", EXPO_GAUGE,
		"Most processes in the table at once.", l.procs_peak);
	COUNTER(e, "mlwatch_proctable_evictions_total",
		"Entries dropped for room: exited (before their linger ended) or unmarked.");
	expo_u64(e, L("reason", "exited"), l.procs_evicted_exited);
	expo_u64(e, L("reason", "unmarked"), l.procs_evicted_unmarked);
	one_u64(e, "mlwatch_proctable_refused_total", EXPO_COUNTER,
		"New processes not tracked: the table was full of marked live processes.",
		l.procs_refused);
	one_u64(e, "mlwatch_proctable_strings_clipped_total", EXPO_COUNTER,
		"Paths or arguments stored clipped or not at all (string budget spent).",
		l.procs_clipped);
	one_u64(e, "mlwatch_incidents_open", EXPO_GAUGE, "Incidents open now.", c->inc.count);
	one_u64(e, "mlwatch_incidents_capacity", EXPO_GAUGE,
		"Incidents open at once at most (--max-incidents).", l.incidents_max);
	one_u64(e, "mlwatch_incidents_evicted_total", EXPO_COUNTER,
		"Incidents closed early to make room.", l.incidents_evicted);
	one_u64(e, "mlwatch_table_alloc_failures_total", EXPO_COUNTER,
		"Process or incident entries that could not be allocated.",
		l.procs_alloc_failed + l.incidents_alloc_failed);
	one_u64(e, "mlwatch_written_files_forgotten_total", EXPO_COUNTER,
		"Files written by watched lineages forgotten before their window ended.",
		l.dropped_forgotten);
}

/* The walk of /proc at start: fixed once it is done, left out before. */
static void render_seed(struct collector *c, struct expo *e)
{
	const struct seed_stats *s = c->seed;

	if (!s)
		return;
	GAUGE(e, "mlwatch_proc_walk_processes",
	      "The /proc walk at start: processes listed, those whose files were read "
	      "(examined), not read as its time ran out (not_examined), not listed past its "
	      "bound (not_listed), with fds or maps lines past their bounds (fds_cut, "
	      "maps_cut).");
	expo_u64(e, L("state", "listed"), s->listed);
	expo_u64(e, L("state", "examined"), s->examined);
	expo_u64(e, L("state", "not_examined"), s->not_examined);
	expo_u64(e, L("state", "not_listed"), s->procs_cut);
	expo_u64(e, L("state", "fds_cut"), s->fds_cut);
	expo_u64(e, L("state", "maps_cut"), s->maps_cut);
	GAUGE(e, "mlwatch_proc_walk_marked_processes",
	      "Processes the /proc walk marked: loaders (model files held), roots, "
	      "descendants, and those the kernel had marked already.");
	expo_u64(e, L("as", "loader"), s->loaders);
	expo_u64(e, L("as", "root"), s->roots);
	expo_u64(e, L("as", "descendant"), s->descendants);
	expo_u64(e, L("as", "kernel"), s->kernel_had);
	GAUGE(e, "mlwatch_proc_walk_files",
	      "Files held found by the /proc walk: model files (model), names the kernel would "
	      "not give (unnamed: not judged), model files past the per-process bound "
	      "(not_judged: their loaders stay marked).");
	expo_u64(e, L("kind", "model"), s->models);
	expo_u64(e, L("kind", "unnamed"), s->unnamed);
	expo_u64(e, L("kind", "not_judged"), s->models_cut);
	GAUGE(e, "mlwatch_proc_walk_errors",
	      "The /proc walk's failures: /proc not listed (proc_unlisted), processes whose "
	      "files could not be read (unreadable), marks the kernel refused "
	      "(mark_refused), processes the table refused (table_refused), loaders whose "
	      "cgroup id was not found (no_cgroup_id: no container or pod named).");
	expo_u64(e, L("kind", "proc_unlisted"), s->list_failed);
	expo_u64(e, L("kind", "unreadable"), s->unreadable - s->ancestors_unreadable);
	expo_u64(e, L("kind", "ancestor_unreadable"), s->ancestors_unreadable);
	expo_u64(e, L("kind", "mark_refused"), s->mark_failed);
	expo_u64(e, L("kind", "table_refused"), s->table_refused);
	expo_u64(e, L("kind", "no_cgroup_id"), s->no_cgroup);
	GAUGE(e, "mlwatch_proc_walk_duration_seconds", "How long the /proc walk at start took.");
	expo_f64(e, NULL, (double)s->ms / 1000.0);
	GAUGE(e, "mlwatch_proc_walk_budget_seconds",
	      "The time the /proc walk may spend reading files.");
	expo_f64(e, NULL, (double)s->time_ms / 1000.0);
}

static void render_inventory(struct collector *c, struct expo *e)
{
	const struct inv_stats *s;
	struct inv_queues q;

	if (!c->inv)
		return;
	s = inventory_stats(c->inv);
	inventory_queues(c->inv, &q);
	GAUGE(e, "mlwatch_inventory_queue_jobs",
	      "Jobs waiting for the static scanner (scan) and the hasher (hash).");
	expo_u64(e, L("queue", "scan"), q.scan);
	expo_u64(e, L("queue", "hash"), q.hash);
	one_u64(e, "mlwatch_inventory_jobs_inflight", EXPO_GAUGE,
		"Model files submitted and not done.", q.inflight);
	one_u64(e, "mlwatch_inventory_queue_capacity", EXPO_GAUGE,
		"Jobs in flight at most; past it a load is recorded without a hash.", q.cap);
	one_u64(e, "mlwatch_inventory_waiting_records", EXPO_GAUGE,
		"Inventory records waiting for a file's hash.", q.waiting);
	one_u64(e, "mlwatch_inventory_loads_total", EXPO_COUNTER, "Model loads submitted.",
		s->loads);
	one_u64(e, "mlwatch_inventory_scanned_total", EXPO_COUNTER,
		"Model files scanned statically.", s->scanned);
	one_u64(e, "mlwatch_inventory_hashed_total", EXPO_COUNTER, "Model files hashed.",
		s->hashed);
	one_u64(e, "mlwatch_inventory_hashed_bytes_total", EXPO_COUNTER, "Bytes hashed.",
		s->bytes_hashed);
	one_u64(e, "mlwatch_inventory_queue_full_total", EXPO_COUNTER,
		"Loads not hashed or scanned: the queue was full.", s->queue_full);
	one_u64(e, "mlwatch_inventory_held_back_total", EXPO_COUNTER,
		"Inventory records held back by the rate limit (counted in a summary).",
		s->held_back);
}

static void render_outputs(struct collector *c, struct expo *e)
{
	size_t n = fanout_count(c->fwd);
	struct fwd_stats *st;

	if (!n)
		return;
	st = calloc(n, sizeof(*st));
	if (!st) {
		e->errors++;
		return;
	}
	for (size_t i = 0; i < n; i++)
		fanout_stats(c->fwd, i, &st[i]);
#define EACH(field)                    \
	for (size_t i = 0; i < n; i++) \
		expo_u64(e, L("output", st[i].name), st[i].field);
	GAUGE(e, "mlwatch_output_queue_records", "Records in an output's memory queue.");
	EACH(queue_records);
	GAUGE(e, "mlwatch_output_spool_records", "Records in an output's on-disk spool.");
	EACH(spool_records);
	GAUGE(e, "mlwatch_output_spool_bytes", "Bytes of an output's on-disk spool.");
	EACH(spool_bytes);
	COUNTER(e, "mlwatch_output_submitted_total", "Records handed to an output.");
	EACH(submitted);
	COUNTER(e, "mlwatch_output_delivered_total",
		"Records the destination acknowledged (or that were written).");
	EACH(delivered);
	COUNTER(e, "mlwatch_output_retries_total", "Tries that failed and were tried again.");
	EACH(retries);
	COUNTER(e, "mlwatch_output_rejected_total", "Records the destination refused for good.");
	EACH(rejected);
	COUNTER(e, "mlwatch_output_dropped_total",
		"Records dropped: the memory queue (queue) or the spool (spool) was full.");
	for (size_t i = 0; i < n; i++) {
		expo_u64(e, L("output", st[i].name, "where", "queue"), st[i].queue_dropped);
		expo_u64(e, L("output", st[i].name, "where", "spool"), st[i].spool_dropped);
	}
	COUNTER(e, "mlwatch_output_spool_errors_total", "Spool writes that failed.");
	EACH(spool_errors);
	COUNTER(e, "mlwatch_output_render_errors_total", "Records the format could not render.");
	EACH(render_errors);
	GAUGE(e, "mlwatch_output_failing_seconds",
	      "How long every try to an output has failed; 0: delivering.");
	for (size_t i = 0; i < n; i++)
		expo_f64(e, L("output", st[i].name), (double)st[i].failing_ms / 1000.0);
#undef EACH
	free(st);
}

static void render_self(struct collector *c, struct expo *e)
{
	struct metrics_server_stats ms;
	char code[METRICS_N_CODES][8];

	metrics_server_stats(c->metrics, &ms);
	COUNTER(e, "mlwatch_metrics_http_responses_total",
		"Answers of the metrics endpoint, by HTTP status.");
	for (size_t i = 0; i < METRICS_N_CODES; i++) {
		snprintf(code[i], sizeof(code[i]), "%d", metrics_server_codes[i]);
		expo_u64(e, L("code", code[i]), ms.responses[i]);
	}
	one_u64(e, "mlwatch_metrics_http_connections_total", EXPO_COUNTER,
		"Connections the metrics endpoint accepted.", ms.connections);
	one_u64(e, "mlwatch_metrics_http_timeouts_total", EXPO_COUNTER,
		"Connections closed at a deadline (slow or silent clients).", ms.timeouts);
	one_u64(e, "mlwatch_metrics_http_slots_full_total", EXPO_COUNTER,
		"Times every connection slot was taken.", ms.slots_full);
	one_u64(e, "mlwatch_metrics_http_evicted_total", EXPO_COUNTER,
		"Connections cut off while every slot was taken, for a newer client.", ms.evicted);
}

/* The Python audit probes: which interpreters they cover, which they
 * refused and why, the allowlist as the kernel holds it, and what user
 * space made of find_class records. */
static void render_python(struct collector *c, struct expo *e)
{
	struct pyprobe_stats ps;

	if (c->sensors && c->sensors->py) {
		pyprobe_stats(c->sensors->py, &ps);
		GAUGE(e, "mlwatch_python_interpreters",
		      "Python interpreter binaries: attached through the python:audit probe "
		      "(usdt) or PySys_Audit (uprobe), or not covered, by reason.");
		expo_u64(e, L("state", "usdt"), ps.usdt);
		expo_u64(e, L("state", "uprobe"), ps.uprobe);
		expo_u64(e, L("state", "no_probe"), ps.not_covered);
		expo_u64(e, L("state", "debug_build"), ps.refused_debug);
		expo_u64(e, L("state", "free_threaded"), ps.refused_free_threaded);
		expo_u64(e, L("state", "unknown_version"), ps.refused_version);
		expo_u64(e, L("state", "table_full"), ps.refused_full);
		expo_u64(e, L("state", "attach_failed"), ps.attach_failed);
		GAUGE(e, "mlwatch_python_patterns",
		      "The allowlist as the kernel matches it: patterns it holds, allow "
		      "patterns it cannot express (left out: it marks instead), deny patterns "
		      "matched wider.");
		expo_u64(e, L("state", "held"), ps.patterns);
		expo_u64(e, L("state", "left_out"), ps.patterns_left_out);
		expo_u64(e, L("state", "widened"), ps.patterns_widened);
	}
	COUNTER(e, "mlwatch_python_globals_total",
		"find_class records judged in user space, by verdict: allowed, allowed here "
		"though the kernel marked (allowed_here), custom (a class outside the standard "
		"library: watched, not alerted), unsafe, denied, missed by the kernel.");
	expo_u64(e, L("verdict", "allowed"), c->st.py_allowed);
	expo_u64(e, L("verdict", "allowed_here"), c->st.py_user_allowed);
	expo_u64(e, L("verdict", "custom"), c->st.py_custom);
	expo_u64(e, L("verdict", "unsafe"), c->st.py_unsafe);
	expo_u64(e, L("verdict", "denied"), c->st.py_denied);
	expo_u64(e, L("verdict", "missed_by_kernel"), c->st.py_kernel_missed);
}

void collector_metrics_render(struct collector *c, struct expo *e)
{
	uint64_t cnt[MLW_CNT_MAX];
	bool have_cnt = c->sensors && c->sensors->skel;

	if (have_cnt)
		sensors_counters(c->sensors, cnt);
	GAUGE(e, "mlwatch_build_info", "mlwatch's version.");
	expo_u64(e, L("version", MLWATCH_VERSION), 1);
	one_u64(e, "mlwatch_start_time_seconds", EXPO_GAUGE,
		"Unix time the metrics endpoint started.", c->mx ? c->mx->start_s : 0);
	if (c->sensors) {
		GAUGE(e, "mlwatch_sensors",
		      "BPF programs attached, and skipped (their hook is not in this kernel).");
		expo_u64(e, L("state", "attached"), (uint64_t)c->sensors->n_attached);
		expo_u64(e, L("state", "skipped"), (uint64_t)c->sensors->n_skipped);
	}
	render_events(c, e, have_cnt ? cnt : NULL);
	render_alerts(c, e);
	render_tables(c, e);
	render_seed(c, e);
	render_inventory(c, e);
	render_outputs(c, e);
	render_self(c, e);
	render_python(c, e);
}

/* The marks maps are counted by walking them: once a second at most, and
 * less often when that takes long, so the count never costs the main
 * thread more than 1/METRICS_MAPS_COST of its time. */
static void count_maps(struct collector *c, uint64_t now)
{
	struct collector_mx *mx = c->mx;
	uint64_t took;

	if (!c->sensors || !c->sensors->skel || now < mx->maps_next_ns)
		return;
	mx->maps_err = sensors_map_usage(c->sensors, &mx->maps);
	took = clock_ns(CLOCK_MONOTONIC) - now;
	mx->maps_next_ns = now + (took * METRICS_MAPS_COST > METRICS_MAPS_MIN_NS ?
					  took * METRICS_MAPS_COST :
					  METRICS_MAPS_MIN_NS);
}

void collector_metrics_publish(struct collector *c)
{
	struct collector_mx *mx = c->mx;
	unsigned errors;

	if (!c->metrics || !mx)
		return;
	count_maps(c, clock_ns(CLOCK_MONOTONIC));
	expo_reset(&mx->e);
	collector_metrics_render(c, &mx->e);
	errors = mx->e.errors;
	/* a sample left out is a bug; say it once, serve the rest */
	one_u64(&mx->e, "mlwatch_metrics_render_errors", EXPO_GAUGE,
		"Samples the last snapshot left out (a bug: see stderr).", errors);
	if (errors && !mx->warned++)
		fprintf(stderr, "mlwatch: metrics: %u samples left out of the snapshot\n", errors);
	metrics_server_publish(c->metrics, mx->e.buf, mx->e.len);
}
