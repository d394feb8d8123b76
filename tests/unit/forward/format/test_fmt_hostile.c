/* Every format, every output type, on records built to break framing:
 * quotes, ']', '\', '|', '=', CR and LF, control and bidi characters in
 * every string, 4 KB+ arguments, members of the wrong type, unknown
 * kinds. Each renders as one message of valid UTF-8 (JSON where the
 * format is JSON), or fails with a reason; none crashes. */
#include <stdio.h>

#include "check.h"
#include "fmt_test.h"
#include "forward/format/fmt_http.h"
#include "records.h"

#define HOSTILE "q\"uo]te\\back|pipe=eq\nnl\rcr\ttab\x01 \xef\xbf\xbd \xe2\x80\xae end"

static char *big_arg(void)
{
	static char s[5000];

	memset(s, 'A', sizeof(s) - 1);
	memcpy(s + 100, HOSTILE, strlen(HOSTILE));
	return s;
}

/* An alert whose every string is hostile. */
static cJSON *hostile_alert(const char *kind)
{
	cJSON *r = cJSON_CreateObject(), *o, *e, *a;

	cJSON_AddStringToObject(r, "record", "alert");
	cJSON_AddNumberToObject(r, "schema_version", 1);
	cJSON_AddStringToObject(r, "id", HOSTILE);
	cJSON_AddStringToObject(r, "time", "2026-12-06T20:22:17.974Z");
	cJSON_AddStringToObject(r, "incident", HOSTILE);
	cJSON_AddStringToObject(r, "host", HOSTILE);
	o = cJSON_AddObjectToObject(r, "rule");
	cJSON_AddStringToObject(o, "id", HOSTILE);
	cJSON_AddStringToObject(o, "title", HOSTILE);
	cJSON_AddStringToObject(r, "severity", "critical");
	a = cJSON_AddArrayToObject(r, "tags");
	cJSON_AddItemToArray(a, cJSON_CreateString(HOSTILE));
	cJSON_AddItemToArray(a, cJSON_CreateString("T1059.004"));
	o = cJSON_AddObjectToObject(r, "process");
	cJSON_AddNumberToObject(o, "pid", 7);
	cJSON_AddNumberToObject(o, "ppid", 6);
	cJSON_AddNumberToObject(o, "uid", 0);
	cJSON_AddStringToObject(o, "comm", HOSTILE);
	cJSON_AddStringToObject(o, "exe", HOSTILE);
	a = cJSON_AddArrayToObject(o, "args");
	for (int i = 0; i < 3; i++)
		cJSON_AddItemToArray(a, cJSON_CreateString(big_arg()));
	o = cJSON_AddObjectToObject(r, "loader");
	cJSON_AddNumberToObject(o, "pid", 6);
	cJSON_AddStringToObject(o, "exe", HOSTILE);
	o = cJSON_AddObjectToObject(o, "model");
	cJSON_AddStringToObject(o, "path", HOSTILE);
	cJSON_AddStringToObject(o, "format", HOSTILE);
	a = cJSON_AddArrayToObject(r, "ancestry");
	o = cJSON_CreateObject();
	cJSON_AddNumberToObject(o, "pid", 7);
	cJSON_AddItemToArray(a, o);
	o = cJSON_CreateObject();
	cJSON_AddNumberToObject(o, "pid", 6);
	cJSON_AddStringToObject(o, "exe", HOSTILE);
	cJSON_AddItemToArray(a, o);
	e = cJSON_AddObjectToObject(r, "event");
	cJSON_AddStringToObject(e, "kind", kind);
	cJSON_AddStringToObject(e, "path", HOSTILE);
	cJSON_AddStringToObject(e, "filename", HOSTILE);
	cJSON_AddStringToObject(e, "address", HOSTILE);
	cJSON_AddNumberToObject(e, "port", 70000);
	cJSON_AddStringToObject(e, "syscall", HOSTILE);
	cJSON_AddStringToObject(e, "source", HOSTILE);
	cJSON_AddStringToObject(e, "class", HOSTILE);
	cJSON_AddStringToObject(e, "match", HOSTILE);
	cJSON_AddStringToObject(e, "action", HOSTILE);
	cJSON_AddStringToObject(e, "enforcement", HOSTILE);
	cJSON_AddStringToObject(r, "container", HOSTILE);
	return r;
}

