/* The monitor: load the sensors, run the pipeline on their records until
 * SIGINT or SIGTERM, reload the rules on SIGHUP. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "monitor_cmd.h"
#include "config/options.h"
#include "detect/rulefile.h"
#include "output/sink.h"
#include "pipeline/collector.h"
#include "sense/sensors.h"

/* Latency bound for records the kernel sends without a wakeup. */
#define POLL_TIMEOUT_MS 50

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

int monitor_cmd(int argc, char **argv)
{
	static struct options opt;
	struct sigaction sa = { .sa_handler = on_signal };
	struct sensors sensors;
	struct collector col;
	struct sink sink;
	int rc;

	switch (options_parse(&opt, argc, argv)) {
	case OPTIONS_EXIT_OK:
		return MLW_EXIT_OK;
	case OPTIONS_EXIT_USAGE:
		return MLW_EXIT_USAGE;
	default:
		break;
	}
	if (sink_open(&sink, opt.output, opt.json))
		return MLW_EXIT_OUTPUT;
	if (collector_init(&col, &opt, &sensors, &sink)) {
		fprintf(stderr, "mlwatch: out of memory\n");
		return MLW_EXIT_FAILURE;
	}
	col.stop = &stop;
	col.rules = load_rules(&opt);
	if (!col.rules) {
		collector_free(&col);
		sink_close(&sink);
		return MLW_EXIT_USAGE;
	}
	if ((rc = collector_start_inventory(&col))) {
		ruleset_free((struct ruleset *)col.rules);
		collector_free(&col);
		sink_close(&sink);
		return rc;
	}
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	signal(SIGPIPE, SIG_IGN); /* a closed output is counted, not fatal */
	signal(SIGIO, SIG_IGN);   /* a writer breaking a judge's lease (judge.h) */

	rc = sensors_start(&sensors, &opt, col.rules, collector_handle, &col);
	if (rc) {
		sensors_stop(&sensors);
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
	/* No new records once detached, so the drain ends; nothing sent before
	 * the signal is left unread. */
	sensors_detach(&sensors);
	col.stop = NULL;
	sensors_poll(&sensors, 0);
	collector_finish(&col);
	collector_report(&col, stderr);
	sensors_stop(&sensors);
	ruleset_free((struct ruleset *)col.rules);
	collector_free(&col);
	sink_close(&sink);
	return rc;
}
