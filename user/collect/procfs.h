/* Reading a live process's facts from /proc (best effort: it may be gone). */
#ifndef MLWATCH_PROCFS_H
#define MLWATCH_PROCFS_H
#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

/* Each returns 0 or -errno; out is always NUL-terminated. */
int procfs_exe(pid_t pid, char *out, size_t len);
int procfs_cwd(pid_t pid, char *out, size_t len);
int procfs_fd_path(pid_t pid, int fd, char *out, size_t len);
/* argv as NUL-separated bytes; *truncated when it did not fit. Returns the
 * byte count or -errno. */
long procfs_cmdline(pid_t pid, char *out, size_t len, bool *truncated);
/* Whether pid runs the same executable file as this process: another
 * mlwatch, whose candidate reads must not be chased (each would read the
 * other's reads forever). */
bool procfs_runs_own_exe(pid_t pid);
#endif
