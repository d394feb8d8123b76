/*
 * The Prometheus text exposition format, version 0.0.4: a family's
 * "# HELP" and "# TYPE" lines, then its samples, each family once. Names
 * are checked (a bad one is a bug: counted, never written), label values
 * escaped (\\, \", \n) and made valid UTF-8, so no value a process or a
 * rules file chose can break a line or the scrape.
 */
#ifndef MLWATCH_EXPO_H
#define MLWATCH_EXPO_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum expo_type { EXPO_COUNTER, EXPO_GAUGE };

#define EXPO_MAX_FAMILIES 128
#define EXPO_MAX_LABELS 8

struct expo {
	char *buf;
	size_t len, cap, max; /* max: the most bytes the text may take */
	/* what was not written: a bad name, a sample outside a family, a
	 * family twice, the text past max, no memory */
	unsigned errors;
	const char *family; /* the family samples now go to; NULL: none */
	const char *families[EXPO_MAX_FAMILIES];
	size_t n_families;
};

void expo_init(struct expo *e, size_t max);
/* Empties the text, keeping its memory, for the next snapshot. */
void expo_reset(struct expo *e);
void expo_free(struct expo *e);

/* Starts a family. A counter's name ends in _total. help: one line of
 * plain text (escaped here). */
void expo_family(struct expo *e, const char *name, enum expo_type t, const char *help);
/* A sample of the current family. labels: NULL, or name, value, name,
 * value, ..., NULL. */
void expo_u64(struct expo *e, const char *const *labels, uint64_t v);
void expo_f64(struct expo *e, const char *const *labels, double v);

/* [a-zA-Z_:][a-zA-Z0-9_:]* */
bool expo_metric_name_ok(const char *s);
/* [a-zA-Z_][a-zA-Z0-9_]*, not starting with "__" (Prometheus's own) */
bool expo_label_name_ok(const char *s);
#endif
