/*
 * Enforcement (--enforce): which marked processes the kernel side kills,
 * and where. Kills happen in the kernel, at the exec (before the new
 * program runs) or at the connect (before the caller goes on); user space
 * only configures them and reports what was killed.
 */
#ifndef MLWATCH_ENFORCE_H
#define MLWATCH_ENFORCE_H
#include "options.h"

struct mlwatch_bpf;

/* Before load: the rodata switches. */
void enforce_configure(struct mlwatch_bpf *skel, const struct options *o);
/* After load: the program-name and internal-network maps. 0 or -errno. */
int enforce_push(struct mlwatch_bpf *skel, const struct options *o);
#endif
