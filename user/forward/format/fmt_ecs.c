/* ECS. The categorization fields follow ECS's allowed values; ATT&CK tags
 * fill threat.* (ATLAS ids stay in "tags", ECS has one framework per
 * document); file.* is the file the event touched (open, link), else the
 * model. docs/forwarding.md tables the mapping. */
#include <stdio.h>
#include <string.h>

#include "fmt_attack.h"
#include "fmt_common.h"
#include "fmt_ecs.h"
#include "fmt_summary.h"

#define ECS_VERSION "8.11.0"

static void add_str(cJSON *o, const char *key, const char *v)
{
	if (o && v)
		cJSON_AddStringToObject(o, key, v);
}

/* The pod a record's process runs in: orchestrator.*, labels as the
 * "key:value" list ECS has for them. */
static void add_orchestrator(cJSON *doc, const cJSON *rec)
{
	const char *uid = fmt_str(rec, "k8s.pod_uid");
	const cJSON *l;
	cJSON *o, *r, *arr;

	if (!uid || !(o = cJSON_AddObjectToObject(doc, "orchestrator")))
		return;
	add_str(o, "type", "kubernetes");
	add_str(o, "namespace", fmt_str(rec, "k8s.namespace"));
	if (!(r = cJSON_AddObjectToObject(o, "resource")))
		return;
	add_str(r, "type", "pod");
	add_str(r, "id", uid);
	add_str(r, "name", fmt_str(rec, "k8s.pod"));
	if (!cJSON_GetArraySize(fmt_get(rec, "k8s.labels")) ||
	    !(arr = cJSON_AddArrayToObject(r, "label")))
		return;
	cJSON_ArrayForEach(l, fmt_get(rec, "k8s.labels")) {
		struct fbuf b = { 0 };

		if (!cJSON_IsString(l) || !l->string)
			continue;
		fbuf_puts(&b, l->string);
		fbuf_puts(&b, ":");
		fbuf_puts(&b, l->valuestring);
		if (b.p)
			cJSON_AddItemToArray(arr, cJSON_CreateString(b.p));
		fbuf_free(&b);
	}
}

static bool add_int(cJSON *o, const char *key, const cJSON *from, const char *path)
{
	long long v;

	if (!o || !fmt_int(from, path, &v))
		return false;
	cJSON_AddNumberToObject(o, key, (double)v);
	return true;
}

static cJSON *str_array(const char *a, const char *b)
{
	cJSON *arr = cJSON_CreateArray();

	if (a)
		cJSON_AddItemToArray(arr, cJSON_CreateString(a));
	if (b)
		cJSON_AddItemToArray(arr, cJSON_CreateString(b));
	return arr;
}

static bool has_str(const cJSON *arr, const char *s)
{
	const cJSON *i;

	cJSON_ArrayForEach(i, arr)
		if (cJSON_IsString(i) && !strcmp(i->valuestring, s))
			return true;
	return false;
}

/* The file is written to: a write flag among the open's flags. */
static bool opened_for_write(const cJSON *rec)
{
	static const char *const w[] = { "O_WRONLY", "O_RDWR", "O_CREAT", "O_TRUNC" };
	const cJSON *flags = fmt_get(rec, "event.flags");

	for (size_t i = 0; i < sizeof(w) / sizeof(w[0]); i++)
		if (has_str(flags, w[i]))
			return true;
	return false;
}

/* A Python audit event: a connect is network, starting a program is a
 * process start, the rest (an import, exec, ctypes) process info. */
static void python_category(const cJSON *rec, const char **cat, const char **type)
{
	static const char *const starts[] = { "os.system", "subprocess.Popen", "os.exec",
					      "os.posix_spawn", "os.spawn" };
	const char *a = fmt_str(rec, "event.audit");

	*cat = "process";
	*type = "info";
	if (!a)
		return;
	if (!strncmp(a, "socket.", 7)) {
		*cat = "network";
		*type = "connection";
	}
	for (size_t i = 0; i < sizeof(starts) / sizeof(starts[0]); i++)
		if (!strcmp(a, starts[i]))
			*type = "start";
}

