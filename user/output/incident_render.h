/* An incident as a JSON record or one line of text. */
#ifndef MLWATCH_INCIDENT_RENDER_H
#define MLWATCH_INCIDENT_RENDER_H
#include "detect/incident.h"

/* The JSON record, one line (caller frees). realtime_offset_ns turns the
 * kernel's CLOCK_MONOTONIC times into wall-clock. NULL on out of memory. */
char *incident_to_json(const struct incident *inc, enum incident_record status, const char *host,
		       int64_t realtime_offset_ns);
struct cJSON *incident_json_object(const struct incident *inc, enum incident_record status,
				   const char *host, int64_t realtime_offset_ns);
/* One readable line (no newline), snprintf semantics. */
int incident_to_text(const struct incident *inc, enum incident_record status,
		     int64_t realtime_offset_ns, char *out, size_t len);
#endif
