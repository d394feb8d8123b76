/* Splunk HEC events, Elasticsearch _bulk items and _bulk answers. An
 * answer comes from the network: it is checked item by item and what it
 * says goes into why escaped (lib/textsan) and cut. */
#include <stdio.h>
#include <string.h>

#include "fmt_common.h"
#include "fmt_ecs.h"
#include "fmt_falco.h"
#include "fmt_http.h"
#include "fmt_ocsf.h"
#include "lib/textsan.h"

/* Elasticsearch refuses a longer _id. */
#define ES_ID_MAX 512

static cJSON *doc_of(enum out_format f, const cJSON *rec, const struct fmt_ctx *ctx, char *why,
		     size_t whylen)
{
	switch (f) {
	case FMT_FALCO:
		return fmt_falco_doc(rec, ctx, why, whylen);
	case FMT_ECS:
		return fmt_ecs_doc(rec, ctx, why, whylen);
	case FMT_OCSF:
		return fmt_ocsf_doc(rec, ctx, why, whylen);
	default:
		return cJSON_Duplicate(rec, true);
	}
}

/* Appends scratch to out when all went well; frees scratch. */
static int finish(struct fbuf *out, struct fbuf *tmp, int rc, char *why, size_t whylen)
{
	if (!rc && !tmp->oom)
		fmt_put_utf8(out, tmp->p, tmp->len);
	if (!rc && (tmp->oom || out->oom)) {
		fmt_why(why, whylen, "out of memory");
		rc = -1;
	}
	fbuf_free(tmp);
	return rc;
}

int fmt_hec_event(struct fbuf *out, enum out_format f, const cJSON *rec, const char *line,
		  const struct fmt_ctx *ctx, char *why, size_t whylen)
{
	struct fbuf tmp = { 0 }, msg = { 0 };
	const char *host = fmt_host(rec, ctx);
	struct fmt_time t;
	cJSON *doc;
	int rc = 0;

	if (!cJSON_IsObject(rec)) {
		fmt_why(why, whylen, "the record is not a JSON object");
		return -1;
	}
	if (fmt_time_of(rec, &t)) {
		fmt_why(why, whylen, "the record has no valid \"time\"");
		return -1;
	}
	fbuf_printf(&tmp, "{\"time\":%lld.%03u,", (long long)t.sec, t.nsec / 1000000);
	if (*host) {
		fbuf_puts(&tmp, "\"host\":");
		fmt_put_json_str(&tmp, host);
		fbuf_puts(&tmp, ",");
	}
	fbuf_printf(&tmp, "\"source\":\"mlwatch\",\"sourcetype\":\"mlwatch:%s\",\"event\":",
		    fmt_kind_name(fmt_kind_of(rec)));
	if (f == FMT_RFC5424 || f == FMT_CEF) {
		/* a syslog line is a string event */
		rc = fmt_record(&msg, OUT_SPLUNK_HEC, f, rec, line, ctx, why, whylen);
		if (!rc)
			fmt_put_json_str(&tmp, msg.p);
		fbuf_free(&msg);
	} else if (f == FMT_JSON) {
		if (fmt_put_cjson(&tmp, rec))
			tmp.oom = true;
	} else if ((doc = doc_of(f, rec, ctx, why, whylen))) {
		if (fmt_put_cjson(&tmp, doc))
			tmp.oom = true;
		cJSON_Delete(doc);
	} else {
		rc = -1;
	}
	fbuf_puts(&tmp, "}");
	return finish(out, &tmp, rc, why, whylen);
}