/* event.category and event.type, by record and event kind. */
static void categorize(cJSON *event, const cJSON *rec, unsigned kind)
{
	const char *ek = fmt_str(rec, "event.kind"), *r = fmt_str(rec, "record");
	const char *cat = NULL, *type = "info", *type2 = NULL;

	if (kind == REC_ALERT && ek) {
		if (!strcmp(ek, "exec")) {
			cat = "process", type = "start";
		} else if (!strcmp(ek, "open")) {
			cat = "file", type = opened_for_write(rec) ? "change" : "access";
		} else if (!strcmp(ek, "connect") || !strcmp(ek, "send")) {
			cat = "network", type = "connection";
			if (fmt_str(rec, "event.enforcement"))
				type2 = "denied";
		} else if (!strcmp(ek, "link")) {
			cat = "file", type = "change";
		} else if (!strcmp(ek, "socket")) {
			cat = "network";
		} else if (!strcmp(ek, "python")) {
			python_category(rec, &cat, &type);
		} else {
			cat = "process", type = !strcmp(ek, "dup") ? "change" : "info";
		}
	} else if (kind == REC_ALERT) {
		cat = fmt_get(rec, "held_back") ? "host" : "file";
	} else if (kind == REC_HEALTH || kind == REC_INCIDENT) {
		cat = "intrusion_detection";
	} else if (kind == REC_INVENTORY) {
		cat = "file", type = r && !strcmp(r, "inventory") ? "access" : "info";
	}
	if (!cat)
		return;
	cJSON_AddItemToObject(event, "category", str_array(cat, NULL));
	cJSON_AddItemToObject(event, "type", str_array(type, type2));
}

static void add_event(cJSON *doc, const cJSON *rec, unsigned kind)
{
	static const int risk[] = {
		[FSEV_NONE] = 0, [FSEV_LOW] = 21, [FSEV_MEDIUM] = 47, [FSEV_HIGH] = 73, [FSEV_CRITICAL] = 99
	};
	cJSON *e = cJSON_AddObjectToObject(doc, "event");
	enum fmt_sev sev = fmt_sev_of(rec);
	const char *ek = fmt_str(rec, "event.kind");
	struct fmt_time t;
	char ds[32], ts[48];
	long long res;

	if (!e)
		return;
	add_str(e, "kind",
		kind == REC_ALERT || kind == REC_HEALTH || kind == REC_INCIDENT ? "alert" :
										  "event");
	categorize(e, rec, kind);
	add_str(e, "id", fmt_str(rec, "id"));
	add_str(e, "code", fmt_signature(rec));
	cJSON_AddNumberToObject(e, "severity", sev);
	if (sev != FSEV_NONE)
		cJSON_AddNumberToObject(e, "risk_score", risk[sev]);
	add_str(e, "module", "mlwatch");
	snprintf(ds, sizeof(ds), "mlwatch.%s", fmt_kind_name(kind));
	add_str(e, "dataset", ds);
	/* python: the audit event's name says what was done */
	add_str(e, "action",
		ek && !strcmp(ek, "python") && fmt_str(rec, "event.audit") ?
			fmt_str(rec, "event.audit") :
			ek);
	if (ek && fmt_int(rec, "event.result", &res))
		add_str(e, "outcome", res < 0 ? "failure" : "success");
	if (fmt_time_parse(fmt_str(rec, "first_seen"), &t) == 0) {
		fmt_time_text(&t, 3, "Z", ts, sizeof(ts));
		add_str(e, "start", ts);
	}
	if (fmt_time_parse(fmt_str(rec, "last_seen"), &t) == 0) {
		fmt_time_text(&t, 3, "Z", ts, sizeof(ts));
		add_str(e, "end", ts);
	}
}

