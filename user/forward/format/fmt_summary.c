/* A record's summary line. The record's strings are attacker-influenced
 * (argv, paths): each goes through text_put, which escapes and cuts. */
#include <stdio.h>
#include <string.h>

#include "fmt_common.h"
#include "fmt_summary.h"
#include "lib/textsan.h"

static size_t put_args(char *out, size_t len, size_t o, const cJSON *args)
{
	const cJSON *a;
	bool first = true;

	cJSON_ArrayForEach(a, args) {
		if (!cJSON_IsString(a) || o >= len)
			continue;
		o = text_putf(out, len, o, "%s", first ? "" : " ");
		o = text_put(out, len, o, a->valuestring);
		first = false;
	}
	return o;
}

static size_t put_addr(char *out, size_t len, size_t o, const cJSON *e)
{
	const char *addr = fmt_str(e, "address");
	long long port;

	if (!addr)
		return o;
	o = text_putf(out, len, o, "%s", strchr(addr, ':') ? "[" : "");
	o = text_put(out, len, o, addr);
	o = text_putf(out, len, o, "%s", strchr(addr, ':') ? "]" : "");
	if (fmt_int(e, "port", &port))
		o = text_putf(out, len, o, ":%lld", port);
	return o;
}

static size_t put_event(char *out, size_t len, size_t o, const cJSON *rec)
{
	const cJSON *e = fmt_get(rec, "event");
	const char *k = fmt_str(e, "kind"), *s;
	long long a, b;

	o = text_put(out, len, o, k);
	o = text_putf(out, len, o, " ");
	if (!strcmp(k, "exec")) {
		const cJSON *args = fmt_get(e, "args");

		if (cJSON_GetArraySize(args) > 0)
			o = put_args(out, len, o, args);
		else
			o = text_put(out, len, o, fmt_str(e, "filename"));
	} else if (!strcmp(k, "open")) {
		s = fmt_str(e, "resolved_path");
		o = text_put(out, len, o, s && *s ? s : fmt_str(e, "path"));
		if ((s = fmt_str(e, "match"))) {
			o = text_putf(out, len, o, " (");
			o = text_put(out, len, o, s);
			o = text_putf(out, len, o, ")");
		}
	} else if (!strcmp(k, "connect") || !strcmp(k, "send")) {
		o = put_addr(out, len, o, e);
		if ((s = fmt_str(e, "dest_class"))) {
			o = text_putf(out, len, o, " (");
			o = text_put(out, len, o, s);
			o = text_putf(out, len, o, ")");
		}
	} else if (!strcmp(k, "dup")) {
		if (fmt_int(e, "oldfd", &a) && fmt_int(e, "newfd", &b))
			o = text_putf(out, len, o, "%lld -> %lld", a, b);
		if (fmt_str(e, "peer.address")) {
			o = text_putf(out, len, o, " (socket ");
			o = put_addr(out, len, o, fmt_get(e, "peer"));
			o = text_putf(out, len, o, ")");
		}
	} else if (!strcmp(k, "link")) {
		o = text_put(out, len, o, fmt_str(e, "syscall"));
		o = text_putf(out, len, o, " ");
		o = text_put(out, len, o, fmt_str(e, "source"));
		o = text_putf(out, len, o, " -> ");
		o = text_put(out, len, o, fmt_str(e, "path"));
	} else if (!strcmp(k, "socket")) {
		o = text_put(out, len, o, fmt_str(e, "class"));
	} else if (!strcmp(k, "python")) {
		/* "python pickle.find_class posix system", "python os.system id" */
		o = text_put(out, len, o, fmt_str(e, "audit"));
		o = text_putf(out, len, o, " ");
		o = put_args(out, len, o, fmt_get(e, "args"));
	}
	if ((s = fmt_str(e, "enforcement"))) {
		o = text_putf(out, len, o, " [");
		o = text_put(out, len, o, s);
		o = text_putf(out, len, o, "]");
	}
	if ((s = fmt_str(e, "action"))) {
		o = text_putf(out, len, o, " [");
		o = text_put(out, len, o, s);
		o = text_putf(out, len, o, "]");
	}
	return o;
}

