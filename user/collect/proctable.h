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

/* Bounded: at the limit the oldest exited entries go first; if none has
 * exited, the insert fails and is counted (proctable.full). */
#define PROCTABLE_MAX 65536
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

struct proc {
	uint32_t pid;
	uint32_t parent; /* at fork time; 0 if unknown */
	uint32_t loader; /* tgid of the loader of its lineage, 0 if none */
	uint64_t mark_ns;
	char comm[MLW_COMM_LEN + 1];
	char *exe;
	char *args; /* NUL-separated */
	size_t args_len;
	bool args_truncated;
	bool exited;
	uint64_t exit_ns;
	enum model_state model_state;
	struct model_rec model; /* the first model it opened (loaders only) */
	unsigned n_models;
	uint32_t inert_upto; /* its model opens 1..inert_upto under mark_ns were all
	                       * proven inert (the kernel's mlw_mark.models count) */
	uint32_t forked_at;  /* its parent's model count when it forked it */
	struct proc *next;   /* hash chain */
};

struct proctable {
	struct proc **buckets;
	size_t nbuckets;
	size_t count;
	uint64_t full;    /* inserts refused at PROCTABLE_MAX */
	uint64_t evicted; /* exited entries dropped early for space */
};

int proctable_init(struct proctable *pt);
void proctable_free(struct proctable *pt);
struct proc *proctable_get(struct proctable *pt, uint32_t pid);
/* Returns the entry, a fresh zeroed one (*created = true), or NULL when
 * the table is full. A fresh entry for a reused pid replaces the old. */
struct proc *proctable_add(struct proctable *pt, uint32_t pid, bool *created);
/* Starts the entry over (pid reuse, or exec info replaced). */
void proctable_reset(struct proc *p);
void proctable_set_exe(struct proc *p, const char *exe);
void proctable_set_args(struct proc *p, const char *args, size_t len, bool truncated);
void proctable_set_model(struct proc *p, const char *path, const char *resolved,
			 enum model_format f, uint64_t ts);
/* Drops exited entries older than PROCTABLE_LINGER_NS. */
void proctable_expire(struct proctable *pt, uint64_t now_ns);
/* pids from pid up the fork-time parents to (and including) stop_at, or to
 * the first unknown parent. Returns how many were written. */
size_t proctable_ancestry(struct proctable *pt, uint32_t pid, uint32_t stop_at, uint32_t *out,
			  size_t max);
/* Calls fn for every entry whose loader is `loader` and mark_ns matches. */
void proctable_for_lineage(struct proctable *pt, uint32_t loader, uint64_t mark_ns,
			   void (*fn)(struct proc *p, void *ctx), void *ctx);
#endif