static void add_process(cJSON *doc, const cJSON *rec)
{
	const cJSON *actor = fmt_actor(rec), *args = fmt_get(actor, "args"), *a;
	cJSON *p, *o;
	struct fbuf b = { 0 };
	long long uid;
	char num[24];

	if (!actor || !(p = cJSON_AddObjectToObject(doc, "process")))
		return;
	add_int(p, "pid", actor, "pid");
	if (fmt_get(actor, "tid") && (o = cJSON_AddObjectToObject(p, "thread")))
		add_int(o, "id", actor, "tid");
	if (fmt_get(actor, "ppid") && (o = cJSON_AddObjectToObject(p, "parent"))) {
		add_int(o, "pid", actor, "ppid");
		add_str(o, "executable", fmt_parent_exe(rec));
	}
	add_str(p, "executable", fmt_str(actor, "exe"));
	add_str(p, "name", fmt_str(actor, "comm"));
	if (cJSON_IsArray(args) && (o = cJSON_AddArrayToObject(p, "args"))) {
		cJSON_ArrayForEach(a, args)
			if (cJSON_IsString(a))
				cJSON_AddItemToArray(o, cJSON_CreateString(a->valuestring));
		cJSON_AddNumberToObject(p, "args_count", cJSON_GetArraySize(o));
		fmt_join_args(&b, args, 0);
		add_str(p, "command_line", b.len ? b.p : "");
		fbuf_free(&b);
	}
	if (fmt_int(actor, "uid", &uid) && (o = cJSON_AddObjectToObject(p, "user"))) {
		snprintf(num, sizeof(num), "%lld", uid);
		add_str(o, "id", num);
	}
}

static void add_file(cJSON *doc, const cJSON *rec)
{
	const char *ek = fmt_str(rec, "event.kind"), *r = fmt_str(rec, "record"), *path, *base;
	const char *inv = NULL, *sha;
	char key[32];
	cJSON *f, *h;

	if (ek && (!strcmp(ek, "open") || !strcmp(ek, "link"))) {
		path = fmt_str(rec, "event.resolved_path");
		if (!path || !*path)
			path = fmt_str(rec, "event.path");
	} else {
		/* the model; its size and hash from an inventory record */
		path = fmt_model_path(rec);
		if (r && !strcmp(r, "inventory"))
			inv = "model";
		else if (fmt_get(rec, "inventory"))
			inv = "inventory.model";
	}
	if (!path || !*path || !(f = cJSON_AddObjectToObject(doc, "file")))
		return;
	add_str(f, "path", path);
	base = strrchr(path, '/');
	add_str(f, "name", base && base[1] ? base + 1 : path);
	if (!inv)
		return;
	snprintf(key, sizeof(key), "%s.size", inv);
	add_int(f, "size", rec, key);
	snprintf(key, sizeof(key), "%s.sha256", inv);
	if ((sha = fmt_str(rec, key)) && (h = cJSON_AddObjectToObject(f, "hash")))
		add_str(h, "sha256", sha);
}

static void add_destination(cJSON *doc, const cJSON *rec)
{
	const char *addr;
	long long port;
	cJSON *d;

	if (!fmt_dest(rec, &addr, &port) || !(d = cJSON_AddObjectToObject(doc, "destination")))
		return;
	add_str(d, "address", addr);
	add_str(d, "ip", addr);
	if (port >= 0)
		cJSON_AddNumberToObject(d, "port", (double)port);
}

/* Appends id (and its name and reference) to the arrays of one level
 * (technique, subtechnique, tactic) unless it is there. */
static void add_attack(cJSON *level, const char *id, const char *url)
{
	cJSON *ids = cJSON_GetObjectItemCaseSensitive(level, "id");
	const char *name = attack_name(id);

	if (has_str(ids, id))
		return;
	cJSON_AddItemToArray(ids, cJSON_CreateString(id));
	if (name)
		cJSON_AddItemToArray(cJSON_GetObjectItemCaseSensitive(level, "name"),
				     cJSON_CreateString(name));
	cJSON_AddItemToArray(cJSON_GetObjectItemCaseSensitive(level, "reference"),
			     cJSON_CreateString(url));
}

static cJSON *attack_level(void)
{
	cJSON *o = cJSON_CreateObject();

	cJSON_AddArrayToObject(o, "id");
	cJSON_AddArrayToObject(o, "name");
	cJSON_AddArrayToObject(o, "reference");
	return o;
}

