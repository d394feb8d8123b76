/*
 * The metrics endpoint (--metrics-addr): a thread of its own serving
 * /metrics, /healthz and /readyz over HTTP/1.1, one request per
 * connection. It never touches the collector's data: the main loop hands
 * it a finished text snapshot once a second (metrics_server_publish),
 * which it copies under its mutex. Bounded: METRICS_MAX_CONNS connections
 * at once (a new one takes the slot held longest), HTTP_REQ_MAX bytes of
 * request, METRICS_READ_MS for the request to arrive and METRICS_CONN_MS
 * for the whole exchange, so a slow or silent client holds a slot for
 * seconds at most, and clients that take every slot again and again
 * cannot keep a probe out.
 */
#ifndef MLWATCH_METRICS_SERVER_H
#define MLWATCH_METRICS_SERVER_H
#include <stddef.h>
#include <stdint.h>
#include "config/listen_addr.h"

#define METRICS_MAX_CONNS 16
#define METRICS_READ_MS 3000
#define METRICS_CONN_MS 10000
#define METRICS_SNAPSHOT_MAX (4u << 20)
/* /healthz: 503 once the main loop's last snapshot is older than this, or
 * while none came this long after start (sensors never attached) */
#define METRICS_STALL_NS (5ull * 1000000000ull)
#define METRICS_STARTUP_NS (120ull * 1000000000ull)

/* The statuses answered, in the order of metrics_server_stats.responses. */
#define METRICS_N_CODES 10
extern const int metrics_server_codes[METRICS_N_CODES];

struct metrics_server_stats {
	uint64_t connections;                /* accepted */
	uint64_t responses[METRICS_N_CODES]; /* by status */
	uint64_t timeouts;                   /* closed at a deadline: slow or silent clients */
	uint64_t write_errors;               /* the client went away mid-answer */
	uint64_t slots_full;                 /* times every connection slot was taken */
	uint64_t evicted;                    /* cut off then for a newer client */
	uint64_t snapshot_bytes;             /* the /metrics body now */
};

struct metrics_server;

/* Binds a (a clear error in err: the address and the reason) and starts
 * the thread. /metrics answers 503 until the first snapshot, /readyz until
 * metrics_server_set_ready, /healthz 200 meanwhile (see above). */
struct metrics_server *metrics_server_start(const struct listen_addr *a, char *err, size_t errlen);
/* A new /metrics body, copied; text NULL: the snapshot could not be made
 * (/metrics answers 500 until the next). Either way the main loop is
 * alive: /healthz counts from here. */
void metrics_server_publish(struct metrics_server *m, const char *text, size_t len);
/* Every sensor is attached: /readyz answers 200 from now on. */
void metrics_server_set_ready(struct metrics_server *m);
void metrics_server_stats(struct metrics_server *m, struct metrics_server_stats *st);
/* Stops and joins the thread, closes every socket, frees m (NULL: no-op). */
void metrics_server_stop(struct metrics_server *m);
#endif
