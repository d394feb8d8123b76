/* An alert as a step of an incident: its kind and its one-line summary. */
#ifndef MLWATCH_INCIDENT_STEP_H
#define MLWATCH_INCIDENT_STEP_H
#include "alert.h"
#include "incident.h"

/* The step kind of an alert (by the event's facts and the rule's match). */
enum incident_step_kind incident_step_for_alert(const struct alert *a);
/* Fills *in from an alert; summary is the caller's buffer for the step's
 * summary line (INCIDENT_SUMMARY_MAX is enough). */
void incident_input_from_alert(const struct alert *a, struct incident_input *in, char *summary,
			       size_t len);
#endif
