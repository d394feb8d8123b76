/* Sensor-health alerts as JSON and text: shaped like the other alerts
 * (time, host, rule, severity, tags) so a SIEM routes them the same way. */
#include <cjson/cJSON.h>
#include <stdio.h>

#include <mlwatch/schema.h>

#include "health_render.h"
#include "record_id.h"
#include "lib/textsan.h"
#include "lib/timefmt.h"

cJSON *health_alert_to_json(const struct health_alert *a)
{
	cJSON *root = cJSON_CreateObject(), *rule, *sensor, *counts;
	char ts[64];

	if (!root)
		return NULL;
	format_rfc3339(a->realtime_ns, ts, sizeof(ts));
	cJSON_AddStringToObject(root, "record", "alert");
	cJSON_AddNumberToObject(root, MLW_SCHEMA_KEY, MLW_SCHEMA_VERSION);
	add_record_id(root);
	cJSON_AddStringToObject(root, "time", ts);
	cJSON_AddStringToObject(root, "host", a->host ? a->host : "");
	rule = cJSON_AddObjectToObject(root, "rule");
	if (rule) {
		cJSON_AddStringToObject(rule, "id", a->rule_id);
		cJSON_AddStringToObject(rule, "title", a->title);
	}
	cJSON_AddStringToObject(root, "severity", a->severity);
	/* ATT&CK Impair Defenses: Indicator Blocking, whoever caused it */
	cJSON_AddItemToObject(root, "tags",
			      cJSON_CreateStringArray((const char *[]){ "T1562.006" }, 1));
	sensor = cJSON_AddObjectToObject(root, "sensor");
	if (sensor) {
		cJSON_AddNumberToObject(sensor, "window_ms", (double)(a->window_ns / 1000000));
		cJSON_AddNumberToObject(sensor, "vital_lost", (double)a->vital_lost);
		if (a->output) {
			cJSON_AddStringToObject(sensor, "output", a->output);
			cJSON_AddStringToObject(sensor, "error", a->error ? a->error : "");
			cJSON_AddNumberToObject(sensor, "spool_records", (double)a->spool_records);
		}
		counts = cJSON_AddObjectToObject(sensor, "counts");
		for (size_t i = 0; counts && i < a->n && i < HEALTH_MAX_COUNTS; i++)
			cJSON_AddNumberToObject(counts, a->counts[i].reason,
						(double)a->counts[i].count);
	}
	return root;
}

int health_alert_to_text(const struct health_alert *a, char *out, size_t len)
{
	char ts[64];
	size_t o;

	format_rfc3339(a->realtime_ns, ts, sizeof(ts));
	o = text_putf(out, len, 0, "%s %s [%s] %s: ", ts, a->severity, a->rule_id, a->title);
	if (a->output)
		o = text_putf(out, len, o, "output %s (%s), %llu spooled; ", a->output,
			      a->error && a->error[0] ? a->error : "no error text",
			      (unsigned long long)a->spool_records);
	for (size_t i = 0; i < a->n && i < HEALTH_MAX_COUNTS; i++)
		o = text_putf(out, len, o, "%s%s=%llu", i ? " " : "", a->counts[i].reason,
			      (unsigned long long)a->counts[i].count);
	o = text_putf(out, len, o, " in the last %llu ms (vital: %llu)",
		      (unsigned long long)(a->window_ns / 1000000),
		      (unsigned long long)a->vital_lost);
	return (int)o;
}
