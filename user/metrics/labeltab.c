/* Counts by (a, b), bounded (see labeltab.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "labeltab.h"

int labeltab_init(struct labeltab *t, size_t max)
{
	memset(t, 0, sizeof(*t));
	t->rows = calloc(max ? max : 1, sizeof(*t->rows));
	if (!t->rows)
		return -1;
	t->max = max;
	return 0;
}

/* Linear: alerts are rare next to records, and rows are few. */
void labeltab_add(struct labeltab *t, const char *a, const char *b)
{
	char ka[LABELTAB_A_MAX], kb[LABELTAB_B_MAX];

	if (!t->rows)
		return;
	snprintf(ka, sizeof(ka), "%s", a ? a : "");
	snprintf(kb, sizeof(kb), "%s", b ? b : "");
	for (size_t i = 0; i < t->n; i++) {
		if (!strcmp(t->rows[i].a, ka) && !strcmp(t->rows[i].b, kb)) {
			t->rows[i].n++;
			return;
		}
	}
	if (t->n >= t->max) {
		t->overflow++;
		return;
	}
	memcpy(t->rows[t->n].a, ka, sizeof(ka));
	memcpy(t->rows[t->n].b, kb, sizeof(kb));
	t->rows[t->n++].n = 1;
}

void labeltab_free(struct labeltab *t)
{
	free(t->rows);
	memset(t, 0, sizeof(*t));
}
