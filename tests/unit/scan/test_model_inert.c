/* model_inert_check under a budget: the one check that may unmark a loader
 * stops at the budget's deadline and then proves nothing. */
#include <stdint.h>
#include <string.h>

#include "check.h"
#include "lib/budget.h"
#include "scan/model_inert.h"

static const char hdr[] = "{\"w\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}";
static uint8_t file[8 + sizeof(hdr) - 1 + 8];

static void test_deadline_keeps_the_mark(void)
{
	struct inert_verdict v;
	struct byte_src s;
	struct budget b;

	file[0] = sizeof(hdr) - 1;
	memcpy(file + 8, hdr, sizeof(hdr) - 1);
	bsrc_from_mem(&s, file, sizeof(file));
	CHECK(model_inert_check(&s, "m.safetensors", &v) == 0);
	CHECK(v.inert && !strcmp(v.kind, "safetensors"));
	/* time enough: the same */
	budget_init(&b, 60000, 0);
	s.budget = &b;
	CHECK(model_inert_check(&s, "m.safetensors", &v) == 0);
	CHECK(v.inert && !b.spent);
	/* the deadline passed: not inert, and why */
	b.deadline_ns = 1;
	model_inert_check(&s, "m.safetensors", &v);
	CHECK(!v.inert && v.kind == NULL && strstr(v.why, "ran out of time") != NULL);
}

int main(void)
{
	RUN(test_deadline_keeps_the_mark);
	return CHECK_DONE();
}
