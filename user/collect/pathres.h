/* Making the path a process asked for absolute and normal. */
#ifndef MLWATCH_PATHRES_H
#define MLWATCH_PATHRES_H
#include <stddef.h>
#include <sys/types.h>

/* Lexical join of base (absolute) and path, then "." / ".." / "//"
 * removed. An absolute path ignores base. Returns 0, or -ENAMETOOLONG when
 * the result does not fit out (out then holds nothing), -EINVAL when base
 * is needed and is not absolute. Symlinks are not followed: that is the
 * path as the process named it. */
int path_normalize(const char *base, const char *path, char *out, size_t len);

/* Resolves an event's path the way the kernel did: against dirfd (a
 * directory fd of pid) or pid's cwd for AT_FDCWD. Falls back to the bare
 * path (returned as-is, -errno) when /proc no longer has the process. */
int path_resolve(pid_t pid, int dirfd, const char *path, char *out, size_t len);
#endif
