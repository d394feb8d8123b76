/* Model scanner internals: the state a scan carries through containers,
 * and how a part records findings and errors. Not a public interface. */
#ifndef MLWATCH_SCAN_FINDINGS_H
#define MLWATCH_SCAN_FINDINGS_H
#include "model_scan.h"
#include "lib/budget.h"

struct byte_src;

struct scan_ctx {
	struct scan_report *r;
	const struct scan_limits *lim;
	bool oom;
	/* the whole file's time and inflate budget; every view of it and
	 * every pickle walk (plim) carries a pointer to it */
	struct budget budget;
	struct pickle_limits plim;
	char cut_at[SCAN_MEMBER_MAX]; /* where the budget was first seen spent */
	bool cut_seen;
	/* Scans the bytes of v (a whole file or one member) by their magic:
	 * the dispatcher, which archives call for their members. profile:
	 * the allowlist the enclosing container implies for a pickle found
	 * here (NULL: chosen by format). force_pickle: walk it as a pickle
	 * even without pickle magic (a member named data.pkl). */
	void (*view)(struct scan_ctx *c, const struct byte_src *v, const char *name,
		     const char *member, const struct pickle_profile *profile, bool force_pickle,
		     unsigned nesting);
};

/* A new zeroed finding, or NULL past lim->max_findings (counted) or out of
 * memory (c->oom). The caller accounts for its severity. */
struct scan_finding *scan_new_finding(struct scan_ctx *c);
/* Raises the verdict to v (never lowers it). */
void scan_note_verdict(struct scan_ctx *c, enum scan_verdict v);
/* The verdict a severity implies; the worst seen decides, dropped
 * findings included. */
void scan_note_severity(struct scan_ctx *c, enum pickle_severity sev);
/* Records a finding (kept up to lim->max_findings, then counted). */
void scan_add(struct scan_ctx *c, enum scan_finding_kind kind, enum pickle_severity sev,
	      const char *member, uint64_t offset, const char *fmt, ...)
	__attribute__((format(printf, 6, 7)));
/* Records that a part could not be read or parsed (the first message is
 * kept): a file with nothing worse is SCAN_ERROR. Past the deadline, when
 * every read fails, it only notes where the scan stopped. */
void scan_fail(struct scan_ctx *c, const char *member, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* Whether the budget has run out (reading the clock); the first time it
 * is seen, member is kept as where the scan stopped. */
bool scan_budget_out(struct scan_ctx *c, const char *member);
/* Reports what ran out of the budget as SF_LIMIT findings (at the end). */
void scan_budget_report(struct scan_ctx *c);
/* Joins a container's member path and a member name: "a.zip" + "b.pkl". */
void scan_member_join(char *out, size_t len, const char *outer, const char *name);
#endif
