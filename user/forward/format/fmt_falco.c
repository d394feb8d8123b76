/* Falco's alert shape. "rule" is the signature (the rule id, or the record
 * kind): ids are stable, unique and never edited by a rules file, so a
 * Falcosidekick or Falco Talon match on them keeps working; the title is
 * in "output". output_fields use Falco's own field names where one fits
 * and mlwatch.* for the rest; docs/forwarding.md tables them. */
#include <stdio.h>
#include <string.h>

#include "fmt_common.h"
#include "fmt_falco.h"
#include "fmt_summary.h"
#include "lib/textsan.h"

/* Falco priorities: critical Critical, high Error, medium Warning, low
 * Notice, none Informational. */
static const char *priority(const cJSON *rec)
{
	static const char *const names[] = { [FSEV_NONE] = "Informational",
					     [FSEV_LOW] = "Notice",
					     [FSEV_MEDIUM] = "Warning",
					     [FSEV_HIGH] = "Error",
					     [FSEV_CRITICAL] = "Critical" };

	return names[fmt_sev_of(rec)];
}

/* evt.type: the system call Falco would name for the event. */
static const char *evt_type(const cJSON *rec)
{
	const char *k = fmt_str(rec, "event.kind"), *sc = fmt_str(rec, "event.syscall");

	if (!k)
		return NULL;
	if (!strcmp(k, "exec"))
		return "execve";
	if (!strcmp(k, "open"))
		return "openat";
	if (!strcmp(k, "send"))
		return "sendto";
	if ((!strcmp(k, "dup") || !strcmp(k, "link")) && sc)
		return sc;
	return k;
}

static void add_str(cJSON *o, const char *key, const char *v)
{
	if (v)
		cJSON_AddStringToObject(o, key, v);
}

static void add_int(cJSON *o, const char *key, const cJSON *from, const char *path)
{
	long long v;

	if (fmt_int(from, path, &v))
		cJSON_AddNumberToObject(o, key, (double)v);
}

/* proc.cmdline is the name and the arguments after argv[0], as Falco has
 * it; proc.args the arguments alone. */
static void add_cmdline(cJSON *f, const cJSON *actor)
{
	const cJSON *args = fmt_get(actor, "args");
	const char *comm = fmt_str(actor, "comm");
	struct fbuf b = { 0 };

	if (cJSON_IsArray(args)) {
		fmt_join_args(&b, args, 1);
		add_str(f, "proc.args", b.len ? b.p : "");
	}
	if (comm) {
		fbuf_reset(&b);
		fbuf_puts(&b, comm);
		if (cJSON_GetArraySize(args) > 1)
			fbuf_puts(&b, " ");
		fmt_join_args(&b, args, 1);
		add_str(f, "proc.cmdline", b.p);
	}
	fbuf_free(&b);
}

static void add_fd(cJSON *f, const cJSON *rec)
{
	const char *k = fmt_str(rec, "event.kind"), *addr, *p;
	long long port;
	int fam = fmt_dest(rec, &addr, &port);
	char name[128];

	if (fam) {
		snprintf(name, sizeof(name), fam == 6 ? "[%s]:%lld" : "%s:%lld", addr,
			 port < 0 ? 0 : port);
		add_str(f, "fd.name", name);
		add_str(f, "fd.sip", addr);
		if (port >= 0)
			cJSON_AddNumberToObject(f, "fd.sport", (double)port);
		return;
	}
	if (!k || (strcmp(k, "open") && strcmp(k, "link")))
		return;
	p = fmt_str(rec, "event.resolved_path");
	add_str(f, "fd.name", p && *p ? p : fmt_str(rec, "event.path"));
}

/* A Python audit event: its name and its arguments joined by spaces. */
static void add_python(cJSON *f, const cJSON *rec)
{
	const cJSON *args = fmt_get(rec, "event.args");
	const char *k = fmt_str(rec, "event.kind");
	struct fbuf b = { 0 };

	if (!k || strcmp(k, "python"))
		return;
	add_str(f, "mlwatch.python.audit", fmt_str(rec, "event.audit"));
	if (cJSON_IsArray(args)) {
		fmt_join_args(&b, args, 0);
		add_str(f, "mlwatch.python.args", b.len ? b.p : "");
	}
	fbuf_free(&b);
}

static void add_chains(cJSON *f, const cJSON *rec)
{
	const cJSON *c;
	struct fbuf b = { 0 };

	cJSON_ArrayForEach(c, fmt_get(rec, "chains")) {
		const char *id = fmt_str(c, "id");

		if (!id)
			continue;
		if (b.len)
			fbuf_puts(&b, ",");
		fbuf_puts(&b, id);
	}
	if (b.len)
		add_str(f, "mlwatch.chains", b.p);
	fbuf_free(&b);
}

