/* RFC 5424 messages: PRI, header fields, structured data and its
 * escaping, MSG on one line. */
#include <stdio.h>

#include "check.h"
#include "fmt_test.h"
#include "records.h"

static void test_header_and_sd(void)
{
	char *s = render(OUT_SYSLOG, FMT_RFC5424, J_SHELL);

	CHECK(s != NULL);
	if (!s)
		return;
	/* local0 (16) * 8 + crit (2) */
	CHECK(!strncmp(s,
		       "<130>1 2026-12-06T20:22:17.974Z vm mlwatch 4242 model-loader-shell "
		       "[mlwatch@32473 id=\"6f1c1a52-6a8e-4c55-9a0e-0d1d2b3c4d04\" "
		       "severity=\"critical\" rule=\"model-loader-shell\" pid=\"11369\" "
		       "loader=\"11367\" model=\"/tmp/m/model.pkl\" "
		       "incident=\"mlw-73f0335019668dee\"] {\"record\":\"alert\"",
		       strlen("<130>1 2026-12-06T20:22:17.974Z vm mlwatch 4242 model-loader-shell "
			      "[mlwatch@32473 id=\"6f1c1a52-6a8e-4c55-9a0e-0d1d2b3c4d04\" "
			      "severity=\"critical\" rule=\"model-loader-shell\" pid=\"11369\" "
			      "loader=\"11367\" model=\"/tmp/m/model.pkl\" "
			      "incident=\"mlw-73f0335019668dee\"] {\"record\":\"alert\"")));
	/* MSG is the line itself */
	CHECK(strstr(s, J_SHELL) && !strcmp(strstr(s, J_SHELL), J_SHELL));
	CHECK(one_line_utf8(s));
	free(s);
}

static int pri_of(const char *json, int facility)
{
	struct fmt_ctx ctx = test_ctx;
	char *s;
	int pri = -1;

	ctx.facility = facility;
	s = render_ctx(OUT_SYSLOG, FMT_RFC5424, json, &ctx);
	if (s && sscanf(s, "<%d>1 ", &pri) != 1)
		pri = -1;
	free(s);
	return pri;
}

static void test_pri(void)
{
	CHECK(pri_of(J_SHELL, 16) == 130);        /* critical: crit */
	CHECK(pri_of(J_CONNECT, 16) == 131);      /* high: err */
	CHECK(pri_of(J_INCIDENT_NEW, 16) == 131); /* high incident */
	CHECK(pri_of(J_HEALTH, 16) == 131);
	CHECK(pri_of(J_INVENTORY, 16) == 134); /* no severity: info */
	CHECK(pri_of(J_HELD_BACK, 16) == 134);
	CHECK(pri_of("{\"record\":\"alert\",\"severity\":\"medium\"}", 16) == 132);
	CHECK(pri_of("{\"record\":\"alert\",\"severity\":\"low\"}", 16) == 133);
	/* an unknown severity is not taken as harmless */
	CHECK(pri_of("{\"record\":\"alert\",\"severity\":\"bogus\"}", 16) == 132);
	CHECK(pri_of("{\"record\":\"alert\",\"severity\":7}", 16) == 132);
	CHECK(pri_of(J_SHELL, 0) == 2);    /* kern */
	CHECK(pri_of(J_SHELL, 23) == 186); /* local7 */
	CHECK(pri_of(J_SHELL, 99) == 130); /* out of range: local0 */
	CHECK(pri_of(J_SHELL, -1) == 130);
}

/* The field n (0-based) of the header, split at spaces. */
static void field(const char *s, int n, char *out, size_t len)
{
	for (int i = 0; i < n && s; i++)
		s = strchr(s, ' ') ? strchr(s, ' ') + 1 : NULL;
	snprintf(out, len, "%.*s", s ? (int)strcspn(s, " ") : 0, s ? s : "");
}

