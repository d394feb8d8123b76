/* RFC 5424 syslog messages: the header all syslog formats share, and a
 * message whose MSG is the record's JSON line. */
#ifndef MLWATCH_FMT_SYSLOG_H
#define MLWATCH_FMT_SYSLOG_H
#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stddef.h>

#include "fbuf.h"
#include "fmt_record.h"

/* Appends "<PRI>1 TIMESTAMP HOSTNAME mlwatch PROCID MSGID " (with the
 * space before STRUCTURED-DATA). */
void fmt_syslog_header(struct fbuf *out, const cJSON *rec, const struct fmt_ctx *ctx);
/* Appends header, STRUCTURED-DATA ([mlwatch@32473 ...] when sd, else "-")
 * and MSG: the JSON line (rec printed when line is NULL) on one line. */
void fmt_syslog(struct fbuf *out, bool sd, const cJSON *rec, const char *line,
		const struct fmt_ctx *ctx);

#endif
