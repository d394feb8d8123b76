#include <stdlib.h>
#include "check.h"
#include "detect/dropped.h"

#define S 1000000000ull

static struct dropped d;

static void test_same_lineage_within_window(void)
{
	dropped_init(&d);
	dropped_note(&d, 100, 7, "/tmp/x/payload", 10 * S);
	CHECK(dropped_by_lineage(&d, 100, 7, "/tmp/x/payload", 11 * S));
	CHECK(!dropped_by_lineage(&d, 100, 7, "/tmp/x/other", 11 * S));
	/* another lineage, or the same pid after reuse (other mark time) */
	CHECK(!dropped_by_lineage(&d, 200, 7, "/tmp/x/payload", 11 * S));
	CHECK(!dropped_by_lineage(&d, 100, 8, "/tmp/x/payload", 11 * S));
	/* too late, and before the write */
	CHECK(!dropped_by_lineage(&d, 100, 7, "/tmp/x/payload", 10 * S + DROPPED_WINDOW_NS + 1));
	CHECK(!dropped_by_lineage(&d, 100, 7, "/tmp/x/payload", 9 * S));
	dropped_free(&d);
}

static void test_bounded_oldest_forgotten_and_counted(void)
{
	char p[64];

	dropped_init(&d);
	for (int i = 0; i < DROPPED_MAX + 10; i++) {
		snprintf(p, sizeof(p), "/tmp/f%d", i);
		dropped_note(&d, 1, 1, p, S + (uint64_t)i);
	}
	CHECK(d.forgotten == 10);
	CHECK(!dropped_by_lineage(&d, 1, 1, "/tmp/f0", 2 * S));
	snprintf(p, sizeof(p), "/tmp/f%d", DROPPED_MAX + 9);
	CHECK(dropped_by_lineage(&d, 1, 1, p, 2 * S));
	dropped_free(&d);
}

int main(void)
{
	RUN(test_same_lineage_within_window);
	RUN(test_bounded_oldest_forgotten_and_counted);
	return CHECK_DONE();
}
