/* Counts by rule and severity, in a bounded table. */
#include <stdio.h>
#include "check.h"
#include "metrics/labeltab.h"

static void test_counts(void)
{
	struct labeltab t;

	CHECK(labeltab_init(&t, 4) == 0);
	labeltab_add(&t, "model-loader-shell", "critical");
	labeltab_add(&t, "model-loader-shell", "critical");
	labeltab_add(&t, "model-loader-shell", "high"); /* a rules file may change it */
	labeltab_add(&t, "sensor-events-lost", "medium");
	CHECK(t.n == 3);
	CHECK_STR(t.rows[0].a, "model-loader-shell");
	CHECK_STR(t.rows[0].b, "critical");
	CHECK(t.rows[0].n == 2);
	CHECK(t.rows[1].n == 1 && t.rows[2].n == 1);
	CHECK(t.overflow == 0);
	labeltab_free(&t);
}

/* Past max rows a new pair is counted in overflow, an old one still in
 * its row; a long id is cut, never overflows its row. */
static void test_bounded(void)
{
	struct labeltab t;
	char id[32], longid[200];

	CHECK(labeltab_init(&t, 8) == 0);
	for (int i = 0; i < 20; i++) {
		snprintf(id, sizeof(id), "rule-%d", i);
		labeltab_add(&t, id, "low");
	}
	CHECK(t.n == 8);
	CHECK(t.overflow == 12);
	labeltab_add(&t, "rule-0", "low");
	CHECK(t.rows[0].n == 2 && t.overflow == 12);
	labeltab_free(&t);

	CHECK(labeltab_init(&t, 2) == 0);
	memset(longid, 'x', sizeof(longid) - 1);
	longid[sizeof(longid) - 1] = 0;
	labeltab_add(&t, longid, "a-severity-too-long-for-its-row");
	CHECK(strlen(t.rows[0].a) == LABELTAB_A_MAX - 1);
	CHECK(strlen(t.rows[0].b) == LABELTAB_B_MAX - 1);
	labeltab_add(&t, NULL, NULL);
	CHECK_STR(t.rows[1].a, "");
	labeltab_free(&t);
}

int main(void)
{
	RUN(test_counts);
	RUN(test_bounded);
	return CHECK_DONE();
}
