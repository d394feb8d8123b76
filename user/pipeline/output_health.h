/*
 * Forwarding health: an output that loses records, or cannot reach its
 * destination, is said while mlwatch runs, like the sensors' losses. A
 * record that never reaches the SIEM may be the one an attack needed, and
 * an attacker who can slow a receiver down may try to push records out of
 * a full spool.
 */
#ifndef MLWATCH_OUTPUT_HEALTH_H
#define MLWATCH_OUTPUT_HEALTH_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "forward/fanout.h"
#include "output/health_render.h"

/* An output failing this long is said (and again every REPEAT while so). */
#define OUTPUT_UNREACHABLE_MS 30000ull
#define OUTPUT_UNREACHABLE_REPEAT_NS (300ull * 1000 * 1000 * 1000)
#define OUTPUT_LOST_KINDS 5

struct output_told {
	uint64_t lost[OUTPUT_LOST_KINDS]; /* as of the last output-records-lost */
	uint64_t lost_ns;
	uint64_t unreachable_ns; /* last output-unreachable; 0: none this episode */
};

struct output_health {
	struct output_told *v;
	size_t n;
	uint64_t start_ns;
};

int output_health_init(struct output_health *h, size_t n, uint64_t now_ns);
/* Output i's alerts due (at most 2) into out; force: whatever the gap (at
 * exit). The caller sets host and time. */
size_t output_health_check(struct output_health *h, size_t i, const struct fwd_stats *st,
			   uint64_t now_ns, bool force, struct health_alert out[2]);
void output_health_free(struct output_health *h);

#endif
