/* OCSF 1.1.0 Detection Finding. Every record kind maps to it (inventory
 * records as Informational findings; an output can leave them out with
 * "records"). An incident is one finding across its records: its id is
 * finding_info.uid, and new, update and closed are the activities Create,
 * Update and Close. raw_data is left out: "unmapped" already holds the
 * whole record. docs/forwarding.md tables the mapping. */
#include <stdio.h>
#include <string.h>

#include "fmt_attack.h"
#include "fmt_common.h"
#include "fmt_ocsf.h"
#include "fmt_summary.h"

#define OCSF_VERSION "1.1.0"
#define CLASS_UID 2004

static void add_str(cJSON *o, const char *key, const char *v)
{
	if (o && v)
		cJSON_AddStringToObject(o, key, v);
}

static void add_int(cJSON *o, const char *key, const cJSON *from, const char *path)
{
	long long v;

	if (o && fmt_int(from, path, &v))
		cJSON_AddNumberToObject(o, key, (double)v);
}

/* activity_id: 1 Create; an incident's update 2 Update, closed 3 Close. */
static int activity(const cJSON *rec)
{
	const char *st = fmt_str(rec, "status");

	if (fmt_kind_of(rec) != REC_INCIDENT || !st)
		return 1;
	if (!strcmp(st, "update"))
		return 2;
	if (!strcmp(st, "closed"))
		return 3;
	return 1;
}

static void add_classification(cJSON *doc, const cJSON *rec)
{
	static const char *const acts[] = { "", "Create", "Update", "Close" };
	static const char *const sevs[] = { [FSEV_NONE] = "Informational",
					    [FSEV_LOW] = "Low",
					    [FSEV_MEDIUM] = "Medium",
					    [FSEV_HIGH] = "High",
					    [FSEV_CRITICAL] = "Critical" };
	enum fmt_sev sev = fmt_sev_of(rec);
	int a = activity(rec);
	char tn[64];

	cJSON_AddNumberToObject(doc, "class_uid", CLASS_UID);
	add_str(doc, "class_name", "Detection Finding");
	cJSON_AddNumberToObject(doc, "category_uid", 2);
	add_str(doc, "category_name", "Findings");
	cJSON_AddNumberToObject(doc, "activity_id", a);
	add_str(doc, "activity_name", acts[a]);
	cJSON_AddNumberToObject(doc, "type_uid", CLASS_UID * 100 + a);
	snprintf(tn, sizeof(tn), "Detection Finding: %s", acts[a]);
	add_str(doc, "type_name", tn);
	/* severity_id: 1 Informational, 2 Low, 3 Medium, 4 High, 5 Critical */
	cJSON_AddNumberToObject(doc, "severity_id", 1 + (int)sev);
	add_str(doc, "severity", sevs[sev]);
}

/* status_id: 1 New; an incident's update 2 In Progress; closed 99 Other
 * ("Closed": the lineage ended, nobody resolved it). */
static void add_status(cJSON *doc, int act)
{
	static const struct {
		int id;
		const char *name;
	} st[] = { { 0, "" }, { 1, "New" }, { 2, "In Progress" }, { 99, "Closed" } };

	cJSON_AddNumberToObject(doc, "status_id", st[act].id);
	add_str(doc, "status", st[act].name);
}

static void add_metadata(cJSON *doc, const cJSON *rec, const struct fmt_ctx *ctx)
{
	cJSON *m = cJSON_AddObjectToObject(doc, "metadata"), *p, *labels;
	const cJSON *tag;

	if (!m)
		return;
	add_str(m, "version", OCSF_VERSION);
	if ((p = cJSON_AddObjectToObject(m, "product"))) {
		add_str(p, "name", "mlwatch");
		add_str(p, "vendor_name", "mlwatch");
		add_str(p, "version", ctx ? ctx->version : NULL);
	}
	add_str(m, "uid", fmt_str(rec, "id"));
	add_str(m, "correlation_uid", fmt_str(rec, "incident"));
	add_str(m, "event_code", fmt_signature(rec));
	add_str(m, "log_name", fmt_kind_name(fmt_kind_of(rec)));
	add_str(m, "original_time", fmt_str(rec, "time"));
	if ((labels = cJSON_AddArrayToObject(m, "labels")))
		cJSON_ArrayForEach(tag, fmt_get(rec, "tags"))
			if (cJSON_IsString(tag))
				cJSON_AddItemToArray(labels, cJSON_CreateString(tag->valuestring));
}

static cJSON *analytic(const char *uid, const char *name)
{
	cJSON *a = cJSON_CreateObject();

	add_str(a, "uid", uid);
	add_str(a, "name", name);
	cJSON_AddNumberToObject(a, "type_id", 1);
	add_str(a, "type", "Rule");
	return a;
}

