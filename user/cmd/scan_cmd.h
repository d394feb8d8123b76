/* `mlwatch scan [--json] [--profiles FILE] [--time-limit SEC] [-v] PATH...`: static triage of
 * model files and directories (recursively; Hugging Face cache snapshots are
 * followed to their blobs and named by repo id). */
#ifndef MLWATCH_SCAN_CMD_H
#define MLWATCH_SCAN_CMD_H
#include <stdio.h>

#define SCAN_EXIT_CLEAN 0 /* everything clean (or not a model) */
#define SCAN_EXIT_FOUND 1 /* something suspicious or malicious */
#define SCAN_EXIT_ERROR 2 /* nothing found, but something could not be scanned; or usage */

#define SCAN_MAX_FILES 1000000 /* files listed from the arguments */
#define SCAN_MAX_DEPTH 64      /* directory nesting followed */

/* argv[0] is "scan". Returns an exit status. */
int scan_cmd(int argc, char **argv, FILE *out, FILE *err);
#endif
