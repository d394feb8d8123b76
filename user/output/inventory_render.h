/* Inventory records and the alerts they raise, as JSON and text. */
#ifndef MLWATCH_INVENTORY_RENDER_H
#define MLWATCH_INVENTORY_RENDER_H
#include "inventory/inventory.h"

/* "computed", "cached", "pending", "skipped (queue full)", ... */
const char *inv_hash_status_name(enum inv_hash_status s);

/* {"verdict", "findings", "top", ...} of a record's scan. Caller frees. */
struct cJSON *inv_scan_to_json(const struct inv_scan *s);
/* {"record":"inventory", ...}, or for a held_back summary
 * {"record":"inventory-held-back", ...}; strings made valid UTF-8.
 * Caller frees. */
struct cJSON *inv_record_to_json(const struct inv_record *r);
/* One line (ends with '\n'), control characters escaped; snprintf
 * semantics for the return value. */
int inv_record_to_text(const struct inv_record *r, char *out, size_t len);

/* The alerts a record can raise. They match no event, so they are not
 * rules for rules_match: the collector raises them from records. */
struct inv_rule {
	const char *id;
	const char *title;
	const char *severity; /* as severity_name() writes it */
	const char *tags[4];  /* ATLAS first, then ATT&CK; NULL-ended */
};
extern const struct inv_rule inv_rule_blocklisted;     /* model-blocklisted, critical */
extern const struct inv_rule inv_rule_digest_mismatch; /* model-cache-digest-mismatch, high */
extern const struct inv_rule inv_rule_scan_malicious;  /* model-scan-malicious, critical */
extern const struct inv_rule inv_rule_scan_suspicious; /* model-scan-suspicious, low */
extern const struct inv_rule inv_rule_held_back;       /* inventory-held-back, medium */
/* The rule of one INV_ALERT_* bit. */
const struct inv_rule *inv_alert_rule(unsigned alert_bit);

/* An alert for one INV_ALERT_* bit of a record, shaped like the
 * collector's alerts (time, host, rule, severity, tags, process, loader
 * with its model), plus "blocklist" and the whole "inventory" record. */
struct cJSON *inv_alert_to_json(const struct inv_record *r, unsigned alert_bit);
int inv_alert_to_text(const struct inv_record *r, unsigned alert_bit, char *out, size_t len);

/* The alert of a held_back summary (r->held_back_alert, or held_back):
 * time, host, rule, severity, tags and "held_back" (no process: a flood
 * is many). */
struct cJSON *inv_held_back_alert_to_json(const struct inv_record *r);
int inv_held_back_alert_to_text(const struct inv_record *r, char *out, size_t len);
#endif
