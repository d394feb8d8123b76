/* Timestamps as every output writes them. */
#ifndef MLWATCH_TIMEFMT_H
#define MLWATCH_TIMEFMT_H
#include <stddef.h>
#include <stdint.h>

/* RFC 3339 UTC with milliseconds: 2026-11-22T01:02:03.456Z */
void format_rfc3339(uint64_t realtime_ns, char *out, size_t len);
#endif
