/* The file output: one record per line, appended. */
#ifndef MLWATCH_TX_FILE_H
#define MLWATCH_TX_FILE_H
#include <stddef.h>

struct tx_file {
	const char *path;
	int fd;
	char err[160];
};

/* Opens (checked like --output: no planted link, no other owner's file).
 * Returns 0, or -1 with the reason in err. */
int tx_file_init(struct tx_file *t, const char *path, char *err, size_t errlen);
/* The line and a newline, in one write. 0, or -1 with t->err set. */
int tx_file_write(struct tx_file *t, const char *line, size_t len);
void tx_file_free(struct tx_file *t);

#endif
