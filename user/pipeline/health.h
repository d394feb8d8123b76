/*
 * Sensor health: the kernel's loss counters turned into alerts while
 * mlwatch runs, within seconds, not only in the report at exit. A record
 * the kernel could not send may be the one an attack needed, so every
 * loss is said: records lost with the ring buffer full, records shed to
 * keep room for vital ones, syscalls whose arguments could not be kept
 * (sensor-events-lost), and a mark that did not fit (sensor-map-full).
 */
#ifndef MLWATCH_HEALTH_H
#define MLWATCH_HEALTH_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <mlwatch/events.h>

#include "output/health_render.h"

/* At most one alert per rule this often; counts add up in between. */
#define HEALTH_MIN_GAP_NS (2ull * 1000 * 1000 * 1000)

struct health {
	uint64_t reported[MLW_CNT_MAX]; /* counters as of the last alert */
	uint64_t last_ns[2];            /* monotonic time of the last alert, per rule */
	uint64_t alerts;
};

void health_init(struct health *h, uint64_t now_ns);
/* Compares the kernel's counters with what was last reported and fills
 * out[] with the alerts due (at most 2); force: due whatever the gap (at
 * exit). Returns how many. The caller sets host and time. */
size_t health_check(struct health *h, const uint64_t cnt[MLW_CNT_MAX], uint64_t now_ns, bool force,
		    struct health_alert out[2]);
#endif
