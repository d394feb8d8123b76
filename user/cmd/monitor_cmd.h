/* `mlwatch [OPTIONS]`: watch processes that load models (the default
 * command). */
#ifndef MLWATCH_MONITOR_CMD_H
#define MLWATCH_MONITOR_CMD_H

/* argv[0] is the program's name; options as in `mlwatch --help`.
 * Returns an MLW_EXIT_* status. */
int monitor_cmd(int argc, char **argv);
#endif
