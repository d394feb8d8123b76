/* Record look-ups and escaping shared by the formats. A record is JSON
 * that may carry anything in its strings; a member of the wrong type is
 * treated as absent, never trusted. */
#include <arpa/inet.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "fmt_common.h"
#include "lib/textsan.h"

const cJSON *fmt_get(const cJSON *rec, const char *path)
{
	const cJSON *o = rec;
	char key[64];

	while (o && *path) {
		size_t n = strcspn(path, ".");

		if (!cJSON_IsObject(o) || n >= sizeof(key))
			return NULL;
		memcpy(key, path, n);
		key[n] = '\0';
		o = cJSON_GetObjectItemCaseSensitive(o, key);
		path += n + (path[n] == '.');
	}
	return o;
}

const char *fmt_str(const cJSON *rec, const char *path)
{
	const cJSON *o = fmt_get(rec, path);

	return cJSON_IsString(o) && o->valuestring ? o->valuestring : NULL;
}

bool fmt_int(const cJSON *rec, const char *path, long long *v)
{
	const cJSON *o = fmt_get(rec, path);
	double d;

	if (!cJSON_IsNumber(o))
		return false;
	d = o->valuedouble;
	if (!(d >= -9007199254740992.0 && d <= 9007199254740992.0) || d != (double)(long long)d)
		return false;
	*v = (long long)d;
	return true;
}

/* Days since 1970-01-01 of a proleptic Gregorian date. */
static int64_t days_from_civil(int64_t y, unsigned m, unsigned d)
{
	int64_t era;
	unsigned yoe, doy, doe;

	y -= m <= 2;
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = (unsigned)(y - era * 400);
	doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + (int64_t)doe - 719468;
}

static bool digits(const char **p, unsigned n, unsigned *v)
{
	*v = 0;
	for (unsigned i = 0; i < n; i++, (*p)++) {
		if (**p < '0' || **p > '9')
			return false;
		*v = *v * 10 + (unsigned)(**p - '0');
	}
	return true;
}

