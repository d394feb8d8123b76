/* Sensor health: kernel loss counters become alerts while running. */
#include <string.h>

#include "check.h"
#include "pipeline/health.h"

#define SEC 1000000000ull

static uint64_t count_of(const struct health_alert *a, const char *reason)
{
	for (size_t i = 0; i < a->n; i++)
		if (strcmp(a->counts[i].reason, reason) == 0)
			return a->counts[i].count;
	return 0;
}

static void test_quiet_without_losses(void)
{
	struct health h;
	struct health_alert a[2];
	uint64_t cnt[MLW_CNT_MAX] = { 0 };

	health_init(&h, 0);
	cnt[MLW_CNT_EVENTS_SENT] = 1000000;
	cnt[MLW_CNT_OPEN_REPEAT] = 5000;
	CHECK(health_check(&h, cnt, 10 * SEC, false, a) == 0);
	CHECK(health_check(&h, cnt, 20 * SEC, true, a) == 0);
}

static void test_loss_alerted_with_reasons(void)
{
	struct health h;
	struct health_alert a[2];
	uint64_t cnt[MLW_CNT_MAX] = { 0 };

	health_init(&h, 0);
	cnt[MLW_CNT_SHED_MODEL_OPEN] = 700;
	cnt[MLW_CNT_RB_FULL_EXEC] = 3;
	CHECK(health_check(&h, cnt, 3 * SEC, false, a) == 1);
	CHECK(strcmp(a[0].rule_id, "sensor-events-lost") == 0);
	CHECK(count_of(&a[0], "shed_model_open") == 700);
	CHECK(count_of(&a[0], "ringbuf_full_exec") == 3);
	CHECK(a[0].vital_lost == 3);
	CHECK(strcmp(a[0].severity, "high") == 0);
	/* the same counters again: nothing new to say */
	CHECK(health_check(&h, cnt, 10 * SEC, false, a) == 0);
	/* more losses inside the gap wait, then come as the difference */
	cnt[MLW_CNT_SHED_MODEL_OPEN] = 900;
	CHECK(health_check(&h, cnt, 3 * SEC + HEALTH_MIN_GAP_NS / 2 + 8 * SEC, false, a) == 1);
	CHECK(count_of(&a[0], "shed_model_open") == 200);
	CHECK(a[0].vital_lost == 0);
	CHECK(strcmp(a[0].severity, "medium") == 0);
}

static void test_gap_and_force(void)
{
	struct health h;
	struct health_alert a[2];
	uint64_t cnt[MLW_CNT_MAX] = { 0 };

	health_init(&h, 0);
	cnt[MLW_CNT_SHED_OPEN] = 1;
	CHECK(health_check(&h, cnt, HEALTH_MIN_GAP_NS, false, a) == 1);
	cnt[MLW_CNT_SHED_OPEN] = 2;
	CHECK(health_check(&h, cnt, HEALTH_MIN_GAP_NS + 1, false, a) == 0);
	/* at exit nothing waits */
	CHECK(health_check(&h, cnt, HEALTH_MIN_GAP_NS + 2, true, a) == 1);
	CHECK(count_of(&a[0], "shed_open") == 1);
}

static void test_full_marks_map(void)
{
	struct health h;
	struct health_alert a[2];
	uint64_t cnt[MLW_CNT_MAX] = { 0 };

	health_init(&h, 0);
	cnt[MLW_CNT_MARKS_FULL] = 2;
	cnt[MLW_CNT_PENDING_FULL] = 1;
	CHECK(health_check(&h, cnt, 5 * SEC, false, a) == 2);
	CHECK(strcmp(a[0].rule_id, "sensor-events-lost") == 0);
	CHECK(count_of(&a[0], "pending_map_full") == 1);
	CHECK(strcmp(a[1].rule_id, "sensor-map-full") == 0);
	CHECK(count_of(&a[1], "marks_map_full") == 2);
}

int main(void)
{
	RUN(test_quiet_without_losses);
	RUN(test_loss_alerted_with_reasons);
	RUN(test_gap_and_force);
	RUN(test_full_marks_map);
	return CHECK_DONE();
}
