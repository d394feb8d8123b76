/* Request bodies of the HTTP destinations, one record at a time, and what
 * Elasticsearch answers to a _bulk request. */
#ifndef MLWATCH_FMT_HTTP_H
#define MLWATCH_FMT_HTTP_H
#include <cjson/cJSON.h>
#include <stddef.h>

#include "fmt_record.h"

/* Splunk HEC: {"time":<epoch s.ms>,"host":..,"source":"mlwatch",
 * "sourcetype":"mlwatch:<record kind>","event":<record in format f>}. */
int fmt_hec_event(struct fbuf *out, enum out_format f, const cJSON *rec, const char *line,
		  const struct fmt_ctx *ctx, char *why, size_t whylen);
/* Elasticsearch _bulk: {"create":{"_id":"<record id>"}}\n<document>\n, the
 * document with "@timestamp" (data streams need it). */
int fmt_bulk_item(struct fbuf *out, enum out_format f, const cJSON *rec, const char *line,
		  const struct fmt_ctx *ctx, char *why, size_t whylen);
/* A _bulk answer for n items: status[i] gets item i's HTTP status (201
 * created, 409 already there, 429, 5xx...). Returns 0, or -1 when the body
 * is not a _bulk answer for n items (why says what). */
int bulk_parse_response(const char *body, size_t len, size_t n, int *status, char *why,
			size_t whylen);

#endif
