#include "check.h"
#include "collect/proctable.h"

static void test_add_get(void)
{
	struct proctable pt;
	bool created;
	struct proc *p;

	CHECK(proctable_init(&pt, 0) == 0);
	p = proctable_add(&pt, 42, &created);
	CHECK(p && created);
	CHECK(proctable_add(&pt, 42, &created) == p && !created);
	CHECK(proctable_get(&pt, 42) == p);
	CHECK(proctable_get(&pt, 43) == NULL);
	proctable_free(&pt);
}

/* loader 100 -> 101 (setsid) -> 102 (reparented to init): the fork-time
 * parents still lead back to the loader. */
static void test_ancestry_survives_reparenting(void)
{
	struct proctable pt;
	uint32_t anc[PROCTABLE_MAX_DEPTH];
	bool c;
	size_t n;

	proctable_init(&pt, 0);
	proctable_add(&pt, 100, &c)->parent = 1;
	proctable_add(&pt, 101, &c)->parent = 100;
	proctable_add(&pt, 102, &c)->parent = 101;
	proctable_set_exited(&pt, proctable_get(&pt, 101), 1);
	n = proctable_ancestry(&pt, 102, 100, anc, PROCTABLE_MAX_DEPTH);
	CHECK(n == 3);
	CHECK(anc[0] == 102 && anc[1] == 101 && anc[2] == 100);
	proctable_free(&pt);
}

static void test_ancestry_bounded_on_cycle(void)
{
	struct proctable pt;
	uint32_t anc[PROCTABLE_MAX_DEPTH];
	bool c;

	proctable_init(&pt, 0);
	proctable_add(&pt, 5, &c)->parent = 6;
	proctable_add(&pt, 6, &c)->parent = 5;
	CHECK(proctable_ancestry(&pt, 5, 999, anc, PROCTABLE_MAX_DEPTH) == PROCTABLE_MAX_DEPTH);
	proctable_free(&pt);
}

static void test_expire_only_old_exited(void)
{
	struct proctable pt;
	bool c;
	struct proc *p;

	proctable_init(&pt, 0);
	p = proctable_add(&pt, 7, &c);
	proctable_set_exited(&pt, p, 1000);
	proctable_add(&pt, 8, &c); /* alive */
	proctable_expire(&pt, 1000 + PROCTABLE_LINGER_NS / 2);
	CHECK(proctable_get(&pt, 7) != NULL);
	proctable_expire(&pt, 1000 + PROCTABLE_LINGER_NS + 1);
	CHECK(proctable_get(&pt, 7) == NULL);
	CHECK(proctable_get(&pt, 8) != NULL);
	CHECK(pt.count == 1);
	proctable_free(&pt);
}

static void test_first_model_kept(void)
{
	struct proctable pt;
	bool c;
	struct proc *p;

	proctable_init(&pt, 0);
	p = proctable_add(&pt, 9, &c);
	proctable_set_model(&pt, p, "a.pkl", "/x/a.pkl", MF_PICKLE, 1);
	proctable_set_model(&pt, p, "b.pt", "/x/b.pt", MF_TORCH_ZIP, 2);
	CHECK_STR(p->model.path, "a.pkl");
	CHECK(p->model.format == MF_PICKLE);
	CHECK(p->n_models == 2);
	proctable_free(&pt);
}

/* A table of n entries at its limit: marked live, unmarked live and exited
 * ones as asked, in pid order (1..n). */
static void fill(struct proctable *pt, uint32_t n, uint32_t marked, uint32_t unmarked)
{
	bool c;

	for (uint32_t i = 1; i <= n; i++) {
		struct proc *p = proctable_add(pt, i, &c);

		if (i <= marked)
			proctable_set_lineage(pt, p, 1, 77);
		else if (i > marked + unmarked)
			proctable_set_exited(pt, p, i);
	}
}

/* Room is made from the exited first (the first to exit first), then from
 * unmarked live processes (the least recently seen first); a marked live
 * process is never evicted, and a refusal is counted. */
