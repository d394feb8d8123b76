/* Splunk HEC events, Elasticsearch _bulk items and the reading of _bulk
 * answers. */
#include <stdio.h>

#include "check.h"
#include "fmt_test.h"
#include "forward/format/fmt_http.h"
#include "records.h"

typedef int (*item_fn)(struct fbuf *, enum out_format, const cJSON *, const char *,
		       const struct fmt_ctx *, char *, size_t);

static char *item(item_fn fn, enum out_format f, const char *json)
{
	cJSON *rec = cJSON_Parse(json);
	struct fbuf b = { 0 };
	char *s = NULL;

	test_why[0] = '\0';
	if (fn(&b, f, rec, json, &test_ctx, test_why, sizeof(test_why)) == 0)
		s = strdup(b.p ? b.p : "");
	fbuf_free(&b);
	cJSON_Delete(rec);
	return s;
}

static void test_hec(void)
{
	char *s = item(fmt_hec_event, FMT_JSON, J_SHELL);
	cJSON *j = s ? cJSON_Parse(s) : NULL, *rec = cJSON_Parse(J_SHELL);

	CHECK(s &&
	      !strncmp(s,
		       "{\"time\":1796588537.974,\"host\":\"vm\",\"source\":\"mlwatch\","
		       "\"sourcetype\":\"mlwatch:alert\",\"event\":{",
		       strlen("{\"time\":1796588537.974,\"host\":\"vm\",\"source\":\"mlwatch\","
			      "\"sourcetype\":\"mlwatch:alert\",\"event\":{")));
	CHECK(one_line_utf8(s));
	CHECK(cJSON_Compare(jpath(j, "event"), rec, true));
	cJSON_Delete(j);
	cJSON_Delete(rec);
	free(s);
	s = item(fmt_hec_event, FMT_ECS, J_HEALTH);
	j = s ? cJSON_Parse(s) : NULL;
	CHECK_STR(jstr(j, "sourcetype"), "mlwatch:health");
	CHECK_STR(jstr(j, "event.ecs.version"), "8.11.0");
	cJSON_Delete(j);
	free(s);
	s = item(fmt_hec_event, FMT_OCSF, J_INCIDENT_CLOSED);
	j = s ? cJSON_Parse(s) : NULL;
	CHECK_STR(jstr(j, "sourcetype"), "mlwatch:incident");
	CHECK(jnum(j, "event.class_uid") == 2004);
	cJSON_Delete(j);
	free(s);
	s = item(fmt_hec_event, FMT_FALCO, J_INVENTORY);
	j = s ? cJSON_Parse(s) : NULL;
	CHECK_STR(jstr(j, "sourcetype"), "mlwatch:inventory");
	CHECK_STR(jstr(j, "event.priority"), "Informational");
	cJSON_Delete(j);
	free(s);
	/* a CEF line is a string event */
	s = item(fmt_hec_event, FMT_CEF, J_CONNECT);
	j = s ? cJSON_Parse(s) : NULL;
	CHECK(jstr(j, "event") && strstr(jstr(j, "event"), "CEF:0|mlwatch|") != NULL);
	cJSON_Delete(j);
	free(s);
	/* an empty "host": the context's; a fraction of a second in ms */
	s = item(fmt_hec_event, FMT_JSON,
		 "{\"record\":\"alert\",\"time\":\"2026-01-01T00:00:00.5Z\",\"host\":\"\"}");
	CHECK(s && !strncmp(s, "{\"time\":1767225600.500,\"host\":\"node-1\",", 39));
	free(s);
	s = item(fmt_hec_event, FMT_JSON, "{\"record\":\"alert\"}");
	CHECK(s == NULL && strstr(test_why, "time"));
	free(s);
}

static void test_bulk(void)
{
	char *s = item(fmt_bulk_item, FMT_ECS, J_SHELL), *nl;
	cJSON *j;

	CHECK(s &&
	      !strncmp(s, "{\"create\":{\"_id\":\"6f1c1a52-6a8e-4c55-9a0e-0d1d2b3c4d04\"}}\n{",
		       strlen("{\"create\":{\"_id\":\"6f1c1a52-6a8e-4c55-9a0e-0d1d2b3c4d04\"}}\n{")));
	/* two lines, the last ends with a newline */
	nl = s ? strchr(s, '\n') : NULL;
	CHECK(nl && strchr(nl + 1, '\n') == s + strlen(s) - 1);
	j = nl ? cJSON_Parse(nl + 1) : NULL;
	CHECK_STR(jstr(j, "@timestamp"), "2026-12-06T20:22:17.974Z");
	CHECK_STR(jstr(j, "event.kind"), "alert");
	cJSON_Delete(j);
	free(s);
	/* json and ocsf documents get an @timestamp too */
	s = item(fmt_bulk_item, FMT_JSON, J_INVENTORY);
	nl = s ? strchr(s, '\n') : NULL;
	j = nl ? cJSON_Parse(nl + 1) : NULL;
	CHECK_STR(jstr(j, "@timestamp"), "2026-12-06T20:22:17.948Z");
	CHECK_STR(jstr(j, "record"), "inventory");
	cJSON_Delete(j);
	free(s);
	s = item(fmt_bulk_item, FMT_OCSF, J_INVENTORY);
	nl = s ? strchr(s, '\n') : NULL;
	j = nl ? cJSON_Parse(nl + 1) : NULL;
	CHECK_STR(jstr(j, "@timestamp"), "2026-12-06T20:22:17.948Z");
	CHECK(jnum(j, "class_uid") == 2004);
	cJSON_Delete(j);
	free(s);
	/* no id: Elasticsearch picks one */
	s = item(fmt_bulk_item, FMT_JSON,
		 "{\"record\":\"alert\",\"time\":\"2026-01-01T00:00:00Z\"}");
	CHECK(s && !strncmp(s, "{\"create\":{}}\n", 14));
	free(s);
	/* a hostile id is escaped */
	s = item(fmt_bulk_item, FMT_JSON,
		 "{\"id\":\"a\\\"}}\\n{\\\"delete\",\"time\":\"2026-01-01T00:00:00Z\"}");
	CHECK(s && !strncmp(s, "{\"create\":{\"_id\":\"a\\\"}}\\n{\\\"delete\"}}\n", 37));
	free(s);
	s = item(fmt_bulk_item, FMT_CEF, J_SHELL);
	CHECK(s == NULL && strstr(test_why, "cef"));
	free(s);
}

