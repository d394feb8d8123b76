/* A record as an Elastic Common Schema (8.11) document, the original
 * record kept whole under "mlwatch". */
#ifndef MLWATCH_FMT_ECS_H
#define MLWATCH_FMT_ECS_H
#include <cjson/cJSON.h>
#include <stddef.h>

#include "fmt_record.h"

/* NULL, with why, when the record has no valid "time" or memory ran out. */
cJSON *fmt_ecs_doc(const cJSON *rec, const struct fmt_ctx *ctx, char *why, size_t whylen);

#endif
