/* Sinks: where alerts go (readable text or JSON lines, stdout or a file). */
#ifndef MLWATCH_SINK_H
#define MLWATCH_SINK_H
#include <stdbool.h>
#include <stdio.h>
#include "detect/alert.h"

struct sink {
	FILE *f;
	bool json;
	bool owned; /* opened by us: close at the end */
	uint64_t written;
	uint64_t failed; /* write errors: counted, reported at exit */
};

/* path NULL: stdout. Returns 0 or -errno (message printed). */
int sink_open(struct sink *s, const char *path, bool json);
void sink_alert(struct sink *s, const struct alert *a);
/* One already rendered record (an incident, an inventory entry) and a
 * newline. */
void sink_line(struct sink *s, const char *line);
void sink_close(struct sink *s);

#endif
