#include "check.h"
#include "collect/proctable.h"

static void test_add_get(void)
{
	struct proctable pt;
	bool created;
	struct proc *p;

	CHECK(proctable_init(&pt) == 0);
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

	proctable_init(&pt);
	proctable_add(&pt, 100, &c)->parent = 1;
	proctable_add(&pt, 101, &c)->parent = 100;
	proctable_add(&pt, 102, &c)->parent = 101;
	proctable_get(&pt, 101)->exited = true;
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

	proctable_init(&pt);
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

	proctable_init(&pt);
	p = proctable_add(&pt, 7, &c);
	p->exited = true;
	p->exit_ns = 1000;
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

	proctable_init(&pt);
	p = proctable_add(&pt, 9, &c);
	proctable_set_model(p, "a.pkl", "/x/a.pkl", MF_PICKLE, 1);
	proctable_set_model(p, "b.pt", "/x/b.pt", MF_TORCH_ZIP, 2);
	CHECK_STR(p->model.path, "a.pkl");
	CHECK(p->model.format == MF_PICKLE);
	CHECK(p->n_models == 2);
	proctable_free(&pt);
}

static void test_full_table_evicts_exited_then_refuses(void)
{
	struct proctable pt;
	bool c;

	proctable_init(&pt);
	for (uint32_t i = 1; i <= PROCTABLE_MAX; i++)
		proctable_add(&pt, i, &c);
	proctable_get(&pt, 17)->exited = true;
	CHECK(proctable_add(&pt, PROCTABLE_MAX + 1, &c) != NULL); /* evicts 17 */
	CHECK(proctable_get(&pt, 17) == NULL && pt.evicted == 1);
	CHECK(proctable_add(&pt, PROCTABLE_MAX + 2, &c) == NULL); /* none exited */
	CHECK(pt.full == 1);
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

	proctable_init(&pt);
	for (uint32_t i = 1; i <= 4; i++) {
		struct proc *p = proctable_add(&pt, i, &c);

		p->loader = i < 4 ? 1 : 2;
		p->mark_ns = 77;
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
	RUN(test_full_table_evicts_exited_then_refuses);
	RUN(test_for_lineage);
	return CHECK_DONE();
}
