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
#include "detect/alert.h"
#include "detect/classify.h"
#include "detect/incident_step.h"
#include "detect/pathclass.h"
#include "detect/rules.h"
#include "output/incident_render.h"
#include "output/inventory_render.h"
#include "scan/model_inert.h"
#include "scan/scan_render.h"

/* More rules firing on one event than this is a rules bug, not an attack. */
#define MAX_RULES_PER_EVENT 16

static uint64_t clock_ns(clockid_t id)
{
	struct timespec ts;

	clock_gettime(id, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* Every incident record (new, update, closed) goes out here. */
static void write_incident(void *ctx, const struct incident *inc, enum incident_record st)
{
	struct collector *c = ctx;

	if (!c->sink)
		return;
	if (c->sink->json) {
		char *s = incident_to_json(inc, st, c->host, c->boot_to_real_ns);

		if (s)
			sink_line(c->sink, s);
		else
			c->sink->failed++;
		free(s);
	} else {
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
	if (gethostname(c->host, sizeof(c->host) - 1))
		snprintf(c->host, sizeof(c->host), "unknown");
	c->boot_to_real_ns = (int64_t)(clock_ns(CLOCK_REALTIME) - clock_ns(CLOCK_MONOTONIC));
	c->dropped = malloc(sizeof(*c->dropped));
	if (!c->dropped)
		return -1;
	dropped_init(c->dropped);
	judge_init(&c->judge);
	if (incident_table_init(&c->inc, &(struct incident_config){ .host = c->host,
								    .emit = write_incident,
								    .emit_ctx = c }))
		return -1;
	/* shells, downloaders and loaders by identity: a hard link under
	 * another name is still what it is */
	if (exeid_add_names(&c->exe, "", exec_known_programs) < 0)
		return -1;
	return proctable_init(&c->pt);
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
	if (c->sink)
		sink_alert(c->sink, &a);
	c->st.alerts++;
	return true;
}

/* A finished inventory record: its alerts (a blocklisted model, a bad scan
 * verdict) go to the alert output, the record itself to --inventory and to
 * a JSON output. */
static void inv_emit(const struct inv_record *r, void *ctx)
{
	struct collector *c = ctx;
	struct proc *p = r->scan.done ? proctable_get(&c->pt, r->pid) : NULL;

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
		if (!(r->alerts & bit) || !c->sink)
			continue;
		if (c->sink->json) {
			cJSON *j = inv_alert_to_json(r, bit);
			char *line = j ? cJSON_PrintUnformatted(j) : NULL;

			if (line)
				sink_line(c->sink, line);
			else
				c->sink->failed++;
			free(line);
			cJSON_Delete(j);
		} else {
			char buf[8192];

			inv_alert_to_text(r, bit, buf, sizeof(buf));
			sink_line(c->sink, buf);
		}
		c->st.alerts++;
	}
	if (!r->complete)
		return;
	if (c->inv_sink_open || (c->sink && c->sink->json)) {
		cJSON *j = inv_record_to_json(r);
		char *line = j ? cJSON_PrintUnformatted(j) : NULL;

		if (line && c->inv_sink_open)
			sink_line(&c->inv_sink, line);
		if (line && c->sink && c->sink->json)
			sink_line(c->sink, line);
		free(line);
		cJSON_Delete(j);
	}
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
	c->inv = inventory_new(&io, err, sizeof(err));
	if (!c->inv) {
		fprintf(stderr, "mlwatch: starting the model inventory failed: %s\n", err);
		return MLW_EXIT_FAILURE;
	}
	return MLW_EXIT_OK;
}

void collector_poll_inventory(struct collector *c)
{
	if (c->inv)
		inventory_poll(c->inv, inv_emit, c);
}

void collector_free(struct collector *c)
{
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
}

static void count_live(struct proc *p, void *ctx)
{
	if (!p->exited)
		++*(size_t *)ctx;
}

/* The last process of a lineage exited: its incident, if any, closes. */
static void lineage_maybe_gone(struct collector *c, uint32_t loader, uint64_t mark_ns, uint64_t ts)
{
	size_t live = 0;

	if (!loader || !incident_find(&c->inc, loader, mark_ns))
		return;
	proctable_for_lineage(&c->pt, loader, mark_ns, count_live, &live);
	if (live == 0)
		incident_lineage_exited(&c->inc, loader, mark_ns, ts);
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
	struct proc *p = proctable_add(&c->pt, ev->hdr.tgid, &created);
	char buf[PATH_MAX];

	if (!p)
		return NULL;
	if (created || p->exited) {
		if (!created)
			proctable_reset(p);
		p->parent = ev->hdr.ppid;
		p->loader = ev->hdr.mark.loader_tgid;
		p->mark_ns = ev->hdr.mark.mark_ns;
		memcpy(p->comm, ev->comm, sizeof(p->comm));
		if (procfs_exe((pid_t)p->pid, buf, sizeof(buf)) == 0)
			proctable_set_exe(p, buf);
		else
			proctable_set_exe(p, ev->comm);
		{
			char args[MLW_ARGS_MAX];
			bool trunc;
			long n = procfs_cmdline((pid_t)p->pid, args, sizeof(args), &trunc);

			if (n > 0)
				proctable_set_args(p, args, (size_t)n, trunc);
		}
	}
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

	if (!p || (m->reason & (MLW_MARK_ROOT | MLW_MARK_PAYLOAD)) || p->mark_ns != m->mark_ns)
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
		proctable_reset(p);
	p = ensure_proc(c, ev);
	if (p) {
		p->loader = m.loader_tgid;
		p->mark_ns = m.mark_ns;
		proctable_set_exe(p, ev->path);
	}
}

static void handle_model_open(struct collector *c, const struct event *ev, const struct facts *fa)
{
	const struct mlw_hdr *h = &ev->hdr;
	struct inert_verdict v;
	struct proc *p;

	if (ev->u.open->ret < 0)
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
		p->loader = h->mark.loader_tgid;
		p->mark_ns = h->mark.mark_ns;
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
	proctable_set_model(p, ev->path, fa->real_path[0] ? fa->real_path : fa->resolved_path,
			    v.format, h->ts_ns);
	if (c->opt->verbose)
		fprintf(stderr, "model pid=%u models=%u format=%s %s%s\n", h->tgid, h->mark.models,
			model_format_name(v.format),
			v.inert ? "inert: " : "may run code: ", v.inert ? v.kind : v.why);
	/* Only a process's own model opens, all of them proven data, and only
	 * a mark that is a model's alone (a control-plane root stays watched,
	 * and so does the payload's own lineage). */
	if (v.inert && h->mark.models && h->mark.loader_tgid == h->tgid &&
	    !(h->mark.reason & (MLW_MARK_ROOT | MLW_MARK_PAYLOAD)) &&
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
			p->loader = h->tgid;
			p->mark_ns = h->ts_ns;
		}
	}
}

static void handle_fork(struct collector *c, const struct event *ev)
{
	const struct proc *parent = ensure_proc(c, ev);
	bool created;
	struct proc *child = proctable_add(&c->pt, ev->u.fork->child_tgid, &created);

	if (!child)
		return;
	if (!created)
		proctable_reset(child); /* pid reuse */
	child->parent = ev->hdr.tgid;
	child->loader = ev->hdr.mark.loader_tgid;
	child->mark_ns = ev->hdr.mark.mark_ns;
	child->forked_at = ev->hdr.mark.models;
	memcpy(child->comm, ev->comm, sizeof(child->comm));
	if (parent) {
		proctable_set_exe(child, parent->exe);
		if (parent->args)
			proctable_set_args(child, parent->args, parent->args_len,
					   parent->args_truncated);
	}
}

static void handle_exec(struct collector *c, const struct event *ev, const struct facts *fa)
{
	struct proc *p = ensure_proc(c, ev);
	char args[MLW_ARGS_MAX + 1];
	size_t n = 0;

	if (!p)
		return;
	memcpy(p->comm, ev->comm, sizeof(p->comm));
	proctable_set_exe(p, fa->resolved_path[0] ? fa->resolved_path : ev->path);
	for (size_t i = 0; i < ev->argc; i++) {
		size_t l = strlen(ev->argv[i]) + 1;

		if (n + l > sizeof(args))
			break;
		memcpy(args + n, ev->argv[i], l);
		n += l;
	}
	proctable_set_args(p, args, n, ev->args_truncated);
}

static void raise_alerts(struct collector *c, const struct event *ev, const struct facts *fa)
{
	const struct rule *hits[MAX_RULES_PER_EVENT];
	uint32_t loader_pid = ev->hdr.mark.loader_tgid;
	const struct proc *loader;
	struct alert a;
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
		sink_alert(c->sink, &a);
		c->st.alerts++;
	}
}

