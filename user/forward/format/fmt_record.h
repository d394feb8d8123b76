/* One record in a destination's convention. The record is the JSON object
 * mlwatch writes with --json (rec, and the same text as line); what comes
 * out is one message without transport framing (no octet count, no
 * trailing newline). */
#ifndef MLWATCH_FMT_RECORD_H
#define MLWATCH_FMT_RECORD_H
#include <cjson/cJSON.h>

#include "config/outputs_conf.h"
#include "fbuf.h"

struct fmt_ctx {
	const char *host;    /* HOSTNAME when a record has no "host" */
	const char *version; /* mlwatch's version (CEF header, OCSF product) */
	int facility;        /* syslog facility number */
	int procid;          /* syslog PROCID: mlwatch's pid */
};

/* The REC_* kind of a record (0 when it is none of them). */
unsigned fmt_record_kind(const cJSON *rec);

/* FMT_RFC5424: an RFC 5424 message, MSG the JSON line.
 * FMT_CEF: an RFC 5424 message whose MSG is an ArcSight CEF line.
 * FMT_JSON for syslog: an RFC 5424 message, nil STRUCTURED-DATA, MSG the line.
 * FMT_JSON otherwise: the line itself.
 * FMT_FALCO, FMT_ECS, FMT_OCSF: the record mapped, compact JSON.
 * Returns 0, or -1 with the reason in why. */
int fmt_record(struct fbuf *out, enum out_type type, enum out_format f, const cJSON *rec,
	       const char *line, const struct fmt_ctx *ctx, char *why, size_t whylen);

#endif