static const char *const odd[] = {
	"{}",
	"{\"record\":\"future-kind\",\"time\":\"2026-01-01T00:00:00Z\",\"severity\":\"high\"}",
	"{\"record\":\"alert\",\"time\":1,\"rule\":\"x\",\"tags\":{\"a\":1},\"process\":[1,2],"
	"\"loader\":{\"model\":7,\"pid\":\"6\"},\"event\":{\"kind\":5},\"ancestry\":\"x\"}",
	"{\"record\":\"alert\",\"time\":\"2026-01-01T00:00:00Z\",\"process\":{\"pid\":1e300,"
	"\"uid\":-1.5,\"args\":{\"0\":\"x\"}},\"event\":{\"kind\":\"connect\",\"address\":"
	"\"1.2.3.4\",\"port\":-5},\"tags\":[null,1,[],\"T1059\"]}",
	"{\"record\":\"alert\",\"time\":\"2026-01-01T00:00:00Z\",\"rule\":{\"id\":\"sensor-x\"},"
	"\"sensor\":{\"counts\":[1,2],\"window_ms\":\"1\"}}",
	"{\"record\":\"incident\",\"time\":\"2026-01-01T00:00:00Z\",\"status\":7,\"chains\":{\"id\":"
	"\"x\"},\"loader\":\"x\",\"summary\":[]}",
	"{\"record\":\"inventory\",\"time\":\"9999-12-31T23:59:59Z\",\"model\":[],\"process\":{}}",
	"{\"record\":\"inventory-held-back\",\"time\":\"2026-01-01T00:00:00Z\",\"records\":\"x\"}",
	"{\"record\":\"alert\",\"time\":\"2026-01-01T00:00:00Z\",\"held_back\":{},\"match\":{}}",
	"{\"record\":\"alert\",\"time\":\"2026-01-01T00:00:00Z\",\"id\":\"\",\"host\":\"\",\"rule\":"
	"{\"id\":\"\",\"title\":\"\"},\"severity\":\"\",\"event\":{\"kind\":\"\"}}",
};

static bool is_json(enum out_type type, enum out_format f)
{
	return f == FMT_FALCO || f == FMT_ECS || f == FMT_OCSF ||
	       (f == FMT_JSON && type != OUT_SYSLOG);
}

static int renders, failures;

static void check_all(const cJSON *rec, const char *line)
{
	for (int type = OUT_SYSLOG; type <= OUT_FILE; type++) {
		for (int f = FMT_JSON; f <= FMT_OCSF; f++) {
			struct fbuf b = { 0 };
			char why[128] = "";
			int rc = fmt_record(&b, type, f, rec, line, &test_ctx, why, sizeof(why));
			cJSON *j;

			if (rc) {
				CHECK(why[0] != '\0');
				CHECK(b.len == 0);
				failures++;
				fbuf_free(&b);
				continue;
			}
			renders++;
			CHECK(one_line_utf8(b.p));
			if (is_json(type, f)) {
				j = cJSON_Parse(b.p);
				CHECK(cJSON_IsObject(j));
				cJSON_Delete(j);
			} else if (f != FMT_JSON || type == OUT_SYSLOG) {
				CHECK(b.p && b.p[0] == '<');
			}
			fbuf_free(&b);
		}
	}
}

static void check_http(const cJSON *rec, const char *line)
{
	for (int f = FMT_JSON; f <= FMT_OCSF; f++) {
		struct fbuf b = { 0 };
		char why[128] = "";
		cJSON *j;
		char *nl;

		if (fmt_hec_event(&b, f, rec, line, &test_ctx, why, sizeof(why)) == 0) {
			CHECK(one_line_utf8(b.p));
			j = cJSON_Parse(b.p);
			CHECK(cJSON_IsObject(j));
			cJSON_Delete(j);
		} else {
			CHECK(why[0] && b.len == 0);
		}
		fbuf_reset(&b);
		why[0] = '\0';
		if (fmt_bulk_item(&b, f, rec, line, &test_ctx, why, sizeof(why)) == 0) {
			nl = strchr(b.p, '\n');
			/* exactly two lines, both JSON */
			CHECK(nl && strchr(nl + 1, '\n') == b.p + b.len - 1);
			CHECK(utf8_valid((const uint8_t *)b.p, b.len, NULL));
			if (nl) {
				*nl = '\0';
				j = cJSON_Parse(b.p);
				CHECK(cJSON_IsObject(j));
				cJSON_Delete(j);
				j = cJSON_Parse(nl + 1);
				CHECK(cJSON_IsObject(j));
				cJSON_Delete(j);
			}
		} else {
			CHECK(why[0] && b.len == 0);
		}
		fbuf_free(&b);
	}
}

static void test_hostile_strings(void)
{
	static const char *const kinds[] = { "exec", "open",   "connect", "send", "dup",
					     "link", "socket", "future",  "" };

	for (size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++) {
		cJSON *rec = hostile_alert(kinds[i]);
		char *line = cJSON_PrintUnformatted(rec);

		check_all(rec, line);
		check_http(rec, line);
		/* without the line: rec is printed */
		check_all(rec, NULL);
		free(line);
		cJSON_Delete(rec);
	}
	CHECK(renders > 0 && failures == 0);
}

/* The message of one format, as a C string (freed by the caller). */
static char *one(enum out_format f, const cJSON *rec, const char *line)
{
	struct fbuf b = { 0 };
	char why[64], *s;

	s = fmt_record(&b, OUT_SYSLOG, f, rec, line, &test_ctx, why, sizeof(why)) ? NULL :
										    strdup(b.p);
	fbuf_free(&b);
	return s;
}