static void test_hostname_and_msgid(void)
{
	char f[600], *s;
	char longid[301];

	/* no host in the record: the context's */
	s = render(OUT_SYSLOG, FMT_RFC5424,
		   "{\"record\":\"inventory\",\"time\":\"2026-01-02T03:04:05.678Z\"}");
	field(s, 2, f, sizeof(f));
	CHECK_STR(f, "node-1");
	field(s, 5, f, sizeof(f));
	CHECK_STR(f, "inventory");
	free(s);
	/* neither: nil */
	s = render_ctx(OUT_SYSLOG, FMT_RFC5424, "{\"record\":\"inventory\"}",
		       &(struct fmt_ctx){ .facility = 16 });
	CHECK(s && !strncmp(s, "<134>1 - - mlwatch - inventory ", 31));
	free(s);
	/* spaces and non-ASCII become '_' */
	s = render(OUT_SYSLOG, FMT_RFC5424,
		   "{\"record\":\"alert\",\"host\":\"a b\\u00e9\",\"rule\":{\"id\":\"x y\\n\\u00e9z\"}}");
	field(s, 2, f, sizeof(f));
	CHECK_STR(f, "a_b__");
	field(s, 5, f, sizeof(f));
	CHECK_STR(f, "x_y___z");
	CHECK(one_line_utf8(s));
	free(s);
	/* MSGID at most 32, HOSTNAME at most 255 */
	memset(longid, 'r', 300);
	longid[300] = '\0';
	snprintf(f, sizeof(f), "{\"record\":\"alert\",\"host\":\"%s\",\"rule\":{\"id\":\"%.40s\"}}",
		 longid, longid);
	s = render(OUT_SYSLOG, FMT_RFC5424, f);
	field(s, 2, f, sizeof(f));
	CHECK(strlen(f) == 255);
	field(s, 5, f, sizeof(f));
	CHECK(strlen(f) == 32);
	free(s);
	/* an alert without a rule id: the record kind; no kind: "record" */
	s = render(OUT_SYSLOG, FMT_RFC5424, "{\"record\":\"alert\",\"rule\":{\"id\":\"\"}}");
	field(s, 5, f, sizeof(f));
	CHECK_STR(f, "alert");
	free(s);
	s = render(OUT_SYSLOG, FMT_RFC5424, "{\"x\":1}");
	field(s, 5, f, sizeof(f));
	CHECK_STR(f, "record");
	CHECK(s && strstr(s, " record - {\"x\":1}"));
	free(s);
}

static void test_timestamp(void)
{
	char f[64], *s;

	s = render(OUT_SYSLOG, FMT_RFC5424,
		   "{\"record\":\"alert\",\"time\":\"2026-01-02T05:04:05.1234567+02:00\"}");
	field(s, 1, f, sizeof(f));
	/* in UTC, at most 6 fraction digits */
	CHECK_STR(f, "2026-01-02T03:04:05.123456Z");
	free(s);
	s = render(OUT_SYSLOG, FMT_RFC5424, "{\"record\":\"alert\",\"time\":\"yesterday\"}");
	field(s, 1, f, sizeof(f));
	CHECK_STR(f, "-");
	free(s);
	s = render(OUT_SYSLOG, FMT_RFC5424, "{\"record\":\"alert\",\"time\":12}");
	field(s, 1, f, sizeof(f));
	CHECK_STR(f, "-");
	free(s);
}

static void test_sd_escaping(void)
{
	char *s =
		render(OUT_SYSLOG, FMT_RFC5424,
		       "{\"record\":\"alert\",\"id\":\"a\\\"b]c\\\\d\\ne\\rf\\u0001\","
		       "\"loader\":{\"model\":{\"path\":\"/m/]x\\\"\"}},\"process\":{\"pid\":\"7\"}}");

	CHECK(s != NULL);
	if (!s)
		return;
	CHECK(strstr(s, " id=\"a\\\"b\\]c\\\\d\\ne\\rf\\x01\"") != NULL);
	CHECK(strstr(s, " model=\"/m/\\]x\\\"\"]") != NULL);
	/* a pid of the wrong type is left out */
	CHECK(strstr(s, "pid=") == NULL);
	CHECK(one_line_utf8(s));
	free(s);
	/* no parameter at all: nil STRUCTURED-DATA */
	s = render(OUT_SYSLOG, FMT_RFC5424, "{\"record\":\"inventory\"}");
	CHECK(s && strstr(s, " inventory - {") != NULL);
	free(s);
}

