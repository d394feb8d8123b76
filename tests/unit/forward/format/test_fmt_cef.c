/* CEF over syslog: header, severity, extensions and their escaping. */
#include <stdio.h>

#include "check.h"
#include "fmt_test.h"
#include "records.h"

/* The CEF part of a message. */
static const char *cef(const char *s)
{
	return s ? strstr(s, "CEF:0|") : NULL;
}

static void test_alert(void)
{
	char *s = render(OUT_SYSLOG, FMT_CEF, J_CONNECT);

	CHECK(s && !strncmp(s,
			    "<131>1 2026-12-06T20:22:17.961Z vm mlwatch 4242 "
			    "model-loader-external-connect - CEF:0|",
			    strlen("<131>1 2026-12-06T20:22:17.961Z vm mlwatch 4242 "
				   "model-loader-external-connect - CEF:0|")));
	CHECK_STR(cef(s),
		  "CEF:0|mlwatch|mlwatch|0.1.0|model-loader-external-connect|Outbound connection "
		  "to an external address while a model was being loaded|8|rt=1796588537961 "
		  "dvchost=vm externalId=6f1c1a52-6a8e-4c55-9a0e-0d1d2b3c4d02 cat=alert/connect "
		  "spid=11367 sproc=/usr/bin/python3.11 suid=0 filePath=/tmp/m/model.pkl "
		  "dst=127.0.0.1 dpt=36525 cs1Label=incident cs1=mlw-73f0335019668dee "
		  "cs2Label=tags cs2=AML.T0011.000,AML.T0025,T1041 msg=connect 127.0.0.1:36525 "
		  "(external)");
	free(s);
}

static int severity_of(const char *json)
{
	char *s = render(OUT_SYSLOG, FMT_CEF, json);
	const char *c = cef(s);
	int sev = -1, bars = 0;

	/* the field after the sixth '|' */
	for (; c && *c && bars < 6; c++)
		bars += *c == '|';
	if (c && sscanf(c, "%d|", &sev) != 1)
		sev = -1;
	free(s);
	return sev;
}

static void test_severity(void)
{
	CHECK(severity_of(J_SHELL) == 10);
	CHECK(severity_of(J_CONNECT) == 8);
	CHECK(severity_of("{\"record\":\"alert\",\"severity\":\"medium\"}") == 5);
	CHECK(severity_of("{\"record\":\"alert\",\"severity\":\"low\"}") == 3);
	CHECK(severity_of(J_INVENTORY) == 1);
}

static void test_incident_and_inventory(void)
{
	char *s = render(OUT_SYSLOG, FMT_CEF, J_INCIDENT_CLOSED);

	CHECK(s && strstr(s, "|incident|Reverse shell: outbound connect, socket on "
			     "stdin/stdout/stderr, shell|10|") != NULL);
	/* the loader is the process of an incident */
	CHECK(s && strstr(s, " spid=11367 sproc=/usr/bin/python3.11 ") != NULL);
	CHECK(s &&
	      strstr(s, " msg=incident mlw-73f0335019668dee closed, 6 alerts, exited") != NULL);
	free(s);
	s = render(OUT_SYSLOG, FMT_CEF, J_INVENTORY);
	CHECK(s && strstr(s, "|inventory|inventory|1|rt=") != NULL);
	CHECK(s && strstr(s, " msg=model load /tmp/m/model.pkl (pickle) by /usr/bin/python3.11 "
			     "pid 11367") != NULL);
	free(s);
	s = render(OUT_SYSLOG, FMT_CEF, J_HEALTH);
	CHECK(s && strstr(s, " cat=health ") != NULL);
	/* '=' in a value is escaped */
	CHECK(s &&
	      strstr(s, "msg=ringbuf_full_exec\\=3 shed_model_open\\=5 in 1000 ms (vital: 3)"));
	free(s);
	/* an output's health alert names the output and its error */
	s = render(OUT_SYSLOG, FMT_CEF,
		   "{\"record\":\"alert\",\"rule\":{\"id\":\"output-records-lost\"},\"sensor\":{"
		   "\"output\":\"hook\",\"error\":\"HTTP 400\\nx\",\"counts\":{\"rejected\":2}}}");
	CHECK(s && strstr(s, " cat=health msg=output hook: rejected\\=2 (HTTP 400\\\\nx)"));
	free(s);
}

