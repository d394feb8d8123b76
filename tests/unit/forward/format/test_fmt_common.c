/* What the formats share: RFC 3339 times, kinds and severities, ATT&CK
 * ids, and the escaping helpers. */
#include <stdio.h>

#include "check.h"
#include "fmt_test.h"
#include "forward/format/fmt_attack.h"
#include "forward/format/fmt_common.h"

static void test_time_parse(void)
{
	struct fmt_time t;
	char s[64];

	CHECK(fmt_time_parse("2026-11-22T02:05:51.412Z", &t) == 0);
	CHECK(t.sec == 1795313151 && t.nsec == 412000000);
	CHECK(fmt_time_parse("1970-01-01T00:00:00Z", &t) == 0 && t.sec == 0 && t.nsec == 0);
	CHECK(fmt_time_parse("2024-02-29T23:59:60.999999999999+01:30", &t) == 0);
	fmt_time_text(&t, 9, "Z", s, sizeof(s));
	CHECK_STR(s, "2024-02-29T22:30:00.999999999Z");
	fmt_time_text(&t, 3, "+0000", s, sizeof(s));
	CHECK_STR(s, "2024-02-29T22:30:00.999+0000");
	CHECK(fmt_time_parse("2026-01-01t00:00:00.5z", &t) == 0 && t.nsec == 500000000);
	CHECK(fmt_time_ms(&t) == 1767225600500ull);
	CHECK(fmt_time_ns(&t) == 1767225600500000000ull);
	CHECK(fmt_time_parse("2026-01-01 00:00:00-00:00", &t) == 0);
	/* refused */
	CHECK(fmt_time_parse(NULL, &t) == -1);
	CHECK(fmt_time_parse("", &t) == -1);
	CHECK(fmt_time_parse("2026-01-01T00:00:00", &t) == -1);   /* no zone */
	CHECK(fmt_time_parse("2026-01-01T00:00:00Zx", &t) == -1); /* trailing */
	CHECK(fmt_time_parse("2026-01-01T00:00:00.Z", &t) == -1); /* empty fraction */
	CHECK(fmt_time_parse("2025-02-29T00:00:00Z", &t) == -1);  /* not a leap year */
	CHECK(fmt_time_parse("2100-02-29T00:00:00Z", &t) == -1);
	CHECK(fmt_time_parse("2026-13-01T00:00:00Z", &t) == -1);
	CHECK(fmt_time_parse("2026-04-31T00:00:00Z", &t) == -1);
	CHECK(fmt_time_parse("2026-01-01T24:00:00Z", &t) == -1);
	CHECK(fmt_time_parse("2026-01-01T00:00:00+24:00", &t) == -1);
	CHECK(fmt_time_parse("2026-1-01T00:00:00Z", &t) == -1);
	CHECK(fmt_time_parse("1969-12-31T23:59:59Z", &t) == -1); /* before 1970 */
	CHECK(fmt_time_parse("1970-01-01T00:00:00+00:01", &t) == -1);
	/* epoch nanoseconds past int64 */
	CHECK(fmt_time_parse("2262-04-11T23:47:16Z", &t) == -1);
	CHECK(fmt_time_parse("2262-04-11T23:47:15Z", &t) == 0);
}