int fmt_bulk_item(struct fbuf *out, enum out_format f, const cJSON *rec, const char *line,
		  const struct fmt_ctx *ctx, char *why, size_t whylen)
{
	const char *id = fmt_str(rec, "id");
	struct fbuf tmp = { 0 };
	struct fmt_time t;
	char ts[48];
	cJSON *doc;
	int rc = 0;

	(void)line;
	if (!cJSON_IsObject(rec)) {
		fmt_why(why, whylen, "the record is not a JSON object");
		return -1;
	}
	if (f == FMT_RFC5424 || f == FMT_CEF) {
		fmt_why(why, whylen, "format %s is not a document",
			f == FMT_CEF ? "cef" : "rfc5424");
		return -1;
	}
	if (fmt_time_of(rec, &t)) {
		fmt_why(why, whylen, "the record has no valid \"time\"");
		return -1;
	}
	/* no usable id: Elasticsearch picks one (a retry may then duplicate) */
	fbuf_puts(&tmp, "{\"create\":{");
	if (id && *id && strlen(id) <= ES_ID_MAX) {
		fbuf_puts(&tmp, "\"_id\":");
		fmt_put_json_str(&tmp, id);
	}
	fbuf_puts(&tmp, "}}\n");
	if (!(doc = doc_of(f, rec, ctx, why, whylen)))
		return finish(out, &tmp, -1, why, whylen);
	if (!cJSON_GetObjectItemCaseSensitive(doc, "@timestamp")) {
		fmt_time_text(&t, t.nsec % 1000000 ? 9 : 3, "Z", ts, sizeof(ts));
		cJSON_AddStringToObject(doc, "@timestamp", ts);
	}
	if (fmt_put_cjson(&tmp, doc))
		tmp.oom = true;
	cJSON_Delete(doc);
	fbuf_puts(&tmp, "\n");
	return finish(out, &tmp, rc, why, whylen);
}

/* "Elasticsearch: <type>: <reason>" from a request-level error. */
static void request_error(const cJSON *err, char *why, size_t whylen)
{
	const char *type = fmt_str(err, "type"), *reason = fmt_str(err, "reason");
	char t[64], r[200];

	if (cJSON_IsString(err))
		type = err->valuestring, reason = NULL;
	text_escape(type ? type : "", type ? strlen(type) : 0, t, sizeof(t));
	text_escape(reason ? reason : "", reason ? strlen(reason) : 0, r, sizeof(r));
	fmt_why(why, whylen, "Elasticsearch: %s%s%s", t[0] ? t : "error", r[0] ? ": " : "", r);
}

int bulk_parse_response(const char *body, size_t len, size_t n, int *status, char *why,
			size_t whylen)
{
	cJSON *j = body ? cJSON_ParseWithLength(body, len) : NULL;
	const cJSON *items, *it, *err;
	size_t i = 0;
	int rc = -1;

	if (!cJSON_IsObject(j)) {
		fmt_why(why, whylen, "the _bulk answer is not a JSON object");
		goto out;
	}
	if ((err = cJSON_GetObjectItemCaseSensitive(j, "error"))) {
		request_error(err, why, whylen);
		goto out;
	}
	items = cJSON_GetObjectItemCaseSensitive(j, "items");
	if (!cJSON_IsArray(items)) {
		fmt_why(why, whylen, "the _bulk answer has no \"items\" array");
		goto out;
	}
	if ((size_t)cJSON_GetArraySize(items) != n) {
		fmt_why(why, whylen, "the _bulk answer has %d items for %zu records",
			cJSON_GetArraySize(items), n);
		goto out;
	}
	cJSON_ArrayForEach(it, items) {
		long long st;

		/* {"create":{"status":201,...}}: one action, its result */
		if (!cJSON_IsObject(it) || !cJSON_IsObject(it->child)) {
			fmt_why(why, whylen, "_bulk item %zu is not an action result", i);
			goto out;
		}
		if (!fmt_int(it->child, "status", &st) || st < 100 || st > 599) {
			fmt_why(why, whylen, "_bulk item %zu has no HTTP status", i);
			goto out;
		}
		status[i++] = (int)st;
	}
	rc = 0;
out:
	cJSON_Delete(j);
	return rc;
}
