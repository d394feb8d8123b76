/* The memory queue's bounds and the retry backoff's range. */
#include <stdlib.h>

#include "check.h"
#include "forward/backoff.h"
#include "forward/recq.h"

static void test_queue_bound_counts_drops(void)
{
	struct recq q;
	struct qrec *l;
	int n = 0;

	recq_init(&q, 3, 1 << 20);
	CHECK(recq_push(&q, 1, "a", 1));
	CHECK(recq_push(&q, 2, "bb", 2));
	CHECK(recq_push(&q, 1, "ccc", 3));
	CHECK(!recq_push(&q, 1, "d", 1)); /* full: dropped, counted */
	CHECK(q.dropped == 1);
	l = recq_take_all(&q, 0);
	for (struct qrec *r = l; r; r = r->next)
		n++;
	CHECK(n == 3);
	CHECK(l && l->kind == 1 && l->len == 1 && l->data[0] == 'a');
	CHECK(l && l->next && l->next->kind == 2);
	/* put back in front, order kept */
	CHECK(recq_push(&q, 1, "e", 1));
	recq_unshift(&q, l);
	l = recq_take_all(&q, 0);
	CHECK(l && l->data[0] == 'a');
	CHECK(l && l->next && l->next->next && l->next->next->next &&
	      l->next->next->next->data[0] == 'e');
	recq_free_list(l);
	/* the byte bound too */
	recq_destroy(&q);
	recq_init(&q, 100, 10);
	CHECK(recq_push(&q, 1, "12345678", 8));
	CHECK(!recq_push(&q, 1, "123", 3));
	CHECK(q.dropped == 1);
	recq_destroy(&q);
}

static void test_backoff_grows_to_cap_with_jitter(void)
{
	struct backoff b;
	unsigned prev_max = 0, w;
	bool varied = false;

	backoff_init(&b, 100, 5000, 42);
	for (int i = 0; i < 20; i++) {
		unsigned d = 100u << (i < 6 ? i : 6);

		if (d > 5000)
			d = 5000;
		w = backoff_next(&b, 0);
		CHECK(w >= d / 2 && w <= d);
		if (w != d && w != d / 2)
			varied = true;
		prev_max = w > prev_max ? w : prev_max;
	}
	CHECK(prev_max <= 5000);
	CHECK(varied);
	/* a server's Retry-After is a floor, itself capped */
	CHECK(backoff_next(&b, 8000) >= 8000);
	CHECK(backoff_next(&b, 1000000) <= 10000);
	backoff_reset(&b);
	w = backoff_next(&b, 0);
	CHECK(w >= 50 && w <= 100);
}

int main(void)
{
	RUN(test_queue_bound_counts_drops);
	RUN(test_backoff_grows_to_cap_with_jitter);
	return CHECK_DONE();
}
