/* CEF. Header fields escape '\' and '|' and turn control characters into
 * spaces; extension values escape '\' and '=' and write CR and LF as \r
 * and \n (other control characters become spaces). Keys come from the
 * ArcSight dictionary and never from the record; each value is cut to the
 * dictionary's length for its key. docs/forwarding.md tables them. */
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "fmt_cef.h"
#include "fmt_common.h"
#include "fmt_summary.h"
#include "fmt_syslog.h"

static void put_header(struct fbuf *b, const char *s, size_t max)
{
	size_t n = fmt_utf8_cut(s, strlen(s), max);

	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c == '\\' || c == '|')
			fbuf_printf(b, "\\%c", c);
		else if (c < 0x20 || c == 0x7f)
			fbuf_puts(b, " ");
		else
			fbuf_add(b, &s[i], 1);
	}
	fbuf_puts(b, "|");
}

/* The extensions being written: a space goes between two of them. */
struct cef_ext {
	struct fbuf *b;
	bool first;
};

static void put_ext(struct cef_ext *e, const char *key, const char *s, size_t max)
{
	struct fbuf *b = e->b;
	size_t n = fmt_utf8_cut(s, strlen(s), max);

	fbuf_printf(b, "%s%s=", e->first ? "" : " ", key);
	e->first = false;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c == '\\' || c == '=')
			fbuf_printf(b, "\\%c", c);
		else if (c == '\n')
			fbuf_puts(b, "\\n");
		else if (c == '\r')
			fbuf_puts(b, "\\r");
		else if (c < 0x20 || c == 0x7f)
			fbuf_puts(b, " ");
		else
			fbuf_add(b, &s[i], 1);
	}
}

static void put_ext_int(struct cef_ext *e, const char *key, long long v)
{
	char num[24];

	snprintf(num, sizeof(num), "%lld", v);
	put_ext(e, key, num, sizeof(num));
}

/* CEF severity 0-10: critical 10, high 8, medium 5, low 3, none 1. */
static int cef_severity(const cJSON *rec)
{
	static const int map[] = {
		[FSEV_NONE] = 1, [FSEV_LOW] = 3, [FSEV_MEDIUM] = 5, [FSEV_HIGH] = 8, [FSEV_CRITICAL] = 10
	};

	return map[fmt_sev_of(rec)];
}

static void put_tags(struct cef_ext *e, const cJSON *rec)
{
	struct fbuf t = { 0 };
	const cJSON *tag;

	cJSON_ArrayForEach(tag, fmt_get(rec, "tags")) {
		if (!cJSON_IsString(tag))
			continue;
		if (t.len)
			fbuf_puts(&t, ",");
		fbuf_puts(&t, tag->valuestring);
	}
	if (t.len) {
		put_ext(e, "cs2Label", "tags", 16);
		put_ext(e, "cs2", t.p, 4000);
	}
	if (t.oom)
		e->b->oom = true;
	fbuf_free(&t);
}

void fmt_cef(struct fbuf *out, const cJSON *rec, const struct fmt_ctx *ctx)
{
	const cJSON *actor = fmt_actor(rec);
	const char *s, *addr, *ek = fmt_str(rec, "event.kind");
	struct fmt_time t;
	long long v, port;
	struct cef_ext e = { out, true };
	char cat[64], sum[1024];
	int fam;

	fmt_syslog_header(out, rec, ctx);
	fbuf_puts(out, "- CEF:0|mlwatch|mlwatch|");
	put_header(out, ctx && ctx->version ? ctx->version : "", 31);
	put_header(out, fmt_signature(rec), 1023);
	put_header(out, fmt_title(rec), 512);
	fbuf_printf(out, "%d|", cef_severity(rec));
	if (fmt_time_of(rec, &t) == 0)
		put_ext_int(&e, "rt", (long long)fmt_time_ms(&t));
	if (*(s = fmt_host(rec, ctx)))
		put_ext(&e, "dvchost", s, 100);
	if ((s = fmt_str(rec, "id")))
		put_ext(&e, "externalId", s, 40);
	snprintf(cat, sizeof(cat), "%s%s%.32s", fmt_kind_name(fmt_kind_of(rec)), ek ? "/" : "",
		 ek ? ek : "");
	put_ext(&e, "cat", cat, 1023);
	if (fmt_int(actor, "pid", &v))
		put_ext_int(&e, "spid", v);
	if ((s = fmt_str(actor, "exe")))
		put_ext(&e, "sproc", s, 1023);
	if (fmt_int(actor, "uid", &v))
		put_ext_int(&e, "suid", v);
	if ((s = fmt_model_path(rec)))
		put_ext(&e, "filePath", s, 1023);
	fam = fmt_dest(rec, &addr, &port);
	if (fam == 4) {
		put_ext(&e, "dst", addr, 64);
	} else if (fam == 6) {
		put_ext(&e, "c6a3Label", "Destination IPv6 Address", 64);
		put_ext(&e, "c6a3", addr, 64);
	}
	if (fam && port >= 0)
		put_ext_int(&e, "dpt", port);
	if ((s = fmt_str(rec, "event.action")) || (s = fmt_str(rec, "event.enforcement")))
		put_ext(&e, "act", s, 63);
	if ((s = fmt_str(rec, "incident"))) {
		put_ext(&e, "cs1Label", "incident", 16);
		put_ext(&e, "cs1", s, 4000);
	}
	put_tags(&e, rec);
	fmt_summary(rec, sum, sizeof(sum));
	put_ext(&e, "msg", sum, 1023);
}
