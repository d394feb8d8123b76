/* Model scan reports as JSON and as escaped one-line text. */
#include <cjson/cJSON.h>
#include <stdio.h>
#include <string.h>

#include "scan_render.h"
#include "lib/textsan.h"
#include "scan/pickle/pickle_render.h"

const char *scan_verdict_name(enum scan_verdict v)
{
	static const char *const n[] = { "skipped", "clean",      "custom-classes",
					 "error",   "suspicious", "malicious" };
	return (unsigned)v < sizeof(n) / sizeof(n[0]) ? n[v] : "?";
}

const char *scan_finding_kind_name(enum scan_finding_kind k)
{
	static const char *const n[SF_KIND_MAX] = {
		"import",      "parse-error", "limit",       "unscannable",
		"not-scanned", "container",   "keras-layer", "chat-template",
	};
	return (unsigned)k < SF_KIND_MAX ? n[k] : "?";
}

/* Names and members are file bytes: made valid UTF-8 for JSON. */
static bool add_utf8(cJSON *o, const char *key, const char *s)
{
	char buf[SCAN_MEMBER_MAX * 3 + 4];

	utf8_sanitize(s, strlen(s), buf, sizeof(buf));
	return cJSON_AddStringToObject(o, key, buf) != NULL;
}

static bool finding_json(cJSON *a, const struct scan_finding *f)
{
	cJSON *e = cJSON_CreateObject();
	bool ok = e && cJSON_AddItemToArray(a, e);

	ok = ok && cJSON_AddStringToObject(e, "kind", scan_finding_kind_name(f->kind));
	ok = ok &&
	     cJSON_AddStringToObject(e, "severity",
				     f->custom ? "custom" : pickle_severity_name(f->severity));
	ok = ok && add_utf8(e, "member", f->member);
	ok = ok && cJSON_AddNumberToObject(e, "offset", (double)f->offset);
	if (f->kind == SF_IMPORT) {
		char global[2 * PICKLE_NAME_MAX + 2];

		snprintf(global, sizeof(global), "%s.%s", f->module, f->name);
		ok = ok && add_utf8(e, "global", global) && add_utf8(e, "module", f->module) &&
		     add_utf8(e, "name", f->name) &&
		     cJSON_AddBoolToObject(e, "called", f->called) &&
		     cJSON_AddBoolToObject(e, "rebuilt_class", f->custom) &&
		     cJSON_AddNumberToObject(e, "depth", f->depth) &&
		     cJSON_AddStringToObject(e, "profile", f->profile);
	}
	if (*f->detail)
		ok = ok && add_utf8(e, "detail", f->detail);
	return ok;
}

cJSON *scan_report_json(const struct scan_report *r)
{
	cJSON *o = cJSON_CreateObject(), *a;
	bool ok = o != NULL;

	ok = ok && cJSON_AddStringToObject(o, "verdict", scan_verdict_name(r->verdict));
	ok = ok && cJSON_AddStringToObject(o, "format", model_format_name(r->format));
	ok = ok && cJSON_AddNumberToObject(o, "size", (double)r->size);
	ok = ok && cJSON_AddStringToObject(o, "profile", r->profile ? r->profile : "");
	ok = ok && cJSON_AddNumberToObject(o, "members", (double)r->members);
	ok = ok && cJSON_AddNumberToObject(o, "pickles", (double)r->pickles);
	ok = ok && cJSON_AddNumberToObject(o, "imports_allowed", (double)r->imports_allowed);
	ok = ok && cJSON_AddNumberToObject(o, "bytes_read", (double)r->bytes_read);
	if (r->errors) {
		ok = ok && add_utf8(o, "error", r->error);
		ok = ok && cJSON_AddNumberToObject(o, "errors", (double)r->errors);
	}
	if (*r->note)
		ok = ok && add_utf8(o, "note", r->note);
	ok = ok && (a = cJSON_AddArrayToObject(o, "findings"));
	for (size_t i = 0; ok && i < r->nfindings; i++)
		ok = finding_json(a, &r->findings[i]);
	ok = ok && cJSON_AddNumberToObject(o, "findings_dropped", (double)r->findings_dropped);
	if (!ok) {
		cJSON_Delete(o);
		return NULL;
	}
	return o;
}

size_t scan_finding_text(const struct scan_finding *f, char *out, size_t len)
{
	size_t off = 0;

	if (len)
		out[0] = 0;
	off = text_put(out, len, off, *f->member ? f->member : "(file)");
	off = text_putf(out, len, off, " @ %llu: ", (unsigned long long)f->offset);
	if (f->kind == SF_IMPORT) {
		off = text_put(out, len, off, f->module);
		off = text_put(out, len, off, ".");
		off = text_put(out, len, off, f->name);
		off = text_putf(out, len, off, " %s%s, not in profile %s",
				f->custom ? (f->called ? "rebuilt as a class" : "imported") :
				f->called ? "called" :
					    "imported",
				f->depth ? " in a nested pickle" : "", f->profile);
		if (*f->detail) {
			off = text_put(out, len, off, " (");
			off = text_put(out, len, off, f->detail);
			off = text_put(out, len, off, ")");
		}
	} else {
		off = text_putf(out, len, off, "%s: ", scan_finding_kind_name(f->kind));
		off = text_put(out, len, off, f->detail);
	}
	off = text_putf(out, len, off, " [%s]",
			f->custom ? "custom" : pickle_severity_name(f->severity));
	return off;
}
