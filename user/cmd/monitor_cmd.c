/* The monitor: load the sensors, run the pipeline on their records until
 * SIGINT or SIGTERM, reload the rules on SIGHUP. */
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "monitor_cmd.h"
#include "config/options.h"
#include "config/outputs_conf.h"
#include "detect/rulefile.h"
#include "forward/fanout.h"
#include "metrics/metrics_server.h"
#include "output/sink.h"
#include "pipeline/collector.h"
#include "pipeline/collector_metrics.h"
#include "pipeline/seed.h"
#include "sense/pyprobe.h"
#include "sense/sensors.h"

/* Latency bound for records the kernel sends without a wakeup. */
#define POLL_TIMEOUT_MS 50
/* At exit, the outputs get this long to deliver; the rest stays spooled. */
#define FORWARD_DRAIN_MS 2000

static volatile sig_atomic_t stop, reload;

static void on_signal(int sig)
{
	if (sig == SIGHUP)
		reload = 1;
	else
		stop = 1;
}

/* Loads opt->rules_file over the built-ins; errors are printed, each
 * naming the option, the file, the rule and field. */
static struct ruleset *load_rules(const struct options *o)
{
	struct rule_errors re;
	struct ruleset *rs = NULL;

	rule_errors_init(&re);
	if (ruleset_load(o->rules_file, &rs, &re)) {
		for (size_t i = 0; i < re.n; i++)
			fprintf(stderr, "mlwatch: --rules: %s\n", re.msgs[i]);
		if (re.dropped)
			fprintf(stderr, "mlwatch: --rules: ... and %zu more errors\n", re.dropped);
		rs = NULL;
	}
	rule_errors_free(&re);
	return rs;
}

/* SIGHUP: a new set replaces the old in one store, or the old one stays. */
static void reload_rules(struct collector *c, const struct options *o)
{
	struct ruleset *rs;

	reload = 0;
	rs = load_rules(o);
	if (!rs) {
		fprintf(stderr,
			"mlwatch: SIGHUP: %s cannot be loaded; keeping the rules in force\n",
			o->rules_file ? o->rules_file : "(built-ins)");
		return;
	}
	ruleset_free((struct ruleset *)c->rules);
	c->rules = rs;
	fprintf(stderr, "mlwatch: SIGHUP: reloaded %zu rules from %s\n", rs->n_rules,
		o->rules_file ? o->rules_file : "(built-ins)");
}

/* --outputs: checked, spools opened and senders started before the
 * sensors, so that nothing they see misses the outputs. */
static int start_forwarding(struct collector *c, const struct options *o, struct outputs_conf *conf,
			    struct fanout **fwd)
{
	char err[1024];

	if (!o->outputs_file)
		return MLW_EXIT_OK;
	if (outputs_conf_load(o->outputs_file, conf, err, sizeof(err))) {
		fprintf(stderr, "mlwatch: --outputs: %s\n", err);
		return MLW_EXIT_USAGE;
	}
	*fwd = fanout_start(conf, c->host, err, sizeof(err));
	if (!*fwd) {
		fprintf(stderr, "mlwatch: --outputs: %s\n", err);
		return MLW_EXIT_OUTPUT;
	}
	if (collector_forward(c, *fwd)) {
		fprintf(stderr, "mlwatch: out of memory\n");
		return MLW_EXIT_FAILURE;
	}
	for (size_t i = 0; i < conf->n; i++) {
		const struct output_conf *oc = &conf->v[i];
		struct fwd_stats st;

		fanout_stats(*fwd, i, &st);
		if (oc->token && oc->proto == PROTO_HTTP)
			fprintf(stderr,
				"mlwatch: warning: output %s sends its token over plain http://; "
				"anyone on the path can read it (use https://)\n",
				oc->name);
		/* host and port only: a URL's query may hold a secret */
		fprintf(stderr, "mlwatch: forwarding to %s: %s, %s, %s%s%s; spool %s%s\n", oc->name,
			out_type_name(oc->type), out_format_name(oc->format),
			oc->type == OUT_FILE ? oc->path : oc->host, oc->port ? ":" : "",
			oc->port ? oc->port : "", oc->spool_dir,
			st.spool_recovered ? " (records from an earlier run waiting)" : "");
	}
	return MLW_EXIT_OK;
}

