/* Model inventory records and their alerts, as JSON and as text lines. */
#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/sysmacros.h>

#include <mlwatch/schema.h>

#include "inventory_render.h"
#include "record_id.h"
#include "lib/textsan.h"
#include "lib/timefmt.h"
#include "scan/scan_render.h"

/* ---- rendering ------------------------------------------------------- */

const char *inv_hash_status_name(enum inv_hash_status s)
{
	switch (s) {
	case INV_HASH_COMPUTED:
		return "computed";
	case INV_HASH_CACHED:
		return "cached";
	case INV_HASH_PENDING:
		return "pending";
	case INV_HASH_QUEUE_FULL:
		return "skipped (queue full)";
	case INV_HASH_WAITING_FULL:
		return "skipped (too many waiting)";
	case INV_HASH_UNREADABLE:
		return "unreadable";
	case INV_HASH_CHANGED:
		return "changed while hashing";
	case INV_HASH_NOT_REGULAR:
		return "not a regular file";
	case INV_HASH_SHUTDOWN:
		return "skipped (shutdown)";
	case INV_HASH_TOO_LARGE:
		return "skipped (too large)";
	}
	return "?";
}

/* "unreadable (Permission denied)" carries its errno. */
static const char *hash_text(const struct inv_record *r, char *buf, size_t len)
{
	if (r->hash == INV_HASH_UNREADABLE && r->hash_errno) {
		snprintf(buf, len, "unreadable (%s)", strerror(r->hash_errno));
		return buf;
	}
	return inv_hash_status_name(r->hash);
}

const struct inv_rule inv_rule_blocklisted = {
	.id = "model-blocklisted",
	.title = "Process loaded a blocklisted model",
	.severity = "critical",
	/* supply chain compromise of a model, a published poisoned model,
	 * and ATT&CK's software supply chain compromise */
	.tags = { "AML.T0010.003", "AML.T0058", "T1195.002" },
};

const struct inv_rule inv_rule_digest_mismatch = {
	.id = "model-cache-digest-mismatch",
	.title = "Cached model file does not match the digest its name promises",
	.severity = "high",
	/* the cached model was altered after download */
	.tags = { "AML.T0010.003", "AML.T0018", "T1565.001" },
};

static void add_str(cJSON *o, const char *key, const char *s)
{
	size_t n = s ? strlen(s) : 0, cap = 3 * n + 4;
	char small[1024], *buf = cap <= sizeof(small) ? small : malloc(cap);

	if (!buf) {
		cJSON_AddStringToObject(o, key, "");
		return;
	}
	utf8_sanitize(s ? s : "", n, buf, cap);
	cJSON_AddStringToObject(o, key, buf);
	if (buf != small)
		free(buf);
}

static void add_time(cJSON *o, const char *key, uint64_t ns)
{
	char ts[64];

	format_rfc3339(ns, ts, sizeof(ts));
	cJSON_AddStringToObject(o, key, ts);
}

static cJSON *match_json(const struct bl_entry *m)
{
	cJSON *o = cJSON_CreateObject();

	add_str(o, "entry", m->text);
	if (m->reason)
		add_str(o, "reason", m->reason);
	return o;
}

static cJSON *source_json(const struct model_origin *g, const struct inv_record *r)
{
	cJSON *o = cJSON_CreateObject();

	add_str(o, "kind", model_source_name(g->source));
	if (g->source == MSRC_HUGGINGFACE) {
		add_str(o, "repo_type", hf_repo_type_name(g->repo_type));
		add_str(o, "repo", g->repo);
		if (g->revision[0]) {
			add_str(o, "revision", g->revision);
			add_str(o, "revision_from", hf_rev_from_name(g->revision_from));
		} else {
			cJSON_AddNullToObject(o, "revision");
		}
	}
	if (g->file[0])
		add_str(o, "file", g->file);
	if (g->name_sha256[0]) {
		add_str(o, "name_sha256", g->name_sha256);
		if (r->sha256[0])
			cJSON_AddBoolToObject(o, "name_sha256_match", !r->digest_mismatch);
	}
	return o;
}

/* The loading process, as records and alerts both show it. */
static cJSON *process_json(const struct inv_record *r)
{
	cJSON *p = cJSON_CreateObject();

	cJSON_AddNumberToObject(p, "pid", r->pid);
	cJSON_AddNumberToObject(p, "uid", r->uid);
	add_str(p, "comm", r->comm);
	add_str(p, "exe", r->exe);
	return p;
}

