/*
 * Enforcement: which marked processes the kernel side kills, and where.
 * Kills happen in the kernel, at the exec (before the new program runs) or
 * at the connect (before the caller goes on); user space only turns rules
 * into kill tables at start and reports what was killed.
 *
 * A rule is enforced when its action is "kill", or, with --enforce, when it
 * is one of the built-ins listed in enforce.c. Only what the kernel can
 * decide alone is enforceable: an exec rule on program names (shell,
 * downloader, network tool, miner classes, or exact exe names: the real
 * file's name, or its identity for a hard link), on "under /tmp" or on
 * fileless, and a connect/send rule on the external or metadata class
 * (refused before the first packet). A kill rule with other conditions
 * (argv, paths, CIDRs, exceptions) alerts only, and mlwatch says so at
 * start.
 */
#ifndef MLWATCH_ENFORCE_H
#define MLWATCH_ENFORCE_H
#include <stdint.h>
#include <stdio.h>
#include "config/options.h"
#include "detect/rules.h"

struct mlwatch_bpf;

#define ENFORCE_MAX_NAMES 256

struct enforce_plan {
	uint32_t temp_mask;          /* mlw_mark.reason bits: kill exec from /tmp... */
	uint32_t fileless_mask;      /* ... exec of a memfd or deleted file */
	uint32_t external_mask;      /* ... connect to an external address */
	uint32_t metadata_mask;      /* ... connect to a metadata address */
	uint32_t external_load_mask; /* ... the same, only during a model load */
	uint32_t metadata_load_mask;
	const char *names[ENFORCE_MAX_NAMES]; /* program names to kill at exec */
	uint32_t name_masks[ENFORCE_MAX_NAMES];
	size_t n_names;
	size_t n_rules; /* rules enforced */
};

/* Builds the plan from rs; warns on f about kill rules it cannot enforce.
 * Returns the number of rules enforced. */
size_t enforce_plan_build(struct enforce_plan *p, const struct ruleset *rs, bool enforce_builtins,
			  FILE *warn);
/* Before load: the rodata switches. */
void enforce_configure(struct mlwatch_bpf *skel, const struct enforce_plan *p);
/* After load: the program-name and internal-network maps. 0 or -errno. */
int enforce_push(struct mlwatch_bpf *skel, const struct enforce_plan *p, const struct options *o);
#endif
