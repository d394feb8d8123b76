/* A record as an OCSF 1.1.0 Detection Finding (class_uid 2004), the
 * original record kept whole under "unmapped". */
#ifndef MLWATCH_FMT_OCSF_H
#define MLWATCH_FMT_OCSF_H
#include <cjson/cJSON.h>
#include <stddef.h>

#include "fmt_record.h"

/* NULL, with why, when the record has no valid "time" or memory ran out. */
cJSON *fmt_ocsf_doc(const cJSON *rec, const struct fmt_ctx *ctx, char *why, size_t whylen);

#endif
