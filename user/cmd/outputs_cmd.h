/* `mlwatch outputs check FILE`: the --outputs file read as the monitor
 * would, each output printed with its defaults filled in. */
#ifndef MLWATCH_OUTPUTS_CMD_H
#define MLWATCH_OUTPUTS_CMD_H
#include <stdio.h>

/* Exit statuses of the outputs command. */
#define OUTPUTS_CMD_OK 0
#define OUTPUTS_CMD_INVALID 1 /* the file has a problem, printed on err */
#define OUTPUTS_CMD_USAGE 2

/* argv[0] is "outputs" (main passes argv + 1). Returns an exit status. */
int outputs_cmd(int argc, char **argv, FILE *out, FILE *err);
#endif