static cJSON *entity(const char *uid)
{
	cJSON *e = cJSON_CreateObject();
	const char *name = attack_name(uid);

	add_str(e, "uid", uid);
	add_str(e, "name", name);
	return e;
}

static void add_attacks(cJSON *fi, const cJSON *rec)
{
	cJSON *arr = cJSON_CreateArray(), *a;
	const cJSON *tag;
	char parent[8];

	cJSON_ArrayForEach(tag, fmt_get(rec, "tags")) {
		const char *id = cJSON_IsString(tag) ? tag->valuestring : NULL;
		enum attack_kind k = attack_kind_of(id);

		if (k == ATK_NONE || !(a = cJSON_CreateObject()))
			continue;
		if (k == ATK_TACTIC) {
			cJSON_AddItemToObject(a, "tactic", entity(id));
		} else if (k == ATK_TECHNIQUE) {
			cJSON_AddItemToObject(a, "technique", entity(id));
		} else {
			snprintf(parent, sizeof(parent), "%.5s", id);
			cJSON_AddItemToObject(a, "technique", entity(parent));
			cJSON_AddItemToObject(a, "sub_technique", entity(id));
		}
		cJSON_AddItemToArray(arr, a);
	}
	if (cJSON_GetArraySize(arr))
		cJSON_AddItemToObject(fi, "attacks", arr);
	else
		cJSON_Delete(arr);
}

static void add_time_ms(cJSON *o, const char *key, const char *rfc3339)
{
	struct fmt_time t;

	if (fmt_time_parse(rfc3339, &t) == 0)
		fmt_add_u64(o, key, fmt_time_ms(&t));
}

static void add_finding_info(cJSON *doc, const cJSON *rec, const char *sum)
{
	cJSON *fi = cJSON_AddObjectToObject(doc, "finding_info"), *types, *rel;
	unsigned kind = fmt_kind_of(rec);
	const char *uid = fmt_str(rec, kind == REC_INCIDENT ? "incident" : "id");
	const char *rule = fmt_str(rec, "rule.id"), *ek = fmt_str(rec, "event.kind");
	const cJSON *c;

	if (!fi)
		return;
	add_str(fi, "uid", uid ? uid : fmt_signature(rec));
	add_str(fi, "title", fmt_title(rec));
	add_str(fi, "desc", sum);
	if ((types = cJSON_AddArrayToObject(fi, "types")))
		cJSON_AddItemToArray(types, cJSON_CreateString(ek ? ek : fmt_kind_name(kind)));
	if (rule)
		cJSON_AddItemToObject(fi, "analytic", analytic(rule, fmt_str(rec, "rule.title")));
	if (kind == REC_INCIDENT && cJSON_GetArraySize(fmt_get(rec, "chains")) > 0 &&
	    (rel = cJSON_AddArrayToObject(fi, "related_analytics")))
		cJSON_ArrayForEach(c, fmt_get(rec, "chains"))
			if (fmt_str(c, "id"))
				cJSON_AddItemToArray(rel, analytic(fmt_str(c, "id"),
								   fmt_str(c, "title")));
	add_attacks(fi, rec);
	add_time_ms(fi, "first_seen_time", fmt_str(rec, "first_seen"));
	add_time_ms(fi, "last_seen_time", fmt_str(rec, "last_seen"));
}

static cJSON *file_obj(const char *path)
{
	cJSON *f = cJSON_CreateObject();
	const char *base = strrchr(path, '/');

	add_str(f, "name", base && base[1] ? base + 1 : path);
	add_str(f, "path", path);
	/* type_id 1: Regular File */
	cJSON_AddNumberToObject(f, "type_id", 1);
	add_str(f, "type", "Regular File");
	return f;
}

/* The acting process: pid, name, cmd_line, file, parent, user and the
 * executables of its ancestry up to the loader (lineage). */