static void verbose_event(const struct event *ev, const struct facts *fa)
{
	fprintf(stderr, "event %s pid=%u tid=%u ppid=%u comm=%s loader=%u depth=%u path=%s",
		event_kind_name(ev->kind), ev->hdr.tgid, ev->hdr.tid, ev->hdr.ppid, ev->comm,
		ev->hdr.mark.loader_tgid, ev->hdr.mark.depth,
		fa->resolved_path[0] ? fa->resolved_path : (ev->path ? ev->path : "-"));
	if (fa->address[0])
		fprintf(stderr, " address=%s port=%u%s", fa->address, fa->port,
			ev->hdr.flags & MLW_F_IN_LOAD ? " during-load" : "");
	fprintf(stderr, "\n");
}

int collector_handle(void *ctx, void *data, size_t size)
{
	struct collector *c = ctx;
	static struct event ev; /* large; one record at a time */
	struct facts fa;
	const char *why;

	if (event_decode(data, size, &ev, &why)) {
		if (c->st.decode_errors++ < 10)
			fprintf(stderr, "mlwatch: dropped a malformed record (%zu bytes): %s\n",
				size, why);
		return 0;
	}
	c->st.events[ev.kind]++;
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

		if (p) {
			p->exited = true;
			p->exit_ns = ev.hdr.ts_ns;
		}
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
	default:
		break;
	}
	raise_alerts(c, &ev, &fa);
	/* After handling: libbpf consumes the record whatever the callback
	 * returns, and an error only stops the loop. */
	return c->stop && *c->stop ? -EINTR : 0;
}

