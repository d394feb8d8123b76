/* An output's on-disk spool: records in order in segment files, a cursor
 * that says how far the destination has acknowledged, both kept across
 * restarts (also after kill -9). Bounded: when full, the oldest segment
 * goes and its records are counted as dropped. One writer thread and one
 * reader thread may use it at once. */
#ifndef MLWATCH_SPOOL_H
#define MLWATCH_SPOOL_H
#include <stddef.h>
#include <stdint.h>

struct spool;

struct spool_pos {
	uint64_t seq; /* segment */
	uint64_t off; /* byte offset in it */
	uint64_t idx; /* records before off in it */
};

struct spool_rec {
	unsigned kind;
	char *data; /* NUL-terminated copy, owned by the batch */
	size_t len;
	struct spool_pos next; /* the cursor once this record is acknowledged */
};

struct spool_batch {
	struct spool_rec *v;
	size_t n, cap;
};

struct spool_stats {
	uint64_t records;   /* not yet acknowledged */
	uint64_t bytes;     /* on disk */
	uint64_t dropped;   /* records removed unsent because the spool was full */
	uint64_t damaged;   /* records found damaged (a torn write after a crash) */
	uint64_t recovered; /* records found waiting at open */
};

/* Creates dir (0700, parents as needed) or checks that it is a folder of
 * ours that nobody else can reach, then finds what a previous run left.
 * Returns NULL with the reason in err. */
struct spool *spool_open(const char *dir, uint64_t max_bytes, char *err, size_t errlen);
/* Writer: 0, or -errno (nothing written). */
int spool_append(struct spool *s, unsigned kind, const char *data, size_t len);
/* Reader: up to max records (max_bytes of data; at least one record) from
 * the cursor, waiting up to wait_ms for the first. Returns how many. */
size_t spool_read(struct spool *s, struct spool_batch *b, size_t max, size_t max_bytes,
		  unsigned wait_ms);
/* Reader: the destination has the batch's first n records. */
void spool_commit(struct spool *s, const struct spool_batch *b, size_t n);
void spool_batch_clear(struct spool_batch *b);
void spool_batch_free(struct spool_batch *b);
/* Both lock-free: they never wait on the spool's disk. */
void spool_get_stats(struct spool *s, struct spool_stats *st);
uint64_t spool_pending(struct spool *s);
void spool_wake(struct spool *s); /* a waiting reader returns */
void spool_close(struct spool *s);

#endif
