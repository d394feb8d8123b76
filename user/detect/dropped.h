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
/* How long a write counts: "moments earlier" for a dropper is seconds to
 * minutes; a job that ships a binary and runs it hours later is not this. */
#define DROPPED_WINDOW_NS (600ull * 1000000000ull)

struct dropped_write {
	uint64_t hash;   /* of the path, 0 = free slot */
	uint32_t loader; /* the lineage: loader (or root) tgid and mark time */
	uint64_t mark_ns;
	uint64_t ts_ns;
	char *path;
};

struct dropped {
	struct dropped_write w[DROPPED_MAX];
	uint32_t next;      /* ring position: the oldest write is replaced */
	uint64_t forgotten; /* writes replaced before their window ended */
};

void dropped_init(struct dropped *d);
void dropped_free(struct dropped *d);
/* A write (open for writing, or creat) of absolute path by the lineage. */
void dropped_note(struct dropped *d, uint32_t loader, uint64_t mark_ns, const char *path,
		  uint64_t ts_ns);
/* Whether the lineage wrote path within DROPPED_WINDOW_NS before ts_ns. */
bool dropped_by_lineage(const struct dropped *d, uint32_t loader, uint64_t mark_ns,
			const char *path, uint64_t ts_ns);
#endif
