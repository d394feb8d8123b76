/*
 * An incident rendered as a JSON record or one line of text. Every string
 * is attacker-influenced (argv, paths) and passes utf8_sanitize or
 * text_escape on the way out.
 */
#include <cjson/cJSON.h>
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include <mlwatch/schema.h>

#include "incident_render.h"
#include "detect/alert.h"
#include "detect/pathclass.h"
#include "record_id.h"
#include "lib/textsan.h"
#include "lib/timefmt.h"
#include "scan/model_scan.h"

static void add_str(cJSON *obj, const char *key, const char *s)
{
	char buf[3 * INCIDENT_MODEL_MAX + 4];

	utf8_sanitize(s ? s : "", s ? strlen(s) : 0, buf, sizeof(buf));
	cJSON_AddStringToObject(obj, key, buf);
}

static void add_time(cJSON *obj, const char *key, uint64_t mono_ns, int64_t off)
{
	char ts[64];

	format_rfc3339(mono_ns + (uint64_t)off, ts, sizeof(ts));
	cJSON_AddStringToObject(obj, key, ts);
}

static void add_num(cJSON *obj, const char *key, uint64_t v)
{
	cJSON_AddNumberToObject(obj, key, (double)v);
}

static const char *sev_name(int s)
{
	return s < SEV_LOW ? "low" :
			     severity_name(s > SEV_CRITICAL ? SEV_CRITICAL : (enum severity)s);
}

static cJSON *tags_of(const struct incident *inc, uint32_t mask)
{
	cJSON *arr = cJSON_CreateArray();

	for (size_t i = 0; i < inc->n_tags; i++)
		if (mask & (1u << i))
			cJSON_AddItemToArray(arr, cJSON_CreateString(inc->tags[i]));
	return arr;
}

static cJSON *chains_json(const struct incident *inc)
{
	cJSON *arr = cJSON_CreateArray();

	for (size_t i = 0; i < inc->n_chains; i++) {
		const struct incident_chain *c = &incident_chains[inc->chain_order[i]];
		cJSON *o = cJSON_CreateObject(), *tags = cJSON_CreateArray();

		add_str(o, "id", c->id);
		add_str(o, "title", c->title);
		for (int j = 0; j < 6 && c->tags[j]; j++)
			cJSON_AddItemToArray(tags, cJSON_CreateString(c->tags[j]));
		cJSON_AddItemToObject(o, "tags", tags);
		cJSON_AddItemToArray(arr, o);
	}
	return arr;
}

static cJSON *timeline_json(const struct incident *inc, int64_t off)
{
	cJSON *arr = cJSON_CreateArray();

	for (size_t i = 0; i < inc->n_steps; i++) {
		const struct incident_step *s = &inc->steps[i];
		cJSON *o = cJSON_CreateObject();

		add_time(o, "time", s->ts_ns, off);
		add_num(o, "pid", s->pid);
		add_str(o, "step", incident_step_name(s->kind));
		add_str(o, "rule", s->rule);
		add_str(o, "severity", sev_name(s->severity));
		add_str(o, "summary", s->summary);
		add_num(o, "count", s->count);
		if (s->count > 1)
			add_time(o, "last_seen", s->last_ns, off);
		cJSON_AddItemToObject(o, "tags", tags_of(inc, s->tag_mask));
		cJSON_AddItemToArray(arr, o);
	}
	return arr;
}

static cJSON *suppressed_json(const struct incident *inc)
{
	cJSON *o = cJSON_CreateObject();

	add_num(o, "duplicates", inc->sup.duplicates);
	add_num(o, "rate_limited", inc->sup.rate_limited);
	add_num(o, "global_limited", inc->sup.global_limited);
	add_num(o, "steps_cut", inc->sup.steps_cut);
	add_num(o, "tags_cut", inc->sup.tags_cut);
	add_num(o, "pids_cut", inc->sup.pids_cut);
	return o;
}

static cJSON *summary_json(const struct incident *inc)
{
	cJSON *o = cJSON_CreateObject(), *pids = cJSON_CreateArray(), *chains = cJSON_CreateArray();

	add_str(o, "reason", incident_close_reason_name(inc->close_reason));
	add_num(o, "steps", inc->n_steps + inc->sup.steps_cut);
	add_num(o, "alerts", inc->alerts);
	add_num(o, "duration_ms",
		inc->last_ns > inc->first_ns ? (inc->last_ns - inc->first_ns) / 1000000ull : 0);
	add_num(o, "distinct_pids", inc->n_pids);
	for (size_t i = 0; i < inc->n_pids; i++)
		cJSON_AddItemToArray(pids, cJSON_CreateNumber(inc->pids[i]));
	cJSON_AddItemToObject(o, "pids", pids);
	for (size_t i = 0; i < inc->n_chains; i++)
		cJSON_AddItemToArray(chains,
				     cJSON_CreateString(incident_chains[inc->chain_order[i]].id));
	cJSON_AddItemToObject(o, "chains", chains);
	add_num(o, "records", inc->seq);
	return o;
}

