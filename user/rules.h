/*
 * Rules: each is data (what event kind, which classified facts) so a rules
 * file can later add or override them by id.
 */
#ifndef MLWATCH_RULES_H
#define MLWATCH_RULES_H
#include <stdbool.h>
#include <stddef.h>
#include "classify.h"

enum severity { SEV_LOW, SEV_MEDIUM, SEV_HIGH, SEV_CRITICAL };

/* Tags per rule: ATLAS first, then ATT&CK. */
#define RULE_MAX_TAGS 6

enum rule_open_match {
	OPEN_MATCH_NONE,
	OPEN_MATCH_CREDENTIAL,   /* read of a credential path */
	OPEN_MATCH_PERSISTENCE,  /* write to a persistence path */
};

struct rule {
	const char *id;
	const char *title;
	enum severity severity;
	const char *tags[RULE_MAX_TAGS];
	/* match: all that are set must hold */
	enum mlw_event_kind kind;
	unsigned exec_any;        /* exec: any of these exec_class bits */
	unsigned exec_none;       /* exec: and none of these */
	unsigned dest_any;        /* connect/dup: bit (1 << dest_class) */
	enum rule_open_match open_match;
	bool failed_too;          /* also match a failed syscall (ret < 0) */
};

extern const struct rule builtin_rules[];
extern const size_t n_builtin_rules;

/* Writes up to max matching rules for (ev, facts) into out; returns count. */
size_t rules_match(const struct rule *rules, size_t n, const struct event *ev,
		   const struct facts *f, const struct rule **out, size_t max);
const char *severity_name(enum severity s);
#endif