static void test_bulk_answers(void)
{
	int st[4] = { 0 };
	char why[128];
	const char *ok =
		"{\"took\":3,\"errors\":false,\"items\":[{\"create\":{\"_index\":\"m\","
		"\"_id\":\"a\",\"status\":201}},{\"create\":{\"_id\":\"b\",\"status\":201}}]}";
	const char *partial =
		"{\"took\":3,\"errors\":true,\"items\":[{\"create\":{\"status\":201}},{\"create\":{"
		"\"status\":409,\"error\":{\"type\":\"version_conflict_engine_exception\"}}},"
		"{\"create\":{\"status\":429}},{\"create\":{\"status\":400,\"error\":{\"type\":"
		"\"mapper_parsing_exception\"}}}]}";

	CHECK(bulk_parse_response(ok, strlen(ok), 2, st, why, sizeof(why)) == 0);
	CHECK(st[0] == 201 && st[1] == 201);
	CHECK(bulk_parse_response(partial, strlen(partial), 4, st, why, sizeof(why)) == 0);
	CHECK(st[0] == 201 && st[1] == 409 && st[2] == 429 && st[3] == 400);
	/* the count must match */
	CHECK(bulk_parse_response(ok, strlen(ok), 3, st, why, sizeof(why)) == -1);
	CHECK(strstr(why, "2 items for 3 records") != NULL);
	/* only len bytes count */
	CHECK(bulk_parse_response(ok, 20, 2, st, why, sizeof(why)) == -1);
	CHECK(bulk_parse_response("", 0, 0, st, why, sizeof(why)) == -1);
	CHECK(bulk_parse_response(NULL, 0, 0, st, why, sizeof(why)) == -1);
	CHECK(strstr(why, "not a JSON object") != NULL);
	CHECK(bulk_parse_response("<html>502</html>", 16, 1, st, why, sizeof(why)) == -1);
	CHECK(bulk_parse_response("[]", 2, 0, st, why, sizeof(why)) == -1);
	CHECK(bulk_parse_response("{\"items\":{}}", 12, 0, st, why, sizeof(why)) == -1);
	CHECK(strstr(why, "no \"items\"") != NULL);
	CHECK(bulk_parse_response("{\"items\":[]}", 12, 0, st, why, sizeof(why)) == 0);
#define ONE(body, rc) \
	CHECK(bulk_parse_response(body, strlen(body), 1, st, why, sizeof(why)) == (rc))
	ONE("{\"items\":[{\"create\":{}}]}", -1);
	CHECK(strstr(why, "item 0 has no HTTP status") != NULL);
	ONE("{\"items\":[{\"create\":{\"status\":\"201\"}}]}", -1);
	ONE("{\"items\":[{\"create\":{\"status\":2010}}]}", -1);
	ONE("{\"items\":[{\"create\":{\"status\":201.5}}]}", -1);
	ONE("{\"items\":[{\"create\":5}]}", -1);
	ONE("{\"items\":[{}]}", -1);
	ONE("{\"items\":[7]}", -1);
	ONE("{\"items\":[{\"index\":{\"status\":200}}]}", 0);
	CHECK(st[0] == 200);
	/* a request-level error names its type and reason, on one line */
	ONE("{\"error\":{\"type\":\"index_not_found_exception\",\"reason\":\"no such index\\n"
	    "[x]\"},\"status\":404}",
	    -1);
	CHECK_STR(why, "Elasticsearch: index_not_found_exception: no such index\\n[x]");
	ONE("{\"error\":\"Incorrect HTTP method\",\"status\":405}", -1);
	CHECK_STR(why, "Elasticsearch: Incorrect HTTP method");
#undef ONE
}

int main(void)
{
	RUN(test_hec);
	RUN(test_bulk);
	RUN(test_bulk_answers);
	return CHECK_DONE();
}
