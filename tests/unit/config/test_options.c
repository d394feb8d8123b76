#include "check.h"
#include "collect/proctable.h"
#include "config/options.h"
#include "detect/incident.h"

static enum options_result parse(struct options *o, int argc, const char **argv)
{
	extern int optind;

	optind = 1; /* getopt_long keeps state between calls */
	return options_parse(o, argc, (char **)argv);
}

static void test_defaults(void)
{
	struct options o;
	const char *argv[] = { "mlwatch" };

	CHECK(parse(&o, 1, argv) == OPTIONS_RUN);
	CHECK(!o.json && o.output == NULL && o.ringbuf_mb == 16 && o.hex_blobs);
	CHECK(o.open_match == OPEN_MATCH_AUTO);
	CHECK(o.net.n > 5 && !o.net.user_set);
}

static void test_all_options(void)
{
	struct options o;
	const char *argv[] = { "mlwatch",
			       "--json",
			       "-o",
			       "/tmp/x",
			       "--internal-net",
			       "10.0.0.0/8",
			       "--internal-net",
			       "fd00::/8",
			       "--model-ext",
			       ".mdl",
			       "--ringbuf-mb",
			       "64",
			       "--no-hex-blobs",
			       "-v",
			       "--open-match",
			       "entry" };

	CHECK(parse(&o, 16, argv) == OPTIONS_RUN);
	CHECK(o.open_match == OPEN_MATCH_ENTRY);
	CHECK(o.json && o.verbose && !o.hex_blobs);
	CHECK_STR(o.output, "/tmp/x");
	CHECK(o.net.n == 2 && o.net.user_set);
	CHECK(o.n_extra_exts == 1);
	CHECK_STR(o.extra_exts[0], "mdl");
	CHECK(o.ringbuf_mb == 64);
}

static void test_bad_values_refused(void)
{
	struct options o;
	const char *a1[] = { "mlwatch", "--internal-net", "10.0.0.0/33" };
	const char *a2[] = { "mlwatch", "--ringbuf-mb", "3" };
	const char *a3[] = { "mlwatch", "--ringbuf-mb", "16x" };
	const char *a4[] = { "mlwatch", "--model-ext", "a/b" };
	const char *a5[] = { "mlwatch", "stray" };
	const char *a6[] = { "mlwatch", "--no-such-option" };
	const char *a7[] = { "mlwatch", "--open-match", "both" };

	CHECK(parse(&o, 3, a1) == OPTIONS_EXIT_USAGE);
	CHECK(parse(&o, 3, a2) == OPTIONS_EXIT_USAGE);
	CHECK(parse(&o, 3, a3) == OPTIONS_EXIT_USAGE);
	CHECK(parse(&o, 3, a4) == OPTIONS_EXIT_USAGE);
	CHECK(parse(&o, 2, a5) == OPTIONS_EXIT_USAGE);
	CHECK(parse(&o, 2, a6) == OPTIONS_EXIT_USAGE);
	CHECK(parse(&o, 3, a7) == OPTIONS_EXIT_USAGE);
}

static enum options_result parse_one(struct options *o, const char *opt, const char *val)
{
	const char *argv[] = { "mlwatch", opt, val };

	return parse(o, 3, argv);
}

/* The table bounds: defaults, values taken, out of range clamped (with a
 * warning), garbage refused. */
