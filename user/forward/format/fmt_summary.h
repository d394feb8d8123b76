/* One line that says what a record is about ("exec sh -c id", "connect
 * 10.0.0.1:4444 (external)"), for the formats' message fields. */
#ifndef MLWATCH_FMT_SUMMARY_H
#define MLWATCH_FMT_SUMMARY_H
#include <cjson/cJSON.h>
#include <stddef.h>

/* Every string from the record is escaped as lib/textsan's text_escape
 * does (no control characters), and the line is cut to fit out. */
void fmt_summary(const cJSON *rec, char *out, size_t len);

#endif
