/* Capped exponential backoff with jitter, for retrying a destination. */
#ifndef MLWATCH_BACKOFF_H
#define MLWATCH_BACKOFF_H
#include <stdint.h>

struct backoff {
	unsigned base_ms, cap_ms;
	unsigned tries;
	uint64_t rnd;
};

void backoff_init(struct backoff *b, unsigned base_ms, unsigned cap_ms, uint64_t seed);
/* The next wait: uniformly in [d/2, d] with d = min(cap, base * 2^tries),
 * and never shorter than floor_ms (a server's Retry-After, capped). */
unsigned backoff_next(struct backoff *b, unsigned floor_ms);
void backoff_reset(struct backoff *b);

#endif
