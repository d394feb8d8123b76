/* The Falco alert shape: the keys Falcosidekick reads, priorities, time,
 * output line and output_fields. */
#include <stdio.h>

#include "check.h"
#include "fmt_test.h"
#include "records.h"

static cJSON *falco(const char *json)
{
	char *s = render(OUT_HTTP, FMT_FALCO, json);
	cJSON *j = s ? cJSON_Parse(s) : NULL;

	CHECK(one_line_utf8(s));
	free(s);
	return j;
}

/* output_fields keys have dots: no path look-up. */
static const cJSON *of(const cJSON *doc, const char *key)
{
	return cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(doc,
										 "output_fields"),
						key);
}

static void test_alert(void)
{
	cJSON *j = falco(J_SHELL);
	char *raw;

	CHECK(j != NULL);
	/* types.FalcoPayload: uuid, output, priority, rule, time, output_fields,
	 * source, tags, hostname */
	CHECK_STR(jstr(j, "uuid"), "6f1c1a52-6a8e-4c55-9a0e-0d1d2b3c4d04");
	CHECK_STR(jstr(j, "priority"), "Critical");
	CHECK_STR(jstr(j, "rule"), "model-loader-shell");
	CHECK_STR(jstr(j, "time"), "2026-12-06T20:22:17.974000000Z");
	CHECK_STR(jstr(j, "source"), "mlwatch");
	CHECK_STR(jstr(j, "hostname"), "vm");
	CHECK(cJSON_GetArraySize(jpath(j, "tags")) == 3);
	CHECK_STR(jstr(j, "output"),
		  "2026-12-06T20:22:17.974000000+0000: Critical Shell started by a process that "
		  "loaded a model: exec sh -c touch /tmp/m/MARKER (proc.pid=11369 "
		  "proc.exepath=/bin/sh user.uid=0 model=/tmp/m/model.pkl "
		  "incident=mlw-73f0335019668dee)");
	/* evt.time is an exact integer of nanoseconds */
	raw = render(OUT_HTTP, FMT_FALCO, J_SHELL);
	CHECK(raw && strstr(raw, "\"evt.time\":1796588537974000000,") != NULL);
	free(raw);
	CHECK_STR(cJSON_GetStringValue(of(j, "evt.type")), "execve");
	CHECK(cJSON_GetNumberValue(of(j, "proc.pid")) == 11369);
	CHECK(cJSON_GetNumberValue(of(j, "proc.ppid")) == 11367);
	CHECK(cJSON_GetNumberValue(of(j, "user.uid")) == 0);
	CHECK_STR(cJSON_GetStringValue(of(j, "proc.exepath")), "/bin/sh");
	CHECK_STR(cJSON_GetStringValue(of(j, "proc.name")), "sh");
	CHECK_STR(cJSON_GetStringValue(of(j, "proc.cmdline")), "sh -c touch /tmp/m/MARKER");
	CHECK_STR(cJSON_GetStringValue(of(j, "proc.args")), "-c touch /tmp/m/MARKER");
	CHECK_STR(cJSON_GetStringValue(of(j, "proc.pexepath")), "/usr/bin/python3.11");
	CHECK_STR(cJSON_GetStringValue(of(j, "mlwatch.incident")), "mlw-73f0335019668dee");
	CHECK_STR(cJSON_GetStringValue(of(j, "mlwatch.model.path")), "/tmp/m/model.pkl");
	CHECK_STR(cJSON_GetStringValue(of(j, "mlwatch.id")),
		  "6f1c1a52-6a8e-4c55-9a0e-0d1d2b3c4d04");
	CHECK(cJSON_GetNumberValue(of(j, "mlwatch.loader.pid")) == 11367);
	CHECK(of(j, "fd.name") == NULL);
	cJSON_Delete(j);
}