cJSON *incident_json_object(const struct incident *inc, enum incident_record status,
			    const char *host, int64_t off)
{
	cJSON *root = cJSON_CreateObject(), *loader = cJSON_CreateObject();

	if (!root || !loader) {
		cJSON_Delete(root);
		cJSON_Delete(loader);
		return NULL;
	}
	add_str(root, "record", "incident");
	cJSON_AddNumberToObject(root, MLW_SCHEMA_KEY, MLW_SCHEMA_VERSION);
	add_record_id(root);
	add_str(root, "status", incident_record_name(status));
	add_str(root, "incident", inc->id);
	add_num(root, "seq", inc->seq);
	add_time(root, "time",
		 status == INCIDENT_CLOSED && inc->close_ns ? inc->close_ns : inc->last_ns, off);
	add_time(root, "first_seen", inc->first_ns, off);
	add_time(root, "last_seen", inc->last_ns, off);
	add_str(root, "host", host);
	add_str(root, "severity", sev_name(inc->severity));
	add_str(root, "title", inc->title[0] ? inc->title : "Activity in a watched lineage");
	cJSON_AddItemToObject(root, "chains", chains_json(inc));
	add_num(loader, "pid", inc->loader_pid);
	add_str(loader, "scope", inc->root_scope ? "control-plane" : "model");
	add_str(loader, "exe", inc->loader_exe);
	add_str(loader, "model", inc->model_path);
	if (inc->model_scan[0])
		add_str(loader, "model_scan", inc->model_scan);
	add_time(loader, "marked_at", inc->mark_ns, off);
	cJSON_AddItemToObject(root, "loader", loader);
	cJSON_AddItemToObject(root, "timeline", timeline_json(inc, off));
	cJSON_AddItemToObject(root, "tags", tags_of(inc, UINT32_MAX));
	add_num(root, "alerts", inc->alerts);
	/* alerts since the previous record: > 1 when records were held back */
	add_num(root, "folded", inc->folded);
	cJSON_AddItemToObject(root, "suppressed", suppressed_json(inc));
	if (status == INCIDENT_CLOSED)
		cJSON_AddItemToObject(root, "summary", summary_json(inc));
	return root;
}

char *incident_to_json(const struct incident *inc, enum incident_record status, const char *host,
		       int64_t realtime_offset_ns)
{
	cJSON *j = incident_json_object(inc, status, host, realtime_offset_ns);
	char *s = j ? cJSON_PrintUnformatted(j) : NULL;

	cJSON_Delete(j);
	return s;
}

/* ---- text */

int incident_to_text(const struct incident *inc, enum incident_record status,
		     int64_t realtime_offset_ns, char *out, size_t len)
{
	const struct incident_step *last = NULL;
	char ts[64];
	size_t o = 0;

	if (len)
		out[0] = 0;
	/* the latest step is the news of an update */
	for (size_t i = 0; i < inc->n_steps; i++)
		if (!last || inc->steps[i].last_ns >= last->last_ns)
			last = &inc->steps[i];
	format_rfc3339((status == INCIDENT_CLOSED && inc->close_ns ? inc->close_ns : inc->last_ns) +
			       (uint64_t)realtime_offset_ns,
		       ts, sizeof(ts));
	o = text_putf(out, len, o, "%s %s incident %s %s", ts, sev_name(inc->severity), inc->id,
		      incident_record_name(status));
	if (status == INCIDENT_CLOSED)
		o = text_putf(out, len, o, " (%s)", incident_close_reason_name(inc->close_reason));
	o = text_putf(out, len, o, ": ");
	o = text_put(out, len, o, inc->title[0] ? inc->title : "Activity in a watched lineage");
	o = text_putf(out, len, o, " | loader pid=%u exe=", inc->loader_pid);
	o = text_put(out, len, o, inc->loader_exe[0] ? inc->loader_exe : "?");
	if (inc->model_path[0] || !inc->root_scope) {
		o = text_putf(out, len, o, " model=");
		o = text_put(out, len, o, inc->model_path[0] ? inc->model_path : "?");
	}
	if (inc->model_scan[0])
		o = text_putf(out, len, o, " scan=%s", inc->model_scan);
	o = text_putf(out, len, o, " | steps=%llu pids=%zu alerts=%llu",
		      (unsigned long long)(inc->n_steps + inc->sup.steps_cut), inc->n_pids,
		      (unsigned long long)inc->alerts);
	if (inc->n_chains) {
		o = text_putf(out, len, o, " chains=");
		for (size_t i = 0; i < inc->n_chains; i++)
			o = text_putf(out, len, o, "%s%s", i ? "," : "",
				      incident_chains[inc->chain_order[i]].id);
	}
	if (status == INCIDENT_CLOSED)
		o = text_putf(out, len, o, " duration=%llums",
			      (unsigned long long)(inc->last_ns > inc->first_ns ?
							   (inc->last_ns - inc->first_ns) /
								   1000000ull :
							   0));
	if (last) {
		o = text_putf(out, len, o, " | last: ");
		o = text_put(out, len, o, last->summary);
		if (last->count > 1)
			o = text_putf(out, len, o, " (x%llu)", (unsigned long long)last->count);
	}
	if (inc->sup.duplicates || inc->sup.rate_limited || inc->sup.global_limited ||
	    inc->sup.steps_cut)
		o = text_putf(out, len, o, " | suppressed dup=%llu rate=%llu global=%llu cut=%llu",
			      (unsigned long long)inc->sup.duplicates,
			      (unsigned long long)inc->sup.rate_limited,
			      (unsigned long long)inc->sup.global_limited,
			      (unsigned long long)inc->sup.steps_cut);
	return (int)o;
}