/* msg is the summary (here the title) as text_escape writes it, then
 * escaped for CEF. */
static void test_escaping(void)
{
	char *s =
		render(OUT_SYSLOG, FMT_CEF,
		       "{\"record\":\"alert\",\"time\":\"2026-01-01T00:00:00Z\",\"severity\":\"high\","
		       "\"rule\":{\"id\":\"a|b\\\\c\",\"title\":\"t|i\\\\t\\nle\"},"
		       "\"process\":{\"pid\":5,\"exe\":\"/x=y\\\\z|w\\nv\\r\\u0007\"},"
		       "\"incident\":\"i=1\"}");

	CHECK(s != NULL);
	CHECK(one_line_utf8(s));
	CHECK_STR(cef(s), "CEF:0|mlwatch|mlwatch|0.1.0|a\\|b\\\\c|t\\|i\\\\t le|8|rt=1767225600000 "
			  "dvchost=node-1 cat=alert spid=5 sproc=/x\\=y\\\\z|w\\nv\\r  "
			  "cs1Label=incident cs1=i\\=1 msg=t|i\\\\\\\\t\\\\nle");
	free(s);
}

static void test_ipv6_and_action(void)
{
	char *s =
		render(OUT_SYSLOG, FMT_CEF,
		       "{\"record\":\"alert\",\"event\":{\"kind\":\"connect\",\"family\":\"inet6\","
		       "\"address\":\"2001:db8::1\",\"port\":443,\"enforcement\":\"refused\","
		       "\"action\":\"killed\"}}");

	CHECK(s && strstr(s, " c6a3Label=Destination IPv6 Address c6a3=2001:db8::1 dpt=443 "
			     "act=killed ") != NULL);
	CHECK(s && !strstr(s, " dst="));
	free(s);
	/* a unix socket is no destination */
	s = render(OUT_SYSLOG, FMT_CEF,
		   "{\"record\":\"alert\",\"event\":{\"kind\":\"connect\",\"family\":\"unix\","
		   "\"address\":\"/run/docker.sock\",\"port\":0,\"enforcement\":\"refused\"}}");
	CHECK(s && !strstr(s, " dst=") && !strstr(s, " dpt=") && strstr(s, " act=refused "));
	free(s);
}

/* 4 KB+ of argv: msg is cut to 1023 bytes, the line stays one line. */
static void test_long_args(void)
{
	size_t n = 6000;
	char *json = malloc(n + 200), *s, *msg;

	strcpy(json, "{\"record\":\"alert\",\"event\":{\"kind\":\"exec\",\"args\":[\"sh\",\"");
	memset(json + strlen(json), '=', n);
	strcpy(json + strlen("{\"record\":\"alert\",\"event\":{\"kind\":\"exec\",\"args\":[\"sh\",\"") +
		       n,
	       "\"]}}");
	s = render(OUT_SYSLOG, FMT_CEF, json);
	CHECK(one_line_utf8(s));
	msg = s ? strstr(s, " msg=") : NULL;
	/* 1023 source bytes, each '=' escaped: "exec sh " then 1015 of them */
	CHECK(msg && strlen(msg + 5) == 8 + 2 * 1015);
	free(s);
	free(json);
}

int main(void)
{
	RUN(test_alert);
	RUN(test_severity);
	RUN(test_incident_and_inventory);
	RUN(test_escaping);
	RUN(test_ipv6_and_action);
	RUN(test_long_args);
	return CHECK_DONE();
}