cJSON *inv_scan_to_json(const struct inv_scan *sc)
{
	cJSON *o = cJSON_CreateObject(), *top;

	add_str(o, "verdict", sc->done ? scan_verdict_name(sc->verdict) : "not-scanned");
	if (sc->done) {
		cJSON_AddNumberToObject(o, "findings", sc->findings);
		top = cJSON_AddArrayToObject(o, "top");
		for (int i = 0; top && i < INV_SCAN_TOP && sc->top[i][0]; i++) {
			char clean[3 * INV_SCAN_LINE + 1];

			/* escaped text, but cut to fit: keep JSON valid UTF-8 */
			utf8_sanitize(sc->top[i], strlen(sc->top[i]), clean, sizeof(clean));
			cJSON_AddItemToArray(top, cJSON_CreateString(clean));
		}
		if (sc->error[0])
			add_str(o, "error", sc->error);
		cJSON_AddNumberToObject(o, "bytes_read", (double)sc->bytes_read);
		cJSON_AddNumberToObject(o, "duration_us", sc->duration_us);
	}
	return o;
}

/* versioned: a record on its own; the copy inside an alert is part of
 * the alert, which carries the version. */
static cJSON *record_json(const struct inv_record *r, bool versioned)
{
	cJSON *root = cJSON_CreateObject(), *m = cJSON_CreateObject();
	char dev[48], ht[160];

	add_str(root, "record", "inventory");
	if (versioned) {
		cJSON_AddNumberToObject(root, MLW_SCHEMA_KEY, MLW_SCHEMA_VERSION);
		add_record_id(root);
	}
	add_time(root, "time", r->last_seen_ns);
	add_str(root, "host", r->host);
	cJSON_AddBoolToObject(root, "complete", r->complete);
	cJSON_AddItemToObject(root, "process", process_json(r));

	add_str(m, "path", r->path);
	add_str(m, "resolved_path", r->resolved_path);
	add_str(m, "format", model_format_name(r->format));
	cJSON_AddNumberToObject(m, "size", (double)r->size);
	if (r->dev || r->ino) {
		snprintf(dev, sizeof(dev), "%u:%u", major(r->dev), minor(r->dev));
		add_str(m, "dev", dev);
		cJSON_AddNumberToObject(m, "inode", (double)r->ino);
		add_time(m, "mtime", r->mtime_ns);
	}
	if (r->sha256[0])
		add_str(m, "sha256", r->sha256);
	else
		cJSON_AddNullToObject(m, "sha256");
	add_str(m, "hash", hash_text(r, ht, sizeof(ht)));
	cJSON_AddItemToObject(m, "scan", inv_scan_to_json(&r->scan));
	cJSON_AddItemToObject(root, "model", m);

	if (r->origin.source != MSRC_NONE)
		cJSON_AddItemToObject(root, "source", source_json(&r->origin, r));
	add_time(root, "first_seen", r->first_seen_ns);
	add_time(root, "last_seen", r->last_seen_ns);
	cJSON_AddNumberToObject(root, "load_count", (double)r->load_count);
	if (r->repeats) {
		cJSON_AddNumberToObject(root, "repeats", (double)r->repeats);
		add_time(root, "repeats_since", r->repeats_since_ns);
	}
	if (r->repo_match || r->sha256_match) {
		cJSON *b = cJSON_CreateObject();

		if (r->repo_match)
			cJSON_AddItemToObject(b, "repo", match_json(r->repo_match));
		if (r->sha256_match)
			cJSON_AddItemToObject(b, "sha256", match_json(r->sha256_match));
		cJSON_AddItemToObject(root, "blocklist", b);
	}
	return root;
}

const struct inv_rule inv_rule_held_back = {
	.id = "inventory-held-back",
	.title = "Model inventory records held back by the rate limit",
	.severity = "medium",
	/* a flood of loads that crowds others out of the inventory:
	 * ATT&CK's indicator blocking */
	.tags = { "T1562.006" },
};

/* The counts of a held-back summary, into o. */
static void held_back_fields(cJSON *o, const struct inv_held_back *h)
{
	cJSON *lim = cJSON_CreateObject();

	cJSON_AddNumberToObject(o, "records", (double)h->records);
	cJSON_AddNumberToObject(o, "loads", (double)h->loads);
	add_time(o, "first", h->first_ns);
	add_time(o, "last", h->last_ns);
	cJSON_AddNumberToObject(lim, "per_sec", h->per_sec);
	cJSON_AddNumberToObject(lim, "burst", h->burst);
	cJSON_AddItemToObject(o, "limit", lim);
}

