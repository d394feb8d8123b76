/* Sensor-health alerts render like the other alerts, counts included. */
#include <cjson/cJSON.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "output/health_render.h"
#include "schema_check.h"

static struct health_alert sample(void)
{
	struct health_alert a = {
		.rule_id = "sensor-events-lost",
		.title = "lost",
		.severity = "high",
		.host = "node\n1",
		.realtime_ns = 1700000000123456789ull,
		.window_ns = 2500000000ull,
		.vital_lost = 3,
		.n = 2,
	};

	a.counts[0].reason = "shed_model_open";
	a.counts[0].count = 700;
	a.counts[1].reason = "ringbuf_full_exec";
	a.counts[1].count = 3;
	return a;
}

static void test_json(void)
{
	struct health_alert a = sample();
	cJSON *j = health_alert_to_json(&a), *counts;

	CHECK(j != NULL);
	CHECK(schema_version_index(j) == 1);
	CHECK_STR(cJSON_GetObjectItem(j, "record")->valuestring, "alert");
	CHECK_STR(cJSON_GetObjectItem(cJSON_GetObjectItem(j, "rule"), "id")->valuestring,
		  "sensor-events-lost");
	CHECK_STR(cJSON_GetArrayItem(cJSON_GetObjectItem(j, "tags"), 0)->valuestring, "T1562.006");
	counts = cJSON_GetObjectItem(cJSON_GetObjectItem(j, "sensor"), "counts");
	CHECK(cJSON_GetObjectItem(counts, "shed_model_open")->valuedouble == 700);
	CHECK(cJSON_GetObjectItem(counts, "ringbuf_full_exec")->valuedouble == 3);
	CHECK(cJSON_GetObjectItem(cJSON_GetObjectItem(j, "sensor"), "window_ms")->valuedouble ==
	      2500);
	cJSON_Delete(j);
}

static void test_text(void)
{
	struct health_alert a = sample();
	char buf[512];

	health_alert_to_text(&a, buf, sizeof(buf));
	CHECK(strstr(buf, "[sensor-events-lost]") != NULL);
	CHECK(strstr(buf, "shed_model_open=700 ringbuf_full_exec=3") != NULL);
	CHECK(strstr(buf, "(vital: 3)") != NULL);
	CHECK(strchr(buf, '\n') == NULL);
}

int main(void)
{
	RUN(test_json);
	RUN(test_text);
	return CHECK_DONE();
}
