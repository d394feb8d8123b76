/* `mlwatch rules check FILE` and `mlwatch rules list [--json] [FILE]`. */
#ifndef MLWATCH_RULES_CMD_H
#define MLWATCH_RULES_CMD_H
#include <stdio.h>

/* Exit statuses of the rules command. */
#define RULES_CMD_OK 0      /* valid (check), or listed */
#define RULES_CMD_INVALID 1 /* the file has problems; each printed on err */
#define RULES_CMD_USAGE 2

struct rule_filter;
/* "kind=exec exec_class=shell exe=gcc,cc ..." on one line: names as in a
 * rules file, patterns escaped (and quoted when they hold ' ', ',' or '"'). */
void rule_filter_summary(const struct rule_filter *m, char *out, size_t len);

/* argv[0] is "rules" (main passes argv + 1). Returns an exit status. */
int rules_cmd(int argc, char **argv, FILE *out, FILE *err);
#endif
