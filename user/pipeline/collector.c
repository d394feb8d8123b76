/* The collector's per-event pipeline.
 * Threat model: docs/threat-model.md §2 (how a load is recognised).
 */
#include <errno.h>
#include <stddef.h>
#include <cjson/cJSON.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "collector.h"
#include "collect/decode.h"
#include "collect/judge.h"
#include "collect/pathres.h"
#include "collect/procfs.h"
#include "collect/pyevents.h"
#include "detect/alert.h"
#include "detect/classify.h"
#include "detect/incident_step.h"
#include "detect/pathclass.h"
#include "detect/rules.h"
#include "lib/hostname.h"
#include "lib/textsan.h"
#include "output/alert_render.h"
#include "output/health_render.h"
#include "output/incident_render.h"
#include "output/inventory_render.h"
#include "output/workload_render.h"
#include "scan/model_inert.h"
#include "scan/scan_render.h"
#include "sense/pyprobe.h"

/* More rules firing on one event than this is a rules bug, not an attack. */
#define MAX_RULES_PER_EVENT 16

static uint64_t clock_ns(clockid_t id)
{
	struct timespec ts;

	clock_gettime(id, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* A JSON record to the JSON sink and to the outputs (all but skip, which
 * an output-health alert is about: it would only lose it again). */
static void put_json(struct collector *c, unsigned kind, const char *line, size_t skip)
{
	if (c->sink && c->sink->json)
		sink_line(c->sink, line);
	if (c->fwd)
		fanout_submit_except(c->fwd, skip, kind, line, strlen(line));
}

static bool want_json(const struct collector *c)
{
	return (c->sink && c->sink->json) || c->fwd;
}

static bool want_text(const struct collector *c)
{
	return c->sink && !c->sink->json;
}

/* The container and pod of a cgroup, for a record (never per event: a
 * cache lookup, a walk on a miss); NULL when it is in neither. */
static const struct workload *workload_of(struct collector *c, uint64_t cgroup_id,
					  struct workload *wl)
{
	const struct cg_ident *ci;

	if (!cgroup_id || !c->cg.buckets)
		return NULL;
	ci = cgmap_lookup(&c->cg, cgroup_id, clock_ns(CLOCK_MONOTONIC));
	if (!ci)
		return NULL;
	wl->cg = *ci;
	wl->have_pod = ci->pod_uid[0] && podwatch_get(c->pods, ci->pod_uid, &wl->pod);
	return wl;
}

/* Every incident record (new, update, closed) goes out here. */
static void write_incident(void *ctx, const struct incident *inc, enum incident_record st)
{
	struct collector *c = ctx;

	if (want_json(c)) {
		struct workload wl;
		cJSON *j = incident_json_object(inc, st, c->host, c->boot_to_real_ns);
		char *s;

		if (j)
			workload_to_json(j, workload_of(c, inc->cgroup_id, &wl));
		s = j ? cJSON_PrintUnformatted(j) : NULL;
		cJSON_Delete(j);
		if (s)
			put_json(c, REC_INCIDENT, s, FANOUT_ALL);
		else if (c->sink)
			c->sink->failed++;
		free(s);
	}
	if (want_text(c)) {
		char buf[8192];

		incident_to_text(inc, st, c->boot_to_real_ns, buf, sizeof(buf));
		sink_line(c->sink, buf);
	}
}

int collector_init(struct collector *c, const struct options *o, struct sensors *s,
		   struct sink *sink)
{
	memset(c, 0, sizeof(*c));
	c->opt = o;
	c->sensors = s;
	c->sink = sink;
	node_host_name(c->host, sizeof(c->host));
	c->boot_to_real_ns = (int64_t)(clock_ns(CLOCK_REALTIME) - clock_ns(CLOCK_MONOTONIC));
	health_init(&c->health, clock_ns(CLOCK_MONOTONIC));
	c->limits_told_ns = clock_ns(CLOCK_MONOTONIC);
	c->dropped = malloc(sizeof(*c->dropped));
	if (!c->dropped || labeltab_init(&c->alerts_by_rule, LABELTAB_DEF_ROWS))
		return -1;
	dropped_init(c->dropped);
	judge_init(&c->judge);
	if (incident_table_init(&c->inc, &(struct incident_config){ .host = c->host,
								    .max_open = o->max_incidents,
								    .emit = write_incident,
								    .emit_ctx = c }))
		return -1;
	/* shells, downloaders and loaders by identity: a hard link under
	 * another name is still what it is */
	if (exeid_add_names(&c->exe, "", exec_known_programs) < 0)
		return -1;
	return proctable_init(&c->pt, o->max_procs);
}

/* One alert as JSON (freed here; NULL when out of memory, counted as a
 * failed write) to the JSON sink and the outputs ... */
static void write_alert_json(struct collector *c, cJSON *j, unsigned kind, size_t skip)
{
	char *line = j ? cJSON_PrintUnformatted(j) : NULL;

	if (line)
		put_json(c, kind, line, skip);
	else if (c->sink)
		c->sink->failed++;
	free(line);
	cJSON_Delete(j);
}

/* ... or its text line to a text sink. */
static void write_alert_text(struct collector *c, const char *line)
{
	sink_line(c->sink, line);
}

/* One alert written: counted, and by rule and severity for /metrics. */
static void count_alert(struct collector *c, const char *rule, const char *severity)
{
	c->st.alerts++;
	labeltab_add(&c->alerts_by_rule, rule, severity);
}

/* An event's alert, in every form wanted. */
static void write_event_alert(struct collector *c, const struct alert *a)
{
	if (want_json(c))
		write_alert_json(c, alert_to_json(a), REC_ALERT, FANOUT_ALL);
	if (want_text(c))
		sink_alert(c->sink, a);
	count_alert(c, a->rule->id, severity_name(a->rule->severity));
}

/* A scan verdict is an alert like the others: on the model-open event of
 * the load it judges, with the process, loader and ancestry, and a step of
 * the loader's incident (timed at the load, so it sits right after the
 * model_open step). Returns false when the load's process or its kernel
 * record is unknown; the caller then writes the inventory-style alert. */
static bool raise_scan_alert(struct collector *c, const struct inv_record *r, unsigned bit)
{
	const struct inv_rule *ir = inv_alert_rule(bit);
	static struct event ev; /* large; the main thread's, as collector_handle's */
	struct rule rule = { .id = ir->id,
			     .title = ir->title,
			     .severity = bit == INV_ALERT_SCAN_MALICIOUS ? SEV_CRITICAL : SEV_LOW };
	struct incident_input in;
	struct incident *inc = NULL;
	char sum[INCIDENT_SUMMARY_MAX + INV_SCAN_LINE];
	struct facts fa;
	struct alert a;
	struct workload wl;
	uint32_t loader_pid;
	struct proc *p = proctable_get(&c->pt, r->pid);

	if (!r->has_open || !p)
		return false;
	for (int i = 0; i < 4 && i < RULE_MAX_TAGS && ir->tags[i]; i++)
		rule.tags[i] = ir->tags[i];
	memset(&ev, 0, offsetof(struct event, pathbuf));
	ev.kind = MLW_EV_MODEL_OPEN;
	ev.hdr = r->open.hdr;
	snprintf(ev.comm, sizeof(ev.comm), "%s", r->comm);
	snprintf(ev.pathbuf, sizeof(ev.pathbuf), "%s", r->path);
	ev.path = ev.pathbuf;
	ev.u.open = &r->open;
	memset(&fa, 0, sizeof(fa));
	snprintf(fa.resolved_path, sizeof(fa.resolved_path), "%s",
		 r->resolved_path[0] ? r->resolved_path : r->path);
	fa.resolved_ok = true;
	loader_pid = ev.hdr.mark.loader_tgid ? ev.hdr.mark.loader_tgid : r->pid;

	memset(&a, 0, sizeof(a));
	a.rule = &rule;
	a.ev = &ev;
	a.facts = &fa;
	a.pt = &c->pt;
	a.proc = p;
	a.loader = proctable_get(&c->pt, loader_pid);
	a.loader_pid = loader_pid;
	a.n_ancestry =
		proctable_ancestry(&c->pt, r->pid, loader_pid, a.ancestry, PROCTABLE_MAX_DEPTH);
	a.realtime_ns = r->last_seen_ns;
	a.host = c->host;
	a.scan = &r->scan;
	a.wl = workload_of(c, ev.hdr.cgroup_id, &wl);
	incident_input_from_alert(&a, &in, NULL, 0);
	snprintf(sum, sizeof(sum), "static scan: %s: %s", scan_verdict_name(r->scan.verdict),
		 r->scan.top[0][0] ? r->scan.top[0] : "(no finding text)");
	in.summary = sum;
	in.step = INCIDENT_STEP_MODEL_SCAN;
	if (ev.hdr.mark.mark_ns) {
		uint64_t dups = c->inc.st.duplicates;

		incident_add(&c->inc, &in, &inc);
		if (c->inc.st.duplicates != dups) {
			/* the same file judged again (opened again): the step
			 * counts it, one alert line is enough */
			c->st.alerts_collapsed++;
			return true;
		}
	}
	a.incident_id = inc ? inc->id : NULL;
	write_event_alert(c, &a);
	return true;
}

/* An inventory record (or held-back summary) to --inventory and a JSON output. */
static void write_inv_record(struct collector *c, const struct inv_record *r)
{
	struct workload wl;
	cJSON *j;
	char *line;

	if (!c->inv_sink_open && !want_json(c))
		return;
	j = inv_record_to_json(r);
	if (j && r->has_open)
		workload_to_json(j, workload_of(c, r->open.hdr.cgroup_id, &wl));
	line = j ? cJSON_PrintUnformatted(j) : NULL;
	if (line && c->inv_sink_open)
		sink_line(&c->inv_sink, line);
	if (line)
		put_json(c, REC_INVENTORY, line, FANOUT_ALL);
	free(line);
	cJSON_Delete(j);
}

/* What the inventory's rate limit held back: a record in the inventory,
 * and (at most once a minute) an alert, since a flood can hide a load. */
static void inv_held_back(struct collector *c, const struct inv_record *r)
{
	if (r->held_back_alert) {
		if (want_json(c))
			write_alert_json(c, inv_held_back_alert_to_json(r), REC_ALERT, FANOUT_ALL);
		if (want_text(c)) {
			char buf[1024];

			inv_held_back_alert_to_text(r, buf, sizeof(buf));
			write_alert_text(c, buf);
		}
		if (want_json(c) || want_text(c))
			count_alert(c, inv_rule_held_back.id, inv_rule_held_back.severity);
	}
	write_inv_record(c, r);
}

/* A finished inventory record: its alerts (a blocklisted model, a bad scan
 * verdict) go to the alert output, the record itself to --inventory and to
 * a JSON output. */
static void inv_emit(const struct inv_record *r, void *ctx)
{
	struct collector *c = ctx;
	struct proc *p;

	if (r->held_back) {
		inv_held_back(c, r);
		return;
	}
	p = r->scan.done ? proctable_get(&c->pt, r->pid) : NULL;

	/* the loader's worst verdict, for its incident now and later ones */
	if (p && (!p->model.scanned || r->scan.verdict > p->model.scan_verdict)) {
		p->model.scanned = true;
		p->model.scan_verdict = (uint8_t)r->scan.verdict;
		if (p->mark_ns)
			incident_set_scan(&c->inc, p->loader ? p->loader : r->pid, p->mark_ns,
					  scan_verdict_name(r->scan.verdict));
	}

	for (unsigned bit = 1; bit <= INV_ALERT_LAST; bit <<= 1) {
		if ((r->alerts & bit & (INV_ALERT_SCAN_MALICIOUS | INV_ALERT_SCAN_SUSPICIOUS)) &&
		    raise_scan_alert(c, r, bit))
			continue;
		if (!(r->alerts & bit) || !(want_json(c) || want_text(c)))
			continue;
		if (want_json(c)) {
			struct workload wl;
			cJSON *j = inv_alert_to_json(r, bit);

			if (j && r->has_open)
				workload_to_json(j, workload_of(c, r->open.hdr.cgroup_id, &wl));
			write_alert_json(c, j, REC_ALERT, FANOUT_ALL);
		}
		if (want_text(c)) {
			char buf[8192];

			inv_alert_to_text(r, bit, buf, sizeof(buf));
			write_alert_text(c, buf);
		}
		count_alert(c, inv_alert_rule(bit)->id, inv_alert_rule(bit)->severity);
	}
	if (r->complete)
		write_inv_record(c, r);
}

int collector_start_inventory(struct collector *c)
{
	struct inv_options io;
	char err[512];

	blocklist_init(&c->bl);
	if (c->opt->blocklist_file &&
	    blocklist_load(&c->bl, c->opt->blocklist_file, err, sizeof(err))) {
		fprintf(stderr, "mlwatch: --blocklist: %s\n", err);
		return MLW_EXIT_USAGE;
	}
	if (c->opt->inventory_file) {
		if (sink_open(&c->inv_sink, c->opt->inventory_file, true))
			return MLW_EXIT_OUTPUT;
		c->inv_sink_open = true;
	}
	/* before the scanner thread starts: profiles are read-only after */
	if (c->opt->scan_profiles_file &&
	    pickle_profiles_load_file(c->opt->scan_profiles_file, err, sizeof(err))) {
		fprintf(stderr, "mlwatch: --scan-profiles: %s\n", err);
		return MLW_EXIT_USAGE;
	}
	inv_options_default(&io);
	io.no_scan = c->opt->no_scan;
	io.host = c->host;
	io.blocklist = &c->bl;
	io.max_mib_per_s = c->opt->hash_mib_per_s;
	io.window_ms = c->opt->inventory_window_s * 1000;
	io.records_per_sec = c->opt->inventory_rate;
	io.max_hash_size = (uint64_t)c->opt->hash_max_gib << 30;
	c->inv = inventory_new(&io, err, sizeof(err));
	if (!c->inv) {
		fprintf(stderr, "mlwatch: starting the model inventory failed: %s\n", err);
		return MLW_EXIT_FAILURE;
	}
	return MLW_EXIT_OK;
}

int collector_start_identity(struct collector *c)
{
	struct podwatch_conf pc;
	char why[PATH_MAX + 128];
	int r;

	if (cgmap_init(&c->cg, NULL, 0, why, sizeof(why)))
		fprintf(stderr, "mlwatch: records name no container: %s\n", why);
	else
		fprintf(stderr,
			"mlwatch: containers and pods from the cgroup v2 hierarchy at %s "
			"(%zu cgroup%s)%s\n",
			c->cg.root, c->cg.st.entries, c->cg.st.entries == 1 ? "" : "s",
			c->cg.whole ? "" :
				      "; WARNING: a part of it only (mount the host's cgroup file "
				      "system): processes outside it name no container");
	r = podwatch_conf_env(&pc, why, sizeof(why));
	if (r < 0) {
		fprintf(stderr, "mlwatch: Kubernetes API: %s\n", why);
		return MLW_EXIT_USAGE;
	}
	if (r == 0) {
		fprintf(stderr, "mlwatch: pod names, namespaces and labels left out: %s\n", why);
		return MLW_EXIT_OK;
	}
	c->pods = podwatch_start(&pc, why, sizeof(why));
	if (!c->pods) {
		fprintf(stderr, "mlwatch: Kubernetes API: %s\n", why);
		return MLW_EXIT_FAILURE;
	}
	fprintf(stderr, "mlwatch: watching the pods of node %s at %s\n", pc.node, pc.api);
	return MLW_EXIT_OK;
}

void collector_poll_inventory(struct collector *c)
{
	if (c->inv)
		inventory_poll(c->inv, inv_emit, c);
}

int collector_forward(struct collector *c, struct fanout *f)
{
	c->fwd = f;
	return output_health_init(&c->oh, fanout_count(f), clock_ns(CLOCK_MONOTONIC));
}

void collector_free(struct collector *c)
{
	podwatch_stop(c->pods);
	c->pods = NULL;
	cgmap_free(&c->cg);
	output_health_free(&c->oh);
	if (c->inv) {
		inventory_free(c->inv);
		c->inv = NULL;
	}
	blocklist_free(&c->bl);
	if (c->inv_sink_open) {
		sink_close(&c->inv_sink);
		c->inv_sink_open = false;
	}
	incident_table_free(&c->inc);
	proctable_free(&c->pt);
	exeid_free(&c->exe);
	if (c->dropped) {
		dropped_free(c->dropped);
		free(c->dropped);
		c->dropped = NULL;
	}
	labeltab_free(&c->alerts_by_rule);
}

/* The last process of a lineage exited: its incident, if any, closes. */
static void lineage_maybe_gone(struct collector *c, uint32_t loader, uint64_t mark_ns, uint64_t ts)
{
	if (!loader || !incident_find(&c->inc, loader, mark_ns))
		return;
	if (proctable_lineage_live(&c->pt, loader, mark_ns) == 0)
		incident_lineage_exited(&c->inc, loader, mark_ns, ts);
}

/* The process table is full of marked live processes: a new one goes
 * untracked (its alerts lose their ancestry). Said at once, then at each
 * power of ten, and counted in collector_limits. */
static void note_untracked(struct collector *c, uint64_t refused_before)
{
	uint64_t n = c->pt.st.refused;

	if (n == refused_before)
		return;
	for (uint64_t p = 1; p <= n && p <= UINT64_MAX / 10; p *= 10)
		if (p == n) {
			fprintf(stderr,
				"mlwatch: WARNING: process table full of %zu marked live processes "
				"(--max-procs %zu): new processes go untracked, their alerts "
				"lack ancestry (%llu so far)\n",
				c->pt.cls[PROC_MARKED].n, c->pt.max, (unsigned long long)n);
			break;
		}
}

/* Writes and execs of watched lineages, for "runs what it just wrote". */
static void track_dropped(struct collector *c, const struct event *ev, struct facts *fa)
{
	const struct mlw_mark *m = &ev->hdr.mark;

	if (!(ev->hdr.flags & MLW_F_MARKED) || !fa->resolved_path[0])
		return;
	if (ev->kind == MLW_EV_OPEN && fa->open_write && ev->u.open->ret >= 0) {
		dropped_note(c->dropped, m->loader_tgid, m->mark_ns, fa->resolved_path,
			     ev->hdr.ts_ns);
		if (fa->real_path[0] && strcmp(fa->real_path, fa->resolved_path))
			dropped_note(c->dropped, m->loader_tgid, m->mark_ns, fa->real_path,
				     ev->hdr.ts_ns);
	} else if (ev->kind == MLW_EV_LINK && ev->u.link->ret == 0) {
		/* written elsewhere, then renamed or linked into place */
		dropped_note(c->dropped, m->loader_tgid, m->mark_ns, fa->resolved_path,
			     ev->hdr.ts_ns);
	} else if (ev->kind == MLW_EV_EXEC) {
		fa->exec_dropped =
			dropped_by_lineage(c->dropped, m->loader_tgid, m->mark_ns,
					   fa->resolved_path, ev->hdr.ts_ns) ||
			(fa->real_path[0] &&
			 dropped_by_lineage(c->dropped, m->loader_tgid, m->mark_ns, fa->real_path,
					    ev->hdr.ts_ns)) ||
			/* a stage-2 script handed to an interpreter */
			(fa->script[0] && dropped_by_lineage(c->dropped, m->loader_tgid, m->mark_ns,
							     fa->script, ev->hdr.ts_ns));
	}
}

/* First sight of a process (the loader itself, usually): fill from /proc. */
static struct proc *ensure_proc(struct collector *c, const struct event *ev)
{
	bool created;
	uint64_t refused = c->pt.st.refused;
	struct proc *p = proctable_add(&c->pt, ev->hdr.tgid, &created);
	char buf[PATH_MAX];

	if (!p) {
		note_untracked(c, refused);
		return NULL;
	}
	if (created || p->exited) {
		if (!created)
			proctable_reset(&c->pt, p);
		p->parent = ev->hdr.ppid;
		proctable_set_lineage(&c->pt, p, ev->hdr.mark.loader_tgid, ev->hdr.mark.mark_ns);
		memcpy(p->comm, ev->comm, sizeof(p->comm));
		if (procfs_exe((pid_t)p->pid, buf, sizeof(buf)) == 0)
			proctable_set_exe(&c->pt, p, buf);
		else
			proctable_set_exe(&c->pt, p, ev->comm);
		{
			char args[MLW_ARGS_MAX];
			bool trunc;
			long n = procfs_cmdline((pid_t)p->pid, args, sizeof(args), &trunc);

			if (n > 0)
				proctable_set_args(&c->pt, p, args, (size_t)n, trunc);
		}
	}
	p->cgroup_id = ev->hdr.cgroup_id; /* a store: looked up only for a record */
	return p;
}

/* Asks the kernel to unmark p for as long as its mark has exactly the
 * model opens judged so far (a later one re-arms it, see struct mlw_unmark). */
static void unmark(struct collector *c, struct proc *p, uint32_t models)
{
	if (c->sensors && sensors_unmark(c->sensors, p->pid, p->mark_ns, models) == 0)
		c->st.marks_cleared++;
}

/* The loader's model opens so far are all data: it, and the children it
 * forked before any other model open, are unmarked (grandchildren keep
 * their marks: their forks are not tied to a count). */
struct lineage_clear {
	struct collector *c;
	struct proc *loader;
};

static void clear_child(struct proc *p, void *ctx)
{
	struct lineage_clear *lc = ctx;

	if (p == lc->loader || p->exited || p->parent != lc->loader->pid ||
	    p->forked_at > lc->loader->inert_upto || p->n_models)
		return;
	p->inert_upto = 0;
	unmark(lc->c, p, 0);
}

/* Whether the event comes from a process whose mark is covered by data-only
 * loads: its model opens (the record's count) were all proven inert, or it
 * is a child forked after only those. Such an event raised nothing real. */
static bool covered_by_inert(struct collector *c, const struct event *ev)
{
	const struct mlw_mark *m = &ev->hdr.mark;
	struct proc *p = proctable_get(&c->pt, ev->hdr.tgid), *l;

	if (!p || (m->reason & (MLW_MARK_ROOT | MLW_MARK_PAYLOAD | MLW_MARK_PYTHON)) ||
	    p->mark_ns != m->mark_ns)
		return false;
	if (m->loader_tgid == ev->hdr.tgid)
		return p->model_state == MODEL_INERT && m->models && m->models <= p->inert_upto;
	l = proctable_get(&c->pt, m->loader_tgid);
	return l && l->model_state == MODEL_INERT && p->parent == l->pid && m->models == 0 &&
	       p->forked_at && p->forked_at <= l->inert_upto;
}

/* An interpreter's exec, sent unmarked: a Jupyter kernel, a vLLM or Ray
 * server is a control-plane root, watched from here on with its lineage. */
static void check_root_argv(struct collector *c, const struct event *ev)
{
	bool notebook = false;
	const char *hit = roots_argv_match(&c->opt->roots, ev->argv, ev->argc, &notebook);
	struct mlw_mark m = {
		.loader_tgid = ev->hdr.tgid,
		.reason = MLW_MARK_ROOT | MLW_MARK_USER,
		.mark_ns = ev->hdr.ts_ns,
	};
	struct proc *p;

	if (!hit)
		return;
	if (notebook)
		m.reason |= MLW_MARK_NOTEBOOK;
	c->st.roots_by_argv++;
	if (c->sensors && sensors_set_mark(c->sensors, ev->hdr.tgid, &m) == 0)
		c->st.marks_set_by_user++;
	p = proctable_get(&c->pt, ev->hdr.tgid);
	if (p)
		proctable_reset(&c->pt, p);
	p = ensure_proc(c, ev);
	if (p) {
		proctable_set_lineage(&c->pt, p, m.loader_tgid, m.mark_ns);
		proctable_set_exe(&c->pt, p, ev->path);
	}
}

static void handle_model_open(struct collector *c, const struct event *ev, const struct facts *fa)
{
	const struct mlw_hdr *h = &ev->hdr;
	struct inert_verdict v;
	struct proc *p;

	/* a file held at start may be mapped only, with no fd */
	if (ev->u.open->ret < 0 && !(h->flags & MLW_F_SEEDED))
		return;
	p = ensure_proc(c, ev);
	if (!p)
		return;
	if (c->sensors && procfs_runs_own_exe((pid_t)h->tgid)) {
		/* another mlwatch scanning files: not a load, not judged here.
		 * It keeps its mark: what runs as mlwatch now (LD_PRELOAD, a
		 * payload's exec of it) proves nothing about its lineage. */
		c->st.peer_reads++;
		return;
	}
	/* a control-plane process that loads a model starts a lineage here;
	 * a sibling thread's open under the same mark is no new lineage */
	if ((h->flags & MLW_F_NEW_MARK) && p->mark_ns != h->mark.mark_ns) {
		proctable_set_lineage(&c->pt, p, h->mark.loader_tgid, h->mark.mark_ns);
		p->inert_upto = 0;
		p->model_state = MODEL_NONE;
	}
	judge_model(&c->judge, (pid_t)h->tgid, ev->u.open,
		    fa->real_path[0] ? fa->real_path : fa->resolved_path, clock_ns(CLOCK_MONOTONIC),
		    &v);
	/* the inventory wants data-only formats too: poisoned weights live
	 * in safetensors as well */
	if (c->inv)
		inventory_submit(c->inv,
				 &(struct inv_load){ .pid = h->tgid,
						     .uid = h->uid,
						     .fd = ev->u.open->ret,
						     .comm = p->comm,
						     .exe = p->exe,
						     .path = ev->path,
						     .resolved_path = fa->resolved_path,
						     .format = v.format,
						     .realtime_ns = h->ts_ns +
								    (uint64_t)c->boot_to_real_ns,
						     .open = ev->u.open });
	proctable_set_model(&c->pt, p, ev->path,
			    fa->real_path[0] ? fa->real_path : fa->resolved_path, v.format,
			    h->ts_ns);
	if (c->opt->verbose) {
		char line[1024];
		size_t o;

		/* why may quote the file's own bytes */
		o = text_putf(line, sizeof(line), 0, "model pid=%u models=%u format=%s %s", h->tgid,
			      h->mark.models, model_format_name(v.format),
			      v.inert ? "inert: " : "may run code: ");
		text_put(line, sizeof(line), o, v.inert ? v.kind : v.why);
		fprintf(stderr, "%s\n", line);
	}
	/* Only a process's own model opens, all of them proven data, and only
	 * a mark that is a model's alone (a control-plane root stays watched,
	 * and so does the payload's own lineage, and a process that unpickled
	 * an unsafe global). */
	if (v.inert && h->mark.models && h->mark.loader_tgid == h->tgid &&
	    !(h->mark.reason & (MLW_MARK_ROOT | MLW_MARK_PAYLOAD | MLW_MARK_PYTHON)) &&
	    p->mark_ns == h->mark.mark_ns && p->inert_upto + 1 == h->mark.models &&
	    (p->model_state == MODEL_NONE || p->model_state == MODEL_INERT)) {
		struct lineage_clear lc = { c, p };

		c->st.models_inert++;
		p->model_state = MODEL_INERT;
		p->inert_upto = h->mark.models;
		unmark(c, p, p->inert_upto);
		proctable_for_lineage(&c->pt, h->tgid, h->mark.mark_ns, clear_child, &lc);
		return;
	}
	c->st.models_confirmed++;
	p->model_state = MODEL_CONFIRMED;
	if (!(h->flags & MLW_F_MARKED) && c->sensors) {
		/* the kernel could not mark it (map full): do it from here */
		struct mlw_mark m = { .loader_tgid = h->tgid,
				      .reason = MLW_MARK_MODEL | MLW_MARK_USER,
				      .mark_ns = h->ts_ns,
				      .models = 1 };

		if (sensors_set_mark(c->sensors, h->tgid, &m) == 0) {
			c->st.marks_set_by_user++;
			proctable_set_lineage(&c->pt, p, h->tgid, h->ts_ns);
		}
	}
}

static void handle_fork(struct collector *c, const struct event *ev)
{
	const struct proc *parent;
	bool created;
	uint64_t refused;
	struct proc *child;

	ensure_proc(c, ev);
	refused = c->pt.st.refused;
	child = proctable_add(&c->pt, ev->u.fork->child_tgid, &created);
	if (!child) {
		note_untracked(c, refused);
		return;
	}
	if (!created)
		proctable_reset(&c->pt, child); /* pid reuse */
	child->parent = ev->hdr.tgid;
	proctable_set_lineage(&c->pt, child, ev->hdr.mark.loader_tgid, ev->hdr.mark.mark_ns);
	child->forked_at = ev->hdr.mark.models;
	child->cgroup_id = ev->hdr.cgroup_id;
	memcpy(child->comm, ev->comm, sizeof(child->comm));
	/* looked up again: adding the child may have evicted an unmarked parent */
	parent = proctable_get(&c->pt, ev->hdr.tgid);
	if (parent)
		proctable_inherit(&c->pt, child, parent);
}

static void handle_exec(struct collector *c, const struct event *ev, const struct facts *fa)
{
	struct proc *p = ensure_proc(c, ev);
	char args[MLW_ARGS_MAX + 1];
	size_t n = 0;

	if (!p)
		return;
	memcpy(p->comm, ev->comm, sizeof(p->comm));
	proctable_set_exe(&c->pt, p, fa->resolved_path[0] ? fa->resolved_path : ev->path);
	for (size_t i = 0; i < ev->argc; i++) {
		size_t l = strlen(ev->argv[i]) + 1;

		if (n + l > sizeof(args))
			break;
		memcpy(args + n, ev->argv[i], l);
		n += l;
	}
	proctable_set_args(&c->pt, p, args, n, ev->args_truncated);
}

static void raise_alerts(struct collector *c, const struct event *ev, const struct facts *fa)
{
	const struct rule *hits[MAX_RULES_PER_EVENT];
	uint32_t loader_pid = ev->hdr.mark.loader_tgid;
	const struct proc *loader;
	struct alert a;
	struct workload wl;
	size_t n;

	const struct proc *actor = proctable_get(&c->pt, ev->hdr.tgid);

	if (!(ev->hdr.flags & MLW_F_MARKED))
		return;
	/* each rule's scope says whether it is about model loaders or
	 * control-plane roots (ev->hdr.mark.reason) */
	if (c->rules)
		n = ruleset_match(c->rules, ev, fa, actor ? actor->exe : NULL, hits,
				  MAX_RULES_PER_EVENT);
	else
		n = rules_match(builtin_rules, n_builtin_rules, ev, fa, hits, MAX_RULES_PER_EVENT);
	if (!n)
		return;
	loader = proctable_get(&c->pt, loader_pid);
	if (covered_by_inert(c, ev)) {
		/* sent before the kernel heard the load was data only */
		c->st.alerts_suppressed_inert += n;
		return;
	}
	memset(&a, 0, sizeof(a));
	a.ev = ev;
	a.facts = fa;
	a.pt = &c->pt;
	a.proc = proctable_get(&c->pt, ev->hdr.tgid);
	a.loader = loader;
	a.loader_pid = loader_pid;
	a.n_ancestry = proctable_ancestry(&c->pt, ev->hdr.tgid, loader_pid, a.ancestry,
					  PROCTABLE_MAX_DEPTH);
	a.realtime_ns = ev->hdr.ts_ns + (uint64_t)c->boot_to_real_ns;
	a.host = c->host;
	a.wl = workload_of(c, ev->hdr.cgroup_id, &wl);
	for (size_t i = 0; i < n; i++) {
		struct incident_input in;
		struct incident *inc = NULL;
		char sum[INCIDENT_SUMMARY_MAX];
		uint64_t dups = c->inc.st.duplicates;

		a.rule = hits[i];
		incident_input_from_alert(&a, &in, sum, sizeof(sum));
		if (a.rule->action == RULE_ACTION_RECORD) {
			/* context for the lineage's story, never an alert */
			in.context = true;
			incident_add(&c->inc, &in, &inc);
			c->st.steps_recorded++;
			continue;
		}
		incident_add(&c->inc, &in, &inc);
		a.incident_id = inc ? inc->id : NULL;
		if (c->inc.st.duplicates != dups) {
			/* the same rule on the same thing again: the incident's
			 * step counts it, one alert line is enough */
			c->st.alerts_collapsed++;
			continue;
		}
		write_event_alert(c, &a);
	}
}

void collector_set_py_hooks(struct collector *c, const struct collector_py_hooks *h)
{
	c->py = *h;
}

/* User space allowed a global the kernel flagged: the probe's verdict
 * cache may learn it (sense/, through the hook). The process keeps its
 * mark: it was made before this verdict, and un-marking on a pattern the
 * kernel could not check would be failing open. */
static void py_allow_global(struct collector *c, const char *module, const char *name)
{
	if (c->py.allow_global)
		c->py.allow_global(c->py.ctx, module, name);
}

/* The process unpickled a global outside the allowlist: it is a loader
 * (MLW_MARK_PYTHON) from here on, as if it had opened a model, and the
 * alert is a step of its lineage's incident. The kernel marked it already
 * unless it judged the global allowed (it may only be stricter than user
 * space: a mismatch is counted) or its marks map was full. */
static void py_mark(struct collector *c, struct event *ev)
{
	struct mlw_hdr *h = &ev->hdr;
	struct proc *p = ensure_proc(c, ev);
	bool marked = (h->flags & MLW_F_MARKED) && h->mark.mark_ns;

	if (!(ev->py.pyflags & MLW_PY_F_UNSAFE))
		c->st.py_kernel_missed++;
	if (!marked || !(ev->py.pyflags & MLW_PY_F_UNSAFE)) {
		/* a mark it already has (a model's) keeps its lineage */
		struct mlw_mark m = { .loader_tgid = h->tgid, .mark_ns = h->ts_ns };

		if (marked)
			m = h->mark;
		m.reason |= MLW_MARK_PYTHON | MLW_MARK_USER;
		if (c->sensors && sensors_set_mark(c->sensors, h->tgid, &m) == 0)
			c->st.marks_set_by_user++;
		if (!marked)
			h->flags |= MLW_F_NEW_MARK;
		h->mark = m;
		h->flags |= MLW_F_MARKED;
	}
	h->mark.reason |= MLW_MARK_PYTHON; /* this record may predate its own mark */
	if (p && (h->flags & MLW_F_NEW_MARK) && p->mark_ns != h->mark.mark_ns) {
		proctable_set_lineage(&c->pt, p, h->mark.loader_tgid, h->mark.mark_ns);
		p->inert_upto = 0;
		p->model_state = MODEL_CONFIRMED;
	}
}

/* python-pickle-unsafe-import: the global, by name, on the process that
 * unpickled it; its incident starts here (or it joins the lineage's). */
static void py_import_alert(struct collector *c, const struct event *ev, const struct facts *fa)
{
	struct alert a;
	struct workload wl;
	struct incident_input in;
	struct incident *inc = NULL;
	char sum[INCIDENT_SUMMARY_MAX];
	uint64_t dups = c->inc.st.duplicates;
	uint32_t loader_pid = ev->hdr.mark.loader_tgid;

	memset(&a, 0, sizeof(a));
	a.rule = &python_rules[fa->py_verdict == PYV_DENIED ? PYRULE_IMPORT_DENIED :
							      PYRULE_IMPORT_UNSAFE];
	a.ev = ev;
	a.facts = fa;
	a.pt = &c->pt;
	a.proc = proctable_get(&c->pt, ev->hdr.tgid);
	a.loader = proctable_get(&c->pt, loader_pid);
	a.loader_pid = loader_pid;
	a.n_ancestry = proctable_ancestry(&c->pt, ev->hdr.tgid, loader_pid, a.ancestry,
					  PROCTABLE_MAX_DEPTH);
	a.realtime_ns = ev->hdr.ts_ns + (uint64_t)c->boot_to_real_ns;
	a.host = c->host;
	a.wl = workload_of(c, ev->hdr.cgroup_id, &wl);
	incident_input_from_alert(&a, &in, sum, sizeof(sum));
	incident_add(&c->inc, &in, &inc);
	a.incident_id = inc ? inc->id : NULL;
	if (c->inc.st.duplicates != dups) {
		c->st.alerts_collapsed++;
		return;
	}
	write_event_alert(c, &a);
}

/*
 * A Python audit record. find_class: judged again here (pyclass.h);
 * allowed ones are evidence only, counted and kept out of incidents.
 * Others come from marked processes and go to the rules. Returns whether
 * the rules should see it.
 */
static bool handle_python(struct collector *c, struct event *ev, struct facts *fa)
{
	struct proc *loader;

	if (c->py.interp_name)
		fa->py_interp = c->py.interp_name(c->py.ctx, ev->py.interp);
	if (ev->py.event != PYEV_FIND_CLASS) {
		ensure_proc(c, ev);
		return true;
	}
	if (fa->py_verdict == PYV_ALLOWED) {
		if (ev->py.pyflags & MLW_PY_F_UNSAFE) {
			c->st.py_user_allowed++;
			fa->py_user_allowed = true;
			py_allow_global(c, ev->py.arg[0], ev->py.arg[1]);
		} else {
			c->st.py_allowed++;
		}
		return false;
	}
	py_mark(c, ev);
	loader = proctable_get(&c->pt, ev->hdr.mark.loader_tgid);
	if (fa->py_verdict == PYV_CUSTOM) {
		/* a class of the user's own: watched like any loader, not
		 * alerted; the python rules stay off while nothing unsafe
		 * follows in the lineage (py_custom_lineage) */
		c->st.py_custom++;
		if (loader && (ev->hdr.flags & MLW_F_NEW_MARK) &&
		    ev->hdr.mark.reason ==
			    (MLW_MARK_PYTHON | (ev->hdr.mark.reason & MLW_MARK_USER)))
			loader->py_custom_ns = ev->hdr.mark.mark_ns;
		return false;
	}
	if (loader)
		loader->py_custom_ns = 0;
	if (fa->py_verdict == PYV_DENIED)
		c->st.py_denied++;
	else
		c->st.py_unsafe++;
	py_import_alert(c, ev, fa);
	return true;
}

/* Whether the event's lineage was marked by custom classes only (see
 * handle_python); unknown lineages get the python rules (fail closed). */
static void py_custom_lineage(struct collector *c, const struct event *ev, struct facts *fa)
{
	const struct proc *loader;

	if (!(ev->hdr.mark.reason & MLW_MARK_PYTHON))
		return;
	loader = proctable_get(&c->pt, ev->hdr.mark.loader_tgid);
	fa->py_custom_lineage = loader && loader->py_custom_ns &&
				loader->py_custom_ns == ev->hdr.mark.mark_ns;
}

/* Another process aimed at mlwatch itself (detect/selfprot.h): an alert
 * naming it, whoever it is; its repeats are counted. The kernel's path of
 * its executable names it when it is already gone (a `kill`). */
static void handle_self(struct collector *c, const struct event *ev, struct facts *fa)
{
	const struct rule *r = selfprot_rule(ev);
	struct proc *p = ensure_proc(c, ev);
	uint32_t loader_pid = ev->hdr.mark.loader_tgid;
	struct alert a;

	if (p && ev->kpath && ev->kpath[0])
		proctable_set_exe(&c->pt, p, ev->kpath);
	if (!r || !selfprot_first(&c->self, ev, r))
		return;
	if (ev->u.self->obj)
		fa->self_object = sensors_obj_name(c->sensors, ev->u.self->obj, ev->u.self->obj_id);
	memset(&a, 0, sizeof(a));
	a.rule = r;
	a.ev = ev;
	a.facts = fa;
	a.pt = &c->pt;
	a.proc = proctable_get(&c->pt, ev->hdr.tgid);
	a.loader = loader_pid ? proctable_get(&c->pt, loader_pid) : NULL;
	a.loader_pid = loader_pid;
	a.n_ancestry = proctable_ancestry(&c->pt, ev->hdr.tgid, loader_pid, a.ancestry,
					  PROCTABLE_MAX_DEPTH);
	a.realtime_ns = ev->hdr.ts_ns + (uint64_t)c->boot_to_real_ns;
	a.host = c->host;
	write_event_alert(c, &a);
}

/* One escaped line: comm, paths and socket paths are the watched
 * processes' to choose. */
static void verbose_event(const struct event *ev, const struct facts *fa)
{
	char line[3 * PATH_MAX];
	size_t o;

	o = text_putf(line, sizeof(line), 0,
		      "event %s pid=%u tid=%u ppid=%u comm=", event_kind_name(ev->kind),
		      ev->hdr.tgid, ev->hdr.tid, ev->hdr.ppid);
	o = text_put(line, sizeof(line), o, ev->comm);
	o = text_putf(line, sizeof(line), o, " loader=%u depth=%u path=", ev->hdr.mark.loader_tgid,
		      ev->hdr.mark.depth);
	o = text_put(line, sizeof(line), o,
		     fa->resolved_path[0] ? fa->resolved_path : (ev->path ? ev->path : "-"));
	if (fa->address[0]) {
		o = text_putf(line, sizeof(line), o, " address=");
		o = text_put(line, sizeof(line), o, fa->address);
		o = text_putf(line, sizeof(line), o, " port=%u%s", fa->port,
			      ev->hdr.flags & MLW_F_IN_LOAD ? " during-load" : "");
	}
	fprintf(stderr, "%s\n", line);
}

int collector_handle(void *ctx, void *data, size_t size)
{
	struct collector *c = ctx;
	static struct event ev; /* large; one record at a time */
	struct facts fa;
	const char *why;
	bool rules = true;

	if (event_decode(data, size, &ev, &why)) {
		if (c->st.decode_errors++ < 10)
			fprintf(stderr, "mlwatch: dropped a malformed record (%zu bytes): %s\n",
				size, why);
		return 0;
	}
	c->st.events[ev.kind]++;
	c->last_event_ns = ev.hdr.ts_ns;
	/* a program not run before (or run by a marked process): a Python
	 * interpreter to attach to? An unmarked one is for that only. */
	if (ev.kind == MLW_EV_EXEC && (ev.hdr.flags & (MLW_F_EXE_FIRST | MLW_F_MARKED)) &&
	    c->sensors) {
		pyprobe_exec(c->sensors->py, ev.hdr.tgid, ev.u.exec->file.dev, ev.u.exec->file.ino,
			     ev.kpath ? ev.kpath : "");
		if (!(ev.hdr.flags & (MLW_F_MARKED | MLW_F_ROOT_CHECK)))
			return c->stop && *c->stop ? -EINTR : 0;
	}
	if (ev.kind == MLW_EV_EXEC && (ev.hdr.flags & MLW_F_ROOT_CHECK)) {
		check_root_argv(c, &ev);
		return c->stop && *c->stop ? -EINTR : 0;
	}
	classify_event(&ev, &c->opt->net, &c->exe, &fa);
	track_dropped(c, &ev, &fa);
	if (c->opt->verbose)
		verbose_event(&ev, &fa);
	switch (ev.kind) {
	case MLW_EV_MODEL_OPEN:
		handle_model_open(c, &ev, &fa);
		break;
	case MLW_EV_FORK:
		handle_fork(c, &ev);
		break;
	case MLW_EV_EXEC:
		handle_exec(c, &ev, &fa);
		break;
	case MLW_EV_EXIT: {
		struct proc *p = proctable_get(&c->pt, ev.hdr.tgid);

		if (p)
			proctable_set_exited(&c->pt, p, ev.hdr.ts_ns);
		lineage_maybe_gone(c, ev.hdr.mark.loader_tgid, ev.hdr.mark.mark_ns, ev.hdr.ts_ns);
		break;
	}
	case MLW_EV_OPEN:
	case MLW_EV_CONNECT:
	case MLW_EV_SEND:
	case MLW_EV_DUP:
	case MLW_EV_LINK:
	case MLW_EV_SOCKET:
		ensure_proc(c, &ev);
		break;
	case MLW_EV_SELF:
		handle_self(c, &ev, &fa);
		break;
	case MLW_EV_PYTHON:
		rules = handle_python(c, &ev, &fa);
		break;
	default:
		break;
	}
	if (ev.kind != MLW_EV_SELF && rules) {
		py_custom_lineage(c, &ev, &fa);
		raise_alerts(c, &ev, &fa);
	}
	/* A flood keeps the drain going for as long as it lasts: the
	 * once-a-second work (health alerts, expiry) must not wait for it. */
	if ((++c->handled & 1023) == 0) {
		collector_poll_inventory(c);
		collector_tick(c);
	}
	/* After handling: libbpf consumes the record whatever the callback
	 * returns, and an error only stops the loop. */
	return c->stop && *c->stop ? -EINTR : 0;
}

/* The collector's own bounds reached in a way that can hide an attack's
 * context (a process untracked, a written file forgotten): said like the
 * kernel's losses, at most every HEALTH_MIN_GAP_NS. */
static size_t check_limits(struct collector *c, uint64_t now, bool force, struct health_alert *a)
{
	static const char *const names[7] = { "procs_refused_full_of_marked",
					      "procs_strings_clipped",
					      "procs_alloc_failed",
					      "incidents_alloc_failed",
					      "written_files_forgotten",
					      "cgroups_not_remembered",
					      "pods_not_kept" };
	struct collector_limits l;
	uint64_t v[7];
	bool any = false;

	collector_limits(c, &l);
	v[0] = l.procs_refused;
	v[1] = l.procs_clipped;
	v[2] = l.procs_alloc_failed;
	v[3] = l.incidents_alloc_failed;
	v[4] = l.dropped_forgotten;
	v[5] = l.cgroups_full;
	v[6] = l.pods_full;
	for (int i = 0; i < 7; i++)
		any |= v[i] > c->limits_told[i];
	if (!any || (!force && now - c->limits_told_ns < HEALTH_MIN_GAP_NS))
		return 0;
	memset(a, 0, sizeof(*a));
	a->rule_id = "collector-limit-reached";
	a->title = "A collector table is at its bound: an attack's context may be missing";
	a->severity = "medium";
	a->window_ns = now - c->limits_told_ns;
	for (int i = 0; i < 7; i++) {
		if (v[i] > c->limits_told[i]) {
			a->counts[a->n].reason = names[i];
			a->counts[a->n].count = v[i] - c->limits_told[i];
			a->n++;
		}
		c->limits_told[i] = v[i];
	}
	c->limits_told_ns = now;
	return 1;
}

/* One sensor-, collector- or output-health alert, in every form wanted. */
static void write_health_alert(struct collector *c, struct health_alert *a, size_t skip)
{
	a->host = c->host;
	a->realtime_ns = clock_ns(CLOCK_REALTIME);
	if (want_json(c))
		write_alert_json(c, health_alert_to_json(a), REC_HEALTH, skip);
	if (want_text(c)) {
		char buf[2048];

		health_alert_to_text(a, buf, sizeof(buf));
		write_alert_text(c, buf);
	}
	if (want_json(c) || want_text(c))
		count_alert(c, a->rule_id, a->severity);
}

void collector_health_alert(struct collector *c, struct health_alert *a)
{
	write_health_alert(c, a, FANOUT_ALL);
}

/* The kernel's and the outputs' losses since the last alert, said now
 * (see health.h, output_health.h). */
static void check_health(struct collector *c, bool force)
{
	uint64_t cnt[MLW_CNT_MAX], now = clock_ns(CLOCK_MONOTONIC);
	struct health_alert a[3];
	size_t n = 0;

	if (c->sensors && c->sensors->skel) {
		sensors_counters(c->sensors, cnt);
		n = health_check(&c->health, cnt, now, force, a);
	}
	n += check_limits(c, now, force, &a[n]);
	for (size_t i = 0; i < n; i++)
		write_health_alert(c, &a[i], FANOUT_ALL);
	for (size_t i = 0; i < fanout_count(c->fwd); i++) {
		struct fwd_stats st;

		fanout_stats(c->fwd, i, &st);
		n = output_health_check(&c->oh, i, &st, now, force, a);
		for (size_t k = 0; k < n; k++)
			write_health_alert(c, &a[k], i);
	}
}

void collector_tick(struct collector *c)
{
	uint64_t now = clock_ns(CLOCK_MONOTONIC);

	if (now - c->last_tick_ns < COLLECTOR_TICK_NS)
		return;
	c->last_tick_ns = now;
	if (c->sensors)
		pyprobe_tick(c->sensors->py);
	proctable_expire(&c->pt, now);
	incident_tick(&c->inc, now); /* records the rate limits held back */
	check_health(c, false);
	if (c->on_tick)
		c->on_tick(c);
}

void collector_finish(struct collector *c)
{
	check_health(c, true);
	if (c->inv)
		inventory_flush(c->inv, inv_emit, c);
	incident_close_all(&c->inc, clock_ns(CLOCK_MONOTONIC));
}

void collector_limits(const struct collector *c, struct collector_limits *out)
{
	const struct proctable_stats *ps = &c->pt.st;
	const struct incident_stats *is = &c->inc.st;

	memset(out, 0, sizeof(*out));
	out->procs_evicted_exited = ps->evicted_exited;
	out->procs_evicted_unmarked = ps->evicted_unmarked;
	out->procs_refused = ps->refused;
	out->procs_clipped = ps->strings_clipped + ps->strings_dropped;
	out->procs_alloc_failed = ps->alloc_failed;
	out->procs_peak = ps->peak;
	out->procs_max = c->pt.max;
	out->procs_peak_bytes = ps->peak_bytes;
	out->procs_max_bytes = proctable_max_bytes(&c->pt);
	out->incidents_evicted = is->evicted;
	out->incident_steps_cut = is->steps_cut;
	out->incident_context_dropped = is->context_dropped;
	out->incidents_alloc_failed = is->alloc_failed;
	out->incidents_peak = is->peak_open;
	out->incidents_max = c->inc.cfg.max_open;
	out->incidents_peak_bytes = is->peak_bytes;
	out->incidents_max_bytes = incident_table_max_bytes(&c->inc);
	out->dropped_forgotten = c->dropped ? c->dropped->forgotten : 0;
	out->cgroups_full = c->cg.st.full;
	if (c->pods) {
		struct podwatch_stats ps;

		podwatch_stats(c->pods, &ps);
		out->pods_full = ps.cache.full;
	}
}

#define MIB(b) ((double)(b) / 1048576.0)

void collector_print_bounds(const struct collector *c, FILE *f)
{
	fprintf(f,
		"mlwatch: bounds: process table %zu processes (at most %.1f MiB), "
		"incidents %zu open (at most %.1f MiB), written files %d (at most %.1f MiB)\n",
		c->pt.max, MIB(proctable_max_bytes(&c->pt)), c->inc.cfg.max_open,
		MIB(incident_table_max_bytes(&c->inc)), DROPPED_MAX, MIB(dropped_max_bytes()));
}

/* Peaks against bounds, and every limit counter (collector_limits). */
static void report_limits(const struct collector *c, FILE *f)
{
	struct collector_limits l;

	collector_limits(c, &l);
	fprintf(f,
		"mlwatch: tables: processes peak=%zu of %zu (%.1f of %.1f MiB), "
		"incidents peak=%zu of %zu (%.1f of %.1f MiB)\n",
		l.procs_peak, l.procs_max, MIB(l.procs_peak_bytes), MIB(l.procs_max_bytes),
		l.incidents_peak, l.incidents_max, MIB(l.incidents_peak_bytes),
		MIB(l.incidents_max_bytes));
	fprintf(f,
		"mlwatch: limits: processes evicted_exited=%llu evicted_unmarked=%llu "
		"refused_full_of_marked=%llu strings_clipped=%llu alloc_failed=%llu, "
		"incidents evicted=%llu steps_cut=%llu context_dropped=%llu alloc_failed=%llu, "
		"written files forgotten=%llu\n",
		(unsigned long long)l.procs_evicted_exited,
		(unsigned long long)l.procs_evicted_unmarked, (unsigned long long)l.procs_refused,
		(unsigned long long)l.procs_clipped, (unsigned long long)l.procs_alloc_failed,
		(unsigned long long)l.incidents_evicted, (unsigned long long)l.incident_steps_cut,
		(unsigned long long)l.incident_context_dropped,
		(unsigned long long)l.incidents_alloc_failed,
		(unsigned long long)l.dropped_forgotten);
	if (l.procs_refused)
		fprintf(f,
			"mlwatch: WARNING: %llu processes went untracked: the process table was "
			"full of marked live processes (raise --max-procs)\n",
			(unsigned long long)l.procs_refused);
}

/* Identity's bounds and failures: records that went without their
 * container or pod, and why. */
static void report_identity(struct collector *c, FILE *f)
{
	const struct cgmap_stats *g = &c->cg.st;
	struct podwatch_stats ps;

	if (c->cg.buckets)
		fprintf(f,
			"mlwatch: cgroups: lookups=%llu unresolved=%llu deferred=%llu walks=%llu "
			"cut=%llu errors=%llu not_remembered=%llu expired=%llu untrusted=%zu "
			"peak=%zu of %zu, last walk %.1f ms, longest %.1f ms\n",
			(unsigned long long)g->lookups, (unsigned long long)g->unresolved,
			(unsigned long long)g->deferred, (unsigned long long)g->walks,
			(unsigned long long)g->walks_cut, (unsigned long long)g->walk_errors,
			(unsigned long long)g->full, (unsigned long long)g->expired, g->untrusted,
			g->peak, c->cg.max, (double)g->last_walk_ns / 1e6,
			(double)g->max_walk_ns / 1e6);
	if (!c->pods)
		return;
	podwatch_stats(c->pods, &ps);
	fprintf(f,
		"mlwatch: pods: lists=%llu list_errors=%llu watches=%llu watch_errors=%llu "
		"expired_410=%llu events=%llu bookmarks=%llu auth_errors=%llu bad=%llu "
		"too_large=%llu; cache live=%zu deleted=%zu peak=%zu lookups=%llu hits=%llu "
		"not_kept=%llu evicted=%llu expired=%llu labels_cut=%llu%s%s\n",
		(unsigned long long)ps.lists, (unsigned long long)ps.list_errors,
		(unsigned long long)ps.watches, (unsigned long long)ps.watch_errors,
		(unsigned long long)ps.expired, (unsigned long long)ps.events,
		(unsigned long long)ps.bookmarks, (unsigned long long)ps.auth_errors,
		(unsigned long long)ps.bad, (unsigned long long)ps.too_large, ps.cache.live,
		ps.cache.deleted, ps.cache.peak, (unsigned long long)ps.cache.lookups,
		(unsigned long long)ps.cache.hits, (unsigned long long)ps.cache.full,
		(unsigned long long)ps.cache.evicted, (unsigned long long)ps.cache.expired,
		(unsigned long long)ps.cache.labels_cut, ps.last_error[0] ? "; last error: " : "",
		ps.last_error);
	if (!ps.synced)
		fprintf(f, "mlwatch: WARNING: the pods of this node were never listed: records "
			   "lacked pod names, namespaces and labels\n");
}

void collector_report(struct collector *c, FILE *f)
{
	uint64_t cnt[MLW_CNT_MAX] = { 0 };
	uint64_t lost = 0, received = 0;

	for (int k = 1; k < MLW_EV_KIND_MAX; k++)
		received += c->st.events[k];
	if (c->sensors && c->sensors->skel)
		sensors_counters(c->sensors, cnt);
	for (int i = MLW_CNT_RB_FULL_EXEC; i <= MLW_CNT_RB_FULL_PYTHON; i++)
		lost += cnt[i];
	for (int i = MLW_CNT_SHED_EXEC; i <= MLW_CNT_SHED_PYTHON; i++)
		lost += cnt[i];
	fprintf(f,
		"mlwatch: events received %llu, alerts %llu, lost in kernel %llu, "
		"malformed %llu, alert write errors %llu\n",
		(unsigned long long)received, (unsigned long long)c->st.alerts,
		(unsigned long long)lost, (unsigned long long)c->st.decode_errors,
		(unsigned long long)(c->sink ? c->sink->failed : 0));
	fprintf(f, "mlwatch: kernel counters:");
	for (int i = 0; i < MLW_CNT_MAX; i++)
		fprintf(f, " %s=%llu", sensors_counter_name(i), (unsigned long long)cnt[i]);
	fprintf(f, "\nmlwatch: alerts collapsed into incident steps=%llu\n",
		(unsigned long long)c->st.alerts_collapsed);
	fprintf(f, "mlwatch: self-protection alerts=%llu repeats folded=%llu\n",
		(unsigned long long)c->self.alerts, (unsigned long long)c->self.folded);
	incident_report(&c->inc, f);
	if (c->inv)
		inventory_report(c->inv, f);
	fprintf(f,
		"mlwatch: models judged=%llu cached=%llu not-judged: unreadable=%llu "
		"network-or-fuse=%llu writers=%llu over-budget=%llu timed-out=%llu\n",
		(unsigned long long)c->judge.st.judged, (unsigned long long)c->judge.st.cached,
		(unsigned long long)c->judge.st.unreadable,
		(unsigned long long)c->judge.st.not_local, (unsigned long long)c->judge.st.writers,
		(unsigned long long)c->judge.st.over_budget,
		(unsigned long long)c->judge.st.timed_out);
	fprintf(f,
		"mlwatch: models may-run-code=%llu inert=%llu peer_reads=%llu, marks cleared=%llu set_by_user=%llu, "
		"alerts suppressed (data-only load)=%llu, steps recorded=%llu\n"
		"mlwatch: python find_class allowed=%llu allowed-here-flagged-by-kernel=%llu "
		"unsafe=%llu denied=%llu custom=%llu missed-by-kernel=%llu\n",
		(unsigned long long)c->st.models_confirmed, (unsigned long long)c->st.models_inert,
		(unsigned long long)c->st.peer_reads, (unsigned long long)c->st.marks_cleared,
		(unsigned long long)c->st.marks_set_by_user,
		(unsigned long long)c->st.alerts_suppressed_inert,
		(unsigned long long)c->st.steps_recorded, (unsigned long long)c->st.py_allowed,
		(unsigned long long)c->st.py_user_allowed, (unsigned long long)c->st.py_unsafe,
		(unsigned long long)c->st.py_denied, (unsigned long long)c->st.py_custom,
		(unsigned long long)c->st.py_kernel_missed);
	report_limits(c, f);
	report_identity(c, f);
}
