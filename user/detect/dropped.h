/*
 * Files a watched lineage wrote, remembered for a while, so that executing
 * one of them is recognised: the dropper step of a hijacked job (download
 * or decode a binary, chmod it, run it). Bounded: the oldest writes are
 * forgotten first, and that is counted.
 *
 * Threat model: docs/threat-model.md §3.1, §4.12.
 */
#ifndef MLWATCH_DROPPED_H
#define MLWATCH_DROPPED_H
#include <stdbool.h>
#include <stdint.h>

#define DROPPED_MAX 4096
#define DROPPED_BUCKETS 8192 /* power of two */
/* How long a write counts: "moments earlier" for a dropper is seconds to
 * minutes; a job that ships a binary and runs it hours later is not this. */
#define DROPPED_WINDOW_NS (600ull * 1000000000ull)

/* One path written by one lineage: its first and latest write. Writing it
 * again updates it in its slot: one entry, not many. */
struct dropped_write {
	uint64_t hash;   /* of the path, 0 = free slot */
	uint32_t loader; /* the lineage: loader (or root) tgid and mark time */
	uint64_t mark_ns;
	uint64_t first_ns, ts_ns;
	char *path;
	int32_t hprev, hnext; /* its chain in dropped.head, -1: none */
};

/* Lookups and writes are O(1): a hash index over the ring. Its buckets
 * are keyed by a random seed, so chosen paths cannot pile into one. */
struct dropped {
	struct dropped_write w[DROPPED_MAX];
	int32_t head[DROPPED_BUCKETS];
	uint64_t seed;
	uint32_t next;      /* ring position: the oldest write is replaced */
	uint64_t forgotten; /* writes replaced before their window ended */
	uint64_t steps;     /* slots compared (a test hook: O(1) per call) */
	size_t bytes;       /* paths held now */
};

void dropped_init(struct dropped *d);
void dropped_free(struct dropped *d);
/* A write (open for writing, or creat) of absolute path by the lineage. */
void dropped_note(struct dropped *d, uint32_t loader, uint64_t mark_ns, const char *path,
		  uint64_t ts_ns);
/* Whether the lineage wrote path within DROPPED_WINDOW_NS before ts_ns. */
bool dropped_by_lineage(struct dropped *d, uint32_t loader, uint64_t mark_ns, const char *path,
			uint64_t ts_ns);
/* Bytes the table can hold at most: the ring and DROPPED_MAX paths. */
size_t dropped_max_bytes(void);
#endif