static void test_connect(void)
{
	cJSON *j = falco(J_CONNECT);

	CHECK_STR(jstr(j, "priority"), "Error");
	CHECK_STR(cJSON_GetStringValue(of(j, "fd.name")), "127.0.0.1:36525");
	CHECK_STR(cJSON_GetStringValue(of(j, "fd.sip")), "127.0.0.1");
	CHECK(cJSON_GetNumberValue(of(j, "fd.sport")) == 36525);
	CHECK_STR(cJSON_GetStringValue(of(j, "evt.type")), "connect");
	/* the parent is not in the ancestry: no pexepath */
	CHECK(of(j, "proc.pexepath") == NULL);
	cJSON_Delete(j);
	j = falco(J_SCAN);
	CHECK_STR(cJSON_GetStringValue(of(j, "fd.name")), "/tmp/m/model.pkl");
	CHECK_STR(cJSON_GetStringValue(of(j, "evt.type")), "openat");
	cJSON_Delete(j);
	j = falco("{\"record\":\"alert\",\"time\":\"2026-01-01T00:00:00Z\",\"container\":{\"id\":"
		  "\"abc123\"},\"k8s\":{\"pod_uid\":\"u-1\",\"pod\":\"trainer-0\",\"namespace\":"
		  "\"ml\"},\"event\":{\"kind\":\"send\",\"address\":\"::1\",\"port\":53}}");
	CHECK_STR(cJSON_GetStringValue(of(j, "fd.name")), "[::1]:53");
	CHECK_STR(cJSON_GetStringValue(of(j, "container.id")), "abc123");
	CHECK_STR(cJSON_GetStringValue(of(j, "k8s.pod.name")), "trainer-0");
	CHECK_STR(cJSON_GetStringValue(of(j, "k8s.ns.name")), "ml");
	CHECK_STR(cJSON_GetStringValue(of(j, "k8s.pod.uid")), "u-1");
	CHECK_STR(cJSON_GetStringValue(of(j, "evt.type")), "sendto");
	cJSON_Delete(j);
}

static void test_priorities(void)
{
	static const struct {
		const char *json, *prio;
	} t[] = {
		{ "{\"record\":\"alert\",\"time\":\"2026-01-01T00:00:00Z\",\"severity\":\"critical\"}",
		  "Critical" },
		{ "{\"record\":\"alert\",\"time\":\"2026-01-01T00:00:00Z\",\"severity\":\"high\"}",
		  "Error" },
		{ "{\"record\":\"alert\",\"time\":\"2026-01-01T00:00:00Z\",\"severity\":\"medium\"}",
		  "Warning" },
		{ "{\"record\":\"alert\",\"time\":\"2026-01-01T00:00:00Z\",\"severity\":\"low\"}",
		  "Notice" },
		{ J_INVENTORY, "Informational" },
	};

	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		cJSON *j = falco(t[i].json);

		CHECK_STR(jstr(j, "priority"), t[i].prio);
		cJSON_Delete(j);
	}
}

static void test_other_kinds(void)
{
	cJSON *j = falco(J_INCIDENT_CLOSED);

	CHECK_STR(jstr(j, "rule"), "incident");
	CHECK_STR(cJSON_GetStringValue(of(j, "mlwatch.chains")), "chain-reverse-shell");
	CHECK_STR(cJSON_GetStringValue(of(j, "mlwatch.incident.status")), "closed");
	CHECK(cJSON_GetNumberValue(of(j, "proc.pid")) == 11367);
	cJSON_Delete(j);
	j = falco(J_HELD_BACK);
	CHECK_STR(jstr(j, "rule"), "inventory-held-back");
	/* no process fields: no parentheses */
	CHECK_STR(jstr(j, "output"), "2026-12-06T20:22:20.000000000+0000: Informational "
				     "inventory-held-back: 120 inventory records (480 loads) held "
				     "back");
	cJSON_Delete(j);
	j = falco(J_INVENTORY);
	CHECK_STR(cJSON_GetStringValue(of(j, "mlwatch.model.sha256")),
		  "eb5e352b07869a471f2865dd98af53a12a86038fb7a0837df510c25c70354703");
	cJSON_Delete(j);
}

static void test_needs_time(void)
{
	char *s = render(OUT_HTTP, FMT_FALCO, "{\"record\":\"alert\"}");

	CHECK(s == NULL);
	CHECK(strstr(test_why, "time") != NULL);
	free(s);
}

static void test_hostile_output(void)
{
	cJSON *j = falco("{\"record\":\"alert\",\"time\":\"2026-01-01T00:00:00Z\","
			 "\"rule\":{\"id\":\"r\",\"title\":\"a\\nb\"},\"process\":{\"exe\":"
			 "\"/x\\r\\n(user=root)\\u202e\"}}");
	const char *out = jstr(j, "output");

	CHECK(out && !strpbrk(out, "\r\n"));
	CHECK(out && strstr(out, "a\\nb") && strstr(out, "/x\\x0d\\n(user=root)\\u{202E}"));
	/* output_fields keep the value as it is */
	CHECK_STR(cJSON_GetStringValue(of(j, "proc.exepath")), "/x\r\n(user=root)\xe2\x80\xae");
	cJSON_Delete(j);
}

int main(void)
{
	RUN(test_alert);
	RUN(test_connect);
	RUN(test_priorities);
	RUN(test_other_kinds);
	RUN(test_needs_time);
	RUN(test_hostile_output);
	return CHECK_DONE();
}
