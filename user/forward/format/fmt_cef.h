/* ArcSight CEF: an RFC 5424 message (nil STRUCTURED-DATA) whose MSG is
 * CEF:0|mlwatch|mlwatch|version|signature|name|severity|extensions. */
#ifndef MLWATCH_FMT_CEF_H
#define MLWATCH_FMT_CEF_H
#include <cjson/cJSON.h>

#include "fbuf.h"
#include "fmt_record.h"

void fmt_cef(struct fbuf *out, const cJSON *rec, const struct fmt_ctx *ctx);

#endif
