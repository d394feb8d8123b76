/* mlwatch: watch processes that load ML models, alert on what they do next.
 * Dispatches to a subcommand; everything else is the monitor's. */
#include <stdio.h>
#include <string.h>

#include "cmd/monitor_cmd.h"
#include "cmd/outputs_cmd.h"
#include "cmd/rules_cmd.h"
#include "cmd/scan_cmd.h"

/* Subcommands take their own name as argv[0]. */
static int run_rules(int argc, char **argv)
{
	return rules_cmd(argc, argv, stdout, stderr);
}

static int run_outputs(int argc, char **argv)
{
	return outputs_cmd(argc, argv, stdout, stderr);
}

static int run_scan(int argc, char **argv)
{
	return scan_cmd(argc, argv, stdout, stderr);
}

static const struct cmd {
	const char *name;
	int (*run)(int argc, char **argv);
} cmds[] = {
	{ "outputs", run_outputs },
	{ "rules", run_rules },
	{ "scan", run_scan },
};

int main(int argc, char **argv)
{
	for (size_t i = 0; argc > 1 && i < sizeof(cmds) / sizeof(cmds[0]); i++)
		if (strcmp(argv[1], cmds[i].name) == 0)
			return cmds[i].run(argc - 1, argv + 1);
	return monitor_cmd(argc, argv);
}
