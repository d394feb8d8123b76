/* An alert as a JSON object and as one line of text. */
#ifndef MLWATCH_ALERT_RENDER_H
#define MLWATCH_ALERT_RENDER_H
#include "detect/alert.h"

/* The JSON object of one alert (caller frees with cJSON_Delete). */
struct cJSON *alert_to_json(const struct alert *a);
/* One line of readable text, for tests and the text sink; returns the
 * bytes written (snprintf semantics). */
int alert_to_text(const struct alert *a, char *out, size_t len);
#endif
