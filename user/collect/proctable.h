/*
 * Process table: what mlwatch knows of each watched process, with its
 * parent as recorded at fork time (not the current parent, which setsid or
 * reparenting changes), so an alert can walk back to the loader.
 */
#ifndef MLWATCH_PROCTABLE_H
#define MLWATCH_PROCTABLE_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <mlwatch/events.h>
#include "scan/modelfmt.h"

/*
 * Bounded by proctable_init's max_procs (--max-procs). At the limit a new
 * entry takes the place of, in this order: the process that exited first,
 * then the unmarked live process seen least recently. A marked live process
 * (a loader, a payload, anything of a watched lineage) is never evicted: its
 * entry is the lineage's ancestry. When every entry is one, the insert is
 * refused and counted (st.refused), and the new process goes untracked.
 * Every choice is O(1): entries sit on one list per class.
 */
#define PROCTABLE_DEF_MAX 65536
#define PROCTABLE_MIN_MAX 1024
#define PROCTABLE_MAX_MAX 4194304 /* the kernel's highest pid_max */
/* Paths and command lines may take this many bytes per entry on average
 * (a child shares its parent's until it execs); once that budget is spent a
 * new one is clipped to PROCTABLE_CLIP bytes, or dropped when not even that
 * fits, and counted. A clipped path keeps its end (the program's name whole),
 * clipped args their start (args_truncated is set). */
#define PROCTABLE_STR_PER_PROC 512
#define PROCTABLE_CLIP 256
/* Exited processes are kept this long so a late alert from a grandchild
 * can still name its exited parents. */
#define PROCTABLE_LINGER_NS (120ull * 1000000000ull)
/* Ancestry walks stop here (a fork bomb must not stall the collector). */
#define PROCTABLE_MAX_DEPTH 64

enum model_state {
	MODEL_NONE = 0,  /* this process loaded nothing we saw */
	MODEL_CONFIRMED, /* a model that can run code, or one that could not be judged */
	MODEL_INERT,     /* every model it opened is proven to carry no code */
};

struct model_rec {
	char *path;          /* as the process named it */
	char *resolved_path; /* absolute */
	enum model_format format;
	uint64_t ts_ns;
	bool scanned;         /* a static scan verdict is known for this process's loads */
	uint8_t scan_verdict; /* enum scan_verdict, the worst over its loads */
};

enum proc_class {
	PROC_EXITED,   /* evicted first, the first to exit first */
	PROC_UNMARKED, /* live, no lineage: evicted least recently seen first */
	PROC_MARKED,   /* live, of a watched lineage: never evicted */
	PROC_CLASS_MAX
};

struct proc_lineage;

/* loader, mark_ns and exited are the table's: change them only through
 * proctable_set_lineage, proctable_set_exited and proctable_reset, which
 * keep the class lists and the lineage counts right. */
struct proc {
	uint32_t pid;
	uint32_t parent; /* at fork time; 0 if unknown */
	uint32_t loader; /* tgid of the loader of its lineage, 0 if none */
	uint64_t mark_ns;
	char comm[MLW_COMM_LEN + 1];
	char *exe;  /* may be NULL (unknown, or the string budget spent) */
	char *args; /* NUL-separated; may be NULL */
	size_t args_len;
	bool args_truncated;
	bool exited;
	uint64_t exit_ns;
	enum model_state model_state;
	struct model_rec model; /* the first model it opened (loaders only) */
	unsigned n_models;
	uint32_t inert_upto;   /* its model opens 1..inert_upto under mark_ns were all
	                       * proven inert (the kernel's mlw_mark.models count) */
	uint32_t forked_at;    /* its parent's model count when it forked it */
	uint64_t cgroup_id;    /* cgroup v2 id at its latest event (0: unknown) */
	uint64_t py_custom_ns; /* loaders: the mark_ns of a python mark set by custom
	                        * classes only (0: none, or an unsafe global since) */
	/* table bookkeeping */
	enum proc_class cls;
	struct proc *next, **pprev;       /* hash chain */
	struct proc *lru_prev, *lru_next; /* its class list, oldest first */
	struct proc_lineage *lin;         /* NULL when loader is 0 */
	struct proc *lin_prev, *lin_next; /* the lineage's members */
};

