/*
 * Judging a model a loader opened: can the very bytes it opened run code?
 * The one step whose "no" lowers watching, so each way to be wrong keeps
 * the mark: the file is read through the loader's own handle (fileid.h),
 * only on a file system no other machine or user-space server answers
 * for (decided from the kernel's report, before any syscall), under a
 * read lease that no writer holds and none breaks while it is
 * read; the bytes are judged by model_inert.h. Verdicts are kept by the
 * file's identity and state, so a loader reopening its shards costs one
 * reading, and the time spent judging is budgeted: a flood of model opens
 * past the budget is not judged, and its loaders stay marked, and no one
 * reading outlasts what is left of it (a reading cut short keeps the mark).
 *
 * Threat model: docs/threat-model.md §2.2 (clearing a mark), §4.3 (files that change under the reader).
 */
#ifndef MLWATCH_JUDGE_H
#define MLWATCH_JUDGE_H
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include <mlwatch/events.h>
#include "scan/model_inert.h"

#define JUDGE_CACHE 512
/* Judging time allowed per second of wall time, and the most saved up:
 * the collector's one thread must keep draining the ring buffer. */
#define JUDGE_BUDGET_NS_PER_S (250ull * 1000 * 1000)
#define JUDGE_BUDGET_MAX_NS (1000ull * 1000 * 1000)

struct judge_entry {
	struct mlw_file id; /* identity and state (size, ctime) */
	bool used, inert;
	enum model_format format;
	const char *kind;
	char why[sizeof(((struct inert_verdict *)0)->why)];
};

struct judge_stats {
	uint64_t judged;      /* read and judged */
	uint64_t cached;      /* answered from an earlier reading of the same file */
	uint64_t unreadable;  /* not read as opened: kept marked */
	uint64_t not_local;   /* on a network or FUSE file system: kept marked */
	uint64_t writers;     /* open for writing, or written while read: kept marked */
	uint64_t over_budget; /* not judged, the budget spent: kept marked */
	uint64_t timed_out;   /* the budget ran out while judging: kept marked */
};

struct judge {
	struct judge_entry cache[JUDGE_CACHE];
	uint64_t budget_ns, refilled_ns;
	struct judge_stats st;
};

void judge_init(struct judge *j);
/* Judges the file pid opened as o->ret, as the kernel described it in
 * o->file; path (the real path, or the resolved one) names it and is a
 * last way to reach it (never to call it inert). now_ns: a monotonic clock. */
void judge_model(struct judge *j, pid_t pid, const struct mlw_open *o, const char *path,
		 uint64_t now_ns, struct inert_verdict *v);
#endif