static void test_kind_and_severity(void)
{
	static const struct {
		const char *json;
		unsigned kind;
		enum fmt_sev sev;
	} t[] = {
		{ "{\"record\":\"alert\",\"rule\":{\"id\":\"model-loader-shell\"},\"severity\":\"critical\"}",
		  REC_ALERT, FSEV_CRITICAL },
		{ "{\"record\":\"alert\",\"rule\":{\"id\":\"sensor-map-full\"},\"severity\":\"high\"}",
		  REC_HEALTH, FSEV_HIGH },
		{ "{\"record\":\"alert\",\"rule\":{\"id\":\"collector-limit-reached\"},\"severity\":\"low\"}",
		  REC_HEALTH, FSEV_LOW },
		{ "{\"record\":\"alert\",\"rule\":{\"id\":\"output-down\"}}", REC_HEALTH,
		  FSEV_NONE },
		{ "{\"record\":\"alert\",\"rule\":{\"id\":\"sensorx\"},\"severity\":\"x\"}",
		  REC_ALERT, FSEV_MEDIUM },
		{ "{\"record\":\"incident\",\"severity\":null}", REC_INCIDENT, FSEV_MEDIUM },
		{ "{\"record\":\"inventory\"}", REC_INVENTORY, FSEV_NONE },
		{ "{\"record\":\"inventory-held-back\"}", REC_INVENTORY, FSEV_NONE },
		{ "{\"record\":\"scan\"}", 0, FSEV_NONE },
		{ "{\"record\":5}", 0, FSEV_NONE },
		{ "{\"record\":\"alert\",\"rule\":\"sensor-x\"}", REC_ALERT, FSEV_NONE },
	};

	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		cJSON *rec = cJSON_Parse(t[i].json);

		CHECK(fmt_record_kind(rec) == t[i].kind);
		CHECK(fmt_sev_of(rec) == t[i].sev);
		cJSON_Delete(rec);
	}
	CHECK(fmt_record_kind(NULL) == 0);
}

static void test_attack_ids(void)
{
	CHECK(attack_kind_of("T1059") == ATK_TECHNIQUE);
	CHECK(attack_kind_of("T1059.004") == ATK_SUBTECHNIQUE);
	CHECK(attack_kind_of("TA0002") == ATK_TACTIC);
	CHECK(attack_kind_of("T105") == ATK_NONE);
	CHECK(attack_kind_of("T10599") == ATK_NONE);
	CHECK(attack_kind_of("T1059.04") == ATK_NONE);
	CHECK(attack_kind_of("T1059.0041") == ATK_NONE);
	CHECK(attack_kind_of("AML.T0011.000") == ATK_NONE);
	CHECK(attack_kind_of("M1038") == ATK_NONE);
	CHECK(attack_kind_of("") == ATK_NONE);
	CHECK(attack_kind_of(NULL) == ATK_NONE);
	CHECK_STR(attack_name("T1552.005"), "Cloud Instance Metadata API");
	CHECK(attack_name("T9999") == NULL);
}

static void test_json_line(void)
{
	struct fbuf b = { 0 };

	fmt_put_json_line(&b, "{\"a\":\"x\ny\\\"\r\",\n\t\"b\":\"\\\\\x01\"}");
	CHECK_STR(b.p, "{\"a\":\"x\\ny\\\"\\r\",  \"b\":\"\\\\\\u0001\"}");
	fbuf_free(&b);
	fmt_put_json_str(&b, "q\"b\\n\n\x1f\xc3\xa9");
	CHECK_STR(b.p, "\"q\\\"b\\\\n\\n\\u001f\xc3\xa9\"");
	fbuf_free(&b);
}

static void test_utf8(void)
{
	struct fbuf b = { 0 };

	CHECK(fmt_utf8_cut("ab\xc3\xa9", 4, 3) == 2);
	CHECK(fmt_utf8_cut("ab\xc3\xa9", 4, 4) == 4);
	CHECK(fmt_utf8_cut("\xe2\x82\xac\xe2\x82\xac", 6, 5) == 3);
	CHECK(fmt_utf8_cut("abc", 3, 0) == 0);
	fmt_put_utf8(&b, "a\xff\xed\xa0\x80z", 6);
	/* a stray byte and a surrogate: one U+FFFD per byte */
	CHECK_STR(b.p, "a\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbdz");
	fbuf_free(&b);
}

int main(void)
{
	RUN(test_time_parse);
	RUN(test_kind_and_severity);
	RUN(test_attack_ids);
	RUN(test_json_line);
	RUN(test_utf8);
	return CHECK_DONE();
}