static cJSON *process_obj(const cJSON *rec, const cJSON *actor)
{
	cJSON *p = cJSON_CreateObject(), *o;
	const char *exe = fmt_str(actor, "exe"), *pexe = fmt_parent_exe(rec);
	const cJSON *args = fmt_get(actor, "args"), *anc = fmt_get(rec, "ancestry"), *a;
	struct fbuf b = { 0 };
	long long uid;
	char num[24];
	int i = 0;

	add_int(p, "pid", actor, "pid");
	add_int(p, "tid", actor, "tid");
	add_str(p, "name", fmt_str(actor, "comm"));
	if (cJSON_IsArray(args)) {
		fmt_join_args(&b, args, 0);
		add_str(p, "cmd_line", b.len ? b.p : "");
		fbuf_free(&b);
	}
	if (exe && *exe)
		cJSON_AddItemToObject(p, "file", file_obj(exe));
	if (fmt_get(actor, "ppid") && (o = cJSON_AddObjectToObject(p, "parent_process"))) {
		add_int(o, "pid", actor, "ppid");
		if (pexe)
			cJSON_AddItemToObject(o, "file", file_obj(pexe));
	}
	if (fmt_int(actor, "uid", &uid) && (o = cJSON_AddObjectToObject(p, "user"))) {
		snprintf(num, sizeof(num), "%lld", uid);
		add_str(o, "uid", num);
	}
	if (cJSON_GetArraySize(anc) > 1 && (o = cJSON_AddArrayToObject(p, "lineage")))
		cJSON_ArrayForEach(a, anc)
			if (i++ > 0 && fmt_str(a, "exe"))
				cJSON_AddItemToArray(o, cJSON_CreateString(fmt_str(a, "exe")));
	if ((o = (cJSON *)fmt_get(rec, "container.id")) && cJSON_IsString(o)) {
		cJSON *c = cJSON_AddObjectToObject(p, "container");

		add_str(c, "uid", o->valuestring);
		add_str(c, "runtime", fmt_str(rec, "container.runtime"));
		if (fmt_str(rec, "k8s.pod_uid")) {
			add_str(c, "pod_uuid", fmt_str(rec, "k8s.pod_uid"));
			add_str(c, "orchestrator", "Kubernetes");
		}
	}
	return p;
}

static void add_evidence(cJSON *doc, const cJSON *rec)
{
	const cJSON *actor = fmt_actor(rec);
	const char *ek = fmt_str(rec, "event.kind"), *addr, *path = NULL;
	cJSON *ev = cJSON_CreateObject(), *arr, *d;
	long long port;

	if (!ev)
		return;
	if (actor && (fmt_get(actor, "pid") || fmt_get(actor, "exe")))
		cJSON_AddItemToObject(ev, "process", process_obj(rec, actor));
	if (ek && (!strcmp(ek, "open") || !strcmp(ek, "link"))) {
		path = fmt_str(rec, "event.resolved_path");
		if (!path || !*path)
			path = fmt_str(rec, "event.path");
	}
	if (path && *path)
		cJSON_AddItemToObject(ev, "file", file_obj(path));
	if (fmt_dest(rec, &addr, &port) && (d = cJSON_AddObjectToObject(ev, "dst_endpoint"))) {
		add_str(d, "ip", addr);
		if (port >= 0)
			cJSON_AddNumberToObject(d, "port", (double)port);
	}
	if (!ev->child || !(arr = cJSON_AddArrayToObject(doc, "evidences"))) {
		cJSON_Delete(ev);
		return;
	}
	cJSON_AddItemToArray(arr, ev);
}

/* The model is the affected resource. */
static void add_resources(cJSON *doc, const cJSON *rec)
{
	const char *m = fmt_model_path(rec), *sha = fmt_str(rec, "model.sha256");
	cJSON *arr, *r;

	if (!m || !(arr = cJSON_AddArrayToObject(doc, "resources")) || !(r = cJSON_CreateObject()))
		return;
	add_str(r, "type", "model");
	add_str(r, "name", m);
	add_str(r, "uid", sha);
	cJSON_AddItemToArray(arr, r);
}

cJSON *fmt_ocsf_doc(const cJSON *rec, const struct fmt_ctx *ctx, char *why, size_t whylen)
{
	const char *host = fmt_host(rec, ctx);
	struct fmt_time t;
	struct fbuf msg = { 0 };
	char sum[1024];
	cJSON *doc, *copy, *dev;

	if (fmt_time_of(rec, &t)) {
		fmt_why(why, whylen, "the record has no valid \"time\"");
		return NULL;
	}
	doc = cJSON_CreateObject();
	copy = cJSON_Duplicate(rec, true);
	if (!doc || !copy) {
		cJSON_Delete(doc);
		cJSON_Delete(copy);
		fmt_why(why, whylen, "out of memory");
		return NULL;
	}
	add_classification(doc, rec);
	fmt_add_u64(doc, "time", fmt_time_ms(&t));
	fmt_summary(rec, sum, sizeof(sum));
	fbuf_printf(&msg, "%s: %s", fmt_title(rec), sum);
	add_str(doc, "message", msg.p);
	fbuf_free(&msg);
	add_status(doc, activity(rec));
	add_metadata(doc, rec, ctx);
	add_finding_info(doc, rec, sum);
	if (*host && (dev = cJSON_AddObjectToObject(doc, "device"))) {
		add_str(dev, "hostname", host);
		/* type_id 0: Unknown (a GPU node may be a server or a desktop) */
		cJSON_AddNumberToObject(dev, "type_id", 0);
		add_str(dev, "type", "Unknown");
	}
	add_evidence(doc, rec);
	add_resources(doc, rec);
	cJSON_AddItemToObject(doc, "unmapped", copy);
	return doc;
}