/* Limits reached and use, for the exit report and a limit alert. Every
 * counter only grows. */
struct proctable_stats {
	uint64_t evicted_exited;   /* exited entries dropped before their linger ended */
	uint64_t evicted_unmarked; /* live unmarked entries dropped for room */
	uint64_t refused;          /* new processes not tracked: every entry is marked live */
	uint64_t strings_clipped;  /* paths or args stored clipped: string budget spent */
	uint64_t strings_dropped;  /* ... or not stored at all */
	uint64_t alloc_failed;     /* out of memory */
	uint64_t steps;            /* entries and lineages looked at to evict, expire or
	                              * count a lineage (a test hook: stays flat as the
	                              * table grows) */
	size_t peak;               /* most entries at once */
	size_t peak_bytes;         /* most bytes at once (see proctable_bytes) */
};

struct proctable {
	struct proc **buckets;
	size_t nbuckets; /* power of two */
	size_t count;
	size_t max;
	size_t str_bytes, str_budget;
	struct {
		struct proc *head, *tail;
		size_t n;
	} cls[PROC_CLASS_MAX];
	struct proc_lineage **lbuckets; /* nbuckets of them */
	struct proc_lineage *lpool;     /* max of them: one lineage per entry at most */
	struct proc_lineage *lfree;
	size_t lused, lineages;
	struct proctable_stats st;
};

/* max_procs: 0 takes PROCTABLE_DEF_MAX; others are clamped to
 * PROCTABLE_MIN_MAX..PROCTABLE_MAX_MAX. Returns 0 or -ENOMEM. */
int proctable_init(struct proctable *pt, size_t max_procs);
void proctable_free(struct proctable *pt);
struct proc *proctable_get(struct proctable *pt, uint32_t pid);
/* Returns the entry (now the most recently seen of its class), a fresh
 * zeroed one (*created = true), or NULL when the table is full of marked
 * live processes (or out of memory). Adding may evict other entries: a
 * pointer got before it may be stale after it. */
struct proc *proctable_add(struct proctable *pt, uint32_t pid, bool *created);
/* Starts the entry over (pid reuse, or exec info replaced): unmarked, live. */
void proctable_reset(struct proctable *pt, struct proc *p);
/* Puts p in the lineage (loader, mark_ns); loader 0: in none. */
void proctable_set_lineage(struct proctable *pt, struct proc *p, uint32_t loader, uint64_t mark_ns);
void proctable_set_exited(struct proctable *pt, struct proc *p, uint64_t ts_ns);
void proctable_set_exe(struct proctable *pt, struct proc *p, const char *exe);
void proctable_set_args(struct proctable *pt, struct proc *p, const char *args, size_t len,
			bool truncated);
/* A fork: the child shares the parent's exe and args (no copy). */
void proctable_inherit(struct proctable *pt, struct proc *child, const struct proc *parent);
void proctable_set_model(struct proctable *pt, struct proc *p, const char *path,
			 const char *resolved, enum model_format f, uint64_t ts);
/* Drops exited entries older than PROCTABLE_LINGER_NS (oldest first: the
 * cost is the number dropped). */
void proctable_expire(struct proctable *pt, uint64_t now_ns);
/* Live processes of the lineage, in O(1). */
size_t proctable_lineage_live(struct proctable *pt, uint32_t loader, uint64_t mark_ns);
/* Bytes the table holds now (entries, their strings, lineages, buckets;
 * not the allocator's own overhead), and the most it can ever hold. */
size_t proctable_bytes(const struct proctable *pt);
size_t proctable_max_bytes(const struct proctable *pt);
/* pids from pid up the fork-time parents to (and including) stop_at, or to
 * the first unknown parent. Returns how many were written. */
size_t proctable_ancestry(struct proctable *pt, uint32_t pid, uint32_t stop_at, uint32_t *out,
			  size_t max);
/* Calls fn for every entry whose loader is `loader` and mark_ns matches
 * (in the lineage's own list: the cost is its size). fn must not add,
 * reset, evict or move entries between lineages. */
void proctable_for_lineage(struct proctable *pt, uint32_t loader, uint64_t mark_ns,
			   void (*fn)(struct proc *p, void *ctx), void *ctx);
#endif