cJSON *inv_record_to_json(const struct inv_record *r)
{
	cJSON *root;

	if (!r->held_back)
		return record_json(r, true);
	root = cJSON_CreateObject();
	add_str(root, "record", "inventory-held-back");
	cJSON_AddNumberToObject(root, MLW_SCHEMA_KEY, MLW_SCHEMA_VERSION);
	add_record_id(root);
	add_time(root, "time", r->last_seen_ns);
	add_str(root, "host", r->host);
	held_back_fields(root, r->held_back);
	return root;
}

static size_t put_held_back(char *out, size_t len, size_t o, const struct inv_held_back *h)
{
	char first[64], last[64];

	format_rfc3339(h->first_ns, first, sizeof(first));
	format_rfc3339(h->last_ns, last, sizeof(last));
	return text_putf(out, len, o,
			 "records=%llu loads=%llu first=%s last=%s limit=%u/s burst=%u",
			 (unsigned long long)h->records, (unsigned long long)h->loads, first, last,
			 h->per_sec, h->burst);
}

static size_t put_source(char *out, size_t len, size_t o, const struct model_origin *g)
{
	if (g->source == MSRC_NONE)
		return o;
	o = text_putf(out, len, o, " source=%s", model_source_name(g->source));
	if (g->source == MSRC_HUGGINGFACE) {
		o = text_putf(out, len, o, " repo=%s:", hf_repo_type_name(g->repo_type));
		o = text_put(out, len, o, g->repo);
		o = text_putf(out, len, o, " revision=%s", g->revision[0] ? g->revision : "?");
	}
	if (g->file[0]) {
		o = text_putf(out, len, o, " file=");
		o = text_put(out, len, o, g->file);
	}
	return o;
}

static size_t put_match(char *out, size_t len, size_t o, const char *by, const struct bl_entry *m)
{
	o = text_putf(out, len, o, " %s=", by);
	o = text_put(out, len, o, m->text);
	if (m->reason) {
		o = text_putf(out, len, o, " (");
		o = text_put(out, len, o, m->reason);
		o = text_putf(out, len, o, ")");
	}
	return o;
}

int inv_record_to_text(const struct inv_record *r, char *out, size_t len)
{
	char ts[64], first[64], ht[160];
	size_t o = 0;

	if (len)
		out[0] = 0;
	format_rfc3339(r->last_seen_ns, ts, sizeof(ts));
	format_rfc3339(r->first_seen_ns, first, sizeof(first));
	if (r->held_back) {
		o = text_putf(out, len, o, "%s inventory-held-back host=", ts);
		o = text_put(out, len, o, r->host);
		o = text_putf(out, len, o, " ");
		o = put_held_back(out, len, o, r->held_back);
		o = text_putf(out, len, o, "\n");
		return (int)o;
	}
	o = text_putf(out, len, o, "%s inventory%s host=", ts, r->complete ? "" : " (notice)");
	o = text_put(out, len, o, r->host);
	o = text_putf(out, len, o, " pid=%u uid=%u comm=", r->pid, r->uid);
	o = text_put(out, len, o, r->comm);
	o = text_putf(out, len, o, " exe=");
	o = text_put(out, len, o, r->exe);
	o = text_putf(out, len, o, " model=");
	o = text_put(out, len, o, r->resolved_path[0] ? r->resolved_path : r->path);
	o = text_putf(out, len, o,
		      " format=%s size=%llu sha256=%s hash=", model_format_name(r->format),
		      (unsigned long long)r->size, r->sha256[0] ? r->sha256 : "-");
	o = text_put(out, len, o, hash_text(r, ht, sizeof(ht)));
	o = put_source(out, len, o, &r->origin);
	o = text_putf(out, len, o, " scan=%s",
		      r->scan.done ? scan_verdict_name(r->scan.verdict) : "not-scanned");
	if (r->digest_mismatch)
		o = text_putf(out, len, o, " name_sha256=%s (MISMATCH)", r->origin.name_sha256);
	o = text_putf(out, len, o, " loads=%llu first_seen=%s", (unsigned long long)r->load_count,
		      first);
	if (r->repeats) {
		char since[64];

		format_rfc3339(r->repeats_since_ns, since, sizeof(since));
		o = text_putf(out, len, o, " repeats=%llu since=%s", (unsigned long long)r->repeats,
			      since);
	}
	if (r->repo_match || r->sha256_match) {
		o = text_putf(out, len, o, " BLOCKLISTED");
		if (r->repo_match)
			o = put_match(out, len, o, "repo", r->repo_match);
		if (r->sha256_match)
			o = put_match(out, len, o, "sha256", r->sha256_match);
	}
	o = text_putf(out, len, o, "\n");
	return (int)o;
}

