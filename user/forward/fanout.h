/* Forwarding: every record the collector writes goes to each configured
 * output through that output's own queue, spool and sender threads, so a
 * slow or dead destination never holds up the caller. */
#ifndef MLWATCH_FANOUT_H
#define MLWATCH_FANOUT_H
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "config/outputs_conf.h"

struct fanout;

/* Counters of one output, totals since start. */
struct fwd_stats {
	const char *name;
	uint64_t submitted;       /* records handed to the output */
	uint64_t delivered;       /* acknowledged by the destination (or written) */
	uint64_t retries;         /* tries that failed and will be tried again */
	uint64_t rejected;        /* refused for good (4xx, an item the destination refused) */
	uint64_t queue_dropped;   /* the memory queue was full (the spool could not keep up) */
	uint64_t spool_dropped;   /* the spool was full: the oldest records went */
	uint64_t spool_errors;    /* the spool could not be written (records kept in memory) */
	uint64_t render_errors;   /* a record the format could not render */
	uint64_t spool_records;   /* waiting in the spool now */
	uint64_t spool_bytes;     /* bytes of the spool now */
	uint64_t queue_records;   /* waiting in memory now */
	uint64_t spool_damaged;   /* records found torn in the spool (a crash mid-write) */
	uint64_t spool_recovered; /* records a previous run left unsent */
	uint64_t failing_ms;      /* how long every try has failed; 0: delivering */
	char last_error[160];     /* the last failure, "" if none; never holds a token */
};

/* Starts one queue, spool and sender per output. host: the HOSTNAME used
 * when a record carries none. Returns NULL with the reason in err. */
struct fanout *fanout_start(const struct outputs_conf *conf, const char *host, char *err,
			    size_t errlen);
/* Hands one record (its JSON line, without newline; kind: a REC_* bit) to
 * every output that takes its kind. Never blocks on I/O. */
void fanout_submit(struct fanout *f, unsigned kind, const char *line, size_t len);
/* The same, to every output but output skip (FANOUT_ALL: none skipped). */
#define FANOUT_ALL ((size_t)-1)
void fanout_submit_except(struct fanout *f, size_t skip, unsigned kind, const char *line,
			  size_t len);
size_t fanout_count(const struct fanout *f);
void fanout_stats(struct fanout *f, size_t i, struct fwd_stats *st);
/* Waits up to drain_ms (for all outputs together) for the queues to reach
 * the spools and the destinations, then stops the threads; what is left
 * stays spooled for the next run. Stats still work until fanout_free. */
void fanout_stop(struct fanout *f, unsigned drain_ms);
void fanout_free(struct fanout *f);

#endif
