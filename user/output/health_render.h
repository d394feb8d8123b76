/* Sensor-health alerts (records lost, a map full) as JSON and text. */
#ifndef MLWATCH_HEALTH_RENDER_H
#define MLWATCH_HEALTH_RENDER_H
#include <stddef.h>
#include <stdint.h>

#define HEALTH_MAX_COUNTS 32

/* One alert: what the sensors could not do since the previous one. */
struct health_alert {
	const char *rule_id; /* "sensor-events-lost", "sensor-map-full" */
	const char *title;
	const char *severity; /* as severity_name() writes it */
	const char *host;
	uint64_t realtime_ns;
	uint64_t window_ns;  /* since the previous alert (or the start) */
	uint64_t vital_lost; /* records of marked lineages among them */
	/* output-* alerts: the output, its last failure, what waits in its spool */
	const char *output;
	const char *error;
	uint64_t spool_records;
	size_t n;
	struct {
		const char *reason; /* a kernel counter's name */
		uint64_t count;
	} counts[HEALTH_MAX_COUNTS];
};

/* {"record":"alert", "rule":{...}, "sensor":{"counts":{...}}, ...};
 * caller frees. NULL on out of memory. */
struct cJSON *health_alert_to_json(const struct health_alert *a);
/* One line, no newline; snprintf semantics. */
int health_alert_to_text(const struct health_alert *a, char *out, size_t len);
#endif
