/* A mutex-protected list with a record and a byte bound; the collector's
 * side holds the lock only to link one record. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "recq.h"

void recq_init(struct recq *q, uint64_t max_records, uint64_t max_bytes)
{
	pthread_condattr_t ca;

	memset(q, 0, sizeof(*q));
	pthread_mutex_init(&q->mu, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&q->cv, &ca);
	pthread_condattr_destroy(&ca);
	q->tail = &q->head;
	q->max_records = max_records;
	q->max_bytes = max_bytes;
}

bool recq_push(struct recq *q, unsigned kind, const char *data, size_t len)
{
	struct qrec *r;
	bool was_empty;

	if (len > UINT32_MAX)
		goto drop;
	/* checked without the lock first: a full queue costs no malloc */
	if (__atomic_load_n(&q->records, __ATOMIC_RELAXED) >= q->max_records ||
	    __atomic_load_n(&q->bytes, __ATOMIC_RELAXED) + len > q->max_bytes)
		goto drop;
	r = malloc(sizeof(*r) + len);
	if (!r)
		goto drop;
	r->next = NULL;
	r->len = (uint32_t)len;
	r->kind = (uint8_t)kind;
	memcpy(r->data, data, len);
	pthread_mutex_lock(&q->mu);
	was_empty = !q->head;
	*q->tail = r;
	q->tail = &r->next;
	q->records++;
	q->bytes += len;
	/* the taker sleeps only on an empty queue: one wake-up per burst */
	if (was_empty)
		pthread_cond_signal(&q->cv);
	pthread_mutex_unlock(&q->mu);
	return true;
drop:
	__atomic_fetch_add(&q->dropped, 1, __ATOMIC_RELAXED);
	return false;
}

struct qrec *recq_take_all(struct recq *q, unsigned wait_ms)
{
	struct qrec *list;
	struct timespec ts;

	pthread_mutex_lock(&q->mu);
	if (!q->head && !q->closing && wait_ms) {
		clock_gettime(CLOCK_MONOTONIC, &ts);
		ts.tv_sec += wait_ms / 1000;
		ts.tv_nsec += (long)(wait_ms % 1000) * 1000000L;
		if (ts.tv_nsec >= 1000000000L) {
			ts.tv_sec++;
			ts.tv_nsec -= 1000000000L;
		}
		while (!q->head && !q->closing)
			if (pthread_cond_timedwait(&q->cv, &q->mu, &ts) == ETIMEDOUT)
				break;
	}
	list = q->head;
	q->head = NULL;
	q->tail = &q->head;
	q->records = 0;
	q->bytes = 0;
	pthread_mutex_unlock(&q->mu);
	return list;
}

void recq_unshift(struct recq *q, struct qrec *list)
{
	struct qrec *last = list;
	uint64_t n = 0, bytes = 0;

	if (!list)
		return;
	for (struct qrec *r = list; r; r = r->next) {
		n++;
		bytes += r->len;
		last = r;
	}
	pthread_mutex_lock(&q->mu);
	last->next = q->head;
	if (!q->head)
		q->tail = &last->next;
	q->head = list;
	q->records += n;
	q->bytes += bytes;
	pthread_mutex_unlock(&q->mu);
}

void recq_wake(struct recq *q)
{
	pthread_mutex_lock(&q->mu);
	q->closing = true;
	pthread_cond_broadcast(&q->cv);
	pthread_mutex_unlock(&q->mu);
}

void recq_free_list(struct qrec *list)
{
	while (list) {
		struct qrec *n = list->next;

		free(list);
		list = n;
	}
}

void recq_destroy(struct recq *q)
{
	recq_free_list(q->head);
	q->head = NULL;
	pthread_cond_destroy(&q->cv);
	pthread_mutex_destroy(&q->mu);
}
