/* RFC 5424. HOSTNAME and MSGID allow printable US-ASCII only: other bytes
 * become '_'. PARAM-VALUEs escape '"', '\' and ']' as the RFC says, and
 * a control character as \n, \r, \t or \xNN (the RFC would allow them raw,
 * but a newline would split the message for line-based receivers); they
 * are cut at 1024 bytes (the whole record is in MSG). MSG carries no BOM:
 * it is valid UTF-8 JSON, and a BOM would trip JSON parsers downstream. */
#include <stdio.h>
#include <string.h>

#include "fmt_common.h"
#include "fmt_syslog.h"

/* The SD-ID: 32473 is the enterprise number IANA reserves for
 * documentation (RFC 5612); a site that owns a number may change it. */
#define SD_ID "mlwatch@32473"
#define SD_VALUE_MAX 1024

static void put_ascii(struct fbuf *b, const char *s, size_t max)
{
	size_t n = 0;

	for (; s && s[n] && n < max; n++) {
		char c = s[n] > 32 && s[n] < 127 ? s[n] : '_';

		fbuf_add(b, &c, 1);
	}
	if (!n)
		fbuf_puts(b, "-");
}

/* syslog severity: critical 2 (crit), high 3 (err), medium 4 (warning),
 * low 5 (notice), no severity 6 (info). */
static int syslog_severity(const cJSON *rec)
{
	switch (fmt_sev_of(rec)) {
	case FSEV_CRITICAL:
		return 2;
	case FSEV_HIGH:
		return 3;
	case FSEV_MEDIUM:
		return 4;
	case FSEV_LOW:
		return 5;
	default:
		return 6;
	}
}

void fmt_syslog_header(struct fbuf *out, const cJSON *rec, const struct fmt_ctx *ctx)
{
	int facility = ctx && ctx->facility >= 0 && ctx->facility <= 23 ? ctx->facility : 16;
	struct fmt_time t;
	char ts[48];

	fbuf_printf(out, "<%d>1 ", facility * 8 + syslog_severity(rec));
	if (fmt_time_of(rec, &t) == 0) {
		/* TIME-SECFRAC has at most 6 digits */
		fmt_time_text(&t, t.nsec % 1000000 ? 6 : 3, "Z", ts, sizeof(ts));
		fbuf_puts(out, ts);
	} else {
		fbuf_puts(out, "-");
	}
	fbuf_puts(out, " ");
	put_ascii(out, fmt_host(rec, ctx), 255);
	fbuf_puts(out, " mlwatch ");
	if (ctx && ctx->procid > 0)
		fbuf_printf(out, "%d ", ctx->procid);
	else
		fbuf_puts(out, "- ");
	put_ascii(out, fmt_signature(rec), 32);
	fbuf_puts(out, " ");
}

static void put_param(struct fbuf *b, const char *name, const char *v)
{
	size_t n = fmt_utf8_cut(v, strlen(v), SD_VALUE_MAX);

	fbuf_printf(b, " %s=\"", name);
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)v[i];

		if (c == '"' || c == '\\' || c == ']')
			fbuf_printf(b, "\\%c", c);
		else if (c == '\n')
			fbuf_puts(b, "\\n");
		else if (c == '\r')
			fbuf_puts(b, "\\r");
		else if (c == '\t')
			fbuf_puts(b, "\\t");
		else if (c < 0x20 || c == 0x7f)
			fbuf_printf(b, "\\x%02x", c);
		else
			fbuf_add(b, &v[i], 1);
	}
	fbuf_puts(b, "\"");
}

static void put_sd(struct fbuf *b, const cJSON *rec)
{
	static const struct {
		const char *name, *path;
	} strs[] = { { "id", "id" }, { "severity", "severity" }, { "rule", "rule.id" } };
	size_t start = b->len;
	const char *s;
	char num[24];
	long long v;

	fbuf_puts(b, "[" SD_ID);
	for (size_t i = 0; i < sizeof(strs) / sizeof(strs[0]); i++)
		if ((s = fmt_str(rec, strs[i].path)))
			put_param(b, strs[i].name, s);
	if (fmt_int(rec, "process.pid", &v)) {
		snprintf(num, sizeof(num), "%lld", v);
		put_param(b, "pid", num);
	}
	if (fmt_int(rec, "loader.pid", &v)) {
		snprintf(num, sizeof(num), "%lld", v);
		put_param(b, "loader", num);
	}
	if ((s = fmt_model_path(rec)))
		put_param(b, "model", s);
	if ((s = fmt_str(rec, "incident")))
		put_param(b, "incident", s);
	if (b->len == start + strlen("[" SD_ID)) {
		/* no parameter: the nil value rather than an empty element */
		b->len = start;
		fbuf_puts(b, "-");
		return;
	}
	fbuf_puts(b, "]");
}

void fmt_syslog(struct fbuf *out, bool sd, const cJSON *rec, const char *line,
		const struct fmt_ctx *ctx)
{
	fmt_syslog_header(out, rec, ctx);
	if (sd)
		put_sd(out, rec);
	else
		fbuf_puts(out, "-");
	fbuf_puts(out, " ");
	if (line) {
		fmt_put_json_line(out, line);
	} else {
		char *s = cJSON_PrintUnformatted(rec);

		if (!s) {
			out->oom = true;
			return;
		}
		fmt_put_json_line(out, s);
		cJSON_free(s);
	}
}
