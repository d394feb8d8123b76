/* An output's memory queue: records from the collector's thread to the
 * output's spool writer. Pushing never blocks; when the queue is at its
 * bound the record is dropped and counted. */
#ifndef MLWATCH_RECQ_H
#define MLWATCH_RECQ_H
#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct qrec {
	struct qrec *next;
	uint32_t len;
	uint8_t kind; /* REC_* */
	char data[];  /* len bytes, no NUL */
};

struct recq {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	struct qrec *head, **tail;
	uint64_t records, bytes;
	uint64_t max_records, max_bytes;
	uint64_t dropped;
	bool closing;
};

void recq_init(struct recq *q, uint64_t max_records, uint64_t max_bytes);
/* Returns false (and counts it) when the queue is full or memory is out. */
bool recq_push(struct recq *q, unsigned kind, const char *data, size_t len);
/* Takes every queued record (oldest first), waiting up to wait_ms for one.
 * NULL when none came. */
struct qrec *recq_take_all(struct recq *q, unsigned wait_ms);
/* Puts records back at the front (the spool could not take them). */
void recq_unshift(struct recq *q, struct qrec *list);
void recq_wake(struct recq *q); /* closing: wakes a waiting taker */
void recq_free_list(struct qrec *list);
void recq_destroy(struct recq *q);

#endif
