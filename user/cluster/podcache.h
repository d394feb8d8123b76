/*
 * The pods of this node by UID, as the API last described them. A deleted
 * pod stays PODCACHE_LINGER_NS, so a late record of a container that just
 * ended still names its pod. Bounded: at the bound a new pod takes the
 * place of the deleted pod deleted first; when every entry is a live pod
 * it is not kept, and counted. Thread-safe: the watch thread writes, the
 * collector reads.
 */
#ifndef MLWATCH_PODCACHE_H
#define MLWATCH_PODCACHE_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "collect/workload.h"

#define PODCACHE_DEF_MAX 1024 /* a node runs 110 pods by default, a few hundred at most */
#define PODCACHE_LINGER_NS (300ull * 1000000000ull)

/* Every counter only grows. */
struct podcache_stats {
	uint64_t puts, deletes;
	uint64_t full;       /* pods not kept: every entry was a live pod */
	uint64_t evicted;    /* deleted pods dropped early for room */
	uint64_t expired;    /* deleted pods dropped after their linger */
	uint64_t labels_cut; /* pods kept with some labels cut (POD_LABELS_BYTES) */
	uint64_t lookups, hits;
	size_t live, deleted; /* entries now */
	size_t peak;
};

struct podcache;

/* max: 0 takes PODCACHE_DEF_MAX. NULL when out of memory. */
struct podcache *podcache_new(size_t max);
void podcache_free(struct podcache *pc);
/* Added or changed. now_ns: CLOCK_MONOTONIC, as for every call here. */
void podcache_put(struct podcache *pc, const struct pod_meta *p, uint64_t now_ns);
void podcache_delete(struct podcache *pc, const char *uid, uint64_t now_ns);
/* A full list replaces what the cache knows: begin, put each pod, end;
 * a live pod the list did not name was deleted meanwhile. */
void podcache_list_begin(struct podcache *pc);
void podcache_list_end(struct podcache *pc, uint64_t now_ns);
/* Drops deleted pods past their linger. */
void podcache_expire(struct podcache *pc, uint64_t now_ns);
/* Copies the pod out; false when it is not known. */
bool podcache_get(struct podcache *pc, const char *uid, struct pod_meta *out);
void podcache_stats(struct podcache *pc, struct podcache_stats *out);
#endif
