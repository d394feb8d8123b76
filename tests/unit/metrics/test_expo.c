/* The Prometheus text format: names, families, escaping, bounds. */
#include <stdlib.h>
#include "check.h"
#include "metrics/expo.h"

#define L(...) ((const char *const[]){ __VA_ARGS__, NULL })

static void test_counter_and_gauge(void)
{
	struct expo e;

	expo_init(&e, 1 << 20);
	expo_family(&e, "mlwatch_events_total", EXPO_COUNTER, "Records, by kind.");
	expo_u64(&e, L("kind", "exec"), 18446744073709551615ull);
	expo_u64(&e, NULL, 0);
	expo_family(&e, "mlwatch_last_event_timestamp_seconds", EXPO_GAUGE, "Unix time.");
	expo_f64(&e, NULL, 1700000000.25);
	CHECK_STR(e.buf, "# HELP mlwatch_events_total Records, by kind.\n"
			 "# TYPE mlwatch_events_total counter\n"
			 "mlwatch_events_total{kind=\"exec\"} 18446744073709551615\n"
			 "mlwatch_events_total 0\n"
			 "# HELP mlwatch_last_event_timestamp_seconds Unix time.\n"
			 "# TYPE mlwatch_last_event_timestamp_seconds gauge\n"
			 "mlwatch_last_event_timestamp_seconds 1700000000.250\n");
	CHECK(e.errors == 0);
	expo_free(&e);
}

/* \\, \" and \n in label values; \\ and \n in HELP; bytes that are not
 * UTF-8 become U+FFFD. */
static void test_escaping(void)
{
	struct expo e;

	expo_init(&e, 1 << 20);
	expo_family(&e, "a_total", EXPO_COUNTER, "back\\slash\nnew \"line\"");
	expo_u64(&e, L("rule", "x\"} 1\nevil_total 9\n#", "sev", "a\\b"), 1);
	expo_u64(&e, L("rule", "caf\xc3\xa9 \xff\xc3(\xed\xa0\x80\xf4\x90\x80\x80"), 2);
	CHECK_STR(e.buf, "# HELP a_total back\\\\slash\\nnew \"line\"\n"
			 "# TYPE a_total counter\n"
			 "a_total{rule=\"x\\\"} 1\\nevil_total 9\\n#\",sev=\"a\\\\b\"} 1\n"
			 "a_total{rule=\"caf\xc3\xa9 \xef\xbf\xbd\xef\xbf\xbd(\xef\xbf\xbd"
			 "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd"
			 "\"} 2\n");
	CHECK(e.errors == 0);
	expo_free(&e);
}

static void test_names(void)
{
	CHECK(expo_metric_name_ok("mlwatch_events_total"));
	CHECK(expo_metric_name_ok("a:b_c9"));
	CHECK(expo_metric_name_ok("_x"));
	CHECK(!expo_metric_name_ok(""));
	CHECK(!expo_metric_name_ok("9a"));
	CHECK(!expo_metric_name_ok("a-b"));
	CHECK(!expo_metric_name_ok("a b"));
	CHECK(!expo_metric_name_ok("a{b}"));
	CHECK(expo_label_name_ok("kind"));
	CHECK(expo_label_name_ok("_k9"));
	CHECK(!expo_label_name_ok("__name__"));
	CHECK(!expo_label_name_ok("a:b"));
	CHECK(!expo_label_name_ok("1a"));
	CHECK(!expo_label_name_ok(""));
}

/* What the format would refuse is never written, and counted. */
static void test_refused(void)
{
	struct expo e;

	expo_init(&e, 1 << 20);
	expo_u64(&e, NULL, 1); /* before any family */
	CHECK(e.errors == 1 && e.len == 0);
	expo_family(&e, "events", EXPO_COUNTER, "no _total"); /* a counter needs it */
	expo_family(&e, "events_total", EXPO_GAUGE, "a gauge must not have it");
	expo_family(&e, "bad-name", EXPO_GAUGE, "");
	CHECK(e.errors == 4 && e.len == 0);
	expo_u64(&e, NULL, 1); /* the failed family takes no samples */
	CHECK(e.errors == 5 && e.len == 0);
	expo_family(&e, "ok", EXPO_GAUGE, "h");
	expo_u64(&e, L("bad-label", "v"), 1);
	expo_u64(&e, L("__name__", "v"), 1);
	expo_u64(&e, L("a", "1", "a", "2"), 1); /* a label twice */
	expo_u64(&e, L("a", NULL), 1);          /* a name without a value */
	CHECK(e.errors == 9);
	expo_u64(&e, L("a", ""), 1);
	CHECK(e.errors == 9);
	expo_family(&e, "ok", EXPO_GAUGE, "twice"); /* a family twice */
	CHECK(e.errors == 10);
	expo_u64(&e, NULL, 3);
	CHECK(e.errors == 11);
	CHECK_STR(e.buf, "# HELP ok h\n# TYPE ok gauge\nok{a=\"\"} 1\n");
	expo_free(&e);
}

static void test_values(void)
{
	struct expo e;

	expo_init(&e, 1 << 20);
	expo_family(&e, "g", EXPO_GAUGE, "h");
	expo_f64(&e, NULL, 0.0 / 0.0);
	expo_f64(&e, NULL, 1.0 / 0.0);
	expo_f64(&e, NULL, -1.0 / 0.0);
	expo_f64(&e, NULL, 1e300);
	expo_f64(&e, NULL, -2.5);
	CHECK_STR(e.buf, "# HELP g h\n# TYPE g gauge\ng NaN\ng +Inf\ng -Inf\n"
			 "g 1.0000000000000001e+300\ng -2.500\n");
	expo_free(&e);
}

/* Past its bound the text keeps whole lines only. */
static void test_bound(void)
{
	struct expo e;
	size_t before;

	expo_init(&e, 64);
	expo_family(&e, "g", EXPO_GAUGE, "h");
	before = e.len;
	expo_u64(&e, L("a", "0123456789012345678901234567890123456789"), 1);
	CHECK(e.errors == 1);
	CHECK(e.len == before);
	expo_u64(&e, L("a", "b"), 1);
	CHECK(e.errors == 1);
	CHECK_STR(e.buf, "# HELP g h\n# TYPE g gauge\ng{a=\"b\"} 1\n");
	expo_family(&e, "long_family_name_that_does_not_fit", EXPO_GAUGE, "help");
	CHECK(e.errors == 2);
	CHECK_STR(e.buf, "# HELP g h\n# TYPE g gauge\ng{a=\"b\"} 1\n");
	/* reset: empty, the same memory, families forgotten */
	expo_reset(&e);
	CHECK(e.len == 0 && e.errors == 0 && e.buf && e.buf[0] == 0);
	expo_family(&e, "g", EXPO_GAUGE, "h");
	CHECK(e.errors == 0);
	expo_free(&e);
}

int main(void)
{
	RUN(test_counter_and_gauge);
	RUN(test_escaping);
	RUN(test_names);
	RUN(test_refused);
	RUN(test_values);
	RUN(test_bound);
	return CHECK_DONE();
}
