/*
 * Counts by a pair of short strings (alerts by rule id and severity), in a
 * table of at most max rows: rule ids come from rules files, so their
 * number is the user's to choose. What finds no row is counted in
 * overflow, never lost.
 */
#ifndef MLWATCH_LABELTAB_H
#define MLWATCH_LABELTAB_H
#include <stddef.h>
#include <stdint.h>

#define LABELTAB_A_MAX 72 /* a rule id (RULE_ID_MAX) and its NUL; longer ones are cut */
#define LABELTAB_B_MAX 16 /* a severity */
#define LABELTAB_DEF_ROWS 256

struct labeltab_row {
	char a[LABELTAB_A_MAX];
	char b[LABELTAB_B_MAX];
	uint64_t n;
};

struct labeltab {
	struct labeltab_row *rows;
	size_t n, max;
	uint64_t overflow; /* counts that found no row: the table was full */
};

/* Returns 0 or -1 (memory). */
int labeltab_init(struct labeltab *t, size_t max);
void labeltab_add(struct labeltab *t, const char *a, const char *b);
void labeltab_free(struct labeltab *t);
#endif