static size_t put_counts(char *out, size_t len, size_t o, const cJSON *rec)
{
	const cJSON *c;
	const char *s;
	long long v;
	bool first = true;

	if ((s = fmt_str(rec, "sensor.output"))) {
		o = text_putf(out, len, o, "output ");
		o = text_put(out, len, o, s);
		o = text_putf(out, len, o, ": ");
	}
	cJSON_ArrayForEach(c, fmt_get(rec, "sensor.counts")) {
		if (!c->string || !fmt_int(c, "", &v))
			continue;
		o = text_putf(out, len, o, "%s", first ? "" : " ");
		o = text_put(out, len, o, c->string);
		o = text_putf(out, len, o, "=%lld", v);
		first = false;
	}
	if (fmt_int(rec, "sensor.window_ms", &v))
		o = text_putf(out, len, o, " in %lld ms", v);
	if (fmt_int(rec, "sensor.vital_lost", &v))
		o = text_putf(out, len, o, " (vital: %lld)", v);
	if ((s = fmt_str(rec, "sensor.error"))) {
		o = text_putf(out, len, o, " (");
		o = text_put(out, len, o, s);
		o = text_putf(out, len, o, ")");
	}
	return o;
}

void fmt_summary(const cJSON *rec, char *out, size_t len)
{
	unsigned kind = fmt_kind_of(rec);
	const char *r = fmt_str(rec, "record"), *s;
	long long a = 0, b = 0;
	size_t o = 0;

	if (!len)
		return;
	out[0] = '\0';
	if (kind == REC_ALERT && fmt_str(rec, "event.kind")) {
		o = put_event(out, len, o, rec);
	} else if (fmt_get(rec, "sensor")) {
		o = put_counts(out, len, o, rec);
	} else if (kind == REC_ALERT && fmt_get(rec, "held_back")) {
		fmt_int(rec, "held_back.records", &a);
		fmt_int(rec, "held_back.loads", &b);
		o = text_putf(out, len, o, "%lld inventory records (%lld loads) held back", a, b);
	} else if (kind == REC_ALERT && fmt_get(rec, "match")) {
		o = text_putf(out, len, o, "model ");
		o = text_put(out, len, o, fmt_model_path(rec));
		o = text_putf(out, len, o, " matched by ");
		o = text_put(out, len, o, fmt_str(rec, "match.by"));
	} else if (kind == REC_INCIDENT) {
		o = text_putf(out, len, o, "incident ");
		o = text_put(out, len, o, fmt_str(rec, "incident"));
		o = text_putf(out, len, o, " ");
		o = text_put(out, len, o, fmt_str(rec, "status"));
		if (fmt_int(rec, "alerts", &a))
			o = text_putf(out, len, o, ", %lld alerts", a);
		if ((s = fmt_str(rec, "summary.reason"))) {
			o = text_putf(out, len, o, ", ");
			o = text_put(out, len, o, s);
		}
	} else if (r && !strcmp(r, "inventory")) {
		o = text_putf(out, len, o, "model load ");
		o = text_put(out, len, o, fmt_model_path(rec));
		if ((s = fmt_str(rec, "model.format"))) {
			o = text_putf(out, len, o, " (");
			o = text_put(out, len, o, s);
			o = text_putf(out, len, o, ")");
		}
		o = text_putf(out, len, o, " by ");
		o = text_put(out, len, o, fmt_str(rec, "process.exe"));
		if (fmt_int(rec, "process.pid", &a))
			o = text_putf(out, len, o, " pid %lld", a);
	} else if (r && !strcmp(r, "inventory-held-back")) {
		fmt_int(rec, "records", &a);
		fmt_int(rec, "loads", &b);
		o = text_putf(out, len, o, "%lld inventory records (%lld loads) held back", a, b);
	} else {
		o = text_put(out, len, o, fmt_title(rec));
	}
	(void)o;
}