/* --metrics-addr: listening before the sensors load, so that /healthz
 * answers while they attach and /readyz says when they are. */
static int start_metrics(struct collector *c, const struct options *o, struct metrics_server **m)
{
	char err[256];

	if (!o->metrics_on)
		return MLW_EXIT_OK;
	*m = metrics_server_start(&o->metrics_addr, err, sizeof(err));
	if (!*m) {
		fprintf(stderr, "mlwatch: --metrics-addr: %s\n", err);
		return MLW_EXIT_OUTPUT;
	}
	if (collector_metrics_attach(c, *m)) {
		fprintf(stderr, "mlwatch: out of memory\n");
		return MLW_EXIT_FAILURE;
	}
	fprintf(stderr, "mlwatch: metrics at http://%s/metrics, /healthz, /readyz\n",
		o->metrics_addr.text);
	return MLW_EXIT_OK;
}

/* Before the collector goes: no more snapshots, the endpoint closed. */
static void stop_metrics(struct collector *c, struct metrics_server *m)
{
	collector_metrics_detach(c);
	metrics_server_stop(m);
}

/* The outputs' counters, at exit. */
static void report_forwarding(struct fanout *f, FILE *out)
{
	for (size_t i = 0; i < fanout_count(f); i++) {
		struct fwd_stats st;

		fanout_stats(f, i, &st);
		fprintf(out,
			"mlwatch: output %s: %llu submitted, %llu delivered, %llu retries, "
			"%llu rejected, %llu dropped (queue %llu, spool %llu), %llu unrenderable, "
			"%llu left spooled%s%s\n",
			st.name, (unsigned long long)st.submitted, (unsigned long long)st.delivered,
			(unsigned long long)st.retries, (unsigned long long)st.rejected,
			(unsigned long long)(st.queue_dropped + st.spool_dropped),
			(unsigned long long)st.queue_dropped, (unsigned long long)st.spool_dropped,
			(unsigned long long)st.render_errors, (unsigned long long)st.spool_records,
			st.last_error[0] ? "; last error: " : "", st.last_error);
	}
}

/* The collector's view of the Python probes (pipeline/ may not call sense/
 * back through the sensors it was given). */
static void py_allow_global(void *ctx, const char *module, const char *name)
{
	pyprobe_allow_global(((struct sensors *)ctx)->py, module, name);
}

static const char *py_interp_name(void *ctx, uint32_t idx)
{
	static char name[PATH_MAX + 32]; /* the collector is one thread */
	struct pyprobe_interp_info in;

	if (!pyprobe_interp(((struct sensors *)ctx)->py, idx, &in))
		return NULL;
	snprintf(name, sizeof(name), "%s (%u.%u, %s)", in.path, in.major, in.minor,
		 in.how == PYPROBE_USDT ? "usdt" : "uprobe");
	return name;
}

