/*
 * cgroup ids to containers and pods. The kernel sends the cgroup v2 id in
 * every record header; on cgroup2 that id is the cgroup directory's inode
 * number, so walking the v2 mount maps ids to paths (cgpath.h reads them).
 * The mount is the host's whole hierarchy even when mlwatch runs in its
 * own cgroup namespace (a DaemonSet mounts the host's cgroup file system),
 * where /proc/PID/cgroup would only show paths relative to that namespace.
 *
 * Looked up on the alert and record path only, never per event. A miss
 * walks again, at most so often that walks take a tenth of the time
 * (and never twice within CGMAP_MIN_GAP_NS); a miss the limit holds back,
 * or one the walk did not find, goes without identity and is counted.
 * Only the collector's thread calls it.
 */
#ifndef MLWATCH_CGMAP_H
#define MLWATCH_CGMAP_H
#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "cgpath.h"

#define CGMAP_DEF_MAX 16384                     /* cgroups remembered */
#define CGMAP_MIN_GAP_NS (100ull * 1000000ull)  /* between two walks at least */
#define CGMAP_WALK_MAX_NS (250ull * 1000000ull) /* a walk stops here */
#define CGMAP_MAX_DEPTH 32                      /* deeper cgroups are not walked */
/* A cgroup that is gone is remembered this long, for late records of a
 * container that exited. */
#define CGMAP_LINGER_NS (300ull * 1000000000ull)

/* Every counter only grows. */
struct cgmap_stats {
	uint64_t walks;
	uint64_t walks_cut;    /* stopped by CGMAP_WALK_MAX_NS, the entry bound or the depth */
	uint64_t lookups;      /* ids asked for */
	uint64_t unresolved;   /* not found, even after a walk */
	uint64_t deferred;     /* a miss not walked for: the rate limit held it */
	uint64_t full;         /* cgroups not remembered: the table was at its bound */
	uint64_t expired;      /* gone cgroups forgotten after CGMAP_LINGER_NS */
	uint64_t walk_errors;  /* directories that could not be read */
	uint64_t last_walk_ns; /* how long the last walk took */
	uint64_t max_walk_ns;
	size_t entries, peak;
	/* in the last walk: cgroups in or below a directory root does not own
	 * (delegated: user@.service, rootless containers); their owner could
	 * name them anything, so no identity is read there */
	size_t untrusted;
};

struct cgmap_ent;

struct cgmap {
	char root[PATH_MAX]; /* the v2 mount walked; "" when there is none */
	bool whole;          /* root is the hierarchy's root (cgmap_v2_mount) */
	size_t max;
	struct cgmap_ent **buckets;
	size_t nbuckets; /* power of two */
	bool walked;     /* at least one walk ran */
	uint64_t next_walk_ns;
	struct cgmap_stats st;
};

/*
 * root: the cgroup v2 mount to walk; NULL: found in /proc/self/mountinfo
 * (the cgroup2 mount nearest the hierarchy's root: /sys/fs/cgroup, or
 * /sys/fs/cgroup/unified on hybrid hosts, or the host's mounted into a
 * container). max: 0 takes CGMAP_DEF_MAX. Walks once. Returns 0, or -1
 * when there is no v2 hierarchy (lookups then find nothing) or no memory;
 * err says which.
 */
int cgmap_init(struct cgmap *m, const char *root, size_t max, char *err, size_t errlen);
void cgmap_free(struct cgmap *m);
/* The container and pod of cgroup id, or NULL when it is in neither or
 * unknown. now_ns: CLOCK_MONOTONIC. The pointer is valid until the next
 * call. */
const struct cg_ident *cgmap_lookup(struct cgmap *m, uint64_t id, uint64_t now_ns);
/* Walks now, whatever the rate limit (tests; start-up). */
void cgmap_walk(struct cgmap *m, uint64_t now_ns);
/* The v2 mount point from mountinfo text: the cgroup2 mount whose root is
 * highest in the hierarchy ("/.." marks one above this cgroup namespace).
 * Returns 0, or -1 when there is none. */
int cgmap_find_mount(const char *mountinfo, char *out, size_t len);
/* That mount, from /proc/self/mountinfo; *whole: it is the hierarchy's
 * root cgroup (id 1), so every process of the host is below it. Inside a
 * cgroup namespace a container's own /sys/fs/cgroup is not: only the
 * host's, mounted in, is. Returns 0, or -1 (err says why). */
int cgmap_v2_mount(char *out, size_t len, bool *whole, char *err, size_t errlen);
#endif