int fmt_time_parse(const char *s, struct fmt_time *t)
{
	static const unsigned mdays[] = { 31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
	unsigned y, mo, d, h, mi, se, oh = 0, om = 0, nsec = 0, scale = 100000000;
	const char *p = s;
	int64_t sec;
	int sign = 0;

	if (!s || !digits(&p, 4, &y) || *p++ != '-' || !digits(&p, 2, &mo) || *p++ != '-' ||
	    !digits(&p, 2, &d))
		return -1;
	if (*p != 'T' && *p != 't' && *p != ' ')
		return -1;
	p++;
	if (!digits(&p, 2, &h) || *p++ != ':' || !digits(&p, 2, &mi) || *p++ != ':' ||
	    !digits(&p, 2, &se))
		return -1;
	if (mo < 1 || mo > 12 || d < 1 || d > mdays[mo - 1] || h > 23 || mi > 59 || se > 60)
		return -1;
	if (mo == 2 && d == 29 && (y % 4 || (y % 100 == 0 && y % 400)))
		return -1;
	if (*p == '.') {
		if (*++p < '0' || *p > '9')
			return -1;
		for (; *p >= '0' && *p <= '9'; p++, scale /= 10)
			nsec += (unsigned)(*p - '0') * scale;
	}
	if (*p == 'Z' || *p == 'z') {
		p++;
	} else if (*p == '+' || *p == '-') {
		sign = *p++ == '+' ? 1 : -1;
		if (!digits(&p, 2, &oh) || *p++ != ':' || !digits(&p, 2, &om) || oh > 23 || om > 59)
			return -1;
	} else {
		return -1;
	}
	if (*p)
		return -1;
	sec = days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + se;
	sec -= sign * (int64_t)(oh * 3600 + om * 60);
	/* epoch nanoseconds must fit in an int64 */
	if (sec < 0 || sec > 9223372035)
		return -1;
	t->sec = sec;
	t->nsec = nsec;
	return 0;
}

int fmt_time_of(const cJSON *rec, struct fmt_time *t)
{
	return fmt_time_parse(fmt_str(rec, "time"), t);
}

void fmt_time_text(const struct fmt_time *t, unsigned digits, const char *zone, char *out,
		   size_t len)
{
	time_t sec = (time_t)t->sec;
	struct tm tm;
	char base[40], frac[16] = "";

	if (!gmtime_r(&sec, &tm) || !strftime(base, sizeof(base), "%Y-%m-%dT%H:%M:%S", &tm))
		snprintf(base, sizeof(base), "1970-01-01T00:00:00");
	if (digits == 3)
		snprintf(frac, sizeof(frac), ".%03u", t->nsec / 1000000);
	else if (digits == 6)
		snprintf(frac, sizeof(frac), ".%06u", t->nsec / 1000);
	else if (digits == 9)
		snprintf(frac, sizeof(frac), ".%09u", t->nsec);
	snprintf(out, len, "%s%s%s", base, frac, zone);
}

uint64_t fmt_time_ms(const struct fmt_time *t)
{
	return (uint64_t)t->sec * 1000 + t->nsec / 1000000;
}

uint64_t fmt_time_ns(const struct fmt_time *t)
{
	return (uint64_t)t->sec * 1000000000ull + t->nsec;
}

enum fmt_sev fmt_sev_of(const cJSON *rec)
{
	static const char *const names[] = { "low", "medium", "high", "critical" };
	const char *s;

	if (!fmt_get(rec, "severity"))
		return FSEV_NONE;
	s = fmt_str(rec, "severity");
	for (unsigned i = 0; s && i < 4; i++)
		if (!strcmp(s, names[i]))
			return (enum fmt_sev)(FSEV_LOW + i);
	return FSEV_MEDIUM;
}

const char *fmt_sev_name(enum fmt_sev s)
{
	switch (s) {
	case FSEV_LOW:
		return "low";
	case FSEV_MEDIUM:
		return "medium";
	case FSEV_HIGH:
		return "high";
	case FSEV_CRITICAL:
		return "critical";
	default:
		return "none";
	}
}

unsigned fmt_kind_of(const cJSON *rec)
{
	const char *r = fmt_str(rec, "record"), *id = fmt_str(rec, "rule.id");

	if (!r)
		return 0;
	if (!strcmp(r, "alert"))
		return id && (!strncmp(id, "sensor-", 7) || !strncmp(id, "collector-", 10) ||
			      !strncmp(id, "output-", 7)) ?
			       REC_HEALTH :
			       REC_ALERT;
	if (!strcmp(r, "incident"))
		return REC_INCIDENT;
	if (!strcmp(r, "inventory") || !strcmp(r, "inventory-held-back"))
		return REC_INVENTORY;
	return 0;
}

const char *fmt_kind_name(unsigned kind)
{
	switch (kind) {
	case REC_ALERT:
		return "alert";
	case REC_HEALTH:
		return "health";
	case REC_INCIDENT:
		return "incident";
	case REC_INVENTORY:
		return "inventory";
	default:
		return "other";
	}
}

const char *fmt_host(const cJSON *rec, const struct fmt_ctx *ctx)
{
	const char *h = fmt_str(rec, "host");

	if (h && *h)
		return h;
	return ctx && ctx->host ? ctx->host : "";
}

static const char *nonempty(const char *s)
{
	return s && *s ? s : NULL;
}

const char *fmt_signature(const cJSON *rec)
{
	const char *r = nonempty(fmt_str(rec, "record")), *id = nonempty(fmt_str(rec, "rule.id"));

	if (r && !strcmp(r, "alert") && id)
		return id;
	return r ? r : "record";
}

const char *fmt_title(const cJSON *rec)
{
	const char *t = nonempty(fmt_str(rec, "rule.title"));

	if (!t)
		t = nonempty(fmt_str(rec, "title"));
	return t ? t : fmt_signature(rec);
}

const cJSON *fmt_actor(const cJSON *rec)
{
	const cJSON *p = fmt_get(rec, fmt_kind_of(rec) == REC_INCIDENT ? "loader" : "process");

	return cJSON_IsObject(p) ? p : NULL;
}

const char *fmt_model_path(const cJSON *rec)
{
	const char *m = nonempty(fmt_str(rec, "loader.model.path"));

	/* unpickled from memory: no file to name */
	if (m && !strcmp(m, "memory") && fmt_str(rec, "loader.model.source"))
		return NULL;

	if (!m)
		m = nonempty(fmt_str(rec, "loader.model"));
	if (!m)
		m = nonempty(fmt_str(rec, "model.path"));
	return m;
}

int fmt_dest(const cJSON *rec, const char **addr, long long *port)
{
	const char *kind = fmt_str(rec, "event.kind");
	const cJSON *e = NULL;
	unsigned char bin[16];

	/* python: socket.connect/sendto carry the address Python was given */
	if (kind && (!strcmp(kind, "connect") || !strcmp(kind, "send") || !strcmp(kind, "python")))
		e = fmt_get(rec, "event");
	else if (kind && !strcmp(kind, "dup"))
		e = fmt_get(rec, "event.peer");
	*addr = fmt_str(e, "address");
	if (!*addr)
		return 0;
	if (!fmt_int(e, "port", port) || *port < 0 || *port > 65535)
		*port = -1;
	if (inet_pton(AF_INET, *addr, bin) == 1)
		return 4;
	if (inet_pton(AF_INET6, *addr, bin) == 1)
		return 6;
	return 0;
}

const char *fmt_parent_exe(const cJSON *rec)
{
	const cJSON *parent = cJSON_GetArrayItem(fmt_get(rec, "ancestry"), 1);
	long long pid, ppid;

	if (!fmt_int(parent, "pid", &pid) || !fmt_int(rec, "process.ppid", &ppid) || pid != ppid)
		return NULL;
	return nonempty(fmt_str(parent, "exe"));
}

void fmt_join_args(struct fbuf *b, const cJSON *args, int from)
{
	const cJSON *a, *arr = cJSON_IsArray(args) ? args : NULL;
	bool first = true;
	int i = 0;

	cJSON_ArrayForEach(a, arr) {
		if (i++ < from || !cJSON_IsString(a))
			continue;
		if (!first)
			fbuf_puts(b, " ");
		fbuf_puts(b, a->valuestring);
		first = false;
	}
}

size_t fmt_utf8_cut(const char *s, size_t n, size_t max)
{
	size_t k;

	if (n <= max)
		return n;
	k = max;
	/* back off continuation bytes, then the lead byte they belong to */
	while (k > 0 && ((unsigned char)s[k] & 0xc0) == 0x80)
		k--;
	return k;
}

void fmt_put_utf8(struct fbuf *b, const char *s, size_t n)
{
	char *tmp;

	if (utf8_valid((const uint8_t *)s, n, NULL)) {
		fbuf_add(b, s, n);
		return;
	}
	tmp = malloc(3 * n + 1);
	if (!tmp) {
		b->oom = true;
		return;
	}
	utf8_sanitize(s, n, tmp, 3 * n + 1);
	fbuf_puts(b, tmp);
	free(tmp);
}

void fmt_put_json_str(struct fbuf *b, const char *s)
{
	const char *run;

	fbuf_add(b, "\"", 1);
	for (run = s = s ? s : ""; *s; s++) {
		unsigned char c = (unsigned char)*s;
		char esc[8];

		if (c >= 0x20 && c != '"' && c != '\\')
			continue;
		fbuf_add(b, run, (size_t)(s - run));
		run = s + 1;
		if (c == '"' || c == '\\')
			snprintf(esc, sizeof(esc), "\\%c", c);
		else if (c == '\n')
			snprintf(esc, sizeof(esc), "\\n");
		else if (c == '\r')
			snprintf(esc, sizeof(esc), "\\r");
		else if (c == '\t')
			snprintf(esc, sizeof(esc), "\\t");
		else
			snprintf(esc, sizeof(esc), "\\u%04x", c);
		fbuf_puts(b, esc);
	}
	fbuf_add(b, run, (size_t)(s - run));
	fbuf_add(b, "\"", 1);
}

void fmt_put_json_line(struct fbuf *b, const char *line)
{
	bool in_str = false, esc = false;
	const char *s, *run;

	for (run = s = line ? line : ""; *s; s++) {
		unsigned char c = (unsigned char)*s;
		char rep[8];

		if (c >= 0x20) {
			if (in_str && !esc && c == '"')
				in_str = false;
			else if (!in_str && c == '"')
				in_str = true;
			esc = in_str && !esc && c == '\\';
			continue;
		}
		fbuf_add(b, run, (size_t)(s - run));
		run = s + 1;
		if (!in_str)
			snprintf(rep, sizeof(rep), " ");
		else if (c == '\n')
			snprintf(rep, sizeof(rep), esc ? "n" : "\\n");
		else if (c == '\r')
			snprintf(rep, sizeof(rep), esc ? "r" : "\\r");
		else
			snprintf(rep, sizeof(rep), esc ? "u%04x" : "\\u%04x", c);
		esc = false;
		fbuf_puts(b, rep);
	}
	fbuf_add(b, run, (size_t)(s - run));
}

int fmt_put_cjson(struct fbuf *b, const cJSON *j)
{
	char *s = j ? cJSON_PrintUnformatted(j) : NULL;

	if (!s)
		return -1;
	fmt_put_utf8(b, s, strlen(s));
	cJSON_free(s);
	return 0;
}

cJSON *fmt_add_u64(cJSON *obj, const char *key, uint64_t v)
{
	char num[24];

	snprintf(num, sizeof(num), "%llu", (unsigned long long)v);
	return cJSON_AddRawToObject(obj, key, num);
}

void fmt_why(char *why, size_t whylen, const char *fmt, ...)
{
	va_list ap;

	if (!why || !whylen)
		return;
	va_start(ap, fmt);
	vsnprintf(why, whylen, fmt, ap);
	va_end(ap);
}
