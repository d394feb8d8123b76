/* An alert: a rule that matched an event, with who did it and why it
 * matters (the loader and its model). What the sinks render. */
#ifndef MLWATCH_ALERT_H
#define MLWATCH_ALERT_H
#include <stdint.h>
#include "classify.h"
#include "rules.h"
#include "collect/proctable.h"
#include "collect/workload.h"

struct inv_scan;

struct alert {
	const struct rule *rule;
	const struct event *ev;
	const struct facts *facts;
	struct proctable *pt;      /* to name the ancestry */
	const struct proc *proc;   /* the acting process (may be NULL) */
	const struct proc *loader; /* its lineage's loader (may be NULL) */
	uint32_t loader_pid;
	uint32_t ancestry[PROCTABLE_MAX_DEPTH];
	size_t n_ancestry;
	uint64_t realtime_ns;
	const char *host;
	const char *incident_id;     /* the incident this alert is a step of, or NULL */
	const struct inv_scan *scan; /* the static scan verdict it reports, or NULL */
	const struct workload *wl;   /* the actor's container and pod, or NULL */
};

#endif
