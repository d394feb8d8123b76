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

/* A full ring of paths: each lookup (hit or miss) and each write looks at
 * a few slots, not the whole ring. */
static void test_lookups_constant_steps(void)
{
	char p[64];
	uint64_t before;

	dropped_init(&d);
	for (int i = 0; i < 2 * DROPPED_MAX; i++) {
		snprintf(p, sizeof(p), "/tmp/w/%d", i);
		dropped_note(&d, 1, 1, p, S);
	}
	CHECK(d.steps < 4 * DROPPED_MAX);
	before = d.steps;
	for (int i = DROPPED_MAX; i < 2 * DROPPED_MAX; i++) {
		snprintf(p, sizeof(p), "/tmp/w/%d", i);
		CHECK(dropped_by_lineage(&d, 1, 1, p, 2 * S));
		CHECK(!dropped_by_lineage(&d, 2, 1, p, 2 * S));
	}
	CHECK(d.steps - before < 8 * DROPPED_MAX); /* about 2 per lookup */
	dropped_free(&d);
}

/* One path written over and over is one entry: it pushes nothing else
 * out, and the window counts from its latest write. */
static void test_rewrites_are_one_entry(void)
{
	dropped_init(&d);
	dropped_note(&d, 1, 1, "/tmp/keep", S);
	for (int i = 0; i < 3 * DROPPED_MAX; i++)
		dropped_note(&d, 1, 1, "/tmp/again", S + (uint64_t)i);
	CHECK(d.forgotten == 0);
	CHECK(dropped_by_lineage(&d, 1, 1, "/tmp/keep", 2 * S));
	CHECK(dropped_by_lineage(&d, 1, 1, "/tmp/again", 2 * S));
	CHECK(d.bytes == sizeof("/tmp/keep") + sizeof("/tmp/again"));
	/* first written at S: an exec before that did not run it */
	CHECK(!dropped_by_lineage(&d, 1, 1, "/tmp/again", S - 1));
	CHECK(dropped_by_lineage(&d, 1, 1, "/tmp/again",
				 S + 3 * DROPPED_MAX - 1 + DROPPED_WINDOW_NS));
	CHECK(!dropped_by_lineage(&d, 1, 1, "/tmp/again", S + 3 * DROPPED_MAX + DROPPED_WINDOW_NS));
	dropped_free(&d);
}

int main(void)
{
	RUN(test_same_lineage_within_window);
	RUN(test_bounded_oldest_forgotten_and_counted);
	RUN(test_lookups_constant_steps);
	RUN(test_rewrites_are_one_entry);
	return CHECK_DONE();
}