static void test_eviction_order(void)
{
	struct proctable pt;
	uint32_t n = PROCTABLE_MIN_MAX, next = n + 1;
	bool c;

	CHECK(proctable_init(&pt, n) == 0 && pt.max == n);
	/* 1..10 marked, 11..20 unmarked, 21..n exited in pid order */
	fill(&pt, n, 10, 10);
	/* 22 exits again, later: now the last of the exited to go */
	proctable_set_exited(&pt, proctable_get(&pt, 22), 5000000);
	CHECK(proctable_add(&pt, next++, &c) != NULL);
	CHECK(!proctable_get(&pt, 21) && proctable_get(&pt, 22));
	for (uint32_t i = 23; i <= n; i++)
		proctable_add(&pt, next++, &c);
	CHECK(!proctable_get(&pt, n) && proctable_get(&pt, 22));
	CHECK(pt.st.evicted_exited == n - 21);
	CHECK(pt.st.evicted_unmarked == 0);
	/* the new ones are unmarked too; 11 is seen again, so it goes last */
	CHECK(proctable_add(&pt, 11, &c) != NULL && !c);
	proctable_add(&pt, next++, &c); /* evicts 22, the last exited */
	CHECK(!proctable_get(&pt, 22) && pt.st.evicted_exited == n - 20);
	proctable_add(&pt, next++, &c); /* evicts 12, the least recently seen unmarked */
	CHECK(!proctable_get(&pt, 12) && proctable_get(&pt, 11));
	CHECK(pt.st.evicted_unmarked == 1);
	for (uint32_t i = 1; i <= 10; i++)
		CHECK(proctable_get(&pt, i) != NULL);
	CHECK(pt.count == n && pt.st.refused == 0);
	proctable_free(&pt);
}

/* Full of marked live processes: nothing is evicted for a newcomer, marked
 * or not, and each refusal is counted. An exit makes room again. */
static void test_full_of_marked_refuses_and_counts(void)
{
	struct proctable pt;
	uint32_t n = PROCTABLE_MIN_MAX;
	bool c;

	proctable_init(&pt, n);
	fill(&pt, n, n, 0);
	CHECK(pt.cls[PROC_MARKED].n == n);
	CHECK(proctable_add(&pt, n + 1, &c) == NULL);
	CHECK(proctable_add(&pt, n + 2, &c) == NULL);
	CHECK(pt.st.refused == 2 && pt.count == n);
	CHECK(pt.st.evicted_exited == 0 && pt.st.evicted_unmarked == 0);
	for (uint32_t i = 1; i <= n; i++)
		CHECK(proctable_get(&pt, i) != NULL);
	proctable_set_exited(&pt, proctable_get(&pt, 5), 1);
	CHECK(proctable_add(&pt, n + 3, &c) != NULL && !proctable_get(&pt, 5));
	proctable_free(&pt);
}

/* Steps per insert into a full table, whose room comes from exited
 * entries: the same for a 64 times larger table. (The old scan over every
 * entry looked at all of them for each insert.) */
static double steps_per_evicting_insert(uint32_t n)
{
	struct proctable pt;
	uint64_t before;
	bool c;
	const uint32_t k = 4096;

	proctable_init(&pt, n);
	fill(&pt, n, n / 2, 0);
	before = pt.st.steps;
	for (uint32_t i = 0; i < k; i++) {
		struct proc *p = proctable_add(&pt, n + 1 + i, &c);

		if (p)
			proctable_set_exited(&pt, p, n + 1 + i);
	}
	CHECK(pt.st.evicted_exited == k && pt.count == n);
	before = pt.st.steps - before;
	proctable_free(&pt);
	return (double)before / k;
}

static void test_insert_is_constant_time(void)
{
	double small = steps_per_evicting_insert(PROCTABLE_MIN_MAX);
	double large = steps_per_evicting_insert(64 * PROCTABLE_MIN_MAX);

	CHECK(small <= 2.0 && large <= 2.0);
	CHECK(large <= small * 1.5);
}

/* A lineage's live count is kept as its members fork, exit, leave (a new
 * lineage, a pid reused) and are evicted; counting it looks at nothing. */
static void test_lineage_live_count(void)
{
	struct proctable pt;
	struct proc *p[4];
	uint64_t before;
	bool c;

	proctable_init(&pt, 0);
	for (uint32_t i = 0; i < 4; i++) {
		p[i] = proctable_add(&pt, 100 + i, &c);
		proctable_set_lineage(&pt, p[i], 100, 9);
	}
	CHECK(proctable_lineage_live(&pt, 100, 9) == 4);
	CHECK(proctable_lineage_live(&pt, 100, 8) == 0);
	proctable_set_exited(&pt, p[1], 5);
	proctable_set_exited(&pt, p[1], 6); /* a second exit record changes nothing */
	CHECK(proctable_lineage_live(&pt, 100, 9) == 3);
	proctable_set_lineage(&pt, p[2], 102, 10); /* its own lineage now */
	CHECK(proctable_lineage_live(&pt, 100, 9) == 2);
	CHECK(proctable_lineage_live(&pt, 102, 10) == 1);
	proctable_reset(&pt, p[3]); /* pid reuse */
	CHECK(proctable_lineage_live(&pt, 100, 9) == 1);
	before = pt.st.steps;
	CHECK(proctable_lineage_live(&pt, 100, 9) == 1);
	CHECK(pt.st.steps - before <= 1);
	proctable_set_exited(&pt, p[0], 7);
	CHECK(proctable_lineage_live(&pt, 100, 9) == 0);
	proctable_expire(&pt, 7 + PROCTABLE_LINGER_NS + 1);
	CHECK(!proctable_get(&pt, 100) && !proctable_get(&pt, 101));
	CHECK(pt.lineages == 1 && proctable_lineage_live(&pt, 102, 10) == 1);
	proctable_free(&pt);
}

