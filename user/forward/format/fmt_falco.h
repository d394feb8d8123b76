/* A record as a Falco alert (Falco's json_output), the payload
 * Falcosidekick takes: uuid, output, priority, rule, time, output_fields,
 * source, tags, hostname. */
#ifndef MLWATCH_FMT_FALCO_H
#define MLWATCH_FMT_FALCO_H
#include <cjson/cJSON.h>
#include <stddef.h>

#include "fmt_record.h"

/* NULL, with why, when the record has no valid "time" or memory ran out. */
cJSON *fmt_falco_doc(const cJSON *rec, const struct fmt_ctx *ctx, char *why, size_t whylen);

#endif