static cJSON *output_fields(const cJSON *rec, const struct fmt_ctx *ctx, const struct fmt_time *t)
{
	const cJSON *actor = fmt_actor(rec);
	cJSON *f = cJSON_CreateObject();
	const char *s;

	if (!f)
		return NULL;
	fmt_add_u64(f, "evt.time", fmt_time_ns(t));
	add_str(f, "evt.hostname", fmt_host(rec, ctx));
	add_str(f, "evt.type", evt_type(rec));
	add_int(f, "proc.pid", actor, "pid");
	add_int(f, "thread.tid", actor, "tid");
	add_int(f, "proc.ppid", actor, "ppid");
	add_str(f, "proc.exepath", fmt_str(actor, "exe"));
	add_str(f, "proc.name", fmt_str(actor, "comm"));
	add_cmdline(f, actor);
	add_str(f, "proc.pexepath", fmt_parent_exe(rec));
	add_int(f, "user.uid", actor, "uid");
	add_fd(f, rec);
	add_str(f, "container.id", fmt_str(rec, "container.id"));
	add_str(f, "k8s.pod.name", fmt_str(rec, "k8s.pod"));
	add_str(f, "k8s.ns.name", fmt_str(rec, "k8s.namespace"));
	add_str(f, "k8s.pod.uid", fmt_str(rec, "k8s.pod_uid"));
	add_str(f, "mlwatch.id", fmt_str(rec, "id"));
	add_str(f, "mlwatch.record", fmt_str(rec, "record"));
	add_str(f, "mlwatch.rule.id", fmt_str(rec, "rule.id"));
	add_str(f, "mlwatch.rule.title", fmt_str(rec, "rule.title"));
	add_str(f, "mlwatch.severity", fmt_str(rec, "severity"));
	add_str(f, "mlwatch.event.kind", fmt_str(rec, "event.kind"));
	add_python(f, rec);
	add_str(f, "mlwatch.incident", fmt_str(rec, "incident"));
	add_str(f, "mlwatch.incident.status", fmt_str(rec, "status"));
	add_chains(f, rec);
	if (fmt_kind_of(rec) != REC_INCIDENT) {
		add_int(f, "mlwatch.loader.pid", rec, "loader.pid");
		add_str(f, "mlwatch.loader.exepath", fmt_str(rec, "loader.exe"));
	}
	add_str(f, "mlwatch.model.path", fmt_model_path(rec));
	if (!(s = fmt_str(rec, "loader.model.format")))
		s = fmt_str(rec, "model.format");
	add_str(f, "mlwatch.model.format", s);
	add_str(f, "mlwatch.model.sha256", fmt_str(rec, "model.sha256"));
	return f;
}

/* "<time>: <Priority> <title>: <summary> (proc.exepath=.. ...)", as Falco
 * writes its output line with time_format_iso_8601. */
static void output_line(const cJSON *rec, const struct fmt_time *t, char *out, size_t len)
{
	const cJSON *actor = fmt_actor(rec);
	char ts[48], sum[1024];
	const char *s;
	long long v;
	size_t o, start;

	fmt_time_text(t, 9, "+0000", ts, sizeof(ts));
	fmt_summary(rec, sum, sizeof(sum));
	o = text_putf(out, len, 0, "%s: %s ", ts, priority(rec));
	o = text_put(out, len, o, fmt_title(rec));
	o = text_putf(out, len, o, ": %s (", sum);
	start = o;
	if (fmt_int(actor, "pid", &v))
		o = text_putf(out, len, o, "proc.pid=%lld ", v);
	if ((s = fmt_str(actor, "exe"))) {
		o = text_putf(out, len, o, "proc.exepath=");
		o = text_put(out, len, o, s);
		o = text_putf(out, len, o, " ");
	}
	if (fmt_int(actor, "uid", &v))
		o = text_putf(out, len, o, "user.uid=%lld ", v);
	if ((s = fmt_model_path(rec))) {
		o = text_putf(out, len, o, "model=");
		o = text_put(out, len, o, s);
		o = text_putf(out, len, o, " ");
	}
	if ((s = fmt_str(rec, "incident"))) {
		o = text_putf(out, len, o, "incident=");
		o = text_put(out, len, o, s);
		o = text_putf(out, len, o, " ");
	}
	if (o == start && o < len) {
		/* no fields: no parentheses */
		out[o - 2] = '\0';
		return;
	}
	/* the last space becomes the closing parenthesis */
	if (o < len && out[o - 1] == ' ')
		o--;
	text_putf(out, len, o, ")");
}

cJSON *fmt_falco_doc(const cJSON *rec, const struct fmt_ctx *ctx, char *why, size_t whylen)
{
	cJSON *doc, *tags, *fields;
	const cJSON *tag;
	struct fmt_time t;
	char ts[48], line[4096];
	const char *id = fmt_str(rec, "id");

	if (fmt_time_of(rec, &t)) {
		fmt_why(why, whylen, "the record has no valid \"time\"");
		return NULL;
	}
	doc = cJSON_CreateObject();
	tags = cJSON_CreateArray();
	fields = output_fields(rec, ctx, &t);
	if (!doc || !tags || !fields) {
		cJSON_Delete(doc);
		cJSON_Delete(tags);
		cJSON_Delete(fields);
		fmt_why(why, whylen, "out of memory");
		return NULL;
	}
	if (id)
		cJSON_AddStringToObject(doc, "uuid", id);
	output_line(rec, &t, line, sizeof(line));
	cJSON_AddStringToObject(doc, "output", line);
	cJSON_AddStringToObject(doc, "priority", priority(rec));
	cJSON_AddStringToObject(doc, "rule", fmt_signature(rec));
	fmt_time_text(&t, 9, "Z", ts, sizeof(ts));
	cJSON_AddStringToObject(doc, "time", ts);
	cJSON_AddItemToObject(doc, "output_fields", fields);
	cJSON_AddStringToObject(doc, "source", "mlwatch");
	cJSON_ArrayForEach(tag, fmt_get(rec, "tags"))
		if (cJSON_IsString(tag))
			cJSON_AddItemToArray(tags, cJSON_CreateString(tag->valuestring));
	cJSON_AddItemToObject(doc, "tags", tags);
	cJSON_AddStringToObject(doc, "hostname", fmt_host(rec, ctx));
	return doc;
}
