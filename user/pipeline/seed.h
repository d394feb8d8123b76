/*
 * No blind spot after a restart. Once the sensors are attached (a fork or
 * an open from then on is the kernel's to see), /proc is walked for what
 * was already running: every process holding a model file open (an fd)
 * or mapped (maps) is marked as a loader, with its existing descendants,
 * and control-plane roots by name or command line as roots; each gets the
 * mark the kernel would have given it, so what it does from now on is tied
 * to its lineage and incident like any other. The process table is seeded
 * with them (parents, exe, argv, the loader's model), and each model file
 * found goes through the collector as a model open would: judged by the
 * loader's own handle (a data-only one clears the mark as usual), scanned,
 * inventoried.
 *
 * The kernel's mark wins: one it set meanwhile is kept and its lineage
 * followed. A process that exits during the walk is skipped; one whose PID
 * was reused before its mark was written gets its mark back. Bounded in
 * time, processes and per-process files; what the bounds left out is
 * counted and said.
 */
#ifndef MLWATCH_SEED_H
#define MLWATCH_SEED_H
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <mlwatch/events.h>
#include "collector.h"
#include "output/health_render.h"

#define SEED_TIME_MS 10000        /* files looked at for this long at most (default) */
#define SEED_MAX_PROCS (1u << 20) /* processes listed */
#define SEED_MAX_FDS 65536        /* fds looked at per process */
#define SEED_MAX_MAP_LINES 65536  /* maps lines per process */
#define SEED_MODELS_PER_PROC 64   /* model files judged per process; more keep the mark */
#define SEED_CATCH_UP 3           /* listings again for children forked meanwhile */

struct seed_stats {
	uint64_t listed;               /* processes found in /proc (kernel threads not counted) */
	uint64_t examined;             /* ... whose fds and maps were read */
	uint64_t seeded;               /* entries put in the process table */
	uint64_t loaders;              /* processes marked for the model files they hold */
	uint64_t roots;                /* control-plane roots marked (by name or command line) */
	uint64_t descendants;          /* marked for an ancestor's mark */
	uint64_t models;               /* model files found held (open or mapped) */
	uint64_t kernel_had;           /* already marked by the kernel: its mark kept */
	uint64_t gone;                 /* exited during the walk */
	uint64_t reused;               /* PID reused before the mark was written: taken back */
	uint64_t late;                 /* born during the walk: found by a later listing */
	uint64_t unreadable;           /* processes whose fds or maps could not be read */
	uint64_t ancestors_unreadable; /* ... of them, mlwatch's own ancestors (what
	                                * started it: counted, not alerted) */
	uint64_t unnamed;              /* files held whose names could not be read (too long) */
	uint64_t no_cgroup; /* loaders whose cgroup id was not found: no container, no pod */
	/* limits reached */
	uint64_t not_examined;  /* the time ran out before their files were read */
	unsigned time_ms;       /* the time allowed */
	uint64_t procs_cut;     /* beyond SEED_MAX_PROCS: not listed */
	uint64_t fds_cut;       /* processes with more fds than SEED_MAX_FDS */
	uint64_t maps_cut;      /* ... more maps lines than SEED_MAX_MAP_LINES */
	uint64_t models_cut;    /* model files past SEED_MODELS_PER_PROC: not judged */
	uint64_t mark_failed;   /* the kernel's map refused the mark */
	uint64_t table_refused; /* the process table refused the entry */
	uint64_t list_failed;   /* 1: /proc could not be listed, nothing was walked */
	uint64_t ms;            /* how long it took */
};

/* The mark the kernel would have given pid (mark_ns: its lineage's time),
 * from its parent's (inherited, NULL when unmarked) and what it is: a root
 * (notebook: an interactive one), the number of model files it holds.
 * Returns false when it gets none. Pure: the rules of bpf/process.bpf.c
 * (fork, root at exec) and bpf/file.bpf.c (a model open). */
bool seed_mark_for(const struct mlw_mark *inherited, uint32_t pid, uint64_t mark_ns, bool root,
		   bool notebook, uint32_t models, struct mlw_mark *out);
/* Walks /proc, after sensors_start (c->sensors NULL: no kernel marks, the
 * collector's side only), reading files for time_ms at most
 * (SEED_TIME_MS). Fills *st; returns 0, or -1 when /proc cannot be listed
 * (then nothing was marked). */
int seed_run(struct collector *c, unsigned time_ms, struct seed_stats *st);
/* The start-up lines: what was seeded and marked, and each bound reached. */
void seed_print(const struct seed_stats *st, FILE *f);
/* What of the walk can hide a loader already running (files not read for
 * the time bound or any other, names the kernel would not give, marks
 * refused, /proc not listed) as a sensor-proc-walk-incomplete alert in *a
 * (host and time left to the caller). Returns whether there is any.
 * seed_run writes it, so it is said where alerts go, not only on stderr. */
bool seed_health(const struct seed_stats *st, struct health_alert *a);
#endif