const struct inv_rule inv_rule_scan_malicious = {
	.id = "model-scan-malicious",
	.title = "Loaded model would run code on load (static scan)",
	.severity = "critical",
	/* a malicious model file, run by its loader: user execution of a
	 * malicious file */
	.tags = { "AML.T0010.003", "AML.T0011.000", "T1204.002" },
};

const struct inv_rule inv_rule_scan_suspicious = {
	.id = "model-scan-suspicious",
	.title =
		"Loaded model imports outside its format's allowlist, or could not be scanned (static scan)",
	.severity = "low",
	/* a file that may run code when the user's loader opens it */
	.tags = { "AML.T0010.003", "AML.T0011.000", "T1204.002" },
};

const struct inv_rule *inv_alert_rule(unsigned bit)
{
	switch (bit) {
	case INV_ALERT_DIGEST_MISMATCH:
		return &inv_rule_digest_mismatch;
	case INV_ALERT_SCAN_MALICIOUS:
		return &inv_rule_scan_malicious;
	case INV_ALERT_SCAN_SUSPICIOUS:
		return &inv_rule_scan_suspicious;
	default:
		return &inv_rule_blocklisted;
	}
}

/* What every inventory alert has: time, host, rule, severity, tags, and
 * the process, which is its own loader. */
static cJSON *alert_head(const struct inv_record *r, const struct inv_rule *rule)
{
	cJSON *root = cJSON_CreateObject(), *ru = cJSON_CreateObject(), *tags = cJSON_CreateArray();
	cJSON *l = cJSON_CreateObject(), *m = cJSON_CreateObject();

	add_str(root, "record", "alert");
	cJSON_AddNumberToObject(root, MLW_SCHEMA_KEY, MLW_SCHEMA_VERSION);
	add_record_id(root);
	add_time(root, "time", r->last_seen_ns);
	add_str(root, "host", r->host);
	add_str(ru, "id", rule->id);
	add_str(ru, "title", rule->title);
	cJSON_AddItemToObject(root, "rule", ru);
	add_str(root, "severity", rule->severity);
	for (size_t i = 0; i < sizeof(rule->tags) / sizeof(rule->tags[0]) && rule->tags[i]; i++)
		cJSON_AddItemToArray(tags, cJSON_CreateString(rule->tags[i]));
	cJSON_AddItemToObject(root, "tags", tags);
	cJSON_AddItemToObject(root, "process", process_json(r));
	/* the loading process is its own loader */
	cJSON_AddNumberToObject(l, "pid", r->pid);
	add_str(l, "exe", r->exe);
	add_str(m, "path", r->path);
	add_str(m, "resolved_path", r->resolved_path);
	add_str(m, "format", model_format_name(r->format));
	cJSON_AddItemToObject(l, "model", m);
	cJSON_AddItemToObject(root, "loader", l);
	return root;
}

cJSON *inv_alert_to_json(const struct inv_record *r, unsigned alert_bit)
{
	cJSON *root = alert_head(r, inv_alert_rule(alert_bit));
	cJSON *match = cJSON_CreateObject();

	if (alert_bit & (INV_ALERT_SCAN_MALICIOUS | INV_ALERT_SCAN_SUSPICIOUS)) {
		cJSON_Delete(match);
		match = inv_scan_to_json(&r->scan);
		add_str(match, "by", "static-scan");
	} else if (alert_bit == INV_ALERT_DIGEST_MISMATCH) {
		add_str(match, "by", "name_sha256");
		add_str(match, "expected", r->origin.name_sha256);
		add_str(match, "actual", r->sha256);
	} else {
		const struct bl_entry *e =
			alert_bit == INV_ALERT_BLOCKLIST_SHA256 ? r->sha256_match : r->repo_match;

		add_str(match, "by", alert_bit == INV_ALERT_BLOCKLIST_SHA256 ? "sha256" : "repo");
		add_str(match, "entry", e ? e->text : "");
		if (e && e->reason)
			add_str(match, "reason", e->reason);
	}
	cJSON_AddItemToObject(root, "match", match);
	cJSON_AddItemToObject(root, "inventory", record_json(r, false));
	return root;
}

