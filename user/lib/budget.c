/* A job's time and decompression budget (see budget.h). */
#include <time.h>

#include "budget.h"

uint64_t budget_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

void budget_init(struct budget *b, uint64_t time_ms, uint64_t inflate)
{
	*b = (struct budget){ .inflate_left = inflate ? inflate : UINT64_MAX };
	if (time_ms)
		b->deadline_ns = budget_now_ns() + time_ms * 1000000ull;
}

bool budget_time_up(struct budget *b)
{
	if (!b)
		return false;
	if (b->spent & BUDGET_TIME)
		return true;
	if (b->deadline_ns && budget_now_ns() >= b->deadline_ns)
		b->spent |= BUDGET_TIME;
	return b->spent & BUDGET_TIME;
}

uint64_t budget_inflate_room(const struct budget *b, uint64_t want)
{
	return b && b->inflate_left < want ? b->inflate_left : want;
}

void budget_charge_inflate(struct budget *b, uint64_t n, bool cut)
{
	if (!b)
		return;
	b->inflated += n;
	b->inflate_left = n < b->inflate_left ? b->inflate_left - n : 0;
	if (cut)
		b->spent |= BUDGET_INFLATE;
}