int monitor_cmd(int argc, char **argv)
{
	static struct options opt;
	struct sigaction sa = { .sa_handler = on_signal };
	struct sensors sensors;
	struct collector col;
	struct sink sink;
	struct outputs_conf outs = { 0 };
	struct fanout *fwd = NULL;
	struct metrics_server *msrv = NULL;
	struct seed_stats seed;
	int rc;

	switch (options_parse(&opt, argc, argv)) {
	case OPTIONS_EXIT_OK:
		return MLW_EXIT_OK;
	case OPTIONS_EXIT_USAGE:
		return MLW_EXIT_USAGE;
	default:
		break;
	}
	/* before any output thread starts: a closed peer is counted, not fatal */
	signal(SIGPIPE, SIG_IGN);
	if (sink_open(&sink, opt.output, opt.json))
		return MLW_EXIT_OUTPUT;
	if (collector_init(&col, &opt, &sensors, &sink)) {
		fprintf(stderr, "mlwatch: out of memory\n");
		return MLW_EXIT_FAILURE;
	}
	col.stop = &stop;
	collector_set_py_hooks(&col, &(struct collector_py_hooks){ .ctx = &sensors,
								   .allow_global = py_allow_global,
								   .interp_name = py_interp_name });
	col.rules = load_rules(&opt);
	if (!col.rules) {
		collector_free(&col);
		sink_close(&sink);
		return MLW_EXIT_USAGE;
	}
	if ((rc = start_forwarding(&col, &opt, &outs, &fwd)) ||
	    (rc = collector_start_inventory(&col)) || (rc = collector_start_identity(&col)) ||
	    (rc = start_metrics(&col, &opt, &msrv))) {
		stop_metrics(&col, msrv);
		fanout_stop(fwd, 0);
		fanout_free(fwd);
		outputs_conf_free(&outs);
		ruleset_free((struct ruleset *)col.rules);
		collector_free(&col);
		sink_close(&sink);
		return rc;
	}
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	signal(SIGIO, SIG_IGN); /* a writer breaking a judge's lease (judge.h) */

	rc = sensors_start(&sensors, &opt, col.rules, collector_handle, &col);
	if (rc) {
		stop_metrics(&col, msrv);
		sensors_stop(&sensors);
		fanout_stop(fwd, 0);
		fanout_free(fwd);
		outputs_conf_free(&outs);
		ruleset_free((struct ruleset *)col.rules);
		collector_free(&col);
		sink_close(&sink);
		return rc;
	}
	fprintf(stderr, "mlwatch: %d sensors attached, %d skipped; opens matched at %s\n",
		sensors.n_attached, sensors.n_skipped,
		sensors.open_match_at_exit ? "exit" : "entry");
	if (sensors.plan.n_rules)
		fprintf(stderr, "mlwatch: enforcing %zu rules in the kernel (SIGKILL)\n",
			sensors.plan.n_rules);
	fprintf(stderr,
		"mlwatch: room for %u marked processes; a quarter of the %u MiB ring buffer kept for what marked processes do\n",
		sensors.max_marks, opt.ringbuf_mb);
	collector_print_bounds(&col, stderr);
	/* attached first: what forks or opens from now on is the kernel's */
	if (seed_run(&col, SEED_TIME_MS, &seed))
		fprintf(stderr,
			"mlwatch: WARNING: cannot list /proc (%s): processes already running are not "
			"watched\n",
			strerror(errno));
	else
		seed_print(&seed, stderr);
	/* ready once what ran before is marked too */
	metrics_server_set_ready(msrv);
	fprintf(stderr, "mlwatch: ready\n");

	while (!stop) {
		/* Batched records (plain opens) wait at most this long. */
		int err = sensors_poll(&sensors, POLL_TIMEOUT_MS);

		if (err < 0 && err != -EINTR) {
			fprintf(stderr, "mlwatch: reading the ring buffer failed: %s\n",
				strerror(-err));
			rc = MLW_EXIT_FAILURE;
			break;
		}
		if (reload)
			reload_rules(&col, &opt);
		collector_poll_inventory(&col);
		collector_tick(&col); /* once a second, however often called */
	}
	stop_metrics(&col, msrv); /* no snapshots while stopping */
	/* No new records once detached, so the drain ends; nothing sent before
	 * the signal is left unread. */
	sensors_detach(&sensors);
	col.stop = NULL;
	sensors_poll(&sensors, 0);
	collector_finish(&col);
	fanout_stop(fwd, FORWARD_DRAIN_MS);
	collector_report(&col, stderr);
	pyprobe_report(sensors.py, stderr);
	report_forwarding(fwd, stderr);
	sensors_stop(&sensors);
	ruleset_free((struct ruleset *)col.rules);
	collector_free(&col);
	fanout_free(fwd);
	outputs_conf_free(&outs);
	sink_close(&sink);
	return rc;
}
