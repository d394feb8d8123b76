/*
 * --metrics-addr: the collector's, the sensors', the inventory's and the
 * outputs' counters as one Prometheus text snapshot (docs/metrics.md),
 * made on the main thread at each collector_tick and handed to the
 * metrics server, which serves it without touching what it came from.
 */
#ifndef MLWATCH_COLLECTOR_METRICS_H
#define MLWATCH_COLLECTOR_METRICS_H
#include "collector.h"
#include "metrics/expo.h"
#include "metrics/metrics_server.h"

/* The marks maps are counted at most this often, and less often when a
 * count takes long (METRICS_MAPS_COST times its duration between two). */
#define METRICS_MAPS_MIN_NS 1000000000ull
#define METRICS_MAPS_COST 50

/* From now on collector_tick hands m a snapshot (c->on_tick). 0, or -1
 * (memory). */
int collector_metrics_attach(struct collector *c, struct metrics_server *m);
/* Makes a snapshot and hands it to the server (what c->on_tick does). */
void collector_metrics_publish(struct collector *c);
/* The snapshot into e (the tests read it). */
void collector_metrics_render(struct collector *c, struct expo *e);
/* No more snapshots; frees what attach made. Before collector_free. */
void collector_metrics_detach(struct collector *c);
#endif