void collector_tick(struct collector *c)
{
	uint64_t now = clock_ns(CLOCK_MONOTONIC);

	proctable_expire(&c->pt, now);
	incident_tick(&c->inc, now); /* records the rate limits held back */
}

void collector_finish(struct collector *c)
{
	if (c->inv)
		inventory_flush(c->inv, inv_emit, c);
	incident_close_all(&c->inc, clock_ns(CLOCK_MONOTONIC));
}

void collector_report(struct collector *c, FILE *f)
{
	uint64_t cnt[MLW_CNT_MAX] = { 0 };
	uint64_t lost = 0, received = 0;

	for (int k = 1; k < MLW_EV_KIND_MAX; k++)
		received += c->st.events[k];
	if (c->sensors && c->sensors->skel)
		sensors_counters(c->sensors, cnt);
	for (int i = MLW_CNT_RB_FULL_EXEC; i <= MLW_CNT_RB_FULL_SOCKET; i++)
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
		"process table full=%llu evicted=%llu, alerts suppressed (data-only load)=%llu, steps recorded=%llu\n",
		(unsigned long long)c->st.models_confirmed, (unsigned long long)c->st.models_inert,
		(unsigned long long)c->st.peer_reads, (unsigned long long)c->st.marks_cleared,
		(unsigned long long)c->st.marks_set_by_user, (unsigned long long)c->pt.full,
		(unsigned long long)c->pt.evicted,
		(unsigned long long)c->st.alerts_suppressed_inert,
		(unsigned long long)c->st.steps_recorded);
}
