/*
 * Opening files that other users may control: a configuration file root
 * loads (rules, profiles, blocklist) and an output file root appends to.
 * Whoever can write a configuration file can switch detection off, and a
 * link planted where an output file will be can turn root's writes on a
 * file of the attacker's choosing.
 */
#ifndef MLWATCH_SAFEOPEN_H
#define MLWATCH_SAFEOPEN_H
#include <stddef.h>

/*
 * Opens path for reading, never blocking (a FIFO is refused before any
 * read). Refused: a symbolic link as the last component; anything but a
 * regular file; a file, or its directory, owned by someone other than root
 * or our effective uid, or writable by group or others (a directory only
 * if it lacks the sticky bit: there others cannot replace our file).
 * Returns the fd (O_CLOEXEC) or -errno (-ELOOP link, -EINVAL not a regular
 * file, -EPERM owner or mode, or open's error) with err set to
 * "PATH: problem" (printable, one line).
 */
int safeopen_config(const char *path, char *err, size_t errlen);

/*
 * Opens path for appending, created with mode 0600 if missing, never
 * blocking on a FIFO. Refused: a symbolic link as the last component; a
 * regular file owned by someone other than our effective uid or with more
 * than one hard link; anything but a regular file or a character device
 * (/dev/null, a terminal). Returns the fd (blocking, O_CLOEXEC) or -errno
 * as safeopen_config, -EMLINK for a hard link.
 */
int safeopen_output(const char *path, char *err, size_t errlen);
#endif