static void test_bounds_parse_and_clamp(void)
{
	static const char *const bad[] = { "", "abc", "12x", "0", "-5", "+7", " 9", "1e6" };
	struct options o;
	const char *none[] = { "mlwatch" };

	CHECK(parse(&o, 1, none) == OPTIONS_RUN);
	CHECK(o.max_procs == PROCTABLE_DEF_MAX && o.max_incidents == INCIDENT_MAX_OPEN);
	CHECK(parse_one(&o, "--max-procs", "5000") == OPTIONS_RUN && o.max_procs == 5000);
	CHECK(parse_one(&o, "--max-procs", "10") == OPTIONS_RUN &&
	      o.max_procs == PROCTABLE_MIN_MAX);
	CHECK(parse_one(&o, "--max-procs", "99999999") == OPTIONS_RUN &&
	      o.max_procs == PROCTABLE_MAX_MAX);
	CHECK(parse_one(&o, "--max-procs", "999999999999999999999999") == OPTIONS_RUN &&
	      o.max_procs == PROCTABLE_MAX_MAX);
	CHECK(parse_one(&o, "--max-incidents", "100") == OPTIONS_RUN && o.max_incidents == 100);
	CHECK(parse_one(&o, "--max-incidents", "3") == OPTIONS_RUN &&
	      o.max_incidents == INCIDENT_MIN_OPEN);
	CHECK(parse_one(&o, "--max-incidents", "1000000") == OPTIONS_RUN &&
	      o.max_incidents == INCIDENT_MAX_OPEN_MAX);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		CHECK(parse_one(&o, "--max-procs", bad[i]) == OPTIONS_EXIT_USAGE);
		CHECK(parse_one(&o, "--max-incidents", bad[i]) == OPTIONS_EXIT_USAGE);
	}
}

/* What the tables do with the bounds they are given: a zeroed options
 * struct (0) takes the defaults, and the tables clamp on their own too. */
static void test_tables_take_bounds(void)
{
	struct proctable pt;
	struct incident_table t;

	CHECK(proctable_init(&pt, 0) == 0 && pt.max == PROCTABLE_DEF_MAX);
	proctable_free(&pt);
	CHECK(proctable_init(&pt, 1) == 0 && pt.max == PROCTABLE_MIN_MAX);
	proctable_free(&pt);
	CHECK(incident_table_init(&t, NULL) == 0 && t.cfg.max_open == INCIDENT_MAX_OPEN);
	incident_table_free(&t);
	CHECK(incident_table_init(&t, &(struct incident_config){ .max_open = 1u << 30 }) == 0 &&
	      t.cfg.max_open == INCIDENT_MAX_OPEN_MAX);
	incident_table_free(&t);
}

/* The inventory's volume limits: defaults, values, and what is refused. */
static void test_inventory_volume_options(void)
{
	struct options o;
	const char *def[] = { "mlwatch" };
	const char *set[] = { "mlwatch", "--inventory-window", "0",   "--inventory-rate",
			      "7",       "--hash-max-gib",     "1024" };
	const char *bad[][3] = {
		{ "mlwatch", "--inventory-rate", "0" },
		{ "mlwatch", "--inventory-rate", "5x" },
		{ "mlwatch", "--inventory-rate", "100001" },
		{ "mlwatch", "--inventory-window", "-1" },
		{ "mlwatch", "--inventory-window", "86401" },
		{ "mlwatch", "--hash-max-gib", "0" },
		{ "mlwatch", "--hash-max-gib", "" },
		{ "mlwatch", "--hash-max-gib", " 5" },
	};

	CHECK(parse(&o, 1, def) == OPTIONS_RUN);
	CHECK(o.inventory_window_s == 60 && o.inventory_rate == 50 && o.hash_max_gib == 64);
	CHECK(parse(&o, 7, set) == OPTIONS_RUN);
	CHECK(o.inventory_window_s == 0 && o.inventory_rate == 7 && o.hash_max_gib == 1024);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		CHECK(parse(&o, 3, bad[i]) == OPTIONS_EXIT_USAGE);
}

/* --outputs only stores the path: the file is read by the monitor. */
static void test_outputs_option(void)
{
	struct options o;
	const char *def[] = { "mlwatch" };
	const char *set[] = { "mlwatch", "--outputs", "/etc/mlwatch/outputs.json" };
	const char *missing[] = { "mlwatch", "--outputs" };

	CHECK(parse(&o, 1, def) == OPTIONS_RUN && o.outputs_file == NULL);
	CHECK(parse(&o, 3, set) == OPTIONS_RUN);
	CHECK_STR(o.outputs_file, "/etc/mlwatch/outputs.json");
	CHECK(parse(&o, 2, missing) == OPTIONS_EXIT_USAGE);
}

int main(void)
{
	RUN(test_defaults);
	RUN(test_all_options);
	RUN(test_bad_values_refused);
	RUN(test_bounds_parse_and_clamp);
	RUN(test_tables_take_bounds);
	RUN(test_inventory_volume_options);
	RUN(test_outputs_option);
	return CHECK_DONE();
}
