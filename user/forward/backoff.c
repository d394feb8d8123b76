/* Jitter spreads the retries of many agents after a receiver's outage, so
 * that they do not all come back at the same instant. */
#include "backoff.h"

void backoff_init(struct backoff *b, unsigned base_ms, unsigned cap_ms, uint64_t seed)
{
	b->base_ms = base_ms ? base_ms : 1;
	b->cap_ms = cap_ms < b->base_ms ? b->base_ms : cap_ms;
	b->tries = 0;
	b->rnd = seed | 1;
}

unsigned backoff_next(struct backoff *b, unsigned floor_ms)
{
	uint64_t d = b->base_ms;
	unsigned w;

	for (unsigned i = 0; i < b->tries && d < b->cap_ms; i++)
		d *= 2;
	if (d > b->cap_ms)
		d = b->cap_ms;
	if (b->tries < 64)
		b->tries++;
	/* xorshift64: no shared state with other threads' rand() */
	b->rnd ^= b->rnd << 13;
	b->rnd ^= b->rnd >> 7;
	b->rnd ^= b->rnd << 17;
	w = (unsigned)(d / 2 + b->rnd % (d / 2 + 1));
	if (floor_ms > b->cap_ms * 2)
		floor_ms = b->cap_ms * 2;
	return w < floor_ms ? floor_ms : w;
}

void backoff_reset(struct backoff *b)
{
	b->tries = 0;
}
