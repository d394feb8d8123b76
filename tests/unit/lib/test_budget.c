/* Unit tests for user/lib/budget.c: a deadline that passes stays passed,
 * the inflate room shrinks as output is charged, NULL never runs out. */
#include <time.h>

#include "check.h"
#include "lib/budget.h"

static void test_no_limits(void)
{
	struct budget b;

	budget_init(&b, 0, 0);
	CHECK(!budget_time_up(&b) && !b.spent);
	CHECK(budget_inflate_room(&b, 1ull << 40) == 1ull << 40);
	budget_charge_inflate(&b, 1ull << 40, false);
	CHECK(!b.spent && b.inflated == 1ull << 40);
	/* NULL: never runs out, charges nothing */
	CHECK(!budget_time_up(NULL));
	CHECK(budget_inflate_room(NULL, 7) == 7);
	budget_charge_inflate(NULL, 7, true);
}

static void test_deadline(void)
{
	struct timespec ms2 = { 0, 2000000 };
	struct budget b;

	budget_init(&b, 1, 0);
	CHECK(b.deadline_ns > budget_now_ns() - 1);
	nanosleep(&ms2, NULL);
	CHECK(budget_time_up(&b) && b.spent == BUDGET_TIME);
	b.deadline_ns = budget_now_ns() + 1000000000ull; /* sticky once seen */
	CHECK(budget_time_up(&b));
	budget_init(&b, 60000, 0);
	CHECK(!budget_time_up(&b) && !b.spent);
}

static void test_inflate(void)
{
	struct budget b;

	budget_init(&b, 0, 100);
	CHECK(budget_inflate_room(&b, 1000) == 100 && budget_inflate_room(&b, 10) == 10);
	budget_charge_inflate(&b, 60, false);
	CHECK(budget_inflate_room(&b, 1000) == 40 && !b.spent && b.inflated == 60);
	budget_charge_inflate(&b, 40, true);
	CHECK(budget_inflate_room(&b, 1000) == 0 && b.spent == BUDGET_INFLATE);
	CHECK(b.inflated == 100 && b.inflate_left == 0);
	budget_charge_inflate(&b, 5, false); /* never below zero */
	CHECK(b.inflate_left == 0 && b.inflated == 105);
}

int main(void)
{
	RUN(test_no_limits);
	RUN(test_deadline);
	RUN(test_inflate);
	return CHECK_DONE();
}