/* Values are cut at 1024 bytes, never inside a character: "x" and
 * 2-byte characters stop at 1023. */
static void test_sd_value_cut(void)
{
	size_t n = 5000;
	char *json = malloc(n + 64), *s, *v;

	strcpy(json, "{\"record\":\"alert\",\"id\":\"x");
	for (size_t i = 0; i < n; i += 2)
		memcpy(json + 25 + i, "\xc3\xa9", 2);
	strcpy(json + 25 + n, "\"}");
	s = render(OUT_SYSLOG, FMT_RFC5424, json);
	CHECK(s != NULL);
	v = s ? strstr(s, " id=\"") : NULL;
	CHECK(v && strcspn(v + 5, "\"") == 1023);
	CHECK(one_line_utf8(s));
	free(s);
	free(json);
}

static void test_json_over_syslog(void)
{
	char *s = render(OUT_SYSLOG, FMT_JSON, J_INCIDENT_CLOSED);

	CHECK(s &&
	      !strncmp(s, "<130>1 2026-12-06T20:22:18.180Z vm mlwatch 4242 incident - {",
		       strlen("<130>1 2026-12-06T20:22:18.180Z vm mlwatch 4242 incident - {")));
	CHECK(s && !strcmp(strchr(s, '{'), J_INCIDENT_CLOSED));
	free(s);
	/* other types: the line itself */
	s = render(OUT_FILE, FMT_JSON, J_INCIDENT_CLOSED);
	CHECK_STR(s, J_INCIDENT_CLOSED);
	free(s);
}

/* A line with raw newlines (not what mlwatch writes, but cJSON takes it):
 * MSG stays one line and the same JSON. */
static void test_msg_raw_newlines(void)
{
	const char *line = "{\"record\":\"alert\",\n\"id\":\"a\nb\t\",\r\"x\":\"\\\\\n\"}";
	char *s = render(OUT_SYSLOG, FMT_RFC5424, line), *msg;
	cJSON *a, *b;

	CHECK(one_line_utf8(s));
	msg = s ? strchr(s, '{') : NULL;
	a = cJSON_Parse(line);
	b = msg ? cJSON_Parse(msg) : NULL;
	CHECK(b != NULL);
	CHECK(a && b && cJSON_Compare(a, b, true));
	CHECK_STR(jstr(b, "id"), "a\nb\t");
	CHECK_STR(jstr(b, "x"), "\\\n");
	cJSON_Delete(a);
	cJSON_Delete(b);
	free(s);
}

static void test_invalid_utf8(void)
{
	char *s = render(OUT_SYSLOG, FMT_RFC5424,
			 "{\"record\":\"alert\",\"id\":\"a\xff\xc3\",\"host\":\"h\xfe\"}");

	CHECK(s != NULL);
	CHECK(one_line_utf8(s));
	CHECK(s && strstr(s, "id=\"a\xef\xbf\xbd\xef\xbf\xbd\"") != NULL);
	free(s);
}

int main(void)
{
	RUN(test_header_and_sd);
	RUN(test_pri);
	RUN(test_hostname_and_msgid);
	RUN(test_timestamp);
	RUN(test_sd_escaping);
	RUN(test_sd_value_cut);
	RUN(test_json_over_syslog);
	RUN(test_msg_raw_newlines);
	RUN(test_invalid_utf8);
	return CHECK_DONE();
}
