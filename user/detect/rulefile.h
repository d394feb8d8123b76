/*
 * Rules files (docs/rules.md): JSON that adds rules, replaces or disables
 * built-in ones by id, and extends the global allowlist. Loading checks
 * everything and reports every problem, each with the rule and the field;
 * a file with any problem loads nothing, so a typo never half-applies.
 */
#ifndef MLWATCH_RULEFILE_H
#define MLWATCH_RULEFILE_H
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include "rules.h"

/* Larger files are refused: a rules file is written by hand. */
#define RULEFILE_MAX_BYTES (1024 * 1024)
/* Rules in the merged set, and global allowlist entries. */
#define RULESET_MAX_RULES 4096
#define RULESET_MAX_ALLOW 4096
/* Longest glob or substring, in bytes (PATH_MAX). */
#define RULE_PATTERN_MAX 4096
/* Messages kept; the rest are only counted (rule_errors.dropped). */
#define RULE_ERRORS_MAX 1000

struct rule_errors {
	char **msgs; /* "rules.json: rule \"x\": match.dest[1]: ...", printable */
	size_t n;
	size_t cap;
	size_t dropped;
};

void rule_errors_init(struct rule_errors *e);
void rule_errors_free(struct rule_errors *e);
/* One message per line, then a count of those not kept. */
void rule_errors_print(const struct rule_errors *e, FILE *f);

/*
 * The built-in rules merged with the file at path (NULL: built-ins only).
 * Returns 0 with *out set, or -1 with *out NULL and every problem in errs
 * (errs may be NULL). The file must be at most RULEFILE_MAX_BYTES and pass
 * safeopen_config (a regular file, no symlink, owned by root or the caller
 * and writable by no one else, in a directory as safe): whoever can write
 * it can turn detection off.
 */
int ruleset_load(const char *path, struct ruleset **out, struct rule_errors *errs);
/* The same from text already in memory; name prefixes the messages. */
int ruleset_parse(const char *text, size_t len, const char *name, struct ruleset **out,
		  struct rule_errors *errs);
void ruleset_free(struct ruleset *rs);

/* The rule with this id, or NULL. */
const struct rule *ruleset_find(const struct ruleset *rs, const char *id);

/*
 * rs in the file format ({"version":1,"allow":[...],"rules":[...]}):
 * loading the output gives the same set again. builtin_allow: also list
 * the built-in allowlist entries (they are always added on load).
 * Caller frees with cJSON_Delete; NULL when out of memory.
 */
struct cJSON *ruleset_to_json(const struct ruleset *rs, bool builtin_allow);
struct cJSON *rule_to_json(const struct rule *r);
/* One condition set, as in a file; failed_too only for a rule's match. */
struct cJSON *rule_filter_to_json(const struct rule_filter *m, bool failed_too);
#endif