static void add_threat(cJSON *doc, const cJSON *rec)
{
	cJSON *tech = attack_level(), *sub = attack_level(), *tac = attack_level(), *th;
	const cJSON *tag;
	char url[96], parent[8];
	bool any = false;

	cJSON_ArrayForEach(tag, fmt_get(rec, "tags")) {
		const char *id = cJSON_IsString(tag) ? tag->valuestring : NULL;

		switch (attack_kind_of(id)) {
		case ATK_TACTIC:
			snprintf(url, sizeof(url), "https://attack.mitre.org/tactics/%s/", id);
			add_attack(tac, id, url);
			break;
		case ATK_SUBTECHNIQUE:
			snprintf(url, sizeof(url), "https://attack.mitre.org/techniques/%.5s/%s/",
				 id, id + 6);
			add_attack(sub, id, url);
			/* and its technique */
			snprintf(parent, sizeof(parent), "%.5s", id);
			snprintf(url, sizeof(url), "https://attack.mitre.org/techniques/%s/",
				 parent);
			add_attack(tech, parent, url);
			break;
		case ATK_TECHNIQUE:
			snprintf(url, sizeof(url), "https://attack.mitre.org/techniques/%s/", id);
			add_attack(tech, id, url);
			break;
		default:
			continue;
		}
		any = true;
	}
	if (!any || !(th = cJSON_AddObjectToObject(doc, "threat"))) {
		cJSON_Delete(tech);
		cJSON_Delete(sub);
		cJSON_Delete(tac);
		return;
	}
	add_str(th, "framework", "MITRE ATT&CK");
	if (cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(sub, "id")))
		cJSON_AddItemToObject(tech, "subtechnique", sub);
	else
		cJSON_Delete(sub);
	if (cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(tech, "id")))
		cJSON_AddItemToObject(th, "technique", tech);
	else
		cJSON_Delete(tech);
	if (cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(tac, "id")))
		cJSON_AddItemToObject(th, "tactic", tac);
	else
		cJSON_Delete(tac);
}

cJSON *fmt_ecs_doc(const cJSON *rec, const struct fmt_ctx *ctx, char *why, size_t whylen)
{
	unsigned kind = fmt_kind_of(rec);
	const char *host = fmt_host(rec, ctx), *s;
	const cJSON *tag;
	struct fmt_time t;
	char ts[48], sum[1024];
	struct fbuf msg = { 0 };
	cJSON *doc, *o, *copy;

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
	fmt_time_text(&t, t.nsec % 1000000 ? 9 : 3, "Z", ts, sizeof(ts));
	add_str(doc, "@timestamp", ts);
	if ((o = cJSON_AddObjectToObject(doc, "ecs")))
		add_str(o, "version", ECS_VERSION);
	add_event(doc, rec, kind);
	fmt_summary(rec, sum, sizeof(sum));
	fbuf_printf(&msg, "%s: %s", fmt_title(rec), sum);
	add_str(doc, "message", msg.p);
	fbuf_free(&msg);
	if (*host && (o = cJSON_AddObjectToObject(doc, "host"))) {
		add_str(o, "hostname", host);
		add_str(o, "name", host);
	}
	if ((o = cJSON_AddObjectToObject(doc, "observer"))) {
		add_str(o, "vendor", "mlwatch");
		add_str(o, "product", "mlwatch");
		add_str(o, "version", ctx ? ctx->version : NULL);
	}
	add_process(doc, rec);
	add_file(doc, rec);
	add_destination(doc, rec);
	add_threat(doc, rec);
	if ((s = fmt_str(rec, "rule.id")) && (o = cJSON_AddObjectToObject(doc, "rule"))) {
		add_str(o, "id", s);
		add_str(o, "name", s);
		add_str(o, "description", fmt_str(rec, "rule.title"));
		add_str(o, "ruleset", "mlwatch");
	}
	if ((s = fmt_str(rec, "container.id")) && (o = cJSON_AddObjectToObject(doc, "container"))) {
		add_str(o, "id", s);
		add_str(o, "runtime", fmt_str(rec, "container.runtime"));
	}
	add_orchestrator(doc, rec);
	if ((o = cJSON_AddArrayToObject(doc, "tags")))
		cJSON_ArrayForEach(tag, fmt_get(rec, "tags"))
			if (cJSON_IsString(tag))
				cJSON_AddItemToArray(o, cJSON_CreateString(tag->valuestring));
	cJSON_AddItemToObject(doc, "mlwatch", copy);
	return doc;
}
