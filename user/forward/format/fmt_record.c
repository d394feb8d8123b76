/* One record in an output's format. Every format is rendered into a
 * scratch buffer first and appended through fmt_put_utf8, so a failure
 * leaves out as it was and what is appended is valid UTF-8. */
#include "fmt_cef.h"
#include "fmt_common.h"
#include "fmt_ecs.h"
#include "fmt_falco.h"
#include "fmt_ocsf.h"
#include "fmt_record.h"
#include "fmt_syslog.h"

unsigned fmt_record_kind(const cJSON *rec)
{
	return fmt_kind_of(rec);
}

static int put_doc(struct fbuf *out, cJSON *doc, char *why, size_t whylen)
{
	int rc;

	if (!doc)
		return -1;
	rc = fmt_put_cjson(out, doc);
	cJSON_Delete(doc);
	if (rc)
		fmt_why(why, whylen, "out of memory");
	return rc;
}

int fmt_record(struct fbuf *out, enum out_type type, enum out_format f, const cJSON *rec,
	       const char *line, const struct fmt_ctx *ctx, char *why, size_t whylen)
{
	struct fbuf tmp = { 0 };
	int rc = 0;

	if (!cJSON_IsObject(rec)) {
		fmt_why(why, whylen, "the record is not a JSON object");
		return -1;
	}
	switch (f) {
	case FMT_JSON:
		if (type == OUT_SYSLOG)
			fmt_syslog(&tmp, false, rec, line, ctx);
		else if (line)
			fmt_put_json_line(&tmp, line);
		else
			rc = put_doc(&tmp, cJSON_Duplicate(rec, true), why, whylen);
		break;
	case FMT_RFC5424:
		fmt_syslog(&tmp, true, rec, line, ctx);
		break;
	case FMT_CEF:
		fmt_cef(&tmp, rec, ctx);
		break;
	case FMT_FALCO:
		rc = put_doc(&tmp, fmt_falco_doc(rec, ctx, why, whylen), why, whylen);
		break;
	case FMT_ECS:
		rc = put_doc(&tmp, fmt_ecs_doc(rec, ctx, why, whylen), why, whylen);
		break;
	case FMT_OCSF:
		rc = put_doc(&tmp, fmt_ocsf_doc(rec, ctx, why, whylen), why, whylen);
		break;
	default:
		fmt_why(why, whylen, "unknown format %d", (int)f);
		rc = -1;
	}
	if (!rc && tmp.oom) {
		fmt_why(why, whylen, "out of memory");
		rc = -1;
	}
	if (!rc) {
		fmt_put_utf8(out, tmp.p ? tmp.p : "", tmp.len);
		if (out->oom) {
			fmt_why(why, whylen, "out of memory");
			rc = -1;
		}
	}
	fbuf_free(&tmp);
	return rc;
}
