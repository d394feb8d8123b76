/* Pods by UID: updates, deletes kept for late records, a relist that
 * says who went, and the bound. */
#include <pthread.h>
#include <stdio.h>

#include "check.h"
#include "cluster/podcache.h"

#define SEC 1000000000ull

static struct pod_meta pod(unsigned n, const char *name)
{
	struct pod_meta p;

	memset(&p, 0, sizeof(p));
	snprintf(p.uid, sizeof(p.uid), "00000000-0000-4000-8000-%012u", n);
	snprintf(p.name, sizeof(p.name), "%s", name);
	snprintf(p.ns, sizeof(p.ns), "ns");
	return p;
}

static void test_put_get_delete_linger(void)
{
	struct podcache *pc = podcache_new(0);
	struct pod_meta a = pod(1, "a"), b = pod(2, "b"), out;
	struct podcache_stats st;
	uint64_t t = 1000 * SEC;

	podcache_put(pc, &a, t);
	podcache_put(pc, &b, t);
	CHECK(podcache_get(pc, a.uid, &out));
	CHECK_STR(out.name, "a");
	b = pod(2, "b2");
	podcache_put(pc, &b, t);
	CHECK(podcache_get(pc, b.uid, &out));
	CHECK_STR(out.name, "b2");
	podcache_delete(pc, a.uid, t);
	/* deleted, still named for a late record */
	podcache_expire(pc, t + PODCACHE_LINGER_NS);
	CHECK(podcache_get(pc, a.uid, &out));
	podcache_stats(pc, &st);
	CHECK(st.live == 1 && st.deleted == 1);
	podcache_expire(pc, t + PODCACHE_LINGER_NS + 1);
	CHECK(!podcache_get(pc, a.uid, &out));
	CHECK(podcache_get(pc, b.uid, &out)); /* live pods never expire */
	podcache_stats(pc, &st);
	CHECK(st.expired == 1 && st.live == 1 && st.deleted == 0 && st.lookups == 5 &&
	      st.hits == 4);
	podcache_free(pc);
}

static void test_relist_marks_the_missing_deleted(void)
{
	struct podcache *pc = podcache_new(0);
	struct pod_meta a = pod(1, "a"), b = pod(2, "b"), c = pod(3, "c"), out;
	struct podcache_stats st;
	uint64_t t = 1000 * SEC;

	podcache_list_begin(pc);
	podcache_put(pc, &a, t);
	podcache_put(pc, &b, t);
	podcache_list_end(pc, t);
	/* a 410: listed again; b went meanwhile, c came */
	podcache_list_begin(pc);
	podcache_put(pc, &a, t + SEC);
	podcache_put(pc, &c, t + SEC);
	podcache_list_end(pc, t + SEC);
	podcache_stats(pc, &st);
	CHECK(st.live == 2 && st.deleted == 1);
	CHECK(podcache_get(pc, b.uid, &out)); /* kept for late records */
	podcache_list_begin(pc);
	podcache_list_end(pc, t + PODCACHE_LINGER_NS + 2 * SEC);
	CHECK(!podcache_get(pc, b.uid, &out));
	CHECK(podcache_get(pc, a.uid, &out) && podcache_get(pc, c.uid, &out));
	podcache_stats(pc, &st);
	CHECK(st.live == 0 && st.deleted == 2 && st.expired == 1);
	/* a pod deleted and then listed again is live again */
	podcache_put(pc, &a, t + PODCACHE_LINGER_NS + 3 * SEC);
	podcache_stats(pc, &st);
	CHECK(st.live == 1 && st.deleted == 1);
	podcache_free(pc);
}

static void test_bound(void)
{
	struct podcache *pc = podcache_new(4);
	struct pod_meta p, out;
	struct podcache_stats st;
	uint64_t t = 1000 * SEC;

	for (unsigned i = 0; i < 4; i++) {
		p = pod(i, "p");
		podcache_put(pc, &p, t + i);
	}
	p = pod(1, "p");
	podcache_delete(pc, p.uid, t + 10);
	p = pod(2, "p");
	podcache_delete(pc, p.uid, t + 5);
	/* full: the pod deleted first makes room */
	p = pod(10, "new");
	podcache_put(pc, &p, t + 20);
	CHECK(podcache_get(pc, p.uid, &out));
	p = pod(2, "p");
	CHECK(!podcache_get(pc, p.uid, &out));
	p = pod(1, "p");
	CHECK(podcache_get(pc, p.uid, &out));
	p = pod(11, "new2");
	podcache_put(pc, &p, t + 21);
	p = pod(12, "new3");
	podcache_put(pc, &p, t + 22); /* all live now: not kept */
	CHECK(!podcache_get(pc, p.uid, &out));
	podcache_stats(pc, &st);
	CHECK(st.evicted == 2 && st.full == 1 && st.live == 4 && st.peak == 4);
	podcache_free(pc);
}

/* The watch thread writes while the collector reads. */
static void *writer(void *arg)
{
	struct podcache *pc = arg;

	for (unsigned i = 0; i < 20000; i++) {
		struct pod_meta p = pod(i % 300, i & 1 ? "odd" : "even");

		podcache_put(pc, &p, i);
		if (i % 7 == 0)
			podcache_delete(pc, p.uid, i);
	}
	return NULL;
}

static void test_concurrent(void)
{
	struct podcache *pc = podcache_new(256);
	struct pod_meta out, p;
	pthread_t th;
	unsigned torn = 0;

	CHECK(pthread_create(&th, NULL, writer, pc) == 0);
	for (unsigned i = 0; i < 20000; i++) {
		p = pod(i % 300, "");
		if (podcache_get(pc, p.uid, &out) && strcmp(out.name, "odd") &&
		    strcmp(out.name, "even"))
			torn++;
	}
	pthread_join(th, NULL);
	CHECK(torn == 0);
	podcache_free(pc);
}

int main(void)
{
	RUN(test_put_get_delete_linger);
	RUN(test_relist_marks_the_missing_deleted);
	RUN(test_bound);
	RUN(test_concurrent);
	return CHECK_DONE();
}
