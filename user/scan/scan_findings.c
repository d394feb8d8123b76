/* Model scanner: findings and the verdict they imply, and the error of a
 * part that could not be read. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "scan_findings.h"

struct scan_finding *scan_new_finding(struct scan_ctx *c)
{
	struct scan_report *r = c->r;

	if (r->nfindings >= c->lim->max_findings) {
		r->findings_dropped++;
		return NULL;
	}
	/* capacity: 8, then doubled each time it fills */
	if (r->nfindings == 0 || (r->nfindings >= 8 && !(r->nfindings & (r->nfindings - 1)))) {
		size_t nc = r->nfindings ? r->nfindings * 2 : 8;
		struct scan_finding *nf = realloc(r->findings, nc * sizeof(*nf));

		if (!nf) {
			c->oom = true;
			return NULL;
		}
		r->findings = nf;
	}
	memset(&r->findings[r->nfindings], 0, sizeof(r->findings[0]));
	return &r->findings[r->nfindings++];
}

void scan_note_verdict(struct scan_ctx *c, enum scan_verdict v)
{
	if (v > c->r->verdict)
		c->r->verdict = v;
}

/* The worst severity seen decides the verdict, dropped findings included. */
void scan_note_severity(struct scan_ctx *c, enum pickle_severity sev)
{
	scan_note_verdict(c, sev == PSEV_MALICIOUS  ? SCAN_MALICIOUS :
			     sev == PSEV_SUSPICIOUS ? SCAN_SUSPICIOUS :
						      SCAN_CLEAN);
}

void scan_add(struct scan_ctx *c, enum scan_finding_kind kind, enum pickle_severity sev,
	      const char *member, uint64_t offset, const char *fmt, ...)
{
	struct scan_finding *f;
	va_list ap;

	scan_note_severity(c, sev);
	if (!(f = scan_new_finding(c)))
		return;
	f->kind = kind;
	f->severity = sev;
	f->offset = offset;
	f->profile = "";
	snprintf(f->member, sizeof(f->member), "%s", member ? member : "");
	va_start(ap, fmt);
	vsnprintf(f->detail, sizeof(f->detail), fmt, ap);
	va_end(ap);
}

void scan_fail(struct scan_ctx *c, const char *member, const char *fmt, ...)
{
	struct scan_report *r = c->r;
	size_t off = 0;
	va_list ap;

	/* past the deadline every read fails: that is the limit's finding */
	if (c->budget.spent & BUDGET_TIME) {
		scan_budget_out(c, member);
		return;
	}
	if (r->errors++)
		return;
	if (member && *member)
		off = (size_t)snprintf(r->error, sizeof(r->error), "%s: ", member);
	if (off >= sizeof(r->error))
		return;
	va_start(ap, fmt);
	vsnprintf(r->error + off, sizeof(r->error) - off, fmt, ap);
	va_end(ap);
}

bool scan_budget_out(struct scan_ctx *c, const char *member)
{
	budget_time_up(&c->budget);
	if (!c->budget.spent)
		return false;
	if (!c->cut_seen) {
		c->cut_seen = true;
		snprintf(c->cut_at, sizeof(c->cut_at), "%s", member ? member : "");
	}
	return true;
}

void scan_budget_report(struct scan_ctx *c)
{
	struct scan_report *r = c->r;

	r->cut = c->budget.spent;
	r->inflated = c->budget.inflated;
	if (r->cut & BUDGET_TIME)
		scan_add(c, SF_LIMIT, PSEV_SUSPICIOUS, c->cut_at, 0,
			 "scan stopped at its %u ms deadline (time limit): the rest not scanned",
			 c->lim->max_ms);
	if (r->cut & BUDGET_INFLATE)
		scan_add(c, SF_LIMIT, PSEV_SUSPICIOUS, c->cut_at, 0,
			 "the file's %llu bytes to inflate used up (inflate limit): the rest not read",
			 (unsigned long long)c->lim->max_inflate);
}

void scan_member_join(char *out, size_t len, const char *outer, const char *name)
{
	if (outer && *outer)
		snprintf(out, len, "%s/%s", outer, name);
	else
		snprintf(out, len, "%s", name);
}