/* What hostile text becomes where it lands in a syslog message. */
static void test_hostile_framing(void)
{
	cJSON *rec = hostile_alert("exec");
	char *line = cJSON_PrintUnformatted(rec), *s, *sd, *end;

	s = one(FMT_RFC5424, rec, line);
	sd = s ? strstr(s, "[mlwatch@32473 ") : NULL;
	CHECK(sd != NULL);
	/* the element ends at the first unescaped ']' before MSG */
	end = sd ? strstr(sd, "\"] {") : NULL;
	CHECK(end != NULL);
	/* inside it every ']' is escaped, and every '"' too but the ones
	 * around a value */
	for (char *p = sd; end && p < end; p++) {
		if (*p == ']')
			CHECK(p[-1] == '\\');
		if (*p == '"')
			CHECK(p[-1] == '\\' || p[-1] == '=' || p[1] == ' ');
	}
	CHECK(s && strstr(s, "id=\"q\\\"uo\\]te\\\\back|pipe=eq\\nnl\\rcr\\ttab\\x01 "));
	free(s);
	s = one(FMT_CEF, rec, line);
	CHECK(s && strstr(s, "|q\"uo]te\\\\back\\|pipe=eq nl cr tab  \xef\xbf\xbd \xe2\x80\xae "
			     "end|q\"uo]te\\\\back\\|pipe=eq nl cr tab  \xef\xbf\xbd \xe2\x80\xae "
			     "end|10|"));
	CHECK(s && strstr(s, " sproc=q\"uo]te\\\\back|pipe\\=eq\\nnl\\rcr tab  "));
	free(s);
	free(line);
	cJSON_Delete(rec);
}

static void test_odd_records(void)
{
	renders = failures = 0;
	for (size_t i = 0; i < sizeof(odd) / sizeof(odd[0]); i++) {
		cJSON *rec = cJSON_Parse(odd[i]);

		CHECK(rec != NULL);
		check_all(rec, odd[i]);
		check_http(rec, odd[i]);
		cJSON_Delete(rec);
	}
	/* records without a valid time fail for the formats that need one */
	CHECK(renders > 0 && failures > 0);
}

static void test_not_objects(void)
{
	static const char *const notobj[] = { "[]", "\"alert\"", "5", "null", "[{\"record\":1}]" };

	for (size_t i = 0; i < sizeof(notobj) / sizeof(notobj[0]); i++) {
		cJSON *rec = cJSON_Parse(notobj[i]);
		struct fbuf b = { 0 };
		char why[64] = "";
		int st;

		for (int f = FMT_JSON; f <= FMT_OCSF; f++) {
			CHECK(fmt_record(&b, OUT_FILE, f, rec, notobj[i], &test_ctx, why,
					 sizeof(why)) == -1);
			CHECK(strstr(why, "not a JSON object") != NULL);
			CHECK(fmt_hec_event(&b, f, rec, notobj[i], &test_ctx, why, sizeof(why)) ==
			      -1);
			CHECK(fmt_bulk_item(&b, f, rec, notobj[i], &test_ctx, why, sizeof(why)) ==
			      -1);
		}
		CHECK(fmt_record(&b, OUT_FILE, FMT_JSON, NULL, "{}", &test_ctx, why, sizeof(why)) ==
		      -1);
		CHECK(bulk_parse_response(notobj[i], strlen(notobj[i]), 0, &st, why, sizeof(why)) ==
		      -1);
		CHECK(b.len == 0);
		fbuf_free(&b);
		cJSON_Delete(rec);
	}
}

/* Rendering appends: two records in one buffer, the first kept whole. */
static void test_appends(void)
{
	cJSON *a = cJSON_Parse(J_SHELL), *bad = cJSON_Parse("{\"record\":\"alert\"}");
	struct fbuf b = { 0 };
	char why[64];
	size_t n;

	CHECK(fmt_record(&b, OUT_FILE, FMT_ECS, a, J_SHELL, &test_ctx, why, sizeof(why)) == 0);
	n = b.len;
	/* a failure leaves what is there */
	CHECK(fmt_record(&b, OUT_FILE, FMT_ECS, bad, NULL, &test_ctx, why, sizeof(why)) == -1);
	CHECK(b.len == n);
	CHECK(fmt_record(&b, OUT_FILE, FMT_JSON, a, J_SHELL, &test_ctx, why, sizeof(why)) == 0);
	CHECK(b.len == n + strlen(J_SHELL) && !strcmp(b.p + n, J_SHELL));
	fbuf_free(&b);
	cJSON_Delete(a);
	cJSON_Delete(bad);
}

int main(void)
{
	RUN(test_hostile_strings);
	RUN(test_hostile_framing);
	RUN(test_odd_records);
	RUN(test_not_objects);
	RUN(test_appends);
	return CHECK_DONE();
}