int inv_alert_to_text(const struct inv_record *r, unsigned alert_bit, char *out, size_t len)
{
	const struct inv_rule *rule = inv_alert_rule(alert_bit);
	char ts[64];
	size_t o = 0;

	if (len)
		out[0] = 0;
	format_rfc3339(r->last_seen_ns, ts, sizeof(ts));
	o = text_putf(out, len, o, "%s %s %s: %s\n", ts, rule->severity, rule->id, rule->title);
	o = text_putf(out, len, o, "  process  pid=%u uid=%u comm=", r->pid, r->uid);
	o = text_put(out, len, o, r->comm);
	o = text_putf(out, len, o, " exe=");
	o = text_put(out, len, o, r->exe);
	o = text_putf(out, len, o, "\n  model    ");
	o = text_put(out, len, o, r->resolved_path[0] ? r->resolved_path : r->path);
	o = text_putf(out, len, o, " (%s) sha256=%s", model_format_name(r->format),
		      r->sha256[0] ? r->sha256 : "(pending)");
	if (r->origin.source != MSRC_NONE) {
		o = text_putf(out, len, o, "\n  origin  ");
		o = put_source(out, len, o, &r->origin);
	}
	o = text_putf(out, len, o, "\n  match   ");
	if (alert_bit & (INV_ALERT_SCAN_MALICIOUS | INV_ALERT_SCAN_SUSPICIOUS)) {
		o = text_putf(out, len, o, " static scan: %s, %u findings",
			      scan_verdict_name(r->scan.verdict), r->scan.findings);
		for (int i = 0; i < INV_SCAN_TOP && r->scan.top[i][0]; i++) {
			o = text_putf(out, len, o, "\n    ");
			o = text_put(out, len, o, r->scan.top[i]);
		}
	} else if (alert_bit == INV_ALERT_DIGEST_MISMATCH) {
		o = text_putf(out, len, o, " name promises sha256 %s", r->origin.name_sha256);
	} else {
		const struct bl_entry *e =
			alert_bit == INV_ALERT_BLOCKLIST_SHA256 ? r->sha256_match : r->repo_match;

		if (e)
			o = put_match(out, len, o,
				      alert_bit == INV_ALERT_BLOCKLIST_SHA256 ? "sha256" : "repo",
				      e);
	}
	o = text_putf(out, len, o, "\n  tags    ");
	for (size_t i = 0; i < sizeof(rule->tags) / sizeof(rule->tags[0]) && rule->tags[i]; i++)
		o = text_putf(out, len, o, " %s", rule->tags[i]);
	o = text_putf(out, len, o, "\n");
	return (int)o;
}

cJSON *inv_held_back_alert_to_json(const struct inv_record *r)
{
	cJSON *root = alert_head(r, &inv_rule_held_back), *hb = cJSON_CreateObject();

	held_back_fields(hb, r->held_back_alert ? r->held_back_alert : r->held_back);
	cJSON_AddItemToObject(root, "held_back", hb);
	return root;
}

int inv_held_back_alert_to_text(const struct inv_record *r, char *out, size_t len)
{
	const struct inv_rule *rule = &inv_rule_held_back;
	char ts[64];
	size_t o = 0;

	if (len)
		out[0] = 0;
	format_rfc3339(r->last_seen_ns, ts, sizeof(ts));
	o = text_putf(out, len, o, "%s %s %s: %s\n  held back ", ts, rule->severity, rule->id,
		      rule->title);
	o = put_held_back(out, len, o, r->held_back_alert ? r->held_back_alert : r->held_back);
	o = text_putf(out, len, o, "\n  last     pid=%u uid=%u comm=", r->pid, r->uid);
	o = text_put(out, len, o, r->comm);
	o = text_putf(out, len, o, " exe=");
	o = text_put(out, len, o, r->exe);
	o = text_putf(out, len, o, " model=");
	o = text_put(out, len, o, r->resolved_path[0] ? r->resolved_path : r->path);
	o = text_putf(out, len, o, "\n  tags    ");
	for (size_t i = 0; i < sizeof(rule->tags) / sizeof(rule->tags[0]) && rule->tags[i]; i++)
		o = text_putf(out, len, o, " %s", rule->tags[i]);
	o = text_putf(out, len, o, "\n");
	return (int)o;
}
