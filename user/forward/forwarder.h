/* One output: its memory queue, spool, a thread that moves records from
 * the queue to the spool, and a thread that sends them from the spool, in
 * order, with retries. */
#ifndef MLWATCH_FORWARDER_H
#define MLWATCH_FORWARDER_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "fanout.h"
#include "config/outputs_conf.h"
#include "forward/format/fmt_record.h"

struct forwarder;

/* oc and ctx must outlive the forwarder. NULL with the reason in err. */
struct forwarder *forwarder_start(const struct output_conf *oc, const struct fmt_ctx *ctx,
				  char *err, size_t errlen);
/* Never blocks on I/O; a full queue drops the record and counts it. */
void forwarder_submit(struct forwarder *f, unsigned kind, const char *line, size_t len);
bool forwarder_takes(const struct forwarder *f, unsigned kind);
void forwarder_stats(struct forwarder *f, struct fwd_stats *st);
/* Stopping in three steps, so that several outputs drain at once: drain
 * (spool the queue, send what can be sent, until deadline_ns, monotonic),
 * drained (both done), halt (stop and join the threads; whatever is left
 * stays spooled for the next run). Stats still work after halt. */
void forwarder_drain(struct forwarder *f, uint64_t deadline_ns);
bool forwarder_drained(struct forwarder *f);
void forwarder_halt(struct forwarder *f);
/* All three for one output, drain_ms from now. */
void forwarder_stop(struct forwarder *f, unsigned drain_ms);
void forwarder_free(struct forwarder *f);

#endif