/* Children share their parent's strings; past the budget, strings are
 * clipped (a path keeps its end) or dropped, and counted. */
static void test_strings_shared_and_bounded(void)
{
	struct proctable pt;
	static char filler[8192];
	char longpath[1024], args[600];
	struct proc *a, *b;
	size_t used, hdr;
	bool c;

	proctable_init(&pt, PROCTABLE_MIN_MAX);
	memset(longpath, 'd', sizeof(longpath));
	longpath[0] = '/';
	memcpy(longpath + sizeof(longpath) - 9, "/prog.sh", 9);
	memset(args, 'x', sizeof(args));
	a = proctable_add(&pt, 1, &c);
	proctable_set_exe(&pt, a, "/usr/bin/python3");
	proctable_set_args(&pt, a, args, sizeof(args), false);
	used = pt.str_bytes;
	b = proctable_add(&pt, 2, &c);
	proctable_inherit(&pt, b, a);
	CHECK(pt.str_bytes == used && b->exe == a->exe && b->args_len == sizeof(args));
	proctable_reset(&pt, a);
	CHECK_STR(b->exe, "/usr/bin/python3");
	/* spend the budget down to 600 bytes, whatever a string's header is */
	for (uint32_t i = 3; i < PROCTABLE_MIN_MAX - 10 && pt.str_bytes + 4096 <= pt.str_budget;
	     i++)
		proctable_set_exe(&pt, proctable_add(&pt, i, &c), longpath);
	used = pt.str_bytes;
	a = proctable_add(&pt, 4999, &c);
	proctable_set_exe(&pt, a, "x");
	hdr = pt.str_bytes - used - 2;
	proctable_set_args(&pt, a, filler, pt.str_budget - pt.str_bytes - 600 - hdr - 1, false);
	CHECK(pt.str_bytes + 600 == pt.str_budget);
	CHECK(pt.st.strings_clipped == 0);
	a = proctable_add(&pt, 5000, &c);
	proctable_set_exe(&pt, a, longpath);
	proctable_set_args(&pt, a, args, sizeof(args), false);
	CHECK(a->exe && strlen(a->exe) == PROCTABLE_CLIP - 1);
	CHECK(a->exe && !strcmp(a->exe + strlen(a->exe) - 8, "/prog.sh"));
	CHECK(a->args_len == PROCTABLE_CLIP - 1 && a->args_truncated);
	CHECK(pt.st.strings_clipped == 2);
	CHECK(pt.str_bytes <= pt.str_budget);
	for (uint32_t i = 5001; i < 5100; i++)
		proctable_set_exe(&pt, proctable_add(&pt, i, &c), longpath);
	CHECK(pt.st.strings_dropped > 0 && pt.str_bytes <= pt.str_budget);
	CHECK(proctable_bytes(&pt) <= proctable_max_bytes(&pt));
	proctable_free(&pt);
}

static void count_lineage(struct proc *p, void *ctx)
{
	(void)p;
	(*(int *)ctx)++;
}

static void test_for_lineage(void)
{
	struct proctable pt;
	bool c;
	int n = 0;

	proctable_init(&pt, 0);
	for (uint32_t i = 1; i <= 4; i++) {
		struct proc *p = proctable_add(&pt, i, &c);

		proctable_set_lineage(&pt, p, i < 4 ? 1 : 2, 77);
	}
	proctable_for_lineage(&pt, 1, 77, count_lineage, &n);
	CHECK(n == 3);
	proctable_free(&pt);
}

int main(void)
{
	RUN(test_add_get);
	RUN(test_ancestry_survives_reparenting);
	RUN(test_ancestry_bounded_on_cycle);
	RUN(test_expire_only_old_exited);
	RUN(test_first_model_kept);
	RUN(test_eviction_order);
	RUN(test_full_of_marked_refuses_and_counts);
	RUN(test_insert_is_constant_time);
	RUN(test_lineage_live_count);
	RUN(test_strings_shared_and_bounded);
	RUN(test_for_lineage);
	return CHECK_DONE();
}
